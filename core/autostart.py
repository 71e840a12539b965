"""Start at login: the XDG autostart entry that starts Engram in the tray.

The entry is ``$XDG_CONFIG_HOME/autostart/engram.desktop`` (``~/.config`` when
the variable is unset), as the XDG Autostart specification says every desktop
looks for it.  It runs ``engram app --background``: Engram starts in the tray
without opening its window, and where there is no tray it opens the window,
so it never records unseen.

Engram marks what it writes with ``X-Engram-Autostart=true`` and only ever
rewrites or removes a marked file: an entry the user wrote by hand under the
same name is left alone, and saying so is the caller's error to show.  The
package's uninstall script removes marked entries for the same reason.

The ``app.start_at_login`` setting applies this before its value is stored
(``core.settings.system_appliers``), so a failure leaves the setting unchanged
and reaches whoever changed it: ``engram config set``, the Settings page, the
first-run wizard.  The directory is looked up at each change, so the
``XDG_CONFIG_HOME`` in force then is honoured.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Mapping, Sequence

from core.errors import StorageError

SETTING = "app.start_at_login"
FILE_NAME = "engram.desktop"
MARK_KEY = "X-Engram-Autostart"

# Characters the Desktop Entry Specification reserves in Exec arguments (they need quoting).
_RESERVED = set(" \t\n\"'\\><~|&;$*?#()`")


def autostart_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$XDG_CONFIG_HOME/autostart``; a relative or empty XDG_CONFIG_HOME is ignored, as the spec says."""
    env = os.environ if environ is None else environ
    config_home = env.get("XDG_CONFIG_HOME", "")
    if not config_home or not os.path.isabs(config_home):
        config_home = os.path.join(os.path.expanduser("~"), ".config")
    return Path(config_home) / "autostart"


def launch_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """The command that starts this Engram (installed, or from its checkout) in the background.

    An ``ENGRAM_HOME`` in force now is kept, so the entry starts Engram on the
    same data it was turned on for.
    """
    env = os.environ if environ is None else environ
    executable = Path(sys.executable)
    if getattr(sys, "frozen", False):
        # The installed bundle: prefer the name on the PATH (/usr/bin/engram) when it is this program.
        on_path = shutil.which("engram")
        if on_path and os.path.realpath(on_path) == os.path.realpath(executable):
            program = [on_path]
        else:
            program = [str(executable)]
    else:
        script = executable.with_name("engram")
        program = [str(script)] if script.is_file() else [str(executable), "-m", "core.cli"]
    command = [*program, "app", "--background"]
    home = env.get("ENGRAM_HOME")
    if home:
        command = ["env", f"ENGRAM_HOME={os.path.abspath(os.path.expanduser(home))}", *command]
    return command


def exec_line(argv: Sequence[str]) -> str:
    """``argv`` as a desktop entry's Exec value: quoted where the spec requires, then string-escaped."""
    parts = []
    for arg in argv:
        if not arg or any(ch in _RESERVED for ch in arg):
            inner = "".join("\\" + ch if ch in '"`$\\' else ch for ch in arg)
            arg = f'"{inner}"'
        parts.append(arg.replace("%", "%%"))
    # Exec is a string value, whose own escaping doubles every backslash.
    return " ".join(parts).replace("\\", "\\\\")


def render_entry(argv: Sequence[str]) -> str:
    return "\n".join(
        [
            "[Desktop Entry]",
            "Type=Application",
            "Name=Engram",
            "Comment=Start Engram in the tray when you log in",
            f"Exec={exec_line(argv)}",
            "Icon=engram",
            "Terminal=false",
            "X-GNOME-Autostart-enabled=true",
            f"{MARK_KEY}=true",
            "",
        ]
    )


def _keys(text: str) -> dict[str, str]:
    """The keys of the ``[Desktop Entry]`` group (enough to read the mark and Hidden)."""
    keys: dict[str, str] = {}
    in_group = False
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            in_group = line == "[Desktop Entry]"
            continue
        if in_group and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            keys[key.strip()] = value.strip()
    return keys


class AutostartEntry:
    """Engram's autostart entry in one autostart directory."""

    def __init__(self, directory: Path | None = None, command: Sequence[str] | None = None):
        self.directory = Path(directory) if directory is not None else autostart_dir()
        self._command = list(command) if command is not None else None

    @property
    def path(self) -> Path:
        return self.directory / FILE_NAME

    def _read(self) -> str | None:
        try:
            return self.path.read_text(encoding="utf-8", errors="replace")
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StorageError(
                f"Engram cannot read the autostart entry {self.path}: {exc.strerror or exc}.",
                fix=f"Check the permissions of {self.directory}.",
            ) from exc

    def is_ours(self) -> bool:
        text = self._read()
        return text is not None and _keys(text).get(MARK_KEY, "").lower() == "true"

    def enabled(self) -> bool:
        """True when Engram's own entry is there and not disabled by the desktop (Hidden=true)."""
        text = self._read()
        if text is None:
            return False
        keys = _keys(text)
        return keys.get(MARK_KEY, "").lower() == "true" and keys.get("Hidden", "false").lower() != "true"

    def _refuse_foreign(self, doing: str) -> None:
        if self._read() is not None and not self.is_ours():
            raise StorageError(
                f"{self.path} was not written by Engram, so Engram will not {doing} it.",
                fix=f"Remove or rename {self.path} yourself, then change the setting again.",
            )

    def write(self) -> None:
        """Write (or rewrite) Engram's entry, atomically."""
        self._refuse_foreign("replace")
        command = self._command if self._command is not None else launch_command()
        tmp = self.path.with_name(FILE_NAME + ".tmp")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp.write_text(render_entry(command), encoding="utf-8")
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.path)
        except OSError as exc:
            try:
                tmp.unlink()
            except OSError:
                pass
            raise StorageError(
                f"Engram cannot write its autostart entry {self.path}: {exc.strerror or exc}.",
                fix=f"Make {self.directory} writable by your user, or leave 'Start at login' off.",
            ) from exc

    def remove(self) -> bool:
        """Remove Engram's entry; False when there was none."""
        if self._read() is None:
            return False
        self._refuse_foreign("remove")
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StorageError(
                f"Engram cannot remove its autostart entry {self.path}: {exc.strerror or exc}.",
                fix=f"Remove {self.path} yourself, or make {self.directory} writable by your user.",
            ) from exc
        return True

    def apply(self, enabled: bool) -> None:
        if enabled:
            self.write()
        else:
            self.remove()


def apply_start_at_login(value) -> None:
    """What ``app.start_at_login`` does when it changes: write or remove the entry (see ``core.settings``)."""
    AutostartEntry().apply(bool(value))
