"""Reading memory-quality case files (format ``engram-memory-eval/1``).

A file is ``{"format": "engram-memory-eval/1", "cases": [CASE, ...]}``; see
``memory-eval-format.md`` for what a case holds.  Everything is checked before
anything runs, and a problem is an ``InvalidInputError`` that names the case
and the key.  Chat messages are checked by the same code as ``engram ingest
chat``.  Point and answer terms are lowercased here; a point type may be any
memory type (or its alias, ``vault``), ``"any"``, or a list of types.  Keys the
format does not know are ignored and reported as warnings, so a file with a
note or a comment still runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.absorb.ingest import message_from_record
from core.errors import InvalidInputError
from core.store.types import to_timestamp, type_spec

FORMAT = "engram-memory-eval/1"
FORMAT_DOC = "memory-eval-format.md"
CASE_KEYS = ("id", "messages", "screens", "expect", "forbid", "forbid_active", "forbid_visible", "questions")
POINT_KEYS = ("type", "all", "any", "none", "max_matches")
QUESTION_KEYS = ("q", "abstain", "answer_all", "answer_any", "answer_none")
SCREEN_KEYS = ("time", "app", "title", "url", "text")
MESSAGE_KEYS = ("role", "content", "time", "conversation", "speaker", "id")


@dataclass
class Screen:
    ts: float
    app: str
    title: str
    url: str | None
    text: str
    time: str  # as written in the file


@dataclass
class Case:
    id: str
    messages: list[dict]  # the records as written (each checked like an 'engram ingest chat' line)
    screens: list[Screen]
    expect: list[dict]
    forbid: list[dict]
    forbid_active: list[dict]
    forbid_visible: list[str]
    questions: list[dict]

    def source_texts(self) -> list[str]:
        """Every message, screen text, title, URL and time: what an answer's numbers may come from."""
        out: list[str] = []
        for record in self.messages:
            out += [str(record.get("content") or ""), str(record.get("time"))]
        for screen in self.screens:
            out += [screen.text, screen.title, screen.url or "", screen.time]
        return out

    @property
    def last_ts(self) -> float:
        times = [to_timestamp(m["time"]) for m in self.messages] + [s.ts for s in self.screens]
        return max(times)


@dataclass
class CaseFile:
    path: str
    cases: list[Case]
    warnings: list[str] = field(default_factory=list)


def _bad(message: str, fix: str = f"See {FORMAT_DOC}: a case has id, messages and/or screens, expect, "
                                  "forbid, forbid_active, forbid_visible and questions.") -> InvalidInputError:
    return InvalidInputError(message, fix=fix)


def load_cases(path: str | Path) -> CaseFile:
    """The checked cases of ``path``; raises ``InvalidInputError`` on the first problem."""
    path = Path(path)
    if not path.is_file():
        raise _bad(f"There is no memory-eval file at {path}.",
                   f"Pass --data with a JSON file in the {FORMAT} format, e.g. evaluation/data/memory-cases.json.")
    try:
        raw = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise _bad(f"{path.name} is not UTF-8 text (byte {exc.start + 1}).", "Save the file as UTF-8 JSON.") from None
    except RecursionError:
        raise _bad(f"{path.name} is nested too deeply to be a case file.", f"Give a JSON file in the {FORMAT} format.") from None
    except ValueError as exc:
        raise _bad(f"{path.name} is not valid JSON: {exc}.", f"Give a JSON file in the {FORMAT} format.") from None
    return parse_cases(raw, str(path))


def parse_cases(raw: Any, where: str = "the case file") -> CaseFile:
    """Check an already parsed case file; see ``load_cases``."""
    if not isinstance(raw, dict):
        raise _bad(f"{where} holds a JSON {type(raw).__name__}, not an object with 'format' and 'cases'.",
                   f'Write {{"format": "{FORMAT}", "cases": [...]}}.')
    if "format" not in raw:
        raise _bad(f"{where} has no 'format' key.", f'Add "format": "{FORMAT}" at the top level.')
    if raw["format"] != FORMAT:
        raise _bad(f"{where} is in the format {raw['format']!r}; this Engram reads {FORMAT!r}.",
                   f'Convert the file to {FORMAT} (see {FORMAT_DOC}) and set "format": "{FORMAT}".')
    cases = raw.get("cases")
    if not isinstance(cases, list) or not cases:
        raise _bad(f"{where} has no list of cases under 'cases'.", 'Add "cases": [ {...}, ... ] with at least one case.')
    out = CaseFile(where, [])
    seen: set[str] = set()
    for index, item in enumerate(cases, 1):
        case = _case(item, index, out.warnings)
        if case.id in seen:
            raise _bad(f"Two cases have the id {case.id!r}.", "Give every case its own id.")
        seen.add(case.id)
        out.cases.append(case)
    for key in raw:
        if key not in ("format", "cases"):
            out.warnings.append(f"the top-level key {key!r} is not part of {FORMAT}; ignored")
    return out


def _unknown(data: dict, known: tuple[str, ...], where: str, warnings: list[str]) -> None:
    for key in data:
        if key not in known:
            warnings.append(f"{where}: the key {key!r} is not part of {FORMAT}; ignored")


def _list(data: dict, key: str, where: str) -> list:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise _bad(f"{where}: '{key}' must be a list, not {type(value).__name__}.")
    return value


