"""The six memory types, declared as data.

Each type has its own table (``memory_<type>``) with the common columns and
its own fields.  The declaration drives validation of input, the schema, the
text that is indexed for search, and how a memory is shown.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from core.errors import InvalidInputError

MAX_FIELD_CHARS = 100_000  # one field; a larger value is refused, never truncated silently
MAX_INDEXED_CHARS = 8_000

COMMON_COLUMNS = ("id", "created_at", "updated_at", "importance", "access_count", "last_accessed_at", "pinned")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str = "text"  # text | time | int | list | choice
    required: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None
    indexed: bool = True  # part of the search text
    label: str = ""


@dataclass(frozen=True)
class TypeSpec:
    name: str
    label: str
    description: str
    fields: tuple[FieldSpec, ...]
    title_field: str
    time_field: str | None = None
    render: Callable[[dict], str] | None = field(default=None, compare=False)

    @property
    def table(self) -> str:
        return f"memory_{self.name}"

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _iso(value: float | None) -> str:
    if value is None:
        return ""
    return datetime.fromtimestamp(stored_timestamp(value), tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def _render_episodic(m: dict) -> str:
    when = _iso(m.get("occurred_at"))
    if m.get("occurred_until"):
        when += " to " + _iso(m.get("occurred_until"))
    parts = [when, m.get("actor") or "", m.get("event_type") or "", m.get("summary") or "", m.get("details") or ""]
    return " | ".join(p for p in parts if p)


def _render_procedural(m: dict) -> str:
    steps = m.get("steps") or []
    numbered = " ".join(f"{i}. {s}" for i, s in enumerate(steps, 1))
    return " | ".join(p for p in (m.get("entry_type") or "", m.get("summary") or "", numbered) if p)


def _render_vault(m: dict) -> str:
    # The secret itself is never indexed: it stays out of FTS snippets and vectors.
    return " | ".join(p for p in (m.get("entry_type") or "", m.get("caption") or "", m.get("source") or "") if p)


def _render_fields(*names: str) -> Callable[[dict], str]:
    def render(m: dict) -> str:
        return " | ".join(str(m[n]) for n in names if m.get(n))

    return render


MEMORY_TYPES: dict[str, TypeSpec] = {
    spec.name: spec
    for spec in (
        TypeSpec(
            "core",
            "Core",
            "Who the user is and lasting preferences, in labelled blocks.",
            (
                FieldSpec("label", required=True, label="Label"),
                FieldSpec("value", required=True, label="Value"),
                FieldSpec("char_limit", kind="int", default=2000, indexed=False, label="Size limit"),
            ),
            title_field="label",
            render=_render_fields("label", "value"),
        ),
        TypeSpec(
            "episodic",
            "Episodic",
            "Timestamped events: what happened, when, who did it.",
            (
                FieldSpec("occurred_at", kind="time", required=True, label="Started"),
                FieldSpec("occurred_until", kind="time", label="Ended"),
                FieldSpec("actor", label="Who"),
                FieldSpec("event_type", label="Kind of event"),
                FieldSpec("summary", required=True, label="Summary"),
                FieldSpec("details", label="Details"),
            ),
            title_field="summary",
            time_field="occurred_at",
            render=_render_episodic,
        ),
        TypeSpec(
            "semantic",
            "Semantic",
            "Facts, people and concepts.",
            (
                FieldSpec("name", required=True, label="Name"),
                FieldSpec("summary", required=True, label="Summary"),
                FieldSpec("details", label="Details"),
            ),
            title_field="name",
            render=_render_fields("name", "summary", "details"),
        ),
        TypeSpec(
            "procedural",
            "Procedural",
            "How-tos, workflows and scripts, as ordered steps.",
            (
                FieldSpec("entry_type", kind="choice", choices=("workflow", "guide", "script"), default="guide", label="Kind"),
                FieldSpec("summary", required=True, label="Summary"),
                FieldSpec("steps", kind="list", default=[], label="Steps"),
            ),
            title_field="summary",
            render=_render_procedural,
        ),
        TypeSpec(
            "resource",
            "Resource",
            "Documents, web pages, files and images seen or used.",
            (
                FieldSpec("title", required=True, label="Title"),
                FieldSpec("resource_type", default="document", label="Kind"),
                FieldSpec("location", label="Location"),
                FieldSpec("summary", label="Summary"),
                FieldSpec("content_excerpt", label="Excerpt"),
            ),
            title_field="title",
            render=_render_fields("title", "resource_type", "location", "summary", "content_excerpt"),
        ),
        TypeSpec(
            "knowledge_vault",
            "Knowledge vault",
            "Exact lookup data -- addresses, account numbers, credentials -- kept masked.",
            (
                FieldSpec("entry_type", required=True, label="Kind"),
                FieldSpec("caption", required=True, label="Caption"),
                FieldSpec("secret_value", required=True, indexed=False, label="Value"),
                FieldSpec("sensitivity", kind="choice", choices=("low", "medium", "high"), default="medium", label="Sensitivity"),
                FieldSpec("source", label="Source"),
            ),
            title_field="caption",
            render=_render_vault,
        ),
    )
}

TYPE_ALIASES = {"vault": "knowledge_vault", "knowledge-vault": "knowledge_vault", "knowledge": "knowledge_vault"}


def type_spec(name: str) -> TypeSpec:
    key = TYPE_ALIASES.get(name.lower().strip(), name.lower().strip()) if isinstance(name, str) else name
    try:
        return MEMORY_TYPES[key]
    except (KeyError, TypeError):
        raise InvalidInputError(
            f"Unknown memory type {name!r}.",
            fix="Use one of: " + ", ".join(MEMORY_TYPES) + ".",
        ) from None


# Every time Engram stores lies in 1970-2100: wider values are typing or export errors (or an attack),
# and past 2038 or before 1970 some platforms cannot even format them.
MIN_TIMESTAMP = 0.0  # 1970-01-01T00:00:00Z
MAX_TIMESTAMP = 4_102_444_800.0  # 2100-01-01T00:00:00Z
_TIME_FIX = "Use ISO 8601 (for example 2026-05-02 or 2026-05-02T10:00:00) or Unix seconds, between 1970 and 2100."


def to_timestamp(value: Any, what: str = "time") -> float | None:
    """A unix timestamp from a datetime, an ISO-8601 string or a number, between 1970 and 2100.

    The one place a time from outside is parsed: NaN, infinities, numbers too
    large for a float and times outside 1970-2100 raise ``InvalidInputError``.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidInputError(f"{what} must be a date and time, not {value!r}.", fix=_TIME_FIX)
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        return _in_range(number, value, what)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.astimezone()
        try:
            number = value.timestamp()
        except (OverflowError, OSError, ValueError):
            raise _out_of_range(value.isoformat(), what) from None
        return _in_range(number, value.isoformat(), what)
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidInputError(f"{what} {value[:80]!r} is not a date and time Engram understands.", fix=_TIME_FIX) from None
        if parsed.tzinfo is None:
            try:
                parsed = parsed.astimezone()
            except (OverflowError, OSError, ValueError):
                raise _out_of_range(value, what) from None
        try:
            number = parsed.timestamp()
        except (OverflowError, OSError, ValueError):
            raise _out_of_range(value, what) from None
        return _in_range(number, value, what)
    raise InvalidInputError(f"{what} must be a date and time, not {type(value).__name__}.", fix=_TIME_FIX)


