"""Lookup values in the user's words: e-mail addresses, phone numbers, account numbers and postal addresses.

They are not secrets (``core.secrets`` masks those), so they stay readable in
the text, but they are worth an exact knowledge-vault entry, captioned with
what the user called them ("Plumber Giorgos", "Dr. Haddad's office", "new
address").  A phone number needs a "+" or a word that says it is one (phone,
Telefon, téléphone, teléfono, telefone, mobile, line, rang, texted ...), or a
label and a leading zero ("breakdown line: 089 20 20 4000"), or the shape of a
national mobile number ("087 214 5530", "07700 900461"); numbers in a date are
never phone numbers.  A postal address is a street with its house number in one of
the forms Europe and the English-speaking world write them ("14 rue des
Tanneurs", "Lindenstraße 8", "Rua das Flores 112", "221B Baker Street"),
with the postcode and town when they follow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.absorb.dates import MONTHS, WEEKDAYS, find_dates
from core.absorb.text import DATE_WORDS, UPPER
from core.secrets import MASK_CHAR, find_secrets

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b")
# A phone number as people write it: an optional "+cc" (with the "(0)" of a national number kept beside it,
# "+49 (0)30 ..."), an optional area code in brackets ("(415) 555-0132"), then digit groups parted by one space,
# dot, dash or slash ("01 42 68 53 00", "030/1234567", "+33 1 42 68 53 00"), or a national number in one run
# ("0894417203").  Which matches are phones is decided
# in ``find_phones`` (enough digits, a word or a "+" that says so, not a date, a price or an IP address).
PHONE = re.compile(
    r"(?<![\w+.,/-])(?:\+\d{1,3}(?:[ .-]?\(0\))?[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?(?:\d{1,5}|0\d{9,10})(?:(?:[ .-]|/|\s-\s)\d{1,8}){0,6}"
    r"(?![\w-]|[.,/]\d)"
)
PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|cell|call|number|whatsapp|signal|fax|ring|line|hotline|helpline|office|"
    r"reach|text|sms|telefon\w*|handy|rufnummer|nummer|téléphone|portable|numéro|teléfono|móvil|celular|número|"
    r"telefone|telemóvel|contacto|contato|tél|tlf|tfno|telf|mob|appelle[rz]?|anrufen|ruf|llama[r]?|ligar|liga|"
    r"rang|rung|ringing|rings|phoned|phoning|called|calling|calls|texted|texting|texts|messaged|whatsapped|"
    r"rappel\w*|appel\w*|angerufen|anrief|llamó|ligou)\b"
)
# Mobile numbers whose national shape says what they are, with no phone word near them ("my neighbour (the one
# with the ladder, 087 214 5530)"): Irish 08x xxx xxxx, British 07xxx xxxxxx, French 06/07 xx xx xx xx, Dutch
# 06-xxxxxxxx and German 015x/016x/017x numbers.
MOBILE = re.compile(
    r"08[35-9][ -]?\d{3}[ -]?\d{4}|07\d{3}[ -]?\d{3}[ -]?\d{3}|0[67](?:[ .]\d{2}){4}|06-?\d{8}|"
    r"01[5-7]\d{1,2}[ /-]?\d{6,8}"
)
# "order number 123 456 789", "Bestellnummer", "numéro de commande": numbers that name a thing, not a line.
_NOT_A_PHONE = re.compile(
    r"(?i)(?:order|invoice|tracking|reference|ref|booking|confirmation|customer|account|serial|part|item|ticket|case|"
    r"flight|policy|membership|member|card|iban|bestell\w*|rechnungs\w*|auftrags\w*|kunden\w*|sendungs\w*|"
    r"commande|facture|suivi|réservation|dossier|pedido|factura|reserva|seguimiento|encomenda|fatura|"
    r"room|rooms|zimmer|raum|salle|sala|quarto|gate|platform|gleis|seat|row|page|pages|version|build|isbn)"
    r"\s*(?:(?:number|no\.?|nr\.?|n°|#|nummer|numéro|número|n\.?º)\s*)?(?:(?:is|ist|est|es|é|:)\s*)?$"
)
_PRICE_NEAR = re.compile(r"(?i)^\s*(?:€|\$|£|eur\b|euros?\b|usd\b|dollars?\b|gbp\b|chf\b|kr\b)")
_IP_ADDRESS = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")

ACCOUNT = re.compile(r"(?i)\b(?:account|acct|a/c)\s*(?:number|no\.?|nr\.?|#)?\s*(?:is\s+)?[:#]?\s*(\d[\d -]{4,22}\d)\b")

_U = f"[{re.escape(UPPER)}]"
_NAME_WORD = rf"(?:{_U}[\w'’.-]*|de|da|das|do|dos|del|des|du|la|le|les|of|the|am|an|der|von|van)"
_STREET_AFTER = (  # the street-type word after the name: "Baker Street", "Bilker Allee", "Evil Lane"
    r"(?:street|st\.?|road|rd\.?|avenue|ave\.?|lane|ln\.?|drive|way|place|square|court|boulevard|blvd\.?|terrace|"
    r"close|crescent|row|mews|gardens|grove|hill|walk|allee|platz|weg|gasse|ring|damm|ufer|chaussee|steig|markt)"
)
_STREET_BEFORE = (  # the street-type word before the name: "rue des Tanneurs", "Rua das Flores", "Calle Mayor"
    r"(?:rue|avenue|av\.|boulevard|bd\.?|chemin|place|impasse|allée|quai|cours|route|calle|c/|avenida|avda\.?|paseo|"
    r"plaza|camino|carrera|travesía|ronda|rua|travessa|praça|largo|alameda|estrada|via|viale|piazza|corso|vicolo|"
    r"carrer|passeig|plaça|avinguda)"
)
# "Lindenstraße", "Keizersgracht", "Drottninggatan", "Hämeenkatu"
_COMPOUND = (r"[\w'’-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|steig|pfad|markt|straat|laan|gracht|"
             r"plein|kade|singel|gatan|gata|vägen|vej|gade|katu)")
_NUMBER = r"\d{1,4}[a-zA-Z]?(?:[-/]\d{1,4})?"
# The street and house number, in one of the orders people write them; the postcode, town and district that
# follow are read by ``_tail_end``.
STREET = re.compile(
    "|".join([
        rf"(?<![\w-]){_NUMBER},?\s+(?i:{_STREET_BEFORE})\s+(?:{_NAME_WORD}\s+){{0,3}}{_U}[\w'’-]+",
        rf"(?<![\w-]){_NUMBER}\s+(?:{_U}[\w'’-]+\s+){{1,3}}(?i:{_STREET_AFTER})\b",
        rf"(?<![\w-])(?:{_U}[\w'’-]+\s+)?{_U}(?i:{_COMPOUND})\s+{_NUMBER}(?![\w-])",
        rf"(?<![\w-])(?:{_U}[\w'’-]+\s+){{1,2}}(?i:{_STREET_AFTER})\s+{_NUMBER}(?![\w-])",
        rf"(?<![\w-])(?i:{_STREET_BEFORE})\s+(?:{_NAME_WORD}\s+){{0,3}}{_U}[\w'’-]+,?\s+{_NUMBER}(?![\w-])",
    ])
)
_POSTCODE = r"(?:\d{4,5}(?:-\d{3,4})?|[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}|[A-Z]{1,2}-\d{4,5})"
_PLACE_WORD = rf"(?!{_POSTCODE}\b)(?![A-Z]{{1,2}}\d){_U}[\w'’-]*[\w]"
# A town or district: "Porto", "Düsseldorf-Bilk", "Le Havre", "Frankfurt am Main", "Stoke-on-Trent".
PLACE = rf"{_PLACE_WORD}(?:(?:\s+(?:am|an|im|de|del|do|da|sur|upon|on|la|le|les)\s+|\s+){_PLACE_WORD}){{0,2}}"
# What may follow a street, one segment at a time: "3º B" (a floor and door), "Apt 4", "28005 Madrid",
# "Leeds LS6 2AB", "Headingley", "in Leipzig (04109)".
_UNIT = re.compile(
    r"(?i),?\s+(?:(?:apt\.?|apartment|flat|unit|suite|wohnung|whg\.?|piso|andar|étage|etage|bloco|bloque|escalera|"
    r"esc\.?|porta|puerta)\s*\d{1,4}[a-z]?|\d{1,3}\s*[º°ª](?:\s*(?:[a-h]|esq\.?|dto\.?|dta\.?|dir\.?|izq\.?|izda\.?|"
    r"dcha\.?|frente|fte\.?)\b)?|\d{1,2}(?:st|nd|rd|th|e|er|ème)\s+(?:floor|étage)|(?:[a-h]|\d{1,2}[a-h]?)(?=,))"
)
_TOWN_SEGMENT = re.compile(
    rf",?\s+(?:(?P<code>{_POSTCODE})\s+(?P<town>{PLACE})|(?P<town2>{PLACE})(?:\s+(?P<code2>{_POSTCODE}))?)"
    rf"(?:\s*\(\d{{4,5}}\))?(?![\w'’-])"
)
_TOWN_IN = re.compile(rf"\s+in\s+(?P<town>{PLACE})(?:,?\s+{_POSTCODE})?(?:\s*\(\d{{4,5}}\))?(?![\w'’-])")
_NOT_PLACES = frozenset("""thanks thank merci danke gracias obrigado obrigada please bitte sorry ok okay and but so
    see call ring tell ship send the we i my our it this that ich wir je nous yo eu and also plus""".split())
MAX_TOWN_SEGMENTS = 2  # a district and a town ("Headingley, Leeds LS6 3AB")


def _tail_end(text: str, end: int) -> tuple[int, list[str]]:
    """Where an address that ends its street at ``end`` ends, and the places it names after it (district, town)."""
    places: list[str] = []
    unit = _UNIT.match(text, end)
    if unit:
        end = unit.end()
    while len(places) < MAX_TOWN_SEGMENTS:
        found = (None if places else _TOWN_IN.match(text, end)) or _TOWN_SEGMENT.match(text, end)
        if not found:
            break
        groups = found.groupdict()
        town = groups.get("town") or groups.get("town2") or ""
        if town.split()[0].lower() in _NOT_PLACES:
            break
        if groups.get("town2") and not groups.get("code2") and not text[end : found.start("town2")].startswith(","):
            break  # "12 Baker Street London Bridge ...": a capital after a bare space may start the next phrase
        places.append(town)
        end = found.end()
    return end, places


@dataclass(frozen=True)
class Address:
    value: str
    start: int
    end: int
    places: tuple[str, ...]  # the district and town it names after the street, in order ("Headingley", "Leeds")


def _is_a_date(street: str, after: str) -> bool:
    """Whether a street match is a date: a weekday stands for the street's name, or a month follows its number
    ("place Saturday 14", "Market Place 14 March"; "12 March Lane" stays a street)."""
    named = {w.lower() for w in re.findall(r"[^\W\d_]+", street)}
    following = re.match(r"[\s.,]*([^\W\d_]+)", after)
    return bool(named & WEEKDAYS.keys()) or bool(following and following.group(1).lower() in MONTHS)


def find_addresses(text: str) -> list[Address]:
    """Every postal address in ``text``: a street with its house number, and the unit, postcode and town after it."""
    out: list[Address] = []
    for match in STREET.finditer(text):
        if out and match.start() < out[-1].end:
            continue
        if _is_a_date(match.group(), text[match.end() :]):
            continue  # "Dario's place Saturday 14 March": a day, not a street and its number
        end, places = _tail_end(text, match.end())
        value = text[match.start() : end].rstrip(" ,.")
        if len(re.findall(r"[^\W\d_]{2,}", value)) >= 1:
            out.append(Address(value, match.start(), match.start() + len(value), tuple(places)))
    return out


_ADDRESS_WORD = re.compile(r"(?i)\b(?:address|adresse|anschrift|dirección|direccion|endereço|morada|indirizzo)\b")
_LABEL_CUT = re.compile(r"(?i)^(?:and|also|then|und|dann|et|puis|y|luego|e|depois|oh|so|plus)\s+|\s+(?:is|are|was|ist|lautet|est|es|é|at|on|unter|:)\s*$")
LOOKUP_LABELS = {"email": "e-mail address", "phone": "phone number", "account": "account number", "address": "address"}


@dataclass(frozen=True)
class Lookup:
    kind: str  # email | phone | account | address
    value: str
    start: int
    end: int
    label: str  # what the user called it ("Plumber Giorgos", "new address"); may be empty


def _spans_overlap(a: tuple[int, int], spans) -> bool:
    return any(a[0] < e and s < a[1] for s, e in spans)


# Verbs before a value in a sentence: the label is what comes after the last of them.
_LABEL_VERB = re.compile(
    r"(?i)\b(?:got|get|gets|have|has|had|switched|changed|bought|use|uses|using|dial|reach|try|found|gave|give|sent|"
    r"send|wrote|added|saved|habe|hab|hat|ruf|anrufen|erreichst|j'ai|appelle|appeler|tengo|llama|llamar|tenho|liga|"
    r"ligar|rang|rung|phoned|called|texted|messaged|whatsapped|rappelé|angerufen|llamó|ligou)\b"
)
# "Call the dentist on ...", "Mail me at ...": a request that starts the sentence names who, not what.
_LEADING_REQUEST = re.compile(r"(?i)^(?:please\s+)?(?:call|ring|mail|e-?mail|text|message|contact|write(?:\s+to)?)\s+")
_GENERIC_LABEL_WORDS = frozenset("""a an the my our his her their your new old current one number no nr nummer numéro
número numero phone tel telephone mobile cell contact me us him her them it this that to at on for from""".split())


def label_before(text: str, start: int) -> str:
    """What the words just before a value call it: "Plumber Giorgos: +30 ..." gives "Plumber Giorgos"."""
    head = text[:start]
    cut = max(head.rfind(mark) for mark in ".!?\n;(,")
    if cut >= 0 and head[cut] == "." and re.search(r"(?i)\b(?:dr|mr|mrs|ms|st|no|nr)$", head[:cut]):
        cut = max(head[:cut].rfind(mark) for mark in "!?\n;(,")  # "Dr. Haddad's office"
    label = head[cut + 1 :].strip(" \t:–—-=")
    # Another value said before this one is not part of its name, and must not travel into its caption:
    # "door code is 4719B and her number is +44 …" names the number "her number", never "… 4719B …".
    value_word = None
    for value_word in re.finditer(r"\S*[\d" + MASK_CHAR + r"]\S*", label):
        pass
    if value_word is not None:
        label = label[value_word.end() :].strip(" \t:–—-=")
    for _ in range(3):
        label = _LABEL_CUT.sub("", label).strip(" \t:–—-=")
    verb = None
    for verb in _LABEL_VERB.finditer(label):
        pass
    if verb is not None:  # "switched networks and got a number": what follows the verb names it
        label = label[verb.end() :].strip(" \t:–—-=")
    label = _LEADING_REQUEST.sub("", label)
    words = label.split()
    if words and all(w.lower().strip(".,") in _GENERIC_LABEL_WORDS for w in words):
        return ""  # "a number", "the new one": says nothing the kind does not
    return " ".join(words[-6:]) if 0 < len(words) else ""


def find_lookups(text: str) -> list[Lookup]:
    """Every e-mail address, phone number, account number and postal address in ``text``, in order.

    Secrets (cards, IBANs, passwords, membership numbers ...) are ``core.secrets``'s; their spans are left out.
    """
    out: list[Lookup] = []
    # Phone numbers and addresses are masked like secrets, and read here as well for their captions.
    taken: list[tuple[int, int]] = [(s.start, s.end) for s in find_secrets(text) if s.kind not in ("phone", "address")]

    def keep(kind: str, value: str, start: int, end: int) -> None:
        if MASK_CHAR not in value and not _spans_overlap((start, end), taken):
            taken.append((start, end))
            out.append(Lookup(kind, value, start, end, label_before(text, start)))

    for match in EMAIL.finditer(text):
        keep("email", match.group(), match.start(), match.end())
    for match in ACCOUNT.finditer(text):
        keep("account", match.group(1).strip(), match.start(1), match.end(1))
    for address in find_addresses(text):
        keep("address", address.value, address.start, address.end)
    for phone in find_phones(text):
        keep("phone", phone.value, phone.start, phone.end)
    out.sort(key=lambda item: item.start)
    return out


def find_phones(text: str) -> list[Lookup]:
    """Every phone number in ``text``: a "+", a word that says it is one, or a label and a leading zero or bracket.

    Dates, times, prices, IP addresses, order and reference numbers and postcodes are not phone numbers.
    """
    if sum(c.isdigit() for c in text) < 8:
        return []
    out: list[Lookup] = []
    date_spans: list[tuple[int, int]] | None = None
    for match in PHONE.finditer(text):
        value = match.group().strip()
        digits = re.sub(r"\D", "", value)
        if not 8 <= len(digits) <= 15:
            continue
        if re.fullmatch(r"\d{4}[-./ ]\d{1,2}[-./ ]\d{1,2}|\d{1,2}[-./ ]\d{1,2}[-./ ](?:\d{2}|(?:19|20)\d{2})", value) or _IP_ADDRESS.fullmatch(value):
            continue  # a date written with digits, an IP address
        if _PRICE_NEAR.match(text, match.end()) or re.search(r"[€$£]\s*$", text[max(0, match.start() - 3) : match.start()]):
            continue  # "12 500 000 €"
        prefix = text[max(0, match.start() - 40) : match.start()]
        if _NOT_A_PHONE.search(prefix):
            continue
        labelled = re.search(r"(?:[:=]|\b(?:is|ist|est|es|é|at|unter|au|al|no|under|sous|bajo))\s*$", prefix) is not None
        if not (value.startswith("+") or PHONE_CONTEXT.search(prefix) or (labelled and value.startswith(("0", "(")))
                or MOBILE.fullmatch(value)):
            continue
        if date_spans is None:
            date_spans = [(d.start, d.end) for d in find_dates(text)]
        if _spans_overlap((match.start(), match.end()), date_spans):
            continue
        out.append(Lookup("phone", value, match.start(), match.start() + len(value), label_before(text, match.start())))
    return out


def private_spans(address: Address) -> list[tuple[int, int]]:
    """The spans of an address to mask, as offsets in the text it was found in: the street, house number, unit
    and every postcode, leaving the district and town readable.

    The town alone names no one's door, and what the user says about where they live needs it ("I live at
    ••••••••, 69003 Lyon" still says Lyon).  Without a town the whole address is one span.
    """
    value = address.value
    first = -1
    if address.places:
        street = STREET.match(value)
        first = value.find(address.places[0], street.end() if street else 0)
    if first <= 0:
        return [(address.start, address.end)]
    spans = [(address.start, address.start + len(value[:first].rstrip(" ,")))]
    for code in re.finditer(rf"(?<![\w-]){_POSTCODE}(?![\w-])", value[first:]):
        spans.append((address.start + first + code.start(), address.start + first + code.end()))
    return spans


def address_key(value: str) -> str:
    """The street and house number of an address, normalised: two ways of writing one address share it."""
    street = re.split(r",|\s+in\s+|\(", value, maxsplit=1)[0]
    street = re.sub(r"(?i)stra(?:ß|ss)e\b|str\.", "str", street)
    return re.sub(r"[\W_]+", "", street.lower())


_LABEL_NOISE = re.compile(r"(?i)\b(?:my|our|your|the|new|old|current|latest|updated|mein\w*|neue\w*|mon|ma|mes|nouvel\w*|"
                          r"nouveau|mi|nuev[oa]|meu|minha|nov[oa])\b\s*")


def caption(kind: str, label: str) -> str:
    """A vault caption: the kind of value, and what the user called it ("new" and "my" left out, so that the
    same label said again later names the same entry)."""
    base = LOOKUP_LABELS[kind]
    label = " ".join(_LABEL_NOISE.sub("", label).split())
    if not label:
        return base
    if kind == "address" and _ADDRESS_WORD.search(label):
        return label[:200]
    return f"{base}: {label}"[:300]


# -- a home address, said in clear words ------------------------------------------------------------------

VAULT_NOTE = "address in the vault"
# "moved to Porto", "wohne in Berlin-Kreuzberg", "habite à Lyon", "Mudei-me para o Porto": the place a home verb names.
_HOME_VERB = (
    r"(?:live[sd]?|living|moved|move|moving|based|relocated|wohnen?|lebe|leben|ziehe|ziehen|habite|habitons|vis|vivons|"
    r"installée?s?|déménagé|vivo|vivimos|mudé|mudado|mudamos|moro|moramos|vivemos|mudei-me|mudámos|mudamo-nos)"
)
_NOT_A_DATE = "(?!(?i:" + "|".join(sorted(map(re.escape, DATE_WORDS), key=len, reverse=True)) + r")\b)"
_HOME_PLACE = re.compile(
    rf"(?i:\b{_HOME_VERB}\s+(?:[\w'’-]+\s+){{0,3}}?(?:in|to|into|near|nach|à|au|en|em|para|no|na|a)\s+"
    rf"(?:(?:the|o|a|la|le)\s+)?){_NOT_A_DATE}(?P<place>{PLACE})|"
    rf"(?i:\b(?:nach|in)\s+)(?P<before>{PLACE})(?i:\s+(?:[\w'’-]+\s+)?(?:gezogen|umgezogen)\b)"
)
_NEW_HOME = re.compile(
    r"(?i)\b(?:moved|moving|new|nouvelle|nouveau|neue[nrs]?|nueva|nuevo|nova|novo|umgezogen|gezogen|déménagé|"
    r"installée?s?|mudé|mudado|mudamos|mudei-me|mudei|mudámos|mudamo-nos|me\s+he\s+mudado|nos\s+hemos\s+mudado)\b"
)


def _home_places(text: str, addresses: list[Address]) -> list[str]:
    """The places a sentence names for a home: after a home verb, then the district and town of its addresses."""
    found: list[str] = []
    for match in _HOME_PLACE.finditer(text):
        start = match.start("place") if match.group("place") else match.start("before")
        if any(a.start <= start < a.end for a in addresses):
            continue
        found.append(match.group("place") or match.group("before"))
    for address in addresses:
        found += address.places
    out: list[str] = []
    for place in found:
        first = place.split()[0].lower()
        if first in DATE_WORDS or first in _NOT_PLACES or any(place.lower() in kept.lower() for kept in out):
            continue
        out = [kept for kept in out if kept.lower() not in place.lower()] + [place]
    return out


# A postal address that masking already hid, with the town it left readable: "••••••••et, Glasgow ••••••••".
_MASKED_STREET = re.compile(rf"{MASK_CHAR}{{8}}[^\s{MASK_CHAR}]{{0,3}},?\s+(?P<town>{PLACE})")


def home_in_clear(text: str, message: str = "") -> str | None:
    """What a sentence with a postal address says of the user's home, in clear words; None without an address.

    "We moved! New address: Rua das Flores 112, 4050-265 Porto." gives "lives in
    Porto (new address in the vault)": the street and number belong to the
    knowledge vault, the town and district are what an answer about home needs,
    and they stay readable wherever the address itself is masked.  ``message``
    (the whole message) may say the move ("We moved!") in another sentence.
    """
    addresses = find_addresses(text)
    if not addresses:
        masked = _MASKED_STREET.search(text)  # masked on the way in: "new address is ••••••••et, Glasgow ••••••••"
        if not masked or not _ADDRESS_WORD.search(text) and not _NEW_HOME.search(text):
            return None
        addresses = [Address(masked.group(), masked.start(), masked.end(), (masked.group("town"),))]
    places = _home_places(text, addresses)
    note = f"new {VAULT_NOTE}" if _NEW_HOME.search(text) or _NEW_HOME.search(message) else VAULT_NOTE
    if not places:
        return f"has a {'new ' if note != VAULT_NOTE else ''}home address (in the vault)"
    return f"lives in {', '.join(places)} ({note})"


def describe_addresses(text: str, *, note: bool = True) -> str:
    """``text`` with each postal address replaced by its district and town and a note that the vault keeps it.

    For text copied out of a message into another memory (an event, a topic
    list): the address itself is only the vault's.  Without ``note`` only the
    places are left (a topic list names no vault).
    """
    addresses = find_addresses(text)
    for address in reversed(addresses):
        places = ", ".join(address.places)
        said = f"{places} ({VAULT_NOTE})" if places and note else places if places else f"({VAULT_NOTE})"
        text = text[: address.start] + said + text[address.end :]
    return text


def private_parts(value: str) -> list[str]:
    """The pieces of an address to mask where it is shown: the street, number and unit, and every postcode.

    The town and district stay readable ("New address: ••••••••65 Porto"), so
    a masked quote still answers where the user lives.  A value that is not a
    recognisable address is private as a whole.
    """
    found = find_addresses(value)
    if not found or not found[0].places:
        return [value]
    street = STREET.match(value, found[0].start)
    end = street.end() if street else found[0].end
    unit = _UNIT.match(value, end)
    parts = [value[found[0].start : unit.end() if unit else end]]
    parts += [m.group() for m in re.finditer(rf"(?<![\w-]){_POSTCODE}(?![\w-])", value[len(parts[0]) :])]
    return parts
