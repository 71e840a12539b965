"""Reading everyday text for the rule extractors: sentences, clauses, names, and what kind of statement each is.

Everything here is plain string work, shared by the extractors of facts,
steps and events and by the update rules.  It knows the everyday words of five
languages (English, German, French, Spanish, Portuguese) that mark a question,
a hypothetical ("if I ever", "vielleicht", "quizás"), a change ("now",
"jetzt", "ahora"), an ending ("no longer", "nicht mehr", "ya no") or a
correction ("correction:", "I got that wrong", "not X, but Y").

A sentence is split where it ends (not after "Dr." or "no."), a clause at a
comma, semicolon or dash; a long dictated sentence without a comma also where a
new first-person statement starts ("... Vasquez I work as ... and I'm allergic
..."). Words are compared by their first five letters, as
the grounding check compares them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Every upper-case letter of the Latin scripts, as a regex class (str.isupper decides, not a hand-made range).
UPPER = "".join(ch for ch in map(chr, range(0x41, 0x250)) if ch.isupper() and ch.isalpha())
_U = f"[{re.escape(UPPER)}]"
NAME_TOKEN = rf"{_U}[\w'’.-]*[\w]|{_U}"
# A name: capitalised words, with the particles names carry ("Ana de Souza", "Ludwig van Beethoven").
NAME = rf"(?:{NAME_TOKEN})(?:(?:\s+(?:de|da|do|dos|das|del|della|van|von|der|den|la|le|du|al|bin|ibn|am|y))?\s+(?:{NAME_TOKEN}))*"
HONORIFIC = r"(?:Dr|Dra|Prof|Mr|Mrs|Ms|Mx|Mme|Mlle|Sr|Sra|Srta|Herr|Hr|St)\.?"

ABBREVIATIONS = frozenset(
    """dr dra drs prof mr mrs ms mx mme mlle sr sra srta jr st no nr nº n° vs etc approx ca cf eg ie e.g i.e
    z.b bzw usw ggf inkl evtl av avda ave rd tel fig p pp vol inc ltd co corp dept min max sec hr hrs mt
    jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)

STOPWORDS = frozenset(
    """a an the and or but if then than that this these those there here of to in on at by for with from into onto
    about over under after before during while as is are was were be been being am do does did done have has had
    having not no yes so very just also too it its it's he she they them their his her hers him we us our ours you
    your i me my mine who whom whose what which when where why how all any some each every more most much many
    few other such own same can could will would should shall may might must one both either neither again once
    only out up down off above below between through until because against per via new old still now these
    days today really actually please thanks thank okay ok yes yeah hey hi hello oh well anyway lol haha
    get got go going gone make made take took thing things stuff way lot bit
    der die das den dem des ein eine einen einem einer und oder aber ist sind war waren bin bist sein hat haben
    hatte ich du er sie es wir ihr mich mir dich dir uns euch mein meine meinen meinem meiner dein deine sein
    seine ihre unser unsere nicht kein keine keinen mit von zu zum zur bei im am um auf aus für an in ins als
    auch noch schon jetzt mal nur so wie was wer wo wann dann denn doch ja nein sehr gar mehr
    le la les un une des du de d l et ou mais est sont était je tu il elle on nous vous ils elles me te se
    mon ma mes ton ta tes son sa ses notre nos votre vos leur leurs ne pas plus que qui quoi où quand avec pour
    par sur dans au aux en y c ça cette ce ces très aussi encore déjà
    el los las una unos unas y o pero es son era fue soy eres somos yo tú él ella nosotros ellos mi mis tu tus su
    sus nuestro nuestra con por para en del al que qué quien como cuando donde muy también ya más sin lo le les
    os as um uma uns umas e ou mas é são era sou eu ele ela nós eles elas meu minha meus minhas seu sua nosso
    nossa com por para em no na nos nas do da dos das ao à que quem como quando onde muito também já mais sem
    since ago until till almost about around each per via near every also even though although whether either
    seit seitdem bis ab vor nach über unter zwischen gegen ohne durch etwa fast jeden jede jedes immer nie oft
    depuis pendant avant après vers chez sous entre contre sans environ chaque toujours jamais souvent
    desde hasta hace antes después hacia entre contra sin cada siempre nunca
    desde até há antes depois entre contra sem cada sempre nunca às aos pelo pela pelos pelas num numa
    zero two three four five six seven eight nine ten eins zwei drei vier fünf sechs sieben acht neun zehn
    deux trois quatre cinq six sept huit neuf dix dos tres cuatro cinco seis siete ocho nueve diez
    dois duas três quatro cinco seis sete oito nove dez""".split()
)
# Month and weekday names (and their short forms) in five languages: a date, not a topic.
DATE_WORDS = frozenset(
    """january february march april may june july august september october november december jan feb mar apr jun
    jul aug sep sept oct nov dec januar februar märz juni juli oktober dezember janvier février mars avril mai juin
    juillet août septembre octobre novembre décembre enero febrero marzo abril mayo junio julio agosto septiembre
    octubre noviembre diciembre janeiro fevereiro março maio junho julho setembro outubro novembro dezembro
    monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun montag
    dienstag mittwoch donnerstag freitag samstag sonntag lundi mardi mercredi jeudi vendredi samedi dimanche lunes
    martes miércoles jueves viernes sábado domingo segunda terça quarta quinta sexta segunda-feira terça-feira
    quarta-feira quinta-feira sexta-feira today tomorrow yesterday tonight morning evening night weekend week
    month year heute morgen gestern woche monat jahr aujourd'hui demain hier semaine mois année hoy mañana ayer
    semana mes año hoje amanhã ontem mês ano""".split()
)