def _case(item: Any, index: int, warnings: list[str]) -> Case:
    if not isinstance(item, dict):
        raise _bad(f"Case {index} is a JSON {type(item).__name__}, not an object.")
    case_id = item.get("id")
    if not isinstance(case_id, str) or not case_id.strip():
        raise _bad(f"Case {index} has no 'id' (a non-empty string).", "Give every case an id such as \"c01-new-address\".")
    where = f"case {case_id!r}"
    _unknown(item, CASE_KEYS, where, warnings)
    messages = []
    for number, record in enumerate(_list(item, "messages", where), 1):
        at = f"{where} message {number}"
        if isinstance(record, dict):
            _unknown(record, MESSAGE_KEYS, at, warnings)
        message_from_record(record, at, case_id)  # the checks of 'engram ingest chat'
        messages.append(dict(record))
    screens = [_screen(s, f"{where} screen {n}", warnings) for n, s in enumerate(_list(item, "screens", where), 1)]
    if not messages and not screens:
        raise _bad(f"{where} has neither messages nor screens.", "Give the case at least one message or screen.")
    forbid_visible = _list(item, "forbid_visible", where)
    if not all(isinstance(s, str) and s.strip() for s in forbid_visible):
        raise _bad(f"{where}: 'forbid_visible' must be a list of non-empty strings.")
    return Case(
        id=case_id,
        messages=messages,
        screens=screens,
        expect=[_point(p, f"{where} expect {n}", warnings) for n, p in enumerate(_list(item, "expect", where), 1)],
        forbid=[_point(p, f"{where} forbid {n}", warnings) for n, p in enumerate(_list(item, "forbid", where), 1)],
        forbid_active=[_point(p, f"{where} forbid_active {n}", warnings)
                       for n, p in enumerate(_list(item, "forbid_active", where), 1)],
        forbid_visible=list(forbid_visible),
        questions=[_question(q, f"{where} question {n}", warnings) for n, q in enumerate(_list(item, "questions", where), 1)],
    )


def _screen(item: Any, where: str, warnings: list[str]) -> Screen:
    if not isinstance(item, dict):
        raise _bad(f"{where} is a JSON {type(item).__name__}, not an object.")
    _unknown(item, SCREEN_KEYS, where, warnings)
    for key in ("time", "app", "title", "text"):
        if key not in item:
            raise _bad(f"{where} has no {key!r}.", "A screen has time, app, title, text and optionally url.")
    for key in ("app", "title", "text"):
        if not isinstance(item[key], str):
            raise _bad(f"{where}: {key!r} must be a string, not {type(item[key]).__name__}.")
    url = item.get("url")
    if url is not None and not isinstance(url, str):
        raise _bad(f"{where}: 'url' must be a string.")
    if item["time"] in (None, ""):
        raise _bad(f"{where} has no 'time'.", "Give the screen its time, as ISO 8601 or Unix seconds.")
    ts = to_timestamp(item["time"], f"{where}: 'time'")
    return Screen(ts, item["app"], item["title"], url or None, item["text"], str(item["time"]))


def _terms(data: dict, key: str, where: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(t, str) and t.strip() for t in value):
        raise _bad(f"{where}: '{key}' must be a list of non-empty strings (lowercase terms).")
    return [t.lower() for t in value]


def _point(item: Any, where: str, warnings: list[str]) -> dict:
    if not isinstance(item, dict):
        raise _bad(f"{where} is a JSON {type(item).__name__}, not a point object.")
    _unknown(item, POINT_KEYS, where, warnings)
    point: dict[str, Any] = {"type": _point_type(item.get("type", "any"), where)}
    for key in ("all", "any", "none"):
        if key in item:
            point[key] = _terms(item, key, where)
    if not point.get("all") and not point.get("any"):
        raise _bad(f"{where} has no terms: it needs 'all' or 'any' (or both).",
                   'For example {"type": "semantic", "all": ["rosa", "valencia"]}.')
    if "max_matches" in item:
        limit = item["max_matches"]
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise _bad(f"{where}: 'max_matches' must be a whole number of at least 1, not {limit!r}.")
        point["max_matches"] = limit
    return point


def _point_type(value: Any, where: str) -> str | list[str]:
    def one(name: Any) -> str:
        if not isinstance(name, str):
            raise _bad(f"{where}: a point type must be a string, not {type(name).__name__}.")
        if name.strip().lower() == "any":
            return "any"
        try:
            return type_spec(name).name
        except InvalidInputError:
            raise _bad(f"{where}: {name!r} is not a memory type.",
                       "Use core, episodic, semantic, procedural, resource, knowledge_vault, 'any', or a list of them.") from None

    if isinstance(value, list):
        if not value:
            raise _bad(f"{where}: the list of point types is empty.")
        return [one(v) for v in value]
    return one(value)


def _question(item: Any, where: str, warnings: list[str]) -> dict:
    if not isinstance(item, dict):
        raise _bad(f"{where} is a JSON {type(item).__name__}, not a question object.")
    _unknown(item, QUESTION_KEYS, where, warnings)
    text = item.get("q")
    if not isinstance(text, str) or not text.strip():
        raise _bad(f"{where} has no 'q' (the question, a non-empty string).")
    abstain = item.get("abstain", False)
    if not isinstance(abstain, bool):
        raise _bad(f"{where}: 'abstain' must be true or false.")
    question: dict[str, Any] = {"q": text.strip(), "abstain": abstain}
    for key in ("answer_all", "answer_any", "answer_none"):
        if key in item:
            question[key] = _terms(item, key, where)
    if abstain and (question.get("answer_all") or question.get("answer_any")):
        raise _bad(f"{where} says abstain and also gives answer terms.",
                   "An unanswerable question has only 'abstain': true; remove answer_all and answer_any.")
    if not abstain and not any(question.get(k) for k in ("answer_all", "answer_any", "answer_none")):
        raise _bad(f"{where} has neither 'abstain': true nor answer terms.",
                   "Give answer_all, answer_any or answer_none, or 'abstain': true when nothing in the case answers it.")
    return question
