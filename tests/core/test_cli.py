"""The CLI contract used by benchmarks and scripts: output shapes, exit codes, clear errors."""

from __future__ import annotations

import json

import pytest

from core.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("engram ")


def test_add_get_search_delete_round_trip(capsys):
    code, out, err = run(capsys, "add", "semantic", "--json", '{"name": "Ada", "summary": "Ada plays the cello"}')
    assert code == 0, err
    memory_id = int(out.strip())
    code, out, _ = run(capsys, "get", str(memory_id), "--json")
    assert json.loads(out)["name"] == "Ada"
    code, out, _ = run(capsys, "search", "cello", "--json")
    results = json.loads(out)
    assert results[0]["id"] == memory_id
    assert {"id", "type", "score", "text"} <= set(results[0])
    code, out, _ = run(capsys, "stats", "--json")
    assert json.loads(out)["by_type"]["semantic"] == 1
    assert run(capsys, "delete", str(memory_id))[0] == 0
    code, _, err = run(capsys, "get", str(memory_id))
    assert code != 0 and "no memory with id" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["add", "semantic", "--json", "{not json"], "not valid JSON"),
        (["add", "planet", "--json", "{}"], "Unknown memory type"),
        (["search", "x", "--since", "someday"], "not a date"),
        (["search", "x", "--limit", "0"], "limit"),
    ],
)
def test_bad_input_exits_non_zero_with_a_fix(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code != 0
    assert message in err
    assert "Fix:" in err


def test_search_filters_on_the_command_line(capsys):
    run(capsys, "add", "episodic", "--json", '{"occurred_at": "2026-05-02T09:00:00Z", "summary": "Dentist visit"}')
    run(capsys, "add", "semantic", "--json", '{"name": "Dentist", "summary": "Dr. Who, Main Street"}')
    _, out, _ = run(capsys, "search", "dentist", "--type", "episodic", "--json")
    assert [r["type"] for r in json.loads(out)] == ["episodic"]
    _, out, _ = run(capsys, "search", "dentist", "--until", "2026-01-01", "--type", "episodic", "--json")
    assert json.loads(out) == []


def test_config_set_persists_and_validates(capsys):
    assert run(capsys, "config", "set", "capture.interval_seconds", "5")[0] == 0
    _, out, _ = run(capsys, "config", "get", "capture.interval_seconds")
    assert json.loads(out) == 5.0
    code, _, err = run(capsys, "config", "set", "capture.interval_seconds", "0.01")
    assert code != 0 and "between" in err
    code, _, err = run(capsys, "config", "set", "no.such.key", "1")
    assert code != 0 and "no setting" in err


def test_doctor_reports_key_file_fallback(capsys):
    code, out, _ = run(capsys, "doctor")
    assert "encrypted with SQLCipher" in out
    assert "key file" in out and "WARN" in out


def test_search_lists_repeats_of_a_better_result_only_when_asked(capsys):
    from core.engine import Engine
    from core.paths import Paths

    engine = Engine(Paths.from_env())
    try:
        turn = engine.observations.add("chat", "Ada plays the cello on Sundays")
        engine.memories.add("semantic", {"name": "Ada", "summary": "Ada plays the cello, the cello on Sundays"}, sources=[turn])
        engine.memories.add("episodic", {"occurred_at": "2026-05-03T10:00:00Z", "summary": "Ada played the cello"}, sources=[turn])
    finally:
        engine.close()
    _, out, _ = run(capsys, "search", "cello", "--json")
    assert [r["type"] for r in json.loads(out)] == ["semantic"]
    _, out, _ = run(capsys, "search", "cello", "--repeats", "--json")
    assert sorted(r["type"] for r in json.loads(out)) == ["episodic", "semantic"]