# Words that start a question, when a sentence lacks its question mark.
QUESTION_START = re.compile(
    r"(?i)^\s*(?:what|where|when|who|whom|whose|why|how|which|is|are|was|were|do|does|did|can|could|should|would|"
    r"will|shall|may|have|has|am|isn't|aren't|don't|doesn't|didn't|wer|was|wo|wann|warum|wie|welche[rsnm]?|"
    r"ist|sind|hast|habe|kann|kannst|soll|sollte|gibt|qui|que|quoi|où|quand|pourquoi|comment|quel(?:le)?s?|"
    r"est-ce|qué|quién|dónde|cuándo|cómo|cuál|por qué|quem|onde|quando|porque|qual)\b"
)
# A request to the assistant ("can you help me plan ...", "give me an idea", "recommend me a novel").
REQUEST = re.compile(
    r"(?i)^\s*(?:(?:can|could|would|will)\s+you|please|pls|give\s+me|recommend|suggest|tell\s+me|show\s+me|find\s+me|"
    r"help\s+me|remind\s+me|let\s+me\s+know|any\s+(?:ideas?|tips|suggestions)|kannst\s+du|könntest\s+du|gib\s+mir|"
    r"peux-tu|pouvez-vous|donne-moi|puedes|podrías|dame|podes|pode|dá-me|me\s+dá)\b"
)
# A whole sentence under a condition the user states about themselves: "If I ever ...", "Wenn ich mal ...".
CONDITION_START = re.compile(
    r"(?i)^\s*(?:and\s+|but\s+|und\s+|et\s+|y\s+|e\s+)?(?:if|when(?:ever)?\s+i\s+(?:win|get|have|retire|grow)|"
    r"wenn|falls|sollte\s+ich|si|se|supposing|suppose|imagine|in\s+case)\b"
)
# Words that make a clause a wish, a guess or a maybe, not a fact.
HYPOTHETICAL = re.compile(
    r"(?i)(?:\b(?:i|we)['’]d\b(?!\s+(?:rather|prefer|better))|\b(?:would|might|maybe|perhaps|possibly|someday|"
    r"some\s+day|one\s+day|who\s+knows|i\s+wish|dream(?:ing)?\s+of|thinking\s+(?:about|of)|considering|"
    r"würde|würden|wäre|hätte|vielleicht|eventuell|irgendwann|eines\s+tages|könnte|möchte\s+(?:mal|irgendwann)|"
    r"peut-être|un\s+jour|je\s+pourrais|j['’]aimerais|si\s+jamais|rêve|quizás?|tal\s+vez|algún\s+día|podría|"
    r"me\s+gustaría|ojalá|talvez|um\s+dia|poderia|gostaria|quem\s+sabe)\b)"
)
PREFERENCE_RATHER = re.compile(r"(?i)\b(?:i|we)['’]d\s+(?:rather|prefer)\b|\bi\s+would\s+(?:rather|prefer)\b")

