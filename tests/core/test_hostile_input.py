"""Hostile and broken input: every one a clear EngramError with a Fix line, a non-zero exit, and nothing stored.

Times outside 1970-2100, NaN and infinities, lone surrogates and NUL characters,
JSON nested 100,000 deep, ids beyond SQLite's integers, malformed ChatGPT
exports, damaged GGUF headers, a damaged database page, a reader that goes
away (``| head``), and a poisoned time already in the store.
"""

from __future__ import annotations

import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest


from core.absorb.ingest import import_chat_file
from core.cli import main
from core.engine import Engine
from core.errors import InvalidInputError, ModelError
from core.store.types import MAX_TIMESTAMP, to_timestamp
from core.models.gguf_check import inspect_gguf
from core.paths import Paths

ROOT = Path(__file__).resolve().parents[2]


def _fails_cleanly(capsys, argv: list[str], *words: str) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err and "Fix:" in err, err
    for word in words:
        assert word in err, err
    return err


def _jsonl(path: Path, time_text: str, content: str = "hello there") -> Path:
    # Written by hand: NaN, Infinity and huge literals are what a hostile file holds, not what json.dumps writes.
    path.write_text(
        '{"role": "user", "content": "fine", "time": "2026-05-02T10:00:00Z"}\n'
        f'{{"role": "user", "content": {json.dumps(content)}, "time": {time_text}}}\n',
        encoding="utf-8",
    )
    return path


# -- times ------------------------------------------------------------------------------------


BAD_TIMES = ["1e300", "1e18", "-1e12", "NaN", "Infinity", "-Infinity", "1" + "0" * 400, '"9999-01-01"', '"1800-01-01"',
             '"2100-01-01T00:00:01Z"']


@pytest.mark.parametrize("bad", BAD_TIMES)
def test_a_jsonl_time_outside_1970_2100_imports_nothing(engine, tmp_path, bad):
    with pytest.raises(InvalidInputError) as caught:
        import_chat_file(engine.store, _jsonl(tmp_path / "chat.jsonl", bad))
    assert "line 2" in caught.value.message and "1970" in (caught.value.message + caught.value.fix)
    assert engine.observations.count() == 0


@pytest.mark.parametrize("bad", ["1e300", "NaN", "-1e12"])
def test_a_chatgpt_time_outside_1970_2100_imports_nothing(engine, tmp_path, bad):
    path = tmp_path / "conversations.json"
    export = [{"title": "t", "id": "c1", "current_node": "u1", "mapping": {"u1": {
        "id": "u1", "parent": None, "children": [],
        "message": {"author": {"role": "user"}, "content": {"content_type": "text", "parts": ["hi there"]}, "create_time": "BAD"},
    }}}]
    path.write_text(json.dumps(export).replace('"BAD"', bad), encoding="utf-8")
    with pytest.raises(InvalidInputError, match="create_time|time"):
        import_chat_file(engine.store, path)
    assert engine.observations.count() == 0


