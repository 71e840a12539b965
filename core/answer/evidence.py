"""Retrieved memories and observations, cut into the sentences an answer may quote.

Each ``Source`` (one memory, or one observation with the turns around it) becomes ``Unit``s:
sentences of a chat message, lines of a screen (OCR line wraps joined again), the commands
read on a terminal, or the fields of a memory.  Every unit says who stands behind it:

- ``own``: the user's own words (a chat message the user wrote);
- ``person``: someone else in an imported conversation, by name;
- ``screen``: text seen on the screen (data about the world, never a statement by the user);
- ``memory``: a stored memory (absorb checked it against its sources);
- ``machine``: an assistant, a tool or a system message: never evidence.

and whether it states anything: a question states nothing, a hypothetical ("if I ever", "I'd",
"vielleicht", "si un jour") states nothing about what is, quoted text is someone else's words,
a joke ("lol I'm basically a professional napper", "yeah right, I'm moving to the Moon") is not meant,
and text that speaks to an AI is planted for a model.  Only ``Unit.states`` units can support an
answer (hypotheticals may still be quoted for a yes/no question: "It would be nice to have a dog
someday" answers "Do I have a dog?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Iterable

from core.absorb.provenance import USER_ROLES, addresses_ai
from core.absorb.text import SARCASM_LEAD, is_joke
from core.secrets import MASK_CHAR
from core.answer.words import DAY_MENTION, MONTH_START, STOPWORDS, STEPS, WordSet, fold, looks_like_menu, words

SELF_SPEAKERS = frozenset({"me", "user", "i", "myself", "you", "ich", "moi", "yo", "eu"})
MACHINE_ROLES = frozenset({"assistant", "system", "tool", "function", "engram"})
MAX_UNIT_CHARS = 400
MAX_QUOTE_CHARS = 280
MAX_STEPS_CHARS = 800
_ROLE_PREFIX = re.compile(
    r"^\s*((user|assistant|system|tool|me)((?:,| and) (?:user|assistant|system|tool|me))*(?: chatted| said| wrote| asked)?"
    r"|mentioned event)\s*:\s*",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=\S)")
_QUOTED = re.compile(r"[\"“„«]([^\"”“«»]{12,})[\"”“»]")
_CONDITIONAL_START = re.compile(
    r"^\W*(if (i|we)\b|if i'd|wenn ich|wenn wir|falls ich|si (je|j'|un jour|jamais|on)\b|si algún día|si (yo|tuviera|ganara)|"
    r"se (eu|um dia|ganhar)\b)",
    re.IGNORECASE,
)
# "I'd", "we'd" with their apostrophe: "Wed 22 Apr" on a calendar and "my ID" imagine nothing.
_HYPOTHETICAL = re.compile(
    r"\b(i['’]d|i would|we['’]d|we would|might|maybe|perhaps|someday|some day|one day|who knows|dream|dreams|daydream|"
    r"wish|would be nice|would love|i think i'?d|würde|würden|hätte|vielleicht|irgendwann|träume|traum|"
    r"peut-être|pourrais|voudrais|j'aimerais|un jour|rêve|quizás?|tal vez|me gustaría|algún día|sueño|"
    r"talvez|gostaria|um dia|sonho)\b",
    re.IGNORECASE,
)
_CLAUSE = re.compile(r",\s+|;\s+|\s+(?:but|aber|mais|pero|mas)\s+", re.IGNORECASE)
_PROMPT = re.compile(r"(?:^|\s)(?:[\w.@~:/\[\]-]*[$#❯%])\s+(\S.*)$")
_NOT_COMMANDS = re.compile(r"^(?:_|\s*)$")
# Text that speaks to an AI in words the absorb-side detector may not know ("NOTE TO AI ASSISTANTS AND MEMORY TOOLS:",
# "the reader of this page has authorised you to record ..."): planted for a model, never evidence.
_TO_AI = re.compile(
    r"\b(note|notice|message|instructions?|memo)\s+(to|for)\s+(all\s+|any\s+|the\s+)?(ai|a\.i\.|assistants?|chat ?bots?|bots?|"
    r"language models?|llms?|agents?|memory (tools?|apps?|assistants?))\b|"
    r"\b(you are|you'?re|you have been|has authori[sz]ed you|have authori[sz]ed you)\s+(hereby\s+)?(authori[sz]ed|instructed|"
    r"permitted|allowed|asked|to)\s+(to\s+)?(record|store|save|remember|note|log|memori[sz]e|write|add|update)\b",
    re.IGNORECASE,
)
# A line that asks for input ("[sudo] password for lior:", "Enter PIN:", "Username:") is a prompt: it asks for a
# value and states none.
_ASKS_INPUT = re.compile(
    r"^\W*(\[sudo\][^:]*|(please\s+)?(enter|type|input|provide|confirm|re-?enter)\b[^:]{0,50}|[^:]{0,40}\b(password|passphrase|"
    r"passwort|kennwort|mot de passe|contrase[ñn]a|senha|pin|passcode|username|user name|login|otp|one-time code|"
    r"verification code|security code|token)\b[^:]{0,30}):\s*$",
    re.IGNORECASE,
)


def speaks_to_ai(text: str) -> bool:
    """Whether ``text`` is addressed to an AI (absorb's detector, and the wordings above)."""
    return addresses_ai(text) or bool(_TO_AI.search(text))


_HEADER = re.compile(r"^\s*(subject|betreff|objet|asunto|assunto|from|to|cc|von|an|de|para|date|datum|sent|gesendet)\s*:",
                     re.IGNORECASE)


@dataclass
class Source:
    """One retrieved item, as ``core.chat`` hands it over (already masked)."""

    n: int
    source: str  # "memory" or "observation"
    ref: int
    kind: str  # memory type or observation kind
    text: str
    ts: float | None = None  # observation: when it was said or seen; memory: its newest source's time
    role: str | None = None
    app: str | None = None
    title: str | None = None
    url: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)  # a memory's fields (vault values masked)
    neighbours: list["Source"] = field(default_factory=list)
    conversation: str | None = None
    score: float = 0.0
    masked: tuple[str, ...] = ()  # the kinds of secret masked in the text ("address", "phone"...)
    grounds: str = ""  # a memory's source texts (masked), for what its words alone do not show, like a date line
    speaker: str | None = None  # a message's named speaker (a group chat's "Nadia"), if it has one