# A statement that replaces what was true before ("now", "these days"): it changes a fact of its own kind.
CHANGE = re.compile(
    r"(?i)\b(?:now|these\s+days|nowadays|instead|switched|changed\s+to|changed\s+my\s+mind|new|moved|anymore|any\s+more|"
    r"jetzt|nun|ab\s+sofort|inzwischen|mittlerweile|stattdessen|neue[rsnm]?|umgezogen|gewechselt|"
    r"maintenant|désormais|dorénavant|au\s+lieu|nouvel(?:le)?|nouveau|déménagé|"
    r"ahora|en\s+vez|en\s+lugar|nuev[oa]|me\s+mudé|nos\s+mudamos|"
    r"agora|em\s+vez|nov[oa]|mudei|mudámos|mudamos)\b"
)
# A statement that ends a fact: "no longer", "left", "cancelled", "is over", "nicht mehr", "ya no", "já não".
END = re.compile(
    r"(?i)(?:\bno\s+longer\b|\bnot\s+any\s*more\b|\bdon['’]t\s+\w+\s+any\s*more\b|\bstopped\b|\bquit\b|\bleft\b|"
    r"\bcancel(?:l)?ed\b|\bcalled\s+off\b|\bended\b|\bis\s+over\b|\bare\s+over\b|\bgave\s+up\b|\bmoved\s+out\b|"
    r"\bsold\b|\bgot\s+adopted\b|\blast\s+day\b|\bfinished\b|\bclosed\b|"
    r"\bnicht\s+mehr\b|\bkeine?[nmr]?\s+\w+\s+mehr\b|\bgar\s+nicht\s+mehr\b|\baufgehört\b|\bgekündigt\b|\babgesagt\b|"
    r"\bausgezogen\b|\bvorbei\b|\bbeendet\b|\bfällt\s+(?:[\w-]+\s+){0,4}?aus\b|\bfindet\s+(?:[\w-]+\s+){0,4}?nicht\s+statt\b|"
    r"\bannullat[oa]\b|\bse\s+cancela\b|\bn['’]a\s+pas\s+lieu\b|"
    r"\bne\s+\w+\s+plus\b|\bn['’]\w+\s+plus\b|\bplus\s+(?:de|d['’])\b|\barrêté\b|\bquitté\b|\bannulée?s?\b|\bterminée?s?\b|"
    r"\bya\s+no\b|\bdejé\b|\bdejamos\b|\bcancelad[oa]s?\b|\bterminó\b|\bse\s+acabó\b|"
    r"\bjá\s+não\b|\bnão\s+\w+\s+mais\b|\bdeixei\b|\bsaí\b|\bacabou\b|\bfechad[oa]\b)"
)
# A statement that corrects an earlier one.
CORRECTION = re.compile(
    r"(?i)(?:^\W*(?:correction|correct|update|edit|erratum|oops|sorry|actually|scratch\s+that|make\s+that|no\s+wait|"
    r"wait|i\s+mean|korrektur|berichtigung|"
    r"correctif|rectification|corrección|corrigiendo|correção|corrigindo|na\s+verdade|en\s+realidad|en\s+fait|"
    r"eigentlich)\b|\bi\s+got\s+(?:that|it|this)\s+wrong\b|\bi\s+was\s+wrong\b|\bmy\s+mistake\b|\bi\s+meant\b|"
    r"\bi\s+swapped\b|\bi\s+mixed\s+up\b|\btypo\b|\bhab(?:e)?\s+mich\s+(?:verlesen|vertan|geirrt|verschrieben)\b|"
    r"\bje\s+me\s+suis\s+trompée?\b|\bme\s+equivoqué\b|\benganei-me\b|\bme\s+enganei\b|\bI\s+misspoke\b)"
)
# "not X" / "nicht X" / "pas X" / "no X" / "não X": the old value a correction names.
NEGATED_VALUE = re.compile(
    r"(?i)(?:\bnot|\bnicht|\bpas|\bnon|\bno|\bnão)\s+(?:the\s+|am\s+|le\s+|el\s+|às\s+|at\s+|on\s+|um\s+|à\s+|a\s+las\s+)?"
    r"(?P<value>\d[\w:.h]*|[^\W\d_][\w'’-]*)"
)
NEGATED_VALUE_STOP = frozenset(
    "me us him her them you it that this sure really yet now any anymore longer a an the one too so very quite much "
    "mehr mal so ganz plus du de la le pas mucho muy más mais tão".split()
)
# What people put before a fact that is not part of it: "Just so it's written down somewhere:", "As I said before,".
LEAD_IN = re.compile(
    r"(?i)^\s*(?:(?:(?:yes|no|yeah|yep|nope|nah|right|ok(?:ay)?|hmm+|oh)\s*[,!.:]|(?:oh\s+)?(?:and|also|anyway|btw|"
    r"by\s+the\s+way|so|well|"
    r"reminder|remember|note|fyi|for\s+the\s+record|for\s+context|as\s+i\s+said(?:\s+before)?|just\s+so\s+you\s+know|"
    r"update|und|auch|übrigens|also|et|aussi|bref|y|además|por\s+cierto|e|também|aliás)\b)[\s,:!.—–-]*)+"
)
FIRST_PERSON = re.compile(
    r"(?i)\b(?:i|i['’]m|im|i['’]ve|i['’]d|i['’]ll|my|me|mine|we|we['’]re|we['’]ve|our|us|"
    r"ich|mein\w*|mir|mich|wir|unser\w*|je|j['’]|moi|mon|ma|mes|nous|notre|nos|"
    r"yo|mi|mis|me|nosotros|nuestr[oa]s?|eu|meu|minha|meus|minhas|nós|nosso|nossa)\b"
)


