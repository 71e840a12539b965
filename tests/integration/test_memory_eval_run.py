"""``engram eval memory`` end to end on the shipped small case file, rules only, with the real seed embedder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engram.cli import main
from tests.conftest import SHARED_DATA, seed_models_dir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SMALL = Path(__file__).resolve().parents[2] / "evaluation" / "data" / "memory-cases-small.json"
NUMERIC_KEYS = ("point_recall", "forbidden", "visible_leaks", "duplicates", "junk", "qa_accuracy", "abstain_answered",
                "unsupported_numbers")


@pytest.fixture
def seed_embedder(monkeypatch):
    seed = seed_models_dir()
    if seed is None or not (seed / "all-MiniLM-L6-v2-f16.gguf").is_file():
        pytest.skip("the seed embedding model is not prepared (.models is missing): run 'make setup'")
    monkeypatch.setenv("ENGRAM_SEED_MODELS", str(seed))


def run_json(capsys, *args) -> dict:
    assert main(["eval", "memory", *args, "--json"]) == 0
    captured = capsys.readouterr()
    assert "[1/" in captured.err  # progress goes to stderr, the report alone to stdout
    return json.loads(captured.out)


def check_shape(report: dict, cases: int) -> None:
    for key in NUMERIC_KEYS:
        assert isinstance(report[key], (int, float)) and not isinstance(report[key], bool), key
    assert report["cases_run"] == len(report["cases"]) == cases
    assert report["use_llm"] is False and report["chat_model"] is None
    assert report["absorb"]["llm_calls"] == 0 and report["absorb"]["batches"] >= cases
    assert set(report["memories"]["by_type"]) == {"core", "episodic", "semantic", "procedural", "resource", "knowledge_vault"}
    for entry in report["by_type"].values():
        assert 0 <= entry["met"] <= entry["total"]
    for case in report["cases"]:
        assert case["unabsorbed"] == 0
        assert {"memories", "points", "forbidden", "duplicates", "junk", "answers", "visible_leaks", "batches", "seconds"} <= set(case)
        for answer in case["answers"]:
            assert isinstance(answer["correct"], bool) and isinstance(answer["unsupported_numbers"], list)


def failed_answers(report: dict) -> list[dict]:
    return [{"case": c["id"], "q": a["q"], "answer": a["answer"]} for c in report["cases"] for a in c["answers"]
            if not a["correct"]]


def test_small_case_file_rules_only(seed_embedder, capsys):
    report = run_json(capsys, "--data", str(SMALL), "--no-llm")
    check_shape(report, 15)
    # Issue 13, rules only: point recall of at least 0.75, and no forbidden memory, no secret shown, no duplicate,
    # no junk.  (With the seed model, a separate and slower run, the goal is 0.9; abstain_answered and
    # unsupported_numbers are the answers' and are checked where answering is.)
    assert report["point_recall"] >= 0.75, report["by_type"]
    assert (report["forbidden"], report["visible_leaks"], report["duplicates"], report["junk"]) == (0, 0, 0, 0), [
        {k: c[k] for k in ("id", "forbidden", "visible_leaks", "duplicates", "junk")} for c in report["cases"]
        if c["forbidden"] or c["visible_leaks"] or c["duplicates"] or c["junk"]]
    assert report["absorb"]["llm_calls_per_batch_max"] == 0
    # The answers: right often enough, never an answer where the sources hold none, never a number they lack.
    assert report["qa_accuracy"] >= 0.85, failed_answers(report)
    assert (report["abstain_answered"], report["unsupported_numbers"]) == (0, 0), failed_answers(report)
    assert main(["eval", "memory", "--data", str(SMALL), "--no-llm"]) == 0
    table = capsys.readouterr().out
    assert all(case["id"] in table for case in report["cases"]) and "point_recall" in table


def test_shared_dev_cases_rules_only(seed_embedder, capsys):
    path = SHARED_DATA / "memory-dev.json"
    if not path.is_file():
        pytest.skip(f"the shared memory-dev.json is not at {path} (the shared data folder sits beside the repo)")
    report = run_json(capsys, "--data", str(path), "--no-llm")
    check_shape(report, len(json.loads(path.read_text())["cases"]))


def test_small_case_file_with_the_seed_model(capsys, monkeypatch):
    """Issue 13 with the model Engram ships: point recall of at least 0.9 and qa of at least 0.85, nothing forbidden,
    shown, duplicated, junk, answered without evidence or numbered without a source; at most two model calls a batch."""
    seed = seed_models_dir()
    if seed is None or not (seed / "SmolLM2-135M-Instruct.Q4_1.gguf").is_file():
        pytest.skip("the seed chat model is not prepared (.models is missing): run 'make setup'")
    monkeypatch.setenv("ENGRAM_SEED_MODELS", str(seed))
    assert main(["eval", "memory", "--data", str(SMALL), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["use_llm"] is True and report["chat_model"] == "smollm2-135m-instruct-q4_1"
    assert report["point_recall"] >= 0.9, report["by_type"]
    assert report["qa_accuracy"] >= 0.85, failed_answers(report)
    zeros = ("forbidden", "visible_leaks", "duplicates", "junk", "abstain_answered", "unsupported_numbers")
    assert {k: report[k] for k in zeros} == dict.fromkeys(zeros, 0), [
        {k: c[k] for k in ("id", "forbidden", "visible_leaks", "duplicates", "junk")} for c in report["cases"]]
    assert 1 <= report["absorb"]["llm_calls_per_batch_max"] <= 2
