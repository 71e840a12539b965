"""Absorb with a scripted model: reconcile actions, id remapping, grounding, crash and resume, bad input."""

from __future__ import annotations

import pytest

from core.absorb.applying import compact_core
from core.absorb.batching import make_batches
from core.engine import Engine
from core.errors import ModelError, ModelUnavailableError
from core.models.base import FakeChatModel

T0 = "2026-05-02T10:00:00"


def chat(engine, text, *, ts=T0, role="user", conversation="c1", speaker=None):
    return engine.observations.add("chat", text, ts=ts, role=role, conversation=conversation,
                                   meta={"speaker": speaker} if speaker else None)


def scripted(extract=None, reconcile=None):
    """A fake model answering by schema: the extract call, then the reconcile call."""

    def reply(messages, schema):
        if "memories" in schema["properties"]:
            value = extract() if callable(extract) else extract
        else:
            value = reconcile() if callable(reconcile) else reconcile
        if isinstance(value, BaseException):
            raise value
        return value if value is not None else {"decisions": []}

    return FakeChatModel(reply)


@pytest.fixture
def make_engine(paths, fake_embedder):
    engines = []

    def make(model=None):
        engine = Engine(paths, embedder=fake_embedder, chat_model=model)
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        engine.close()


def semantic(engine, name, summary, source):
    return engine.memories.add("semantic", {"name": name, "summary": summary}, sources=[source], actor="absorb")


def test_add_when_nothing_similar_is_stored_uses_one_call(make_engine):
    model = scripted({"memories": [{"type": "semantic", "name": "Ada", "content": "Ada is a violinist in Lisbon"}]})
    engine = make_engine(model)
    obs = chat(engine, "My sister Ada is a violinist in Lisbon.")
    report = engine.make_absorber().absorb_backlog()
    assert report.to_dict()["llm_calls"] == 1  # nothing similar stored: no reconcile call
    found = [m for m in engine.memories.list("semantic") if m.fields["name"] == "Ada"]
    assert len(found) == 1 and found[0].sources == [obs]
    history = engine.memories.history(found[0].id)
    assert history[0]["action"] == "ADD" and history[0]["actor"] == "absorb" and history[0]["reason"]


def test_update_merges_into_the_shown_memory_and_maps_the_small_id_back(make_engine):
    model = scripted(
        {"memories": [{"type": "semantic", "name": "Ada violin", "content": "Ada plays violin in the Lisbon orchestra"}]},
        {"decisions": [{"fact": 0, "action": "UPDATE", "existing": 0, "merged": "Ada plays violin in the Lisbon orchestra"}]},
    )
    engine = make_engine(model)
    old_obs = chat(engine, "Ada plays violin.", ts="2026-05-01T09:00:00")
    engine.observations.mark_absorbed([old_obs])
    existing = semantic(engine, "Ada violin", "Ada plays violin", old_obs)
    new_obs = chat(engine, "Ada now plays violin in the Lisbon orchestra.")
    report = engine.make_absorber().absorb_backlog().to_dict()
    assert report["llm_calls"] == 2 and report["updated"] == {"semantic": 1}
    reconcile_prompt = model.calls[1]["messages"][1]["content"]
    assert f"[{existing.id}]" not in reconcile_prompt.replace("[0]", "") or existing.id == 0
    assert "[0] (semantic)" in reconcile_prompt  # existing memories are shown as 0..n-1
    updated = engine.memories.get(existing.id)
    assert updated.fields["summary"] == "Ada plays violin in the Lisbon orchestra"
    assert updated.sources == [old_obs, new_obs]
    assert [h["action"] for h in engine.memories.history(existing.id)] == ["ADD", "UPDATE"]
    assert engine.memories.count("semantic") == 1


