"""engine.ask: retrieval, citations, abstention, streaming and chat observations; quick recall."""

from __future__ import annotations

import pytest

from core.chat import NO_MEMORY
from core.engine import Engine
from core.models.base import FakeChatModel, FakeEmbedder


@pytest.fixture
def chat_engine(paths):
    model = FakeChatModel(lambda messages, schema: "Ada is your sister [2].")
    engine = Engine(paths, embedder=FakeEmbedder(64), chat_model=model)
    engine.memories.add("core", {"label": "human", "value": "The user is Sam."})
    engine.memories.add("semantic", {"name": "Ada", "summary": "Ada is Sam's sister"})
    engine.memories.add("semantic", {"name": "Bob", "summary": "Bob is the plumber"})
    engine.model = model
    yield engine
    engine.close()


def test_answer_cites_the_memory_it_used(chat_engine):
    tokens = []
    answer = chat_engine.ask("Who is Ada?", on_token=tokens.append)
    assert "".join(tokens).strip() == answer.text == "Ada is your sister [2]."
    assert not answer.abstained
    prompt = chat_engine.model.calls[0]["messages"][1]["content"]
    assert "[1] (core) human | The user is Sam." in prompt  # core memory always in context
    assert "[2]" in prompt and "Ada is Sam's sister" in prompt
    assert [(c.n, c.type) for c in answer.citations] == [(2, "semantic")]
    cited = chat_engine.memories.get(answer.citations[0].id)
    assert cited.fields["name"] == "Ada" and cited.access_count == 1


def test_no_evidence_means_abstention_without_the_model(chat_engine):
    answer = chat_engine.ask("What is the capital of Mongolia?")
    assert answer.abstained and answer.text == NO_MEMORY and answer.citations == []
    assert chat_engine.model.calls == []


def test_model_abstaining_gives_no_citations(paths):
    model = FakeChatModel(lambda m, s: "I have no memory of that.")
    engine = Engine(paths, embedder=FakeEmbedder(64), chat_model=model)
    try:
        engine.memories.add("semantic", {"name": "Ada", "summary": "Ada likes tennis"})
        answer = engine.ask("Does Ada like tennis or golf?")
        assert answer.abstained and answer.citations == []
    finally:
        engine.close()


def test_each_exchange_is_kept_in_the_chat_log(chat_engine):
    answer = chat_engine.ask("Who is Ada?")
    [kept] = chat_engine.chat_history()
    assert (kept["id"], kept["question"], kept["answer"]) == (answer.chat_id, "Who is Ada?", answer.text)
    assert kept["citations"][0]["id"] == answer.citations[0].id
    chat_engine.ask("Who is Ada?", record=False)
    assert len(chat_engine.chat_history()) == 1


def test_vault_secret_never_reaches_the_model(paths):
    model = FakeChatModel(lambda m, s: "Your IBAN ends in 3000 [1].")
    engine = Engine(paths, embedder=FakeEmbedder(64), chat_model=model)
    try:
        engine.memories.add("knowledge_vault", {"entry_type": "iban", "caption": "bank IBAN", "secret_value": "DE89370400440532013000"})
        engine.ask("What is my bank IBAN?")
        assert "DE8937040044" not in model.calls[0]["messages"][1]["content"]
    finally:
        engine.close()


def test_model_unavailable_lists_evidence(paths):
    engine = Engine(paths, embedder=FakeEmbedder(64))
    engine._injected_chat = None
    engine.models.chat_model = no_chat_model  # no model installed at all
    try:
        engine.memories.add("semantic", {"name": "Ada", "summary": "Ada is Sam's sister"})
        answer = engine.ask("Who is Ada?")
        assert "No chat model" in answer.text and answer.citations[0].type == "semantic"
    finally:
        engine.close()


def test_quick_recall_prefix_across_types_and_observations(chat_engine):
    chat_engine.observations.add("screen", "Invoice from the plumber, 120 EUR", app="Firefox", window_title="Mail")
    items = chat_engine.quick_recall("plum")
    kinds = {(i["kind"], i["type"]) for i in items}
    assert ("memory", "semantic") in kinds and ("observation", "observation") in kinds
    assert items[0]["kind"] == "memory"
    assert chat_engine.quick_recall("") == []
    assert chat_engine.quick_recall("zzzznothing") == []


def test_quick_recall_masks_vault_values(chat_engine):
    chat_engine.memories.add("knowledge_vault", {"entry_type": "password", "caption": "router password", "secret_value": "hunter2-very-secret"})
    item = chat_engine.quick_recall("router")[0]
    assert "hunter2" not in item["snippet"] and item["snippet"].endswith(": ••••••••et")


@pytest.mark.parametrize("typed", ["atl", "atla", "atlas", "Atlas ", "project atl", "budgets", "budg"])
def test_quick_recall_finds_words_typed_in_full_or_in_part(chat_engine, typed):
    chat_engine.memories.add("semantic", {"name": "Project Atlas", "summary": "Atlas redesigns the booking flow; budgets approved"})
    titles = [item["title"] for item in chat_engine.quick_recall(typed)]
    assert "Project Atlas" in titles