def _out_of_range(shown: Any, what: str) -> InvalidInputError:
    return InvalidInputError(f"{what} {str(shown)[:40]} is not a time between 1970 and 2100.", fix=_TIME_FIX)


def _in_range(number: float, shown: Any, what: str) -> float:
    if math.isnan(number) or math.isinf(number):
        raise InvalidInputError(f"{what} is {str(shown)[:40]}, not a time.", fix=_TIME_FIX)
    if not MIN_TIMESTAMP <= number <= MAX_TIMESTAMP:
        fix = _TIME_FIX
        if MIN_TIMESTAMP <= number / 1000 <= MAX_TIMESTAMP:
            fix += " This number looks like milliseconds: divide it by 1000."
        raise InvalidInputError(f"{what} {str(shown)[:40]} is not a time between 1970 and 2100.", fix=fix)
    return number


def stored_timestamp(value: Any) -> float:
    """A time read back from the store, kept within 1970-2100.

    Times are checked on the way in; a row stored before that check (or
    written by hand) may hold NaN or 1e300, and one such row must not break
    every later absorb, recall or view, so it is read as the nearest bound.
    """
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return MIN_TIMESTAMP
    if math.isnan(number):
        return MIN_TIMESTAMP
    return min(max(number, MIN_TIMESTAMP), MAX_TIMESTAMP)


