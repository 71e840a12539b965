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
- for chats: the facts the user states (``facts``: core memory by family,
  semantic memories about people, places, organisations and projects), the
  steps they write down and the commands on a terminal screen (``steps``),
  events on their own day, decisions, and a one-line summary of each
  conversation (``events``), and the statements that change, correct or end
  older facts (``updates``);
- flights read off a boarding pass on screen (``travel``).

Each extractor returns ``Candidate`` objects; the absorber decides whether a
candidate adds a memory or extends one it already has (same URL, same secret,
the same window still open).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Callable, Sequence

from core.absorb import events, facts, lookups, provenance, steps, travel

from core.absorb.candidates import Candidate
from core.secrets import MASK_CHAR, carried_secrets, find_secrets
from core.secrets import mask as mask_secret

ACTIVITY_GAP_SECONDS = 10 * 60  # capture stores a frame only when the screen changes; reading is quiet
TITLE_SEPARATORS = re.compile(r"\s+[-–—|·]\s+")
EDITABLE = re.compile(r"\.(ods|odt|odp|ott|docx?|xlsx?|pptx?|md|txt|csv|tex|py|js|ts|rs|go|c|cpp|h|java|rb|sh|json|ya?ml|toml|html|css|ipynb)\b", re.I)
DOCUMENT = re.compile(r"[\w .()\[\]+,&'-]{1,120}\.(ods|odt|odp|docx?|xlsx?|pptx?|pdf|md|txt|csv|epub|png|jpe?g|svg|tex|ipynb)\b", re.I)
BROWSERS = ("firefox", "chrome", "chromium", "brave", "edge", "safari", "opera", "vivaldi", "epiphany", "librewolf")
READERS = ("evince", "okular", "zathura", "atril", "xreader", "acrobat")

URL = re.compile(r"\bhttps?://[^\s<>\"'`)\]]+", re.I)
POSIX_PATH = re.compile(r"(?<![\w/.:])(~?/(?:[\w.@+-]+/)+[\w.@+-]+\.[A-Za-z0-9]{1,8})\b")
WINDOWS_PATH = re.compile(r"\b([A-Za-z]:\\(?:[\w .@+-]+\\)+[\w .@+-]+\.[A-Za-z0-9]{1,8})\b")
LOOKUP_SENSITIVITY = {"email": "low", "phone": "medium", "account": "high", "address": "medium"}

def _clock(ts: float) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M")


_WORDLIKE = re.compile(
    r"[(\"'«¿¡“]?(?:[^\W\d_][^\W\d_]*(?:['’-][^\W\d_]+)*|[A-Z]{2,5}|\d[\d.,:/-]*|•{8}[^\s•]{0,2})[.,;:!?)\"'»”]*"
)
_VOWEL = re.compile(r"[aeiouyàáâãäåæèéêëìíîïòóôõöøœùúûüýÿAEIOUYÀÁÂÃÄÅÆÈÉÊËÌÍÎÏÒÓÔÕÖØŒÙÚÛÜÝ]")


def looks_like_garbage(text: str) -> bool:
    """Text no reader could use: too short, or mostly tokens that are not words (bad OCR).

    Words are letters of any Latin script ("d'entrée", "Straße"); a masked
    secret and a number count as words too.
    """
    tokens = text.split()
    if len(text.strip()) < 3 or not tokens:
        return True
    wordlike = sum(1 for t in tokens if _WORDLIKE.fullmatch(t)
                   and (_VOWEL.search(t) or t[0].isdigit() or "•" in t or len(t) <= 3))
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

    def add(location: str, title: str, kind: str, obs, summary: str | None = None) -> None:
        key = location.lower()
        if key in found:
            if obs.id not in found[key].sources:
                found[key].sources.append(obs.id)
            return
        found[key] = Candidate(
            "resource",
            {"title": title[:300], "resource_type": kind, "location": location if kind != "document" else None,
             "summary": summary, "content_excerpt": None},
            [obs.id],
            key=("resource", key),
            text=f"{title} ({location})" if location != title else title,
        )

    for obs in observations:
        document, _ = split_title(obs.window_title, obs.app) if obs.window_title else ("", "")
        fields = labelled_fields(obs.text or "") if obs.kind == "screen" else None
        mail = _mail_subject(obs) if obs.kind == "screen" else None
        if mail:
            subject, folder, app_name = mail
            add(f"{app_name} › {folder} › {subject}", subject, "e-mail", obs, fields)
        elif obs.url:
            url = _clean_url(obs.url)
            add(url, document or url, "web page", obs, fields)
        elif document and DOCUMENT.fullmatch(document.strip("*• ")):
            name = document.strip("*• ")
            add(name, name, "document", obs, fields)
        text = obs.text or ""
        if obs.kind == "chat":
            for sentence in _chat_sentences(text):
                for match in FILE_NAME.finditer(sentence):
                    if "/" in sentence[max(0, match.start() - 1) : match.start()] or "\\" in sentence[max(0, match.start() - 1) : match.start()]:
                        continue  # part of a path, kept whole below
                    add(match.group(), match.group(), "document", obs, " ".join(sentence.split())[:300])
        for match in URL.finditer(text):
            url = _clean_url(match.group())
            if len(url) > 12:
                add(url, url, "web page", obs)
        for pattern in (POSIX_PATH, WINDOWS_PATH):
            for match in pattern.finditer(text):
                path = match.group(1)
                add(path, re.split(r"[\\/]", path)[-1], "file", obs)
    return list(found.values())


