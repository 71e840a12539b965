"""What a question asks, without a model.

``analyse(text)`` returns a ``Question``:

- ``kind``: the sort of answer wanted -- ``when`` (a date or time), ``who`` (a name), ``where`` (a
  place, path or link), ``how_much`` (a number), ``how_to`` (steps), ``yes_no``, or ``what``;
- ``anchors``: the content words the evidence must hold (or words that answer for them, see
  ``words.CONCEPTS``): "How much **rent** do we pay?" is not answered by a note about the landlord;
- ``types``: the words that name the kind of thing asked for ("which **airline**", "any
  **medication**"): the answer is an instance of them, so the evidence need not repeat them,
  but a question whose type and anchors are both missing is not answered;
- ``first_person``: the question is about the user ("my", "I", "mein", "mon", "mi", "meu");
- ``wants_now``: it asks for the current state ("now", "still", "jetzt", "ahora"...);
- ``asks_saved``: "do I have X saved / did I note X", a question about the vault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.answer.words import NOW_WORDS, STOPWORDS, TIME_NOUNS, concepts_of, fold, name_groups, names_in, words

_KINDS: tuple[tuple[str, re.Pattern], ...] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE))
    for kind, pattern in (
        ("what_name", r"\b(comment (s['’]appelle|il s['’]appelle|elle s['’]appelle)|wie hei(ß|ss)t|c[oó]mo se llama|"
                 r"como se chama)"),
        ("how_much", r"\b(how (much|many|old|often|long|far)|what (dose|temperature|size|amount|percentage|age)|"
                     r"at what temperature|combien|wie (viel|viele|oft|lange|alt|weit)|cu[aá]nt[oa]s?|quant[oa]s?|"
                     r"com que frequ[eê]ncia|[àa] quelle temp[ée]rature)\b"),
        ("when", r"\b(when|what time|what day|which day|what date|since when|until when|how long ago|quand|"
                 r"[àa] quelle heure|quel jour|depuis quand|wann|um wie viel uhr|an welchem tag|cu[aá]ndo|"
                 r"a qu[eé] hora|qu[eé] d[ií]a|desde cu[aá]ndo|quando|a que horas|que dia|desde quando)\b"),
        ("who", r"\b(who|whom|whose|qui|wer|wem|wen|qui[eé]n(es)?|quem)\b"),
        ("where", r"\b(where|wo|woher|wohin|d[oó]nde|ad[oó]nde|onde)\b|(?<!\w)où(?!\w)"),
        ("how_to", r"\b(how (do|did|can|should|would|could) (i|we|you)|how to|what are the steps|steps (to|for)|"
                   r"comment|wie|c[oó]mo)\b"),
        ("what", r"\b(which|what|welche[rsnm]?|was|quel(le)?s?|que|qu[eé]|qual|quais|cu[aá]l(es)?)\b"),
    )
)
_YES_NO_START = re.compile(
    r"^\s*(do|does|did|am|is|are|was|were|have|has|had|can|could|will|would|should|bin|bist|ist|sind|habe|hast|hat|"
    r"haben|hab|kann|muss|war|est-ce que|est-ce qu|ai-je|as-tu|avez-vous|tengo|tienes|he|has|tenho|tens|guardei|"
    r"salvei|anotei)\b",
    re.IGNORECASE,
)
_TYPE_LEAD = re.compile(
    r"\b(which|what|welche[rsnm]?|quel(le)?s?|qu[eé]|qual|quais|cu[aá]l(es)?|any|kind of|sort of|type of|"
    r"how many|how much|cu[aá]nt[oa]s?|quant[oa]s?|combien d[e'’]|wie viele?)\s*",
    re.IGNORECASE,
)
_SAVED = re.compile(
    r"\b(saved|stored|noted?|written down|kept|save|store|vault|gespeichert|notiert|enregistr\w*|not[ée]e?s?|"
    r"guardad[oa]s?|apuntad[oa]s?|anotad[oa]s?|salv[oa]s?|guardei|guardou|guardaste|salvei|salvou|anotei|"
    r"registad[oa]s?|registrad[oa]s?|gravad[oa]s?|abgespeichert|hinterlegt|sauvegard\w*|gard[ée]e?s?)\b",
    re.IGNORECASE,
)
_FIRST_PERSON = frozenset(fold(w) for w in """i me my mine we our ours us myself ich mein meine meinen meinem meiner
    wir unser unsere mich mir je moi mon ma mes nous notre nos yo mi mis nosotros nuestro nuestra eu meu minha meus
    minhas nos nosso nossa""".split())
# "I", "we": the question's subject is the user ("Where do I live?"); "my mum" is someone else ("Where does my mum
# live?"), unless what is "mine" is the identity itself ("my job", "my address").
_SUBJECT_PRONOUNS = frozenset(fold(w) for w in "i we ich wir je nous yo nosotros nosotras eu nós".split())
_OWNED = re.compile(r"\b(my|our|mein\w*|unser\w*|mon|ma|mes|notre|nos|mi|mis|nuestr\w*|meu|minha|meus|minhas|nosso|nossa)\s+"
                    r"([^\W\d_]+)", re.IGNORECASE)
_REWRITES = (
    (re.compile(r"\bdo for a living\b|\bfor a living\b", re.IGNORECASE), " work "),
    (re.compile(r"\bwhat('s| is) my job\b", re.IGNORECASE), "what is my work"),
    (re.compile(r"\bback(ing|ed|s)? up\b", re.IGNORECASE), "backup"),
    # "Which spreadsheet did I work on": a task, not the user's job.
    (re.compile(r"\b(work|works|worked|working) on\b|\barbeite\w* (an|daran)\b", re.IGNORECASE), " "),
)
_ELIDED_I = re.compile(r"\bj['’]", re.IGNORECASE)
_THESE_DAYS = re.compile(r"\b(these days|nowadays|any ?more|no longer)\b", re.IGNORECASE)
_HOW_OFTEN = re.compile(r"\b(how often|how many times|wie oft|combien de fois|[àa] quelle fr[ée]quence|cada cu[aá]nto|"
                        r"con qu[eé] frecuencia|com que frequ[eê]ncia|de quanto em quanto)\b", re.IGNORECASE)
_POSSESSIVE = re.compile(r"\b([^\W\d_][\w-]*)['’]s?\b(?=\s)", re.IGNORECASE)
_HOW_MUCH_IS = re.compile(r"\bhow much (is|are|was|were|will)\b|\bcombien (co[uû]te|est)\b|\bwas kostet\b|"
                          r"\bcu[aá]nto (cuesta|vale|es)\b|\bquanto (custa|[eé])\b", re.IGNORECASE)
MAX_TYPE_WORDS = 3


@dataclass
class Question:
    text: str
    kind: str
    anchors: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    first_person: bool = False
    wants_now: bool = False
    asks_saved: bool = False
    how_often: bool = False  # "how often", "wie oft", "cada cuánto": a frequency
    wants_name: bool = False  # the answer is a name ("what's my name", "what is the plumber called")
    entities: list[list[str]] = field(default_factory=list)  # the names the question mentions: each must be held
    wants_money: bool = False  # "how much is / does it cost / rent / fee": an amount of money
    which: bool = False  # "which X": a named instance of the type words is asked for
    possessors: list[str] = field(default_factory=list)  # "the electrician's e-mail": what the question is about
    owned: list[str] = field(default_factory=list)  # what "my"/"mein"/"mon" qualifies: "my mum" -> ["mum"]
    self_subject: bool = False  # "I"/"we" is a subject of the question (or elided "j'")

    @property
    def terms(self) -> list[str]:
        return self.anchors + self.types


def _kind(text: str) -> str:
    found: list[tuple[int, int, str]] = []
    for order, (kind, pattern) in enumerate(_KINDS):
        match = pattern.search(text)
        if match:
            found.append((match.start(), order, kind))
    if _YES_NO_START.match(text) and not any(start < 3 for start, _, kind in found if kind != "what"):
        return "yes_no"
    if not found:
        return "yes_no"
    first = min(found)
    # "how much/when/who..." written after a short lead ("On which day", "At what temperature") still decide.
    specific = [f for f in found if f[2] != "what" and f[0] <= first[0] + 12]
    kind = min(specific)[2] if specific else first[2]
    return "what" if kind == "what_name" else kind


_WHICH = re.compile(r"^(which|welche[rsnm]?|quel(le)?s?|qual|quais|cu[aá]l(es)?)$", re.IGNORECASE)


def _type_words(text: str) -> tuple[list[str], bool]:
    """The type words and whether they follow "which" (a named instance is asked for)."""
    out: list[str] = []
    which = False
    text = re.sub(r"\best-ce qu['’e]\s*", " ", text, flags=re.IGNORECASE)
    for match in _TYPE_LEAD.finditer(text):
        # English puts the verb after "do I": up to three nouns; elsewhere the verb may follow at once.
        limit = MAX_TYPE_WORDS if match.group(1).lower().startswith(("which", "what", "how", "any", "kind", "sort", "type")) else 1
        rest = text[match.end():]
        for raw in re.findall(r"[^\W_][\w'’-]*", rest)[: limit + 1]:
            if raw[0].isupper() and out:
                break  # a name after the type words
            if re.match(r"(?i)(j|l|d|m|t|s|n|c|qu)['’]", raw):
                break  # "ville j'habite": a pronoun starts the rest of the sentence
            word = (words(raw) or [""])[0]
            if not word or word in STOPWORDS or word in ("of", "de"):
                break
            if raw[0].isupper():
                continue  # "Which Kubernetes page": the name is an anchor, the words after it the type
            out.append(word)
            if len(out) >= limit:
                break
        if out:
            which = bool(_WHICH.match(match.group(1)))
            break
    return out, which


def analyse(text: str) -> Question:
    """The ``Question`` for ``text``; see the module docstring."""
    rewritten = text or ""
    for pattern, replacement in _REWRITES:
        rewritten = pattern.sub(replacement, rewritten)
    clean = rewritten.replace("¿", " ").replace("¡", " ").strip()
    kind = _kind(clean)
    all_words = words(clean)
    types, which = ([], False) if kind == "when" else _type_words(clean)
    asks_saved = kind == "yes_no" and bool(_SAVED.search(clean))
    seen: dict[str, None] = {}
    for word in all_words:
        if word in STOPWORDS or word in NOW_WORDS or len(word) < 2 or word in types:
            continue
        if kind == "when" and word in TIME_NOUNS:
            continue
        if asks_saved and (_SAVED.fullmatch(word) or _YES_NO_START.fullmatch(word)):
            continue  # "saved", "noted", "hab": the vault's verbs, not what is asked about
        seen.setdefault(word, None)
    anchors = list(seen)
    # "What is X's name / comment s'appelle X": the answer is a name, the evidence need not say "name".
    naming = [w for w in anchors if any(c.name == "name" for c in concepts_of(w))] if kind not in ("when", "how_much", "how_to") else []
    if naming:
        anchors = [w for w in anchors if w not in naming]
        types = types + [w for w in naming if w not in types]
    return Question(
        text=text,
        kind=kind,
        anchors=anchors,
        types=types,
        wants_name=bool(naming),
        which=which,
        names=names_in(clean[1:]) if clean else [],
        first_person=any(w in _FIRST_PERSON for w in all_words) or bool(_ELIDED_I.search(clean)),
        wants_now=any(w in NOW_WORDS for w in all_words) or bool(_THESE_DAYS.search(clean)),
        asks_saved=asks_saved,
        how_often=bool(_HOW_OFTEN.search(clean)),
        entities=name_groups(clean),
        possessors=[w for w in (fold(m.group(1)) for m in _POSSESSIVE.finditer(clean)) if w in anchors],
        owned=[w for w in (fold(m.group(2)) for m in _OWNED.finditer(clean)) if w not in STOPWORDS],
        self_subject=any(w in _SUBJECT_PRONOUNS for w in all_words) or bool(_ELIDED_I.search(clean)),
        wants_money=kind == "how_much" and not _HOW_OFTEN.search(clean) and (
            bool(_HOW_MUCH_IS.search(clean)) or any(c.name == "money" for w in all_words for c in concepts_of(w))),
    )
