"""engine.ask: retrieval, the evidence gate, extractive and checked generated answers, citations, chat observations;
quick recall."""

from __future__ import annotations

import re

import pytest

from core.chat import NO_MEMORY
from core.engine import Engine
from core.models.base import FakeChatModel, FakeEmbedder


def chat_engine_with(paths, reply, *, style="generated"):
    model = FakeChatModel(reply if callable(reply) else (lambda messages, schema: reply))
    engine = Engine(paths, embedder=FakeEmbedder(64), chat_model=model)
    engine.settings.set("models.answers", style)
    engine.model = model
    return engine


@pytest.fixture
def chat_engine(paths):
    engine = chat_engine_with(paths, "Ada is your sister [2].")
    engine.memories.add("core", {"label": "human", "value": "The user is Sam."})
    engine.memories.add("semantic", {"name": "Ada", "summary": "Ada is Sam's sister"})
    engine.memories.add("semantic", {"name": "Bob", "summary": "Bob is the plumber"})
    yield engine
    engine.close()


def test_a_checked_generated_answer_cites_the_memory_it_used(chat_engine):
    tokens = []
    answer = chat_engine.ask("Who is Ada?", on_token=tokens.append)
    assert "".join(tokens) == answer.text  # shown only once checked, in one piece
    assert answer.style == "generated" and answer.text.startswith("Ada is your sister")
    prompt = chat_engine.model.calls[0]["messages"][1]["content"]
    assert "Ada is Sam's sister" in prompt
    [citation] = answer.citations
    cited = chat_engine.memories.get(citation.id)
    assert cited.fields["name"] == "Ada" and cited.access_count == 1


def test_a_generated_answer_keeps_its_paragraphs_and_list_lines(paths):
    reply = "Ada is your sister [1].\n\n- She is   Sam's sister [1].  \n- Ada is Sam's sister [7].\n\n\n\nThat is all."
    engine = chat_engine_with(paths, reply)
    try:
        engine.memories.add("semantic", {"name": "Ada", "summary": "Ada is Sam's sister"})
        answer = engine.ask("Who is Ada?")
        assert answer.style == "generated"
        # [7] cites nothing and goes; the gaps it and the model left close up, the paragraphs and list lines stay.
        assert answer.text == "Ada is your sister [1].\n\n- She is Sam's sister [1].\n- Ada is Sam's sister.\n\nThat is all."
    finally:
        engine.close()


def test_a_memory_is_cited_by_what_it_says_not_by_its_raw_fields(paths):
    engine = chat_engine_with(paths, "You called Ada about the Porto trip [1].")
    try:
        engine.memories.add("episodic", {"occurred_at": "2026-05-02T10:00", "actor": "me", "event_type": "call",
                                         "summary": "Called Ada about the Porto trip",
                                         "details": "Trip planned for the second weekend of July."})
        [citation] = engine.ask("When did I call Ada about the Porto trip?").citations
        # The time is the citation's own field (the app shows it beside the label); who and what kind are not prose.
        assert citation.label == "Called Ada about the Porto trip · Trip planned for the second weekend of July."
        assert citation.time is not None and citation.time.startswith("2026-05-02")
    finally:
        engine.close()


def test_no_evidence_means_abstention_without_the_model(chat_engine):
    answer = chat_engine.ask("What is the capital of Mongolia?")
    assert answer.abstained and answer.text == NO_MEMORY and answer.citations == []
    assert chat_engine.model.calls == []


def test_a_question_about_something_never_mentioned_abstains_even_when_words_overlap(chat_engine):
    # "Ada" is known, her husband is not: the old gate answered whenever one word matched.
    answer = chat_engine.ask("What is the name of Ada's husband?")
    assert answer.abstained and chat_engine.model.calls == []
    assert "husband" in answer.note


def test_a_question_naming_someone_unknown_abstains(chat_engine):
    assert chat_engine.ask("Who is Bob's sister Clara?").abstained


def test_a_model_that_abstains_although_the_evidence_answers_is_replaced_by_quotes(paths):
    engine = chat_engine_with(paths, "I have no memory of that.")
    try:
        engine.memories.add("semantic", {"name": "Ada", "summary": "Ada likes tennis"})
        answer = engine.ask("Does Ada like tennis?")
        assert not answer.abstained and answer.style == "extractive"
        assert "Ada likes tennis" in answer.text and answer.citations
        assert "did not answer" in answer.note
    finally:
        engine.close()


