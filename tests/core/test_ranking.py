"""Fusion and query understanding: the pure parts of recall's ranking."""

from __future__ import annotations

from datetime import datetime

import pytest

from core import ranking as fusion
from core.ranking import RecallWeights
from core.recall.query import infer_types, terms_of, understand


def test_lexical_scores_are_relative_to_the_best():
    assert fusion.normalise_lexical({1: 8.0, 2: 4.0, 3: 0.0}) == {1: 1.0, 2: 0.5, 3: 0.0}
    assert fusion.normalise_lexical({}) == {}


def test_semantic_scores_rescale_from_floor_to_best():
    out = fusion.normalise_semantic({1: 0.65, 2: 0.40, 3: 0.10}, floor=0.15)
    assert out[1] == pytest.approx(1.0)
    assert out[2] == pytest.approx(0.5)
    assert out[3] == 0.0
    assert fusion.normalise_semantic({1: 0.1}, floor=0.15) == {1: 0.0}


def test_weighted_fusion_keeps_a_wide_lexical_lead_unlike_rank_fusion():
    # BM25 is sure of item 1 (far ahead); the embedding mildly prefers item 2.
    lexical = {1: 20.0, 2: 2.0}
    semantic = {2: 0.60, 1: 0.55, 3: 0.50}
    fused = fusion.fuse_scores(lexical, semantic, RecallWeights(lexical=0.6, semantic=0.4, semantic_floor=0.15))
    assert fusion.ranked(fused)[0][0] == 1
    # Reciprocal-rank fusion would tie items 1 and 2 (each first once, second once).
    rrf = {k: 1 / (60 + [1, 2].index(k) + 1) + 1 / (60 + [2, 1, 3].index(k) + 1) for k in (1, 2)}
    assert rrf[1] == pytest.approx(rrf[2])


def test_agreement_of_both_signals_beats_either_alone():
    fused = fusion.fuse_scores({1: 5.0, 2: 5.0}, {1: 0.7, 3: 0.7}, RecallWeights(lexical=0.5, semantic=0.5))
    order = [k for k, _ in fusion.ranked(fused)]
    assert order[0] == 1
    assert set(order[1:]) == {2, 3}


def test_a_missing_signal_hands_its_weight_to_the_other():
    only_lexical = fusion.fuse_scores({1: 4.0, 2: 2.0}, {}, RecallWeights(lexical=0.3, semantic=0.7))
    assert only_lexical == {1: 1.0, 2: 0.5}
    only_semantic = fusion.fuse_scores({}, {1: 0.8, 2: 0.475}, RecallWeights(lexical=0.7, semantic=0.3, semantic_floor=0.15))
    assert only_semantic[1] == pytest.approx(1.0) and only_semantic[2] == pytest.approx(0.5)


def test_boost_and_neighbour_spreading():
    scores = {1: 1.0, 2: 0.5}
    assert fusion.boost(scores, lambda k: 2.0 if k == 2 else 1.0) == {1: 1.0, 2: 1.0}
    spread = fusion.spread_to_neighbours(scores, lambda k: [k - 1, k + 1], 0.2)
    assert spread == pytest.approx({0: 0.2, 1: 1.1, 2: 0.7, 3: 0.1})
    assert fusion.spread_to_neighbours(scores, lambda k: [k + 1], 0.0) == scores


def test_ranked_breaks_ties_by_newer_id():
    assert fusion.ranked({3: 1.0, 7: 1.0, 5: 2.0}) == [(5, 2.0), (7, 1.0), (3, 1.0)]
    assert fusion.ranked({1: 1.0, 2: 2.0}, limit=1) == [(2, 2.0)]


def test_terms_drop_stopwords_question_words_and_possessives():
    assert terms_of("What is Caroline's favourite book, and who wrote it?") == ["caroline", "favourite", "book", "wrote"]
    assert terms_of("what did I do?") == []


@pytest.mark.parametrize(
    "question,first",
    [
        ("What is my wifi password?", "knowledge_vault"),
        ("what's the account number for the electricity bill", "knowledge_vault"),
        ("How do I reset the router?", "procedural"),
        ("When did I last see Ada?", "episodic"),
        ("What did we do in Lisbon?", "episodic"),
        ("Who is Ada?", "semantic"),
        ("Which document had the budget figures?", "resource"),
    ],
)
def test_target_types_are_inferred(question, first):
    types = infer_types(question)
    assert types[0] == first
    assert len(set(types)) == len(types) >= 5


def test_plan_names_speakers_times_and_open_questions():
    now = datetime(2023, 10, 1)
    plan = understand("When did Melanie go camping in June with Dr Seuss?", now, ["Caroline", "Melanie"])
    assert plan.speakers == ["Melanie"]
    assert "Melanie" in plan.names and "Seuss" in " ".join(plan.names)
    assert plan.time_range is not None and plan.time_range.start == datetime(2023, 6, 1)
    assert "june" not in plan.terms and "camping" in plan.terms
    assert plan.types[0] == "episodic"
    assert not plan.open_question

    vague = understand("What did I do last week?", now)
    assert vague.open_question
    assert vague.time_range.start == datetime(2023, 9, 18)
