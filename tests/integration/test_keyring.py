"""The database key goes to a real OS keyring (GNOME Keyring over D-Bus) when one is available."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from tests.core.backup_fixtures import fast_kdf, fill  # noqa: F401

pytestmark = pytest.mark.integration

SCRIPT = textwrap.dedent(
    """
    import json, os
    from core.engine import Engine
    from core.paths import Paths
    paths = Paths.from_env()
    engine = Engine(paths)
    engine.memories.add("semantic", {"name": "Ada", "summary": "kept under a keyring key"})
    info = engine.key_info
    engine.close()
    again = Engine(paths)
    found = [m.title for m in again.memories.list()]
    again.close()
    print(json.dumps({"storage": info.storage, "location": info.location, "warning": info.warning,
                      "key_file_exists": paths.key_file.exists(), "found": found}))
    """
)


def run_under_gnome_keyring(tmp_path, script: str, **extra_env: str) -> dict:
    """Run ``script`` in a new D-Bus session with an unlocked GNOME Keyring; returns the JSON it printed last."""
    if not (shutil.which("dbus-run-session") and shutil.which("gnome-keyring-daemon")):
        pytest.skip("needs dbus-run-session and gnome-keyring-daemon (Debian: dbus, gnome-keyring)")
    env = {k: v for k, v in os.environ.items() if k not in ("DBUS_SESSION_BUS_ADDRESS",)}
    env.update(ENGRAM_HOME=str(tmp_path / "home"), ENGRAM_KEYRING="auto", HOME=str(tmp_path), XDG_DATA_HOME=str(tmp_path / "xdg"))
    env.update(extra_env)
    inner = (
        "printf 'test-password' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1; "
        f"exec {sys.executable} -c \"$ENGRAM_SCRIPT\""
    )
    env["ENGRAM_SCRIPT"] = script
    result = subprocess.run(
        ["dbus-run-session", "--", "bash", "-c", inner], env=env, capture_output=True, text=True, timeout=180, cwd=os.getcwd()
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_key_is_kept_in_gnome_keyring(tmp_path):
    report = run_under_gnome_keyring(tmp_path, SCRIPT)
    assert report["storage"] == "keyring", report
    assert report["warning"] is None
    assert report["key_file_exists"] is False
    assert report["found"] == ["Ada"]


RESTORE_SCRIPT = textwrap.dedent(
    """
    import json, os
    import keyring
    from core.backup.recovery import RecoveryCode
    from core.backup.restore import recover_key, restore_backup
    from core.engine import Engine
    from core.errors import EngramError
    from core.keystore import SERVICE, KeyStore
    from core.paths import Paths
    from core.settings import Settings

    paths = Paths.from_env()
    account = KeyStore(paths).account
    code = RecoveryCode.parse(open(os.environ["CODE_FILE"]).read())
    out = {"entry_before": keyring.get_password(SERVICE, account)}
    report = restore_backup(paths, Settings(paths), os.environ["BACKUP"], code=code)
    key = keyring.get_password(SERVICE, account)
    out.update(key_created=report["key_created"], recovery_file=report["recovery_file"], key_in_keyring=key,
               key_file_after_restore=paths.key_file.exists())
    with Engine(paths) as engine:
        out.update(storage=engine.key_info.storage, warning=engine.key_info.warning,
                   memories=engine.memories.count(), vault=engine.memories.list("knowledge_vault")[0].fields["secret_value"])
    keyring.delete_password(SERVICE, account)  # the keyring loses the key (a new login keyring, a reinstall)
    try:
        Engine(paths).close()
        out["opens_without_key"] = True
    except EngramError as exc:
        out["opens_without_key"] = False
        out["fix_without_key"] = exc.fix
    recovered = recover_key(paths, code)
    out.update(recover_status=recovered["status"], recover_storage=recovered["storage"],
               key_after_recover=keyring.get_password(SERVICE, account), key_file_after_recover=paths.key_file.exists())
    with Engine(paths) as engine:
        out["memories_after_recover"] = engine.memories.count()
    print(json.dumps(out))
    """
)


def test_restore_and_recover_into_gnome_keyring(tmp_path, fast_kdf):
    """A recovery-code backup restored on a new computer whose keyring is real: the new key goes into the keyring,
    never into engram.key; when the keyring loses it, ``recover_key`` puts it back there."""
    from core.backup.recovery import RecoveryCode
    from core.engine import Engine
    from core.models.base import FakeEmbedder
    from core.paths import Paths

    code = RecoveryCode.generate()
    with Engine(Paths.at(tmp_path / "old-computer").ensure(), embedder=FakeEmbedder(64)) as old:  # key file there
        fill(old)
        old.backups.set_up_recovery(code)
        backup = old.backups.create().path
        old_key = old.keys.load()[0]
        expected = old.memories.count()
    code_file = tmp_path / "code.txt"
    code_file.write_text(code.formatted())

    report = run_under_gnome_keyring(tmp_path, RESTORE_SCRIPT, BACKUP=str(backup), CODE_FILE=str(code_file))

    home = tmp_path / "home"
    assert report["entry_before"] is None and report["key_created"]
    key = report["key_in_keyring"]
    assert key and len(key) == 64 and key != old_key  # a new key for this computer, kept in its keyring
    assert report["key_file_after_restore"] is False and not (home / "engram.key").exists()
    assert report["storage"] == "keyring" and report["warning"] is None
    assert report["memories"] == expected and report["vault"] == "correct-horse-battery"
    assert report["recovery_file"] == "written" and (home / "engram.recovery").exists()
    assert report["opens_without_key"] is False and "engram recover" in report["fix_without_key"]
    assert report["recover_status"] == "recovered" and report["recover_storage"] == "keyring"
    assert report["key_after_recover"] == key and report["key_file_after_recover"] is False
    assert report["memories_after_recover"] == expected
    assert not list(home.rglob("engram.key*"))