@dataclass(frozen=True)
class Sentence:
    """A sentence of a text with its offset."""

    text: str
    start: int


_MONTH_NEXT = re.compile(
    r"\s+(?:jan|feb|mär|mar|apr|mai|may|jun|jul|aug|sep|okt|oct|nov|dez|dec|janv|févr|mars|avr|juin|juil|août|sept|"
    r"déc|ene|abr|ago|dic|fev|set|out)", re.IGNORECASE)
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)|\n+")


def sentences(text: str) -> list[Sentence]:
    """The sentences of ``text``: split after ``.``, ``!``, ``?`` and at line breaks, not after "Dr." or "no."."""
    out: list[Sentence] = []
    start = 0
    for match in _BOUNDARY.finditer(text or ""):
        end = match.end()
        if match.group().startswith("."):
            before = text[start : match.start()]
            last = re.search(r"([\w.º°]+)$", before)
            word = last.group(1).lower() if last else ""
            if word in ABBREVIATIONS or (len(word) == 1 and word.isalpha()) or re.fullmatch(r"\d{1,2}", word) and \
                    (re.match(r"\s+[a-zäöüß]", text[end : end + 3]) or _MONTH_NEXT.match(text, end)):
                continue  # "Dr. Okonkwo", "no. 12", "J. Smith", "am 12. Juni"
        piece = text[start:end].strip()
        if piece:
            out.append(Sentence(piece, start + (len(text[start:end]) - len(text[start:end].lstrip()))))
        start = end
    tail = (text or "")[start:].strip()
    if tail:
        out.append(Sentence(tail, start + (len(text[start:]) - len(text[start:].lstrip()))))
    return out


_CLAUSE = re.compile(r"\s*(?:[,;](?:\s*(?:but|aber|mais|pero|mas|sondern|sino)\b)?|\s[–—-]\s|\s(?:but|aber|mais|pero|mas|sondern|sino)\s)\s*")


RUN_ON_WORDS = 18  # a sentence this long without a comma is dictated speech: its clauses start at a new "I ..."
# Where a dictated run-on sentence starts a new statement: "... and I'm allergic", "... so my sister", "... Vasquez I
# work as ...", "... und ich wohne", "... et je suis", "... y tengo".
_RUN_ON_BREAK = re.compile(
    r"(?i)\s+(?=(?:(?:oh\s+)?and|so|but|also|plus|und|aber|et|mais|y|pero|e|mas)\s+(?:i|i['’]m|i['’]ve|i['’]ll|my|we|we['’]re|our|"
    r"ich|mein\w*|wir|je|j['’]|mon|ma|mes|yo|mi|eu|meu|minha)\b)|"
    r"(?<=\w)\s+(?=(?-i:I)\s+(?:work|live|am|have|take|teach|study|moved|love|like|hate|prefer|was|got|need|just|also|"
    r"started|run|own)\b)"
)

