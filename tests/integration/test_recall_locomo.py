"""Recall on real LoCoMo conversations (../shared/data), with the real MiniLM embedder when installed."""

from __future__ import annotations

import pytest

from tests.conftest import SHARED_DATA, seed_models_dir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOCOMO = SHARED_DATA / "locomo-dev.json"


@pytest.fixture(scope="module")
def conversation():
    if not LOCOMO.is_file():
        pytest.skip(f"LoCoMo data not found at {LOCOMO} (the shared data folder sits beside the repo)")
    from evaluation.locomo import load_locomo

    return load_locomo(LOCOMO)[1]  # conv-30: the smallest


def test_context_index_and_speakers_beat_plain_bm25_without_embeddings(conversation, tmp_path):
    from core.models.base import FakeEmbedder
    from evaluation.locomo import evaluate_locomo
    from core.ranking import RecallWeights

    report = evaluate_locomo([conversation], FakeEmbedder(dimension=32), k=10, workdir=tmp_path, weights=RecallWeights(lexical=1.0, semantic=0.0))
    assert report["n"] > 50
    assert report["engram"]["recall"] >= report["bm25"]["recall"] + 0.08


def test_engram_beats_both_baselines_with_minilm(conversation, tmp_path):
    models = seed_models_dir()
    ggufs = sorted(models.glob("*MiniLM*.gguf")) if models else []
    if not ggufs:
        pytest.skip("the all-MiniLM-L6-v2 GGUF is not installed (run 'make setup')")
    from core.models.llama import LlamaEmbedder
    from evaluation.locomo import evaluate_locomo

    report = evaluate_locomo([conversation], LlamaEmbedder(ggufs[0]), k=10, workdir=tmp_path)
    engram, bm25, dense = report["engram"]["recall"], report["bm25"]["recall"], report["dense"]["recall"]
    assert engram >= bm25 + 0.10, report
    assert engram >= dense + 0.10, report
    assert engram >= 0.75, report