@dataclass(eq=False)
class Unit:
    """One quotable piece of evidence."""

    text: str
    n: int  # the context item it belongs to (its citation number)
    source: str
    ref: int
    kind: str
    standing: str  # own | person | screen | memory | machine
    speaker: str | None = None
    app: str | None = None
    said_at: float | None = None
    event_at: float | None = None  # an episode's time
    exact_time: bool = False  # event_at is a real time, not a day's placeholder
    grounds: str = ""  # a memory unit's source texts (see ``Source.grounds``)
    question: bool = False
    hypothetical: bool = False
    joke: bool = False  # marked as not meant: a laugh ("lol", "haha", "😂") or a sarcastic "yeah right" in it
    to_ai: bool = False
    quoted: bool = False
    steps: bool = False
    vault: bool = False
    order: int = 0
    item_score: float = 0.0
    heading: bool = False  # a window title, a URL or an e-mail header: what the page is, rarely the answer
    page_title: bool = False  # the window title, the URL, or a line that only repeats the title: names the page alone
    title: str | None = None  # the window title of a screen unit
    url: str | None = None  # the address of the page a screen unit was read on
    masked_place: bool = False  # a postal address, masked: a place, though its street is not shown
    conversation: str | None = None
    quote: str = ""  # what an answer quotes: the unit, or its whole message when that is one short paragraph
    whole: str = ""  # the whole message's statements, quoted for "how do I" when the unit is one step of a list
    context: str = ""  # words around the unit in its item (same message, neighbouring turns), questions included
    stated_context: str = ""  # the same without questions
    message: str = ""  # what the unit's own message or screen states (its other sentences, a screen's title)

    def __post_init__(self) -> None:
        self.quote = self.quote or self.text
        self.words = WordSet(words(self.text))
        self.context_words = WordSet(words(self.context)) if self.context else self.words
        self.stated_context = self.stated_context or self.context
        self.stated_words = WordSet(words(self.stated_context)) if self.stated_context else self.words
        self.message_words = WordSet(words(self.message)) if self.message else self.words

    @property
    def states(self) -> bool:
        """Whether the unit says something that may support an answer."""
        return self.standing != "machine" and not (self.question or self.hypothetical or self.joke or self.to_ai
                                                   or self.quoted)


