"""Build the Debian package: ``dist/engram_<version>_amd64.deb`` (what ``make package`` runs).

    python3.11 packaging/build.py --dev-python .venv/bin/python --seed-dir .models

Steps, each skipped when its inputs have not changed since it last succeeded
(recorded in build/package/state.json), so a second run compiles nothing:

1. a build virtualenv, build/package-venv, separate from the dev .venv, with PyInstaller;
2. llama-cpp-python compiled for any x86-64 CPU with AVX2 (``-DGGML_NATIVE=OFF``: the dev build uses
   ``-march=native`` and may crash elsewhere).  The wheel is cached in build/wheels/ under a name made
   from the version and the CMake arguments: pip's own wheel cache does not tell builds with different
   CMAKE_ARGS apart, so it is never used for this;
3. Engram's run-time dependencies in the build virtualenv, at the versions the dev .venv was tested with;
4. the icons, rendered from the app's own drawing (desktop/icons.py);
5. the PyInstaller one-folder bundle (packaging/engram.spec);
6. the .deb, with dpkg-deb: the bundle in /opt/engram, /usr/bin/engram, the menu entry, icons and
   AppStream metadata, Depends computed by dpkg-shlibdeps from the bundle's libraries plus the programs it
   runs (tesseract).  The menu entry and metadata are validated first.

Sizes are printed at the end and written to build/package/sizes.json for ``make bench``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
VENV = BUILD / "package-venv"
VENV_PY = VENV / "bin" / "python"
WHEELS = BUILD / "wheels"
WORK = BUILD / "package"
STATE = WORK / "state.json"
DIST = ROOT / "dist"
PACKAGING = ROOT / "packaging"
DEB_FILES = PACKAGING / "deb"

LLAMA_CMAKE_ARGS = "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"
APPSTREAM_ID = "org.engram.Engram"
# Programs Engram runs, and what only some features use: dpkg-shlibdeps cannot see these.
RUN_DEPENDS = ["tesseract-ocr", "tesseract-ocr-eng"]
RECOMMENDS = ["gnome-keyring", "fonts-dejavu-core", "dbus-user-session | dbus-x11"]


_STARTED = time.monotonic()


def say(text: str) -> None:
    print(f"[package {time.monotonic() - _STARTED:5.0f} s] {text}", flush=True)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], check=True, **kwargs)


def digest(*parts: object) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            if part.is_dir():
                for path in sorted(p for p in part.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
                    h.update(str(path.relative_to(part)).encode())
                    h.update(path.read_bytes())
            elif part.is_file():
                h.update(part.read_bytes())
            else:
                h.update(b"<missing>")
        else:
            h.update(str(part).encode())
        h.update(b"\0")
    return h.hexdigest()


class State:
    """Which step last succeeded with which inputs."""

    def __init__(self) -> None:
        try:
            self.done = json.loads(STATE.read_text())
        except (OSError, ValueError):
            self.done = {}

    def fresh(self, step: str, key: str) -> bool:
        return self.done.get(step) == key

    def record(self, step: str, key: str) -> None:
        self.done[step] = key
        WORK.mkdir(parents=True, exist_ok=True)
        STATE.write_text(json.dumps(self.done, indent=2, sort_keys=True))


def version() -> str:
    text = (ROOT / "core" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


# -- 1. the build virtualenv ---------------------------------------------------------------


def build_venv(state: State) -> None:
    if not VENV_PY.exists():
        say(f"creating the build virtualenv {VENV.relative_to(ROOT)}")
        run([sys.executable, "-m", "venv", VENV])
        run([VENV_PY, "-m", "pip", "install", "-q", "--upgrade", "pip", "wheel"])
        state.done.pop("build-venv", None)
    requirements = PACKAGING / "build-requirements.txt"
    key = digest(requirements)
    if not state.fresh("build-venv", key):
        say("installing PyInstaller into the build virtualenv")
        run([VENV_PY, "-m", "pip", "install", "-q", "-r", requirements])
        state.record("build-venv", key)


# -- 2. llama.cpp for any x86-64 CPU -----------------------------------------------------


def dev_version(dev_python: Path, distribution: str) -> str:
    out = run([dev_python, "-c", f"import importlib.metadata as m; print(m.version({distribution!r}))"],
              capture_output=True, text=True)
    return out.stdout.strip()


def llama_wheel(llama_version: str) -> Path:
    key = hashlib.sha256(f"{llama_version}|{LLAMA_CMAKE_ARGS}".encode()).hexdigest()[:12]
    target = WHEELS / f"llama_cpp_python-{llama_version}-{key}"
    found = sorted(target.glob("*.whl"))
    if found:
        say(f"llama.cpp wheel cached: {found[0].relative_to(ROOT)}")
        return found[0]
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    say(f"compiling llama-cpp-python {llama_version} with CMAKE_ARGS='{LLAMA_CMAKE_ARGS}' "
        "(once; about 6 minutes on 2 cores)")
    began = time.monotonic()
    run([VENV_PY, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
         f"llama-cpp-python=={llama_version}", "-d", partial / "src"])
    sdist = next((partial / "src").iterdir())
    env = dict(os.environ, CMAKE_ARGS=LLAMA_CMAKE_ARGS, FORCE_CMAKE="1")
    env.setdefault("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
    run([VENV_PY, "-m", "pip", "wheel", "-q", "--no-cache-dir", "--no-deps", sdist, "-w", partial], env=env)
    shutil.rmtree(partial / "src")
    partial.rename(target)  # only a finished build ever looks cached
    wheel = next(target.glob("*.whl"))
    say(f"llama.cpp compiled in {time.monotonic() - began:.0f} s: {wheel.relative_to(ROOT)}")
    return wheel


# -- 3. run-time dependencies -----------------------------------------------------------------


def runtime_requirements() -> list[str]:
    import tomllib

    with open(ROOT / "pyproject.toml", "rb") as handle:
        return list(tomllib.load(handle)["project"]["dependencies"])


def dev_constraints(dev_python: Path) -> str:
    """The versions the dev .venv runs the tests with; the bundle gets the same."""
    out = run([dev_python, "-m", "pip", "freeze", "--exclude-editable"], capture_output=True, text=True)
    return "".join(line + "\n" for line in out.stdout.splitlines() if "==" in line and " @ " not in line)


def install_runtime(state: State, wheel: Path, dev_python: Path) -> str:
    requirements = runtime_requirements()
    constraints = dev_constraints(dev_python)
    key = digest(wheel.name, wheel.parent.name, "\n".join(requirements), constraints)
    if state.fresh("runtime", key):
        return key
    say("installing Engram's run-time dependencies into the build virtualenv")
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "constraints.txt").write_text(constraints)
    (WORK / "requirements.txt").write_text("\n".join(requirements) + "\n")
    run([VENV_PY, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps", wheel])
    run([VENV_PY, "-m", "pip", "install", "-q", wheel, "-r", WORK / "requirements.txt", "-c", WORK / "constraints.txt"])
    state.record("runtime", key)
    return key


# -- 4. icons -------------------------------------------------------------------------------------


def icons(state: State) -> Path:
    out = WORK / "icons"
    key = digest(ROOT / "desktop" / "icons.py", PACKAGING / "make_icons.py")
    if not state.fresh("icons", key) or not out.exists():
        say("rendering the icons")
        shutil.rmtree(out, ignore_errors=True)
        run([VENV_PY, PACKAGING / "make_icons.py", out], env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
        state.record("icons", key)
    return out


# -- 5. the bundle --------------------------------------------------------------------------------


def bundle(state: State, runtime_key: str, seed_dir: Path) -> Path:
    out = WORK / "dist" / "engram"
    seed_key = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(seed_dir.glob("*.gguf"))]
    key = digest(runtime_key, seed_key, ROOT / "core", ROOT / "desktop", ROOT / "resources",
                 PACKAGING / "engram.spec", PACKAGING / "engram_main.py", PACKAGING / "rthook_engram.py")
    if state.fresh("bundle", key) and (out / "engram").exists():
        say("bundle up to date")
        return out
    say("building the PyInstaller bundle")
    began = time.monotonic()
    env = dict(os.environ, ENGRAM_PACKAGE_SEED_DIR=str(seed_dir), PYTHONDONTWRITEBYTECODE="1")
    env.pop("PYTHONPATH", None)
    run([VENV_PY, "-m", "PyInstaller", "--noconfirm", "--clean", "--log-level", "WARN",
         "--distpath", WORK / "dist", "--workpath", WORK / "pyinstaller", PACKAGING / "engram.spec"],
        env=env, cwd=ROOT)
    saved = strip_bundle(out)
    check_bundle(out)
    say(f"bundle built in {time.monotonic() - began:.0f} s ({saved / 1024 / 1024:.1f} MB of symbols stripped)")
    state.record("bundle", key)
    return out


def loadable(path: Path) -> bool:
    """True when every PT_LOAD segment keeps offset and address congruent modulo the page size.

    ``strip`` can break that in libraries a wheel's auditwheel/patchelf step rewrote (NumPy's OpenBLAS),
    and the loader then refuses them: "ELF load command address/offset not page-aligned".
    """
    import struct

    with open(path, "rb") as handle:
        header = handle.read(64)
        if header[:4] != b"\x7fELF" or header[4] != 2:  # 64-bit only
            return False
        phoff, = struct.unpack_from("<Q", header, 0x20)
        phentsize, phnum = struct.unpack_from("<HH", header, 0x36)
        handle.seek(phoff)
        table = handle.read(phentsize * phnum)
    for index in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, _filesz, _memsz, p_align = struct.unpack_from(
            "<IIQQQQQQ", table, index * phentsize)
        if p_type == 1 and (p_offset - p_vaddr) % 4096:
            return False
    return True


def strip_bundle(out: Path) -> int:
    """Strip symbols where it is safe: a stripped file replaces the original only if it still loads.

    PyInstaller's own strip=True runs on everything and broke NumPy's OpenBLAS; here each file is stripped
    into a copy, checked, and kept only when it is smaller and still loadable.  Returns the bytes saved.
    """
    saved = 0
    for path in elf_files(out):
        stripped = path.with_name(path.name + ".stripped")
        result = subprocess.run(["strip", "--strip-unneeded", "-o", stripped, path], capture_output=True)
        if result.returncode == 0 and loadable(stripped) and stripped.stat().st_size < path.stat().st_size:
            saved += path.stat().st_size - stripped.stat().st_size
            shutil.copymode(path, stripped)
            os.replace(stripped, path)
        else:
            stripped.unlink(missing_ok=True)
    return saved


def check_bundle(out: Path) -> None:
    """What must be inside, and what must not."""
    internal = out / "_internal"
    required = ["llama_cpp/lib/libllama.so", "sqlite_vec/vec0.so", "resources/settings.json",
                "PySide6/Qt/plugins/platforms/libqxcb.so", "PySide6/Qt/plugins/imageformats/libqwebp.so"]
    missing = [name for name in required if not (internal / name).exists()]
    if not list((internal / "models").glob("*.gguf")):
        missing.append("models/*.gguf")
    unwanted = [str(p.relative_to(out)) for p in internal.rglob("*")
                if p.name in {"tests", "test"} and p.is_dir() or p.suffix in {".safetensors", ".h", ".pyi"}]
    if missing or unwanted:
        raise SystemExit(f"bundle check failed: missing {missing}, unwanted {unwanted[:10]}")
    # A native build (-march=native) on an AVX-512 machine is full of zmm registers; ours must have none.
    for lib in sorted((internal / "llama_cpp" / "lib").glob("libggml-cpu*")):
        code = subprocess.run(["objdump", "-d", "--no-show-raw-insn", lib], capture_output=True, text=True).stdout
        if "%zmm" in code:
            raise SystemExit(f"{lib.name} uses AVX-512: llama.cpp was built for this CPU, not for any x86-64 CPU")
    duplicates = find_duplicates(out)
    if duplicates:
        say("identical files in the bundle: " + "; ".join(", ".join(group) for group in duplicates[:5]))


def find_duplicates(out: Path) -> list[list[str]]:
    by_size: dict[int, list[Path]] = {}
    for path in out.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.stat().st_size > 100_000:
            by_size.setdefault(path.stat().st_size, []).append(path)
    groups = []
    for paths in by_size.values():
        if len(paths) > 1:
            by_hash: dict[str, list[str]] = {}
            for path in paths:
                by_hash.setdefault(digest(path), []).append(str(path.relative_to(out)))
            groups += [names for names in by_hash.values() if len(names) > 1]
    return groups


# -- 6. the .deb --------------------------------------------------------------------------------------


def elf_files(root: Path) -> list[Path]:
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def shlib_depends(bundle_root: Path) -> str:
    """Depends for the system libraries the bundle links against, as dpkg-shlibdeps computes them."""
    files = elf_files(bundle_root)
    private_dirs = sorted({str(path.parent) for path in files})
    scratch = WORK / "shlibdeps"
    (scratch / "debian").mkdir(parents=True, exist_ok=True)
    (scratch / "debian" / "control").write_text("Source: engram\n\nPackage: engram\nArchitecture: amd64\n")
    command = ["dpkg-shlibdeps", "-O", "--ignore-missing-info", *(f"-l{d}" for d in private_dirs),
               *(f"-e{f}" for f in files)]
    out = subprocess.run(command, cwd=scratch, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"dpkg-shlibdeps failed:\n{out.stderr}")
    match = re.search(r"^shlibs:Depends=(.*)$", out.stdout, re.M)
    return match.group(1).strip() if match else ""


def render(text: str, **values: str) -> str:
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text


def validate(root: Path) -> None:
    desktop_file = root / "usr/share/applications/engram.desktop"
    if shutil.which("desktop-file-validate"):
        result = subprocess.run(["desktop-file-validate", desktop_file], capture_output=True, text=True)
        if result.returncode or result.stdout.strip():
            raise SystemExit(f"engram.desktop is not valid:\n{result.stdout}{result.stderr}")
        say("engram.desktop: valid (desktop-file-validate)")
    else:
        say("desktop-file-validate is not installed (Debian: desktop-file-utils): menu entry not validated")
    metainfo = root / f"usr/share/metainfo/{APPSTREAM_ID}.metainfo.xml"
    if shutil.which("appstreamcli"):
        result = subprocess.run(["appstreamcli", "validate", "--no-net", metainfo], capture_output=True, text=True)
        if result.returncode:
            raise SystemExit(f"AppStream metadata is not valid:\n{result.stdout}{result.stderr}")
        say("AppStream metadata: valid (appstreamcli validate)")
    else:
        say("appstreamcli is not installed (Debian: appstream): AppStream metadata not validated")


def deb(state: State, bundle_dir: Path, icon_dir: Path, bundle_key: str) -> Path:
    ver = version()
    target = DIST / f"engram_{ver}_amd64.deb"
    key = digest(bundle_key, ver, DEB_FILES, icon_dir, PACKAGING / "build.py")
    if state.fresh("deb", key) and target.exists():
        say(f"{target.relative_to(ROOT)} up to date")
        return target
    say("assembling the .deb")
    root = WORK / "root"
    shutil.rmtree(root, ignore_errors=True)
    opt = root / "opt" / "engram"
    shutil.copytree(bundle_dir, opt, symlinks=True, copy_function=os.link)
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/engram").symlink_to("/opt/engram/engram")
    apps = root / "usr/share/applications"
    apps.mkdir(parents=True)
    shutil.copy(DEB_FILES / "engram.desktop", apps / "engram.desktop")
    shutil.copytree(icon_dir / "hicolor", root / "usr/share/icons/hicolor")
    meta = root / "usr/share/metainfo"
    meta.mkdir(parents=True)
    today = dt.date.fromtimestamp(int(os.environ.get("SOURCE_DATE_EPOCH", time.time()))).isoformat()
    (meta / f"{APPSTREAM_ID}.metainfo.xml").write_text(
        render((DEB_FILES / f"{APPSTREAM_ID}.metainfo.xml").read_text(), VERSION=ver, DATE=today))
    doc = root / "usr/share/doc/engram"
    doc.mkdir(parents=True)
    shutil.copy(DEB_FILES / "copyright", doc / "copyright")
    validate(root)

    control_dir = root / "DEBIAN"  # before dpkg-shlibdeps, which takes it as the package's root
    control_dir.mkdir()
    depends = ", ".join(filter(None, [shlib_depends(opt), *RUN_DEPENDS]))
    installed_kb = sum(p.lstat().st_size for p in root.rglob("*") if p.is_file() or p.is_symlink()) // 1024
    (control_dir / "control").write_text(render(
        (DEB_FILES / "control").read_text(), VERSION=ver, DEPENDS=depends, RECOMMENDS=", ".join(RECOMMENDS),
        INSTALLED_SIZE=str(installed_kb)))
    for script in ("preinst", "postrm"):
        shutil.copy(DEB_FILES / script, control_dir / script)
        (control_dir / script).chmod(0o755)
    for path in root.rglob("*"):  # modes as a package installs them, whatever the umask here
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
    DIST.mkdir(exist_ok=True)
    partial = target.with_suffix(".deb.partial")
    # zstd -9: within 8% of xz -6's size (the models hardly compress) for a thirtieth of its CPU time.
    run(["dpkg-deb", "--root-owner-group", "-Zzstd", "-z9", "--build", root, partial], stdout=subprocess.DEVNULL)
    partial.rename(target)
    state.record("deb", key)
    return target


def sizes(bundle_dir: Path, package: Path) -> dict:
    def tree_size(path: Path) -> int:
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())

    models = tree_size(bundle_dir / "_internal" / "models")
    result = {
        "bundle_bytes": tree_size(bundle_dir),
        "bundle_models_bytes": models,
        "deb_bytes": package.stat().st_size,
        "deb": str(package.relative_to(ROOT)),
    }
    (WORK / "sizes.json").write_text(json.dumps(result, indent=2))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev-python", type=Path, default=ROOT / ".venv/bin/python",
                        help="the dev virtualenv's python: its versions are the ones the bundle gets")
    parser.add_argument("--seed-dir", type=Path, default=ROOT / ".models", help="the seed models from 'make setup'")
    args = parser.parse_args(argv)
    if not args.dev_python.exists():
        raise SystemExit(f"{args.dev_python} is missing: run 'make setup' first")
    began = time.monotonic()
    state = State()
    build_venv(state)
    wheel = llama_wheel(dev_version(args.dev_python, "llama_cpp_python"))
    runtime_key = install_runtime(state, wheel, args.dev_python)
    icon_dir = icons(state)
    bundle_dir = bundle(state, runtime_key, args.seed_dir.resolve())
    package = deb(state, bundle_dir, icon_dir, state.done["bundle"])
    size = sizes(bundle_dir, package)
    mb = 1024 * 1024
    say(f"{size['deb']}: {size['deb_bytes'] / mb:.1f} MB; bundle {size['bundle_bytes'] / mb:.1f} MB "
        f"(of which seed models {size['bundle_models_bytes'] / mb:.1f} MB); {time.monotonic() - began:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