def test_delete_removes_the_contradicted_memory_and_adds_the_new_fact(make_engine):
    model = scripted(
        {"memories": [{"type": "semantic", "name": "Ada", "content": "Ada lives in Porto now"}]},
        {"decisions": [{"fact": 0, "action": "DELETE", "existing": 0}]},
    )
    engine = make_engine(model)
    old_obs = chat(engine, "Ada lives in Lisbon.", ts="2026-05-01T09:00:00")
    engine.observations.mark_absorbed([old_obs])
    old = semantic(engine, "Ada home", "Ada lives in Lisbon", old_obs)
    chat(engine, "Ada moved: she lives in Porto now.")
    report = engine.make_absorber().absorb_backlog().to_dict()
    assert report["deleted"] == {"semantic": 1}
    assert engine.memories.get_many([old.id]) == {}
    assert engine.memories.history(old.id)[-1]["action"] == "DELETE"
    assert "contradicted" in engine.memories.history(old.id)[-1]["reason"]
    assert [m.fields["summary"] for m in engine.memories.list("semantic")] == ["Ada lives in Porto now"]


def test_noop_changes_nothing(make_engine):
    model = scripted(
        {"memories": [{"type": "semantic", "name": "Ada violin", "content": "Ada plays violin"}]},
        {"decisions": [{"fact": 0, "action": "NOOP", "existing": 0}]},
    )
    engine = make_engine(model)
    old_obs = chat(engine, "Ada plays violin.", ts="2026-05-01T09:00:00")
    engine.observations.mark_absorbed([old_obs])
    old = semantic(engine, "Ada violin", "Ada plays violin", old_obs)
    chat(engine, "as i said, ada plays violin.")  # lower case: the rules name no one here, the model does
    report = engine.make_absorber().absorb_backlog().to_dict()
    assert report["llm_calls"] == 2 and "semantic" not in report["added"] and not report["updated"]
    assert engine.memories.count("semantic") == 1
    assert len(engine.memories.history(old.id)) == 1


def test_an_invented_existing_id_is_a_logged_rejection(make_engine):
    model = scripted(
        {"memories": [{"type": "semantic", "name": "Ada violin", "content": "Ada plays violin in Lisbon"}]},
        {"decisions": [{"fact": 0, "action": "UPDATE", "existing": 7, "merged": "Ada plays violin in Lisbon"}]},
    )
    engine = make_engine(model)
    old_obs = chat(engine, "Ada plays violin.", ts="2026-05-01T09:00:00")
    engine.observations.mark_absorbed([old_obs])
    old = semantic(engine, "Ada violin", "Ada plays violin", old_obs)
    chat(engine, "ada plays violin in lisbon.")  # lower case: the rules name no one here, the model does
    report = engine.make_absorber().absorb_backlog().to_dict()
    assert report["rejected"].get("reconcile") == 1
    row = engine.store.db.query_one("SELECT * FROM absorb_rejections WHERE stage = 'reconcile'")
    assert "invented id" in row["reason"] and "7" in row["reason"]
    assert engine.memories.get(old.id).fields["summary"] == "Ada plays violin"
    assert engine.memories.count("semantic") == 1


def test_grounding_rejects_names_and_numbers_not_in_the_source(make_engine):
    model = scripted({"memories": [
        {"type": "semantic", "name": "Ada", "content": "Ada moved to Berlin"},
        {"type": "semantic", "name": "Rent", "content": "The rent is 1450 euros"},
        {"type": "episodic", "name": "Concert", "content": "Ada plays a concert", "date": "2026-07-09"},
        {"type": "semantic", "name": "Ada", "content": "Ada plays violin"},
    ]})
    engine = make_engine(model)
    chat(engine, "ada plays violin and the rent is 1200 euros.")  # lower case: no rule memory about Ada
    report = engine.make_absorber().absorb_backlog().to_dict()
    assert report["rejected"]["grounding"] == 3
    reasons = [r["reason"] for r in engine.store.db.query("SELECT reason FROM absorb_rejections ORDER BY id")]
    assert any("'Berlin'" in r for r in reasons)
    assert any("1450" in r for r in reasons)
    assert any("2026-07-09" in r for r in reasons)
    assert [m.fields["summary"] for m in engine.memories.list("semantic")] == ["Ada plays violin"]


