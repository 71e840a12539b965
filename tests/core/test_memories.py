"""Typed memories: validation, provenance, history, events and hybrid search."""

from __future__ import annotations

import pytest

from core.engine import Engine
from core.errors import InvalidInputError, NotFoundError
from core.models.base import FakeEmbedder


@pytest.fixture
def meaning_engine(paths):
    embedder = FakeEmbedder(64, synonyms={"car": "vehicle", "automobile": "vehicle", "auto": "vehicle"})
    engine = Engine(paths, embedder=embedder)
    yield engine
    engine.close()


EXAMPLES = {
    "core": {"label": "human", "value": "Name: Sam. Prefers tea over coffee."},
    "episodic": {"occurred_at": "2026-05-02T10:00:00+00:00", "summary": "Edited budget.ods in LibreOffice Calc", "actor": "user"},
    "semantic": {"name": "Ada", "summary": "Ada is Sam's sister"},
    "procedural": {"entry_type": "workflow", "summary": "Deploy the site", "steps": ["git pull", "make build", "make deploy"]},
    "resource": {"title": "Q3 report", "resource_type": "document", "location": "/home/sam/q3.pdf"},
    "knowledge_vault": {"entry_type": "iban", "caption": "Sam's bank account", "secret_value": "DE89370400440532013000", "sensitivity": "high"},
}


@pytest.mark.parametrize("type_name", list(EXAMPLES))
def test_each_type_round_trips(engine, type_name):
    memory = engine.memories.add(type_name, EXAMPLES[type_name])
    again = engine.memories.get(memory.id)
    assert again.type == type_name
    for key, value in EXAMPLES[type_name].items():
        if key == "occurred_at":
            assert again.to_dict()["occurred_at"] == "2026-05-02T10:00:00Z"
        else:
            assert again.fields[key] == value


def test_vault_secret_is_masked_unless_revealed_and_never_indexed(engine):
    memory = engine.memories.add("knowledge_vault", EXAMPLES["knowledge_vault"])
    assert memory.to_dict()["secret_value"] == "••••••••00"
    assert "DE89" not in memory.to_dict()["secret_value"]
    assert memory.to_dict(reveal=True)["secret_value"] == "DE89370400440532013000"
    assert engine.memories.search("DE89370400440532013000", semantic=False) == []
    assert engine.memories.search("bank account")[0].id == memory.id


@pytest.mark.parametrize(
    "type_name, data, message",
    [
        ("planet", {"name": "x"}, "Unknown memory type"),
        ("semantic", {"name": "x"}, "needs the field 'summary'"),
        ("semantic", {"name": "x", "summary": "y", "colour": "red"}, "Unknown field"),
        ("semantic", ["not", "an", "object"], "must be a JSON object"),
        ("procedural", {"summary": "x", "entry_type": "poem"}, "must be one of"),
        ("episodic", {"occurred_at": "next tuesdayish", "summary": "x"}, "not a date"),
        ("semantic", {"name": "", "summary": "y"}, "cannot be empty"),
    ],
)
def test_bad_input_is_refused_clearly(engine, type_name, data, message):
    with pytest.raises(InvalidInputError) as info:
        engine.memories.add(type_name, data)
    assert message in info.value.message
    assert info.value.fix
    assert engine.memories.count() == 0


def test_core_labels_are_unique_and_limited(engine):
    engine.memories.add("core", {"label": "human", "value": "Sam", "char_limit": 20})
    with pytest.raises(InvalidInputError, match="already exists"):
        engine.memories.add("core", {"label": "human", "value": "Other"})
    memory = engine.memories.find_core("human")
    with pytest.raises(InvalidInputError, match="limit"):
        engine.memories.update(memory.id, {"value": "x" * 21})
    assert engine.memories.get(memory.id).fields["value"] == "Sam"


