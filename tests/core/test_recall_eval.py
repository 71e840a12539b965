"""The LoCoMo harness on a tiny hand-made conversation whose recall is known."""

from __future__ import annotations

import json

import pytest

from core.errors import InvalidInputError
from core.models.base import FakeEmbedder
from evaluation.locomo import evaluate_locomo, evidence_ids, evidence_recall, format_report, load_locomo

TINY = [
    {
        "sample_id": "tiny-1",
        "conversation": {
            "speaker_a": "Alice",
            "speaker_b": "Bob",
            "session_1_date_time": "10:00 am on 8 May, 2023",
            "session_1": [
                {"speaker": "Alice", "dia_id": "D1:1", "text": "I adopted a puppy called Biscuit."},
                {"speaker": "Bob", "dia_id": "D1:2", "text": "Congratulations, that is lovely news!"},
                {"speaker": "Alice", "dia_id": "D1:3", "text": "Thanks, she sleeps all day."},
            ],
            "session_2_date_time": "6:30 pm on 20 May, 2023",
            "session_2": [
                {"speaker": "Bob", "dia_id": "D2:1", "text": "I ran a marathon through Lisbon on Sunday."},
                {"speaker": "Alice", "dia_id": "D2:2", "text": "Wow, how did your legs feel?"},
                {"speaker": "Bob", "dia_id": "D2:3", "text": "Sore, but I loved the coastal views.",
                 "blip_caption": "a photo of a harbour at sunset"},
            ],
            # a date for a session without turns must be ignored
            "session_3_date_time": "1:00 pm on 1 June, 2023",
            "session_3": [],
        },
        "qa": [
            # Only D1:1 mentions a puppy: every retriever finds it at k=1 -> 1.0
            {"question": "What is the puppy called?", "answer": "Biscuit", "evidence": ["D1:1"], "category": 4},
            # Only D2:1 mentions Lisbon, the other evidence (D1:3) shares no word: k=1 -> 0.5
            {"question": "Where was the marathon, Lisbon?", "answer": "Lisbon", "evidence": ["D2:1; D1:3"], "category": 1},
            # Not scored: adversarial category and a question without evidence
            {"question": "What is Bob's cat called?", "adversarial_answer": "none", "evidence": ["D2:1"], "category": 5},
            {"question": "Would Alice like a cat?", "answer": "maybe", "evidence": [], "category": 3},
        ],
    }
]


@pytest.fixture
def tiny_file(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(TINY))
    return path


def test_evidence_ids_tolerate_malformed_entries():
    assert evidence_ids(["D8:6; D9:17", "D:11:26", "D8:6", "D10:2"]) == ["D8:6", "D9:17", "D10:2"]


def test_evidence_recall_counts_each_cited_id_once():
    assert evidence_recall([["D1:1"], ["D1:2", "D1:3"]], ["D1:3", "D2:1"]) == 0.5
    assert evidence_recall([["D1:1", "D1:1"]], ["D1:1"]) == 1.0
    assert evidence_recall([], ["D1:1"]) == 0.0
    with pytest.raises(ValueError):
        evidence_recall([["D1:1"]], [])


def test_load_locomo_reads_turns_dates_and_questions(tiny_file):
    (conv,) = load_locomo(tiny_file)
    assert conv.sample_id == "tiny-1"
    assert [t.dia_id for t in conv.turns] == ["D1:1", "D1:2", "D1:3", "D2:1", "D2:2", "D2:3"]
    assert conv.now.isoformat() == "2023-05-20T18:30:00"
    assert conv.turns[-1].observation_text.endswith("[shares a photo of a photo of a harbour at sunset]")
    assert conv.questions[1].evidence == ["D2:1", "D1:3"]


def test_load_locomo_explains_a_missing_file(tmp_path):
    with pytest.raises(InvalidInputError) as err:
        load_locomo(tmp_path / "nope.json")
    assert "--data" in err.value.fix


def test_tiny_conversation_recall_is_as_computed_by_hand(tiny_file, tmp_path):
    conversations = load_locomo(tiny_file)
    report = evaluate_locomo(conversations, FakeEmbedder(dimension=64), k=1, workdir=tmp_path / "work")
    assert report["k"] == 1
    assert report["n"] == 2
    for name in ("engram", "bm25", "dense"):
        part = report[name]
        assert part["recall"] == pytest.approx(0.75), name
        assert part["by_category"] == {"1": 0.5, "4": 1.0}, name
        assert part["by_conversation"] == {"tiny-1": 0.75}
    assert report["latency_ms"]["p50"] is not None
    text = format_report(report)
    assert "engram" in text and "bm25" in text and "dense" in text


def test_larger_k_finds_all_evidence(tiny_file, tmp_path):
    report = evaluate_locomo(load_locomo(tiny_file), FakeEmbedder(dimension=64), k=6, workdir=tmp_path / "work")
    assert report["engram"]["recall"] == 1.0
    assert report["dense"]["recall"] == 1.0


def test_locomo_f1_normalises_like_locomo():
    from evaluation.locomo_qa import locomo_f1, normalise_answer, token_f1

    assert normalise_answer("The Running, and swimming!") == ["run", "swim"]
    assert token_f1("running", "The run") == 1.0
    assert token_f1("7 May 2023", "May 7, 2023") == 1.0
    assert token_f1("Lisbon", "Porto") == 0.0
    assert token_f1("", "Porto") == 0.0
    # multi-hop: each gold part matched with its best predicted part, averaged over gold parts
    assert locomo_f1("swimming, pottery", "pottery, camping", 1) == pytest.approx(0.5)
    assert locomo_f1("swimming, pottery", "pottery, camping", 4) == pytest.approx(0.5)


def test_qa_mode_answers_from_retrieved_and_full_context(tiny_file, tmp_path):
    from core.models.base import FakeChatModel

    def reply(messages, schema):
        prompt = messages[-1]["content"]
        return "Biscuit" if "puppy" in prompt.split("Question:")[1] else "Lisbon"

    chat = FakeChatModel(reply, context_length=2048)
    report = evaluate_locomo(load_locomo(tiny_file), FakeEmbedder(dimension=64), k=2, workdir=tmp_path / "w", chat_model=chat)
    qa = report["qa"]
    assert qa["n"] == 2
    assert qa["engram_f1"] == 1.0 and qa["full_context_f1"] == 1.0
    prompts = [c["messages"][-1]["content"] for c in chat.calls]
    assert len(prompts) == 4
    # the full-context prompt carries every turn with its session date
    assert any("[20 May 2023] Bob: Sore, but I loved the coastal views." in p for p in prompts)