def test_garbage_model_output_is_logged_and_the_rule_part_is_kept(make_engine):
    model = scripted(ModelError("The model did not return valid JSON.", fix="Use a larger model."))
    engine = make_engine(model)
    obs = chat(engine, "Write to me at ada@example.org please.")
    report = engine.make_absorber().absorb_backlog().to_dict()
    assert report["rejected"] == {"model_output": 1}
    assert report["llm_states"] == {"failed": 1}
    assert engine.memories.count("knowledge_vault") == 1
    assert engine.observations.count(unabsorbed=True) == 0
    assert engine.store.db.scalar("SELECT count(*) FROM absorb_llm_pending") == 0  # not retried: same model, same answer
    assert engine.observations.get(obs).batch_id is not None


def test_model_unavailable_defers_the_model_pass_until_a_model_exists(paths, fake_embedder):
    engine = Engine(paths, embedder=fake_embedder, chat_model=None)
    engine._injected_chat = None
    engine.models.chat_model = no_chat_model  # no model installed at all
    chat(engine, "My email is ada@example.org and Ada plays violin.")
    report = engine.make_absorber(use_llm=True).absorb_backlog().to_dict()
    assert report["llm_states"] == {"deferred": 1} and report["llm_pending"] == 1
    assert engine.memories.count("knowledge_vault") == 1  # rules ran without a model
    assert engine.store.db.scalar("SELECT count(*) FROM absorb_llm_pending") == 1
    again = engine.make_absorber(use_llm=True).absorb_backlog().to_dict()
    assert again["batches"] == 0 and again["llm_pending"] == 1  # still waiting, nothing lost
    engine.close()

    model = scripted({"memories": [{"type": "semantic", "name": "Ada", "content": "Ada plays violin"}]})
    engine = Engine(paths, embedder=fake_embedder, chat_model=model)
    report = engine.make_absorber(use_llm=True).absorb_backlog().to_dict()
    assert report["llm_states"] == {"done": 1} and report["llm_pending"] == 0
    assert [m.fields["name"] for m in engine.memories.list("semantic")] == ["Ada"]
    engine.close()


def test_model_unavailable_error_from_the_call_also_defers(make_engine):
    engine = make_engine(scripted(ModelUnavailableError("The model file is gone.", fix="Run make setup.")))
    chat(engine, "Ada plays violin.")
    report = engine.make_absorber().absorb_backlog().to_dict()
    assert report["llm_pending"] == 1 and report["rejected"] == {}