MAIL_APPS = ("thunderbird", "evolution", "geary", "kmail", "mailspring", "outlook", "claws", "betterbird", "mutt")
# The folder a mail client names in its title after the subject: "Re: Budget - Inbox - Mozilla Thunderbird".
MAIL_FOLDERS = re.compile(r"(?i)^(?:inbox|posteingang|boîte\s+de\s+réception|bandeja\s+de\s+entrada|caixa\s+de\s+entrada|"
                          r"sent|gesendet|envoyés|enviados|archive|archiv|archives|drafts|entwürfe|brouillons|borradores|"
                          r"rascunhos|all\s+mail|[\w.+-]+@[\w.-]+)$")


def _mail_subject(obs) -> tuple[str, str, str] | None:
    """``(subject, folder, application)`` of a mail client's window showing one message, from its title."""
    where = f"{obs.app or ''} {obs.window_title or ''}".lower()
    if not obs.window_title or not any(app in where for app in MAIL_APPS):
        return None
    parts = [p.strip() for p in TITLE_SEPARATORS.split(obs.window_title) if p.strip()]
    if len(parts) < 3 or not MAIL_FOLDERS.match(parts[-2]):
        return None
    subject = " - ".join(parts[:-2]).strip()
    if len(subject) < 3 or looks_like_garbage(subject):
        return None
    return subject, parts[-2], parts[-1]


# A file named in a message ("Minutes_AGM_2026.docx"): no spaces, a known extension.
FILE_NAME = re.compile(r"(?<![\w/\\.-])[\w()\[\]+&'-][\w()\[\]+&'.-]*\.(?:ods|odt|odp|docx?|xlsx?|pptx?|pdf|md|txt|csv|epub|"
                       r"png|jpe?g|svg|tex|ipynb|zip|key|numbers|pages)\b", re.I)
# "Assignee:   Bogdan Ionescu" on a page: what the page says about itself, kept with it.
LABELLED_LINE = re.compile(r"^\s*(?P<label>[A-Z][\w/ -]{1,24}?)\s*:\s+(?P<value>[^\s:].{0,80}?)\s*$")
MAX_LABELLED_FIELDS = 6


def _chat_sentences(text: str) -> list[str]:
    from core.absorb.text import sentences

    return [s.text for s in sentences(text)]


def labelled_fields(text: str) -> str | None:
    """The "Label: value" lines of a screen ("Assignee: Bogdan Ionescu; Priority: High"), as one line."""
    pairs = []
    for line in text.splitlines():
        match = LABELLED_LINE.match(line)
        if not match or MASK_CHAR in line or len(match.group("label").split()) > 3:
            continue
        value = " ".join(match.group("value").split())
        if not re.search(r"[^\W\d_]{2}", value):
            continue
        pairs.append(f"{match.group('label').strip()}: {value}")
        if len(pairs) >= MAX_LABELLED_FIELDS:
            break
    return "; ".join(pairs)[:400] if len(pairs) >= 2 else None


# -- knowledge vault ------------------------------------------------------------------

def find_lookup_values(text: str) -> list[tuple[str, str, int, int]]:
    """``(kind, value, start, end)`` for every e-mail address, phone number, account number and postal address
    in ``text`` (see ``core.absorb.lookups``)."""
    return [(l.kind, l.value, l.start, l.end) for l in lookups.find_lookups(text)]


