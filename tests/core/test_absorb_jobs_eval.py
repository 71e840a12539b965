"""The scheduled absorb job, the backlog trigger, screen secrets into the vault, and the LoCoMo evaluation."""

from __future__ import annotations

import json

from core.absorb import jobs
from evaluation.absorb import conversation_messages, evaluate, regrounding_failures
from engram.cli import main
from core.engine import Engine
from core.models.base import FakeChatModel, FakeEmbedder
from core.paths import Paths

LOCOMO = [
    {
        "sample_id": "conv-x",
        "conversation": {
            "speaker_a": "Caroline",
            "speaker_b": "Melanie",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {"speaker": "Caroline", "dia_id": "D1:1", "text": "I went to a LGBTQ support group yesterday."},
                {"speaker": "Melanie", "dia_id": "D1:2", "text": "That sounds powerful! I love painting sunsets."},
                {"speaker": "Caroline", "dia_id": "D1:3", "text": "Thanks", "blip_caption": "a photo of a rainbow flag"},
            ],
            "session_2_date_time": "10:37 am on 27 June, 2023",
            "session_2": [
                {"speaker": "Melanie", "dia_id": "D2:1", "text": "We went camping at the lake last weekend."},
                {"speaker": "Caroline", "dia_id": "D2:2", "text": "Write to me at caro@example.org with the photos."},
            ],
            "session_3_date_time": "9:00 am on 1 July, 2023",
            "session_3": [],
        },
        "qa": [
            {"question": "When did Caroline go to the LGBTQ support group?", "answer": "7 May 2023", "evidence": ["D1:1"], "category": 2},
            {"question": "Where did Melanie go camping?", "answer": "the lake", "evidence": ["D2:1"], "category": 4},
            {"question": "What does Melanie paint?", "answer": "sunsets", "evidence": ["D1:2; D2:1"], "category": 1},
            {"question": "Unanswerable", "adversarial_answer": "x", "evidence": ["D1:3"], "category": 5},
        ],
    }
]


def test_absorb_job_is_registered_and_runs(engine):
    scheduler = engine.scheduler
    spec = scheduler.specs["absorb"]
    assert spec.interval_seconds == 5 * 60
    engine.observations.add("chat", "My email is ada@example.org", ts=engine.clock() - 3600, role="user", conversation="c")
    engine.settings.set("absorb.use_llm", False)
    record = scheduler.run("absorb")
    assert record["status"] == "ok" and record["report"]["observations"] == 1
    assert engine.memories.count("knowledge_vault") == 1


def test_scheduled_job_waits_for_a_conversation_to_settle(engine):
    engine.settings.set("absorb.use_llm", False)
    scheduler = engine.scheduler
    engine.observations.add("chat", "Hello there, Ada here", role="user", conversation="c")  # just now
    assert scheduler.run("absorb")["report"]["observations"] == 0
    assert engine.observations.count(unabsorbed=True) == 1


def test_backlog_trigger_fires_when_the_threshold_is_passed(engine):
    triggered = []

    engine.settings.set("absorb.backlog_threshold", 3)
    trigger = jobs.BacklogTrigger(triggered.append, engine.observations, engine.settings)
    engine.observations.add("chat", "one", role="user", conversation="c")
    trigger(observation_id=1, kind="chat")
    assert triggered == []
    trigger._checked = 0.0
    for text in ("two", "three"):
        engine.observations.add("chat", text, role="user", conversation="c")
    trigger(observation_id=3, kind="chat")
    assert triggered == ["absorb"]
    trigger(observation_id=3, kind="chat")  # debounced
    assert triggered == ["absorb"]


