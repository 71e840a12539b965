"""`engram ingest chat`: JSONL and ChatGPT exports, idempotence, and hostile files."""

from __future__ import annotations

import json

import pytest

from core.absorb import ingest
from core.absorb.ingest import import_chat_file
from core.cli import main
from core.errors import InvalidInputError


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


MESSAGES = [
    {"role": "user", "content": "I'm flying to Lisbon on 12 June 2026.", "time": "2026-05-02T10:00:00Z", "conversation": "trip"},
    {"role": "assistant", "content": "Have a good trip!", "time": "2026-05-02T10:00:04Z", "conversation": "trip"},
    {"role": "user", "content": "Thanks", "time": 1777716100, "conversation": "other", "speaker": "Ada", "id": "m-3"},
]


def chatgpt_export(path):
    mapping = {
        "root": {"id": "root", "message": None, "parent": None, "children": ["sys"]},
        "sys": {"id": "sys", "parent": "root", "children": ["u1"],
                "message": {"author": {"role": "system"}, "content": {"content_type": "text", "parts": [""]}, "create_time": None}},
        "u1": {"id": "u1", "parent": "sys", "children": ["a1", "a1-edit"],
               "message": {"author": {"role": "user"}, "content": {"content_type": "text", "parts": ["How do I boil an egg?"]},
                           "create_time": 1714640000.5}},
        "a1": {"id": "a1", "parent": "u1", "children": [],
               "message": {"author": {"role": "assistant"}, "content": {"content_type": "text", "parts": ["Old branch."]},
                           "create_time": 1714640001.0}},
        "a1-edit": {"id": "a1-edit", "parent": "u1", "children": ["u2"],
                    "message": {"author": {"role": "assistant"},
                                "content": {"content_type": "text", "parts": ["Boil it for 8 minutes.", {"asset": "img"}]},
                                "create_time": 1714640002.0}},
        "u2": {"id": "u2", "parent": "a1-edit", "children": [],
               "message": {"author": {"role": "user"}, "content": {"content_type": "text", "parts": ["Thanks!"]},
                           "create_time": 1714640003.0}},
    }
    data = [{"title": "Eggs", "id": "conv-1", "create_time": 1714640000, "current_node": "u2", "mapping": mapping}]
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_jsonl_import_stores_chat_observations_once(engine, tmp_path):
    path = write_jsonl(tmp_path / "chat.jsonl", MESSAGES)
    report = import_chat_file(engine.store, path)
    assert (report.format, report.messages, report.added, report.conversations) == ("jsonl", 3, 3, 2)
    stored = engine.observations.unabsorbed()
    assert [o.kind for o in stored] == ["chat"] * 3
    assert [o.role for o in stored] == ["user", "assistant", "user"]
    assert stored[0].conversation == "trip" and stored[2].meta == {"speaker": "Ada"} and stored[2].source_ref == "m-3"
    again = import_chat_file(engine.store, path)
    assert (again.added, again.already_present) == (0, 3)
    assert engine.observations.count() == 3


def test_chatgpt_export_follows_the_current_branch_in_order(engine, tmp_path):
    report = import_chat_file(engine.store, chatgpt_export(tmp_path / "conversations.json"))
    assert report.format == "chatgpt" and report.added == 3
    texts = [o.text for o in engine.observations.unabsorbed()]
    assert texts == ["How do I boil an egg?", "Boil it for 8 minutes.", "Thanks!"]
    first = engine.observations.unabsorbed()[0]
    assert first.conversation == "chatgpt:conv-1" and first.meta["title"] == "Eggs" and first.source_ref == "u1"
    assert import_chat_file(engine.store, tmp_path / "conversations.json").added == 0


def test_a_deep_chatgpt_chain_is_walked_without_recursion(engine, tmp_path):
    mapping = {"n0": {"id": "n0", "parent": None, "children": ["n1"], "message": None}}
    for i in range(1, 3000):
        mapping[f"n{i}"] = {"id": f"n{i}", "parent": f"n{i - 1}", "children": [f"n{i + 1}"] if i < 2999 else [],
                            "message": {"author": {"role": "user" if i % 2 else "assistant"},
                                        "content": {"parts": [f"message {i}"]}, "create_time": 1714640000 + i}}
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([{"id": "long", "mapping": mapping}]))
    assert import_chat_file(engine.store, path).added == 2999