def test_provenance_history_and_events(engine):
    seen = []
    engine.events.subscribe("memory_did_add", lambda memory: seen.append(("add", memory.id)))
    engine.events.subscribe("memory_did_update", lambda memory, old: seen.append(("update", memory.id)))
    engine.events.subscribe("memory_did_delete", lambda memory: seen.append(("delete", memory.id)))
    obs1 = engine.observations.add("chat", "I moved to Lisbon", role="user")
    obs2 = engine.observations.add("chat", "Lisbon is lovely in May", role="user")
    memory = engine.memories.add("semantic", {"name": "Home", "summary": "Sam lives in Lisbon"}, sources=[obs1], actor="absorb")
    assert memory.sources == [obs1]
    memory = engine.memories.update(memory.id, {"summary": "Sam lives in Lisbon, Portugal"}, sources=[obs2], actor="absorb", reason="merge")
    assert memory.sources == [obs1, obs2]
    engine.memories.delete(memory.id, reason="test")
    history = engine.memories.history(memory.id)
    assert [h["action"] for h in history] == ["ADD", "UPDATE", "DELETE"]
    assert history[1]["old_value"]["summary"] == "Sam lives in Lisbon"
    assert history[1]["new_value"]["summary"] == "Sam lives in Lisbon, Portugal"
    assert history[2]["old_value"]["summary"] == "Sam lives in Lisbon, Portugal"
    assert seen == [("add", memory.id), ("update", memory.id), ("delete", memory.id)]
    with pytest.raises(NotFoundError):
        engine.memories.get(memory.id)
    assert engine.store.db.scalar("SELECT count(*) FROM memory_sources") == 0
    assert engine.store.db.scalar("SELECT count(*) FROM memory_fts") == 0


def test_unknown_source_is_refused(engine):
    with pytest.raises(InvalidInputError, match="do not exist"):
        engine.memories.add("semantic", {"name": "x", "summary": "y"}, sources=[12345])


def test_search_by_keyword(engine):
    target = engine.memories.add("semantic", {"name": "Ada", "summary": "Ada plays the cello on Sundays"})
    engine.memories.add("semantic", {"name": "Bob", "summary": "Bob likes football"})
    results = engine.memories.search("cello", semantic=False)
    assert [r.id for r in results] == [target.id]
    assert results[0].lexical == 1.0


def test_search_by_meaning_finds_what_keywords_cannot(meaning_engine):
    target = meaning_engine.memories.add("episodic", {"occurred_at": "2026-05-02", "summary": "Bought an automobile"})
    meaning_engine.memories.add("episodic", {"occurred_at": "2026-05-03", "summary": "Went to the dentist"})
    assert meaning_engine.memories.search("car", semantic=False) == []
    results = meaning_engine.memories.search("car")
    assert results[0].id == target.id
    assert results[0].semantic > 0.2
    assert len(results) == 1 or results[1].semantic < results[0].semantic / 2


def test_hybrid_ranks_agreement_first(meaning_engine):
    both = meaning_engine.memories.add("semantic", {"name": "Car", "summary": "my car is a red automobile"})
    lexical_only = meaning_engine.memories.add("semantic", {"name": "Note", "summary": "car park tickets paid monthly via the office"})
    results = meaning_engine.memories.search("car")
    assert [r.id for r in results][:2] == [both.id, lexical_only.id]


def test_search_filters_by_type_and_time(engine):
    may = engine.memories.add("episodic", {"occurred_at": "2026-05-02T10:00:00Z", "summary": "Lunch with Ada"})
    engine.memories.add("episodic", {"occurred_at": "2026-06-02T10:00:00Z", "summary": "Lunch with Ada again"})
    engine.memories.add("semantic", {"name": "Ada", "summary": "Lunch companion"})
    results = engine.memories.search("lunch Ada", types=["episodic"], since="2026-05-01", until="2026-05-31")
    assert [r.id for r in results] == [may.id]
    assert all(r.type == "episodic" for r in engine.memories.search("lunch", types="episodic"))


def test_search_returns_provenance_and_archived_is_hidden(engine):
    obs = engine.observations.add("chat", "Ada's birthday is on 3 March")
    memory = engine.memories.add("semantic", {"name": "Ada's birthday", "summary": "3 March"}, sources=[obs])
    assert engine.memories.search("birthday")[0].to_dict()["sources"] == [obs]
    engine.memories.set_archived(memory.id, True)
    assert engine.memories.search("birthday") == []
    assert engine.memories.search("birthday", include_archived=True)[0].id == memory.id
    engine.memories.set_archived(memory.id, False)
    assert engine.memories.search("birthday")[0].id == memory.id


