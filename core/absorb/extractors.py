"""Rule-based extractors: memories that need no model.

They run on every batch, whatever model is (or is not) installed:

- activity spans from the screen's app/window timeline ("Edited budget.ods in
  LibreOffice Calc, 10:02–10:47");
- resources from URLs, file paths and document titles;
- knowledge-vault entries from the secrets ``core.secrets`` found and masked
  on the way in (carried in the observation's meta: passwords, PINs, codes,
  cards, IBANs, ID numbers, keys), and from e-mail addresses, phone numbers
  and account numbers in the text; only from the user's own words, or from
  the screen when ``privacy.vault_from_screen`` is on;
- for chats, one episodic memory per exchange (who said what, when), one per
  sentence that names a date, and the speakers' stated preferences.

Each extractor returns ``Candidate`` objects; the absorber decides whether a
candidate adds a memory or extends one it already has (same URL, same secret,
the same window still open).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Sequence

from core.absorb.dates import find_dates, noon_ts
from core.secrets import MASK_CHAR, carried_secrets, find_secrets

ACTIVITY_GAP_SECONDS = 10 * 60  # capture stores a frame only when the screen changes; reading is quiet
MAX_TRANSCRIPT_CHARS = 6000
MAX_SENTENCE_CHARS = 300
TITLE_SEPARATORS = re.compile(r"\s+[-–—|·]\s+")
EDITABLE = re.compile(r"\.(ods|odt|odp|ott|docx?|xlsx?|pptx?|md|txt|csv|tex|py|js|ts|rs|go|c|cpp|h|java|rb|sh|json|ya?ml|toml|html|css|ipynb)\b", re.I)
DOCUMENT = re.compile(r"[\w .()\[\]+,&'-]{1,120}\.(ods|odt|odp|docx?|xlsx?|pptx?|pdf|md|txt|csv|epub|png|jpe?g|svg|tex|ipynb)\b", re.I)
BROWSERS = ("firefox", "chrome", "chromium", "brave", "edge", "safari", "opera", "vivaldi", "epiphany", "librewolf")
READERS = ("evince", "okular", "zathura", "atril", "xreader", "acrobat")

URL = re.compile(r"\bhttps?://[^\s<>\"'`)\]]+", re.I)
POSIX_PATH = re.compile(r"(?<![\w/.:])(~?/(?:[\w.@+-]+/)+[\w.@+-]+\.[A-Za-z0-9]{1,8})\b")
WINDOWS_PATH = re.compile(r"\b([A-Za-z]:\\(?:[\w .@+-]+\\)+[\w .@+-]+\.[A-Za-z0-9]{1,8})\b")
EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b")
PHONE = re.compile(r"(?<![\w+])(\+\d{1,3}[\s.-]?)?(\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,5}){1,4}(?![\w-])")
PHONE_CONTEXT = re.compile(r"(?i)\b(phone|tel|telephone|mobile|cell|call|number|whatsapp|fax|ring)\b")
ACCOUNT = re.compile(r"(?i)\b(?:account|acct|a/c)\s*(?:number|no\.?|nr\.?|#)?\s*(?:is\s+)?[:#]?\s*(\d[\d -]{4,22}\d)\b")
PREFERENCE = re.compile(
    r"(?i)\b(?:I|we)\s+(?:really\s+|absolutely\s+|do(?:n't| not)\s+|also\s+)?(?:prefer|like|love|enjoy|hate|dislike|adore|can't stand)\b"
    r"|\bmy\s+favou?rite\b|\bI(?:'m| am)\s+(?:allergic|vegetarian|vegan)\b"
)
SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")

@dataclass
class Candidate:
    """A memory the absorber may store: its type, fields and the observations it came from."""

    type: str
    fields: dict[str, Any]
    sources: list[int]
    origin: str = "rules"  # rules | llm
    key: tuple | None = None  # identity used to find the memory this one extends
    text: str = ""  # the statement, for reconcile prompts and reports

    def describe(self) -> str:
        return self.text or str(self.fields.get("summary") or self.fields.get("title") or self.fields.get("caption") or "")


def speaker_of(obs) -> str:
    meta = obs.meta or {}
    if meta.get("speaker"):
        return str(meta["speaker"])
    return {"user": "User", "assistant": "Assistant"}.get(obs.role or "", (obs.role or "someone").capitalize())


def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M")


def looks_like_garbage(text: str) -> bool:
    """Text no reader could use: too short, or mostly tokens that are not words (bad OCR)."""
    tokens = text.split()
    if len(text.strip()) < 3 or not tokens:
        return True
    wordlike = sum(1 for t in tokens if re.fullmatch(r"[(\"']?[A-Za-z][a-z]*[a-z'’]?[.,;:!?)\"']*|[A-Z]{2,5}|\d[\d.,:/-]*", t)
                   and (re.search(r"[aeiouyAEIOUY]", t) or t[0].isdigit() or len(t) <= 3))
    return wordlike / len(tokens) < 0.4


# -- screen -----------------------------------------------------------------------------


def split_title(title: str | None, app: str | None) -> tuple[str, str]:
    """(document or page, application name) from a window title such as 'budget.ods - LibreOffice Calc'."""
    title = (title or "").strip()
    parts = [p for p in TITLE_SEPARATORS.split(title) if p.strip()]
    if len(parts) >= 2:
        return " - ".join(parts[:-1]).strip(), parts[-1].strip()
    return title, (app or title or "an application").strip()


def activity_spans(observations: Sequence) -> list[Candidate]:
    """One episodic memory per stretch of time spent in the same window."""
    screen = sorted((o for o in observations if o.kind == "screen"), key=lambda o: (o.ts, o.id))
    spans: list[list] = []
    for obs in screen:
        key = ((obs.app or "").lower(), obs.window_title or "")
        if spans and spans[-1][0] == key and obs.ts - spans[-1][-1].ts <= ACTIVITY_GAP_SECONDS:
            spans[-1].append(obs)
        else:
            spans.append([key, obs])
    out: list[Candidate] = []
    for key, *members in spans:
        if not (members[0].window_title or members[0].app):
            continue
        first, last = members[0], members[-1]
        document, app_name = split_title(first.window_title, first.app)
        low = f"{first.app or ''} {app_name}".lower()
        if document and document != app_name:
            if any(b in low for b in BROWSERS):
                verb = "Viewed"
            elif any(r in low for r in READERS) or document.lower().endswith(".pdf"):
                verb = "Read"
            elif EDITABLE.search(document):
                verb = "Edited"
            else:
                verb = "Worked on"
            what = f"{verb} {document} in {app_name}"
        else:
            what = f"Used {app_name}"
        summary = f"{what}, {_clock(first.ts)}–{_clock(last.ts)}"
        details = f"Window: {first.window_title or ''}\nApplication: {first.app or app_name}"
        out.append(
            Candidate(
                "episodic",
                {"occurred_at": first.ts, "occurred_until": last.ts, "actor": "user", "event_type": "activity",
                 "summary": summary, "details": details},
                [o.id for o in members],
                # A single glimpse of a window only extends a span already stored (see the absorber).
                key=("activity", details, len(members)),
                text=summary,
            )
        )
    return out


# -- resources ------------------------------------------------------------------------


def _clean_url(url: str) -> str:
    return url.rstrip(".,;:!?'\"").split("#", 1)[0]


def resources(observations: Sequence) -> list[Candidate]:
    """Web pages, files and documents the observations name, one candidate per location."""
    found: dict[str, Candidate] = {}

    def add(location: str, title: str, kind: str, obs) -> None:
        key = location.lower()
        if key in found:
            if obs.id not in found[key].sources:
                found[key].sources.append(obs.id)
            return
        found[key] = Candidate(
            "resource",
            {"title": title[:300], "resource_type": kind, "location": location if kind != "document" else None,
             "summary": None, "content_excerpt": None},
            [obs.id],
            key=("resource", key),
            text=f"{title} ({location})" if location != title else title,
        )

    for obs in observations:
        document, _ = split_title(obs.window_title, obs.app) if obs.window_title else ("", "")
        if obs.url:
            url = _clean_url(obs.url)
            add(url, document or url, "web page", obs)
        elif document and DOCUMENT.fullmatch(document.strip("*• ")):
            name = document.strip("*• ")
            add(name, name, "document", obs)
        text = obs.text or ""
        for match in URL.finditer(text):
            url = _clean_url(match.group())
            if len(url) > 12:
                add(url, url, "web page", obs)
        for pattern in (POSIX_PATH, WINDOWS_PATH):
            for match in pattern.finditer(text):
                path = match.group(1)
                add(path, re.split(r"[\\/]", path)[-1], "file", obs)
    return list(found.values())


# -- knowledge vault ------------------------------------------------------------------

# Lookup values: not secrets (they stay readable in the text), but worth an exact entry.
LOOKUP_LABELS = {
    "email": ("e-mail address", "low"),
    "phone": ("phone number", "medium"),
    "account": ("account number", "high"),
}


def _spans_overlap(a: tuple[int, int], spans: Iterable[tuple[int, int]]) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


def find_lookup_values(text: str) -> list[tuple[str, str, int, int]]:
    """``(kind, value, start, end)`` for every e-mail address, phone number and account number in ``text``.

    Secrets (cards, IBANs, passwords, keys...) are ``core.secrets``'s; their spans are left out here.
    """
    out: list[tuple[str, str, int, int]] = []
    taken: list[tuple[int, int]] = [(s.start, s.end) for s in find_secrets(text)]

    def keep(kind: str, value: str, start: int, end: int) -> None:
        if MASK_CHAR not in value and not _spans_overlap((start, end), taken):
            taken.append((start, end))
            out.append((kind, value, start, end))

    for match in EMAIL.finditer(text):
        keep("email", match.group(), match.start(), match.end())
    for match in ACCOUNT.finditer(text):
        keep("account", match.group(1).strip(), match.start(1), match.end(1))
    date_spans = [(d.start, d.end) for d in find_dates(text)]
    for match in PHONE.finditer(text):
        value = match.group().strip()
        digits = re.sub(r"\D", "", value)
        if not 8 <= len(digits) <= 15 or _spans_overlap((match.start(), match.end()), date_spans):
            continue
        if re.fullmatch(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}", value):
            continue  # a date written with digits
        prefix = text[max(0, match.start() - 40) : match.start()]
        if value.startswith("+") or PHONE_CONTEXT.search(prefix):
            keep("phone", value, match.start(), match.end())
    out.sort(key=lambda item: item[2])
    return out


def may_fill_vault(obs, *, include_screen: bool) -> bool:
    """Whether an observation's values may become vault entries: the user's own words, or the screen when allowed.

    Assistant, tool and system messages are data, never the user's say: their
    secrets are masked like everyone's, but they make no vault entry.
    """
    if obs.kind == "screen":
        return include_screen
    return obs.role in ("user", None)


def vault_entries(observations: Sequence, *, include_screen: bool) -> list[Candidate]:
    """Knowledge-vault candidates: the secrets an observation's meta carries, and lookup values in its text.

    Secrets are captioned with their label ("bank PIN", "office wifi password");
    text stored before masking existed is read with the same detector.
    """
    found: dict[tuple, Candidate] = {}
    for obs in observations:
        if not may_fill_vault(obs, include_screen=include_screen):
            continue
        text = obs.text or ""
        items = [(c["kind"], c["label"], c["value"], "high") for c in carried_secrets(obs.meta)]
        items += [(s.kind, s.label, s.value, "high") for s in find_secrets(text)]
        items += [(kind, LOOKUP_LABELS[kind][0], value, LOOKUP_LABELS[kind][1]) for kind, value, _s, _e in find_lookup_values(text)]
        speaker = (obs.meta or {}).get("speaker") if obs.kind != "screen" else None
        if obs.kind == "chat":
            source = f"chat: {obs.conversation or 'conversation'}"
        else:
            source = f"{obs.kind}: {obs.app or ''} {obs.window_title or ''}".strip()
        for kind, label, value, sensitivity in items:
            if MASK_CHAR in value:
                continue  # a mask: the clear value never reached the database
            caption = f"{label} ({speaker})" if speaker else label
            key = ("knowledge_vault", kind, "".join(value.split()).lower())
            if key in found:
                if obs.id not in found[key].sources:
                    found[key].sources.append(obs.id)
                continue
            found[key] = Candidate(
                "knowledge_vault",
                {"entry_type": kind, "caption": caption[:300], "secret_value": value, "sensitivity": sensitivity,
                 "source": source[:300]},
                [obs.id],
                key=key,
                text=caption,
            )
    return list(found.values())


# -- chat ---------------------------------------------------------------------------------


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.findall(text) if s.strip()]


def chat_exchange(observations: Sequence) -> list[Candidate]:
    """One episodic memory for a batch of chat messages: who talked, when, and what was said."""
    chat = [o for o in observations if o.kind == "chat" and (o.text or "").strip()]
    if not chat:
        return []
    speakers: list[str] = []
    for obs in chat:
        if speaker_of(obs) not in speakers:
            speakers.append(speaker_of(obs))
    names = " and ".join(speakers) if len(speakers) <= 2 else ", ".join(speakers[:-1]) + " and " + speakers[-1]
    # The first sentence that says something (not "Hi!") stands for the exchange.
    sentences = [s for o in chat for s in _sentences(" ".join(o.text.split()))]
    first_sentence = next((s for s in sentences if len(s.split()) >= 5), sentences[0] if sentences else "")[:160]
    lines, used = [], 0
    for obs in chat:
        line = f"{speaker_of(obs)}: {' '.join(obs.text.split())}"
        if used + len(line) > MAX_TRANSCRIPT_CHARS:
            lines.append("…")
            break
        lines.append(line)
        used += len(line) + 1
    summary = f"{names} chatted: {first_sentence}"
    return [
        Candidate(
            "episodic",
            {"occurred_at": chat[0].ts, "occurred_until": chat[-1].ts if chat[-1].ts != chat[0].ts else None,
             "actor": names, "event_type": "conversation", "summary": summary[:400], "details": "\n".join(lines)},
            [o.id for o in chat],
            key=("conversation", tuple(o.id for o in chat)),
            text=summary,
        )
    ]


def dated_events(observations: Sequence) -> list[Candidate]:
    """An episodic memory for each chat sentence that names a day ('I fly to Lisbon on 12 June 2026')."""
    out: list[Candidate] = []
    for obs in observations:
        if obs.kind != "chat" or obs.role not in ("user", None) and not (obs.meta or {}).get("speaker"):
            continue
        for sentence in _sentences(obs.text or ""):
            if sentence.endswith("?") or len(sentence.split()) < 4:
                continue
            dates = find_dates(sentence, obs.ts)
            if not dates:
                continue
            day = dates[0].day
            speaker = speaker_of(obs)
            summary = f"{speaker}: {sentence[:MAX_SENTENCE_CHARS]}"
            out.append(
                Candidate(
                    "episodic",
                    {"occurred_at": noon_ts(day), "occurred_until": None, "actor": speaker, "event_type": "mentioned event",
                     "summary": summary, "details": None},
                    [obs.id],
                    key=("dated", obs.id, sentence[:80]),
                    text=summary,
                )
            )
    return out


def preferences(observations: Sequence) -> list[Candidate]:
    """Stated preferences: the user's go to the core 'human' block, a named speaker's to their semantic profile."""
    out: list[Candidate] = []
    for obs in observations:
        if obs.kind != "chat" or obs.role != "user":
            continue
        for sentence in _sentences(obs.text or ""):
            if sentence.endswith("?") or not PREFERENCE.search(sentence):
                continue
            sentence = sentence[:MAX_SENTENCE_CHARS]
            speaker = (obs.meta or {}).get("speaker")
            if speaker:
                name = f"{speaker}'s preferences"
                out.append(Candidate("semantic", {"name": name, "summary": f"{speaker}: {sentence}", "details": None},
                                     [obs.id], key=("profile", name), text=f"{speaker}: {sentence}"))
            else:
                out.append(Candidate("core", {"label": "human", "value": f"User: {sentence}"}, [obs.id],
                                     key=("core", "human"), text=f"User: {sentence}"))
    return out


def extract(observations: Sequence, *, vault_from_screen: bool) -> list[Candidate]:
    """Every rule-based candidate for a batch."""
    readable = [o for o in observations if not looks_like_garbage(o.text or "") or o.kind == "screen" and o.window_title]
    candidates: list[Candidate] = []
    candidates += activity_spans(observations)
    candidates += resources(readable)
    candidates += vault_entries(readable, include_screen=vault_from_screen)
    candidates += chat_exchange(readable)
    candidates += dated_events(readable)
    candidates += preferences(readable)
    return candidates