def storable_ids(ids: Any) -> list[int]:
    """The ids that SQLite can hold (signed 64-bit); larger or smaller ones cannot name a row."""
    return [i for i in (int(x) for x in ids) if -(2**63) <= i < 2**63]


def iso(value: float | None) -> str | None:
    if value is None:
        return None
    return datetime.fromtimestamp(stored_timestamp(value), tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def validate_fields(spec: TypeSpec, data: Any, *, partial: bool = False) -> dict[str, Any]:
    """Check and normalise user data for ``spec``; unknown or missing fields are errors."""
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"A {spec.name} memory must be a JSON object, not {type(data).__name__}.",
            fix="Pass an object such as " + json.dumps({f.name: "..." for f in spec.fields if f.required}) + ".",
        )
    common_ok = {"importance", "pinned"}
    unknown = set(data) - set(spec.field_names) - common_ok
    if unknown:
        raise InvalidInputError(
            f"Unknown field(s) for a {spec.name} memory: {', '.join(sorted(unknown))}.",
            fix="Fields are: " + ", ".join(spec.field_names) + " (and importance, pinned).",
        )
    out: dict[str, Any] = {}
    for f in spec.fields:
        if f.name not in data:
            if partial:
                continue
            if f.required:
                raise InvalidInputError(
                    f"A {spec.name} memory needs the field {f.name!r}.",
                    fix="Required fields: " + ", ".join(x.name for x in spec.fields if x.required) + ".",
                )
            out[f.name] = list(f.default) if isinstance(f.default, list) else f.default
            continue
        value = data[f.name]
        out[f.name] = _validate_value(spec, f, value)
    if "importance" in data:
        try:
            importance = float(data["importance"])
        except (TypeError, ValueError):
            raise InvalidInputError("importance must be a number from 0 to 1.", fix="For example 0.5.") from None
        if not 0.0 <= importance <= 1.0:
            raise InvalidInputError("importance must be from 0 to 1.", fix="For example 0.5.")
        out["importance"] = importance
    if "pinned" in data:
        out["pinned"] = 1 if data["pinned"] else 0
    return out


