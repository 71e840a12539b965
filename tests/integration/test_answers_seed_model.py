"""The issue's eight-message chat with the real seed models: absorbed as the background job absorbs it, then asked
as 'engram ask' asks. Every answer is right or an abstention, and never holds text its sources do not hold."""

from __future__ import annotations

import re

import pytest

from tests.core.test_chat import EIGHT_MESSAGES, EIGHT_QUESTIONS, source_numbers

pytestmark = [pytest.mark.integration, pytest.mark.slow]

UNANSWERABLE = ["Which airline am I flying with to Lisbon?", "What is my sister's phone number?", "Who is my dentist?"]


def shown_numbers(text: str) -> set[str]:
    return {str(int(n)) for n in re.findall(r"\d+", re.sub(r"\[\d+\]", " ", text))}


@pytest.fixture
def absorbed(seed_engine):
    engine = seed_engine
    engine.observations.add_many([dict(kind="chat", role="user", conversation="everything", ts=ts, text=text)
                                  for ts, text in EIGHT_MESSAGES], embed=True)
    engine.make_absorber(use_llm=True).absorb_backlog()
    engine.scheduler.run("embed")
    return engine


@pytest.mark.parametrize("style", ["auto", "generated"])
def test_the_eight_message_chat_with_the_seed_model(absorbed, style):
    engine = absorbed
    engine.settings.set("models.answers", style)
    known = source_numbers()
    for question, wanted, unwanted, _ in EIGHT_QUESTIONS:
        answer = engine.ask(question, record=False)
        if style == "auto":
            # The seed model is rated for quoting: shipped as the default, its answers quote their sources.
            assert answer.style == "extractive" and answer.model == engine.models.configured("chat")
        if answer.abstained:
            continue  # allowed where the evidence does not answer; never a made-up answer
        lowered = answer.text.lower()
        assert all(term.lower() in lowered for term in wanted), (question, answer.text)
        assert not any(term.lower() in lowered for term in unwanted), (question, answer.text)
        assert shown_numbers(answer.text) <= known, (question, answer.text)
        assert answer.citations, question
    for question in UNANSWERABLE:
        assert engine.ask(question, record=False).abstained, question


def test_the_seed_model_answers_every_question_of_the_chat(absorbed):
    # With the shipped settings every one of the questions has its answer in the chat: none abstains.
    answers = {q: absorbed.ask(q, record=False) for q, _, _, _ in EIGHT_QUESTIONS}
    assert not [q for q, a in answers.items() if a.abstained]