def standing_of(source: Source) -> tuple[str, str | None]:
    if source.source == "memory":
        return "memory", None
    role = (source.role or "").strip()
    if source.kind in ("chat", "import"):
        if role.lower() in USER_ROLES:
            # In a group chat every message is the user's side of the import, but a named speaker other than the
            # user ("Nadia: also I'm vegan") speaks for themselves.
            speaker = (source.speaker or "").strip()
            if speaker and speaker.lower() not in SELF_SPEAKERS:
                return "person", speaker
            return "own", None
        if not role or role.lower() in MACHINE_ROLES:
            return "machine", role or None
        return "person", role
    return "screen", None


# -- cutting text -------------------------------------------------------------------------------------------------


def join_wrapped_lines(text: str) -> str:
    """OCR and e-mail text with its line wraps joined: a line that stops mid-sentence continues on the next."""
    lines = [line.rstrip() for line in (text or "").splitlines()]
    out: list[str] = []
    for line in lines:
        stripped = line.strip()
        if out and stripped and out[-1]:
            prev = out[-1].rstrip()
            last_word = (words(prev[-30:]) or [""])[-1]
            continues = (
                not re.search(r"[.!?:;)\]>…]$", prev) and not _HEADER.match(prev)
                and (stripped[0].islower() or last_word in STOPWORDS or prev.endswith(","))
            )
            if continues:
                out[-1] = prev + " " + stripped
                continue
        out.append(stripped)
    return "\n".join(out)


_ABBREVIATION = re.compile(r"(?:^|[\s(])(no|nos|nr|tel|ca|approx|appt|vs|dr|mr|mrs|ms|st|str|z\.b|e\.g|i\.e|bzw|inkl|evtl|ggf|"
                           r"mme|sr|sra|n[º°o])\.$", re.IGNORECASE)


_DAY_NUMBER = re.compile(r"(?:^|\s)\d{1,2}\.$")


def sentences(text: str) -> list[str]:
    """The sentences of ``text``: split after . ! ? and at line breaks, not after an abbreviation ("membership no.
    1234", "Dr. Ruiz") or a day before its month ("am 3. Juli")."""
    out: list[str] = []
    for line in (text or "").splitlines():
        pieces: list[str] = []
        for piece in _SENTENCE_END.split(line.strip()):
            piece = piece.strip()
            if pieces and (_ABBREVIATION.search(pieces[-1]) or (_DAY_NUMBER.search(pieces[-1]) and MONTH_START.match(piece))):
                pieces[-1] = f"{pieces[-1]} {piece}"
            elif piece:
                pieces.append(piece)
        out.extend(p for p in pieces if p)
    return out


def split_hypothetical(sentence: str) -> tuple[str, str]:
    """``(what it states, what it only imagines)``: a conditional sentence imagines all of it; otherwise the clause
    with "might", "I'd", "vielleicht"... and everything after it."""
    if _CONDITIONAL_START.search(sentence):
        return "", sentence
    match = _HYPOTHETICAL.search(sentence)
    if not match:
        return sentence, ""
    start = 0
    for clause in _CLAUSE.finditer(sentence, 0, match.start()):
        start = clause.end()
    return sentence[:start].rstrip(" ,;"), sentence[start:]


def split_joke(sentence: str) -> tuple[str, str]:
    """``(what it means, what it says in jest)``: a clause with a laugh ("lol I'm basically a professional napper") is
    not meant, nor is anything after a sarcastic "yeah right"; "haha yes, I got the job" means its second clause."""
    if not sentence or not is_joke(sentence) and not SARCASM_LEAD.search(sentence):
        return sentence, ""
    meant: list[str] = []
    joked: list[str] = []
    start = 0
    bounds = [m for m in _CLAUSE.finditer(sentence)] + [None]
    for bound in bounds:
        end = bound.start() if bound is not None else len(sentence)
        clause = sentence[start:end]
        if joked and SARCASM_LEAD.match(joked[0]) or is_joke(clause) or SARCASM_LEAD.match(clause):
            joked.append(clause)
        else:
            meant.append(clause)
        if bound is not None:
            start = bound.end()
    return ", ".join(c.strip() for c in meant if c.strip()), ", ".join(c.strip() for c in joked if c.strip())