def _validate_value(spec: TypeSpec, f: FieldSpec, value: Any) -> Any:
    what = f"{spec.name}.{f.name}"
    if value is None:
        if f.required:
            raise InvalidInputError(f"{what} cannot be empty.", fix=f"Give {f.name} a value.")
        return list(f.default) if isinstance(f.default, list) else f.default  # null means "the default"
    if f.kind == "time":
        return to_timestamp(value, what)
    if f.kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise InvalidInputError(f"{what} must be a whole number.", fix="For example 2000.")
        try:
            number = int(value)
        except (ValueError, OverflowError):  # "abc", NaN, infinity
            raise InvalidInputError(f"{what} must be a whole number, not {str(value)[:40]!r}.", fix="For example 2000.") from None
        if not 0 < number <= MAX_FIELD_CHARS:
            raise InvalidInputError(f"{what} must be from 1 to {MAX_FIELD_CHARS:,}.", fix="For example 2000.")
        return number
    if f.kind == "list":
        if isinstance(value, str):
            value = [line for line in value.splitlines() if line.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInputError(f"{what} must be a list of strings.", fix='For example ["Open the app", "Click Save"].')
        total = sum(len(v) for v in value)
        if total > MAX_FIELD_CHARS:
            raise _too_long(what, total)
        for item in value:
            check_text(item, what)
        return [v.strip() for v in value]
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise InvalidInputError(f"{what} must be text, not {type(value).__name__}.", fix="Pass a string.")
    text = str(value).strip()
    if f.required and not text:
        raise InvalidInputError(f"{what} cannot be empty.", fix=f"Give {f.name} a value.")
    if len(text) > MAX_FIELD_CHARS:
        raise _too_long(what, len(text))
    check_text(text, what)
    if f.kind == "choice" and text not in f.choices:
        raise InvalidInputError(f"{what} must be one of {', '.join(f.choices)}, not {text!r}.", fix=f"Use one of {', '.join(f.choices)}.")
    return text


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(text: str, what: str) -> str:
    """``text`` if a UTF-8 store can hold it; a NUL character or a lone surrogate is an ``InvalidInputError``."""
    if "\x00" in text:
        raise InvalidInputError(f"{what} contains a NUL character.", fix="Remove binary data from the text.")
    found = _LONE_SURROGATE.search(text)
    if found:
        raise InvalidInputError(
            f"{what} contains a broken character (the lone surrogate \\u{ord(found.group()):04x}) at character {found.start() + 1}.",
            fix="A \\u escape there is half of a character pair: write the whole character, or remove it.",
        )
    return text


def _too_long(what: str, size: int) -> InvalidInputError:
    return InvalidInputError(
        f"{what} is {size:,} characters; a memory field holds at most {MAX_FIELD_CHARS:,}.",
        fix="Store large documents as a resource with a location and a short excerpt, or split the text.",
    )


def search_text(spec: TypeSpec, fields: dict) -> str:
    """The text indexed for full-text search for a memory of type ``spec`` (its vector: ``vector_text``)."""
    text = spec.render(fields) if spec.render else ""
    return text[:MAX_INDEXED_CHARS]


# "Caroline, 8 May 2023: " or "Caroline: " before what a person said.  Spelled with the memory's own name, so
# "Dana's sister: allergic to nuts" keeps its subject.
_ATTRIBUTION = r"^{name}(?:,\s*\d{{1,2}}\s+\w+\s+\d{{4}})?:\s+"


def _without_attribution(text: str, name: str | None) -> str:
    if not name or not text:
        return text
    return re.sub(_ATTRIBUTION.format(name=re.escape(name.strip())), "", text, count=1, flags=re.IGNORECASE)


def vector_text(spec: TypeSpec, fields: dict) -> str:
    """The text embedded for search by meaning: what the memory says.

    The full-text side matches names, days and labels; in the vector they only
    add likeness between unrelated memories.  Every quote of one person starts
    "Caroline, 8 May 2023:", every event with its timestamp, and those shared
    words pulled a question about one thing Caroline said towards everything
    she said.  So an episodic memory is embedded by its summary and details, and
    a semantic one by its summary (without the speaker's attribution) and
    details, with its name in front only when the summary does not already say it.
    """
    if spec.name == "episodic":
        parts = [_without_attribution(fields.get("summary") or "", fields.get("actor")), fields.get("details")]
    elif spec.name == "semantic":
        name = (fields.get("name") or "").strip()
        summary = fields.get("summary") or ""
        said = _without_attribution(summary, name)
        parts = [name if name and name.lower() not in summary.lower() else "", said, fields.get("details")]
    else:
        return search_text(spec, fields)
    text = " | ".join(str(p) for p in parts if p)
    return (text or search_text(spec, fields))[:MAX_INDEXED_CHARS]