def test_a_generated_answer_with_an_unsupported_number_is_replaced_by_quotes(paths):
    # The issue: "When is the Q3 draft due?" answered "Friday, 2026-12-01", a date found nowhere.
    engine = chat_engine_with(paths, "The Q3 draft is due on Friday, 1 December [1].")
    try:
        engine.observations.add_many([dict(kind="chat", role="user", conversation="c", ts="2026-09-28T08:25:00Z",
                                           text="The Q3 report draft is due on 2 October.")], embed=True)
        answer = engine.ask("When is the Q3 draft due?")
        assert answer.style == "extractive" and "1 December" not in answer.text
        assert "2 October" in answer.text and answer.citations[0].kind == "observation"
        assert "not in what it cites" in answer.note
    finally:
        engine.close()


def test_a_generated_answer_with_made_up_instructions_is_replaced_by_quotes(paths):
    engine = chat_engine_with(paths, "Run pip install django-server, then python manage.py deploy [1].")
    try:
        engine.observations.add_many([dict(kind="chat", role="user", conversation="c", ts="2026-09-28T08:15:00Z",
                                           text="To deploy the blog: git pull, then make build, then rsync public/ to the server.")],
                                     embed=True)
        answer = engine.ask("How do I deploy the blog?")
        assert "django" not in answer.text.lower() and "make build" in answer.text
    finally:
        engine.close()


def test_a_generated_answer_that_repeats_what_was_changed_is_replaced(paths):
    engine = chat_engine_with(paths, "You prefer aisle seats [1].")
    try:
        engine.observations.add_many([
            dict(kind="chat", role="user", conversation="c", ts="2026-09-28T08:10:00Z", text="I prefer aisle seats on planes."),
            dict(kind="chat", role="user", conversation="c", ts="2026-09-29T08:00:00Z",
                 text="I no longer prefer aisle seats, I want window seats now."),
        ], embed=True)
        answer = engine.ask("Which seat do I prefer on planes?")
        assert "window" in answer.text and answer.style == "extractive"
    finally:
        engine.close()


def test_models_the_catalog_rates_as_quoting_answer_by_quoting(paths):
    # The seed model's catalog entry says "answers": "extractive": its own wording is not even asked for.
    engine = Engine(paths, embedder=FakeEmbedder(64))
    model = FakeChatModel(lambda m, s: "should not be asked", name="smollm2-135m-instruct-q4_1")
    engine._injected_chat = model
    try:
        engine.memories.add("semantic", {"name": "Ada", "summary": "Ada is Sam's sister"})
        answer = engine.ask("Who is Ada?")
        assert answer.style == "extractive" and model.calls == [] and answer.model == "smollm2-135m-instruct-q4_1"
        engine.settings.set("models.answers", "generated")  # the setting overrides the catalog
        model._responses = lambda m, s: "Ada is Sam's sister [1]."
        assert engine.ask("Who is Ada?").style == "generated"
    finally:
        engine.close()


def test_each_exchange_is_kept_in_the_chat_log(chat_engine):
    answer = chat_engine.ask("Who is Ada?")
    [kept] = chat_engine.chat_history()
    assert (kept["id"], kept["question"], kept["answer"]) == (answer.chat_id, "Who is Ada?", answer.text)
    assert kept["citations"][0]["id"] == answer.citations[0].id
    chat_engine.ask("Who is Ada?", record=False)
    assert len(chat_engine.chat_history()) == 1


def test_vault_secret_never_reaches_the_model_nor_the_answer(paths):
    engine = chat_engine_with(paths, "Your bank IBAN is DE89370400440532013000 [1].")
    try:
        engine.memories.add("knowledge_vault", {"entry_type": "iban", "caption": "bank IBAN", "secret_value": "DE89370400440532013000"})
        answer = engine.ask("What is my bank IBAN?")
        assert all("DE8937040044" not in call["messages"][1]["content"] for call in engine.model.calls)
        assert "DE8937040044" not in answer.text and "0532013000" not in answer.text
        assert all("3000" not in c.label for c in answer.citations)
    finally:
        engine.close()


def test_a_vault_value_missed_by_the_detector_is_still_masked_in_answers(paths):
    engine = chat_engine_with(paths, "unused", style="extractive")
    try:
        engine.memories.add("knowledge_vault", {"entry_type": "access_code", "caption": "gym locker code",
                                                "secret_value": "3-17-29"})
        engine.observations.add_many([dict(kind="chat", role="user", conversation="c", ts="2026-11-20T07:10:00Z",
                                           text="My gym is PureFit Kingsway, the locker opens with 3-17-29.")], embed=True)
        answer = engine.ask("Which gym do I go to?")
        assert "PureFit" in answer.text and "3-17-29" not in answer.text
    finally:
        engine.close()