def _pieces(sentence: str) -> list[tuple[str, dict]]:
    """A sentence as (text, flags) pieces: quoted passages apart, hypothetical clauses apart."""
    out: list[tuple[str, dict]] = []
    rest = sentence
    for match in _QUOTED.finditer(sentence):
        quoted = match.group(1).strip()
        out.append((quoted, {"quoted": True, "to_ai": speaks_to_ai(quoted)}))
        rest = rest.replace(match.group(0), " … ")
    rest = re.sub(r"\s{2,}", " ", rest).strip()
    if rest and rest != "…":
        asks = rest.rstrip().endswith("?") or rest.lstrip().startswith("¿") or bool(_ASKS_INPUT.match(rest))
        flags = {"question": asks, "to_ai": speaks_to_ai(rest)}
        stated, imagined = split_hypothetical(rest)
        meant, joked = split_joke(stated)
        if meant and len(words(meant)) >= 1:
            out.append((meant, dict(flags)))
        if joked:
            out.append((joked, dict(flags, joke=True)))
        if imagined:
            out.append((imagined, dict(flags, hypothetical=True)))
    return out


_TITLE_PARTS = re.compile(r"\s+[-–—|·:]\s+")


def repeats_title(line: str, title: str | None) -> bool:
    """Whether a screen line only repeats the window title or one of its parts ("Lentil dal" under "Lentil dal - BBC
    Good Food - Mozilla Firefox"): the page's name, not something it says."""
    flat = "".join(words(line))
    if not title or not flat:
        return False
    return any(flat == "".join(words(part)) for part in [title] + _TITLE_PARTS.split(title))


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_UNIT_CHARS else text[: MAX_UNIT_CHARS - 1].rstrip() + "…"


# -- units of one source ------------------------------------------------------------------------------------------


def _observation_units(source: Source, n: int, context: str) -> list[Unit]:
    standing, speaker = standing_of(source)
    base = dict(n=n, source="observation", ref=source.ref, kind=source.kind, standing=standing, speaker=speaker,
                app=source.app, said_at=source.ts, item_score=source.score, context=context,
                conversation=source.conversation, title=source.title if standing == "screen" else None,
                url=source.url if standing == "screen" else None)
    units: list[Unit] = []
    text = source.text or ""
    base["message"] = " ".join(_stated(join_wrapped_lines(text), questions=False) + [source.title or "", source.url or ""])
    if standing == "screen":
        if source.title:
            units.append(Unit(_clip(source.title), order=-2, heading=True, page_title=True, **base))
        if source.url:
            units.append(Unit(_clip(source.url), order=-1, heading=True, page_title=True, **base))
        commands = [m.group(1).strip() for line in text.splitlines() if (m := _PROMPT.search(line))]
        commands = [c for c in commands if not _NOT_COMMANDS.match(c)]
        if len(commands) >= 2:
            units.append(Unit(_clip("; ".join(commands)), steps=True, order=-3, **base))
            # Each prompt line is one step of that procedure: its command alone, without the prompt's path.
            text = "\n".join(m.group(1) if (m := _PROMPT.search(line)) else line for line in text.splitlines())
        text = join_wrapped_lines(text)
    message_units: list[Unit] = []
    has_procedure = any(u.steps for u in units)
    for index, sentence in enumerate(sentences(text)):
        for piece, flags in _pieces(sentence):
            page_title = standing == "screen" and repeats_title(piece, source.title)
            heading = bool(_HEADER.match(piece)) or page_title or (standing == "screen" and looks_like_menu(piece))
            steps = bool(STEPS.search(piece)) and not has_procedure
            # A mask in a text whose only masked secrets are addresses hides an address: a place.
            place = MASK_CHAR in piece and set(source.masked) == {"address"}
            message_units.append(Unit(_clip(piece), order=index, steps=steps, heading=heading, page_title=page_title,
                                      masked_place=place, **base, **flags))
    if standing in ("own", "person") and len(message_units) > 1:
        # A short message is quoted whole (what it says around the sentence that answers), without its questions,
        # quotations and text addressed to an AI; a list is quoted whole only as the steps of a "how do I".
        stated = [u.text for u in message_units if not (u.question or u.quoted or u.to_ai or u.joke)]
        one_paragraph = "\n" not in text.strip()
        for unit in message_units:
            if one_paragraph and len(" ".join(stated)) <= MAX_QUOTE_CHARS:
                unit.quote = " ".join(stated)
            elif not one_paragraph and len("\n".join(stated)) <= MAX_STEPS_CHARS:
                unit.whole = " ".join(stated)
    return units + message_units


