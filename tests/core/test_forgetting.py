"""Forgetting that forgets: after a delete or a forget, no page of the database, its WAL or backups/ holds the words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.cli import main
from core.engine import Engine
from core.errors import InvalidInputError, NotFoundError
from core.models.base import FakeEmbedder
from tests.sqlcipher_pages import plaintext_of, traces

# Words no other text here shares even two first letters with: an FTS5 leaf stores a term after the
# bytes it shares with the term before it, so each word is looked for without its first letter.
DELETED = ["qzarvolkt", "xjembrantk"]  # a memory the user deletes
EDITED_AWAY = ["zqolphirv"]  # what that memory said before the user edited it
OBSERVED = ["jxalmorft"]  # a chat turn the user forgets
CONVERSATION = ["vqendrilk"]  # the name of its conversation
DERIVED = ["kzumbrolt"]  # a memory absorb built from that turn
VAULT = ["wq7731zzk"]  # a vault value absorb took from that turn
REJECTED = ["jqirnaxt"]  # a candidate absorb rejected from that turn
KEPT = ["bjorvastk"]  # a memory the user wrote that cites the turn: it stays
CONTROL = ["cellomarkt"]  # nothing to do with any of it: it stays


def needles(words):
    return [w[1:] for w in words]


def found(paths, words):
    key = paths.key_file.read_text().strip()
    return traces(key, paths.db_path, paths.backups_dir, needles(words))


@pytest.fixture
def story(paths, monkeypatch):
    """A store holding every kind of trace, closed, then upgraded once so backups/ holds a copy of it all."""
    from core.store import migrations as schema

    monkeypatch.setenv("ENGRAM_SEED_MODELS", str(paths.data_dir / "no-models"))  # the CLI runs without models
    ids = {}
    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        ids["control"] = engine.memories.add("semantic", {"name": "Ada", "summary": "Ada plays the cellomarkt"}).id
        memory = engine.memories.add("semantic", {"name": "Plan", "summary": "the zqolphirv plan"})
        engine.memories.update(memory.id, {"summary": "the qzarvolkt plan with xjembrantk"})
        ids["deleted"] = memory.id
        turns = engine.observations.add_many([
            dict(kind="chat", text="Where do we meet?", role="user", conversation="vqendrilk planning", ts=1_800_000_000),
            dict(kind="chat", text="At the jxalmorft bakery", role="assistant", conversation="vqendrilk planning", ts=1_800_000_060),
            dict(kind="chat", text="Great, see you then", role="user", conversation="vqendrilk planning", ts=1_800_000_120),
        ])
        ids["turns"] = turns
        ids["derived"] = engine.memories.add(
            "episodic", {"occurred_at": 1_800_000_060, "summary": "Meeting at the kzumbrolt bakery"},
            sources=turns[:2], actor="absorb").id
        ids["vault"] = engine.memories.add(
            "knowledge_vault", {"entry_type": "code", "caption": "door code", "secret_value": "wq7731zzk"},
            sources=[turns[1]], actor="absorb").id
        ids["kept"] = engine.memories.add("semantic", {"name": "Bakery", "summary": "my favourite bjorvastk bakery"},
                                          sources=[turns[1]]).id
        with engine.store.atomic():
            engine.store.absorb_log.reject(None, "grounding", "semantic", "not in the source",
                                           {"summary": "the jqirnaxt bakery"}, [turns[1]])
        engine.observations.mark_absorbed(turns)
        engine.recall.sync()
        engine.indexer.index_pending()

    @schema.migrations()
    def m996_test_only(db):
        db.conn.execute("CREATE TABLE test_only (x)")

    try:
        with Engine(paths, embedder=FakeEmbedder(64)):
            pass  # the upgrade copies the database into backups/ first
        assert list(paths.backups_dir.iterdir())
        yield ids
    finally:
        schema.migrations._migrations = [m for m in schema.migrations._migrations if m.name != "m996_test_only"]


def test_the_decryptor_reads_every_page(story, paths):
    # Before anything is forgotten every word is there, in the file and in the copy in backups/.
    everything = DELETED + EDITED_AWAY + OBSERVED + CONVERSATION + DERIVED + VAULT + REJECTED + KEPT + CONTROL
    where = found(paths, everything)
    assert sorted(where) == sorted(needles(everything))
    assert all(any("backups" in f for f in files) for files in where.values())
    pages = plaintext_of(paths.key_file.read_text().strip(), paths.db_path)[str(paths.db_path)]
    assert pages[0].startswith(b"SQLite format 3\x00")


def test_delete_then_forget_leave_no_trace_in_any_page(story, paths, capsys):
    code = main(["delete", str(story["deleted"])])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert f"Deleted memory {story['deleted']} (semantic)." in out.out
    assert found(paths, DELETED + EDITED_AWAY) == {}
    assert found(paths, OBSERVED) != {}  # only what was deleted went

    code = main(["forget", "--observation", str(story["turns"][1]), "--yes"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Forgot 1 observation." in out.out
    gone = OBSERVED + DERIVED + VAULT + REJECTED
    assert found(paths, gone) == {}
    # The conversation's name lives on in the turns that were not forgotten, and so do they.
    assert found(paths, CONTROL + KEPT + CONVERSATION).keys() == set(needles(CONTROL + KEPT + CONVERSATION))
    assert list(paths.backups_dir.iterdir()) == []


def test_forget_rebuilds_around_what_remains(story, paths):
    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        report = engine.forgetting.forget_observations([story["turns"][1]])
        # While this engine still has the database open: the WAL is empty, no page holds the words.
        assert Path(str(paths.db_path) + "-wal").stat().st_size == 0
        assert found(paths, OBSERVED + DERIVED + VAULT + REJECTED) == {}
        assert sorted(report.memories_deleted) == sorted([story["derived"], story["vault"]])
        assert report.memories_unlinked == [story["kept"]]
        assert report.observations_reopened == 1 and report.wal_emptied
        kept = engine.memories.get(story["kept"])
        assert kept.sources == [] and "bjorvastk" in kept.text  # the user's memory stays, without the link
        first = engine.observations.get(story["turns"][0])
        assert first.absorbed_at is None  # the derived memory's other source is absorbed again
        assert engine.observations.get(story["turns"][2]).absorbed_at is not None
        for memory_id in (story["derived"], story["vault"]):
            with pytest.raises(NotFoundError):
                engine.memories.get(memory_id)
            history = engine.memories.history(memory_id)
            assert [h["action"] for h in history] == ["ADD", "DELETE"]
            assert all(h["old_value"] is None and h["new_value"] is None for h in history)
            assert history[-1]["reason"] == "built from forgotten observations"
        assert engine.store.absorb_log.rejections() == []
        # Recall in this and every other process: the turn is gone, its neighbours no longer quote it.
        hits = engine.recall.retrieve("jxalmorft bakery").hits
        assert all("jxalmorft" not in hit.text for hit in hits)
        assert engine.quick_recall("jxalmor") == []


def test_a_deleted_memory_leaves_a_tombstone(story, paths):
    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        engine.forgetting.forget_memory(story["deleted"])
        history = engine.memories.history(story["deleted"])
        assert [h["action"] for h in history] == ["ADD", "UPDATE", "DELETE"]
        assert all(h["old_value"] is None and h["new_value"] is None for h in history)
        assert history[-1]["actor"] == "user" and history[-1]["reason"] == "deleted by the user"
        assert engine.memories.search("qzarvolkt") == []


def test_deleting_a_memory_deletes_the_digest_built_from_it_and_what_was_merged_into_it(paths):
    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        child = engine.memories.add("episodic", {"occurred_at": 1_800_000_000, "summary": "xylofrant dinner"})
        twin = engine.memories.add("episodic", {"occurred_at": 1_800_000_000, "summary": "xylofrant dinner party"},
                                   actor="absorb")
        merged = engine.memories.merge_into(child.id, twin.id, {"summary": "xylofrant dinner party"},
                                            actor="consolidation", reason="near-duplicate")
        with engine.store.atomic():
            digest = engine.memories.add("episodic", {"occurred_at": 1_800_000_000, "summary": "Day: xylofrant dinner party"},
                                         actor="consolidation")
            engine.store.derived.keep("digest:day:test", digest.id, [merged.id], "digest", "stamp", 0)
        report = engine.forgetting.forget_memory(child.id)
        assert sorted(report.memories_deleted) == sorted([child.id, digest.id])
        assert engine.store.derived.lookup("digest:day:test") is None  # the next pass rebuilds the day
        for memory_id in (child.id, twin.id, digest.id):
            assert all(h["old_value"] is None and h["new_value"] is None for h in engine.memories.history(memory_id))
        assert engine.memories.history(twin.id)[-1]["reason"] == f"merged into #{child.id}"
    assert found(paths, ["xylofrant"]) == {}


def test_merges_and_reconciles_still_keep_their_history(engine):
    memory = engine.memories.add("semantic", {"name": "Ada", "summary": "Ada is my sister"}, actor="absorb")
    engine.memories.delete(memory.id, actor="absorb", reason="contradicted")
    assert engine.memories.history(memory.id)[-1]["old_value"]["summary"] == "Ada is my sister"


def test_secure_delete_is_on(engine):
    assert engine.store.db.scalar("PRAGMA secure_delete") == 1


# -- the command line ------------------------------------------------------------------------


@pytest.fixture
def timeline(paths, monkeypatch):
    monkeypatch.setenv("ENGRAM_SEED_MODELS", str(paths.data_dir / "no-models"))
    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        ids = engine.observations.add_many([
            dict(kind="screen", text="budget sheet", app="LibreOffice Calc", ts=1_800_000_000),
            dict(kind="screen", text="news page", app="Firefox", ts=1_800_000_100),
            dict(kind="screen", text="more news", app="firefox", ts=1_800_000_200),
            dict(kind="screen", text="budget again", app="LibreOffice Calc", ts=1_800_000_300),
        ])
    return ids


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _remaining(paths):
    with Engine(paths, embedder=FakeEmbedder(64)) as engine:
        return [o.id for o in engine.observations.list_between(0, 4e9)]


def test_forget_an_app_ignoring_case(timeline, paths, capsys):
    code, out, err = _run(capsys, "forget", "--app", "FIREFOX", "--yes", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["observations"] == 2
    assert report["indexes_rewritten"] == ["observation_fts"]  # screen text: no recall context, no memory to rewrite
    assert _remaining(paths) == [timeline[0], timeline[3]]


def test_forget_a_range_end_exclusive(timeline, paths, capsys):
    code, out, err = _run(capsys, "forget", "--range", "1800000000", "1800000200", "--yes")
    assert code == 0, err
    assert "Forgot 2 observations." in out
    assert _remaining(paths) == timeline[2:]


def test_forget_a_range_in_iso(timeline, paths, capsys):
    from datetime import datetime

    start = datetime.fromtimestamp(1_800_000_050).isoformat()
    end = datetime.fromtimestamp(1_800_000_250).isoformat()
    code, out, err = _run(capsys, "forget", "--range", start, end, "--yes")
    assert code == 0, err
    assert _remaining(paths) == [timeline[0], timeline[3]]


def test_forget_asks_first(timeline, paths, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    code, out, _ = _run(capsys, "forget", "--app", "Firefox")
    assert code == 1
    assert "This forgets 2 observations (screen 2)" in out and "Nothing was forgotten." in out
    assert len(_remaining(paths)) == 4
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    code, out, _ = _run(capsys, "forget", "--app", "Firefox")
    assert code == 0 and "Forgot 2 observations." in out
    assert len(_remaining(paths)) == 2


def test_forget_without_a_terminal_needs_yes(timeline, paths, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _, err = _run(capsys, "forget", "--observation", str(timeline[0]))
    assert code != 0 and "no terminal to ask on" in err and "--yes" in err
    assert len(_remaining(paths)) == 4


def test_forget_at_end_of_input_is_a_no(timeline, paths, capsys, monkeypatch):
    def eof(prompt):
        raise EOFError

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", eof)
    code, out, _ = _run(capsys, "forget", "--observation", str(timeline[0]))
    assert code == 1 and "Nothing was forgotten." in out
    assert len(_remaining(paths)) == 4


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--observation", "999999"], "no observation with id 999999"),
        (["--observation", "abc"], "is not an observation id"),
        (["--observation", "0"], "is not an observation id"),
        (["--observation", str(2**64)], "is not an observation id"),
        (["--observation", "-3"], "is not an observation id"),
        (["--range", "2026-05-02", "2026-05-01"], "ends"),
        (["--range", "someday", "2026-05-01"], "not a date and time"),
        (["--range", "nan", "2026-05-01"], "between 1970 and 2100"),
        (["--range", "1e300", "2e300"], "between 1970 and 2100"),
        (["--range", "-5", "10"], "between 1970 and 2100"),
        (["--app", "  "], "application name is empty"),
    ],
)
def test_bad_forget_input_gets_a_message_and_a_fix(timeline, paths, capsys, argv, message):
    code, _, err = _run(capsys, "forget", *argv, "--yes")
    assert code != 0
    assert message in err and "Fix:" in err and "Traceback" not in err
    assert len(_remaining(paths)) == 4


def test_forget_with_nothing_to_forget_says_so(timeline, paths, capsys):
    code, out, _ = _run(capsys, "forget", "--app", "Thunderbird", "--yes")
    assert code == 0 and "Nothing to forget" in out
    code, out, _ = _run(capsys, "forget", "--range", "2001-01-01", "2001-01-02", "--yes")
    assert code == 0 and "Nothing to forget" in out


def test_the_range_and_app_errors_are_engram_errors(engine):
    with pytest.raises(InvalidInputError):
        engine.forgetting.observations_between("2026-05-02", "2026-05-02")
    with pytest.raises(InvalidInputError):
        engine.forgetting.observations_of_app("")
    with pytest.raises(NotFoundError):
        engine.forgetting.forget_memory(424242)


def test_doctor_lists_the_pre_upgrade_copies(story, paths, capsys):
    code, out, err = _run(capsys, "doctor", "--json")
    checks = {c["name"]: c for c in json.loads(out)}
    copies = checks["pre-upgrade copies"]
    assert copies["status"] == "warn" and "before-migration.engram-backup" in copies["detail"] and "removed automatically after" in copies["detail"]


def test_pre_upgrade_copies_go_after_seven_days_of_clean_opens(paths, clock):
    from core.store import migrations as schema

    Engine(paths, embedder=FakeEmbedder(64), clock=clock).close()
    with Engine(paths, embedder=FakeEmbedder(64), clock=clock) as engine:
        engine.memories.add("semantic", {"name": "Ada", "summary": "my sister"})

    @schema.migrations()
    def m995_test_only(db):
        db.conn.execute("CREATE TABLE test_only (x)")

    try:
        with Engine(paths, embedder=FakeEmbedder(64), clock=clock) as engine:
            assert engine.migrations_applied == ["m995_test_only"]
            assert len(engine.store.pre_upgrade_copies.copies()) == 1
            assert engine.store.pre_upgrade_copies.removal_due() == clock.now + 7 * 86400
        clock.now += 6.9 * 86400
        Engine(paths, embedder=FakeEmbedder(64), clock=clock).close()
        assert len(list(paths.backups_dir.iterdir())) == 1  # not yet: the upgrade may still need undoing
        clock.now += 0.2 * 86400
        with Engine(paths, embedder=FakeEmbedder(64), clock=clock) as engine:
            assert engine.store.pre_upgrade_copies.copies() == []
            assert engine.memories.count() == 1
        assert list(paths.backups_dir.iterdir()) == []
    finally:
        schema.migrations._migrations = [m for m in schema.migrations._migrations if m.name != "m995_test_only"]


def test_a_later_upgrade_starts_the_seven_days_again(paths, clock):
    from core.store import migrations as schema

    with Engine(paths, embedder=FakeEmbedder(64), clock=clock) as engine:
        engine.memories.add("semantic", {"name": "Ada", "summary": "my sister"})
    added = []
    try:
        for name in ("m993_test_only", "m994_test_only"):
            schema.migrations(name=name)(lambda db, name=name: db.conn.execute(f"CREATE TABLE {name} (x)"))
            added.append(name)
            Engine(paths, embedder=FakeEmbedder(64), clock=clock).close()
            clock.now += 5 * 86400
        Engine(paths, embedder=FakeEmbedder(64), clock=clock).close()
        assert len(list(paths.backups_dir.iterdir())) == 2  # 10 days after the first upgrade, 5 after the second
        clock.now += 2.1 * 86400
        Engine(paths, embedder=FakeEmbedder(64), clock=clock).close()
        assert list(paths.backups_dir.iterdir()) == []
    finally:
        schema.migrations._migrations = [m for m in schema.migrations._migrations if m.name not in added]