def test_screen_secrets_reach_the_vault_through_the_absorber_only_when_allowed(engine):
    from core.secrets import shield_observation

    def screen(text: str, keep: bool) -> int:
        item = shield_observation(dict(kind="screen", text=text, app="xterm", window_title="deploy"), keep_values=keep)
        return engine.observations.add(**item)

    engine.settings.set("privacy.vault_from_screen", True)
    obs_id = screen("deploy with AKIAIOSFODNN7EXAMPLE now, the release is at noon", keep=True)
    engine.make_absorber(use_llm=False).absorb_backlog()
    [entry] = engine.memories.list("knowledge_vault")
    assert entry.fields["secret_value"] == "AKIAIOSFODNN7EXAMPLE" and entry.fields["sensitivity"] == "high"
    assert entry.fields["caption"] == "AWS access key" and entry.sources == [obs_id]
    assert "IOSFODNN" not in entry.to_dict()["secret_value"]
    # Once in the vault, the observation keeps only the mask.
    assert "secrets" not in engine.observations.get(obs_id).meta

    engine.settings.set("privacy.vault_from_screen", False)
    screen("another key AKIAJJJJJJJJJJJJ7ABC in the terminal window today", keep=False)
    engine.make_absorber(use_llm=False).absorb_backlog()
    assert engine.memories.count("knowledge_vault") == 1


def test_locomo_messages_keep_session_dates_and_dia_ids(tmp_path):
    messages = conversation_messages(LOCOMO[0])
    assert [m.source_ref for m in messages] == ["D1:1", "D1:2", "D1:3", "D2:1", "D2:2"]
    assert messages[0].speaker == "Caroline" and "[shares a photo: a photo of a rainbow flag]" in messages[2].content
    assert messages[3].ts - messages[0].ts > 40 * 86400


def test_evaluation_reports_recall_and_a_clean_store(tmp_path):
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps(LOCOMO))
    model = FakeChatModel(lambda m, s: {"memories": [{"type": "semantic", "name": "Melanie",
                                                       "content": "Melanie loves painting sunsets"}]}
                          if "memories" in s["properties"] else {"decisions": []})
    report = evaluate(path, engine_factory=lambda home: Engine(Paths.at(home), embedder=FakeEmbedder(64), chat_model=model))
    assert report["batches"] == 2 and report["llm_calls_per_batch_max"] <= 2
    assert report["memories_by_type"]["knowledge_vault"] == 1
    assert report["memories_by_type"]["episodic"] >= 4
    assert report["questions_all"] == 3 and report["questions_absorbed"] == 3
    assert 0 < report["memory_recall@10_absorbed"] <= 1
    assert report["grounding_failures_in_store"] == 0
    bounded = evaluate(path, max_batches=1, use_llm=False,
                       engine_factory=lambda home: Engine(Paths.at(home), embedder=FakeEmbedder(64)))
    assert bounded["batches"] == 1 and bounded["questions_absorbed"] == 1  # only session 1's question is answerable


def test_regrounding_flags_a_memory_that_its_sources_do_not_support(engine):
    obs = engine.observations.add("chat", "Ada plays violin.", role="user", conversation="c")
    engine.memories.add("semantic", {"name": "Ada", "summary": "Ada plays violin"}, sources=[obs])
    bad = engine.memories.add("semantic", {"name": "Ada", "summary": "Ada lives in Berlin"}, sources=[obs])
    orphan = engine.memories.add("semantic", {"name": "Note", "summary": "typed by the user"})
    failures = dict(regrounding_failures(engine))
    assert sorted(failures) == sorted([orphan.id, bad.id])
    assert "Berlin" in failures[bad.id] and failures[orphan.id] == "no source observations"


def test_eval_absorb_cli(tmp_path, capsys, monkeypatch):
    path = tmp_path / "locomo.json"
    path.write_text(json.dumps(LOCOMO))
    from evaluation import absorb as evaluation

    real = evaluation.evaluate
    monkeypatch.setattr(evaluation, "evaluate", lambda *a, **k: real(
        *a, **k, engine_factory=lambda home: Engine(Paths.at(home), embedder=FakeEmbedder(64))))
    assert main(["eval", "absorb", "--data", str(path), "--no-llm", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["use_llm"] is False and report["llm_calls"] == 0
    assert main(["eval", "absorb", "--data", str(tmp_path / "nope.json")]) == 2