def test_asked_whether_a_number_is_saved_neither_answer_nor_citation_shows_it(paths):
    engine = chat_engine_with(paths, "unused", style="extractive")
    try:
        engine.observations.add_many([dict(kind="chat", role="user", conversation="c", ts="2026-05-04T07:30:00Z",
                                           text="My ADAC membership number is 183 442 907, in case the car breaks down.")],
                                     embed=True)
        answer = engine.ask("Do I have my ADAC membership number saved?")
        assert "ADAC" in answer.text and answer.citations
        assert all("183" not in text and "907" not in text for text in [answer.text] + [c.label for c in answer.citations])
    finally:
        engine.close()


def test_without_a_chat_model_the_answer_quotes_its_sources_without_placeholder_times(paths):
    engine = Engine(paths, embedder=FakeEmbedder(64))
    engine._injected_chat = None
    engine.models.chat_model = no_chat_model  # no model installed at all
    try:
        # A dated event is stored at local noon when only its day is known: that noon is not shown.
        engine.memories.add("episodic", {"occurred_at": "2026-10-14T12:00:00", "summary": "Flying to Lisbon for the partner workshop"})
        answer = engine.ask("When am I flying to Lisbon?")
        assert answer.style == "extractive" and answer.model is None
        assert "14 October 2026" in answer.text and "12:00" not in answer.text
        assert "No chat model" in answer.note and "here is what I found" not in answer.text
        assert answer.citations[0].type == "episodic"
    finally:
        engine.close()


def test_screen_evidence_is_cited_with_its_time_and_app(paths):
    engine = chat_engine_with(paths, "unused", style="extractive")
    try:
        engine.observations.add("screen", "Invoice from the plumber: 120 EUR due Friday", ts="2026-05-02T10:15:00Z",
                                app="Thunderbird", window_title="Inbox")
        answer = engine.ask("How much was the plumber invoice?")
        citation = answer.citations[0]
        assert (citation.kind, citation.type, citation.app) == ("observation", "screen", "Thunderbird")
        assert citation.time == "2026-05-02T10:15:00Z"
        assert "120 EUR" in answer.text and "Thunderbird" in answer.text
    finally:
        engine.close()


def test_a_reply_is_quoted_with_the_turn_it_answers(paths):
    engine = chat_engine_with(paths, "unused", style="extractive")
    try:
        engine.observations.add_many([
            dict(kind="chat", text="I joined the Harbour Rowing Club in Bristol.", role="user", conversation="c1",
                 ts="2026-04-04T10:00:00Z"),
            dict(kind="chat", text="Early start!", role="assistant", conversation="c1", ts="2026-04-04T10:02:00Z"),
            dict(kind="chat", text="Membership is 45 pounds a month.", role="user", conversation="c1", ts="2026-04-04T10:04:00Z"),
        ], embed=True)
        answer = engine.ask("How much is the rowing club membership?")
        assert "45 pounds" in answer.text and "Harbour Rowing Club" in answer.text
        assert len(answer.citations) == 2
    finally:
        engine.close()


def test_engrams_own_answers_are_never_evidence(paths):
    # A model that invents a time: the check refuses it, and no answer of Engram's becomes a memory or a source.
    model = FakeChatModel(["Your flight to Oslo leaves at 9:15 [1]."] * 3)
    engine = Engine(paths, embedder=FakeEmbedder(64), chat_model=model)
    engine.settings.set("models.answers", "generated")
    try:
        engine.memories.add("episodic", {"occurred_at": "2026-05-02T10:00", "summary": "Booked a flight to Oslo"})
        before = engine.observations.count()
        answer = engine.ask("When does my flight to Oslo leave?")
        assert "9:15" not in answer.text and answer.chat_id is not None
        # The question is the user's own words and kept as such; the answer is not an observation.
        assert engine.observations.count() == before + 1
        [asked] = engine.observations.unabsorbed()
        assert (asked.role, asked.text) == ("user", "When does my flight to Oslo leave?")
        engine.make_absorber(use_llm=False).absorb_backlog()
        assert not [m for m in engine.memories.list(limit=100) if "9:15" in m.text]
        again = engine.ask("When does my flight to Oslo leave?")
        assert all("9:15" not in c.label for c in again.citations)
        # A question once asked of Engram answers nothing, not even itself.
        assert all("When does my flight" not in c.label for c in again.citations)
        history = engine.chat_history()
        assert [h["question"] for h in history] == ["When does my flight to Oslo leave?"] * 2
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