def may_fill_vault(obs, *, include_screen: bool) -> bool:
    """Whether an observation's values may become vault entries: the user's own words, or the screen when allowed.

    Assistant, tool and system messages are data, never the user's say: their
    secrets are masked like everyone's, but they make no vault entry.
    """
    if obs.kind == "screen":
        return include_screen
    return provenance.is_users_own(obs)


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
        # Phone numbers and addresses are masked on the way in like secrets; they keep their own sensitivity.
        items = [(c["kind"], c["label"], c["value"], LOOKUP_SENSITIVITY.get(c["kind"], "high")) for c in carried_secrets(obs.meta)]
        items += [(s.kind, s.label, s.kept, LOOKUP_SENSITIVITY.get(s.kind, "high")) for s in find_secrets(text)]
        items += [(l.kind, lookups.caption(l.kind, l.label), l.value, LOOKUP_SENSITIVITY[l.kind])
                  for l in lookups.find_lookups(text)]
        speaker = (obs.meta or {}).get("speaker") if obs.kind != "screen" else None
        if obs.kind == "chat":
            source = f"chat: {obs.conversation or 'conversation'}"
        else:
            source = f"{obs.kind}: {obs.app or ''} {obs.window_title or ''}".strip()
        values = sorted({v for _k, _l, v, _s in items if MASK_CHAR not in v and len(v.strip()) >= 3}, key=len, reverse=True)
        for kind, label, value, sensitivity in items:
            if MASK_CHAR in value:
                continue  # a mask: the clear value never reached the database
            caption = _without_values(f"{label} ({speaker})" if speaker else label, values)
            key = ("knowledge_vault", kind, lookups.address_key(value) if kind == "address" else "".join(value.split()).lower())
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
                meta={"new_value": kind in SUPERSEDED_KINDS and bool(NEW_VALUE.search(text))},
            )
    return list(found.values())


def _without_values(caption: str, values: Sequence[str]) -> str:
    """``caption`` with every secret value of its message masked: a caption is shown without a reveal."""
    for value in values:
        caption = re.sub(re.escape(value.strip()), lambda _m: mask_secret(value), caption, flags=re.IGNORECASE)
    return caption


# Values of which a person has one at a time: a new one said as new replaces the old (see ``is_own_caption``).
SUPERSEDED_KINDS = ("address", "phone", "email")
NEW_VALUE = re.compile(
    r"(?i)\b(?:new|changed|moved|switched|neue[rsnm]?|geändert|umgezogen|nouve(?:au|l|lle)|changé|déménagé|nuev[oa]|"
    r"cambiado|cambié|mudé|nov[oa]|mudei|mudámos|mudamos|alterei|nowy|nowa|nowe|nuovo|nuova|nieuwe?)\b"
)


def is_own_caption(caption: str) -> bool:
    """Whether a vault caption names the user's own value ("address", "phone number: mobile", "council form —
    address"), not someone's ("phone number: Plumber Giorgos", "Mum's address")."""
    label = caption.split(":", 1)[1] if ":" in caption else caption
    return not re.search(r"['’]s\b|\b[A-Z]", label) and not re.search(r"['’]s\b", caption)


# -- everything --------------------------------------------------------------------------


def extract(observations: Sequence, *, vault_from_screen: bool,
            is_known: Callable[[str], bool] = lambda name: False) -> list[Candidate]:
    """Every rule-based candidate for a batch (see ``extract_with_updates``)."""
    return extract_with_updates(observations, vault_from_screen=vault_from_screen, is_known=is_known)[0]


def extract_with_updates(observations: Sequence, *, vault_from_screen: bool,
                         is_known: Callable[[str], bool] = lambda name: False) -> tuple[list[Candidate], list]:
    """Every rule-based candidate for a batch, and the statements that change, correct or end older facts.

    ``is_known(name)`` says whether the store has a semantic memory about a name.
    """
    readable = [o for o in observations if not looks_like_garbage(o.text or "") or o.kind == "screen" and o.window_title]
    statements = facts.statements(readable)
    core = facts.core_facts(statements)
    entities = facts.entity_facts(statements, is_known)
    candidates: list[Candidate] = []
    candidates += activity_spans(observations)
    candidates += resources(readable)
    candidates += vault_entries(readable, include_screen=vault_from_screen)
    candidates += events.conversation_summary(readable)
    candidates += events.dated_events(readable)
    candidates += events.decisions(readable)
    candidates += events.screen_events(readable)
    candidates += travel.boarding_passes(readable)
    candidates += core
    candidates += entities
    candidates += facts.speaker_facts(statements, readable)
    candidates += steps.chat_procedures(readable)
    candidates += steps.terminal_procedures(readable)
    return candidates, facts.updates_of(statements, core, entities)