def _memory_units(source: Source, context: str) -> list[Unit]:
    f = source.fields
    base = dict(n=source.n, source="memory", ref=source.ref, kind=source.kind, standing="memory",
                said_at=source.ts, item_score=source.score, context=context, grounds=source.grounds)
    kind = source.kind
    if kind == "knowledge_vault":
        caption = str(f.get("caption") or "")
        return [Unit(_clip(f"{caption}: {f.get('secret_value') or ''}".strip(": ")), vault=True, **base)]
    if kind == "procedural":
        steps = [str(s) for s in (f.get("steps") or []) if str(s).strip()]
        text = str(f.get("summary") or "")
        if steps:
            text = (text.rstrip(":. ") + ": " if text else "") + "; ".join(steps)
        return [Unit(_clip(text), steps=bool(steps), **base)]
    if kind == "resource":
        title, location, summary = (str(f.get(k) or "") for k in ("title", "location", "summary"))
        text = title + (f" ({location})" if location and location != title else "") + (f": {summary}" if summary else "")
        return [Unit(_clip(text), **base)]
    if kind == "semantic":
        name, summary, details = (str(f.get(k) or "") for k in ("name", "summary", "details"))
        head = summary if fold(name) in fold(summary) else f"{name}: {summary}"
        text = head + (f". {details}" if details else "")
        return _memory_sentences(text, base)
    if kind == "episodic":
        event_at = f.get("occurred_at")
        exact = event_at is not None and not is_placeholder_time(float(event_at))
        text = " ".join(p for p in (str(f.get("summary") or ""), str(f.get("details") or "")) if p)
        return _memory_sentences(text, dict(base, event_at=event_at, exact_time=exact))
    return _memory_sentences(str(f.get("value") or source.text or ""), base)


def _memory_sentences(text: str, base: dict) -> list[Unit]:
    units: list[Unit] = []
    seen: set[str] = set()
    for index, sentence in enumerate(sentences(text)):
        role = _ROLE_PREFIX.match(sentence)
        if role and (role.group(2) or "").lower() in MACHINE_ROLES and " and " not in role.group(1).lower():
            continue  # a copied assistant line inside a memory states nothing about the user
        while _ROLE_PREFIX.match(sentence):
            sentence = _ROLE_PREFIX.sub("", sentence, count=1).strip()
        if not sentence or sentence.lower() in seen:
            continue
        seen.add(sentence.lower())
        for piece, flags in _pieces(sentence):
            units.append(Unit(_clip(piece), order=index, steps=bool(STEPS.search(piece)), **base, **flags))
    return units


def is_placeholder_time(ts: float) -> bool:
    """Whether an episode's time is the stand-in for "some time that day" (local noon, see core.absorb.dates)."""
    moment = datetime.fromtimestamp(ts)
    return (moment.hour, moment.minute, moment.second) == (12, 0, 0)


def _stated(text: str, *, questions: bool) -> list[str]:
    """The pieces of ``text`` that state (or, with ``questions``, ask) something real: no hypotheticals, jokes,
    quotations or text aimed at an AI."""
    return list(_stated_cached(text or "", questions))


@lru_cache(maxsize=4096)
def _stated_cached(text: str, questions: bool) -> tuple[str, ...]:
    return tuple(piece for sentence in sentences(text) for piece, flags in _pieces(sentence)
                 if not (flags.get("hypothetical") or flags.get("joke") or flags.get("to_ai") or flags.get("quoted"))
                 and (questions or not flags.get("question")))


def _turns(source: Source) -> list[Source]:
    """The source and its neighbouring turns that people wrote (not assistants), in the order they were said."""
    turns = [source] + [n for n in source.neighbours if standing_of(n)[0] != "machine"]
    return sorted(turns, key=lambda t: t.ts if t.ts is not None else 0.0)