def test_hostile_query_text_does_not_break_search(engine):
    engine.memories.add("semantic", {"name": "Ada", "summary": "sister"})
    for query in ['"', "AND OR NOT", "col:umn", "*", "NEAR(a b)", "'; DROP TABLE memories; --", "\x00", "日本語"]:
        engine.memories.search(query)
    assert engine.memories.count() == 1


def test_changing_the_embedder_reembeds(paths):
    engine = Engine(paths, embedder=FakeEmbedder(32, name="first"))
    engine.memories.add("semantic", {"name": "Ada", "summary": "sister"})
    engine.close()
    engine = Engine(paths, embedder=FakeEmbedder(48, name="second"))
    try:
        assert engine.memories.search("sister", semantic=False)  # FTS still works at once
        engine.indexer.embedder()  # the new embedder resets the vector table
        assert engine.indexer.pending_count() == 1
        assert engine.indexer.index_pending() == 1
        assert engine.indexer.pending_count() == 0
        assert engine.store.db.scalar("SELECT value FROM meta WHERE key = 'memory_vec.dim'") == "48"
        assert engine.memories.search("sister", lexical=False)[0].semantic > 0.5
    finally:
        engine.close()


def test_observations_search_and_dedupe(engine):
    first = engine.observations.add("import", "Meeting notes about the Lisbon office", dedupe_key="file:1")
    again = engine.observations.add("import", "Meeting notes about the Lisbon office", dedupe_key="file:1")
    assert first == again
    assert engine.observations.count() == 1
    engine.indexer.index_pending()
    hits = engine.observations.search("Lisbon office")
    assert hits[0].observation.id == first
    assert engine.observations.forget([first]) == 1
    assert engine.observations.search("Lisbon") == []


def test_observations_embedded_at_once_are_found_by_meaning(meaning_engine):
    ids = meaning_engine.observations.add_many(
        [dict(kind="chat", text="I finally bought an automobile"), dict(kind="chat", text="The dentist moved to Friday")], embed=True
    )
    assert meaning_engine.indexer.pending_count() == 0
    dims = {len(row["embedding"]) for row in meaning_engine.store.db.query("SELECT embedding FROM observation_vectors")}
    assert dims == {64 * 4}  # whole float32 vectors, one per observation
    hits = meaning_engine.observations.search("car", lexical=False)
    assert hits[0].observation.id == ids[0]


def test_events_wait_for_the_outer_commit_and_vanish_on_rollback(engine):
    heard = []
    engine.events.subscribe("memory_did_add", lambda memory: heard.append(memory.title))
    with engine.store.db.transaction():
        engine.memories.add("semantic", {"name": "Kept", "summary": "committed"})
        assert heard == []  # not yet committed
    assert heard == ["Kept"]
    with pytest.raises(RuntimeError):
        with engine.store.db.transaction():
            engine.memories.add("semantic", {"name": "Undone", "summary": "rolled back"})
            raise RuntimeError("crash mid-batch")
    assert heard == ["Kept"]
    with engine.store.db.transaction():
        engine.memories.add("semantic", {"name": "Outer", "summary": "kept"})
        with pytest.raises(RuntimeError):
            with engine.store.db.transaction():
                engine.memories.add("semantic", {"name": "Inner", "summary": "savepoint rolled back"})
                raise RuntimeError("inner failure")
    assert heard == ["Kept", "Outer"]
    assert [m.title for m in engine.memories.list(newest_first=False)] == ["Kept", "Outer"]


