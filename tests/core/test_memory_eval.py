"""The memory evaluation: scoring (pure functions on hand-built memories), the case loader, and a small run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engram.cli import main
from core.errors import InvalidInputError
from evaluation.memory_cases import FORMAT, load_cases, parse_cases
from evaluation.memory_score import (
    MemoryView,
    answer_correct,
    content_text,
    count_appearances,
    duplicate_ids,
    forbidden_ids,
    holds_term,
    is_junk,
    is_repeated_phrase,
    junk_ids,
    matching_text,
    normalise,
    point_matches,
    point_met,
    shown_strings,
    unsupported_numbers,
)

MAY_14_NOON_UTC = 1778760000.0  # 2026-05-14T12:00:00Z


def semantic(memory_id, name, summary, details=None, active=True):
    return MemoryView(memory_id, "semantic", {"name": name, "summary": summary, "details": details}, active)


def core(memory_id, value, label="human", active=True):
    return MemoryView(memory_id, "core", {"label": label, "value": value, "char_limit": 2000}, active)


def vault(memory_id, caption, secret, active=True):
    return MemoryView(memory_id, "knowledge_vault", {"entry_type": "password", "caption": caption, "secret_value": secret,
                                                     "sensitivity": "high", "source": "chat: c"}, active)


# -- matching text --------------------------------------------------------------------------------


def test_matching_text_joins_every_field_lowercased_with_times_in_iso_and_vault_values_revealed():
    episode = MemoryView(1, "episodic", {"occurred_at": MAY_14_NOON_UTC, "occurred_until": None, "actor": "User",
                                         "event_type": "appointment", "summary": "Dentist check-up", "details": None})
    assert matching_text(episode.type, episode.fields) == "2026-05-14t12:00:00z | user | appointment | dentist check-up"
    assert "x4418823" in vault(2, "Passport number", "X4418823").text
    steps = MemoryView(3, "procedural", {"entry_type": "workflow", "summary": "Deploy", "steps": ["git pull", "make build"]})
    assert steps.text == "workflow | deploy | git pull ; make build"
    assert "2000" not in core(4, "Prefers tea").text  # the block's size limit is a setting, not content


# -- points -------------------------------------------------------------------------------------


def test_point_needs_type_all_any_and_none():
    text = "ada | ada is my sister and lives in porto"
    assert point_matches({"type": "semantic", "all": ["ada", "porto"]}, "semantic", text)
    assert not point_matches({"type": "core", "all": ["ada"]}, "semantic", text)
    assert point_matches({"type": ["core", "semantic"], "all": ["ada"]}, "semantic", text)
    assert point_matches({"type": "any", "all": ["ada"]}, "episodic", text)
    assert not point_matches({"type": "any", "all": ["ada", "lisbon"]}, "semantic", text)
    assert point_matches({"type": "any", "any": ["lisbon", "porto"]}, "semantic", text)
    assert not point_matches({"type": "any", "any": ["lisbon", "faro"]}, "semantic", text)
    assert not point_matches({"type": "any", "all": ["ada"], "none": ["sister"]}, "semantic", text)


def test_point_is_met_by_an_active_memory_and_max_matches_catches_copies():
    memories = [semantic(1, "Gym", "My gym is FitZone"), semantic(2, "Gym", "FitZone on Baker Road", active=False)]
    point = {"type": "semantic", "all": ["fitzone"], "max_matches": 1}
    assert point_met(point, memories) == (True, [1])  # the archived copy neither meets nor breaks the limit
    memories.append(semantic(3, "FitZone", "FitZone gym"))
    assert point_met(point, memories) == (False, [1, 3])
    assert point_met({"type": "semantic", "all": ["fitzone"]}, memories) == (True, [1, 3])
    assert point_met({"type": "semantic", "all": ["baker road"]}, memories) == (False, [])  # only archived


def test_forbid_covers_archived_memories_and_forbid_active_only_active_ones():
    memories = [core(1, "I prefer aisle seats", active=False), core(2, "I want window seats now")]
    forbid_active = [{"type": "core", "all": ["aisle"], "none": ["no longer"]}]
    assert forbidden_ids([], forbid_active, memories) == {}
    forbid = [{"type": "core", "all": ["aisle"]}]
    assert forbidden_ids(forbid, [], memories) == {1: [0]}
    both = forbidden_ids(forbid, [{"type": "core", "all": ["seats"]}], memories)
    assert both == {1: [0], 2: [1]}


# -- hygiene ------------------------------------------------------------------------------------


def test_duplicates_are_active_memories_with_the_same_normalised_text():
    memories = [
        semantic(1, "Dana.Kovacs", "The new work e-mail is dana@example.org"),
        semantic(2, "DANA.KOVACS", "The new work  e-mail is dana@example.org!"),
        semantic(3, "Dana Kovacs", "The new work e-mail is dana@example.org", active=False),
        semantic(4, "Dana Kovacs", "Dana's sister is allergic to peanuts"),
    ]
    assert normalise("Dana.Kovacs | The  e-mail!") == "danakovacs the email"
    assert duplicate_ids(memories) == [1, 2]
    assert duplicate_ids(memories[2:]) == []


def test_junk_titles_and_repeated_phrases():
    assert is_junk(semantic(1, "name", "Dana is my colleague"))
    assert is_junk(semantic(2, "Content:", "some text"))
    assert is_junk(MemoryView(3, "resource", {"title": " ", "resource_type": "document"}))
    assert is_junk(semantic(4, "Dana", "Dana"))
    assert is_junk(semantic(5, "window seat", "window seat window seat", "Window seat."))
    assert not is_junk(semantic(6, "Dana", "Dana is my colleague in Porto"))
    assert not is_junk(semantic(7, "Names", "Ana and Rui"))
    assert is_repeated_phrase("the the the the")
    assert not is_repeated_phrase("a b c d e f a b c d e f")  # a six-word phrase is not short
    assert not is_repeated_phrase("Lisbon")
    episode = MemoryView(8, "episodic", {"occurred_at": MAY_14_NOON_UTC, "summary": "Meeting", "details": "Meeting"})
    assert content_text(episode) == "meeting | meeting" and is_junk(episode)  # the date does not make it content
    assert junk_ids([semantic(9, "summary", "x", active=False), semantic(10, "value", "y")]) == [10]


# -- answers ------------------------------------------------------------------------------------


def test_answer_terms_match_whole_words():
    assert holds_term("No, Biscuit was adopted.", "no")
    assert not holds_term("I know he was adopted", "no")
    assert not holds_term("Your eyes are blue", "yes")
    assert holds_term("It is on 14 May 2026.", "14 may")
    assert holds_term("Open budget-2027.ods", "budget-2027")
    assert holds_term("leaves at 6:55.", "6:55")
    assert not holds_term("x4418823", "441")


def test_answer_correctness():
    question = {"q": "?", "answer_all": ["oat"], "answer_any": ["milk", "drink"], "answer_none": ["no sugar"]}
    assert answer_correct(question, "With oat milk [1].", False)
    assert not answer_correct(question, "With oat milk, no sugar.", False)
    assert not answer_correct(question, "Black.", False)
    assert not answer_correct(question, "Oat.", False)  # no answer_any term
    assert not answer_correct(question, "I have no memory of that. Oat milk?", True)  # an abstention is no answer
    unanswerable = {"q": "?", "abstain": True}
    assert answer_correct(unanswerable, "I have no memory of that.", True)
    assert not answer_correct(unanswerable, "Your blood type is A+.", False)


def test_unsupported_numbers_ignore_citations_the_question_and_leading_zeros():
    sources = ["Dentist check-up on 14 May at 9:15.", "2026-05-01T10:00:00Z"]
    assert unsupported_numbers("On 14 May at 9:15 [1].", sources) == []
    assert unsupported_numbers("On 2026-05-14 [2][3] [1, 2].", sources) == []
    assert unsupported_numbers("Friday, 2026-12-01", sources) == ["12"]
    assert unsupported_numbers("At 09:15 on 05/14", sources) == []
    assert unsupported_numbers("Room 12 at 16:00", sources, "Which room, 12 or 14?") == ["16"]
    assert unsupported_numbers("I have no memory of that.", sources) == []


# -- what is shown ------------------------------------------------------------------------------


def test_leak_counting_is_case_insensitive_and_sees_every_string_of_json_output():
    shown = list(shown_strings({"id": 3, "text": "Passport X4418823", "history": [{"new_value": {"v": "x4418823"}}]}))
    assert count_appearances(shown, ["x4418823"]) == 2
    assert count_appearances(["gate   code 55 821", "55 821"], ["55 821"]) == 2
    assert count_appearances(["••••8823"], ["x4418823"]) == 0
    assert count_appearances(["anything"], []) == 0


# -- the loader ---------------------------------------------------------------------------------


def minimal_case(**changes):
    case = {
        "id": "c1",
        "messages": [{"role": "user", "content": "My sister Ada lives in Porto.", "time": "2026-02-01T10:00:00Z",
                      "conversation": "fam"}],
        "expect": [{"type": "semantic", "all": ["Ada", "porto"]}],
        "questions": [{"q": "Where does Ada live?", "answer_all": ["Porto"]}],
    }
    case.update(changes)
    return case


def test_loader_reads_a_valid_file_and_lowercases_terms(tmp_path):
    path = tmp_path / "cases.json"
    path.write_text(json.dumps({"format": FORMAT, "cases": [minimal_case(note="about Ada")]}))
    loaded = load_cases(path)
    case = loaded.cases[0]
    assert case.expect == [{"type": "semantic", "all": ["ada", "porto"]}]
    assert case.questions == [{"q": "Where does Ada live?", "abstain": False, "answer_all": ["porto"]}]
    assert loaded.warnings == ["case 'c1': the key 'note' is not part of engram-memory-eval/1; ignored"]
    vault_point = parse_cases({"format": FORMAT, "cases": [minimal_case(expect=[{"type": "vault", "all": ["x"]}])]})
    assert vault_point.cases[0].expect[0]["type"] == "knowledge_vault"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"{not json", "is not valid JSON"),
        (b"\xff\xfe{}", "is not UTF-8"),
        (json.dumps([1, 2]).encode(), "not an object with 'format' and 'cases'"),
        (json.dumps({"cases": [minimal_case()]}).encode(), "has no 'format' key"),
        (json.dumps({"format": "engram-memory-eval/2", "cases": [minimal_case()]}).encode(), "'engram-memory-eval/2'"),
        (json.dumps({"format": FORMAT, "cases": []}).encode(), "no list of cases"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(), minimal_case()]}).encode(), "Two cases have the id 'c1'"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(id="")]}).encode(), "Case 1 has no 'id'"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(messages=[])]}).encode(), "neither messages nor screens"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(messages=[{"role": "boss", "content": "x", "time": 1}])]}).encode(),
         "case 'c1' message 1: 'role' must be one of"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(messages=[{"role": "user", "content": "x"}])]}).encode(),
         "case 'c1' message 1: 'time' is missing"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(screens=[{"time": "2026-01-01T10:00:00Z", "app": "x", "text": "y"}])]}).encode(),
         "case 'c1' screen 1 has no 'title'"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(screens=[{"time": "noon", "app": "x", "title": "t", "text": "y"}])]}).encode(),
         "is not a date and time"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(expect=[{"type": "semantik", "all": ["a"]}])]}).encode(),
         "'semantik' is not a memory type"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(expect=[{"type": "core"}])]}).encode(), "has no terms"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(expect=[{"all": "ada"}])]}).encode(), "must be a list of non-empty strings"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(forbid=[{"all": ["a"], "max_matches": 0}])]}).encode(), "'max_matches'"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(forbid_visible=["", "x"])]}).encode(), "'forbid_visible'"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(questions=[{"q": "Why?"}])]}).encode(), "neither 'abstain': true nor answer terms"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(questions=[{"q": "Why?", "abstain": True, "answer_all": ["x"]}])]}).encode(),
         "says abstain and also gives answer terms"),
        (json.dumps({"format": FORMAT, "cases": [minimal_case(questions={"q": "Why?"})]}).encode(), "'questions' must be a list"),
    ],
)
def test_loader_names_each_problem_with_a_fix(tmp_path, content, message):
    path = tmp_path / "cases.json"
    path.write_bytes(content)
    with pytest.raises(InvalidInputError) as caught:
        load_cases(path)
    assert message in caught.value.message
    assert caught.value.fix


def test_eval_memory_cli_reports_a_bad_file_with_a_fix(tmp_path, capsys):
    assert main(["eval", "memory", "--data", str(tmp_path / "missing.json"), "--no-llm"]) == 2
    err = capsys.readouterr().err
    assert "There is no memory-eval file" in err and "Fix:" in err
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "engram-memory-eval/0", "cases": []}))
    assert main(["eval", "memory", "--data", str(bad), "--no-llm", "--json"]) == 2
    assert "this Engram reads 'engram-memory-eval/1'" in capsys.readouterr().err


# -- a run --------------------------------------------------------------------------------------


RUN_CASES = {
    "format": FORMAT,
    "cases": [
        {
            "id": "people-and-secret",
            "messages": [
                {"role": "user", "content": "My sister Ada lives in Porto. My locker PIN is 4821.", "time": "2026-02-01T10:00:00Z",
                 "conversation": "fam"},
                {"role": "assistant", "content": "Noted.", "time": "2026-02-01T10:00:30Z", "conversation": "fam"},
                {"role": "user", "content": "I prefer aisle seats.", "time": "2026-02-01T10:01:00Z", "conversation": "fam"},
            ],
            "expect": [{"type": "core", "all": ["aisle"]}, {"type": "semantic", "all": ["ada", "porto"]}],
            "forbid": [{"type": "core", "all": ["window"]}],
            "forbid_visible": ["4821"],
            "questions": [{"q": "What is my blood type?", "abstain": True}],
        },
        {
            "id": "screen",
            "screens": [
                {"time": "2026-03-01T09:00:00Z", "app": "libreoffice", "title": "budget-2027.ods - LibreOffice Calc",
                 "text": "Budget 2027\nTravel 12,000"},
                {"time": "2026-03-01T09:01:00Z", "app": "KeePassXC", "title": "vault.kdbx - KeePassXC", "text": "bank 1234"},
            ],
            "expect": [{"type": "resource", "all": ["budget-2027.ods"]}],
        },
    ],
}


def test_a_rules_only_run_reports_every_score(tmp_path, fake_embedder):
    from evaluation.memory import SCORE_KEYS, evaluate_memory, format_report, rules_only_engine_class

    made = []
    engine_class = rules_only_engine_class()

    def factory(paths, clock):
        made.append(clock())
        return engine_class(paths, embedder=fake_embedder, clock=clock)

    cases = parse_cases(RUN_CASES, "run.json")
    report = evaluate_memory(cases, use_llm=False, engine_factory=factory, workdir=tmp_path)
    for key in SCORE_KEYS:
        assert isinstance(report[key], (int, float)), key
    assert report["memories"]["total"] == sum(report["memories"]["by_type"].values()) > 0
    first, screen = report["cases"]
    assert made[0] == pytest.approx(1769940060.0 + 3600, abs=5)  # an hour after the case's last message
    assert first["stored"]["messages"] == 3 and first["unabsorbed"] == 0
    assert [p["met"] for p in first["points"]][0] is True  # the rule-based preference reaches core memory
    answer = first["answers"][0]
    assert answer["correct"] is answer["abstained"]  # (the fake embedder finds meaning anywhere)
    assert first["visible_leaks"] == 0 and first["leaks"] == []  # the PIN typed in chat is masked everywhere shown
    assert screen["stored"] == {"messages": 0, "screens": 1, "screens_excluded": 1, "screens_without_text": 0}
    assert screen["points"][0]["met"] is True
    assert report["points"]["total"] == 3 and report["questions"]["total"] == report["questions"]["abstain"] == 1
    assert report["abstain_answered"] == 1 - report["questions"]["correct"]
    assert report["absorb"]["llm_calls"] == 0
    table = format_report(report)
    assert "people-and-secret" in table and "point_recall" in table
    assert list(tmp_path.iterdir()) == []  # the temporary stores are gone


# -- the case files -----------------------------------------------------------------------------

DATA = Path(__file__).resolve().parents[2] / "evaluation" / "data"


def covered_types(cases) -> set[str]:
    found = set()
    for case in cases:
        for point in case.expect:
            found.update([point["type"]] if isinstance(point["type"], str) else point["type"])
    return found


def test_the_shipped_case_files_load_cleanly_and_cover_every_type():
    from core.store.types import MEMORY_TYPES

    full = load_cases(DATA / "memory-cases.json")
    small = load_cases(DATA / "memory-cases-small.json")
    assert full.warnings == [] and small.warnings == []
    assert len(full.cases) >= 80 and 12 <= len(small.cases) <= 15
    for cases in (full.cases, small.cases):
        assert covered_types(cases) >= set(MEMORY_TYPES)
        assert any(q["abstain"] for case in cases for q in case.questions)
        assert any(case.forbid for case in cases) and any(case.forbid_active for case in cases)
        assert any(case.forbid_visible for case in cases) and any(case.screens for case in cases)
        assert any(p.get("max_matches") for case in cases for p in case.expect)
        assert all(2 <= len(case.messages) <= 12 or not case.messages for case in cases)
    full_by_id = {case.id: case for case in full.cases}
    assert all(full_by_id[case.id] == case for case in small.cases)  # the small file is a subset
    issue = full_by_id["issue13-eight-message-chat"]
    assert len(issue.messages) == 8 and len(issue.questions) == 6


def test_the_shared_dev_cases_load(tmp_path):
    from tests.conftest import SHARED_DATA

    path = SHARED_DATA / "memory-dev.json"
    if not path.is_file():
        pytest.skip(f"the shared memory-dev.json is not at {path} (the shared data folder sits beside the repo)")
    loaded = load_cases(path)
    assert len(loaded.cases) >= 10 and loaded.warnings == []


def test_leak_queries_are_the_words_written_before_each_secret():
    from evaluation.memory import leak_queries

    case = parse_cases({"format": FORMAT, "cases": [minimal_case(
        messages=[{"role": "user", "content": "The garage gate code is 55821 and my passport number is X4418823.",
                   "time": "2026-03-01T10:00:00Z"},
                  {"role": "user", "content": "Passport number: x4418823 (again)", "time": "2026-03-01T10:01:00Z"}],
        screens=[{"time": "2026-03-01T10:02:00Z", "app": "xterm", "title": "t", "text": "PIN 4821"}],
        forbid_visible=["x4418823", "55821", "4821"])]}).cases[0]
    assert leak_queries(case) == ["passport number", "gate code", "PIN"]


def test_a_failing_answer_is_reported_and_scored_wrong(tmp_path, fake_embedder):
    from core.errors import ModelError
    from evaluation.memory import evaluate_memory, rules_only_engine_class

    engine_class = rules_only_engine_class()

    class Broken(engine_class):
        def ask(self, question, **kwargs):
            raise ModelError("the model crashed", fix="Restart.")

    cases = parse_cases({"format": FORMAT, "cases": [minimal_case()]}, "one.json")
    report = evaluate_memory(cases, use_llm=False, workdir=tmp_path,
                             engine_factory=lambda paths, clock: Broken(paths, embedder=fake_embedder, clock=clock))
    answer = report["cases"][0]["answers"][0]
    assert answer["error"] == "the model crashed" and answer["correct"] is False
    assert report["questions"]["errors"] == 1 and report["qa_accuracy"] == 0.0