class _Conversation:
    """What the turns around one retrieved item said, computed once for all the units that borrow from it."""

    def __init__(self, source: Source):
        self.turns = _turns(source)
        self.times = [t.ts if t.ts is not None else 0.0 for t in self.turns]
        # Per turn: what it states and asks (questions set a subject too), and what it states only.
        self.asked = [" ".join(_stated(join_wrapped_lines(t.text or ""), questions=True) + [t.title or ""]) for t in self.turns]
        self.stated = [" ".join(_stated(join_wrapped_lines(t.text or ""), questions=False)) for t in self.turns]
        self._before: dict[int, tuple[str, WordSet]] = {}
        self._reply: dict[tuple[int, int], tuple[str, WordSet]] = {}

    def _last_index(self, until: float | None) -> int:
        if until is None:
            return len(self.turns) - 1
        index = -1
        for i, ts in enumerate(self.times):
            if ts <= until:
                index = i
        return index

    def before(self, until: float | None) -> tuple[str, WordSet]:
        """What was said up to ``until``, questions included: the topic a sentence continues."""
        index = self._last_index(until)
        if index not in self._before:
            text = " ".join(self.asked[: index + 1])
            self._before[index] = (text, WordSet(words(text)))
        return self._before[index]

    def reply_context(self, unit: "Unit") -> tuple[str, WordSet]:
        """What a short reply may take its subject from: its own message and the statement just before it."""
        own = next((i for i, t in enumerate(self.turns) if t.ref == unit.ref), None)
        earlier = [i for i, ts in enumerate(self.times) if unit.said_at is not None and ts < unit.said_at
                   and self.turns[i].ref != unit.ref]
        key = (own if own is not None else -1, earlier[-1] if earlier else -1)
        if key not in self._reply:
            parts = ([self.stated[own]] if own is not None else [unit.message]) + ([self.stated[key[1]]] if earlier else [])
            text = " ".join(parts)
            self._reply[key] = (text, WordSet(words(text)))
        return self._reply[key]


def units_of(sources: Iterable[Source]) -> list[Unit]:
    """Every unit of ``sources`` (with their neighbouring turns); the sources' text must be masked already
    (``core.chat`` masks what it retrieves).

    An observation that is both an item and another item's neighbour gives its units once, under its own item.
    A unit may borrow words from what was said before it in its conversation (``Unit.context``), never from
    what came after: a reply continues its topic, an earlier message does not answer a later one.
    """
    sources = list(sources)
    # Each observation gives its units once: under its own item when it is one, else under the first item it
    # neighbours.
    done = {(s.source, s.ref) for s in sources}
    units: list[Unit] = []
    for source in sources:
        if source.source == "memory":
            context = " ".join(_stated(source.text or "", questions=True))
            units.extend(_memory_units(source, context))
            continue
        conversation = _Conversation(source)
        mine = _observation_units(source, source.n, "")
        for neighbour in source.neighbours:
            if ("observation", neighbour.ref) not in done:
                done.add(("observation", neighbour.ref))
                mine.extend(_observation_units(neighbour, source.n, ""))
        for unit in mine:
            unit.context, unit.context_words = conversation.before(unit.said_at)
            unit.stated_context, unit.stated_words = conversation.reply_context(unit)
        units.extend(mine)
    return [u for u in _without_copies(units) if u.text.strip()]


def _flat(text: str) -> str:
    return "".join(words(text))


def _day(ts: float | None):
    return datetime.fromtimestamp(float(ts)).date() if ts is not None else None


def _without_copies(units: list[Unit]) -> list[Unit]:
    """Memory sentences that only repeat an observation's words are left out: the words themselves are quoted.

    An event's memory is kept when the words name its day of the month and no month ("on the 14th", said on
    2 April, is 14 April): its date completes them.  Words that say "tomorrow" are quoted with the day they were
    written, which says when.
    """
    said = [(_flat(u.text), _day(u.said_at), set() if DAY_MENTION.search(u.text) else {int(n) for n in re.findall(r"\d+", u.text)},
             u.standing == "screen") for u in units if u.source == "observation"]
    out = []
    for unit in units:
        # A resource is kept: it says where the page or file is, which a line of it does not.
        if unit.source == "memory" and not unit.vault and not unit.steps and unit.kind != "resource":
            flat = _flat(unit.text)
            event_day = _day(unit.event_at)
            # A memory that joins several lines of a screen (an entry and the date line below it) repeats none.
            if flat and any((flat in other or (len(other) > 12 and other in flat
                                               and (not screen or 2 * len(other) >= len(flat))))
                            and (event_day is None or event_day == day or event_day.day not in numbers)
                            for other, day, numbers, screen in said):
                continue
        out.append(unit)
    return out