# -- the issue's eight-message chat, with a scripted model that makes the issue's mistakes ---------------------------

EIGHT_MESSAGES = [
    ("2026-09-28T08:00:00Z", "My new work e-mail is dana.kovacs@lumen-analytics.com."),
    ("2026-09-28T08:05:00Z", "I'm flying to Lisbon on 14 October for the partner workshop, back on the 17th."),
    ("2026-09-28T08:10:00Z", "I prefer aisle seats on planes."),
    ("2026-09-28T08:15:00Z", "To deploy the blog: git pull, then make build, then rsync public/ to the server."),
    ("2026-09-28T08:20:00Z", "My sister Mira is allergic to peanuts, so no satay at her birthday."),
    ("2026-09-28T08:25:00Z", "The Q3 report draft is due on 2 October, it's at ~/work/reports/q3-draft.odt."),
    ("2026-09-28T08:30:00Z", "We moved! New address: Rua das Flores 112, 4050-265 Porto."),
    ("2026-09-29T08:00:00Z", "I no longer prefer aisle seats, I want window seats now."),
]
# (question, what a correct answer holds, what it must not hold, what the scripted model says: the issue's answers)
EIGHT_QUESTIONS = [
    ("How do I deploy the blog?", ["make build"], ["django"], "Install it with pip install django-server [1]."),
    ("When is the Q3 draft due?", ["2 October"], ["2026-12-01", "December"], "It is due Friday, 2026-12-01 [1]."),
    ("Where do I live now?", ["Porto"], [], "I have no memory of that."),
    ("What is my work e-mail?", ["dana.kovacs@lumen-analytics.com"], ["aisle"], "I prefer aisle seats [1]."),
    ("Which seat do I prefer on planes?", ["window"], [], "You prefer aisle seats [1]."),
    ("What is my sister allergic to?", ["peanuts"], [], "Your sister is allergic to shellfish [1]."),
]


def source_numbers():
    text = " ".join(t for _, t in EIGHT_MESSAGES) + " " + " ".join(ts for ts, _ in EIGHT_MESSAGES)
    return {str(int(n)) for n in re.findall(r"\d+", text)}


@pytest.mark.parametrize("style", ["generated", "extractive"])
def test_the_issues_eight_message_chat_is_answered_from_its_sources(paths, style):
    scripted = {q: reply for q, _, _, reply in EIGHT_QUESTIONS}

    def reply(messages, schema):
        question = messages[-1]["content"].rsplit("Question: ", 1)[-1].strip()
        return scripted[question]

    engine = chat_engine_with(paths, reply, style=style)
    try:
        engine.observations.add_many([dict(kind="chat", role="user", conversation="everything", ts=ts, text=text)
                                      for ts, text in EIGHT_MESSAGES], embed=True)
        known = source_numbers()
        for question, wanted, unwanted, _ in EIGHT_QUESTIONS:
            answer = engine.ask(question, record=False)
            assert not answer.abstained, question
            for term in wanted:
                assert term.lower() in answer.text.lower(), (question, answer.text)
            for term in unwanted:
                assert term.lower() not in answer.text.lower(), (question, answer.text)
            shown = {str(int(n)) for n in re.findall(r"\d+", re.sub(r"\[\d+\]", " ", answer.text))}
            assert shown <= known, (question, answer.text)
            assert answer.citations, question
        # Something the chat never mentioned is not answered, however many of its words appear.
        assert engine.ask("Which airline am I flying with to Lisbon?", record=False).abstained
        assert engine.ask("What is my sister's phone number?", record=False).abstained
    finally:
        engine.close()


def test_a_conversation_summary_gives_its_messages_as_evidence_not_its_topic_list(paths):
    engine = chat_engine_with(paths, "unused", style="extractive")
    try:
        ids = engine.observations.add_many([
            dict(kind="chat", text="Bea from accounting is helping me with the tax return this year.", role="user",
                 conversation="c1", ts="2026-03-01T10:00:00Z"),
            dict(kind="chat", text="Can you remind me what the deadline is?", role="user", conversation="c1",
                 ts="2026-03-01T10:02:00Z"),
        ], embed=True)
        engine.memories.add("episodic", {"occurred_at": "2026-03-01T10:00:00Z", "event_type": "conversation",
                                         "actor": "User and Assistant",
                                         "summary": "User and Assistant talked about: Bea, accounting, tax return"},
                            sources=ids, actor="absorb")
        items = engine.assistant.gather("Who is helping me with my tax return?")
        assert not [i for i in items if i.kind == "memory"]  # the topic list states nothing
        assert ids[0] in [i.id for i in items if i.kind == "observation"]
        answer = engine.ask("Who is helping me with my tax return?")
        assert "Bea" in answer.text and "talked about" not in answer.text
        # Topics of a chat that only asked are no answer: the gate finds no statement and abstains.
        asked = engine.ask("When is the tax deadline?")
        assert asked.abstained and asked.text == NO_MEMORY
    finally:
        engine.close()