@pytest.mark.parametrize(
    "content, expected",
    [
        (b'{"role": "user", "content": "hi", "time": "2026-05-02T10:00:00"}\n{"role": "robot", "content": "x", "time": 1}\n',
         "line 2: 'role'"),
        (b'{"role": "user", "content": "hi", "time": "2026-05-02T10:00:00"}\n{"role": "user", "content": 5, "time": 1}\n',
         "line 2: 'content' must be a string"),
        (b'{"role": "user", "content": "hi", "time": "2026-05-02T10:00:00"}\n{"role": "user", "content": "x"}\n',
         "line 2: 'time' is missing"),
        (b'{"role": "user", "content": "hi", "time": "yesterday-ish"}\n', "line 1: 'time'"),
        (b'{"role": "user", "content": "hi", "time": 1}\n{"role": "user", "content": "\xff\xfe bad", "time": 1}\n',
         "line 2 is not valid UTF-8"),
        (b'{"role": "user", "content": "hi", "time": 1}\n{"role": "user", "content": "x", "time": 1\n', "line 2 is not valid JSON"),
        (b'{"role": "user", "content": "hi", "time": 1}\n[1, 2, 3]\n', "line 2: expected a JSON object"),
    ],
)
def test_a_bad_jsonl_line_imports_nothing_and_names_the_line(engine, tmp_path, content, expected):
    path = tmp_path / "chat.jsonl"
    path.write_bytes(content)
    with pytest.raises(InvalidInputError) as caught:
        import_chat_file(engine.store, path)
    assert expected in caught.value.message and caught.value.fix
    assert engine.observations.count() == 0


def test_binary_file_is_refused(engine, tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256)) * 10)
    with pytest.raises(InvalidInputError, match="binary"):
        import_chat_file(engine.store, path)


def test_deeply_nested_json_is_a_clear_error(engine, tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(InvalidInputError, match="nested too deeply"):
        import_chat_file(engine.store, path)
    line = tmp_path / "deep.jsonl"
    line.write_text('{"role": "user", "content": "x", "time": 1, "extra": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    with pytest.raises(InvalidInputError, match="line 1 is nested too deeply"):
        import_chat_file(engine.store, line)


def test_wrong_schema_json_is_not_a_chatgpt_export(engine, tmp_path):
    path = tmp_path / "conversations.json"
    path.write_text(json.dumps([{"title": "no mapping here"}]))
    with pytest.raises(InvalidInputError, match="not a ChatGPT export"):
        import_chat_file(engine.store, path)


def test_oversized_files_are_refused_before_reading(engine, tmp_path, monkeypatch):
    big = tmp_path / "conversations.json"
    with open(big, "wb") as handle:  # sparse: 600 MB on paper, nothing on disk
        handle.truncate(600 * 1024 * 1024)
    with pytest.raises(InvalidInputError, match="imports at most"):
        import_chat_file(engine.store, big)
    monkeypatch.setattr(ingest, "MAX_JSON_EXPORT_BYTES", 1000)
    export = chatgpt_export(tmp_path / "export.json")
    with pytest.raises(InvalidInputError, match="convert it to JSONL"):
        import_chat_file(engine.store, export, fmt="chatgpt")
    long_line = tmp_path / "long.jsonl"
    long_line.write_text('{"role": "user", "content": "' + "a" * (ingest.MAX_LINE_BYTES + 10) + '", "time": 1}\n')
    with pytest.raises(InvalidInputError, match="line 1 is"):
        import_chat_file(engine.store, long_line)
    assert engine.observations.count() == 0


def test_cli_ingest_then_absorb(tmp_path, capsys):
    path = write_jsonl(tmp_path / "chat.jsonl", MESSAGES)
    assert main(["ingest", "chat", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["added"] == 3
    assert main(["ingest", "chat", str(path)]) == 0
    assert "0 new message(s)" in capsys.readouterr().out
    assert main(["absorb", "--now", "--no-llm", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["observations"] == 3 and report["llm_calls"] == 0 and report["added"]["episodic"] >= 2
    assert main(["ingest", "chat", str(tmp_path / "missing.jsonl")]) == 2
    assert "There is no file" in capsys.readouterr().err