_ONLY_LINKS = re.compile(r"(?i)^(?:(?:oh|and|so|but|also|plus|und|aber|et|mais|y|pero|e|mas)\s*)+$")


def clauses(sentence: str) -> list[str]:
    """A sentence cut at commas, semicolons, spaced dashes and "but"; numbers such as "12,900" stay whole.

    A long sentence without a comma (dictation: "my name is Ana I work at ... and I'm allergic to ...") is also cut
    where a new first-person statement starts.
    """
    if len(sentence.split()) >= RUN_ON_WORDS and not re.search(r"[,;]", sentence):
        out: list[str] = []
        for part in (p.strip() for p in _RUN_ON_BREAK.split(sentence)):
            if out and _ONLY_LINKS.match(out[-1]):
                out[-1] = f"{out[-1]} {part}"  # "oh" + "and my son ...": one clause
            elif part:
                out.append(part)
        return out
    parts: list[str] = []
    cursor = 0
    for match in _CLAUSE.finditer(sentence):
        if match.group() == "," and match.start() > 0 and sentence[match.start() - 1].isdigit() \
                and sentence[match.end() : match.end() + 1].isdigit():
            continue  # "12,900"
        piece = sentence[cursor : match.start()].strip()
        if piece:
            parts.append(piece)
        cursor = match.end()
    piece = sentence[cursor:].strip()
    if piece:
        parts.append(piece)
    return parts


def strip_lead_in(sentence: str) -> str:
    """``sentence`` without a lead-in such as "Also," or "Just so it's written down somewhere:"."""
    text = sentence.strip()
    # A short preamble ending in a colon ("Quick intro so you know who you're talking to: I'm Ada").
    colon = text.find(": ")
    if 0 < colon <= 70 and not re.search(r"\d$", text[:colon]) and len(text[colon + 2 :].split()) >= 2:
        head = text[:colon].lower()
        if not re.search(r"\b(?:address|adresse|anschrift|dirección|endereço|morada|code|pin|password|number|nummer|numéro|número|"
                         r"e-?mail|phone|tel|iban)\b", head):
            text = text[colon + 2 :]
    stripped = LEAD_IN.sub("", text)
    return stripped if len(stripped.split()) >= 2 else text


def is_question(sentence: str) -> bool:
    text = sentence.strip()
    return text.endswith("?") or text.startswith("¿") or (bool(QUESTION_START.match(text)) and not text.endswith((".", "!")))


def is_request(sentence: str) -> bool:
    return bool(REQUEST.match(strip_lead_in(sentence)))


def is_hypothetical(text: str) -> bool:
    """A wish, a guess, a maybe or a condition: never a fact about the user."""
    if CONDITION_START.match(text):
        return True
    return bool(HYPOTHETICAL.search(text)) and not PREFERENCE_RATHER.search(text)


# Sarcasm and jokes: "yeah right, I'm moving to the Moon", "as if", "ja klar", "c'est ça oui", "sí, claro": what
# follows is said not to be meant.  A laugh ("lol", "haha", "mdr", "jaja", "kkkk", "😂") marks the clause it is in.
SARCASM_LEAD = re.compile(
    r"(?i)^\W*(?:yeah|yea|oh)\s+right\b|^\W*as\s+if\b|^\W*ja,?\s+klar\b|^\W*na\s+klar\b|^\W*c['’]est\s+ça(?:\s+oui)?\W*$|"
    r"^\W*(?:sí|si),?\s+claro\b|^\W*ya,?\s+claro\b|^\W*pois\s+sim\b|^\W*(?:just\s+)?kidding\b|^\W*jk\b"
)
JOKE = re.compile(
    r"(?i)(?:\b(?:lol|lmao|lmfao|rofl|jk|j/k|just\s+kidding|kidding|(?:ha){2,}h?|(?:he){2,}|(?:hi){2,}|mdr|ptdr|"
    r"(?:ja){2,}|(?:je){2,}|k{3,}|rs(?:rs)+|yeah\s+right|as\s+if)\b|[\U0001F602\U0001F923\U0001F644\U0001F61C\U0001F61D])"
)


