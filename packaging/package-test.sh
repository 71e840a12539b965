#!/usr/bin/env bash
# make package-test: install the .deb as a user would, use it with no virtualenv anywhere, remove it.
#
#   1. apt-get install ./dist/engram_*.deb
#   2. engram --version, engram doctor, engram add/search, with a clean PATH and a temporary ENGRAM_HOME
#   3. on Xvfb: launch it from its menu entry (gio launch, else the Exec line), find the window within 20 s;
#      launch it again and check that one instance remains, and that the command line cannot start another
#   4. apt-get remove: /opt/engram, the command, the menu entry and the start-at-login entry Engram wrote are
#      gone; the data directory is untouched
#
# Needs root (or sudo) for apt-get. Prints how long each part took.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
began=$(date +%s)

say() { echo "[package-test] $*"; }
fail() { echo "[package-test] FAILED: $*" >&2; exit 1; }

deb=$(ls -t "$ROOT"/dist/engram_*_amd64.deb 2>/dev/null | head -n 1 || true)
[ -n "$deb" ] || fail "no dist/engram_*_amd64.deb: run 'make package' first"
if [ "$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; else fail "needs root for apt-get"; fi

# What a user has: the system PATH, no virtualenv, nothing from this checkout.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unset VIRTUAL_ENV PYTHONPATH PYTHONHOME ENGRAM_SEED_MODELS ENGRAM_HOME LD_LIBRARY_PATH
scratch=$(mktemp -d /tmp/engram-package-test.XXXXXX)
export ENGRAM_HOME="$scratch/data" ENGRAM_KEYRING=file
xvfb_pid=
cleanup() {
    [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT

# -- 1. install --------------------------------------------------------------------------------
say "installing $(basename "$deb")"
t=$(date +%s)
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install --reinstall -y -q "$deb" >"$scratch/apt-install.log" 2>&1 \
    || { cat "$scratch/apt-install.log"; fail "apt-get install"; }
say "installed in $(( $(date +%s) - t )) s"
[ "$(command -v engram)" = /usr/bin/engram ] || fail "engram is not /usr/bin/engram on the PATH"
[ "$(readlink -f /usr/bin/engram)" = /opt/engram/engram ] || fail "/usr/bin/engram does not lead to /opt/engram/engram"
[ -f /usr/share/applications/engram.desktop ] || fail "no menu entry"
ls /usr/share/icons/hicolor/*/apps/engram.* >/dev/null || fail "no icons"

# -- 2. the command line -------------------------------------------------------------------------
engram --version | grep -qx "engram $(dpkg-query -W -f='${Version}' engram)" || fail "engram --version: $(engram --version)"
say "$(engram --version)"
engram doctor >"$scratch/doctor.txt" 2>&1 || { cat "$scratch/doctor.txt"; fail "engram doctor"; }
grep -q "chat model: .*/opt/engram/" "$scratch/doctor.txt" || { cat "$scratch/doctor.txt"; fail "the seed chat model is not found in the bundle"; }
grep -q "embedding model: .*/opt/engram/" "$scratch/doctor.txt" || { cat "$scratch/doctor.txt"; fail "the seed embedder is not found in the bundle"; }
say "engram doctor: ok"
engram add semantic --json '{"name": "Ada", "summary": "Ada is my sister"}' >/dev/null || fail "engram add"
engram search sister --json >"$scratch/search.json" || fail "engram search"
grep -q "Ada is my sister" "$scratch/search.json" || fail "engram search did not find what was added"
say "engram add/search: ok"

# -- 3. the desktop app, from its menu entry -------------------------------------------------------
for n in $(seq 140 199); do
    if [ ! -e "/tmp/.X11-unix/X$n" ] && [ ! -e "/tmp/.X$n-lock" ]; then display=":$n"; break; fi
done
Xvfb "$display" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb_pid=$!
for _ in $(seq 100); do [ -e "/tmp/.X11-unix/X${display#:}" ] && break; sleep 0.1; done
export DISPLAY=$display QT_QPA_PLATFORM=xcb
# First run is done (the wizard would open above the window); capture stays off.
mkdir -p "$ENGRAM_HOME" && chmod 700 "$ENGRAM_HOME"
engram config set app.first_run_done true >/dev/null

instances() {  # processes of the installed program on this data directory
    local count=0 pid
    for pid in /proc/[0-9]*; do
        [ "$(readlink "$pid/exe" 2>/dev/null)" = /opt/engram/engram ] || continue
        tr '\0' '\n' <"$pid/environ" 2>/dev/null | grep -qx "ENGRAM_HOME=$ENGRAM_HOME" && count=$((count + 1))
    done
    echo "$count"
}
launch() {
    if command -v gio >/dev/null; then
        gio launch /usr/share/applications/engram.desktop
    else  # the Exec line, as a desktop runs it (no field codes in ours)
        sh -c "$(sed -n 's/^Exec=//p' /usr/share/applications/engram.desktop | head -n 1)" &
    fi
}
windows() { xdotool search --onlyvisible --name '^Engram$' 2>/dev/null | wc -l; }

how=$(command -v gio >/dev/null && echo "gio launch" || echo "its Exec line")
say "launching from the menu entry ($how)"
t0=$(date +%s.%N)
launch
window=
for _ in $(seq 200); do
    window=$(xdotool search --onlyvisible --name '^Engram$' 2>/dev/null | head -n 1 || true)
    [ -n "$window" ] && break
    sleep 0.1
done
[ -n "$window" ] || fail "no Engram window within 20 s"
launch_seconds=$(awk "BEGIN { printf \"%.2f\", $(date +%s.%N) - $t0 }")
say "main window after $launch_seconds s"

say "launching it a second time"
launch
sleep 3  # the second start hands over and exits
engram app || fail "a second 'engram app' from the command line did not exit 0"
[ "$(instances)" = 1 ] || fail "$(instances) Engram processes run on one data directory"
[ "$(windows)" = 1 ] || fail "$(windows) Engram windows"
say "one instance, one window"
engram app --quit || fail "engram app --quit"
for _ in $(seq 100); do [ "$(instances)" = 0 ] && break; sleep 0.2; done
[ "$(instances)" = 0 ] || fail "Engram did not quit"

# Start at login, as a user turns it on: the entry the uninstall must take away (only if this home has none).
autostart="${XDG_CONFIG_HOME:-$HOME/.config}/autostart/engram.desktop"
made_autostart=
autostart_dir_existed=$([ -d "$(dirname "$autostart")" ] && echo 1 || true)
if [ -z "${XDG_CONFIG_HOME:-}" ] && [ ! -e "$autostart" ]; then
    engram config set app.start_at_login true >/dev/null || fail "engram config set app.start_at_login true"
    grep -qE '^Exec=(env ENGRAM_HOME=[^ ]+ )?/usr/bin/engram app --background$' "$autostart" || fail "unexpected autostart entry: $(cat "$autostart")"
    made_autostart=1
    say "start at login: $autostart written"
else
    say "start at login: not tried, $autostart already exists or XDG_CONFIG_HOME is set"
fi

# -- 4. remove ----------------------------------------------------------------------------------------
snapshot() { (cd "$ENGRAM_HOME" && find . -type f -printf '%p %s %T@\n' | sort && find . -type f -exec sha256sum {} + | sort); }
snapshot >"$scratch/data-before.txt"
say "removing the package"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q engram >"$scratch/apt-remove.log" 2>&1 \
    || { cat "$scratch/apt-remove.log"; fail "apt-get remove"; }
[ ! -e /opt/engram ] || fail "/opt/engram is still there"
[ ! -e /usr/bin/engram ] || fail "/usr/bin/engram is still there"
[ ! -e /usr/share/applications/engram.desktop ] || fail "the menu entry is still there"
if [ -n "$made_autostart" ]; then
    [ ! -e "$autostart" ] || fail "the autostart entry Engram wrote is still there"
    [ -n "$autostart_dir_existed" ] || rmdir "$(dirname "$autostart")" 2>/dev/null || true
fi
snapshot >"$scratch/data-after.txt"
cmp -s "$scratch/data-before.txt" "$scratch/data-after.txt" || fail "the data directory changed on removal"
[ -s "$ENGRAM_HOME/engram.db" ] || fail "the database is gone"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q engram >"$scratch/apt-purge.log" 2>&1 \
    || { cat "$scratch/apt-purge.log"; fail "apt-get purge"; }
snapshot >"$scratch/data-purged.txt"
cmp -s "$scratch/data-before.txt" "$scratch/data-purged.txt" || fail "the data directory changed on purge"
say "removed and purged: program, command, menu entry${made_autostart:+ and autostart entry} gone; data directory untouched"

say "passed in $(( $(date +%s) - began )) s (launch to window ${launch_seconds} s)"
