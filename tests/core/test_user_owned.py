"""The user's own words and edits outrank absorb and consolidation: what the user wrote is never rewritten."""

from __future__ import annotations

import pytest

from core.consolidate.merge import merge_duplicates
from core.engine import Engine
from core.models.base import FakeChatModel
from tests.core.test_absorb_pipeline import chat, scripted


def test_a_core_block_the_user_edited_survives_absorb(paths, fake_embedder):
    with Engine(paths, embedder=fake_embedder, chat_model=None) as engine:
        seed = chat(engine, "I prefer aisle seats.", ts="2026-05-01T09:00:00")
        engine.make_absorber(use_llm=False).absorb_backlog()
        block = engine.memories.find_core("preferences")
        engine.memories.update(block.id, {"value": "Name: Sam. Prefers aisle seats, tea, no meetings before 10."},
                               actor="user", reason="edited in the app")
        chat(engine, "I prefer green tea in the morning.")
        engine.make_absorber(use_llm=False).absorb_backlog()
        kept = engine.memories.get(block.id)
        assert kept.fields["value"] == "Name: Sam. Prefers aisle seats, tea, no meetings before 10."
        assert [h["actor"] for h in engine.memories.history(block.id)] == ["absorb", "user"]
        suggestion = engine.memories.find_core("preferences (suggested)")
        assert suggestion is not None and "green tea" in suggestion.fields["value"]
        assert seed not in suggestion.sources


def test_absorb_never_rewrites_or_deletes_a_memory_the_user_wrote(paths, fake_embedder):
    for action, decision in (("UPDATE", {"fact": 0, "action": "UPDATE", "existing": 0, "merged": "Ada lives in Porto now"}),
                             ("DELETE", {"fact": 0, "action": "DELETE", "existing": 0})):
        model = scripted({"memories": [{"type": "semantic", "name": "Ada", "content": "Ada lives in Porto now"}]},
                         {"decisions": [decision]})
        with Engine(paths, embedder=fake_embedder, chat_model=model) as engine:
            mine = engine.memories.add("semantic", {"name": "Ada home", "summary": "Ada lives in Lisbon"})  # engram add
            chat(engine, "Ada moved: she lives in Porto now.", conversation=f"c-{action}")
            report = engine.make_absorber(use_llm=True).absorb_backlog().to_dict()
            assert engine.memories.get(mine.id).fields["summary"] == "Ada lives in Lisbon", action
            assert report["rejected"].get("user_owned") == 1 and not report["deleted"]
            texts = [m.fields["summary"] for m in engine.memories.list("semantic")]
            assert "Ada lives in Porto now" in texts  # the new fact is kept beside the user's
            engine.memories.delete(mine.id)
            for memory in engine.memories.list("semantic"):
                engine.memories.delete(memory.id)


def test_merging_keeps_the_users_memory_unchanged_and_never_merges_two_of_theirs(engine):
    source = engine.observations.add("chat", "Ada plays the cello", ts="2026-05-02T10:00")
    mine = engine.memories.add("semantic", {"name": "Ada", "summary": "Ada plays the cello"}, sources=[source])
    derived = engine.memories.add("semantic", {"name": "Ada", "summary": "Ada plays the cello."}, sources=[source], actor="absorb")
    report = merge_duplicates(engine.memories, threshold=0.3)
    assert report.pairs == [(mine.id, derived.id)]
    assert engine.memories.get(mine.id).fields["summary"] == "Ada plays the cello"
    twice = engine.memories.add("semantic", {"name": "Ada", "summary": "Ada plays the cello!"}, sources=[source])
    report = merge_duplicates(engine.memories, threshold=0.3)
    assert report.merged == 0 and report.refused == {"both written by the user": 1}
    assert {m.id for m in engine.memories.list("semantic")} == {mine.id, twice.id}


def pin_in_the_app(engine, memory_id):
    engine.memories.update_from_user(memory_id, {"pinned": True}, reason="pinned in the app")


def pin_without_an_edit(engine, memory_id):
    # A pin that arrives with no edit by the user in the history (as an imported memory keeps its pin): the pin
    # alone must protect it.
    engine.memories.update(memory_id, {"pinned": True}, actor="import", reason="pinned in the imported copy")


def reconcile_against(target_text, action):
    """A reconcile reply that points the model's ``action`` at the listed memory holding ``target_text``."""

    def decide(messages, schema):
        listed = messages[-1]["content"].split("EXISTING memories:", 1)[-1]
        for line in listed.splitlines():
            if target_text in line and line.startswith("["):
                index = int(line[1:line.index("]")])
                return {"decisions": [{"fact": 0, "action": action, "existing": index, "merged": "Ada lives in Porto now"}]}
        return {"decisions": [{"fact": 0, "action": "ADD"}]}

    return decide


@pytest.mark.parametrize("pin", [pin_in_the_app, pin_without_an_edit])
@pytest.mark.parametrize("action", ["UPDATE", "DELETE"])
def test_a_memory_absorb_made_and_the_user_pinned_is_left_alone_by_a_later_absorb(paths, fake_embedder, pin, action):
    extract = {"memories": [{"type": "semantic", "name": "Ada", "content": "Ada lives in Lisbon"}]}
    decide = reconcile_against("My sister Ada lives in Lisbon.", action)
    model = FakeChatModel(lambda messages, schema: extract if "memories" in schema["properties"] else decide(messages, schema))
    with Engine(paths, embedder=fake_embedder, chat_model=model) as engine:
        chat(engine, "My sister Ada lives in Lisbon.", ts="2026-05-01T09:00:00", conversation="c1")
        engine.make_absorber(use_llm=True).absorb_backlog()
        ada = engine.memories.find_semantic("Ada")
        assert ada is not None and [h["actor"] for h in engine.memories.history(ada.id)] == ["absorb"]
        pin(engine, ada.id)
        before = engine.memories.get(ada.id)

        extract = {"memories": [{"type": "semantic", "name": "Ada", "content": "Ada lives in Porto now"}]}
        chat(engine, "Ada moved to Porto, she no longer lives in Lisbon.", ts="2026-05-03T09:00:00", conversation="c2")
        report = engine.make_absorber(use_llm=True).absorb_backlog().to_dict()

        kept = engine.memories.get(ada.id)
        assert kept.fields == before.fields and kept.pinned and not kept.archived
        assert kept.updated_at == before.updated_at and kept.sources == before.sources
        assert [h["actor"] for h in engine.memories.history(ada.id)] == ["absorb", "user" if pin is pin_in_the_app else "import"]
        assert report["rejected"].get("user_owned") == 1 and not report["deleted"]
        # What absorb learned is kept beside the pinned memory, for the user to take or leave.
        others = [m for m in engine.memories.list("semantic") if m.id != ada.id]
        assert any("Porto" in m.text for m in others)
        assert engine.memories.find_semantic("Ada (suggested)") is not None
