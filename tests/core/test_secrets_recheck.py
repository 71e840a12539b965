"""Secrets stored before the detector knew them are masked too: in every table, index, page and the WAL."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

import core.secrets
import core.store.remask
from core.absorb.recheck import RECHECK_JOB, keeps_values, recheck_job
from core.cli import main
from core.engine import Engine
from core.models.base import FakeEmbedder
from core.paths import Paths
from core.secrets import Secret
from core.store.remask import CHECKED_KEY, PROGRESS_KEY
from tests.sqlcipher_pages import traces

RELEASE_0_1_0 = Path(__file__).resolve().parents[1] / "data" / "release-0.1.0"
PASSWORD = "Hunter2Zq9x"  # in the user's own chat turn: masked, and kept in the vault
IBAN = "GB82WEST12345698765432"  # in an assistant's turn and in an answer in the chat log: masked, not kept
CARD = "4539578123649920"  # on screen, in an episodic memory and in its history: masked, not kept
LOCKER = "7319-26"  # a form the detector does not know yet (see test_a_new_detector_version_checks_again)
CONVERSATION = "bank questions"


def needle(value: str) -> str:
    # An FTS5 leaf stores a term after the bytes it shares with the term before it: look without the first letter.
    return value[1:].lower()


def found(paths: Paths, values: list[str], *, backups: bool = True) -> dict[str, list[str]]:
    key = paths.key_file.read_text().strip()
    return traces(key, paths.db_path, paths.backups_dir if backups else None, [needle(v) for v in values])


@pytest.fixture
def old_store(tmp_path, monkeypatch) -> dict:
    """A store made by Engram 0.1.0, upgraded, then given secrets the way an older Engram stored them: in clear."""
    home = tmp_path / "old"
    shutil.copytree(RELEASE_0_1_0, home)
    home.chmod(0o700)
    monkeypatch.setenv("ENGRAM_HOME", str(home))
    monkeypatch.setenv("ENGRAM_SEED_MODELS", str(home / "no-models"))  # the CLI runs without models
    paths = Paths.from_env()
    ids: dict = {"paths": paths}
    with Engine(paths, embedder=FakeEmbedder(64), chat_model=None) as engine, monkeypatch.context() as blind:
        assert engine.store.secrets_recheck.checked_with() is None  # 0.1.0 had no detector
        blind.setattr(core.secrets, "find_secrets", lambda text, previous=None: [])  # the roads in, as they were before it
        core.secrets._mask_repeated.cache_clear()
        ids["turns"] = engine.observations.add_many([
            dict(kind="chat", text=f"my password is {PASSWORD}", role="user", conversation=CONVERSATION, ts=1_780_000_100),
            dict(kind="chat", text=f"Your IBAN is {IBAN}, keep it safe", role="assistant", conversation=CONVERSATION,
                 ts=1_780_000_160),
            dict(kind="chat", text="Thanks, noted", role="user", conversation=CONVERSATION, ts=1_780_000_220),
            dict(kind="chat", text=f"my locker at the pool is {LOCKER}", role="user", conversation=CONVERSATION,
                 ts=1_780_000_280),
        ])
        ids["screen"] = engine.observations.add(
            "screen", f"Checkout\nCard {CARD} expires 09/29", app="firefox", window_title=f"Pay {CARD} - Shop",
            ts=1_780_000_400)
        episode = engine.memories.add("episodic", {"occurred_at": 1_780_000_400, "summary": "Booked the Lisbon hotel"},
                                      sources=[ids["screen"]], actor="absorb")
        ids["episode"] = engine.memories.update(episode.id, {"details": f"paid with card {CARD}"}, actor="absorb").id
        engine.memories.update(ids["episode"], {"details": f"paid with card {CARD}, refundable"}, actor="absorb")
        engine.store.chat_log.record(CONVERSATION, 1_780_000_500, "What is the IBAN?", f"It is {IBAN} [1].",
                                     citations=[{"n": 1, "label": f"Your IBAN is {IBAN}"}], abstained=False, model="fake")
        engine.indexer.index_pending()
        engine.recall.sync()
    core.secrets._mask_repeated.cache_clear()
    ids["vault"] = _vault(paths)
    return ids


def _vault(paths: Paths) -> dict[int, str]:
    with Engine(paths, embedder=FakeEmbedder(64), chat_model=None) as engine:
        return {m.id: m.fields["secret_value"] for m in engine.memories.list("knowledge_vault", limit=100)}


def _recheck(engine, **kwargs):
    return engine.store.secrets_recheck.run(keeps_values(engine.settings), **kwargs)


def test_the_fixture_holds_the_values_in_clear(old_store):
    paths = old_store["paths"]
    everything = [PASSWORD, IBAN, CARD]
    assert sorted(found(paths, everything, backups=False)) == sorted(needle(v) for v in everything)
    with Engine(paths, embedder=FakeEmbedder(64), chat_model=None) as engine:
        assert engine.observations.search(PASSWORD, semantic=False)
        assert engine.memories.search(CARD, semantic=False)
        assert engine.store.secrets_recheck.needed()


def test_recheck_masks_every_copy_and_keeps_only_the_users_password(old_store, capsys):
    paths = old_store["paths"]
    copies_before = list(paths.backups_dir.glob("engram-*-before-migration.engram-backup"))
    assert copies_before  # the upgrade from 0.1.0 made one, and it predates the secrets, but holds clear text in real life

    code = main(["secrets", "recheck", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    report = json.loads(out.out)
    assert report["complete"] and report["kept_in_vault"] == 1
    assert report["masked"]["observations"] == 3  # the password, the IBAN, the card (text and window title)
    assert report["masked"]["memories"] == 1 and report["masked"]["memory_history"] == 2  # the two edits of the memory
    assert report["masked"]["assistant_chat"] == 1
    assert report["indexes_rewritten"] == ["observation_fts", "recall_fts", "memory_fts"] and report["wal_emptied"]
    assert [Path(p).name for p in report["backups_removed"]] == [p.name for p in copies_before]

    # No search finds a value: the CLI's, the store's, quick recall and recall.
    for value in (PASSWORD, IBAN, CARD):
        assert main(["search", value, "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == []
    with Engine(paths, embedder=FakeEmbedder(64), chat_model=None) as engine:
        for value in (PASSWORD, IBAN, CARD):
            assert engine.observations.search(value, semantic=False) == []
            assert engine.quick_recall(value) == []
            assert all(value not in hit.text for hit in engine.recall.retrieve(value).hits)
        turns = engine.observations.get_many(old_store["turns"])
        assert turns[old_store["turns"][0]].text == "my password is ••••••••9x"
        assert turns[old_store["turns"][1]].text == "Your IBAN is ••••••••32, keep it safe"
        screen = engine.observations.get(old_store["screen"])
        assert CARD not in screen.text and CARD not in screen.window_title
        assert engine.observations.get(old_store["turns"][2]).text == "Thanks, noted"  # nothing else changed
        episode = engine.memories.get(old_store["episode"])
        assert episode.fields["details"] == "paid with card ••••••••20, refundable"
        assert all(CARD not in json.dumps(h) for h in engine.memories.history(episode.id))
        assert IBAN not in json.dumps(engine.chat_history())
        # The changed rows wait for new vectors; the others keep theirs.
        assert engine.indexer.pending_count() >= 4

        # The vault gained exactly the user's password, captioned by its label, linked to the turn it came from.
        vault = {m.id: m for m in engine.memories.list("knowledge_vault", limit=100)}
        new = [m for i, m in vault.items() if i not in old_store["vault"]]
        assert [(m.fields["secret_value"], m.fields["caption"]) for m in new] == [(PASSWORD, "password")]
        assert new[0].sources == [old_store["turns"][0]]
        assert engine.store.secrets_recheck.status() == {
            "detector_version": core.secrets.DETECTOR_VERSION, "checked_with": core.secrets.DETECTOR_VERSION, "up_to_date": True, "rows_left": 0}
        # The only clear copy left is the vault's (its entry and its history): forgetting it leaves none.
        engine.forgetting.forget_memory(new[0].id)

    assert found(paths, [PASSWORD, IBAN, CARD]) == {}  # every page of the database, its WAL and backups/
    assert list(paths.backups_dir.glob("engram-*-before-migration.engram-backup")) == []


def test_an_interrupted_recheck_continues_where_it_stopped(old_store):
    paths = old_store["paths"]
    with Engine(paths, embedder=FakeEmbedder(64), chat_model=None) as engine:
        recheck = engine.store.secrets_recheck
        total = recheck.rows_left()
        first = old_store["turns"][0]  # the release holds 4 observations before it: the first chunk ends with it

        def crash(done, _total):
            raise RuntimeError("power cut")

        with pytest.raises(RuntimeError):
            _recheck(engine, progress=crash, chunk_rows=first)
        assert recheck.needed() and json.loads(engine.store.meta.get(PROGRESS_KEY))["done"]["observations"] == first
        assert PASSWORD not in engine.observations.get(first).text  # the first chunk is written, with its vault entry
        assert IBAN in engine.observations.get(old_store["turns"][1]).text  # the next is not
        assert len(_vault_now(engine)) == len(old_store["vault"]) + 1
        left = recheck.rows_left()
        assert left < total

        report = _recheck(engine, chunk_rows=first)
        assert report.complete and report.rows_checked == left  # the first chunk is not read again
        assert report.masked["observations"] == 3 and report.kept_in_vault == 1  # counted over the whole pass
        assert IBAN not in engine.observations.get(old_store["turns"][1]).text
        assert len(_vault_now(engine)) == len(old_store["vault"]) + 1
        assert engine.store.meta.get(PROGRESS_KEY) is None
        # While this engine still has the database open: the WAL's older frames (the chunks) were emptied.
        assert found(paths, [IBAN, CARD]) == {}


def _vault_now(engine) -> list:
    return engine.memories.list("knowledge_vault", limit=100)


def _snapshot(engine) -> dict:
    return {
        "observations": [o.to_dict() for o in engine.observations.list_between(0, 4_000_000_000)],
        "memories": [m.to_dict(reveal=True) for m in engine.memories.list(limit=1000, include_archived=True)],
        "history": [engine.memories.history(m.id) for m in engine.memories.list(limit=1000, include_archived=True)],
        "chat": engine.chat_history(),
    }


def test_running_it_again_changes_nothing(old_store):
    with Engine(old_store["paths"], embedder=FakeEmbedder(64), chat_model=None) as engine:
        assert _recheck(engine).rows_masked == 7
        before = _snapshot(engine)
        again = _recheck(engine)
        assert again.complete and again.rows_checked == 0  # up to date: nothing read
        # Even a whole pass over what is already masked changes nothing and keeps nothing twice.
        engine.store.meta.set(CHECKED_KEY, "0")
        full = _recheck(engine)
        assert full.complete and full.rows_checked > 0 and full.rows_masked == 0 and full.kept_in_vault == 0
        assert full.indexes_rewritten == [] and full.backups_removed == []
        assert _snapshot(engine) == before


def test_a_new_detector_version_checks_again(old_store, monkeypatch):
    with Engine(old_store["paths"], embedder=FakeEmbedder(64), chat_model=None) as engine:
        _recheck(engine)
        locker = old_store["turns"][3]
        assert LOCKER in engine.observations.get(locker).text  # a form today's detector does not know
        assert not engine.store.secrets_recheck.needed()

        # The detector learns lockers, and its version is bumped with it.
        known = core.secrets.find_secrets

        def learnt(text, previous=None):
            extra = [Secret("access_code", "pool locker", m.group(1), m.start(1), m.end(1))
                     for m in re.finditer(r"locker at the pool is (\S+)", text)]
            return sorted(known(text, previous) + extra, key=lambda s: s.start)

        monkeypatch.setattr(core.secrets, "find_secrets", learnt)
        monkeypatch.setattr(core.store.remask, "DETECTOR_VERSION", core.secrets.DETECTOR_VERSION + 1)
        assert engine.store.secrets_recheck.needed()
        assert engine.store.secrets_recheck.rows_left() > 0

        record = engine.scheduler.run(RECHECK_JOB)  # as the app runs it in the background
        assert record["status"] == "ok" and record["report"]["rows_masked"] == 1
        assert engine.observations.get(locker).text == "my locker at the pool is ••••••••"
        assert LOCKER in [m.fields["secret_value"] for m in _vault_now(engine)]  # the user said it
        assert engine.store.secrets_recheck.checked_with() == core.secrets.DETECTOR_VERSION + 1
        assert engine.scheduler.run(RECHECK_JOB)["report"] == {"rows_masked": 0}  # and then it rests


def test_a_screen_secret_is_kept_only_with_vault_from_screen(old_store):
    with Engine(old_store["paths"], embedder=FakeEmbedder(64), chat_model=None) as engine:
        engine.settings.set("privacy.vault_from_screen", True)
        report = _recheck(engine)
        values = {m.fields["secret_value"]: m for m in _vault_now(engine)}
        assert report.kept_in_vault == 2 and {PASSWORD, CARD} <= set(values) and IBAN not in values
        assert values[CARD].fields["caption"] == "Visa card" and values[CARD].sources == [old_store["screen"]]


def test_a_value_the_user_wrote_in_a_memory_goes_to_the_vault_without_replacing_a_newer_one(clocked_engine, clock):
    engine = clocked_engine
    old = engine.memories.add("semantic", {"name": "Bank", "summary": "the bank PIN is 4821"}, actor="user")  # as 0.1.0 did
    clock.now += 60
    newer = engine.memories.add("knowledge_vault", {"entry_type": "pin", "caption": "bank PIN", "secret_value": "7702"},
                                actor="user")
    engine.store.meta.set(CHECKED_KEY, "0")
    report = _recheck(engine)
    assert report.masked["memories"] == 1 and report.kept_in_vault == 1
    assert engine.memories.get(old.id).fields["summary"] == "the bank PIN is ••••••••"
    assert engine.memories.get(newer.id).fields["secret_value"] == "7702"  # said later: it stays the bank PIN
    earlier = [m for m in _vault_now(engine) if m.fields["secret_value"] == "4821"]
    assert [m.fields["caption"] for m in earlier] == ["bank PIN (earlier)"]


def test_a_new_store_is_checked_from_the_start_and_the_job_rests(engine):
    recheck = engine.store.secrets_recheck
    assert recheck.checked_with() == core.secrets.DETECTOR_VERSION and recheck.rows_left() == 0
    assert RECHECK_JOB in engine.scheduler.specs
    assert recheck_job(engine.store, engine.settings).func(None) == {"rows_masked": 0}


def test_a_read_only_store_is_skipped_quietly_and_the_command_says_why(old_store, monkeypatch, capsys):
    with Engine(old_store["paths"], embedder=FakeEmbedder(64), chat_model=None) as engine:
        monkeypatch.setattr(engine.store.db, "read_only", True)
        assert recheck_job(engine.store, engine.settings).func(None) == {"rows_masked": 0}
        report = _recheck(engine)
        assert not report.complete and report.rows_checked == 0
        monkeypatch.setattr(engine.store.db, "read_only", False)
        assert PASSWORD in engine.observations.get(old_store["turns"][0]).text
    monkeypatch.setattr("core.engine.Engine.read_only", property(lambda self: True))
    assert main(["secrets", "recheck"]) != 0
    err = capsys.readouterr().err
    assert "read-only" in err and "Fix:" in err


def test_doctor_and_status_say_how_much_is_left(old_store, capsys):
    assert main(["secrets", "status"]) == 0
    out = capsys.readouterr().out
    assert re.search(rf"Stored text checked for secrets: \d+ rows left to check with detector version {core.secrets.DETECTOR_VERSION}\.", out)
    assert main(["doctor"]) in (0, 1)
    assert "stored text checked for secrets:" in capsys.readouterr().out
    assert main(["secrets", "recheck"]) == 0
    out = capsys.readouterr().out
    assert "Masked secrets in 3 observations, 1 memory, 2 history entries, 1 chat answer." in out
    assert "Kept 1 value from your own words in the knowledge vault." in out
    main(["doctor"])
    assert f"stored text checked for secrets: yes (detector version {core.secrets.DETECTOR_VERSION})" in capsys.readouterr().out
    assert main(["secrets", "recheck"]) == 0
    assert "already checked" in capsys.readouterr().out


def test_the_recheck_reads_a_bare_reply_with_the_turn_before_it(engine, monkeypatch):
    with monkeypatch.context() as blind:  # stored by a detector that did not read replies
        blind.setattr(core.secrets, "find_secrets", lambda text, previous=None: [])
        question, reply, other = engine.observations.add_many([
            dict(kind="chat", text="Which gym membership number is on your card?", role="assistant", conversation="gym",
                 ts=1_780_000_000),
            dict(kind="chat", text="GYM-40417", role="user", conversation="gym", ts=1_780_000_060),
            dict(kind="chat", text="GYM-40417", role="user", conversation="elsewhere", ts=1_780_000_090),
        ])
    monkeypatch.setattr(core.store.remask, "DETECTOR_VERSION", core.secrets.DETECTOR_VERSION + 1)
    report = _recheck(engine)
    assert report.complete and report.kept_in_vault == 1
    assert engine.observations.get(reply).text == "••••••••"
    assert engine.observations.get(question).text == "Which gym membership number is on your card?"
    [entry] = engine.memories.list("knowledge_vault")
    assert (entry.fields["caption"], entry.fields["secret_value"]) == ("gym membership number", "GYM-40417")