def test_full_text_queries_are_driven_by_the_index_not_a_table_scan(engine):
    """A filter on an indexed column once made SQLite scan (and decrypt) every observation first: 40 s at 200k."""
    engine.observations.add_many(
        [dict(kind="chat", text=f"note {i} about the plumber", role="Ana", conversation="c1") for i in range(20)]
        + [dict(kind="screen", text=f"invoice {i} from the plumber", app="Mail") for i in range(20)]
    )
    engine.memories.add("semantic", {"name": "Plumber", "summary": "Bob the plumber"})
    statements: list[str] = []
    engine.store.db.conn.set_trace_callback(statements.append)
    try:
        engine.memories.search("plumber invoice", types=["semantic"], since="2000-01-01")
        engine.observations.search("plumber invoice", kinds=["screen"])
        engine.recall.retrieve("what did Ana say about the plumber?")
        engine.quick_recall("plumb")
    finally:
        engine.store.db.conn.set_trace_callback(None)
    joined = [s for s in statements if " MATCH " in s and " b ON b.id = f.rowid" in s]
    assert len(joined) >= 4
    for sql in joined:
        plan = [row[-1] for row in engine.store.db.conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]
        assert plan[0].startswith("SCAN f VIRTUAL TABLE"), (sql, plan)


def test_a_loaded_vector_index_takes_writes_without_reloading(engine, monkeypatch):
    """A write mirrors itself into the RAM index a query loaded (a reload reads every code, inside the write);
    a rolled-back write leaves the RAM copy ahead, and the next query reloads."""
    from core.store.vectorindex import BinaryIndex

    observations = engine.observations
    first, second = observations.add_many([dict(kind="chat", text="walrus tusks are long teeth"),
                                           dict(kind="chat", text="the ferry leaves at noon")], embed=True)
    assert observations.search("the ferry leaves at noon", lexical=False)[0].observation.id == second  # loads it
    loads = []
    real_load = BinaryIndex.load
    monkeypatch.setattr(BinaryIndex, "load", lambda index, db: loads.append(index.names.codes) or real_load(index, db))

    [third] = observations.add_many([dict(kind="chat", text="a heron stood in the canal")], embed=True)
    observations.forget([first])
    hits = [h.observation.id for h in observations.search("a heron stood in the canal", lexical=False, limit=5)]
    assert hits[0] == third and first not in hits
    assert loads == []

    with pytest.raises(RuntimeError):
        with engine.store.db.transaction():
            observations.add_many([dict(kind="chat", text="an otter cracked a clam")], embed=True)
            raise RuntimeError("the batch failed")
    hits = observations.search("an otter cracked a clam", lexical=False, limit=5)
    assert "otter" not in " ".join(h.observation.text for h in hits)
    assert loads == ["observation_vectors_codes"]


def test_search_leaves_out_a_memory_whose_sources_a_better_one_cites(engine):
    a = engine.observations.add("chat", "Ada plays the cello on Sundays with Bob")
    b = engine.observations.add("chat", "Bob plays the cello too")
    c = engine.observations.add("chat", "Cy sold a cello")
    both = engine.memories.add("semantic", {"name": "cello", "summary": "Ada plays the cello, cello on Sundays with Bob"}, sources=[a, b])
    engine.memories.add("semantic", {"name": "Bob", "summary": "Bob plays the cello"}, sources=[b])
    other = engine.memories.add("semantic", {"name": "Cy", "summary": "Cy sold a cello"}, sources=[c])
    ids = [r.id for r in engine.memories.search("cello", semantic=False)]
    assert ids[0] == both.id
    assert set(ids) == {both.id, other.id}


def test_without_repeats_keeps_the_limit_and_memories_without_sources():
    from types import SimpleNamespace

    from core.store.memories import without_repeats

    def result(i, sources):
        return SimpleNamespace(id=i, memory=SimpleNamespace(sources=sources))

    results = [result(1, [1, 2]), result(2, [2]), result(3, []), result(4, []), result(5, [3])]
    assert [r.id for r in without_repeats(results, 10)] == [1, 3, 4, 5]
    assert [r.id for r in without_repeats(results, 2)] == [1, 3]