def is_joke(clause: str) -> bool:
    """A clause the user marks as not meant: a laugh or a sarcastic "yeah right" in it."""
    return bool(JOKE.search(clause))


def factual_clauses(sentence: str) -> list[str]:
    """The clauses of a statement that state something: hypothetical clauses, conditions and jokes left out.

    A sentence that starts with a condition ("If I ever move abroad, ...") or is
    a question or a request states nothing at all; after a sarcastic "yeah
    right," or "as if" nothing in the sentence is meant.
    """
    if is_question(sentence) or is_request(sentence) or CONDITION_START.match(strip_lead_in(sentence)):
        return []
    out = []
    for clause in clauses(sentence):
        if CONDITION_START.match(clause) or SARCASM_LEAD.match(clause):
            break  # "..., falls du mal Rezepte vorschlägst": the rest depends on it
        if not is_hypothetical(clause) and not is_joke(clause):
            out.append(clause)
    return out


# "Not Tuesday but Wednesday": a reply that opens with what was wrong (no comma needed there; "not only ... but"
# adds, it does not correct).
_LEADING_NOT_BUT = re.compile(
    r"(?i)(?:^\W*|\b(?:sorry|oops|oh|ah|wait|correction)\W+)(?:not|nicht|pas|no|não)\s+"
    r"(?!(?:only|just|merely|nur|bloß|seulement|solo|sólo|só|apenas)\b)\S+\s*,?\s*(?:but|sondern|mais|sino|mas)\b"
)


def statement_kind(sentence: str) -> str | None:
    """``correct``, ``end`` or ``change`` when the sentence updates an earlier fact, else None."""
    if CORRECTION.search(sentence) or re.search(r"(?i)\b(?:not|nicht|pas|no|não)\s+\S+\s*,\s*(?:but|sondern|mais|sino|mas)\b", sentence) \
            or _LEADING_NOT_BUT.search(sentence) \
            or re.search(r"(?i),\s*(?:(?:not|nicht|pas|não)\s+(?:the\s+|am\s+|à\s+|às\s+)?|no\s+(?:el|la|los|las|a\s+las|en)\s+)"
                         r"(?!(?:me|us|him|her|them|you|mich|mir|moi|mí|mim)\b)[\w:]+\s*[.!]?$", sentence):
        return "correct"
    if END.search(sentence):
        return "end"
    if CHANGE.search(sentence):
        return "change"
    return None


def negated_values(sentence: str) -> list[str]:
    """The values a correction says are wrong: "not Saturday", "nicht Mittwoch", "não às 22h10", "not the 14th"."""
    out = []
    for match in NEGATED_VALUE.finditer(sentence):
        value = match.group("value").strip(".,;:!?'’")
        if value and value.lower() not in NEGATED_VALUE_STOP and value.lower() not in STOPWORDS:
            out.append(value)
    return out


# -- words ---------------------------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_][\w'’+-]*[\w+]|[^\W\d_]", re.UNICODE)
STEM = 5


def words(text: str) -> list[str]:
    return [w.lower().replace("’", "'") for w in _WORD.findall(text or "")]


_SUFFIX = re.compile(r"(?:ing|ed|es|s)$")


def stem(word: str) -> str:
    """A word's first five letters after a light English suffix strip ("running" and "run" share "run")."""
    word = word.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 3:
        bare = _SUFFIX.sub("", word)
        if len(bare) >= 3:
            if len(bare) >= 4 and bare[-1] == bare[-2] and bare[-1] not in "aeiousl":
                bare = bare[:-1]  # "running" -> "runn" -> "run"
            word = bare
    return word[:STEM]


def content_words(text: str, *, min_length: int = 3) -> set[str]:
    """Lowercased words that carry meaning: no function words, nothing shorter than ``min_length``."""
    out = set()
    for word in words(text):
        bare = word[:-2] if word.endswith("'s") else word
        if len(bare) >= min_length and bare not in STOPWORDS and bare not in MARKER_WORDS and bare not in DATE_WORDS:
            out.add(bare)
    return out


