"""Lookup values in the user's words: e-mail addresses, phone numbers, account numbers and postal addresses.

They are not secrets (``core.secrets`` masks those), so they stay readable in
the text, but they are worth an exact knowledge-vault entry, captioned with
what the user called them ("Plumber Giorgos", "Dr. Haddad's office", "new
address").  A phone number needs a "+" or a word that says it is one (phone,
Telefon, téléphone, teléfono, telefone, mobile, line ...), or a label and a
leading zero ("breakdown line: 089 20 20 4000"); numbers in a date are never
phone numbers.  A postal address is a street with its house number in one of
the forms Europe and the English-speaking world write them ("14 rue des
Tanneurs", "Lindenstraße 8", "Rua das Flores 112", "221B Baker Street"),
with the postcode and town when they follow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.absorb.dates import find_dates
from core.absorb.text import UPPER
from core.secrets import MASK_CHAR, find_secrets

EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b")
# A phone number as people write it: an optional "+cc" (with the "(0)" of a national number kept beside it,
# "+49 (0)30 ..."), an optional area code in brackets ("(415) 555-0132"), then digit groups parted by one space,
# dot, dash or slash ("01 42 68 53 00", "030/1234567", "+33 1 42 68 53 00").  Which matches are phones is decided
# in ``find_phones`` (enough digits, a word or a "+" that says so, not a date, a price or an IP address).
PHONE = re.compile(
    r"(?<![\w+.,/-])(?:\+\d{1,3}(?:[ .-]?\(0\))?[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,5}(?:(?:[ .-]|/|\s-\s)\d{1,8}){0,6}"
    r"(?![\w-]|[.,/]\d)"
)
PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|cell|call|number|whatsapp|signal|fax|ring|line|hotline|helpline|office|"
    r"reach|text|sms|telefon\w*|handy|rufnummer|nummer|téléphone|portable|numéro|teléfono|móvil|celular|número|"
    r"telefone|telemóvel|contacto|contato|tél|tlf|tfno|telf|mob|appelle[rz]?|anrufen|ruf|llama[r]?|ligar|liga)\b"
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
    r"plaza|camino|carrera|travesía|ronda|rua|travessa|praça|largo|alameda|estrada|via|viale|piazza|corso|vicolo)"
)
_COMPOUND = r"[\w'’-]*(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm|ufer|steig|pfad|markt)"  # "Lindenstraße"
_NUMBER = r"\d{1,4}[a-zA-Z]?(?:[-/]\d{1,4})?"
_POSTCODE_TOWN = (
    rf"(?:,?\s+(?:(?:\d{{4,5}}(?:-\d{{3,4}})?|[A-Z]{{1,2}}\d[A-Z\d]?\s*\d[A-Z]{{2}})\s+)?{_U}[\w'’-]+(?:[ -]{_U}[\w'’-]+)?"
    rf"(?:\s*\(\d{{4,5}}\))?)?"
)
ADDRESS = re.compile(
    "|".join([
        rf"(?<![\w-]){_NUMBER},?\s+(?i:{_STREET_BEFORE})\s+(?:{_NAME_WORD}\s+){{0,3}}{_U}[\w'’-]+{_POSTCODE_TOWN}",
        rf"(?<![\w-]){_NUMBER}\s+(?:{_U}[\w'’-]+\s+){{1,3}}(?i:{_STREET_AFTER})\b{_POSTCODE_TOWN}",
        rf"(?<![\w-])(?:{_U}[\w'’-]+\s+)?{_U}(?i:{_COMPOUND})\s+{_NUMBER}(?![\w-]){_POSTCODE_TOWN}",
        rf"(?<![\w-])(?:{_U}[\w'’-]+\s+){{1,2}}(?i:{_STREET_AFTER})\s+{_NUMBER}(?![\w-]){_POSTCODE_TOWN}",
        rf"(?<![\w-])(?i:{_STREET_BEFORE})\s+(?:{_NAME_WORD}\s+){{0,3}}{_U}[\w'’-]+,?\s+{_NUMBER}(?![\w-]){_POSTCODE_TOWN}",
    ])
)
# "..., 04109 Leipzig" or " in Leipzig (04109)": the town after an address.
_TOWN_TAIL = re.compile(rf"\s+in\s+{_U}[\w'’-]+(?:\s*\(\d{{4,5}}\))?")
_ADDRESS_WORD = re.compile(r"(?i)\b(?:address|adresse|anschrift|dirección|direccion|endereço|morada|indirizzo)\b")
_LABEL_CUT = re.compile(r"(?i)^(?:and|also|und|et|y|e|oh|so|plus)\s+|\s+(?:is|are|was|ist|lautet|est|es|é|at|on|unter|:)\s*$")
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


def label_before(text: str, start: int) -> str:
    """What the words just before a value call it: "Plumber Giorgos: +30 ..." gives "Plumber Giorgos"."""
    head = text[:start]
    cut = max(head.rfind(mark) for mark in ".!?\n;(,")
    if cut >= 0 and head[cut] == "." and re.search(r"(?i)\b(?:dr|mr|mrs|ms|st|no|nr)$", head[:cut]):
        cut = max(head[:cut].rfind(mark) for mark in "!?\n;(,")  # "Dr. Haddad's office"
    label = head[cut + 1 :].strip(" \t:–—-=")
    for _ in range(3):
        label = _LABEL_CUT.sub("", label).strip(" \t:–—-=")
    words = label.split()
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
        if not (value.startswith("+") or PHONE_CONTEXT.search(prefix) or (labelled and value.startswith(("0", "(")))):
            continue
        if date_spans is None:
            date_spans = [(d.start, d.end) for d in find_dates(text)]
        if _spans_overlap((match.start(), match.end()), date_spans):
            continue
        out.append(Lookup("phone", value, match.start(), match.start() + len(value), label_before(text, match.start())))
    return out


def find_addresses(text: str) -> list[Lookup]:
    """Every postal address in ``text``: a street and its house number, with the postcode and town that follow."""
    if not any(c.isdigit() for c in text):
        return []
    out: list[Lookup] = []
    for match in ADDRESS.finditer(text):
        end = match.end()
        tail = _TOWN_TAIL.match(text, end)
        if tail:
            end = tail.end()
        value = text[match.start() : end].rstrip(" ,.")
        if len(re.findall(r"[^\W\d_]{2,}", value)) >= 1:
            out.append(Lookup("address", value, match.start(), match.start() + len(value), label_before(text, match.start())))
    return out


def street_part(address: Lookup) -> tuple[int, int]:
    """The span of an address without its town: the street, house number and postcode.

    The town alone names no one's door, and what the user says about where they live needs it ("I live at
    ••••••••, 69003 Lyon" still says Lyon).
    """
    value = address.value
    postcode = r"\d{4,5}(?:-\d{3,4})?"
    town = re.search(rf"(?:,\s*(?:{postcode}\s+)?|\s+{postcode}\s+|\s+in\s+){_U}[\w'’-]+(?:[ -]{_U}[\w'’-]+)?"
                     rf"(?:\s*\(\d{{4,5}}\))?$", value)
    cut = len(value)
    if town:
        # The postcode stays with the street (it narrows the door down); the town stays readable.
        head = value[: town.start()]
        postcode_after = re.match(rf",?\s*({postcode})\s", value[town.start() :])
        cut = town.start() + postcode_after.end(1) if postcode_after else len(head)
    if not re.search(r"\d", value[:cut]) or not re.search(r"[^\W\d_]{2,}", value[:cut]):
        cut = len(value)  # no street and number before the town: mask it all
    return address.start, address.start + cut


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
