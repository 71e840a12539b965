"""Export (JSON, Markdown, CSV) and import: complete, round-tripping, idempotent, masked, atomic."""

from __future__ import annotations

import csv
import json
import os
import threading
import time
from pathlib import Path

import pytest

from core.backup.archive import CancelledError
from core.backup.exporting import export_memories
from core.backup.importing import import_memories
from core.engine import Engine
from core.errors import InvalidInputError
from core.models.base import FakeEmbedder
from core.paths import Paths
from tests.core.backup_fixtures import fill

EXPECTED_MARKDOWN = Path(__file__).parent / "expected" / "markdown-export"


@pytest.fixture
def utc(monkeypatch):
    """Markdown notes use local time; the expected tree is written for UTC."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def sample_store(engine, clock) -> None:
    """A small store on the fake clock with every type, provenance, history, an archive and a pin."""
    clock.now = 1_777_700_000.0  # 2026-05-02 05:33:20 UTC
    chat = engine.observations.add("chat", "My sister Ada lives in Porto and works as a nurse.", role="user",
                                   conversation="c1", ts="2026-05-02T05:30:00Z")
    screen = engine.observations.add("screen", "Atlas budget review 15:00", app="slack", window_title="#design — Slack",
                                     ts="2026-05-02T08:59:00Z")
    engine.memories.add("core", {"label": "about me", "value": "I am Sam, a designer in Lisbon.", "pinned": True})
    ada = engine.memories.add("semantic", {"name": "Ada", "summary": "Ada is my sister; she lives in Porto.",
                                           "details": "Works as a nurse."}, sources=[chat])
    clock.now += 3600
    engine.memories.update(ada.id, {"summary": "Ada is my older sister; she lives in Porto."}, reason="corrected")
    engine.memories.add("episodic", {"occurred_at": "2026-05-02T09:00:00Z", "occurred_until": "2026-05-02T10:00:00Z",
                                     "actor": "me", "event_type": "meeting", "summary": "Budget review for Atlas",
                                     "details": "Cut the onboarding animation."}, sources=[screen])
    engine.memories.add("episodic", {"occurred_at": "2026-05-03T18:30:00Z", "summary": "Called Ada about the trip"})
    engine.memories.add("procedural", {"entry_type": "workflow", "summary": "Release the design system",
                                       "steps": ["Bump the version", "npm run build", "npm publish --access public"]})
    old = engine.memories.add("resource", {"title": "Research report", "location": "~/atlas/research.pdf",
                                           "summary": "12 interviews.", "content_excerpt": "Pain point: hidden fees\nPain point: slow search"})
    engine.memories.set_archived(old.id, True, reason="faded")
    engine.memories.add("knowledge_vault", {"entry_type": "wifi", "caption": "Office Wi-Fi", "secret_value": "correct-horse-battery",
                                            "sensitivity": "medium"})
    engine.memories.add("semantic", {"name": "Formula", "summary": "=HYPERLINK(\"http://x\") came from the screen"})
    # Stable uids, so the expected files can name them.
    for row in engine.store.db.query("SELECT id FROM memories"):
        engine.store.db.execute("UPDATE memories SET uid = ? WHERE id = ?", [f"00000000-0000-4000-8000-{row['id']:012d}", row["id"]])


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text(encoding="utf-8") for p in sorted(root.rglob("*")) if p.is_file()}


def test_markdown_export_matches_the_expected_tree(clocked_engine, clock, tmp_path, utc):
    sample_store(clocked_engine, clock)
    out = tmp_path / "notes"
    report = export_memories(clocked_engine, "markdown", out)
    assert report["memories"] == 8 and report["vault_masked"]
    got = tree(out)
    if os.environ.get("ENGRAM_UPDATE_EXPECTED"):
        for name, text in got.items():
            (EXPECTED_MARKDOWN / name).parent.mkdir(parents=True, exist_ok=True)
            (EXPECTED_MARKDOWN / name).write_text(text, encoding="utf-8")
    assert got == tree(EXPECTED_MARKDOWN)
    assert "correct-horse-battery" not in "".join(got.values())
    assert os.stat(out / "Semantic.md").st_mode & 0o777 == 0o600


def test_markdown_reveals_the_vault_only_when_asked(clocked_engine, clock, tmp_path, utc):
    sample_store(clocked_engine, clock)
    export_memories(clocked_engine, "markdown", tmp_path / "open", reveal_vault=True)
    assert "`correct-horse-battery`" in (tmp_path / "open" / "Knowledge vault.md").read_text()


def test_json_export_is_complete(clocked_engine, clock, tmp_path):
    sample_store(clocked_engine, clock)
    path = tmp_path / "memories.json"
    export_memories(clocked_engine, "json", path)
    data = json.loads(path.read_text())
    assert data["format"] == "engram-export" and data["counts"] == {
        "core": 1, "episodic": 2, "semantic": 2, "procedural": 1, "resource": 1, "knowledge_vault": 1}
    by_name = {m["fields"].get("name") or m["fields"].get("title") or m["fields"].get("caption"): m for m in data["memories"]}
    ada = by_name["Ada"]
    assert ada["uid"] == "00000000-0000-4000-8000-000000000002"
    assert ada["sources"][0]["text"] == "My sister Ada lives in Porto and works as a nurse." and ada["sources"][0]["role"] == "user"
    assert [h["action"] for h in ada["history"]] == ["ADD", "UPDATE"] and ada["history"][1]["reason"] == "corrected"
    assert ada["created_at"] == "2026-05-02T05:33:20Z" and ada["updated_at"] == "2026-05-02T06:33:20Z"
    assert by_name["Research report"]["archived"] is True
    assert by_name[None if False else "Office Wi-Fi"]["secret_masked"] is True
    vault = by_name["Office Wi-Fi"]
    assert vault["fields"]["secret_value"].endswith("ry") and "correct" not in json.dumps(vault)
    core = [m for m in data["memories"] if m["type"] == "core"][0]
    assert core["pinned"] is True
    assert os.stat(path).st_mode & 0o777 == 0o600


def test_json_round_trip_through_a_fresh_store(clocked_engine, clock, tmp_path):
    sample_store(clocked_engine, clock)
    digest = clocked_engine.memories.add("semantic", {"name": "Digest", "summary": "about Ada and the trip"})
    children = [m.id for m in clocked_engine.memories.list("semantic") if m.title == "Ada"]
    clocked_engine.store.db.execute("INSERT INTO memory_links(parent_id, child_id, kind) VALUES (?, ?, 'digest')", [digest.id, children[0]])
    first = tmp_path / "first.json"
    export_memories(clocked_engine, "json", first, reveal_vault=True)
    fresh = Paths.at(tmp_path / "fresh")
    with Engine(fresh, embedder=FakeEmbedder(64)) as other:
        report = import_memories(other, first)
        assert report["added"] == 9 and report["skipped"] == 0 and report["links"] == 1
        second = tmp_path / "second.json"
        export_memories(other, "json", second, reveal_vault=True)
        assert other.memories.search("Porto", semantic=False)
        assert other.observations.count() == 2 and other.observations.count(unabsorbed=True) == 0
        other.indexer.index_pending()
        assert other.memories.search("sister Porto", lexical=False)
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    assert a["memories"] == b["memories"]
    assert a["counts"] == b["counts"]


def test_importing_twice_adds_nothing(clocked_engine, clock, tmp_path):
    sample_store(clocked_engine, clock)
    path = tmp_path / "memories.json"
    export_memories(clocked_engine, "json", path, reveal_vault=True)
    fresh = Paths.at(tmp_path / "fresh")
    with Engine(fresh, embedder=FakeEmbedder(64)) as other:
        import_memories(other, path)
        counts = (other.memories.count(), other.observations.count(), other.store.db.scalar("SELECT count(*) FROM memory_history"))
        again = import_memories(other, path)
        assert again["added"] == 0 and again["skipped_by_reason"]["same uid"] == 8
        assert (other.memories.count(), other.observations.count(),
                other.store.db.scalar("SELECT count(*) FROM memory_history")) == counts
    # into the store it came from: everything is already there
    assert import_memories(clocked_engine, path)["added"] == 0


def test_same_content_under_another_uid_is_not_added_again(engine, tmp_path):
    engine.memories.add("semantic", {"name": "Ada", "summary": "my sister"})
    path = tmp_path / "e.json"
    export_memories(engine, "json", path)
    data = json.loads(path.read_text())
    data["memories"][0]["uid"] = "11111111-2222-4333-8444-555555555555"
    path.write_text(json.dumps(data))
    report = import_memories(engine, path)
    assert report["added"] == 0 and report["skipped_by_reason"]["same content"] == 1


def test_masked_vault_values_and_taken_core_labels_are_skipped_with_a_note(clocked_engine, clock, tmp_path):
    sample_store(clocked_engine, clock)
    path = tmp_path / "masked.json"
    export_memories(clocked_engine, "json", path)
    fresh = Paths.at(tmp_path / "fresh")
    with Engine(fresh, embedder=FakeEmbedder(64)) as other:
        other.memories.add("core", {"label": "about me", "value": "I am Sam and I moved to Berlin."})
        report = import_memories(other, path)
        assert report["skipped_by_reason"]["vault value masked"] == 1
        assert report["skipped_by_reason"]["core label taken"] == 1
        assert other.memories.count("knowledge_vault") == 0
        assert other.memories.find_core("about me").fields["value"] == "I am Sam and I moved to Berlin."
        assert any("masked" in n for n in report["notes"])
        assert report["backup"] and report["backup"].endswith("-before-import.engram-backup")


def test_csv_export_one_file_per_type_safe_for_spreadsheets(clocked_engine, clock, tmp_path):
    sample_store(clocked_engine, clock)
    out = tmp_path / "sheets"
    export_memories(clocked_engine, "csv", out)
    assert sorted(p.name for p in out.iterdir()) == [
        ".engram-export", "core.csv", "episodic.csv", "knowledge_vault.csv", "procedural.csv", "resource.csv", "semantic.csv"]
    raw = (out / "semantic.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 byte-order mark for spreadsheets
    rows = list(csv.DictReader((out / "semantic.csv").open(encoding="utf-8-sig")))
    assert {r["name"] for r in rows} == {"Ada", "Formula"}
    formula = [r for r in rows if r["name"] == "Formula"][0]
    assert formula["summary"].startswith("'=HYPERLINK")
    steps = list(csv.DictReader((out / "procedural.csv").open(encoding="utf-8-sig")))[0]["steps"]
    assert steps.splitlines() == ["Bump the version", "npm run build", "npm publish --access public"]
    assert "correct-horse" not in (out / "knowledge_vault.csv").read_text(encoding="utf-8-sig")


def test_filters_by_type_and_time(clocked_engine, clock, tmp_path):
    sample_store(clocked_engine, clock)
    path = tmp_path / "episodes.json"
    report = export_memories(clocked_engine, "json", path, types=["episodic"], since="2026-05-03", until="2026-05-04")
    data = json.loads(path.read_text())
    assert report["memories"] == 1 and [m["fields"]["summary"] for m in data["memories"]] == ["Called Ada about the trip"]
    out = tmp_path / "vault-only"
    export_memories(clocked_engine, "csv", out, types=["vault"])
    assert sorted(p.name for p in out.iterdir()) == [".engram-export", "knowledge_vault.csv"]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"fmt": "xml"}, "Unknown export format"),
        ({"types": ["planet"]}, "Unknown memory type"),
        ({"since": "someday"}, "not a date"),
        ({"since": "2026-05-04", "until": "2026-05-01"}, "after --until"),
    ],
)
def test_bad_export_requests_are_refused(engine, tmp_path, kwargs, message):
    kwargs = {"fmt": "json", **kwargs}
    with pytest.raises(InvalidInputError) as info:
        export_memories(engine, kwargs.pop("fmt"), tmp_path / "out.json", **kwargs)
    assert message in info.value.message and info.value.fix
    assert not (tmp_path / "out.json").exists()


def test_export_never_writes_among_other_files(engine, tmp_path):
    fill(engine, n=1)
    busy = tmp_path / "my-notes"
    busy.mkdir()
    (busy / "diary.md").write_text("mine")
    with pytest.raises(InvalidInputError) as info:
        export_memories(engine, "markdown", busy)
    assert "not empty" in info.value.message
    assert [p.name for p in busy.iterdir()] == ["diary.md"]
    with pytest.raises(InvalidInputError):
        export_memories(engine, "json", tmp_path / "missing-folder" / "x.json")
    with pytest.raises(InvalidInputError):
        export_memories(engine, "json", busy)  # a folder, not a file


def test_a_second_export_replaces_the_first_and_a_cancelled_one_leaves_nothing(engine, tmp_path):
    fill(engine, n=1)
    out = tmp_path / "notes"
    export_memories(engine, "markdown", out)
    engine.memories.add("semantic", {"name": "New", "summary": "added later"})
    export_memories(engine, "markdown", out)
    assert "New" in (out / "Semantic.md").read_text()
    stop = threading.Event()
    stop.set()
    with pytest.raises(CancelledError):
        export_memories(engine, "json", tmp_path / "cancelled.json", stop=stop)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "engram-home") == ["notes"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "not valid JSON"),
        ('{"format": "something-else"}', "not an Engram JSON export"),
        ('{"format": "engram-export", "format_version": 9, "memories": []}', "newer Engram"),
        ('{"format": "engram-export", "format_version": 1, "memories": {}}', "no list of memories"),
    ],
)
def test_bad_import_files_are_refused(engine, tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InvalidInputError) as info:
        import_memories(engine, path)
    assert message in info.value.message and info.value.fix
    assert engine.memories.count() == 0


def test_one_bad_record_refuses_the_whole_file_and_names_it(engine, tmp_path):
    fill(engine, n=2)
    path = tmp_path / "e.json"
    export_memories(engine, "json", path, reveal_vault=True)
    data = json.loads(path.read_text())
    data["memories"][1]["type"] = "planet"
    data["memories"][3]["fields"] = {"summary": "no name"}
    data["memories"][4]["history"] = [{"action": "EXPLODE", "at": "2026-01-01T00:00:00Z"}]
    data["memories"][5]["created_at"] = "yesterday"
    path.write_text(json.dumps(data))
    fresh = Paths.at(tmp_path / "fresh")
    with Engine(fresh, embedder=FakeEmbedder(64)) as other:
        with pytest.raises(InvalidInputError) as info:
            import_memories(other, path)
        message = info.value.message
        assert "4 records" in message and "nothing was imported" in message
        assert "memory 2" in message and "Unknown memory type" in message
        assert "needs the field 'name'" in message and "EXPLODE" in message and "yesterday" in message
        assert other.memories.count() == 0


def test_import_missing_file(engine, tmp_path):
    with pytest.raises(InvalidInputError) as info:
        import_memories(engine, tmp_path / "nope.json")
    assert "no file" in info.value.message


def test_a_cancelled_import_keeps_whole_batches_and_the_next_import_adds_the_rest(engine, tmp_path, monkeypatch):
    from core.backup import importing

    monkeypatch.setattr(importing, "BATCH", 5)
    for i in range(12):
        engine.memories.add("semantic", {"name": f"m{i}", "summary": f"fact {i}"})
    path = tmp_path / "e.json"
    export_memories(engine, "json", path)
    fresh = Paths.at(tmp_path / "fresh")
    with Engine(fresh, embedder=FakeEmbedder(64)) as other:
        stop = threading.Event()
        done = []

        def progress(_stage, fraction):
            done.append(fraction)
            stop.set()  # cancel after the first batch

        with pytest.raises(CancelledError) as info:
            import_memories(other, path, progress=progress, stop=stop)
        assert "Import the same file again" in info.value.fix
        assert other.memories.count() == 5
        assert import_memories(other, path)["added"] == 7
        assert other.memories.count() == 12


def test_secrets_in_clear_in_an_older_export_are_masked_on_the_way_in(engine, tmp_path):
    """An export written by an older Engram (or by hand) may hold secrets in clear: the import masks them all."""
    chat = engine.observations.add("chat", "Called the bank today.", role="user", conversation="c1")
    engine.memories.add("episodic", {"occurred_at": "2026-05-02T09:00:00Z", "summary": "Called the bank"},
                        sources=[chat])
    engine.memories.add("knowledge_vault", {"entry_type": "wifi", "caption": "Office Wi-Fi",
                                            "secret_value": "correct-horse-battery"})
    path = tmp_path / "old.json"
    export_memories(engine, "json", path, reveal_vault=True)
    data = json.loads(path.read_text())
    episodic = next(m for m in data["memories"] if m["type"] == "episodic")
    episodic["uid"] = "11111111-2222-4333-8444-555555555555"
    episodic["fields"]["details"] = "my password is Hunter2Zq9x and the IBAN is DE89370400440532013000"
    episodic["sources"][0]["text"] = "Called the bank: my password is Hunter2Zq9x"
    episodic["history"].append({"action": "UPDATE", "at": "2026-05-02T10:00:00Z", "actor": "user",
                                "old": {"details": "PIN 4321"}, "new": {"details": "the PIN is 4321"},
                                "reason": "card 4111 1111 1111 1111"})
    path.write_text(json.dumps(data))
    with Engine(Paths.at(tmp_path / "fresh"), embedder=FakeEmbedder(64)) as other:
        report = import_memories(other, path)
        assert report["added"] == 2
        memories = other.memories.list(limit=100)
        dump = json.dumps([m.to_dict(reveal=True) for m in memories], ensure_ascii=False)
        dump += json.dumps([o.text for o in other.observations.list_between(0, 4e9)], ensure_ascii=False)
        dump += json.dumps([other.memories.history(m.id) for m in memories], ensure_ascii=False)
        for value in ("Hunter2Zq9x", "DE89370400440532013000", "4321", "4111 1111 1111 1111"):
            assert value not in dump.replace("correct-horse-battery", "")
            assert not other.memories.search(value) and not other.observations.search(value)
        vault = other.memories.list(type="knowledge_vault")
        assert [m.fields["secret_value"] for m in vault] == ["correct-horse-battery"]  # the export's own vault entry