def stems(text: str, *, min_length: int = 3) -> set[str]:
    return {stem(w) for w in content_words(text, min_length=min_length)}


MARKER_WORDS = frozenset(
    """now instead switched changed moved anymore longer stopped quit left cancelled canceled ended over gave sold
    finished closed correction update actually wrong mistake meant swapped typo oops sorry
    jetzt inzwischen mittlerweile stattdessen umgezogen gewechselt mehr aufgehört gekündigt abgesagt vorbei beendet
    korrektur eigentlich verlesen vertan maintenant désormais déménagé arrêté quitté annulé annulée terminé
    ahora mudé dejé cancelado cancelada terminó agora mudei deixei acabou corrigindo correção corrección""".split()
)


def names(text: str) -> list[str]:
    """Capitalised words that are not at the start of a sentence or clause (those may be names or just capitals)."""
    out = []
    for match in re.finditer(NAME_TOKEN, text or ""):
        before = text[: match.start()].rstrip()
        if not before or before[-1] in ".!?:;\n" or before.endswith(("—", "–", "\"", "“", "(", "¿", "¡")):
            continue
        word = match.group().rstrip("'’.")
        if word.lower() in STOPWORDS or word.lower() in DATE_WORDS or len(word) < 2:
            continue
        out.append(word)
    return out


def capitalised(text: str) -> set[str]:
    """Every capitalised word of ``text`` (lowercased, without "'s"), sentence starts included; no dates."""
    out = set()
    for match in re.finditer(NAME_TOKEN, text or ""):
        word = re.sub(r"['’]s$", "", match.group().rstrip("'’.")).lower()
        if word not in STOPWORDS and word not in DATE_WORDS and word not in MARKER_WORDS and word != "user":
            out.add(word)
    return out


def overlap(new: str, old: str) -> set[str]:
    """The word stems two texts share (function words and update markers left out)."""
    return stems(new) & stems(old)


def normalised(text: str) -> str:
    """Lowercased words only: how two statements are compared for sameness."""
    return " ".join(words(text))


def contains_statement(longer: str, shorter: str) -> bool:
    """Whether ``longer`` already says everything ``shorter`` says (by content words)."""
    small, large = stems(shorter), stems(longer)
    return bool(small) and small <= large


# -- typos -----------------------------------------------------------------------------------------------------

# The words the fact families hang on, so that a typo ("vegetarain", "alergic", "intolerent") still reads as the word
# meant.  Only words of six letters or more are matched, at one edit (a letter added, dropped, changed or two swapped).
TYPO_WORDS = frozenset(
    """vegetarian pescatarian allergic allergy allergies intolerant intolerance coeliac diabetic diabetes asthmatic
    epileptic epilepsy lactose gluten teetotal medication prescription migraine migraines arthritis insomnia tinnitus
    eczema psoriasis pregnant anaemic anemic remote remotely freelance freelancer retired engineer developer
    teacher manager designer architect accountant consultant journalist pharmacist programmer researcher scientist
    professor lecturer electrician therapist favourite favorite address moved working office hybrid prefer
    vegetarisch vegetarier allergisch unverträglich diabetiker schwanger végétarien végétarienne allergique
    intolérant intolérante diabétique vegetariano vegetariana alérgico alérgica intolerante diabético diabética""".split()
)
_TYPO_INDEX: dict[tuple[int, str], list[str]] = {}
for _word in TYPO_WORDS:
    _TYPO_INDEX.setdefault((len(_word), _word[0]), []).append(_word)


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` becomes ``b`` by one added, dropped or changed letter, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


def fix_typos(text: str) -> str:
    """``text`` with a misspelt family word (six letters or more, one edit away) replaced by the word meant."""
    def fix(match: re.Match) -> str:
        word = match.group()
        low = word.lower()
        if len(low) < 6 or low in TYPO_WORDS:
            return word
        for length in (len(low) - 1, len(low), len(low) + 1):
            for known in _TYPO_INDEX.get((length, low[0]), ()):
                if _one_edit(low, known):
                    return known
        return word

    return re.sub(r"[^\W\d_]{6,}", fix, text)
