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
PHONE = re.compile(r"(?<![\w+])(\+\d{1,3}[\s.-]?)?(\(\d{1,4}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,6}){1,4}(?![\w-])")
PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:phone|tel|telephone|mobile|cell|call|number|whatsapp|signal|fax|ring|line|hotline|helpline|office|"
    r"reach|text|sms|telefon\w*|handy|rufnummer|nummer|téléphone|portable|numéro|teléfono|móvil|celular|número|"
    r"telefone|telemóvel|contacto|contato)\b"
)
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
    taken: list[tuple[int, int]] = [(s.start, s.end) for s in find_secrets(text)]

    def keep(kind: str, value: str, start: int, end: int) -> None:
        if MASK_CHAR not in value and not _spans_overlap((start, end), taken):
            taken.append((start, end))
            out.append(Lookup(kind, value, start, end, label_before(text, start)))

    for match in EMAIL.finditer(text):
        keep("email", match.group(), match.start(), match.end())
    for match in ACCOUNT.finditer(text):
        keep("account", match.group(1).strip(), match.start(1), match.end(1))
    for match in ADDRESS.finditer(text):
        end = match.end()
        tail = _TOWN_TAIL.match(text, end)
        if tail:
            end = tail.end()
        value = text[match.start() : end].rstrip(" ,.")
        if len(re.findall(r"[^\W\d_]{2,}", value)) >= 1:
            keep("address", value, match.start(), match.start() + len(value))
    date_spans = [(d.start, d.end) for d in find_dates(text)]
    for match in PHONE.finditer(text):
        value = match.group().strip()
        digits = re.sub(r"\D", "", value)
        if not 8 <= len(digits) <= 15 or _spans_overlap((match.start(), match.end()), date_spans):
            continue
        if re.fullmatch(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}", value):
            continue  # a date written with digits
        prefix = text[max(0, match.start() - 40) : match.start()]
        labelled = re.search(r"(?:[:=]|\b(?:is|ist|est|es|é|at|unter|au|al|no)\s*)$", prefix) is not None
        if value.startswith("+") or PHONE_CONTEXT.search(prefix) or (labelled and value.startswith(("0", "("))):
            keep("phone", value, match.start(), match.end())
    out.sort(key=lambda item: item.start)
    return out


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
