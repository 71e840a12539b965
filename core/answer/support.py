"""Does the evidence answer the question, and which sentences answer it best?

``find_support(question, units)`` scores every unit that states something:

- **coverage**: the share of the question's anchors the unit holds (a word, a form of it, or a
  word of its concept), missing type words counting half against it.  A unit may borrow what it
  lacks from the other sentences of its own message or screen, and at a discount from what was
  said before it in its conversation (never after: an earlier message does not answer a later
  one).  A sentence that holds none of the question borrows only when it is a short reply that
  clearly holds what is asked, and only from the statement just before it: "Membership is 45
  pounds a month" answers "How much is the rowing club membership?" after "I joined the Harbour
  Rowing Club"; "My sister Mira is allergic to peanuts" does not answer which airline flies to
  Lisbon because it follows the Lisbon trip;
- **names and attributes**: every name the question mentions must be held; a question about
  something of someone ("the electrician's e-mail", "Is Tomasz married?") must find that
  something, not only the someone;
- **fit**: whether it holds the kind of thing asked for -- a date or time for "when", a name for
  "who", a place, street, path or link for "where", a number for "how much" (an amount of money
  for a price, a frequency for "how often"), for "which X" an X or at least a name, and for any
  question something the question does not already say; a sentence saying something does not
  exist answers only a yes/no question;
- **rank**: the anchors it holds weighted by how few units hold each (the part of the question
  only one sentence answers decides), a clear case of what is asked (an amount with its unit, a
  day, a full name, an address), who stands behind it (the user's own words first, then memories,
  other people, the screen), and less for headings (window titles, URLs, e-mail headers and OCR
  menus say what a page is, rarely the answer).

A question about the user's identity (their name, where they live, their job) is answered only by
the user's own words or memories: a screen or a tool saying "the user's home address is ..."
answers nothing.  The best unit must cover at least ``MIN_COVERAGE`` of the question and fit it
(steps for "how do I" need only ``MIN_STEPS_COVERAGE``, if what they hold is more than the part of
life the question names: "at work" does not make a laptop's setup the way to reset a work
password); otherwise the answer is an abstention.  A page's title or URL alone answers only which
page or file was seen, and a line of a page that holds nothing of the question takes the page's
words only when it clearly holds what is asked.

The best unit is then checked for a newer statement that changes it: a later observation that
shares a content word with it, still holds the kind of thing asked, and says "correction",
"actually", "no longer", "instead", "cancelled", "left", "sondern", "ya no"... (or "now", "new",
"jetzt" while holding part of the question) wins, so an answer never quotes the outdated version.
Finally the sentences a reader needs around it are added: the earlier turn it refers to ("Use
that one abroad") or takes a missing anchor from, and the date line above a time on a calendar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.answer.evidence import Unit
from core.answer.question import Question
from core.answer.words import (
    COMMON_STARTERS,
    DAY_MENTION,
    FREQUENCY,
    IN_PLACE,
    MONEY_AMOUNT,
    PLACE_KINDS,
    PREFERENCE_WORDS,
    QUANTITY,
    NUMBER,
    PATH_OR_LINK,
    PLACE,
    STOPWORDS,
    TIME_EXPRESSION,
    WordSet,
    concepts_of,
    holds_member,
    name_groups,
    names_in,
    person_names,
    quantity_text,
    words,
)
from core.secrets import MASK_CHAR

MIN_COVERAGE = 0.5
# A sentence this short that holds nothing of the question but clearly holds what it asks (a day, an amount, a name,
# a place) may be a reply to the turn just before it.
MAX_REPLY_WORDS = 10
MIN_STEPS_COVERAGE = 0.3
CONTEXT_DISCOUNT = 0.8  # coverage borrowed from the words around a unit counts this much
TYPE_WEIGHT = 0.5
HEADING_PENALTY = 0.25
STANDING_BONUS = {"own": 0.25, "memory": 0.2, "person": 0.15, "screen": 0.05}
IDENTITY_CONCEPTS = frozenset({"live", "work", "name"})
SEEING_WORDS = frozenset(words("""read reading saw see seen look looking looked view viewing viewed open opened
    watch watching watched browse browsing browsed visit visited visiting check checking checked"""))
# Words that say an earlier statement no longer holds: a later sentence with one of them, about the same thing,
# replaces the earlier one.
CHANGE = re.compile(
    r"\b(correction|corrected|correcting|actually|in fact|i meant|scratch that|forget that|change of plans?|got (that|it) wrong|no longer|not any ?more|any ?more|"
    r"instead|switched|changed|moved|left|quit|cancell?ed|called off|ended|is over|stopped|oops|not the|"
    r"nicht mehr|kein\w* mehr|sondern|umgezogen|gekündigt|abgesagt|verlesen|ne \w+ plus|n'\w+ plus|désormais|en fait|"
    r"annulé|résilié|ya no|en realidad|cancelad[oa]|já não|corrigindo|na verdade|mudaram|mudei|não [àa]s|"
    r"quitt[ée]e?s?|chang[ée]e?s? (de|d'|pour)|j'ai chang[ée]|suis pass[ée]e?s? (chez|à|au)|démissionn[ée]e?|"
    r"déménag[ée]e?s?|gewechselt|aufgehört|verlassen|dejé|cambié|me mudé|me cambié|saí|troquei|mudou)\b",
    re.IGNORECASE,
)
# Words that may announce a change but are common in any chat ("now", "new"): the later sentence must then also
# hold part of the question.
MAYBE_CHANGE = re.compile(r"\b(now|nowadays|these days|new|update|since|jetzt|nun|neue[nrs]?|seit|maintenant|nouvel(le)?|"
                          r"depuis|ahora|nuev[oa]|desde|agora|nov[oa])\b", re.IGNORECASE)
UPDATE = re.compile(f"{CHANGE.pattern}|{MAYBE_CHANGE.pattern}", re.IGNORECASE)


_ANAPHOR = re.compile(r"\b(that one|this one|the one|that card|this card)\b|^\W*(that|this|they|those|these|he|she|"
                      r"there|same|das|dies|ça|cela|eso|esto|isso|isto)\b", re.IGNORECASE)


# A sentence that says something does not exist answers "do I have ...?", never "when / where / which ...?".
_NONE = re.compile(
    r"\b(don'?t|do not|doesn'?t|does not|didn'?t|did not) have\b|\bhave no\b|\bhaven'?t got\b|\bthere (is|are|'s) no\b|"
    r"\bno (one|record|appointment|plans?)\b|\b(habe|hab|hat) kein\w*|\bgibt es kein\w*|\bn'(ai|a) pas\b|\bil n'y a pas\b|"
    r"\bno (tengo|tiene|hay)\b|\bnão (tenho|tem|há)\b",
    re.IGNORECASE,
)


@dataclass
class Scored:
    unit: Unit
    coverage: float  # for the gate: anchors, with missing type words counting against
    fit: bool
    score: float  # for ranking
    covered: set[str] = field(default_factory=set)
    borrowed: bool = False  # coverage came from the words around the unit
    entities: bool = True  # every name the question mentions is held by the unit or the words it borrows
    attribute: bool = True  # a question about something of someone holds that something, not only the someone


@dataclass
class Support:
    """What the evidence says about a question: the units to quote (in reading order), or nothing."""

    question: Question
    chosen: list[Unit] = field(default_factory=list)
    ranked: list[Scored] = field(default_factory=list)
    reason: str = ""
    superseded: list[Unit] = field(default_factory=list)
    main: Unit | None = None  # the unit that answers; the others are its context

    @property
    def answered(self) -> bool:
        return bool(self.chosen)


# A number written as a word answers for its digits: "five-a-side" is the "5-a-side".
_DIGIT_OF = {w: str(i) for ws in ("""one eins un une uno um una/two zwei deux dos dois/three drei trois tres tres/four vier
    quatre cuatro quatro/five funf cinq cinco/six sechs six seis/seven sieben sept siete sete/eight acht huit ocho oito/
    nine neun neuf nueve nove/ten zehn dix diez dez/eleven elf onze once/twelve zwolf douze doce doze""".split("/"),)
             for i, group in enumerate(ws, 1) for w in group.split()}


def term_supported(term: str, unit_words: WordSet, raw: str) -> bool:
    if unit_words.has(term):
        return True
    if term in _DIGIT_OF and _DIGIT_OF[term] in unit_words.items:
        return True
    if holds_member(term, unit_words, raw):
        return True  # "which antibiotic": "penicillin" is one
    return any(concept.in_text(unit_words, raw) for concept in concepts_of(term))


def is_identity_question(question: Question) -> bool:
    """A question about who the user is: their name, home or work, asked about the user ("Where do I live?", "What is
    my job?"), not about someone of theirs ("Where does my mum live?")."""
    if not question.first_person:
        return False
    if not question.self_subject and any(not _identity_word(w) for w in question.owned):
        return False
    # "call" is a naming word only when a name is asked for ("What do they call me?"), not in "When should I call".
    return any(_identity_word(term) and (question.wants_name or not any(c.name == "name" for c in concepts_of(term)))
               for term in question.terms)


def _identity_word(word: str) -> bool:
    return any(c.name in IDENTITY_CONCEPTS for c in concepts_of(word))


_THIRD_PERSON = frozenset(words("""he she they his her their him them he's she's they're er sie ihr ihm il elle ils
    elles lui él ella ellos ellas ele ela eles elas"""))
_USER_WORDS = frozenset(words("""i me my mine we our us im ive id ich mich mir mein meine wir unser je j moi mon ma
    mes nous notre yo mi mis nosotros eu meu minha nos nosso""")) | {"i'm"}


_USER_SUBJECTS = frozenset(words("i im ive id we ich wir je j nous yo eu")) | {"i'm"}
# "my brother Ali ...", "meine Schwester ...": a sentence about someone of the user's.
_SOMEONE_OF_MINE = re.compile(
    r"^\W*(\w+\W+){0,2}?(my|our|mein\w*|unser\w*|mon|ma|mes|notre|mi|mis|nuestr\w*|meu|minha|nosso|nossa)\s+(\w+\s+)?"
    r"(brother|sister|mum|mom|mother|dad|father|wife|husband|partner|boyfriend|girlfriend|son|daughter|cousin|friend|"
    r"boss|colleague|neighbou?r|uncle|aunt|grandma|grandpa|grandmother|grandfather|kid|kids|flatmate|roommate|bruder|"
    r"schwester|mutter|vater|frau|mann|freund\w*|kollegin|kollege|frère|frere|sœur|soeur|mère|père|femme|mari|"
    r"copain|copine|hermano|hermana|madre|padre|esposa|esposo|novio|novia|irmão|irmao|irmã|irma|mãe|mae|pai|"
    r"marido|namorad[oa])\b",
    re.IGNORECASE,
)


def about_the_user(unit: Unit) -> bool:
    """Whether a unit may say who the user is: core memory, a sentence in the first person, or one with no other
    subject ("new job!!"). "TOMASZ GOT THE JOB!!" and "he's going to be sous-chef" are about someone else."""
    if unit.kind == "core" or unit.vault:
        return True
    tokens = words(unit.text)
    if any(t in _USER_SUBJECTS for t in tokens):
        return True
    if any(t in _THIRD_PERSON for t in tokens[:3]) or _SOMEONE_OF_MINE.match(unit.text):
        return False
    if any(t in _USER_WORDS for t in tokens):
        return True
    # A name first, and "he"/"she" in the same message: "TOMASZ GOT THE JOB!! he's going to be sous-chef". A verb
    # that starts a sentence ("Moro em Braga") has no such company.
    first = re.match(r"\W*([^\W\d_][\w'’-]*)", unit.text)
    named_first = bool(first and first.group(1)[0].isupper() and names_in(first.group(1)))
    return not (named_first and any(t in _THIRD_PERSON for t in unit.message_words.items))


def _covered(question: Question, unit: Unit, use_context: bool, with_questions: bool = True, message: bool = False) -> set[str]:
    if message:
        unit_words, raw = unit.message_words, unit.message or unit.text
    elif use_context:
        unit_words = unit.context_words if with_questions else unit.stated_words
        raw = (unit.context if with_questions else unit.stated_context) or unit.text
    else:
        unit_words, raw = unit.words, unit.text
    covered: set[str] = set()
    for term in question.terms:
        seen = unit.standing == "screen" or unit.kind == "resource"  # a page, a file: what the user read or saw
        if term_supported(term, unit_words, raw) or (seen and term in SEEING_WORDS):
            covered.add(term)
        elif term in question.types and term in PLACE_KINDS and IN_PLACE.search(raw):
            covered.add(term)  # "which city": "in Rotterdam" is one
    return covered


def entities_held(question: Question, unit_words: WordSet) -> bool:
    """Whether every name the question mentions is held (one word of each is enough: "Restos" for "Restos du Cœur")."""
    return all(any(unit_words.has(w) for w in group) for group in question.entities)


def _gate(question: Question, covered: set[str]) -> float:
    total = len(question.anchors) + TYPE_WEIGHT * len(question.types)
    if not total:
        return 0.0
    got = sum(1.0 for t in question.anchors if t in covered) + sum(TYPE_WEIGHT for t in question.types if t in covered)
    return got / total


def fits(question: Question, unit: Unit) -> bool:
    """Whether ``unit`` holds the kind of thing ``question`` asks for (see the module docstring)."""
    text = unit.text
    asked = WordSet(set(question.terms) | set(words(question.text)))
    # Filler ("nope", "haha", "ok") says nothing new: "nope, the neighbour's dog again" names no dog.
    new_words = [w for w in words(text) if w not in STOPWORDS and w not in COMMON_STARTERS and not asked.has(w)
                 and len(w) >= 2]
    kind = question.kind
    if kind != "yes_no" and _NONE.search(text):
        return False  # "I don't have a dentist appointment this week" says when nothing is
    if kind == "when":
        return bool(TIME_EXPRESSION.search(text)) or unit.event_at is not None
    if kind == "how_much":
        if question.how_often:
            return bool(FREQUENCY.search(text))
        if question.wants_money:
            return bool(MONEY_AMOUNT.search(text))
        return bool(NUMBER.search(text if re.search(r"\bhow (old|long)\b", question.text, re.I) else quantity_text(text)))
    if kind == "who" or question.wants_name:
        if kind == "who" and unit.standing == "person" and unit.speaker and _speaks_of_self(text):
            return True  # "Who is vegan?" - Nadia: "I'm vegan": the speaker is the who
        if not any(ch.isupper() for ch in text):
            return bool(new_words)  # typed all in lowercase: no capital marks the name
        return any(not asked.has(name) for name in names_in(text))
    if kind == "where":
        # A place: "in Valencia", "at Klarna", a street, a path or a link; a capitalised word that only starts the
        # sentence ("Remind me: ...") is no place.
        return (bool(PLACE.search(text) or PATH_OR_LINK.search(text)) or unit.vault
                or any(not asked.has(name) for name in names_in(_without_sentence_starts(text)))
                or _lowercase_place(text, asked))
    if kind == "yes_no":
        return True
    if not question.types and any(t in AMOUNT_NOUNS for t in question.anchors):
        # "What is my salary?", "Quel est mon loyer ?": an amount is asked for, not a sentence that says "pricing"
        # ("Which spreadsheet has the trip costs?" asks for a spreadsheet).
        return bool(MONEY_AMOUNT.search(text) or NUMBER.search(quantity_text(text)))
    if question.which and question.types and _wants_one(question, text):
        return False  # "i need a weekend hobby" says none is taken up yet
    if question.which and question.types and not any(unit.words.has(t) or holds_member(t, unit.words, text)
                                                       for t in question.types):
        # "Which airline ...?" is not answered by a sentence that names no airline: without the type word, it
        # must at least name something the question does not.
        return any(not asked.has(name) for name in names_in(text)) or bool(PATH_OR_LINK.search(text))
    return bool(new_words) or unit.vault


# Nouns that name an amount: asked "what is my ...", the answer holds a number.
AMOUNT_NOUNS = frozenset(words("""salary salaries wage wages income rent price prices cost costs fee fees gehalt lohn
    miete preis kosten salaire loyer prix sueldo salario alquiler precio aluguel preco"""))


def asks_about_the_user(question: Question) -> bool:
    """A question about the user themselves ("What is my diet?", "Am I vegan?"), not about someone of theirs ("Where
    does my sister live?")."""
    if not question.first_person:
        return False
    return question.self_subject or not any(_PERSON_WORD.fullmatch(w) or any(c.name in _PERSON_CONCEPTS for c in
                                                                              concepts_of(w)) for w in question.owned)


_PERSON_CONCEPTS = frozenset({"related", "mother", "father", "doctor"})
_PERSON_WORD = re.compile(r"(friend|boss|colleague|neighbou?r|landlord|landlady|flatmate|roommate|housemate|dentist|"
                          r"teacher|manager|kid|kids|child|children|baby|girlfriend|boyfriend|ex|mate|buddy|"
                          r"freund\w*|kolleg\w*|nachbar\w*|vermieter\w*|ami|amie|voisin\w*|amig[oa]s?|vecin[oa]s?)")


def _speaks_of_self(text: str) -> bool:
    return any(t in _USER_SUBJECTS for t in words(text))


# "I need a hobby", "looking for a new dentist", "ich brauche einen Arzt": the thing is wanted, not had.
_WANTING = re.compile(
    r"\b(need|needs|want|wants|looking for|searching for|in search of|brauche|suche|cherche|besoin d['’]|busco|necesito|"
    r"quiero|preciso( de)?|procuro|quero)\s+(a|an|some|one|another|ein\w*|un|une|una|um|uma|new|neue\w*|nouveau|nouvelle|"
    r"nuev[oa]|nov[oa])\b(?P<what>(\s+[^\W\d_]+){0,3})",
    re.IGNORECASE,
)


def _wants_one(question: Question, text: str) -> bool:
    """Whether ``text`` names the type asked for only as something wanted ("Which hobby did I take up?" - "I need a
    weekend hobby")."""
    for match in _WANTING.finditer(text):
        after = WordSet(words(match.group("what") or ""))
        if any(after.has(t) for t in question.types):
            return True
    return False


_LOWER_PLACE = re.compile(r"\b(in|at|near|bei|chez|à|au|en|em|na|no)\s+(the\s+|der\s+|la\s+|le\s+|el\s+|o\s+|a\s+)?"
                          r"([^\W\d_][\w'’-]{2,})", re.IGNORECASE)


_NOT_PLACES = frozenset(words("""moment general least fact person total case least advance touch time fault charge
    favour favor front order line common particular short"""))


def _lowercase_place(text: str, asked: WordSet) -> bool:
    """Typed all in lowercase, no capital marks a place: "im a data engineer at brightwell logistics" names one all the
    same (a word after "at"/"in" that is no function word, no time and not the question's own)."""
    if any(ch.isupper() for ch in text):
        return False
    for match in _LOWER_PLACE.finditer(text):
        word = (words(match.group(3)) or [""])[0]
        if (word and word not in STOPWORDS and word not in _NOT_PLACES and not asked.has(word)
                and not NUMBER.match(match.group(3)) and not TIME_EXPRESSION.match(text, match.start())
                and not TIME_EXPRESSION.fullmatch(match.group(3))):
            return True
    return False


def _without_sentence_starts(text: str) -> str:
    return re.sub(r"(^|[.!?:]\s+)[^\W\d_]+", " ", text)


def fits_well(question: Question, unit: Unit) -> bool:
    """A clear case of what is asked: an amount with its unit, a day, a person's full name."""
    text = unit.text
    if question.kind == "how_much" and question.how_often:
        return bool(FREQUENCY.search(text))
    if question.kind == "how_much":
        if question.wants_money:
            return bool(MONEY_AMOUNT.search(text))
        if re.search(r"\bhow many\b|\bwie viele\b|\bcu[aá]nt[oa]s\b|\bquant[oa]s\b|\bcombien de\b", question.text, re.I):
            return False  # a count: any number will do, none is clearer
        return bool(QUANTITY.search(text))
    if question.kind == "when":
        return bool(DAY_MENTION.search(text)) or (unit.event_at is not None)
    if question.kind == "who" or question.wants_name:
        asked = WordSet(words(question.text))
        return any(not any(asked.has(w) for w in words(name)) for name in person_names(text))
    if question.kind == "where":
        # A masked address with a name beside it ("Kwik Fit Leith, ••••••••") is a place; a mask alone says nothing.
        return bool(PLACE.search(text) or PATH_OR_LINK.search(text)) or (
            unit.masked_place and bool(names_in(_without_sentence_starts(text))))
    return False


_SECRET_WORDS = frozenset(words("""password passwords passphrase passcode pin pins code codes iban card cards number account
    passport key token combo combination login credentials passwort kennwort nummer konto mot passe code carte numero
    contraseña clave tarjeta cuenta senha cartão conta"""))


def asks_for_secret(question: Question) -> bool:
    return any(t in _SECRET_WORDS for t in question.terms)


def _weights(question: Question, pool: list[Unit]) -> dict[str, float]:
    """Each term's weight: 1 over the square of the number of units holding it (at least one).

    Type words weigh nothing when there are anchors: a sentence that repeats "products" names the category,
    the one that answers names an instance ("What kind of products do I design?" - "kitchen appliances").
    """
    weights: dict[str, float] = {}
    for term in question.terms:
        holders = sum(1 for u in pool if term in _covered_cache(question, u))
        base = 1.0 if term in question.anchors or not question.anchors else 0.0
        weights[term] = base / max(1, holders) ** 2
    return weights


_CACHE_KEY = "_covered_by_question"


def _covered_cache(question: Question, unit: Unit) -> set[str]:
    cache = unit.__dict__.setdefault(_CACHE_KEY, {})
    key = id(question)
    if key not in cache:
        cache[key] = _covered(question, unit, use_context=False)
    return cache[key]


def score_unit(question: Question, unit: Unit, weights: dict[str, float] | None = None) -> Scored:
    own = _covered_cache(question, unit)
    fit = fits(question, unit)
    gate = _gate(question, own)
    borrowed = False
    around: set[str] = set()
    words_held = unit.words
    if own or fit:
        # The other sentences of its own message or screen count in full; earlier turns at a discount. A sentence
        # that holds part of the question may take its subject from what was said before, questions included ("Can
        # you help me plan Lena's 40th?"); a short reply that holds none of it only from the statement just before
        # it ("Alle 6 Monate."), never from a question ("True, I'll text them both").
        in_message = _covered(question, unit, use_context=False, message=True)
        # A line that holds nothing of the question takes it from its own page only when it clearly holds what is
        # asked ("Total: 45.00" under "Order 1182", the commands on a terminal): any line of a recipe page is no wine
        # for its dal.
        clearly = fits_well(question, unit) or (question.kind == "how_to" and unit.steps)
        if (own or clearly) and _gate(question, in_message) > gate:
            gate, borrowed, around, words_held = _gate(question, in_message), True, in_message, unit.message_words
        if own or (len(unit.words.items) <= MAX_REPLY_WORDS and fits_well(question, unit)):
            nearby = _covered(question, unit, use_context=True, with_questions=bool(own))
            if _gate(question, nearby) * CONTEXT_DISCOUNT > gate:
                gate, borrowed, around = _gate(question, nearby) * CONTEXT_DISCOUNT, True, nearby
                words_held = unit.context_words if own else unit.stated_words
    weights = weights or {t: 1.0 for t in question.terms}
    total = sum(weights.values()) or 1.0
    rank = sum(weights[t] for t in own) / total + 0.5 * sum(weights[t] for t in around - own) / total
    if not question.terms:
        rank = 0.0
    exact = sum(1 for t in question.anchors if t in unit.words.items) / max(1, len(question.anchors))
    score = (2.0 * rank + 0.15 * exact + (0.6 if fit else 0.0) + (0.5 if fit and fits_well(question, unit) else 0.0)
             + STANDING_BONUS.get(unit.standing, 0.0)
             + 0.3 * min(1.0, unit.item_score) - (HEADING_PENALTY if unit.heading else 0.0))
    if question.kind == "how_to" and unit.steps:
        score += 0.4
    if (question.types and not question.which and fit and unit.standing == "screen"
            and any(t in own for t in question.types)):
        # "What seat do I have?" on a boarding pass: the line that says "SEAT 23A" holds it, the line with the
        # destination names the flight (a page's lines share its words: the type word tells them apart).
        score += 1.0
    if unit.vault:
        # A vault entry answers "is it saved" and "what is my PIN" (with a mask); for anything else its caption is
        # only a pointer, and the sentence it came from says more.
        score += 0.4 if question.asks_saved or asks_for_secret(question) else -0.3
    entities = entities_held(question, unit.words) or entities_held(question, words_held)
    covered = own | around
    attribute = True
    if question.possessors or (question.kind == "yes_no" and question.entities):
        # "What is the electrician's e-mail?", "Is Tomasz married?": the electrician or Tomasz is not enough. The
        # possessor must be there, and one of the other words too (or, asked whether it still holds, the change).
        subjects = set(question.possessors) | {w for group in question.entities for w in group}
        others = [t for t in question.anchors if t not in subjects]
        attribute = all(t in covered or unit.words.has(t) or words_held.has(t) for t in question.possessors) and (
            not others or any(t in covered for t in others)
            or (question.wants_now and bool(CHANGE.search(unit.text))))
    return Scored(unit, gate, fit, score, covered, borrowed, entities, attribute)


# "[sudo] password for lior:", "Enter PIN:": a prompt that asks for a secret holds none.
_SECRET_PROMPT = re.compile(
    r"(?i)[^:\n]{0,60}\b(?:password|passphrase|passcode|pin|passwort|kennwort|mot\s+de\s+passe|contraseña|senha)\b"
    r"[^:\n]{0,40}:\s*"
)


_PASSWORD_WORDS = frozenset(words("password passwords passcode passphrase pin passwort kennwort contraseña senha"))


def _eligible(question: Question, unit: Unit) -> bool:
    if unit.standing == "machine" or unit.question or unit.to_ai or unit.quoted:
        return False
    if _SECRET_PROMPT.fullmatch(unit.text):
        return False
    if question.kind == "what" and any(t in _PASSWORD_WORDS for t in question.terms) and not (
            unit.vault or MASK_CHAR in unit.text):
        return False  # a password or PIN is masked wherever it is kept: a text without a mask does not hold it
    if unit.hypothetical and question.kind != "yes_no":
        return False
    if unit.joke:
        return False  # "lol I'm basically a professional napper" is no job
    if is_identity_question(question) and (unit.standing not in ("own", "memory") or not about_the_user(unit)):
        return False
    if unit.standing == "person" and _speaks_of_self(unit.text) and asks_about_the_user(question):
        return False  # "What is my diet?" - Tobias: "I'm gluten-free now": his diet, not the user's
    return True


# Asked when, an entry with its time is the appointment: "When is my appointment with Dr Moreau?" - "09:30 Dentist
# (Dr Moreau)".
_EVENT_WORDS = frozenset(words("""appointment appointments appt meeting meetings session sessions booking bookings
    reservation event events plans termin termine rendez vous rdv cita citas consulta reuniao reunion"""))


def _holds_more_than_names(question: Question, scored: Scored) -> bool:
    """A question about something of a named person or thing holds that something: "What does Zeynep do for a
    living?" is not answered by "my sister Zeynep is allergic to sesame", which holds only the name."""
    named = {w for group in question.entities for w in group}
    # The words for the kind of answer are held by the answer itself: a time is the appointment, an amount the price
    # ("How much does the Jazz cost?" - "a 2018 Honda Jazz at 12,900").
    others = [t for t in question.anchors if t not in named and not (question.kind == "when" and t in _EVENT_WORDS)
              and not (question.wants_money and scored.fit and any(c.name == "money" for c in concepts_of(t)))]
    if not named or not others or question.kind == "yes_no":
        return True
    return any(t in scored.covered for t in others)


def _holds_the_secret(question: Question, unit: Unit) -> bool:
    """Asked for a password, PIN or number, the unit names it (or is the vault entry): "sudo systemctl restart"
    does not hold the sudo password."""
    asked = [t for t in question.terms if t in _SECRET_WORDS]
    if not asked or unit.vault:
        return True
    own = _covered_cache(question, unit)
    return any(t in own for t in asked) or (MASK_CHAR in unit.text and any(unit.message_words.has(t) for t in asked))


def _content(unit: Unit) -> set[str]:
    return {w for w in unit.words.items if w not in STOPWORDS and len(w) >= 3 and not UPDATE.fullmatch(w) and not w.isdigit()}


def _shares_a_word(a: Unit, b: Unit) -> bool:
    """Whether ``b`` speaks of what ``a`` says: a content word in common, other than the words that announce a change."""
    return any(b.words.has(w) for w in _content(a))


def _newer(candidate: Unit, than: Unit) -> bool:
    if candidate.said_at is None or than.said_at is None:
        return False
    return candidate.said_at > than.said_at + 1.0


def _changes(unit: Unit, pool: list[Unit], question: Question | None = None) -> list[Unit]:
    """Later sentences that change ``unit``: they share a content word with it (or hold the same part of the
    question) and say it changed (plainly, or with a word like "now" while holding part of the question too)."""
    out = []
    asked = set(question.anchors) & _covered_cache(question, unit) if question is not None else set()
    for u in pool:
        # Only what was said or seen can change it: a memory's time is its newest source's, not the sentence's.
        if u.source != "observation" or not _newer(u, unit):
            continue
        # It speaks of the same thing: a word in common, or the same part of the question in other words ("we moved
        # to Cardiff" after "I live in Bristol", asked where I live).
        if not (_shares_a_word(unit, u) or (asked and asked & _covered_cache(question, u))):
            continue
        if CHANGE.search(u.text):
            out.append(u)
        elif question is not None and MAYBE_CHANGE.search(u.text) and _covered_cache(question, u) & set(question.anchors):
            out.append(u)
    return out


# Words that end something rather than change it to something else.
ENDING = re.compile(
    r"\b(cancell?ed|called off|quit|left|stopped|ended|no longer|not any ?more|gekündigt|abgesagt|aufgehört|nicht mehr|"
    r"annulé|résilié|quitté|arrêté|ne \w+ plus|cancelad[oa]|dej[ée]|ya no|já não|deixei|cancelei)\b",
    re.IGNORECASE,
)


_SWITCH = re.compile(r"\b(switched|changed|moved|instead|replaced|gewechselt|chang[ée]|cambi[ée]|troquei|mudei)\b",
                     re.IGNORECASE)


def ends_only_part(ending: Unit, earlier: Unit) -> bool:
    """Whether ``ending`` ends one thing of several ``earlier`` names and says nothing new: "cancelled Audible
    today" after "I pay for Spotify Family and Audible" leaves Spotify standing."""
    said = ending.message or ending.text
    if not ENDING.search(ending.text) or MAYBE_CHANGE.search(said) or _SWITCH.search(said):
        return False
    ended = set(names_in(ending.text))
    groups = name_groups(earlier.text)
    return (bool(ended) and any(ended & set(g) for g in groups) and any(not ended & set(g) for g in groups))


def supersede(best: Unit, pool: list[Unit], question: Question) -> tuple[Unit, list[Unit]]:
    """The newest unit that changes ``best`` (shares a word with it, says it changed, and still holds the kind of
    thing asked: "the dentist moved it to 18 March" changes the day, not the dentist's name), and what it replaced."""
    replaced: list[Unit] = []
    current = best
    for _ in range(5):
        changes = [u for u in _changes(current, pool, question) if fits(question, u)]
        if not changes:
            break
        replaced.append(current)
        current = max(changes, key=lambda u: (u.said_at or 0.0, -u.order))
    return current, replaced


def _earlier_turn(unit: Unit, pool: list[Unit], question: Question, covered: set[str]) -> Unit | None:
    """The stating turn before ``unit`` in its conversation that holds what it refers to or borrowed."""
    if unit.conversation is None or unit.said_at is None:
        return None
    missing = set(question.anchors) - _covered_cache(question, unit)
    before = [u for u in pool if u.conversation == unit.conversation and u.said_at is not None
              and u.said_at < unit.said_at and u.ref != unit.ref and u.standing in ("own", "person")]
    if not before:
        return None
    if missing:
        holding = [u for u in before if _covered_cache(question, u) & missing]
        if holding:
            return max(holding, key=lambda u: (len(_covered_cache(question, u) & missing), u.said_at or 0.0))
    if _ANAPHOR.search(unit.text):
        return max(before, key=lambda u: (u.said_at or 0.0, u.order))
    return None


def _date_line(unit: Unit, pool: list[Unit]) -> Unit | None:
    """On a screen, the nearest line above ``unit`` that names a day (a calendar's date over its times)."""
    if unit.standing != "screen" or DAY_MENTION.search(unit.text):
        return None
    # A week's strip of days ("Mon 16 Tue 17 Wed 18") names no one day of the entries under it.
    above = [u for u in pool if u.ref == unit.ref and u.source == unit.source and 0 <= u.order < unit.order
             and DAY_MENTION.search(u.text) and len(DAY_MENTION.findall(u.text)) < 3]
    return max(above, key=lambda u: u.order) if above else None


def _about_the_task(question: Question, scored: Scored) -> bool:
    """A procedure that holds only part of a "how do I" holds more than the part of life it belongs to: "at work" or
    "at home" in the steps for a new work laptop does not make them the way to reset a work password."""
    return any(not any(c.name in IDENTITY_CONCEPTS for c in concepts_of(t)) for t in scored.covered
               if t in question.anchors)


# Words that say something is liked, in the languages questions are read in ("Lieblingsessen", "me encanta").
LIKING = re.compile(
    r"(?i)\b(favou?rites?|fave|fav|prefer\w*|love[sd]?|loving|like[sd]?|best|go-to|adore\w*|enjoy\w*|lieblings\w*|"
    r"liebe|lieben|mag|mögen|gern|gerne|préf[eè]r\w*|pr[eé]f[eé]r\w*|favori\w*|aime\w*|ador\w*|prefier\w*|"
    r"preferid\w*|prefiro|favorit\w*|encanta\w*|gusta\w*|gosto|amo)\b"
)


def _holds_more_than_a_preference(question: Question, scored: Scored) -> bool:
    """A question about a favourite holds what the favourite is about: "Quel est mon film préféré ?" is not answered
    by "Je préfère le thé", which holds only the liking; and it holds the liking (or is core memory, where
    preferences are kept)."""
    subjects = [t for t in question.anchors if t not in PREFERENCE_WORDS]
    if not subjects or len(subjects) == len(question.anchors):
        return True
    # ... and the liking: a recipe page's "500 g beef mince" is food, not the user's favourite food.
    unit = scored.unit
    liked = (any(t in scored.covered for t in question.anchors if t in PREFERENCE_WORDS)
             or bool(LIKING.search(unit.text) or LIKING.search(unit.message or "")) or unit.kind == "core")
    return liked and any(t in scored.covered for t in subjects)


def _names_what_was_seen(question: Question, scored: Scored) -> bool:
    """A page's title (or its URL) alone answers only which page, file or thing was seen ("Which recipe was I looking
    at?", "Which spreadsheet ...?"): what the page would say about it ("What wine goes with the dal?") is not there."""
    if any(t in SEEING_WORDS for t in question.anchors):
        return True
    return bool(question.types) and all(t in scored.covered for t in question.types)


def find_support(question: Question, units: list[Unit]) -> Support:
    """The best supporting units for ``question`` among ``units``, or an empty ``Support`` with the reason."""
    pool = [u for u in units if _eligible(question, u)]
    if not pool:
        return Support(question, reason="nothing retrieved states anything about it")
    weights = _weights(question, pool)
    ranked = sorted((score_unit(question, u, weights) for u in pool), key=lambda s: -s.score)

    def qualifies(s: Scored) -> bool:
        needed = MIN_STEPS_COVERAGE if question.kind == "how_to" and s.unit.steps else MIN_COVERAGE
        if needed < MIN_COVERAGE and s.coverage < MIN_COVERAGE and not _about_the_task(question, s):
            return False
        if s.unit.page_title and not _names_what_was_seen(question, s):
            return False
        if not _holds_more_than_a_preference(question, s):
            return False
        if not _holds_more_than_names(question, s) or not _holds_the_secret(question, s.unit):
            return False
        return s.coverage >= needed and s.fit and s.entities and s.attribute

    qualified = [s for s in ranked if qualifies(s)]
    if not qualified:
        best = ranked[0]
        unheld = [" ".join(g) for g in question.entities if not any(s.entities for s in ranked)]
        if unheld:
            reason = "no memory mentions " + ", ".join(unheld[:3])
        elif best.coverage < MIN_COVERAGE:
            missing = [t for t in question.terms if t not in best.covered]
            reason = "no memory mentions " + ", ".join(missing[:3]) if missing else "nothing matches the question"
        else:
            reason = f"nothing retrieved holds the {question.kind.replace('_', ' ')} asked for"
        return Support(question, ranked=ranked, reason=reason)
    best = qualified[0]
    main, replaced = supersede(best.unit, pool, question)
    chosen = [main]
    if replaced and question.kind != "yes_no" and ends_only_part(main, best.unit):
        # "cancelled Audible" ends one of the things "I pay for Spotify and Audible" names: the rest still holds, so
        # both are quoted, the ending last.
        chosen.insert(0, best.unit)
    if not replaced:
        earlier = _earlier_turn(main, pool, question, best.covered)
        if earlier is not None and not _changes(earlier, pool, question):
            chosen.insert(0, earlier)
    if question.kind == "when":
        line = _date_line(main, pool)
        if line is not None:
            chosen.insert(0, line)
    return Support(question, chosen=chosen, ranked=ranked, superseded=replaced, main=main)
