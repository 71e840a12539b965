"""What a question asks: its kind, the words evidence must hold, the names it mentions, in five languages."""

from __future__ import annotations

import pytest

from core.answer.question import analyse
from core.answer.words import WordSet, fold, same_word, words


@pytest.mark.parametrize(
    "text, kind",
    [
        ("When is the Q3 draft due?", "when"),
        ("On which day do I see the physio?", "when"),
        ("A que horas sai o meu voo para São Paulo?", "when"),
        ("Bis wann ist mein Personalausweis gültig?", "when"),
        ("Who is my GP?", "who"),
        ("Qui s'occupe de la trésorerie ?", "who"),
        ("Where do I live now?", "where"),
        ("Wo wohnt mein Bruder?", "where"),
        ("Où est-ce que j'habite maintenant ?", "where"),
        ("How much is the rowing club membership?", "how_much"),
        ("At what temperature do I bake the sourdough?", "how_much"),
        ("Wie oft wechsle ich den Wasserfilter?", "how_much"),
        ("How do I deploy the blog?", "how_to"),
        ("Wie wechsle ich den Wasserfilter?", "how_to"),
        ("Do I still work at Babbel?", "yes_no"),
        ("Est-ce que je suis encore bénévole ?", "yes_no"),
        ("Which seat do I prefer on planes?", "what"),
        ("Comment s'appelle mon compagnon ?", "what"),  # "comment" asks a name here, not a way
    ],
)
def test_the_kind_of_answer_wanted(text, kind):
    assert analyse(text).kind == kind


def test_anchors_leave_out_function_words_in_every_language():
    assert analyse("What is my sister allergic to?").anchors == ["sister", "allergic"]
    assert analyse("Qual é o meu tipo sanguíneo?").anchors == ["tipo", "sanguineo"]
    assert analyse("¿Cuándo caduca mi pasaporte?").anchors == ["caduca", "pasaporte"]


def test_which_words_name_the_type_of_the_answer():
    question = analyse("Which airline am I flying with to Kraków?")
    assert question.types == ["airline"] and question.which
    assert question.anchors == ["flying", "krakow"]
    assert analyse("What kind of products do I design?").types == ["products"]
    assert analyse("How much rent do we pay?").types == ["rent"]
    # A name after the type word is an anchor, not a type.
    question = analyse("Which Kubernetes documentation page was I reading?")
    assert "kubernetes" in question.anchors and question.types == ["documentation", "page"]


def test_names_the_question_mentions_must_be_held():
    assert analyse("When is Oliver's birthday?").entities == [["oliver"]]
    assert analyse("Est-ce que je suis encore bénévole aux Restos du Cœur ?").entities == [["restos", "cœur"]]
    # German capitalises every noun: those are not names.
    assert analyse("Bis wann ist mein Personalausweis gültig?").entities == []
    # The first word of a question is capitalised anyway.
    assert analyse("Where do I live?").entities == []


def test_a_name_word_makes_the_answer_a_name():
    question = analyse("What is my husband's name?")
    assert question.wants_name and question.anchors == ["husband"] and "name" in question.types


def test_the_current_state_and_the_vault_are_recognised():
    assert analyse("Wo wohne ich jetzt?").wants_now
    assert analyse("What exercise do I do these days?").wants_now
    saved = analyse("Do I have the gate code for my parents' building saved?")
    assert saved.asks_saved and "saved" not in saved.anchors
    assert not analyse("Do I have a dog?").asks_saved


def test_money_questions_and_frequency_questions():
    assert analyse("How much does the Jazz cost?").wants_money
    assert analyse("Wie viel kostet die Kita?").wants_money
    assert not analyse("What dose of sertraline do I take?").wants_money
    assert analyse("Wie oft wechsle ich den Wasserfilter?").how_often


def test_first_person_in_every_language():
    assert analyse("Dans quelle ville est-ce que j'habite ?").first_person
    assert analyse("Onde eu moro?").first_person
    assert not analyse("Where does Lars work?").first_person


def test_words_fold_accents_contractions_and_elisions():
    assert words("Priya's birthday, j'habite à Düsseldorf, Straße") == ["priya", "birthday", "habite", "a", "dusseldorf", "strasse"]
    assert fold("Ñandú") == "nandu"


@pytest.mark.parametrize(
    "a, b, same",
    [
        ("membership", "member", True),
        ("wohne", "wohnt", True),
        ("allergic", "allergies", True),
        ("running", "run", True),
        ("works", "workshop", False),  # a compound is another word
        ("plan", "plane", False),
        ("car", "card", False),
        ("rent", "rental", False),
    ],
)
def test_forms_of_one_word(a, b, same):
    assert same_word(a, b) is same
    assert WordSet([b]).has(a) is same


@pytest.mark.parametrize("text, anchors", [
    ("Hab ich meinen Reisepass gespeichert?", ["reisepass"]),
    ("Habe ich die Steuernummer abgespeichert?", ["steuernummer"]),
    ("Ai-je sauvegardé le code du garage ?", ["code", "garage"]),
    ("¿Tengo guardada la clave del router?", ["clave", "router"]),
    ("Guardei o número do cartão de cidadão?", ["numero", "cartao", "cidadao"]),
])
def test_have_i_saved_questions_in_every_language_ask_the_vault(text, anchors):
    question = analyse(text)
    assert question.kind == "yes_no" and question.asks_saved and question.anchors == anchors


def test_a_compound_answers_for_its_last_part():
    from core.answer.words import WordSet

    assert WordSet(["personalausweisnummer"]).has("ausweisnummer")
    assert not WordSet(["ausweis"]).has("ausweisnummer") and not WordSet(["nummer"]).has("hausnummer")