def test_a_memory_is_embedded_by_what_it_says_not_by_its_names_and_days():
    from core.store.types import type_spec, vector_text

    semantic, episodic = type_spec("semantic"), type_spec("episodic")
    quote = {"name": "Caroline", "summary": "Caroline, 8 May 2023: I went to a support group.",
             "details": "Asked by Melanie: How was it?"}
    assert vector_text(semantic, quote) == "I went to a support group. | Asked by Melanie: How was it?"
    # The name stays in front when the summary does not say it, and a possessive subject is kept.
    assert vector_text(semantic, {"name": "Kyoto", "summary": "the city we visit in spring"}) == "Kyoto | the city we visit in spring"
    assert vector_text(semantic, {"name": "Dana", "summary": "Dana's sister: allergic to nuts"}) == "Dana's sister: allergic to nuts"
    event = {"occurred_at": 1.7e9, "actor": "Melanie", "event_type": "mentioned event",
             "summary": "Melanie: These figurines remind me of family."}
    assert vector_text(episodic, event) == "These figurines remind me of family."
    # Other types are embedded by their search text; a memory's vector never holds a vault value.
    vault = {"entry_type": "pin", "caption": "bank card PIN", "secret_value": "4821"}
    assert "4821" not in vector_text(type_spec("knowledge_vault"), vault)


def test_the_indexer_embeds_the_vector_text_and_full_text_keeps_every_word(engine, monkeypatch):
    embedded = []
    real = engine.indexer.embedder().embed
    monkeypatch.setattr(engine.indexer.embedder(), "embed", lambda texts: embedded.extend(texts) or real(texts))
    memory = engine.memories.add("semantic", {"name": "Caroline", "summary": "Caroline, 8 May 2023: I adopted a puppy."},
                                 embed=False)
    engine.indexer.index_pending()
    assert embedded == ["I adopted a puppy."]
    assert [r.id for r in engine.memories.search("Caroline May 2023", semantic=False)] == [memory.id]


def test_vectors_of_an_older_text_form_are_made_again_and_serve_until_then(engine):
    from core.store.search import MEMORY_INDEX, OBSERVATION_INDEX, VectorTables

    memory = engine.memories.add("semantic", {"name": "Ada", "summary": "Ada plays the cello"})
    engine.observations.add("chat", "the ferry leaves at noon")
    engine.indexer.index_pending()
    db = engine.store.db
    db.execute("DELETE FROM meta WHERE key = ?", [f"{MEMORY_INDEX.meta_key}.form"])  # a store from before form 2
    engine.indexer.reset()
    engine.indexer.embedder()
    assert engine.indexer.pending(MEMORY_INDEX) == 1 and engine.indexer.pending(OBSERVATION_INDEX) == 0
    assert engine.memories.search("Ada plays the cello", lexical=False)[0].id == memory.id  # the old vector serves
    assert engine.indexer.index_pending() == 1
    assert VectorTables(db).form(MEMORY_INDEX) == "2"
    engine.indexer.reset()
    engine.indexer.embedder()
    assert engine.indexer.pending_count() == 0


def test_a_keyword_match_outside_the_nearest_neighbours_keeps_its_cosine(meaning_engine):
    from core.store.search import MEMORY_INDEX
    from core.store.vectorindex import cosines_of

    car = meaning_engine.memories.add("semantic", {"name": "Car", "summary": "my automobile"})
    dentist = meaning_engine.memories.add("semantic", {"name": "Dentist", "summary": "went to the dentist"})
    meaning_engine.indexer.index_pending()
    vector = meaning_engine.indexer.embed_query("car")
    cos = cosines_of(meaning_engine.store.db, MEMORY_INDEX.vector_names, vector, [car.id, dentist.id, 999])
    assert set(cos) == {car.id, dentist.id}
    assert cos[car.id] > cos[dentist.id]


def test_absorbing_still_sees_every_similar_memory(engine):
    a = engine.observations.add("chat", "Ada plays the cello on Sundays with Bob")
    both = engine.memories.add("semantic", {"name": "cello", "summary": "Ada plays the cello, cello on Sundays with Bob"}, sources=[a])
    part = engine.memories.add("semantic", {"name": "Ada", "summary": "Ada plays the cello"}, sources=[a])
    ids = [r.id for r in engine.memories.search("cello", semantic=False, for_reader=False)]
    assert set(ids) == {both.id, part.id}