def test_quick_recall_expands_long_prefixes_to_frequent_completions(chat_engine):
    for word in ("generalization", "generalize", "generative", "generator"):
        chat_engine.memories.add("semantic", {"name": word, "summary": f"notes about {word}"})
    titles = {item["title"] for item in chat_engine.quick_recall("genera")}
    assert titles == {"generalization", "generalize", "generative", "generator"}


def test_screen_evidence_is_cited_with_its_time_and_app(paths):
    model = FakeChatModel(lambda m, s: "You paid the plumber 120 EUR [1].")
    engine = Engine(paths, embedder=FakeEmbedder(64), chat_model=model)
    try:
        engine.observations.add("screen", "Invoice from the plumber: 120 EUR due Friday", ts="2026-05-02T10:15:00Z",
                                app="Thunderbird", window_title="Inbox")
        answer = engine.ask("How much was the plumber invoice?")
        citation = answer.citations[0]
        assert (citation.kind, citation.type, citation.app) == ("observation", "screen", "Thunderbird")
        assert citation.time == "2026-05-02T10:15:00Z"
        assert "Thunderbird" in model.calls[0]["messages"][1]["content"]
    finally:
        engine.close()


def test_chat_turns_bring_their_neighbours_into_context(paths):
    model = FakeChatModel(lambda m, s: "Lisbon [1].")
    engine = Engine(paths, embedder=FakeEmbedder(64), chat_model=model)
    try:
        engine.observations.add_many([
            dict(kind="chat", text="Where did you move last spring?", role="Ana", conversation="c1", ts=1000.0),
            dict(kind="chat", text="To Lisbon, near the river.", role="Ben", conversation="c1", ts=1001.0),
        ], embed=True)
        engine.ask("Where did Ben move last spring?")
        prompt = model.calls[0]["messages"][1]["content"]
        assert "Lisbon" in prompt and "Where did you move last spring?" in prompt
    finally:
        engine.close()


def test_time_budget_interrupts_a_long_query(engine):
    from core.store.search import QueryTimeout, time_budget

    with pytest.raises(QueryTimeout):
        with engine.store.db.lock, time_budget(engine.store.db, 1):
            engine.store.db.conn.execute(
                "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 50000000) SELECT count(*) FROM n"
            ).fetchone()
    assert engine.store.db.scalar("SELECT 1") == 1  # the connection is usable afterwards


def test_quick_recall_falls_back_to_newest_matches_past_its_budget(chat_engine, monkeypatch):
    from core.store.search import QueryTimeout, TypedSearch

    def too_slow(*args, **kwargs):
        raise QueryTimeout("interrupted")

    monkeypatch.setattr(TypedSearch, "best_recent", too_slow)
    chat_engine.memories.add("semantic", {"name": "Plumber invoice", "summary": "the plumber charged 120 EUR"})
    titles = [item["title"] for item in chat_engine.quick_recall("plumber")]
    assert "Plumber invoice" in titles and "Bob" in titles


def test_quick_recall_with_its_budget_spent_still_tries_the_cheapest_query(chat_engine, monkeypatch):
    import core.recall.quick as quick

    monkeypatch.setattr(quick, "QUICK_BUDGET_MS", 0.0)
    titles = [item["title"] for item in chat_engine.quick_recall("plumber")]
    assert "Bob" in titles  # the cheapest answer still comes


def no_chat_model():
    from core.errors import ModelUnavailableError

    raise ModelUnavailableError("No chat model is installed.", fix="Run 'engram models pull NAME'.")


def test_engrams_own_answers_are_never_evidence(paths):
    # A model that invents a time: the answer is shown, kept in the chat log, and never becomes a memory or a source.
    model = FakeChatModel(["Your flight to Oslo leaves at 9:15 [1]."] * 3)
    engine = Engine(paths, embedder=FakeEmbedder(64), chat_model=model)
    try:
        engine.memories.add("episodic", {"occurred_at": "2026-05-02T10:00", "summary": "Booked a flight to Oslo"})
        before = engine.observations.count()
        answer = engine.ask("When does my flight to Oslo leave?")
        assert "9:15" in answer.text and answer.chat_id is not None
        # The question is the user's own words and kept as such; the answer is not an observation.
        assert engine.observations.count() == before + 1
        [asked] = engine.observations.unabsorbed()
        assert (asked.role, asked.text) == ("user", "When does my flight to Oslo leave?")
        engine.make_absorber(use_llm=False).absorb_backlog()
        assert not [m for m in engine.memories.list(limit=100) if "9:15" in m.text]
        again = engine.ask("When does my flight to Oslo leave?")
        assert all("9:15" not in c.label for c in again.citations)
        history = engine.chat_history()
        assert [h["question"] for h in history] == ["When does my flight to Oslo leave?"] * 2
        assert history[0]["answer"].startswith("Your flight") and history[0]["citations"]
    finally:
        engine.close()
