"""Reading everyday text: sentences, clauses, questions, wishes, and statements that update older facts."""

from __future__ import annotations

import pytest

from core.absorb import text as tx


def test_sentences_do_not_break_after_titles_abbreviations_or_ordinal_dates():
    found = [s.text for s in tx.sentences("Ask Dr. Patel about it. Membership no. 8812 is mine! Am 3. März fliege ich.\nOk")]
    assert found == ["Ask Dr. Patel about it.", "Membership no. 8812 is mine!", "Am 3. März fliege ich.", "Ok"]


def test_clauses_keep_numbers_with_thousands_whole():
    assert tx.clauses("It costs 12,500, but I paid 9,900 in the end") == ["It costs 12,500", "I paid 9,900 in the end"]


@pytest.mark.parametrize("sentence", [
    "Is the pool open on Sundays?", "¿Dónde está mi pasaporte?", "Where did I park the car", "Kannst du mir helfen?",
])
def test_questions_state_nothing(sentence):
    assert tx.is_question(sentence) and tx.factual_clauses(sentence) == []


@pytest.mark.parametrize("sentence", [
    "Could you suggest a gift for my dad?", "Give me three names for a boat.", "Recommend a podcast about history.",
])
def test_requests_to_the_assistant_state_nothing(sentence):
    assert tx.factual_clauses(sentence) == []


@pytest.mark.parametrize("sentence, kept", [
    ("If I ever get a garden I'd grow tomatoes.", []),
    ("Wenn ich reich wäre, würde ich segeln.", []),
    ("Si gano el premio, me compro una moto.", []),
    ("Maybe I'll start painting again.", []),
    ("Vielleicht ziehe ich nach Bremen.", []),
    ("Talvez eu mude para Faro um dia.", []),
    ("I'd love to visit Japan someday.", []),
    ("My cousin Ravi teaches yoga, he might open a studio.", ["My cousin Ravi teaches yoga"]),
    ("Ich esse kein Fleisch, falls du kochst.", ["Ich esse kein Fleisch"]),
    ("I hate crowded trains, I'd rather cycle.", ["I hate crowded trains", "I'd rather cycle."]),
])
def test_hypothetical_clauses_are_left_out(sentence, kept):
    assert tx.factual_clauses(sentence) == kept


@pytest.mark.parametrize("sentence, kind", [
    ("Correction: the party is at 9, not 8.", "correct"),
    ("Sorry, I got that wrong, it's Anna's birthday.", "correct"),
    ("Nicht Dienstag, sondern Freitag.", "correct"),
    ("Corrigindo: a reunião é às 15h.", "correct"),
    ("I no longer play the cello.", "end"),
    ("Je ne fume plus depuis mai.", "end"),
    ("Ya no trabajo en el banco.", "end"),
    ("Ich rauche nicht mehr.", "end"),
    ("The yoga course is over.", "end"),
    ("These days I cycle to work.", "change"),
    ("Ahora vivo en Valencia.", "change"),
    ("I cycle to work.", None),
    ("Nina is moving, not me.", None),  # "not me" corrects who, not a value
])
def test_statement_kinds(sentence, kind):
    assert tx.statement_kind(sentence) == kind


def test_negated_values_are_what_a_correction_says_is_wrong():
    assert tx.negated_values("It's on Friday, not Thursday.") == ["Thursday"]
    assert tx.negated_values("Der Zug fährt um 7:10, nicht 7:40.") == ["7:40"]
    assert tx.negated_values("não às 18h30") == ["18h30"]
    assert tx.negated_values("That's not me.") == []


def test_lead_ins_and_preambles_are_not_part_of_a_fact():
    assert tx.strip_lead_in("For context: I'm a pharmacist in Gent.") == "I'm a pharmacist in Gent."
    assert tx.strip_lead_in("Btw, I'm allergic to latex.") == "I'm allergic to latex."
    assert tx.strip_lead_in("Home address: 3 Elm Row, Bath") == "Home address: 3 Elm Row, Bath"  # a label stays


def test_stems_and_overlap_match_word_forms():
    assert tx.stem("running") == tx.stem("run") and tx.stem("cats") == tx.stem("cat")
    assert tx.overlap("I stopped swimming", "I swim twice a week") == {"swim"}
    assert not tx.overlap("on Monday", "every Monday")  # weekdays are dates, not topics