@pytest.mark.parametrize("bad", ["1e300", "1e18", "-1e12", "NaN", "Infinity", '"10000-01-01"'])
def test_add_with_a_time_outside_1970_2100_is_refused(capsys, bad):
    _fails_cleanly(capsys, ["add", "episodic", "--json", f'{{"occurred_at": {bad}, "summary": "x happened"}}'], "occurred_at")
    assert main(["stats", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["memories"] == 0


def test_one_validator_for_every_time_and_a_hint_for_milliseconds():
    assert to_timestamp(0) == 0.0 and to_timestamp(MAX_TIMESTAMP) == MAX_TIMESTAMP
    assert to_timestamp("2026-05-02T10:00:00Z") == 1777716000.0
    with pytest.raises(InvalidInputError) as caught:
        to_timestamp(1777716000000, "time")
    assert "milliseconds" in caught.value.fix
    for bad in (math.nan, math.inf, -1.0, 10**400, "0001-01-01"):
        with pytest.raises(InvalidInputError):
            to_timestamp(bad)
    with pytest.raises(InvalidInputError):
        to_timestamp("2200-01-01", "since")


def test_search_since_outside_the_range_is_a_clear_error(capsys):
    _fails_cleanly(capsys, ["search", "x", "--since", "1800-01-01"], "since")


def test_a_poisoned_time_already_stored_breaks_neither_absorb_nor_recall(paths, fake_embedder, capsys):
    from core.models.base import FakeChatModel

    model = FakeChatModel(lambda messages, schema: "Ada goes to Lisbon [1]." if schema is None else {"memories": []})
    with Engine(paths, embedder=fake_embedder, chat_model=model) as engine:
        for text in ("Ada and I fly to Lisbon next week for the conference", "I like green tea with honey, said Ada",
                     "The Lisbon hotel is near the river, Ada booked it"):
            engine.observations.add("chat", text, role="user", conversation="trip")
        engine.observations.add("screen", "Lisbon flights compared in the browser", app="firefox", window_title="Flights")
        # Written before times were checked, or by hand: the store must still work around them.
        engine.store.db.execute("UPDATE observations SET ts = 1e300 WHERE id = 1")
        engine.store.db.execute("UPDATE observations SET ts = -1e12 WHERE id = 2")
        engine.store.db.execute("UPDATE observations SET ts = 1e308 * 10 WHERE id = 4")  # +infinity
        report = engine.make_absorber(use_llm=True).absorb_backlog()
        assert report.backlog_after == 0
        assert engine.quick_recall("Lisbon")
        assert engine.ask("Where does Ada go?").text
        assert engine.observations.get(1).to_dict()["ts"] == "2100-01-01T00:00:00Z"
        assert engine.recall.retrieve("Lisbon hotel").hits
    assert main(["recall", "Lisbon"]) == 0 and "Lisbon" in capsys.readouterr().out


# -- text that no store can hold ------------------------------------------------------------------


@pytest.mark.parametrize("content", ["broken \\ud800 half", "nul \\u0000 byte", "\\udfff"])
def test_a_lone_surrogate_or_nul_in_a_chat_imports_nothing(engine, tmp_path, content):
    path = tmp_path / "chat.jsonl"
    path.write_text('{"role": "user", "content": "fine", "time": 1777716000}\n'
                    f'{{"role": "user", "content": "{content}", "time": 1777716001}}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError) as caught:
        import_chat_file(engine.store, path)
    assert "line 2" in caught.value.message and caught.value.fix
    assert engine.observations.count() == 0


def test_a_lone_surrogate_in_a_speaker_or_chatgpt_title_is_refused(engine, tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text('{"role": "user", "content": "fine", "time": 1777716000, "speaker": "A\\ud83d"}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError):
        import_chat_file(engine.store, path)
    export = tmp_path / "conversations.json"
    export.write_text('[{"title": "bad \\udc00", "id": "c", "current_node": "u", "mapping": {"u": {"parent": null, '
                      '"message": {"author": {"role": "user"}, "content": {"parts": ["hello there"]}, "create_time": 1777716000}}}}]',
                      encoding="utf-8")
    with pytest.raises(InvalidInputError):
        import_chat_file(engine.store, export)
    assert engine.observations.count() == 0


@pytest.mark.parametrize(
    "data",
    ['{"name": "Ada", "summary": "half \\ud800 char"}', '{"name": "Ada\\u0000", "summary": "x"}'],
)
def test_add_refuses_lone_surrogates_and_nul(capsys, data):
    _fails_cleanly(capsys, ["add", "semantic", "--json", data])


def test_add_refuses_them_in_a_list_and_an_absurd_size_limit(capsys):
    _fails_cleanly(capsys, ["add", "procedural", "--json", '{"summary": "x", "steps": ["a\\udfffb"]}'], "steps")
    for limit in ("1e300", "Infinity", "NaN", "-5", "9223372036854775808"):
        _fails_cleanly(capsys, ["add", "core", "--json", f'{{"label": "human", "value": "Sam", "char_limit": {limit}}}'], "char_limit")


# -- nesting and ids --------------------------------------------------------------------------------


def test_json_nested_100k_deep_is_explained(capsys, tmp_path, engine):
    deep = "[" * 100_000 + "]" * 100_000
    _fails_cleanly(capsys, ["add", "semantic", "--json", deep], "nested too deeply")
    path = tmp_path / "deep.jsonl"
    path.write_text('{"role": "user", "content": ' + deep + ', "time": 1777716000}\n', encoding="utf-8")
    with pytest.raises(InvalidInputError, match="nested too deeply"):
        import_chat_file(engine.store, path)
    export = tmp_path / "conversations.json"
    export.write_text(deep, encoding="utf-8")
    with pytest.raises(InvalidInputError, match="nested too deeply"):
        import_chat_file(engine.store, export, fmt="chatgpt")


@pytest.mark.parametrize("command", ["get", "delete", "restore"])
@pytest.mark.parametrize("memory_id", [str(2**64), str(2**63), "-1", str(-(2**70))])
def test_ids_beyond_sqlite_integers_are_not_found(capsys, command, memory_id):
    _fails_cleanly(capsys, [command, "--", memory_id] if memory_id.startswith("-") else [command, memory_id], "no memory")


# -- malformed ChatGPT exports --------------------------------------------------------------------


def _export(tmp_path, conversation) -> Path:
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([conversation]), encoding="utf-8")
    return path


def _node(parent, children=(), text="hello there", time=1777716000):
    return {"parent": parent, "children": children if isinstance(children, str) else list(children),
            "message": {"author": {"role": "user"}, "content": {"parts": [text]}, "create_time": time}}


@pytest.mark.parametrize(
    "conversation, words",
    [
        ({"current_node": ["a"], "mapping": {"a": _node(None)}}, "current_node"),
        ({"current_node": {"id": "a"}, "mapping": {"a": _node(None)}}, "current_node"),
        ({"current_node": "a", "mapping": {"a": _node({"id": "x"})}}, "parent"),
        ({"current_node": "b", "mapping": {"a": _node(None, children=[["x"]])}}, "child"),
        ({"current_node": "b", "mapping": {"a": _node(None, children="bcd")}}, "children"),
        ({"current_node": "a", "mapping": {"a": _node("b"), "b": _node("a")}}, "loop"),
        ({"current_node": "a", "mapping": [1, 2]}, "mapping"),
        ({"current_node": "a"}, "mapping"),
    ],
)
def test_malformed_chatgpt_exports_import_nothing(engine, tmp_path, conversation, words):
    with pytest.raises(InvalidInputError) as caught:
        import_chat_file(engine.store, _export(tmp_path, conversation), fmt="chatgpt")
    assert words in caught.value.message and caught.value.fix
    assert engine.observations.count() == 0


def test_cli_names_a_malformed_export(tmp_path, capsys):
    path = _export(tmp_path, {"current_node": ["a"], "mapping": {"a": _node(None)}})
    _fails_cleanly(capsys, ["ingest", "chat", str(path), "--format", "chatgpt"], "current_node")


# -- damaged GGUF headers ------------------------------------------------------------------------------


def _gguf(path: Path, body: bytes, n_tensors: int = 0, n_kv: int = 1) -> Path:
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv) + body + b"\0" * 64)
    return path


def _key(name: str) -> bytes:
    return struct.pack("<Q", len(name)) + name.encode()


@pytest.mark.parametrize(
    "name, body",
    [
        ("nested", _key("a") + struct.pack("<I", 9) + struct.pack("<IQ", 9, 1) * 5000 + struct.pack("<IQI", 4, 1, 7)),
        ("count", _key("a") + struct.pack("<I", 9) + struct.pack("<IQ", 8, 2**60)),
        ("arrays", _key("a") + struct.pack("<I", 9) + struct.pack("<IQ", 9, 2**62)),
        ("key", struct.pack("<Q", 2**62) + b"abc"),
        ("string", _key("a") + struct.pack("<IQ", 8, 2**61)),
    ],
)
def test_damaged_gguf_metadata_is_a_model_error(tmp_path, capsys, name, body):
    path = _gguf(tmp_path / f"{name}.gguf", body)
    with pytest.raises(ModelError, match="header is damaged"):
        inspect_gguf(path)
    _fails_cleanly(capsys, ["models", "import", str(path)], "GGUF")


def test_a_tensor_with_absurd_dimensions_is_a_model_error(tmp_path):
    body = _key("general.architecture") + struct.pack("<I", 8) + _key("llama") + _key("t") + struct.pack("<I", 2**31)
    with pytest.raises(ModelError, match="header is damaged"):
        inspect_gguf(_gguf(tmp_path / "dims.gguf", body, n_tensors=1))


# -- the reader goes away -------------------------------------------------------------------------------


@pytest.mark.parametrize("argv", [["--help"], ["config", "list"], ["stats"]])
def test_a_closed_pipe_ends_the_command_quietly(argv, engram_home):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `engram ... | head` once head has exited
    env = dict(os.environ, PYTHONPATH=str(ROOT), ENGRAM_HOME=str(engram_home))
    try:
        done = subprocess.run([sys.executable, "-m", "core.cli", *argv], stdout=write_end, stderr=subprocess.PIPE,
                              text=True, env=env, cwd=ROOT, timeout=120)
    finally:
        os.close(write_end)
    assert done.returncode == 0 and "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


# -- a damaged database page ------------------------------------------------------------------------------


def _damage_page(db_path: Path, key_hex: str, table: str) -> int:
    import sqlcipher3

    conn = sqlcipher3.connect(str(db_path))
    conn.execute(f"PRAGMA key = \"x'{key_hex}'\"")
    page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", [table]).fetchone()[0]
    conn.close()
    with open(db_path, "r+b") as handle:
        handle.seek((page - 1) * 4096 + 200)
        handle.write(os.urandom(256))
    return page


def test_one_damaged_page_is_reported_by_doctor_and_by_search_and_add(capsys):
    paths = Paths.from_env().ensure()
    with Engine(paths) as engine:
        for i in range(400):
            engine.memories.add("semantic", {"name": f"Person {i}", "summary": f"Person {i} lives in town number {i}"}, embed=False)
        key, _info = engine.keys.load()
    _damage_page(paths.db_path, key if isinstance(key, str) else key.hex(), "memories")
    _fails_cleanly(capsys, ["search", "town"], "damaged", "backups")
    _fails_cleanly(capsys, ["add", "semantic", "--json", '{"name": "Ada", "summary": "Ada is my sister"}'], "damaged")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] database integrity" in out and "backups" in out
