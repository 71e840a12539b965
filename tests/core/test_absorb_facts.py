"""Facts the user states, by rule: core memory by fact family and semantic memories about people and things."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.absorb import facts
from core.store.observations import Observation

T = "2026-05-02T10:00:00"


def obs(id, text, *, role="user", speaker=None, ts=T, conversation="c"):
    return Observation(id=id, kind="chat", ts=datetime.fromisoformat(ts).timestamp(), text=text, role=role, app=None,
                       window_title=None, url=None, conversation=conversation, meta={"speaker": speaker} if speaker else {})


def core_lines(*texts, role="user"):
    items = [obs(i + 1, t, role=role) for i, t in enumerate(texts)]
    return {(c.fields["label"], c.fields["value"]) for c in facts.core_facts(facts.statements(items))}


def entities(*texts, is_known=lambda name: False):
    items = [obs(i + 1, t) for i, t in enumerate(texts)]
    return {c.fields["name"]: c for c in facts.entity_facts(facts.statements(items), is_known)}


@pytest.mark.parametrize("sentence, family", [
    ("I'm Ingrid Berg, I grew up in Tromsø.", "identity"),
    ("Call me Pip, everyone does.", "identity"),
    ("Je m'appelle Hugo Martin.", "identity"),
    ("Me llamo Inés y soy de Cádiz.", "identity"),
    ("Ich heiße Lars Petersen.", "identity"),
    ("I'm a paramedic at the Royal Infirmary.", "work"),
    ("I work for a small NGO in Nairobi as a data analyst.", "work"),
    ("Ich arbeite als Krankenpfleger im Klinikum Nord.", "work"),
    ("Trabajo como profesora de inglés en un instituto.", "work"),
    ("Trabalho numa padaria em Aveiro.", "work"),
    ("I run a small pottery studio in Leith.", "work"),
    ("We live in Utrecht, close to the station.", "home"),
    ("J'habite à Nantes depuis deux ans.", "home"),
    ("Vivo en Bilbao con mi pareja.", "home"),
    ("Wir wohnen jetzt in Freiburg.", "home"),
    ("I'm allergic to latex and to bee stings.", "health"),
    ("I have type 2 diabetes.", "health"),
    ("Ich habe Heuschnupfen-Asthma.", "health"),
    ("Soy alérgica al polen.", "health"),
    ("Je suis végétarienne.", "health"),
    ("I'm on 5mg of ramipril every morning.", "health"),
    ("I can't eat gluten.", "health"),
    ("I prefer the window seat on long flights.", "preferences"),
    ("My favourite band is Khruangbin.", "preferences"),
    ("I always cycle to work, rain or shine.", "preferences"),
    ("Not a big fan of horror films.", "preferences"),
    ("Je préfère le vin rouge.", "preferences"),
    ("Me encantan las novelas negras.", "preferences"),
    ("Am liebsten esse ich Linsensuppe.", "preferences"),
    ("My shoe size is 44.", "personal"),
    ("I go by Kit, not Katherine.", "identity"),
    ("I just started as a nurse at St Luke's.", "work"),
    ("Estou a trabalhar na Sonae.", "work"),
    ("Ich bin letztes Jahr nach Leipzig gezogen.", "home"),
    ("We're renting a house in Ostend.", "home"),
    ("I've got Crohn's disease.", "health"),
    ("No meat for me, thanks.", "health"),
    ("I'm really into birdwatching.", "preferences"),
    ("I've switched from Spotify to Tidal.", "preferences"),
])
def test_a_statement_goes_to_its_fact_family(sentence, family):
    lines = core_lines(sentence)
    assert (family, f"User: {sentence}") in lines, lines


@pytest.mark.parametrize("sentence", [
    "If I ever move to Spain I'd learn flamenco.",
    "Maybe I'll get a dog next year.",
    "Do I have a dentist appointment this week?",
    "Can you recommend a novel?",
    "It would be nice to live by the sea.",
    "Wenn ich gewinne, kaufe ich ein Boot.",
    "Quizás me mude a Chile.",
    "My sister Ada is allergic to peanuts.",  # about Ada, not the user
    "It renews every March.",
    "My work phone is +44 7700 900456.",  # a value for the vault, not a core line
])
def test_what_is_not_a_fact_about_the_user_makes_no_core_line(sentence):
    assert core_lines(sentence) == set()


def test_what_others_say_makes_no_core_line():
    assert core_lines("I'm a lawyer in Lyon and I love jazz.", role="assistant") == set()


def test_a_sentence_of_two_families_gives_each_its_clauses():
    lines = core_lines("I'm Farah, I work as a midwife in Leeds.")
    assert ("identity", "User: I'm Farah.") in lines and ("work", "User: I work as a midwife in Leeds.") in lines


@pytest.mark.parametrize("sentence, name, words", [
    ("My uncle Bram fixes boats in Zeeland.", "Bram", ["uncle", "zeeland"]),
    ("Mein Onkel Heinz wohnt in Linz.", "Heinz", ["onkel", "linz"]),
    ("A minha tia, Graça, vive em Faro.", "Graça", ["tia", "faro"]),
    ("Notre voisine Madame Petit arrose nos plantes.", "Madame Petit", ["voisine"]),
    ("Our dentist is Dr. Okafor on Queen Street.", "Dr. Okafor", ["dentist"]),
    ("Lena is my oldest friend, we met in Graz.", "Lena", ["friend", "graz"]),
    ("Mi jefe se llama Rubén y vive en Getafe.", "Rubén", ["jefe", "getafe"]),
    ("Tariq from finance is vegan.", "Tariq", ["vegan"]),
    ("Kemal handles the invoices and Dana the payroll.", "Kemal", ["invoices", "dana"]),
    ("We adopted a cat named Tofu last spring.", "Tofu", ["cat"]),
    ("My husband's name is Jun, he's a chef.", "Jun", ["husband", "chef"]),
    ("Omar builds the backend with Rust.", "Omar", ["backend"]),
])
def test_people_and_things_the_user_names(sentence, name, words):
    found = entities(sentence)
    assert name in found, found.keys()
    text = " ".join(str(v) for v in found[name].fields.values()).lower()
    assert all(w in text for w in words), text


def test_a_pronoun_continues_the_person_and_a_definition_is_the_topic():
    found = entities("My niece Ayla is 9. She loves horses.", "Project Lumen is our new app. Omar builds the backend.")
    assert "She loves horses." in found["Ayla"].fields["details"]
    assert "Omar builds the backend." in found["Project Lumen"].fields["details"]
    assert found["Omar"].fields["details"] == "Project Lumen: Omar builds the backend."


def test_their_relations_are_not_the_users():
    found = entities("Her husband Carlos is a pilot.")
    assert found["Carlos"].fields["summary"] == "Carlos"


@pytest.mark.parametrize("sentence", [
    "Wow, that's great!", "Thankfully, my son is fine.", "Volunteering is a great way to meet people.",
    "Pottery is a huge part of my life.", "I'm here for you.", "Membership is 40 euros.",
])
def test_capitals_at_a_sentence_start_are_not_names(sentence):
    assert entities(sentence) == {} or set(entities(sentence)) <= {"son"}


def test_a_known_name_mentioned_again_gets_the_line():
    found = entities("Yusra's birthday is on 9 June.", is_known=lambda name: name == "Yusra")
    assert "Yusra" in found


def test_the_users_own_name_is_no_entity():
    assert "Tomás" not in entities("I'm Tomás Ruiz, and Tomás is a busy man.")


def test_named_speakers_get_profiles_and_turn_memories_not_core():
    items = [obs(1, "I love baking sourdough bread on Sundays, the slow kneading calms me down after a long stressful week.",
                 speaker="Noor"),
             obs(2, "We went camping at Loch Lomond with the kids last month, swimming and hiking every single day.",
                 speaker="Noor"),
             obs(3, "Wow, that's great!", speaker="Noor")]
    statements = facts.statements(items)
    assert facts.core_facts(statements) == []
    names = [c.fields["name"] for c in facts.speaker_facts(statements)]
    assert "Noor: preferences" in names and "Noor: activities" in names and names.count("Noor") == 2


def test_a_turn_memory_keeps_what_its_speaker_states_with_the_day_and_the_question_it_answers():
    said = "It was Matt Patterson on the open-air stage by the river, he is so talented! His voice and guitar solos were stunning."
    items = [obs(1, "Sounds wonderful! Which band played the concert?", speaker="Caroline", ts="2023-07-03T10:04:00"),
             obs(2, f"Thanks, Caroline! {said}", speaker="Melanie", ts="2023-07-03T10:05:00"),
             obs(3, "You'd be a great counselor! Your empathy and patience will really help the young people you work with "
                    "at the community centre downtown.", speaker="Melanie", ts="2023-07-03T10:06:00")]
    turns = [c for c in facts.speaker_facts(facts.statements(items), items) if c.key[0] == "said"]
    assert len(turns) == 1  # praise of the listener says nothing of the speaker
    turn = turns[0]
    assert turn.fields["summary"] == "Melanie, 3 July 2023: " + said
    assert turn.fields["details"] == "Asked by Caroline: Which band played the concert?" and turn.sources == [1, 2]
    alone = [c for c in facts.speaker_facts(facts.statements(items[1:2]), items[1:2]) if c.key[0] == "said"]
    assert alone[0].fields["details"] is None and alone[0].sources == [2]  # no question before it: its own turn only


def test_a_turn_memory_quotes_the_plans_its_speaker_tells_but_no_condition_or_question():
    items = [obs(1, "My kids are so excited about summer break, they have been counting the days since Easter! "
                    "We're thinking about going camping next month. If it rains we might stay home. Any plans yourself?",
                 speaker="Melanie", ts="2023-05-25T13:14:00")]
    turn = next(c for c in facts.speaker_facts(facts.statements(items), items) if c.key[0] == "said")
    assert turn.fields["summary"].endswith("since Easter! We're thinking about going camping next month.")
    assert "rains" not in turn.fields["summary"] and "Any plans" not in turn.fields["summary"]


def test_a_short_turn_that_states_something_gets_its_memory_and_small_talk_none():
    items = [obs(1, "We adopted Luna, a grey tabby kitten.", speaker="Melanie"),
             obs(2, "Wow, that's so great, Caroline! Congrats!", speaker="Melanie")]
    turns = [c for c in facts.speaker_facts(facts.statements(items), items) if c.key[0] == "said"]
    assert [c.sources for c in turns] == [[1]]
