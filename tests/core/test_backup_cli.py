"""The commands for scripts: backup, backup list, recovery create, recover, restore FILE|ID, export, import, doctor."""

from __future__ import annotations

import json
import os

import pytest

from core.cli import main
from core.engine import Engine
from core.models.base import FakeEmbedder
from tests.core.backup_fixtures import fast_kdf, fill  # noqa: F401


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def store(paths):
    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        fill(engine, n=3)
    return paths


def test_backup_and_list_for_scripts(capsys, store, tmp_path):
    code, out, err = run(capsys, "backup", "--json")
    assert code == 0, err
    made = json.loads(out)
    assert made["verified"] is True and made["key"] == "database-key" and made["memories"] == 8
    code, out, err = run(capsys, "backup", "--to", str(tmp_path / "elsewhere"))
    assert code == 0 and "verified" in out and "engram recovery create" in out
    code, out, _ = run(capsys, "backup", "list", "--json")
    listed = json.loads(out)
    assert [b["path"] for b in listed] == [made["path"]]
    assert {"path", "created_at", "verified"} <= set(listed[0])
    code, out, _ = run(capsys, "backup", "list", "--folder", str(tmp_path / "elsewhere"), "--json")
    assert len(json.loads(out)) == 1
    code, out, _ = run(capsys, "backup", "list")
    assert "verified" in out and made["path"] in out


def test_recovery_create_writes_the_code_to_a_private_file(capsys, store, tmp_path, fast_kdf):
    code_file = tmp_path / "code.txt"
    code, out, err = run(capsys, "recovery", "create", "--out", str(code_file))
    assert code == 0, err
    assert os.stat(code_file).st_mode & 0o777 == 0o600
    text = code_file.read_text().strip()
    assert len(text) == 39 and text.count("-") == 7 and text not in out
    code, out, _ = run(capsys, "recovery", "--json")
    assert json.loads(out)["exists"] is True
    # a second code is not made silently, and an existing file is never overwritten
    code, _, err = run(capsys, "recovery", "create", "--out", str(tmp_path / "second.txt"))
    assert code != 0 and "--yes" in err
    code, _, err = run(capsys, "recovery", "create", "--out", str(code_file), "--yes")
    assert code != 0 and "already exists" in err and code_file.read_text().strip() == text
    code, out, _ = run(capsys, "backup", "--json")
    assert json.loads(out)["key"] == "recovery-code"


def test_recovery_status_without_a_code_says_what_is_at_stake(capsys, store):
    code, out, _ = run(capsys, "recovery")
    assert code == 0 and "every memory is lost" in out


def test_restore_a_backup_on_a_new_computer_from_the_command_line(capsys, store, tmp_path, monkeypatch, fast_kdf):
    code_file = tmp_path / "code.txt"
    assert run(capsys, "recovery", "create", "--out", str(code_file))[0] == 0
    _, out, _ = run(capsys, "backup", "--json")
    backup = json.loads(out)["path"]
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "new-computer"))
    code, out, err = run(capsys, "restore", backup)  # no --yes and no terminal
    assert code != 0 and "--yes" in err
    code, out, err = run(capsys, "restore", backup, "--yes")  # no code and no terminal
    assert code != 0 and "--code-file" in err
    assert not (tmp_path / "new-computer" / "engram.db").exists()
    code, out, err = run(capsys, "restore", backup, "--yes", "--code-file", str(code_file))
    assert code == 0, err
    assert "Restored 8 memories" in out and "new one was made" in out
    code, out, _ = run(capsys, "stats", "--json")
    assert json.loads(out)["memories"] == 8


def test_restore_with_a_number_still_brings_back_an_archived_memory(capsys, store):
    with Engine(store, embedder=FakeEmbedder(64)) as engine:
        memory = engine.memories.list("semantic")[0]
        engine.memories.set_archived(memory.id, True)
    code, out, err = run(capsys, "restore", str(memory.id), "--json")
    assert code == 0, err
    assert json.loads(out)["archived"] is False


def test_restore_a_file_that_is_not_there(capsys, store, tmp_path):
    code, _, err = run(capsys, "restore", str(tmp_path / "nope.engram-backup"), "--yes")
    assert code != 0 and "no file" in err and "Fix:" in err


def test_recover_from_the_command_line(capsys, store, tmp_path, fast_kdf):
    code_file = tmp_path / "code.txt"
    assert run(capsys, "recovery", "create", "--out", str(code_file))[0] == 0
    store.key_file.unlink()
    code, _, err = run(capsys, "stats")
    assert code != 0 and "engram recover" in err
    bad = tmp_path / "bad.txt"
    bad.write_text("0000-0000-0000")
    code, _, err = run(capsys, "recover", "--code-file", str(bad))
    assert code != 0 and "32 characters" in err
    code, out, err = run(capsys, "recover", "--code-file", str(code_file))
    assert code == 0, err
    assert "The database key is back" in out
    assert run(capsys, "stats")[0] == 0


def test_recover_without_a_terminal_or_code_file(capsys, store):
    code, _, err = run(capsys, "recover")
    assert code != 0 and "--code-file" in err


def test_export_and_import_from_the_command_line(capsys, store, tmp_path, monkeypatch):
    path = tmp_path / "memories.json"
    code, out, err = run(capsys, "export", "--format", "json", "--out", str(path), "--reveal-vault", "--json")
    assert code == 0, err
    assert json.loads(out)["memories"] == 8
    code, out, err = run(capsys, "export", "--format", "markdown", "--out", str(tmp_path / "notes"))
    assert code == 0 and "masked" in out
    code, _, err = run(capsys, "export", "--format", "csv", "--out", str(tmp_path / "sheets"), "--type", "planet")
    assert code != 0 and "Unknown memory type" in err
    monkeypatch.setenv("ENGRAM_HOME", str(tmp_path / "other"))
    code, out, err = run(capsys, "import", str(path))
    assert code == 0, err
    assert "Imported 8 memories" in out
    code, out, _ = run(capsys, "import", str(path), "--json")
    assert json.loads(out)["added"] == 0
    code, _, err = run(capsys, "import", str(tmp_path / "notes" / "index.md"))
    assert code != 0 and "not valid JSON" in err


def test_doctor_warns_without_backups_and_recovery_code(capsys, store):
    code, out, _ = run(capsys, "doctor")
    assert "backups: There is no backup yet" in out
    assert "recovery code: none: if this computer's keyring or key file is lost, every memory is lost" in out
    run(capsys, "backup")
    code, out, _ = run(capsys, "doctor")
    assert "[ok  ] backups: last good backup" in out