def test_a_message_given_for_a_conversation_summary_keeps_the_turn_before_it(paths, monkeypatch):
    # Only the summary is retrieved: the short reply it cites must still take its subject from the turn before it.
    engine = chat_engine_with(paths, "unused", style="extractive")
    try:
        ids = engine.observations.add_many([
            dict(kind="chat", text="I signed up at the Lakeside Climbing Gym near the station.", role="user",
                 conversation="c2", ts="2026-05-03T18:00:00Z"),
            dict(kind="chat", text="Nice, enjoy!", role="assistant", conversation="c2", ts="2026-05-03T18:01:00Z"),
            dict(kind="chat", text="It's 38 euros a month.", role="user", conversation="c2", ts="2026-05-03T18:02:00Z"),
        ], embed=True)
        engine.memories.add("episodic", {"occurred_at": "2026-05-03T18:00:00Z", "event_type": "conversation",
                                         "actor": "User and Assistant",
                                         "summary": "User and Assistant talked about: Lakeside Climbing Gym, station"},
                            sources=ids, actor="absorb")
        retrieve = engine.assistant.recall.retrieve

        def summaries_only(question, **kwargs):
            result = retrieve(question, **kwargs)
            result.hits = [h for h in result.hits if h.source == "memory"]
            return result

        monkeypatch.setattr(engine.assistant.recall, "retrieve", summaries_only)
        answer = engine.ask("How much does the climbing gym cost?", record=False)
        assert not answer.abstained and "38 euros" in answer.text
    finally:
        engine.close()


@pytest.mark.parametrize("address, town", [("7 Quayside Lane, YO21 3PP Whitby", "Whitby"), ("7 Quayside Lane", None)])
def test_where_the_user_lives_is_answered_with_the_town_of_a_vault_address_never_its_street(paths, address, town):
    engine = chat_engine_with(paths, "unused", style="extractive")
    try:
        engine.memories.add("knowledge_vault", {"entry_type": "address", "caption": "address", "secret_value": address})
        engine.observations.add_many([dict(kind="chat", role="user", conversation="c", ts="2026-08-02T09:00:00Z",
                                           text=f"Keys collected! New address: {address}.")], embed=True)
        answer = engine.ask("Where do I live now?", record=False)
        shown = [answer.text] + [c.label for c in answer.citations]
        assert not answer.abstained
        assert all("Quayside" not in text and "3PP" not in text for text in shown), shown
        assert not re.search("•[^•\\W]", answer.text)  # not even a mask's last characters
        if town:
            assert town in answer.text
        else:  # nothing of the quote answers once the street is masked: the answer says the vault holds it
            assert answer.text.startswith("In your vault")
    finally:
        engine.close()


def test_asked_for_a_phone_number_the_answer_points_at_its_vault_entry_and_never_shows_it(paths):
    from core.secrets import shield_observation

    engine = chat_engine_with(paths, "unused", style="extractive")
    try:
        engine.observations.add_many([shield_observation(
            dict(kind="chat", role="user", conversation="c", ts="2026-03-02T18:00:00Z",
                 text="Our piano teacher is Ines Duarte, her mobile is +44 7700 900461. Lessons are on Wednesdays."),
            keep_values=True)], embed=True)
        engine.make_absorber(use_llm=False).absorb_backlog()
        [entry] = engine.memories.list("knowledge_vault")
        answer = engine.ask("What is the piano teacher's phone number?")
        shown = [answer.text] + [c.label for c in answer.citations]
        assert all("7700" not in text and "900461" not in text for text in shown)
        assert "In your vault: phone number of Ines Duarte" in answer.text and "--reveal" in answer.text
        assert [c.id for c in answer.citations if c.type == "knowledge_vault"] == [entry.id]
        # Asked something else of the same message, the answer does not point at the vault.
        assert "vault" not in engine.ask("When are the piano lessons?").text
    finally:
        engine.close()
