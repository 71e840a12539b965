"""Everyday facts and steps in Italian, Dutch, Polish, Swedish, Turkish (and romanised Japanese and Hindi);
run-on dictation, named diets, job offers; relations named in requests; short replies about someone."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.absorb import facts
from core.store.observations import Observation

T = "2026-05-02T10:00:00"


def obs(id, text, *, role="user", ts=T, conversation="c"):
    return Observation(id=id, kind="chat", ts=datetime.fromisoformat(ts).timestamp(), text=text, role=role, app=None,
                       window_title=None, url=None, conversation=conversation, meta={})


def families(text):
    found = set()
    for statement in facts.statements([obs(1, text)]):
        for index, clause in enumerate(statement.clauses):
            found |= set(facts.families_of(clause, first=index == 0, ts=statement.obs.ts))
    return found


@pytest.mark.parametrize("sentence, family", [
    ("Mi chiamo Lucia Ferri.", "identity"),
    ("Lavoro come infermiera all'ospedale San Paolo.", "work"),
    ("Abito a Bologna da tre anni.", "home"),
    ("Sono celiaca, niente pane normale.", "health"),
    ("Ik heet Joris de Boer.", "identity"),
    ("Ik werk als docent op een middelbare school.", "work"),
    ("Wij wonen in Utrecht, vlak bij het station.", "home"),
    ("Ik heb diabetes type 1.", "health"),
    ("Nazywam się Piotr Nowak.", "identity"),
    ("Pracuję w szpitalu jako pielęgniarz.", "work"),
    ("Mieszkam we Wrocławiu od zeszłego roku.", "home"),
    ("Jestem uczulona na orzechy.", "health"),
    ("Jag heter Linnea Holm.", "identity"),
    ("Jag jobbar som lärare i Uppsala.", "work"),
    ("Jag bor i Malmö med min sambo.", "home"),
    ("Jag är allergisk mot jordnötter.", "health"),
    ("Benim adım Mehmet Yılmaz.", "identity"),
    ("Ankara'da öğretmen olarak çalışıyorum.", "work"),
    ("Bursa'da yaşıyorum.", "home"),
    ("Fıstık alerjim var.", "health"),
    ("Watashi wa Sato Yumi desu.", "identity"),
    ("Tokyo no ginkou de hataraite imasu.", "work"),
    ("Mera naam Arjun hai.", "identity"),
    ("main Pune mein rehta hoon", "home"),
    ("Und wohne seit März in Leipzig.", "home"),
])
def test_everyday_first_person_facts_in_more_languages(sentence, family):
    assert family in families(sentence)


@pytest.mark.parametrize("sentence", [
    "Il treno per Bologna parte alle otto.",
    "Het station van Utrecht is groot.",
    "Jag tycker om kaffe.",
    "Sono le tre.",
])
def test_sentences_that_state_no_fact_about_the_user_stay_unmatched(sentence):
    assert not families(sentence) & {"identity", "work", "home", "health"}


@pytest.mark.parametrize("sentence, family", [
    ("ok the nurse said it's asthma so I need the inhaler and I should come back in a month", "health"),
    ("I take lisinopril every morning", "health"),
    ("I'm doing intermittent fasting since January", "health"),
    ("I gave up dieting, life is too short", "health"),
    ("Accepted the position at Northwind Traders today", "work"),
])
def test_health_diet_and_job_news_said_without_the_usual_verbs(sentence, family):
    assert family in families(sentence)


def test_an_ended_diet_replaces_the_diet_in_the_same_family():
    items = [obs(1, "I'm on paleo for the next few weeks"), obs(2, "I stopped paleo, too expensive", ts="2026-05-20T10:00:00")]
    lines = [(c.fields["label"], c.meta["kind"]) for c in facts.core_facts(facts.statements(items))]
    assert lines == [("health", None), ("health", "end")]


def test_a_german_move_in_a_second_clause_is_a_home_fact():
    items = [obs(1, "Ich arbeite seit Mai als Köchin und wohne jetzt in Rostock.")]
    labels = {c.fields["label"] for c in facts.core_facts(facts.statements(items))}
    assert {"work", "home"} <= labels


@pytest.mark.parametrize("text, relation, name", [
    ("Min bror Henrik flyttar till Oslo i juni.", "bror", "Henrik"),
    ("Kız kardeşim Elif Ankara'da okuyor.", "kız kardeşim", "Elif"),
    ("La mia amica Chiara fa la veterinaria.", "amica", "Chiara"),
    ("Moja koleżanka Ania pracuje w banku.", "koleżanka", "Ania"),
])
def test_relations_and_names_in_more_languages(text, relation, name):
    found = {c.fields["name"]: c for c in facts.entity_facts(facts.statements([obs(1, text)]))}
    assert name in found and found[name].meta["relation"] == relation


def test_a_relation_named_inside_a_request_is_a_fact_and_the_request_is_not():
    items = [obs(1, "Could you draft a thank-you card for my neighbour Mr Okafor who watered the plants?")]
    found = {c.fields["name"]: c for c in facts.entity_facts(facts.statements(items))}
    assert found["Mr Okafor"].meta["relation"] == "neighbour"
    assert found["Mr Okafor"].meta["lines"] == ["my neighbour Mr Okafor."]
    assert not facts.core_facts(facts.statements(items))


def test_short_replies_to_questions_about_someone_are_about_that_person():
    items = [
        obs(1, "Let's plan the trip. What's your brother's name?", role="assistant"),
        obs(2, "Tomasz", ts="2026-05-02T10:00:30"),
        obs(3, "What does Tomasz do for a living?", role="assistant", ts="2026-05-02T10:00:40"),
        obs(4, "electrician, self-employed in Gdańsk", ts="2026-05-02T10:01:00"),
    ]
    statements = facts.statements(items)
    assert not facts.core_facts(statements)  # not the user's job
    found = {c.fields["name"]: c for c in facts.entity_facts(statements)}
    assert found["Tomasz"].meta["relation"] == "brother"
    assert "Tomasz: electrician, self-employed in Gdańsk." in found["Tomasz"].meta["lines"]


def test_a_reply_in_the_first_person_or_a_long_one_stays_the_users():
    items = [
        obs(1, "What does Tomasz do?", role="assistant"),
        obs(2, "I'm a plumber at Rurex, he's an electrician", ts="2026-05-02T10:00:30"),
    ]
    statements = facts.statements(items)
    assert all(s.about is None for s in statements)
    assert "work" in {c.fields["label"] for c in facts.core_facts(statements)}


def test_dictated_run_on_speech_is_cut_where_a_new_first_person_statement_starts():
    from core.absorb import text as tx
    said = ("right so for the record my name is Oona Lehtinen I teach maths at the Kallio school in Helsinki "
            "and I'm vegetarian oh and my brother Mikko lives in Turku")
    assert tx.clauses(said) == ["right so for the record my name is Oona Lehtinen",
                                "I teach maths at the Kallio school in Helsinki", "and I'm vegetarian",
                                "oh and my brother Mikko lives in Turku"]
    lines = {c.fields["label"]: c.fields["value"] for c in facts.core_facts(facts.statements([obs(1, said)]))}
    assert lines["work"] == "User: I teach maths at the Kallio school in Helsinki."
    assert "Oona" not in lines["health"]


def test_a_short_or_punctuated_sentence_is_not_cut_at_and():
    from core.absorb import text as tx
    assert tx.clauses("My sister and I run a bakery in Leeds and I love it") == \
        ["My sister and I run a bakery in Leeds and I love it"]
