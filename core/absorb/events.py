"""Episodic memories by rule: dated events, decisions, events read off a calendar or a message, and a one-line
summary of each conversation.

- **Dated events.**  A statement in the user's own words (or a named speaker's)
  that names a day is an event on that day, not on the day it was said: "next
  Tuesday", "on 12 June", "last Friday", "demain", "el viernes" are resolved
  against the message's time (``core.absorb.dates``); a day the sentence says
  it is *not* on ("not Saturday") is skipped, and a written date wins over a
  relative word in the same sentence.  A range ("from 3 to 10 May") keeps its
  end.  A sentence that names no one but follows a definition ("Go-live is 30
  November" after "Project Atlas is ...") carries that context.
- **Decisions** ("decided: I'll go with the Jazz", "entschieden", "j'ai
  choisi", "decidí") are events on the day they were said.
- **Screens.**  A calendar view's date heading and its "09:30 - 10:00 Dentist"
  lines are events at those times; on a mail, chat or calendar application's
  screen, a line that names a day is an event on that day.  OCR's O-for-0 in
  times is read as a zero.
- **Conversations.**  A chat batch becomes one episodic memory that says who
  talked and what about, in a line: the key phrases of the user's own messages
  (a small RAKE: runs of content words between function words, scored by how
  connected their words are), never a copy of the messages; it cites the
  messages its phrases come from.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from typing import Sequence

from core.absorb import lookups, provenance, text as tx
from core.absorb.provenance import speaker_of
from core.absorb.candidates import MAX_SENTENCE_CHARS, Candidate
from core.absorb.dates import event_dates, find_dates, noon_ts

MAX_TOPICS = 8
MAX_TOPIC_CHARS = 200
PER_MESSAGE_TOPICS = 5
MAIL_AND_CHAT_APPS = ("thunderbird", "evolution", "outlook", "geary", "kmail", "mailspring", "mail", "gmail", "signal",
                      "whatsapp", "telegram", "slack", "teams", "element", "discord", "messages", "messenger",
                      "calendar", "kalender", "agenda", "calendrier", "calendario", "calendário")
_DECISION = re.compile(
    r"(?i)\b(?:decided|i['’]ll\s+go\s+with|i['’]m\s+going\s+with|we['’]ll\s+go\s+with|i\s+chose|we\s+chose|i\s+picked|"
    r"i['’]ve\s+chosen|settled\s+on|entschieden|ich\s+nehme|j['’]ai\s+choisi|on\s+a\s+choisi|j['’]ai\s+décidé|decidí|"
    r"decidimos|me\s+quedo\s+con|decidi|escolhi|vou\s+ficar\s+com)\b"
)
_REFERS_BACK = re.compile(r"(?i)^\W*(?:it|it['’]s|that|that['’]s|this|this\s+is|es|das|c['’]est|ce|eso|isso|es\s+el|é)\b")
_TIME = r"[O0-2]?[\dO][:.h][0-5O][\dO]"
_CALENDAR_LINE = re.compile(rf"^\s*(?P<start>{_TIME})(?:\s*[-–—]\s*(?P<end>{_TIME}))?\s+(?P<what>[^\W\d_].{{2,120}})$")
_SPEAKER_LINE = re.compile(rf"^\s*(?P<speaker>(?-i:{tx.NAME}))\s*:\s+(?P<text>\S.*)$")


def _clock(value: str) -> tuple[int, int] | None:
    digits = value.replace("O", "0").replace("h", ":").replace(".", ":")
    try:
        hour, minute = (int(x) for x in digits.split(":"))
    except ValueError:
        return None
    return (hour, minute) if hour < 24 and minute < 60 else None


def _context_prefixes(observations: Sequence) -> dict[tuple[int, int], str]:
    """For each (observation, sentence) the name of what the user was defining then, if the sentence names nothing."""
    from core.absorb.facts import _DEFINITION, TOPIC_FOLLOW_SECONDS, _clean_name

    out: dict[tuple[int, int], str] = {}
    topic, since, conversation = None, 0.0, None
    for obs in observations:
        if obs.kind != "chat" or not provenance.is_users_own(obs):
            continue
        if topic and (obs.ts - since > TOPIC_FOLLOW_SECONDS or obs.conversation != conversation):
            topic = None
        sentences = tx.sentences(obs.text or "")
        if topic and sentences and tx.names(sentences[0].text):
            topic = None  # a new message about someone or something else
        for index, sentence in enumerate(sentences):
            found = _DEFINITION.match(tx.strip_lead_in(sentence.text))
            if found:
                topic, since, conversation = _clean_name(found.group("name")), obs.ts, obs.conversation
                continue
            if topic and not tx.names(sentence.text) and topic.lower() not in sentence.text.lower():
                out[(obs.id, index)] = topic
            if topic:
                since = obs.ts
    return out


def dated_events(observations: Sequence) -> list[Candidate]:
    """An episodic memory for each day a chat statement names, on that day (see the module docstring)."""
    out: list[Candidate] = []
    context = _context_prefixes(observations)
    for obs in observations:
        if obs.kind != "chat" or not (provenance.is_users_own(obs) or (obs.meta or {}).get("speaker")):
            continue
        speaker = speaker_of(obs)
        previous = ""
        for index, sentence in enumerate(tx.sentences(obs.text or "")):
            text, before, previous = sentence.text, previous, sentence.text
            parts = tx.factual_clauses(text)
            if not parts or len(text.split()) < 3:
                continue
            stated = ", ".join(parts)
            days = []
            for found in event_dates(stated, obs.ts):
                if found.day not in [d.day for d in days]:
                    days.append(found)
            if not days:
                continue
            if before and _REFERS_BACK.match(text):
                prefix = before[:MAX_SENTENCE_CHARS] + " "  # "Can you help me plan Lena's 40th? It's on 6 June."
            else:
                prefix = f"{context[(obs.id, index)]}: " if (obs.id, index) in context else ""
            # A postal address is the vault's: the event names its town instead.
            summary = f"{speaker}: {prefix}{tx.strip_lead_in(lookups.describe_addresses(text))[:MAX_SENTENCE_CHARS]}"
            kind = tx.statement_kind(text)
            for found in days:
                out.append(Candidate(
                    "episodic",
                    {"occurred_at": noon_ts(found.day), "occurred_until": noon_ts(found.until) if found.until else None,
                     "actor": speaker, "event_type": "mentioned event", "summary": summary, "details": None},
                    [obs.id], key=("dated", obs.id, index, found.day.isoformat()), text=summary,
                    meta={"order": (obs.ts, obs.id, index), "kind": kind, "statement": text,
                          "negated": [text[d.start:d.end] for d in find_dates(text, obs.ts) if d.negated]},
                ))
    return out


def decisions(observations: Sequence) -> list[Candidate]:
    """A decision the user states is an event on the day it was said."""
    out: list[Candidate] = []
    for obs in observations:
        if obs.kind != "chat" or not provenance.is_users_own(obs):
            continue
        for index, sentence in enumerate(tx.sentences(obs.text or "")):
            text = sentence.text
            if not _DECISION.search(text) or not tx.factual_clauses(text) or event_dates(text, obs.ts):
                continue
            summary = f"{speaker_of(obs)} decided: {tx.strip_lead_in(text)[:MAX_SENTENCE_CHARS]}"
            day = datetime.fromtimestamp(obs.ts).date()
            out.append(Candidate(
                "episodic", {"occurred_at": noon_ts(day), "occurred_until": None, "actor": speaker_of(obs),
                             "event_type": "decision", "summary": summary, "details": None},
                [obs.id], key=("dated", obs.id, index, "decision"), text=summary,
                meta={"order": (obs.ts, obs.id, index)},
            ))
    return out


def _joined_lines(text: str) -> list[str]:
    """OCR lines with a sentence broken over two lines joined ("I got the job at" + "the Wellcome Trust")."""
    lines: list[str] = []
    for raw in (text or "").splitlines():
        line = " ".join(raw.split())
        if not line:
            continue
        if lines and line[:1].islower() and not re.search(r"[.!?:]$", lines[-1]):
            lines[-1] += " " + line
        else:
            lines.append(line)
    return lines


_LEADING_TIME = re.compile(rf"^\s*{_TIME}(?:\s*[-–—]\s*{_TIME})?\s+")


def _bare_date_line(line: str, dates) -> bool:
    """A line that says when and nothing else ("Wed 18 Mar 2026 09:30 - 10:15", "Fri 17 Apr  Dep 08:55  Arr 11:20")."""
    rest = line
    for found in sorted(dates, key=lambda d: d.start, reverse=True):
        rest = rest[: found.start] + " " + rest[found.end :]
    words = [w for w in re.findall(r"[^\W\d_]{4,}", rest) if w.lower() not in tx.DATE_WORDS]
    return not words


def _title_above(lines: list[str], index: int, ts: float) -> str:
    """What a bare date line is the date of: the line above it (a mail's "Flight TK 1762 ... → Amsterdam"), or the
    lines above it up to the one that starts with a time (a calendar's "09:30 Physio - Dr Ng" / "Room 4, Clinic")."""
    above: list[str] = []
    for line in reversed(lines[max(0, index - 2) : index]):
        if find_dates(line, ts) and not _LEADING_TIME.match(line) or tx.is_question(line):
            break
        above.insert(0, line)
        if _LEADING_TIME.match(line):
            return ", ".join([_LEADING_TIME.sub("", above[0])] + above[1:])
    return above[-1] if above else ""


def screen_events(observations: Sequence) -> list[Candidate]:
    """Events on calendar, mail and chat screens (see the module docstring)."""
    out: list[Candidate] = []
    for obs in observations:
        if obs.kind != "screen":
            continue
        where = f"{obs.app or ''} {obs.window_title or ''} {obs.url or ''}".lower()
        if not any(app in where for app in MAIL_AND_CHAT_APPS):
            continue
        source = obs.app or "screen"
        heading = None
        lines = _joined_lines(obs.text or "")
        for index, line in enumerate(lines):
            # "Today" is a button; "from next week" in a message's sentence is a day.
            dates = [d for d in find_dates(line, obs.ts) if not d.negated and (
                not d.relative or " " in line[d.start : d.end].strip() and len(line.split()) >= 6)]
            calendar = _CALENDAR_LINE.match(line)
            if dates and (len(line.split()) <= 6 or line[dates[0].start:dates[0].end] == line.strip()) and \
                    not (re.search(_TIME, line) and not calendar):  # "Fri 17 Apr  Dep 08:55": an event's own date
                heading = dates[0].day  # "Thursday, 15 October 2026    CW 42"
                continue
            if calendar and heading is not None:
                start = _clock(calendar.group("start"))
                if start is None:
                    continue
                end = _clock(calendar.group("end")) if calendar.group("end") else None
                begin = datetime(heading.year, heading.month, heading.day, *start)
                until = datetime(heading.year, heading.month, heading.day, *end) if end else None
                what = calendar.group("what").strip()
                times = f"{start[0]:02d}:{start[1]:02d}" + (f"–{end[0]:02d}:{end[1]:02d}" if end else "")
                summary = f"{what}, {heading.strftime('%a %d %b %Y')} {times} (calendar)"
                out.append(Candidate(
                    "episodic", {"occurred_at": begin.timestamp(), "occurred_until": until.timestamp() if until else None,
                                 "actor": "calendar", "event_type": "calendar event", "summary": summary,
                                 "details": None},
                    [obs.id], key=("screen-event", tx.normalised(what), heading.isoformat()), text=summary,
                    meta={"order": (obs.ts, obs.id, index)},
                ))
                continue
            if not dates or len(line.split()) < 4:
                continue
            said = _SPEAKER_LINE.match(line)
            what = _title_above(lines, index, obs.ts) if not said and _bare_date_line(line, dates) else ""
            summary = (f"{said.group('speaker')} (on {source}): {said.group('text')}" if said
                       else f"On {source}: {what} — {line}" if what else f"On {source}: {line}")[:MAX_SENTENCE_CHARS]
            day = dates[0]
            out.append(Candidate(
                "episodic", {"occurred_at": noon_ts(day.day), "occurred_until": noon_ts(day.until) if day.until else None,
                             "actor": said.group("speaker") if said else source, "event_type": "mentioned event",
                             "summary": summary, "details": None},
                [obs.id], key=("screen-event", tx.normalised(line), day.day.isoformat()), text=summary,
                meta={"order": (obs.ts, obs.id, index)},
            ))
    return out


# -- conversations ---------------------------------------------------------------------------------------------

_VERBS = frozenset(
    """help need want know think said say tell ask asked go going get got make made take took send spend see look find
    try use let put give come doing done like love prefer really maybe thing things something anything everything
    written found somewhere somehow anyway especially mostly probably already always never often usually sometimes
    guess suppose mean meant means keep kept stop start started finally actually quite pretty much many little
    stuff way ways kind sort time times today tomorrow yesterday tonight week weekend month year day days
    nothing lot bit sure good great nice fine right yeah yes okay ok thanks thank please hmm haha lol wow cool
    i'll i'm i've i'd you're it's that's there's we're we'll they're don't can't won't didn't isn't
    glad agree appreciate awesome amazing congrats congratulations sounds sound happy hear heard totally definitely
    absolutely super lovely wonderful fantastic beautiful cute yep yup nope hey hi hello woohoo yay aww omg
    close support encouragement proud glad""".split()
)
# Words that say what became of a plan: a conversation that cancels or moves something says so in its line.
STATUS_WORDS = frozenset(
    """cancelled canceled postponed rescheduled abgesagt verschoben annulé annulée annulés reporté reportée cancelado
    cancelada cancelados aplazado aplazada pospuesto pospuesta adiado adiada desmarcado desmarcada""".split()
)
STATUS_BONUS = 3.0
_PHRASE_SPLIT = re.compile(r"[.,;:!?()\[\]\"“”«»\n]|\s[–—-]\s")


def _phrases(sentence: str) -> list[str]:
    """Runs of content words between function words and punctuation (RAKE's candidate phrases)."""
    out = []
    for chunk in _PHRASE_SPLIT.split(sentence):
        run: list[str] = []
        for token in chunk.split():
            bare = token.strip("'\"’()")
            low = bare.lower().replace("’", "'")
            if low in STATUS_WORDS:  # its own phrase: a marker word, but the news of the conversation
                if run:
                    out.append(" ".join(run))
                out.append(bare)
                run = []
                continue
            if not bare or low in tx.STOPWORDS or low in _VERBS or (low.endswith("ly") and len(low) > 4) or re.sub(r"'s$", "", low) in tx.STOPWORDS or \
                    re.fullmatch(r"[\d.,:/%-]+", bare) or "http" in low or "/" in bare or low in tx.MARKER_WORDS:
                if run:
                    out.append(" ".join(run))
                run = []
                continue
            run.append(bare)
            if len(run) == 4:
                out.append(" ".join(run))
                run = []
        if run:
            out.append(" ".join(run))
    return [p for p in out if len(p) >= 3]


def key_phrases(texts: Sequence[tuple[int, str]], limit: int = MAX_TOPICS,
                max_chars: int = MAX_TOPIC_CHARS) -> list[tuple[str, int]]:
    """The best ``limit`` phrases of ``(source id, text)`` pairs, in the order they were said, with their source."""
    candidates: list[tuple[str, int, int]] = []  # phrase, source, position
    frequency: Counter = Counter()
    degree: Counter = Counter()
    for source, text in texts:
        for sentence in tx.sentences(text):
            for phrase in _phrases(sentence.text):
                words = [w.lower() for w in phrase.split()]
                for word in words:
                    frequency[word] += 1
                    degree[word] += len(words)
                candidates.append((phrase, source, len(candidates)))
    scored: dict[str, tuple[float, int, int, str]] = {}
    for phrase, source, position in candidates:
        words = [w.lower() for w in phrase.split()]
        score = sum(degree[w] / frequency[w] for w in words)
        score += sum(1.0 for w in phrase.split() if w[:1].isupper())  # names are what a conversation is about
        score += STATUS_BONUS if phrase.lower() in STATUS_WORDS else 0.0
        key = phrase.lower()
        if key not in scored or score > scored[key][0]:
            scored[key] = (score, position, source, phrase)
    best = sorted(scored.values(), key=lambda item: (-item[0], item[1]))
    chosen: list[tuple[float, int, int, str]] = []
    for item in best:
        if any(item[3].lower() in other[3].lower() or other[3].lower() in item[3].lower() for other in chosen):
            continue
        chosen.append(item)
        if len(chosen) >= limit:
            break
    chosen.sort(key=lambda item: item[1])
    out, used = [], 0
    for _score, _position, source, phrase in chosen:
        if used + len(phrase) > max_chars and out:
            break
        out.append((phrase, source))
        used += len(phrase) + 2
    return out


def conversation_summary(observations: Sequence) -> list[Candidate]:
    """One episodic memory for a batch of chat messages: who talked, when, and about what, in one line.

    In a chat with Engram the line says what the user talked (or asked)
    about; in a group chat (every message a named speaker's own) what each of
    them talked about.  It cites the messages it summarises.
    """
    chat = [o for o in observations if o.kind == "chat" and (o.text or "").strip()]
    if not chat:
        return []
    speakers: list[str] = []
    for obs in chat:
        if speaker_of(obs) not in speakers:
            speakers.append(speaker_of(obs))
    names = " and ".join(speakers) if len(speakers) <= 2 else ", ".join(speakers[:-1]) + " and " + speakers[-1]
    own = [o for o in chat if provenance.is_users_own(o)]
    said = []
    for obs in own:  # what the user only imagined ("if I ever move to Montreal") was not discussed as a fact
        kept = [s.text for s in tx.sentences(obs.text or "")
                if tx.is_question(s.text) or tx.is_request(s.text) or tx.factual_clauses(s.text)]
        said.append((obs.id, lookups.describe_addresses(" ".join(", ".join(tx.factual_clauses(t)) or t for t in kept),
                                                            note=False)))
    speaker_words = {w.lower() for name in speakers for w in name.split()}

    def topics_of(texts: list[tuple[int, str]], limit: int, max_chars: int) -> list[tuple[str, int]]:
        found = key_phrases(texts, limit=limit + 2, max_chars=max_chars)
        return [t for t in found if t[0].lower() not in speaker_words][:limit]

    if len(speakers) >= 2 and len(own) == len(chat):
        parts, topics = [], []
        for name in speakers:
            found = []
            for i, t in said:  # a phrase or two from each of their messages: every message is findable
                if speaker_of(next(o for o in chat if o.id == i)) == name:
                    found += [p for p in topics_of([(i, t)], PER_MESSAGE_TOPICS, 80) if p[0].lower() not in
                              {f[0].lower() for f in found}]
            if found:
                parts.append(f"{name} talked about " + ", ".join(p for p, _ in found))
                topics += found
        summary = "; ".join(parts)
    else:
        topics = topics_of(said, MAX_TOPICS, MAX_TOPIC_CHARS)
        sentences = [s.text for o in own for s in tx.sentences(o.text or "")]
        asked = sum(tx.is_question(s) or tx.is_request(s) for s in sentences) * 2 >= len(sentences)
        summary = f"{names} {'asked' if asked else 'talked'} about: " + ", ".join(p for p, _ in topics)
    if not topics:
        return []
    return [Candidate(
        "episodic",
        {"occurred_at": chat[0].ts, "occurred_until": chat[-1].ts if chat[-1].ts != chat[0].ts else None,
         "actor": names, "event_type": "conversation", "summary": summary[:1200], "details": None},
        [o.id for o in chat], key=("conversation", tuple(o.id for o in chat)), text=summary,
        meta={"order": (chat[0].ts, chat[0].id, -1)},
    )]