def test_crash_in_the_store_phase_stores_nothing_and_a_rerun_does_not_duplicate(make_engine, monkeypatch):
    model = scripted(lambda: {"memories": [{"type": "semantic", "name": "Ada", "content": "Ada plays violin"}]})
    engine = make_engine(model)
    chat(engine, "My email is ada@example.org. I'm flying to Lisbon on 12 June 2026.")
    chat(engine, "Ada plays violin. See https://example.org/concert", ts="2026-05-02T10:00:30")
    original_add = engine.memories.add
    calls = {"n": 0}

    def failing_add(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("power cut")
        return original_add(*args, **kwargs)

    monkeypatch.setattr(engine.memories, "add", failing_add)
    with pytest.raises(RuntimeError):
        engine.make_absorber().absorb_backlog()
    assert engine.memories.count() == 0
    assert engine.observations.count(unabsorbed=True) == 2
    assert engine.store.db.scalar("SELECT count(*) FROM absorb_batches") == 0
    monkeypatch.setattr(engine.memories, "add", original_add)
    first = engine.make_absorber().absorb_backlog().to_dict()
    counts = engine.memories.counts()
    assert sum(counts.values()) == sum(first["added"].values()) >= 4
    assert engine.make_absorber().absorb_backlog().to_dict()["batches"] == 0
    assert engine.memories.counts() == counts


def test_a_batch_absorbed_by_another_run_is_not_stored_twice(make_engine):
    engine = make_engine(scripted({"memories": []}))
    obs = chat(engine, "My email is ada@example.org.")
    absorber = engine.make_absorber()
    batch = engine.observations.unabsorbed()
    absorber.absorb_batch(batch)
    report = absorber.absorb_batch(batch)  # the same, stale batch a second time
    assert report.batch_id is None
    assert engine.memories.count("knowledge_vault") == 1
    assert engine.observations.get(obs).absorbed_at is not None


def test_garbage_ocr_is_a_logged_rejection_and_the_queue_stays_intact(make_engine):
    model = scripted({"memories": []})
    engine = make_engine(model)
    garbage = engine.observations.add("screen", "~#@ ;;|| %%^ &&* ()_ !!! ## ~~", ts=T0, app="xterm")
    good = chat(engine, "Ada plays violin.", ts="2026-05-02T11:00:00")
    report = engine.make_absorber().absorb_backlog().to_dict()
    assert report["rejected"]["input"] == 1
    row = engine.store.db.query_one("SELECT * FROM absorb_rejections WHERE stage = 'input'")
    assert str(garbage) in row["reason"]
    assert all(str(garbage) not in str(c["messages"]) for c in model.calls)
    assert engine.observations.count(unabsorbed=True) == 0
    assert engine.observations.get(good).absorbed_at is not None


def test_activity_span_from_the_window_timeline(make_engine):
    engine = make_engine(None)
    for minute in (2, 5, 9, 14, 20, 26, 31, 37, 42, 47):
        engine.observations.add("screen", f"Budget totals row {minute} income expenses", ts=f"2026-05-02T10:{minute:02d}:00",
                                app="libreoffice-calc", window_title="budget.ods - LibreOffice Calc")
    engine.make_absorber(use_llm=False).absorb_backlog()
    spans = [m for m in engine.memories.list("episodic") if m.fields["event_type"] == "activity"]
    assert len(spans) == 1
    assert spans[0].fields["summary"] == "Edited budget.ods in LibreOffice Calc, 10:02–10:47"
    assert len(spans[0].sources) == 10
    assert engine.memories.count("resource") == 1


def test_activity_span_continues_across_batches(make_engine):
    engine = make_engine(None)
    for minute in range(0, 40, 2):  # 20 observations over 38 minutes: two screen batches of 15 minutes or less
        engine.observations.add("screen", f"Report draft paragraph {minute}", ts=f"2026-05-02T09:{minute:02d}:00",
                                app="writer", window_title="report.odt - LibreOffice Writer")
    report = engine.make_absorber(use_llm=False).absorb_backlog().to_dict()
    assert report["batches"] >= 2
    spans = [m for m in engine.memories.list("episodic") if m.fields["event_type"] == "activity"]
    assert len(spans) == 1 and spans[0].fields["summary"].endswith("09:00–09:38")


def test_core_block_is_rewritten_compactly_when_nearly_full(make_engine):
    engine = make_engine(None)
    seed = chat(engine, "I like tea.", ts="2026-05-01T09:00:00")
    engine.observations.mark_absorbed([seed])
    engine.memories.add("core", {"label": "preferences", "value": "User: I like tea.\n" * 4 + "x" * 30,
                                 "char_limit": 120}, sources=[seed], actor="absorb")
    chat(engine, "I prefer window seats.")
    engine.make_absorber(use_llm=False).absorb_backlog()
    block = engine.memories.find_core("preferences")
    assert len(block.fields["value"]) <= 0.7 * 120
    assert block.fields["value"].endswith("User: I prefer window seats.")
    assert "compactly" in engine.memories.history(block.id)[-1]["reason"]


def test_compact_core_keeps_the_fuller_line_and_the_newest():
    value, dropped = compact_core(["likes tea", "likes tea", "likes tea with milk", "old fact", "new fact"], 25)
    assert value == "old fact\nnew fact" and dropped == 3
    value, dropped = compact_core(["likes tea", "likes tea", "likes tea with milk", "old fact", "new fact"], 60)
    assert value == "likes tea with milk\nold fact\nnew fact" and dropped == 2


def test_batches_follow_conversations_and_pauses(make_engine):
    engine = make_engine(None)
    ids = [chat(engine, f"message {i}", ts=f"2026-05-02T10:{i:02d}:00") for i in range(14)]
    other = chat(engine, "another conversation", ts="2026-05-02T10:03:30", conversation="c2")
    late = chat(engine, "after a long pause", ts="2026-05-02T12:00:00")
    batches = make_batches(engine.observations.unabsorbed(), chat_size=12)
    shapes = [[o.id for o in b] for b in batches]
    assert shapes == [ids[:12], [other], ids[12:], [late]]


def test_a_model_memory_links_to_the_messages_that_say_it(make_engine):
    model = scripted({"memories": [{"type": "semantic", "name": "Ada", "content": "Ada plays violin in Lisbon"}]})
    engine = make_engine(model)
    chat(engine, "Good morning!", ts="2026-05-02T10:00:00")
    says = chat(engine, "Ada plays violin in Lisbon.", ts="2026-05-02T10:00:10")
    chat(engine, "Nice weather today.", ts="2026-05-02T10:00:20")
    engine.make_absorber().absorb_backlog()
    [memory] = engine.memories.list("semantic")
    assert memory.sources == [says]


def test_a_crashing_model_runtime_is_logged_and_does_not_wedge_the_queue(make_engine):
    engine = make_engine(scripted(RuntimeError("llama.cpp segfault stand-in")))
    chat(engine, "My email is ada@example.org.")
    report = engine.make_absorber().absorb_backlog().to_dict()
    assert report["llm_states"] == {"failed": 1} and report["rejected"] == {"model_output": 1}
    assert engine.observations.count(unabsorbed=True) == 0 and engine.memories.count("knowledge_vault") == 1


def no_chat_model():
    from core.errors import ModelUnavailableError

    raise ModelUnavailableError("No chat model is installed.", fix="Run 'engram models pull NAME'.")


@pytest.mark.parametrize("first, later, name, content", [
    ("The book club meets on Tuesday at the Lamb and Flag.", "Not Tuesday but Wednesday, sorry, I misread the email.",
     "book club", "The book club meets on Tuesday at the Lamb and Flag"),
    ("Die Chorprobe ist am Montag im Gemeindehaus.", "Nicht Montag, sondern Dienstag!",
     "Chorprobe", "Die Chorprobe ist am Montag im Gemeindehaus"),
])
def test_a_model_fact_a_later_message_of_the_batch_corrects_is_not_stored(make_engine, first, later, name, content):
    # The 135M model reads the whole batch and repeats the first statement; the correction after it wins.
    model = scripted({"memories": [{"type": "semantic", "name": name, "content": content}]})
    engine = make_engine(model)
    chat(engine, first, ts="2026-05-02T10:00:00")
    chat(engine, "Noted.", ts="2026-05-02T10:01:00", role="assistant")
    chat(engine, later, ts="2026-05-02T10:02:00")
    report = engine.make_absorber().absorb_backlog().to_dict()
    assert report["llm_calls"] >= 1
    stale = [m for m in engine.memories.list(limit=50) if m.type == "semantic" and content.split()[-1] in m.text
             and "not" not in m.text.lower() and "nicht" not in m.text.lower()]
    assert stale == []
    reasons = [r["reason"] for r in engine.store.absorb_log.rejections(limit=50)]
    assert "a later message corrects or ends it" in reasons
