"""The one secret detector: every road into Engram masks secrets with it.

``find_secrets(text)`` returns each secret in free text with its kind, a short
label and its exact span; ``mask_text(text)`` returns the text with every
secret replaced by ``mask(value)`` and the secrets found.  Chat imports, the
chat page, screen capture and ``engram add`` all pass text through here before
anything is stored, so observations, memories, indexes and prompts only ever
hold masks.  The clear values travel beside the masked text in an
observation's ``meta`` (``SECRETS_KEY``), inside the encrypted database but
outside every index, until the absorber has put them into the knowledge vault.

What is found (English, German, French, Spanish and Portuguese labels):

* passwords, passcodes and passphrases after a label ("my password is X",
  "password: X", "pw X", "mein Passwort ist X", "mot de passe : X",
  "la contraseña es X", "a senha é X"), OCR-damaged labels included;
* PINs ("PIN 1234", "the PIN is 4321", "meine PIN ist 1234");
* door, gate, alarm, safe, locker and other access codes ("the door code is 4821#",
  "Türcode 1234", "code de la porte", "código do portão"), in Dutch, Polish,
  Swedish, Turkish and Italian too ("code van mijn kluisje is", "kod do drzwi
  to", "portkoden är", "kapı kodu", "il codice del cancello è");
* terse notes of a label and a value ("pin card 2 = 5521", "code garage 7781")
  and a new value for a code said after it ("changed the gate code, it's 8302
  now", "The alarm code changed. It's 3904 now.");
* payment card numbers (Luhn checksum, card-like grouping), IBANs (country
  length and checksum), passport and national ID numbers after their label;
* API keys and tokens: known prefixes (AWS, OpenAI, Anthropic, Stripe, GitHub,
  GitLab, Slack, Google, Hugging Face), JWTs, private key blocks, labelled keys
  and long high-entropy strings.

A label is the label ("bank PIN", "office wifi password", "door code", "Visa
card"), never the surrounding sentence.  A value ends where it naturally ends:
at whitespace or at sentence punctuation that is not part of it; quoted values
keep their spaces.

``Secret`` objects carry the value in clear: hand them only to the knowledge
vault, never to a log, an event or a prompt.
"""

from __future__ import annotations

import dataclasses
import math
import re
import string
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterable

from core import national_ids
DETECTOR_VERSION = 5  # bump it when the detector learns a new form, and stored text is checked again
MASK_CHAR = "•"
SHORT_MASK = MASK_CHAR * 8  # every short value looks the same, so a mask does not leak the length
MASK_SHOWS_FROM = 10  # values this long or longer show their last 2 characters
SECRETS_KEY = "secrets"  # where an observation's meta carries clear values for the vault
SHIELDED = "shielded"  # set on an observation dict that went through shield_observation (not a column)

# Kinds whose entries are updated when the same label gets a new value ("my wifi password is now ...");
# the other kinds identify a thing (a card, an account), so a new value is a new entry.
LABEL_KEYED_KINDS = frozenset({"password", "pin", "access_code"})


def mask(value: str | None) -> str:
    """The masked form of a secret: 8 bullets, then the last 2 characters if it has at least 10.

    Whitespace inside the value (an IBAN or card in groups) is dropped first, so
    a mask never carries a stray space.  ``mask(mask(v)) == mask(v)``.
    """
    if not value:
        return ""
    compact = "".join(str(value).split())
    if len(compact) < MASK_SHOWS_FROM:
        return SHORT_MASK
    return SHORT_MASK + compact[-2:]


@dataclass(frozen=True)
class Secret:
    """One secret in a text: ``text[start:end] == value``."""

    kind: str  # password, pin, access_code, card, iban, passport, national_id, api_key, token, private_key, phone, address
    label: str
    value: str
    start: int
    end: int
    whole: str = ""  # what the vault keeps when it is more than the masked span: an address with its town

    @property
    def kept(self) -> str:
        """The value the knowledge vault keeps."""
        return self.whole or self.value

    def __repr__(self) -> str:  # never print the secret itself by accident
        return f"Secret(kind={self.kind!r}, label={self.label!r}, start={self.start}, end={self.end})"

    def carried(self) -> dict[str, str]:
        """What an observation's meta keeps for the vault."""
        return {"kind": self.kind, "label": self.label, "value": self.kept}


@dataclass(frozen=True)
class Masked:
    text: str
    secrets: list[Secret]

    @property
    def found(self) -> bool:
        return bool(self.secrets)

    def carried(self) -> list[dict[str, str]]:
        """The secrets as meta keeps them, each (kind, label, value) once."""
        out: list[dict[str, str]] = []
        for secret in self.secrets:
            item = secret.carried()
            if item not in out:
                out.append(item)
        return out


# -- checksums and measures ------------------------------------------------------------


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum used by payment cards."""
    if not digits or not digits.isascii() or not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


# IBAN length by country (ISO 13616 registry).
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24,
    "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24,
    "XK": 20,
}


def iban_valid(value: str) -> bool:
    """Whether ``value`` (spaces allowed) is an IBAN of its country's length with a valid checksum."""
    compact = "".join(value.split()).upper()
    if not compact.isascii() or not compact.isalnum() or IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    if not compact[2:4].isdigit():
        return False
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text`` taken as a sample of its own alphabet."""
    if not text:
        return 0.0
    counts = Counter(text)
    length = len(text)
    return -sum(n / length * math.log2(n / length) for n in counts.values())


def _char_class(char: str) -> int:
    return 0 if char.isdigit() else 1 if char.islower() else 2 if char.isupper() else 3


def _looks_random(chunk: str) -> bool:
    """A run of letters and digits that changes class (lower, upper, digit) as often as random text does.

    Identifiers and model names ("SmolLM2", "getUserById2") change class a few
    times; random keys change it on about half of their characters.
    """
    if len(chunk) < 2:
        return False
    changes = sum(1 for a, b in zip(chunk, chunk[1:]) if _char_class(a) != _char_class(b))
    return changes / (len(chunk) - 1) >= 0.3


def _looks_like_token(candidate: str) -> bool:
    """A long high-entropy string of letters and digits: a key or token, not a word, path, name or commit id."""
    if len(candidate) < 24 or candidate.isdigit():
        return False
    if not any(c.isdigit() for c in candidate) or not any(c.isalpha() for c in candidate):
        return False
    # Model names, package names, UUIDs and dates are short pieces joined by separators.
    chunks = re.split(r"[-_./+=]", candidate)
    longest = max(chunks, key=len)
    if len(longest) < 16 or not _looks_random(longest):
        return False
    is_hex = re.fullmatch(r"[0-9a-fA-F]+", candidate) is not None
    if is_hex and len(candidate) == 40:
        return False  # a git commit id: everywhere on a developer's screen, and not a secret
    # Hex (16 symbols) tops out at 4 bits per char; mixed-case base64 reaches 5 or more.
    return shannon_entropy(candidate) >= (3.3 if is_hex else 4.0)


# -- structural secrets: recognisable by their shape alone -----------------------------------

_PRIVATE_KEY = re.compile(
    r"-----BEGIN (?P<what>[A-Z ]*)PRIVATE KEY-----(?:[\s\S]*?-----END (?P=what)PRIVATE KEY-----|[A-Za-z0-9+/=\s]*)"
)
_JWT = re.compile(r"(?<![\w-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
# (label, literal pieces one of which the text must contain, pattern): the pieces let most text skip the pattern.
_PREFIXED_KEYS = (
    ("AWS access key", ("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"),
     re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}(?![A-Za-z0-9])")),
    ("Anthropic API key", ("sk-ant-",), re.compile(r"(?<![\w-])sk-ant-[A-Za-z0-9_-]{20,}")),
    ("Stripe key", ("_live_", "_test_"), re.compile(r"(?<![\w-])(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    ("OpenAI API key", ("sk-",), re.compile(r"(?<![\w-])sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}")),
    ("GitHub token", ("gh", "github_pat_"), re.compile(r"(?<![\w-])(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}")),
    ("GitLab token", ("glpat-",), re.compile(r"(?<![\w-])glpat-[A-Za-z0-9_-]{20,}")),
    ("Slack token", ("xox",), re.compile(r"(?<![\w-])xox[abprs]-[A-Za-z0-9-]{10,}")),
    ("Google API key", ("AIza",), re.compile(r"(?<![\w-])AIza[0-9A-Za-z_-]{35}")),
    ("Hugging Face token", ("hf_",), re.compile(r"(?<![\w-])hf_[A-Za-z0-9]{30,}")),
)
_DROP_DIGITS = str.maketrans("", "", string.digits)
_KEY_PIECES = re.compile("|".join(re.escape(piece) for _label, pieces, _pattern in _PREFIXED_KEYS for piece in pieces))
_TOKEN_CANDIDATE = re.compile(r"(?<![\w/+=-])[A-Za-z0-9_+/=-]{24,}(?![\w/+=-])")
# Digit groups separated by a space or a dash (OCR sometimes reads a gap as two spaces).
_DIGIT_RUN = re.compile(r"(?<![\w-])\d+(?:[ -]{1,2}\d+)*(?![\w-])")
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{2})(\d{2})(?=[ ]?[A-Za-z0-9])")


def _card_label(digits: str) -> str | None:
    """The card network of a number by its leading digits, or None when no network issues such numbers."""
    two, four = int(digits[:2]), int(digits[:4])
    if digits[0] == "4":
        return "Visa card"
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return "Mastercard"
    if two in (34, 37):
        return "American Express card"
    if digits.startswith(("6011", "65")) or 644 <= int(digits[:3]) <= 649:
        return "Discover card"
    if 3528 <= four <= 3589:
        return "JCB card"
    if two in (36, 38) or 300 <= int(digits[:3]) <= 305:
        return "Diners Club card"
    if two == 62:
        return "UnionPay card"
    if two == 50 or 56 <= two <= 69:
        return "Maestro card"
    return None


def _card_grouping(sizes: list[int]) -> bool:
    """Digit groups as cards print them: one block, 4-4-4-4(-3), or Amex/Diners 4-6-5 / 4-6-4."""
    if len(sizes) == 1:
        return True
    if sizes in ([4, 6, 5], [4, 6, 4]):
        return True
    return all(s == 4 for s in sizes[:-1]) and 1 <= sizes[-1] <= 4


def _cards(text: str) -> Iterable[Secret]:
    for run in _DIGIT_RUN.finditer(text):
        groups = [(m.start() + run.start(), m.end() + run.start()) for m in re.finditer(r"\d+", run.group())]
        i = 0
        while i < len(groups):
            for j in range(len(groups), i, -1):
                sizes = [e - s for s, e in groups[i:j]]
                digits = "".join(text[s:e] for s, e in groups[i:j])
                if not 13 <= len(digits) <= 19 or not _card_grouping(sizes):
                    continue
                label = _card_label(digits)
                if label and luhn_valid(digits) and len(set(digits)) > 1:
                    start, end = groups[i][0], groups[j - 1][1]
                    yield Secret("card", label, text[start:end], start, end)
                    i = j
                    break
            else:
                i += 1


def _ibans(text: str) -> Iterable[Secret]:
    for match in _IBAN_START.finditer(text):
        country = match.group(1).upper()
        length = IBAN_LENGTHS.get(country)
        if length is None:
            continue
        # Read the rest of the IBAN: alphanumerics, with at most one space between them.
        position, count, end = match.end(), 4, match.end()
        while count < length and position < len(text):
            char = text[position]
            if char.isascii() and char.isalnum():
                count += 1
                end = position + 1
            elif not (char == " " and position + 1 < len(text) and text[position + 1] != " " and count < length):
                break
            position += 1
        if count != length or (end < len(text) and text[end].isascii() and text[end].isalnum()):
            continue
        value = text[match.start() : end]
        if iban_valid(value):
            yield Secret("iban", "IBAN", value, match.start(), end)


def _named_ids(text: str) -> Iterable[Secret]:
    """National ID numbers (``core.national_ids``): after their name within a short clause, or by shape and check alone."""
    named = _ANY_ID_NAME.search(text) is not None
    for scheme in national_ids.SCHEMES:
        if named and scheme.names is not None:
            for name in scheme.names.finditer(text):
                # "mój PESEL to ...", "TC kimlik numaram: ...": the value follows within a few words of the same clause.
                window = text[name.end() : name.end() + _ID_REACH]
                stop = re.search(r"[.!?;](?:\s|$)|\n\s*\n", window)
                limit = name.end() + (stop.start() if stop else len(window))
                for candidate in scheme.shape.finditer(text, name.end(), limit):
                    if scheme.valid(candidate.group()):
                        yield Secret("national_id", " ".join(name.group().split()), candidate.group(),
                                     candidate.start(), candidate.end())
                        break
        if scheme.alone:
            yield from _ids_by_shape(text, scheme)
    if "756" in text:
        yield from _ids_by_shape(text, national_ids.AHV_DOTTED)


def _ids_by_shape(text: str, scheme: national_ids.Scheme) -> Iterable[Secret]:
    for candidate in scheme.shape.finditer(text):
        if scheme.valid(candidate.group()):
            yield Secret("national_id", scheme.label, candidate.group(), candidate.start(), candidate.end())


_ID_REACH = 48  # a national ID's value starts within this many characters after its name
_ANY_ID_NAME = re.compile("|".join(s.names.pattern for s in national_ids.SCHEMES if s.names is not None))


def _structural(text: str) -> Iterable[Secret]:
    if "PRIVATE KEY-----" in text:
        for match in _PRIVATE_KEY.finditer(text):
            yield Secret("private_key", "private key", match.group().rstrip(), match.start(), match.start() + len(match.group().rstrip()))
    if "eyJ" in text:
        for match in _JWT.finditer(text):
            yield Secret("token", "access token (JWT)", match.group(), match.start(), match.end())
    if _KEY_PIECES.search(text):
        yield from _prefixed_keys(text)
    digits = len(text) - len(text.translate(_DROP_DIGITS))
    if digits >= 4:  # check digits and some of the account
        yield from _ibans(text)
    if digits >= 7:  # the shortest national ID (a NIE) has 7
        yield from _named_ids(text)
    if digits >= 13:
        yield from _cards(text)


def _prefixed_keys(text: str) -> Iterable[Secret]:
    for label, pieces, pattern in _PREFIXED_KEYS:
        if any(piece in text for piece in pieces):
            for match in pattern.finditer(text):
                yield Secret("api_key", label, match.group(), match.start(), match.end())


# -- labelled secrets: a value after its label ------------------------------------------------

_DET = (
    r"(?:the|my|our|your|his|her|their|this|that|a|an|le|la|les|l['’]|mon|ma|mes|notre|votre|el|los|las|mi|mis|tu|su|"
    r"o|os|as|meu|minha|nosso|nossa|die|der|das|den|dem|mein|meine|meinem|meinen|unser|unsere|het|mijn|onze|ons)"
)
_WORD = r"[^\W\d_][\w'’.-]*"
# "password for gmail", "contraseña del wifi", "senha do banco": what the secret is for.
_PHRASE = (
    r"\s+(?:for|of|to|at|on|in|für|zum|zur|vom|von|im|in\s+der|bei|beim|pour|de\s+la|de\s+l['’]|de|du|des|del|do|da|"
    r"dos|das|para|al|au|chez|à|en|no|na|bij|van|voor|op|przy|w|på|vid|i|presso|della|dello|nel|nella|alla)"
    r"(?:\s+(?:(?:" + _DET + r")\s+|l['’]|d['’])?|\s*(?:l['’]|d['’]))" + _WORD + r"(?:\s+" + _WORD + r"){0,3}"
)
# "the door code upstairs is ...", "der Türcode oben ist ...", "le code ici est ...": where, in one word or two.
_PLACE = (
    r"\s+(?:upstairs|downstairs|outside|inside|indoors|outdoors|here|there|oben|unten|hier|dort|draußen|drinnen|hinten|"
    r"vorne|en\s+haut|en\s+bas|là-haut|là-bas|ici|dehors|arriba|abajo|aquí|allí|allá|afuera|fuera|dentro|"
    r"lá\s+em\s+cima|lá\s+em\s+baixo|em\s+cima|em\s+baixo|embaixo|aqui|ali|lá|fora)(?![\w'’-])"
)
# What the secret is for ("password for gmail", "contraseña del wifi", "senha do banco") or where it is.
_TARGET = r"(?:" + _PLACE + r"(?:" + _PHRASE + r")?|" + _PHRASE + r"(?:" + _PLACE + r")?)"
# "my new PIN? it's… 4411", "the wifi password? Fjord-22": a name asked and answered in one breath.
_SELF_ANSWERED = (
    r"\?[ \t]*(?:(?:it['’]s|it\s+is|that['’]s|c['’]est|es\s+ist|das\s+ist|es|é)\b[ \t]*)?(?:…|\.\.\.)?"
)
_CONNECTOR = (
    r"\s*(?:(?:is|was|are|ist|lautet|war|est|était|c['’]est|es|era|é|eh)\b(?:\s+(?:now|jetzt|maintenant|ahora|agora))?"
    r"\s*[:=]?|[:=]|=>|->|→|" + _SELF_ANSWERED + r")\s*"
)

# OCR damages labels ("passwo", "passw0rd", "pa55word", "pasword"), so the password label is matched
# loosely: masking a harmless word after "pass...:" costs far less than storing a real password.
_PASSWORD_KW = (
    r"(?:p[a@4][s5$]{1,2}\s?w[o0]?r?[dt]?s?|passwd|pwd|pw|pass\s?(?:phrase|code)s?|"
    r"(?:[a-zäöüß]+-?)?(?:passwort|kennwort)|mot\s+de\s+passe|mdp|contrase[ñn]a|clave|senha|palavra-passe|"
    r"şifre(?:m|si|niz|miz)?)"
)
_PIN_KW = r"(?:(?:code|código|clave)\s+pin|pin(?:[\s-]?(?:code|nummer|number|no\.?|nr\.?))?|geheimzahl|code\s+secret)"
_ACCESS_CODE_KW = (
    r"(?:(?:front\s+|back\s+|main\s+)?(?:door|gate|alarm|safe|lock|entry|entrance|access|garage|building|keypad|"
    r"lockbox|key\s?box|padlock|security|verification|confirmation|unlock|intercom)\s+code|digicode|"
    r"(?:(?:locker|lock|padlock|safe|bike\s+lock|suitcase)\s+)?(?:combo|combination)|zahlenschloss(?:-?code)?|"
    r"(?:haus)?tür-?code|tor-?code|alarm(?:anlagen)?-?code|tresor-?code|zugangs-?code|garagen-?code|safe-?code|"
    r"schloss-?code|sicherheits-?code|bestätigungs-?code|eingangs-?code|"
    r"code\s+(?:de\s+la\s+porte|du\s+portail|de\s+l['’]alarme|du\s+coffre(?:-fort)?|d['’]entrée|d['’]accès|"
    r"de\s+l['’]immeuble|de\s+la\s+porte\s+d['’]entrée|du\s+garage|de\s+vérification|porte|portail)|"
    r"código\s+(?:de\s+la\s+puerta|del\s+portón|del\s+portal|de\s+la\s+alarma|de\s+la\s+caja\s+fuerte|de\s+acceso|"
    r"de\s+entrada|del\s+garaje|de\s+verificación|do\s+portão|da\s+porta|do\s+alarme|do\s+cofre|de\s+acesso|"
    r"da\s+garagem|de\s+verificação|do\s+prédio))"
)
_GENERIC_CODE_KW = r"(?:code|código|codigo)"
# Door, gate, alarm and locker codes in Dutch, Polish, Swedish, Turkish and Italian ("de deurcode is ...", "kod do
# drzwi to ...", "portkoden är ...", "kapı kodu ...", "il codice del cancello è ..."): joined by these languages' verbs.
_ACCESS_INTL_KW = (
    r"(?:(?:voordeur|deur|poort|hek|alarm|kluisjes?|kluis|garage|toegangs|fietsslot|cijferslot)-?code|"
    r"code\s+(?:van|voor)\s+(?:(?:het|de|mijn|ons|onze)\s+)?(?:kluisje|kluis|slot|deur|voordeur|poort|hek|alarm|garage|"
    r"fietsslot|cijferslot)|"
    r"kod(?:u)?\s+(?:do|od)\s+(?:drzwi|bramy|furtki|szafki|sejfu|alarmu|domofonu|klatki|garażu|kłódki)|"
    r"(?:ytterdörr|dörr|port|grind|larm|skåps?|box|garage|cykellås|lås)koden?|"
    r"koden\s+(?:till|för)\s+(?:skåpet|dörren|porten|grinden|boxen|larmet|låset)|"
    r"(?:kapı|kapının|dolap|dolabın|dolabımın|alarm|kasa|kasanın|garaj|bahçe\s+kapısı)\s+(?:kodu|şifresi)|"
    r"codice\s+(?:dell['’]\s*|della\s+|dello\s+|del\s+)?(?:cancello|portone|porta|armadietto|allarme|cassaforte|"
    r"lucchetto|citofono|garage))"
)
# The lockers themselves ("mijn kluisje is ...", "szafka: ...", "skåpet är ...", "l'armadietto è ..."): never bare.
_LOCKER_INTL_KW = r"(?:kluisjes?|kluis|szafk[aięy]|skåp(?:et)?|dolab(?:ım)?|dolap|armadietto)"
_PASSPORT_KW = (
    r"(?:passport(?:\s+(?:number|no\.?|nr\.?|#))?|reisepass(?:-?nummer|-?nr\.?)?|pass(?:-?nummer|-nr\.?)|"
    r"(?:numéro\s+(?:de|du)\s+)?passeport|(?:número\s+del?\s+)?pasaporte|(?:número\s+do\s+)?passaporte)"
)
_NATIONAL_ID_KW = (
    r"(?:(?:national\s+)?id(?:entity)?(?:\s+card)?\s+(?:number|no\.?|#)|national\s+id|"
    r"social\s+security\s+(?:number|no\.?)|tax\s+id(?:\s+number)?|driver['’]?s\s+licen[cs]e(?:\s+(?:number|no\.?))?|"
    r"personalausweis(?:-?nummer|-?nr\.?)?|ausweis(?:-?nummer|-?nr\.?)|steuer-?id|sozialversicherungsnummer|"
    r"(?:numéro\s+de\s+)?(?:carte\s+d['’]identité|sécurité\s+sociale)|"
    r"(?:número\s+de(?:l)?\s+)?(?:documento\s+de\s+identidad|seguridad\s+social)|"
    r"(?:número\s+do\s+)?(?:cartão\s+de\s+cidadão|bilhete\s+de\s+identidade)|"
    r"identity\s+number|id-?nummer|identiteitskaart(?:nummer)?|identiteitsnummer|identitetsnummer|"
    r"id-?kort(?:s?nummer)?|legitimations?nummer|numer\s+(?:dowodu(?:\s+osobistego)?|identyfikacyjny)|"
    r"dowód\s+osobisty|(?:numero\s+(?:della\s+|di\s+)?)?carta\s+d['’]identità|documento\s+d['’]identità|"
    r"numéro\s+d['’]identité|número\s+de\s+identificación|cédula(?:\s+de\s+identidad)?|"
    r"kimlik\s+kartı(?:\s+numarası)?|henkilökortin\s+numero|"
    r"(?-i:SSN|DNI|NIE|NIF|CPF|RG|NIR|NISS))"
)
# "Wi-Fi at the cabin: ...", "WLAN-Schlüssel: ...", "Network key: ...": a wireless network's password.
_WIFI_KW = (
    r"(?:wi-?fi(?:\s+(?:key|code|pass))?|wlan(?:-?schlüssel|-?key)?|(?:wireless\s+)?network\s+key|wpa2?\s+key|"
    r"netzwerk-?schlüssel|clé\s+(?:wi-?fi|wpa|de\s+sécurité(?:\s+réseau)?)|clave\s+(?:del\s+)?wi-?fi|"
    r"chave\s+(?:do\s+)?wi-?fi|rede\s+wi-?fi)"
)
# Membership, customer, loyalty and policy numbers: they identify the user to a club, a shop or an insurer.
_MEMBERSHIP_KW = (
    r"(?:(?:club\s+|gym\s+)?membership(?:\s+(?:number|no\.?|nr\.?|#|id|card(?:\s+(?:number|no\.?))?))?|"
    r"member(?:\s+(?:number|no\.?|nr\.?|id|#))|customer\s+(?:number|no\.?|id|#)|client\s+(?:number|no\.?|id)|"
    r"loyalty\s+(?:number|no\.?|card(?:\s+number)?)|frequent\s+flyer\s+(?:number|no\.?)|"
    r"(?:insurance\s+)?policy\s+(?:number|no\.?)|insurance\s+number|library\s+card(?:\s+number)?|"
    r"mitglieds-?(?:nummer|nr\.?|ausweis)|kunden-?(?:nummer|nr\.?)|versicherungs-?(?:nummer|nr\.?)|"
    r"numéro\s+(?:d['’]adhérent|d['’]abonné|de\s+membre|de\s+client|de\s+carte\s+de\s+fidélité|de\s+police)|"
    r"n°\s+(?:d['’]adhérent|de\s+membre|de\s+client)|número\s+de\s+(?:socio|miembro|cliente|sócio|membro|póliza|apólice))"
)
# "The key safe at the cottage is 2468": a lock named, then its digits, with no word "code".
_LOCK_KW = r"(?:key\s?safe|lock\s?box|key\s?box|padlock|combination\s+lock|bike\s+lock|safe|alarm|schlüsseltresor|cadenas|candado)"
# "the door upstairs opens with 0815": what a code opens, then the verb.
_OPENS_KW = (
    r"(?:(?:front|back|main|side|garden|cellar|basement|garage|building|street|house|apartment|flat)\s+)?"
    r"(?:door|gate|garage|entrance|building|lock|safe|locker|padlock|lockbox|key\s?box|box|shed|cabinet|storage|"
    r"room|cellar|basement|mailbox|letterbox|gym|studio|office|laundry|[^\W\d_]*tür|[^\W\d_]*tor|[^\W\d_]*schloss|keller|"
    r"briefkasten|"
    r"porte|portail|cave|puerta|portal|portón|trastero|portão|porta)(?:\s+[^\W\d_][\w'’-]*){0,2}?"
)
_OPENS_CONNECTOR = (
    r"\s+(?:opens|unlocks|öffnet(?:\s+sich)?|geht|s['’]ouvre|se\s+abre|abre|abre-se)\s+"
    r"(?:with|using|by|mit|avec|con|com)\s+(?:(?:the|a|dem|le|el|o)\s+)?(?:code|pin|código|zahlencode)?\s*[:=]?\s*"
)

_KEY_KW = (
    r"(?:api[\s_-]?(?:key|token|secret)|access[\s_-]?(?:token|key)|auth(?:orization)?[\s_-]?token|secret[\s_-]?key|"
    r"client[\s_-]?secret|bearer(?:\s+token)?|token|secret|clé\s+(?:d['’])?api|clave\s+(?:de\s+)?api|"
    r"chave\s+(?:de\s+)?api|api-schlüssel)"
)

# Order matters: the first family whose value is valid wins a position.  The anchors are lower-case ASCII
# pieces every keyword of the family contains: a family's patterns run only near them (see _windows).
_FAMILIES = (
    ("access_code", _ACCESS_CODE_KW, ("code", "digo", "combo", "combination", "zahlenschloss")),
    ("membership", _MEMBERSHIP_KW, ("member", "customer", "client", "loyalty", "flyer", "policy", "insurance", "library",
                                    "mitglied", "kunden", "versicherung", "adhérent", "abonné", "membre", "fidélité",
                                    "socio", "sócio", "miembro", "membro", "póliza", "apólice")),
    ("pin", _PIN_KW, ("pin", "geheimzahl", "code")),
    ("password", _PASSWORD_KW, ("pas", "pw", "p@", "p4", "pa5", "pa$", "wort", "mdp", "contrase", "clave", "senha",
                                "ifre")),
    ("wifi", _WIFI_KW, ("wi-fi", "wifi", "wlan", "network", "netzwerk", "wpa", "clé", "clave", "chave")),
    ("passport", _PASSPORT_KW, ("pas",)),
    ("national_id", _NATIONAL_ID_KW, (" id", "identi", " ssn", " dni", " nie", " nif", " cpf", " rg", " nir", " niss", "social",
                                     "tax", "licen", "ausweis", "steuer", "sozial", "curit", "cidad", "bilhete", "legitim",
                                     "dow", "dula", "kimlik", "henkil")),
    ("api_key", _KEY_KW, ("api", "token", "secret", "access", "auth", "bearer", "key")),
    ("access_intl", _ACCESS_INTL_KW, ("code", "kod", "codic")),
    ("locker_intl", _LOCKER_INTL_KW, ("kluis", "szafk", "skåp", "dolap", "dolab", "armadiet")),
    ("access_code", _GENERIC_CODE_KW, ("code", "digo")),
    ("opens", _OPENS_KW, ("open", "unlock", "öffnet", "geht", "ouvre", "abre")),
    ("lock", _LOCK_KW, ("safe", "box", "padlock", "lock", "alarm", "tresor", "cadenas", "candado")),
)
# The kind a family's secrets are kept as.
_FAMILY_KIND = {"wifi": "password", "opens": "access_code", "lock": "access_code", "access_intl": "access_code",
                "locker_intl": "access_code"}
# Families whose keyword alone, without "is" or ":", cannot introduce a value.
_NEVER_BARE = frozenset({"wifi", "opens", "lock", "locker_intl"})
# Families whose value is a keypad code of at least 4 digits, joined by the wide connector of many languages.
_KEYPAD_FAMILIES = frozenset({"access_intl", "locker_intl"})
# Numbers that name their holder: the verbs of more languages join them to their value ("mój numer dowodu to ...",
# "mijn ID-nummer is ...", "ID-numret är ...", "ID-nummeret er ...", "henkilökortin numero on ...").
_NUMBER_FAMILIES = frozenset({"membership", "national_id", "passport"})
_WIDE_CONNECTOR = (
    r"\s*(?:(?:is|was|are|ist|lautet|war|est|était|c['’]est|es|era|é|eh|to|jest|wynosi|är|er|on|è)\b"
    r"(?:\s+(?:now|jetzt|maintenant|ahora|agora|teraz|nu|nå|nyt|ora))?\s*[:=]?|[:=]|=>|->|→|" + _SELF_ANSWERED + r")\s*"
)
# "my membership number here so I stop hunting for it: BLX-448190": a number named, a few words about it, a colon,
# then the value.  Read only after every strict form has taken its values (see find_secrets).
_LOOSE_CONNECTOR = r"(?:,?[ \t]+[^\s:;.!?,]+){1,8}?[ \t]*:[ \t]*"
_NUMBER_WORD = re.compile(r"(?i)(?:number|no\.?|nr\.?|#|id|nummer|numéro|número|numero|numer|n°|card)$")


def _connector(family: str, bare: bool | str) -> str:
    if family == "opens":
        return r"(?P<target>)(?P<conn>" + _OPENS_CONNECTOR + r")"
    if bare == "loose":
        return r"(?P<target>)(?P<conn>" + _LOOSE_CONNECTOR + r")"
    if bare:
        return r"(?P<target>)(?P<conn>[ \t]+)"
    joined = _WIDE_CONNECTOR if family in _NUMBER_FAMILIES | _KEYPAD_FAMILIES else _CONNECTOR
    return r"(?P<target>" + _TARGET + r")?(?P<conn>" + joined + r")"


_LABELLED = [
    (family, bare, anchors, kw is _GENERIC_CODE_KW, re.compile(
        r"(?<![\w-])(?P<kw>" + kw + r")(?![\w])" + _connector(family, bare), re.IGNORECASE,
    ))
    for family, kw, anchors in _FAMILIES
    for bare in (False, True, "loose")
    if not (bare and (kw is _GENERIC_CODE_KW or family in _NEVER_BARE))
    and not (bare == "loose" and family not in _NUMBER_FAMILIES)
]
_ALL_ANCHORS = tuple(sorted({a for _kind, _kw, anchors in _FAMILIES for a in anchors}))
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)  # keeps every offset, unlike str.lower
_BEFORE_ANCHOR = 60  # a keyword starts at most this far before its anchor ("code de la porte d'entrée", compounds)
_AFTER_ANCHOR = 200  # and its label, connector and value start within this far after it


def _windows(lowered: str, anchors: tuple[str, ...]) -> list[tuple[int, int]]:
    """Merged ranges of ``lowered`` around every occurrence of an anchor.

    ``lowered`` starts with one extra space, so an anchor with a leading space
    (a short word such as " id") also matches at the start of the text.
    """
    spots = []
    for anchor in anchors:
        at = lowered.find(anchor)
        while at >= 0:
            spots.append(max(0, at - 1))
            at = lowered.find(anchor, at + 1)
    ranges: list[list[int]] = []
    for at in sorted(spots):
        start, end = max(0, at - _BEFORE_ANCHOR), at + _AFTER_ANCHOR
        if ranges and start <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], end)
        else:
            ranges.append([start, end])
    return [(a, min(b, len(lowered) - 1)) for a, b in ranges]

# Words that end a label when read backwards, and words that are never a value: articles, possessives,
# conjunctions and the adjectives people use about a password ("my password is wrong").
_STOP = frozenset(
    """
    a an the my our your his her their its this that these those and or but so then also is was are be been it i me we
    you he she they to for of in on at by from with new old current same different here there now just please set
    changed change forgot forgotten reset enter type use send remember incorrect wrong correct invalid valid required
    expired weak strong too very not still saved stored secret safe missing empty long short case sensitive secure
    hidden needed optional changed written below above same shown visible unknown default temporary one none
    mein meine meinen meinem meiner das der die den dem ein eine einen unser unsere dein deine ihr ihre und oder ist
    neue neues neuer alte altes falsch richtig geändert vergessen
    mon ma mes le la les un une notre votre son sa et ou est du de des nouveau nouvelle oublié faux incorrect
    mi mis el los las una nuestro nuestra tu su y o es del nueva nuevo olvidé incorrecta
    meu minha os um uma nosso nossa seu sua e ou é do da nova novo errada errado
    mój moja moje mojego twój twoja mijn mijne je jouw il lo gli mio mia miei tuo tua min mitt mina din ditt benim
    which what what's whats who whose where when how best right full exact whole usual welche welcher welches quel
    quelle cuál cual qual
    """.split()
)
_SENTENCE_END = ".,;:?"  # "!" stays: passwords end with it far more often than sentences that state one
_CLOSERS = {")": "(", "]": "[", "}": "{", "»": "«", "”": "“", "’": "‘", '"': '"', "'": "'"}
_QUOTES = {'"': '"', "'": "'", "“": "”", "‘": "’", "«": "»", "„": "“", "`": "`"}


def _read_value(text: str, start: int) -> tuple[int, int] | None:
    """The span of the value that starts at ``start``: one token, or a quoted phrase."""
    if start >= len(text):
        return None
    opener = text[start]
    if opener in _QUOTES:
        close = text.find(_QUOTES[opener], start + 1, start + 130)
        newline = text.find("\n", start + 1, close if close >= 0 else start + 130)
        if close > start + 1 and newline < 0:
            return start + 1, close
    end = start
    while end < len(text) and not text[end].isspace():
        end += 1
    # Sentence punctuation and unbalanced closing brackets or quotes belong to the sentence.
    while end > start:
        last = text[end - 1]
        if last in _SENTENCE_END or (last in _CLOSERS and _CLOSERS[last] not in text[start : end - 1]):
            end -= 1
            continue
        break
    return (start, end) if end > start else None


def _digit_count(value: str) -> int:
    return sum(c.isdigit() for c in value)


def _valid_value(kind: str, value: str, bare: bool) -> bool:
    """Whether ``value`` can be a secret of ``kind``; ``bare`` when no 'is' or ':' joined it to its label."""
    if MASK_CHAR in value or len(set(value)) == 1 and not value[0].isalnum():
        return False  # already masked, or a form's placeholder dots and stars
    if value.lower().strip("'’()[]{}<>") in _STOP:
        return False  # "my password is wrong", "Password: (required)"
    if kind == "pin":
        return re.fullmatch(r"\d{4,12}[#*]?", value) is not None  # a keypad's "#" or "*" ends some
    if kind == "access_code":
        return re.fullmatch(r"[0-9A-Za-z#*-]{3,16}", value) is not None and _digit_count(value) >= 3
    if kind == "passport":
        return re.fullmatch(r"[A-Za-z0-9]{6,10}", value) is not None and _digit_count(value) >= 3
    if kind == "national_id":
        return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9./-]{4,20}", value) is not None and _digit_count(value) >= 4
    if kind == "membership":
        return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ./-]{3,24}", value) is not None and _digit_count(value) >= 4
    if kind == "wifi":  # "the wifi is slow" names no password: a network key has digits or symbols
        return 6 <= len(value) <= 63 and any(not c.isalpha() for c in value) and not re.fullmatch(r"[\d.,:]+", value)
    if kind in ("opens", "lock", "access_intl", "locker_intl"):
        return re.fullmatch(r"[0-9#*-]{3,12}", value) is not None and _digit_count(value) >= 3
    if kind == "api_key":
        return (len(value) >= 12 and _digit_count(value) >= 1 and any(c.isalpha() for c in value)) or len(value) >= 20
    # password
    if len(value) < 3 or len(value) > 128:
        return False
    if bare:  # "password hunter2x9": without 'is' or ':' only a value no sentence would have
        return len(value) >= 4 and any(not c.isalpha() for c in value)
    return True


def _label(text: str, match: re.Match, taken: list[tuple[int, int]]) -> str:
    """The label of a labelled secret: up to two describing words before the keyword, the keyword, its target."""
    keyword = " ".join(match.group("kw").split())
    target = " ".join((match.group("target") or "").split())
    words: list[str] = []
    position = match.start("kw")
    while len(words) < 2:
        before = text[:position]
        found = re.search(r"(" + _WORD + r")[ \t]+$", before)
        if not found or any(s < found.end(1) and found.start(1) < e for s, e in taken):
            break
        word = found.group(1)
        if word.lower().rstrip(".") in _STOP or word.endswith((".", ",")) or any(c.isdigit() for c in word):
            break
        if re.search(r"(?i)(?:\b(?:is|ist|est|es|é|lautet|was|war)|[:=])\s*$", text[: found.start(1)]):
            break  # the word is the value of something said before, not a description of this secret
        words.insert(0, word)
        position = found.start(1)
    return " ".join([*words, keyword] + ([target] if target else []))


# Numbers people write in groups ("183 442 907"): the whole run is the value.
_GROUPED_DIGITS = frozenset({"membership", "national_id"})


def _digit_groups(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """``span`` grown over the digit groups that follow it, one space apart ("183 442 907")."""
    start, end = span
    while True:
        more = re.match(r" (\d{2,6})(?![\w-])", text[end : end + 8])
        if not more or _digit_count(text[start : end + more.end()]) > 20:
            return start, end
        end += more.end()


def _labelled(text: str, taken: list[tuple[int, int]]) -> tuple[list[Secret], list[Secret]]:
    """Values after their label: the strict forms, and the loose ones (a few words between a number's name and its colon)."""
    strict: list[Secret] = []
    loose: list[Secret] = []
    lowered = " " + text.translate(_ASCII_LOWER)
    if not any(anchor in lowered for anchor in _ALL_ANCHORS):
        return strict, loose  # most text names no secret at all (a big regex alternation is slower than these finds)
    windows: dict[tuple[str, ...], list[tuple[int, int]]] = {}
    for kind, bare, anchors, generic, pattern in _LABELLED:
        out = loose if bare == "loose" else strict
        if anchors not in windows:
            windows[anchors] = _windows(lowered, anchors)
        seen: set[int] = set()
        matches = []
        for start, end in windows[anchors]:
            # A window's end cuts the text for the pattern; the value is read from the whole text below.
            for match in pattern.finditer(text, start, end):
                if match.start() not in seen:
                    seen.add(match.start())
                    matches.append(match)
        for match in matches:
            if generic and _NOT_A_SECRET_CODE.search(text, max(0, match.start() - 16), match.start()):
                continue
            if bare == "loose" and not _NUMBER_WORD.search(match.group("kw")):
                continue  # "membership renewal is due on: ...": only a number's name reaches over words to a colon
            span = _read_value(text, match.end())
            if span is None:
                continue
            value = text[span[0] : span[1]]
            if value.endswith("!") and not _valid_value(kind, value, bare):
                span, value = (span[0], span[1] - 1), value[:-1]  # "the PIN is 1234!"
            if (generic or kind in _KEYPAD_FAMILIES) and _digit_count(value) < 4:
                continue
            if kind in _GROUPED_DIGITS and value.isdigit():
                span = _digit_groups(text, span)
                value = text[span[0] : span[1]]
            if kind in ("lock", "locker_intl") and not re.match(
                    r"\s*(?:[.,;:!)]|$|(?:and|und|et|y|e|so|but|en|och|i|ve|oraz|ma)\b)", text[span[1] :]):
                continue  # "the alarm is 110 dB loud": a measure, not a code
            if kind in _NUMBER_FAMILIES and _looks_like_date(value):
                continue  # "membership number valid until: 2027-03-31"
            if "\n" in match.group("conn") and (_SHELL_PROMPT.fullmatch(value) or not _valid_value(kind, value, True)):
                continue  # "[sudo] password for lior:" then the next prompt: a terminal never echoes the password
            if _valid_value(kind, value, bare is True or "?" in match.group("conn")):
                label = _label(text, match, taken) + (" code" if kind in ("opens", "lock") else "")
                out.append(Secret(_FAMILY_KIND.get(kind, kind), label, value, span[0], span[1]))
    return strict, loose


_SHELL_PROMPT = re.compile(r"[\w.-]+@[\w.-]+:[^\s]*[$#%>]?")
_DATE_PARTS = re.compile(r"(\d{1,4})[-./](\d{1,2})[-./](\d{1,4})")


def _looks_like_date(value: str) -> bool:
    """Whether ``value`` is a day written in numbers (2027-03-31, 31.03.27, 3/31/2027), not an identifier."""
    parts = _DATE_PARTS.fullmatch(value)
    if not parts:
        return False
    first, second, third = parts.groups()
    a, b, c = int(first), int(second), int(third)
    if len(first) == 4:
        return 1 <= b <= 12 and 1 <= c <= 31
    return len(third) in (2, 4) and ((1 <= a <= 31 and 1 <= b <= 12) or (1 <= a <= 12 and 1 <= b <= 31))


# "zip code: 10115", "error code is 4004": codes that lock nothing.
_NOT_A_SECRET_CODE = re.compile(
    r"(?i)(?:zip|postal|post|area|country|error|status|exit|return|source|promo|discount|coupon|tracking|product|"
    r"qr|bar|dress|postleit|fehler|quell|rabatt|gutschein|código\s+postal|code\s+postal)[\s-]*$"
)


def _tokens(text: str) -> Iterable[Secret]:
    for match in _TOKEN_CANDIDATE.finditer(text):
        if _looks_like_token(match.group()):
            yield Secret("token", "token", match.group(), match.start(), match.end())


# -- terse notes and new values ----------------------------------------------------------------

# "pin card 2 = 5521", "code garage 7781", "wifi cabin: Loft-7731x": a line that is only a label and a value.
_TERSE_KINDS = (
    ("pin", r"pin"),
    ("access_code", r"code|kod|codice|combo|combination|(?:pad)?lock|alarm|keypad|lockbox"),
    ("password", r"password|passwort|pw|pwd|wi-?fi|wlan|şifre"),
)
_TERSE_LINE = re.compile(
    r"(?im)^[ \t>*•-]*(?P<label>(?:[^\W\d_][\w'’-]*[ \t]+){0,2}?(?P<kw>" + "|".join(kw for _k, kw in _TERSE_KINDS) + r")"
    r"(?:[ \t]+(?:[^\W\d_][\w'’-]*|\d{1,2})){0,3}?)(?:[ \t]*(?P<sep>[=:]|->|→)[ \t]*|[ \t]+)(?P<value>\S+?)[ \t]*[.!]?[ \t]*$"
)
# Words that make a terse line about something else: "code review 2025", "code club fri 1600", "error code 4004".
_TERSE_NOT = re.compile(
    r"(?i)\b(?:review|freeze|club|camp|school|class|course|name|base|error|status|exit|zip|post(?:al)?|area|country|"
    r"promo|discount|coupon|voucher|tracking|order|invoice|version|room|page|line|section|chapter|qr|bar|dress|"
    r"mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|today|tomorrow|tonight|at|from|until|till|by|on|in|the|up|down)\b"
)


# A piece of every keyword _terse and _changed read (lower-case ASCII, as _windows finds them): text without one
# skips both.
_CODE_ANCHORS = ("pin", "pas", "pw", "wi-fi", "wifi", "wlan", "keypad", "combi", "combo", "alarm", "lock", "cod", "kod",
                 "ifre", "wort", "contrase", "senha", "clave", "mdp", "digo")


def _terse(text: str) -> Iterable[Secret]:
    for match in _TERSE_LINE.finditer(text):
        label, value = match.group("label"), match.group("value")
        if _TERSE_NOT.search(label) or _NOT_A_SECRET_CODE.search(text, max(0, match.start("kw") - 16), match.start("kw")):
            continue
        kw = match.group("kw").lower()
        kind = next(k for k, pattern in _TERSE_KINDS if re.fullmatch(pattern, kw))
        if kind == "password":
            if not _valid_value("password", value, match.group("sep") is None):
                continue
        elif not re.fullmatch(r"\d{4,12}[#*]?", value) or (match.group("sep") is None and re.fullmatch(r"(?:19|20)\d\d", value)):
            continue  # "code garage 1999" could be a year
        words = label.split()
        while len(words) > 1 and words[0].lower() in _STOP:
            words.pop(0)  # "il codice è 4471": the label is "codice"
        while len(words) > 1 and (words[-1].lower() in _STOP or _CHANGE_WORD.fullmatch(words[-1]) or _VERB.fullmatch(words[-1])):
            words.pop()  # "garage code changed: 6614" names the garage code, so that its new value replaces the old
        yield Secret(kind, " ".join(words), value, match.start("value"), match.end("value"))


_VERB = re.compile(r"(?i)is|ist|est|es|é|è|är|er|on|to|jest|was|lautet")


# "they changed the gate code, it's 8302 now", "The alarm code changed. It's 3904 now.", "changed the combination to
# 5093": a new value for a code named in the same or the sentence before, with a word that says it is new.
_CHANGE_WORD = re.compile(
    r"(?i)\b(?:now|new|changed?|changing|updated?|reset|switched|nu|nieuwe?|gewijzigd|veranderd|teraz|nowy|zmienili|"
    r"ny|nytt|ändrat|yeni|değişti|nuovo|cambiato|neu|neue|geändert|nouveau|nouvelle|changé|nuevo|nueva|cambiado|"
    r"novo|nova|mudou|mudaram)\b"
)
_NEW_VALUE = (
    r"(?P<fill>(?:[ \t]+[^\W\d_]+){0,2}?)"
    r"(?P<conn>(?:[ \t]*[,;:.!–—-]+)?\s*(?:(?:and|but|so)\s+)?(?:now[ \t,]+)?"
    r"(?:it['’]s|it\s+is|its|that['’]s|the\s+new\s+one(?:\s+is|['’]s)|new\s+one(?:\s+is|['’]s)|"
    r"(?:has\s+been\s+|was\s+|got\s+)?(?:changed|updated|reset|set|switched)\s+to|to)(?![\w'’])(?:[ \t]+now)?[ \t]*[:=]?[ \t]*)"
)
_CHANGED = [
    (family, re.compile(r"(?<![\w-])(?P<kw>" + kw + r")(?![\w])(?P<target>" + _TARGET + r")?" + _NEW_VALUE, re.IGNORECASE))
    for family, kw in (("pin", _PIN_KW), ("access_code", _ACCESS_CODE_KW), ("access_code", _ACCESS_INTL_KW),
                       ("password", _PASSWORD_KW), ("wifi", _WIFI_KW), ("access_code", _GENERIC_CODE_KW))
]


# "Kapı kodu değişti, yeni kod 5581", "nowy kod 3307": a new code with no verb before it; it takes the name of the
# code said just before it in the same or the previous sentence, when there is one.
_NEW_BARE = re.compile(
    r"(?i)(?<![\w-])(?:new|nieuwe|nowy|nya|nye|yeni|nuovo|neuer|neue|nouveau|nuevo|novo)[ \t]+"
    r"(?P<kw>code|kod|kodu|koden|codice|código|pin|pincode)[ \t]*[:=]?[ \t]*(?P<value>\d{4,12}[#*]?)"
    r"(?=[ \t]*(?:[.,;!)]|$|now\b|nu\b))"
)
_NAMED_CODE = re.compile(
    r"(?i)(?<![\w-])(?P<kw>" + _ACCESS_CODE_KW + "|" + _ACCESS_INTL_KW + "|" + _PIN_KW + r")(?![\w])(?P<target>)"
)


def _new_bare(text: str) -> Iterable[Secret]:
    for match in _NEW_BARE.finditer(text):
        sentences = re.split(r"[.!?\n]\s", text[: match.start()])
        before = " ".join(sentences[-2:])
        offset = match.start() - len(before)
        named = [m for m in _NAMED_CODE.finditer(text, max(0, offset), match.start())]
        label = _label(text, named[-1], []) if named else match.group("kw")
        kind = "pin" if match.group("kw").lower().startswith("pin") else "access_code"
        yield Secret(kind, label, match.group("value"), match.start("value"), match.end("value"))


def _changed(text: str, windows: list[tuple[int, int]]) -> Iterable[Secret]:
    """New values for codes; ``windows`` are the ranges of ``text`` around a keyword's piece (see ``_windows``)."""
    if not _CHANGE_WORD.search(text):
        return
    yield from _new_bare(text)
    matches = [(family, match) for start, end in windows for family, pattern in _CHANGED
               for match in pattern.finditer(text, start, end)]
    for family, match in matches:
        span = _read_value(text, match.end())
        if span is None:
            continue
        value = text[span[0] : span[1]]
        if family in ("pin", "access_code"):
            if not re.fullmatch(r"\d{4,12}[#*]?", value):
                continue
        elif not (_valid_value(family, value, False) and _digit_count(value) and len(value) >= 6):
            continue
        if not re.match(r"[ \t]*(?:now\b|[.,;!)]|$)", text[span[1] :]):
            continue  # "It's 2026 and nobody told us"
        # The word that says the value is new: in the label's sentence, the words around, or just after the value.
        sentence = re.split(r"[.!?\n]\s", text[: match.start("kw")])[-1]
        around = sentence + " " + match.group("fill") + match.group("conn") + text[span[1] : span[1] + 6]
        if not _CHANGE_WORD.search(around):
            continue
        if "to" == match.group("conn").strip().lower() and not _CHANGE_WORD.search(sentence):
            continue  # "the code to the shed": "to" joins a value only after "changed", "set", "new"
        label = _label(text, match, [])
        yield Secret(_FAMILY_KIND.get(family, family), label, value, span[0], span[1])


# -- a reply that is only a value: its label is in the turn before ----------------------------

# Secrets a turn can ask for or name, beyond the labelled families: the value comes in the next turn.
_ASKED_ONLY = (
    ("phone", re.compile(r"(?i)(?<![\w-])(?P<kw>(?:(?:phone|mobile|cell|telephone)(?:\s+(?:number|no\.?))?|"
                         r"telefon-?nummer|handynummer|num[ée]ro\s+de\s+t[ée]l[ée]phone|n[úu]mero\s+de\s+(?:tel[ée]fono|"
                         r"m[óo]vil|celular|telefone|telem[óo]vel)))(?![\w])(?P<target>)")),
    ("national_id", re.compile(r"(?<![\w-])(?P<kw>(?i:identity|identification)|ID)(?![\w])(?P<target>)")),
    ("bank_account", re.compile(r"(?i)(?<![\w-])(?P<kw>(?:bank\s+)?account(?:\s+(?:number|no\.?|nr\.?))?|"
                                r"konto-?nummer|num[ée]ro\s+de\s+(?:compte|cuenta|conta))(?![\w])(?P<target>)")),
)
_ASKED = [
    (family, re.compile(r"(?<![\w-])(?P<kw>" + kw + r")(?![\w])(?P<target>" + _TARGET + r")?", re.IGNORECASE))
    for family, kw, _anchors in _FAMILIES if family not in ("opens", "lock")
] + list(_ASKED_ONLY)
# What may come before the value in a reply: "sure,", "yes: ", "it's…", "mine is", "c'est", "es ist".
_REPLY_LEAD = re.compile(
    r"(?i)(?:\s|[,:!.…–—-]|\b(?:sure|yes|yeah|yep|ok|okay|of\s+course|here(?:\s+(?:you\s+go|it\s+is))?|it['’]s|"
    r"it\s+is|that['’]s|that\s+is|mine\s+is|mine['’]s|ja|klar|oui|bien\s+s[ûu]r|s[íi]|claro|sim|c['’]est|es\s+ist|"
    r"das\s+ist|tak|jasne|to)\b)*"
)
_REPLY_ENDS = re.compile(r"\s*(?:$|[,;.!)(–—-]|\n)")
_THING_ID = re.compile(
    r"(?i)\b(?:order|meeting|booking|tracking|transaction|invoice|ticket|reference|session|user|apple|process|product|"
    r"request|case|device|app|client|chat|room|game|player|shipment|parcel|receipt)[\s-]*$"
)
_MAX_REPLY = 120  # a longer message says more than a value: its secrets need their own label


def _asked_value(kind: str, value: str) -> bool:
    if kind == "phone":
        digits = _digit_count(value)
        return 8 <= digits <= 15 and re.fullmatch(r"\+?[\d ()./-]+", value) is not None and not _looks_like_date(value)
    if kind == "bank_account":
        return re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 /-]{5,33}", value) is not None and _digit_count(value) >= 6
    if kind in _NUMBER_FAMILIES and _looks_like_date(value):
        return False
    if kind == "access_code" and _digit_count(value) < 4:
        return False
    return _valid_value(kind, value, True)


_FOR_WHAT = re.compile(r"(?i)\s*(?:for|für|zum|zur|pour|para|del|do|da)\s")
_ASKED_TAIL = re.compile(r"(?i)(?:\s+(?:again|please|then|now|exactly|today|here|there|bitte|encore|otra\s+vez))+$")


def _asked_label(previous: str, match: re.Match) -> str:
    """A label from a question: what is asked and what it is for ("code for the bike shed"), not "again" or "on the new one"."""
    label = _label(previous, match, [])
    target = match.group("target") or ""
    if target and not _FOR_WHAT.match(target):
        label = label[: len(label) - len(" ".join(target.split()))].rstrip()
    return _ASKED_TAIL.sub("", label) or label


def _reply_to(previous: str, text: str) -> Iterable[Secret]:
    """The value a reply gives when it is only that value and the turn before asked for or named a secret.

    "What's your passport number?" -- "X1234567, expires 2031": the passport
    number; "my new PIN? it's…" -- "4411": the PIN.  The label comes from the
    turn before ("passport number", "PIN"); the value must have the shape of
    that kind, and the reply must hold nothing else than the value and what
    follows a comma ("C7R2K9LX4, expires 14/08/2031").
    """
    if not previous or not text or len(text) > _MAX_REPLY:
        return
    start = _REPLY_LEAD.match(text).end()
    if text[start : start + 1] in ("\u2026", "."):
        return
    if re.match(r"\+?[\d(]", text[start:]) and re.match(r"\+?[\d ()./-]{8,}", text[start:]):
        run = re.match(r"\+?[\d ()./-]*\d", text[start:])
        phone_span = (start, start + run.end())
    else:
        phone_span = None
    span = _read_value(text, start)
    if span is None:
        return
    named = [(match.start(), family, match) for family, pattern in _ASKED for match in pattern.finditer(previous)]
    named += [(match.start(), scheme, match) for scheme in national_ids.SCHEMES if scheme.names is not None
              for match in scheme.names.finditer(previous)]
    # "the wifi password": the name that goes on ("password") is the one asked for; "wifi" describes it.
    named = [item for item in named
             if not any(other[0] > item[0] and other[0] <= item[2].end() + 1 for other in named)]
    for _at, kind, match in sorted(named, key=lambda item: item[0]):
        here = phone_span if kind == "phone" and phone_span else span
        if kind in _GROUPED_DIGITS and text[here[0] : here[1]].isdigit():
            here = _digit_groups(text, here)
        value = text[here[0] : here[1]]
        if not _REPLY_ENDS.match(text, here[1]):
            continue
        if kind == "national_id" and _THING_ID.search(previous, 0, match.start()):
            continue  # "What's the meeting ID?": the ID of a thing, not of the user
        if isinstance(kind, national_ids.Scheme):
            if kind.valid(value):
                yield Secret("national_id", " ".join(match.group("kw" if "kw" in match.re.groupindex else 0).split()),
                             value, here[0], here[1])
                return
            continue
        if _asked_value(kind, value):
            label = _asked_label(previous, match)
            yield Secret(_FAMILY_KIND.get(kind, kind), label, value, here[0], here[1])
            return


def find_secrets(text: str, previous: str | None = None) -> list[Secret]:
    """Every secret in ``text``, ordered by position, without overlaps.

    Shapes that prove themselves (a key prefix, a checksum) come first, then
    values after a label, then a reply that is only a value, labelled by the
    turn before it (``previous``: the message just before ``text`` in its
    conversation), then anonymous high-entropy tokens.
    """
    if not text:
        return []
    kept: list[Secret] = []
    taken: list[tuple[int, int]] = []

    def keep(found: list[Secret]) -> None:
        if not found:
            return
        for secret in sorted(found, key=lambda s: (s.start, -(s.end - s.start))):
            if secret.end <= secret.start or any(secret.start < e and s < secret.end for s, e in taken):
                continue
            kept.append(secret)
            taken.append((secret.start, secret.end))

    keep(list(_structural(text)))
    strict, loose = _labelled(text, taken)
    keep(strict)
    if len(text.translate(_DROP_DIGITS)) < len(text):
        lowered = " " + text.translate(_ASCII_LOWER)
        if any(anchor in lowered for anchor in _CODE_ANCHORS):
            keep(list(_terse(text)))
            keep(list(_changed(text, _windows(lowered, _CODE_ANCHORS))))
    keep(loose)  # after every strict form has taken its values
    if previous:
        keep(list(_reply_to(previous, text)))
    keep(list(_contact_details(text)))
    keep(list(_tokens(text)))
    if kept:
        keep(list(_repeats(text, list(kept))))
    kept.sort(key=lambda s: s.start)
    return kept


def _repeats(text: str, found: list[Secret]) -> Iterable[Secret]:
    """Every other place a found value appears: "my password is X ... I typed X" must not leave the second X.

    Long values are masked wherever they appear, short ones (a PIN) only where
    they stand alone, so "1234" in "12345" stays.
    """
    values = {s.value: s for s in found}
    for value, secret in values.items():
        if len(value) < 4:
            continue
        pattern = re.escape(value) if len(value) >= 8 else r"(?<![0-9A-Za-z])" + re.escape(value) + r"(?![0-9A-Za-z])"
        for match in re.finditer(pattern, text):
            yield Secret(secret.kind, secret.label, value, match.start(), match.end(), secret.whole)


def _contact_details(text: str) -> Iterable[Secret]:
    """Phone numbers and postal addresses: values for the vault, so masked like every other one.

    ``core.absorb.lookups`` reads them (it knows dates, which are never phone
    numbers).  An address is masked up to its postcode and its town is left
    readable ("I live at ••••••••03 Lyon" still says where); the vault keeps
    the whole address.
    """
    if sum(c.isdigit() for c in text) == 0:
        return
    from core.absorb import lookups  # here, not at the top: lookups uses this module's detector

    for phone in lookups.find_phones(text):
        yield Secret("phone", lookups.caption("phone", phone.label), phone.value, phone.start, phone.end)
    for address in lookups.find_addresses(text):
        label = lookups.caption("address", lookups.label_before(text, address.start))
        for start, end in lookups.private_spans(address):  # the town stays readable; the vault keeps it all
            whole = address.value if end - start < len(address.value) else ""
            yield Secret("address", label, text[start:end], start, end, whole)


def mask_text(text: str, previous: str | None = None) -> Masked:
    """``text`` with every secret replaced by its mask, and the secrets found (spans in the original text).

    ``previous`` is the turn before ``text`` in its conversation, when there is
    one: a reply that is only a value takes its label from it (``find_secrets``).
    """
    secrets = find_secrets(text, previous)
    if not secrets:
        return Masked(text, [])
    masked, kept = _apply(text, secrets), list(secrets)
    # A mask can make a new word boundary ("sk-0000…PW 0000": after the key's mask, "PW 0000" reads as a
    # labelled value), so read the masked text again until it holds nothing more: masking twice changes nothing.
    for _ in range(MAX_MASK_PASSES):
        more = [s for s in find_secrets(masked, previous) if MASK_CHAR not in s.value]
        if not more:
            break
        offsets = _clear_offsets(text, kept)
        kept += [dataclasses.replace(s, start=s.start + shift, end=s.end + shift)
                 for s in more if (shift := offsets(s.start, s.end)) is not None]
        masked = _apply(masked, more)
    return Masked(masked, sorted(kept, key=lambda s: s.start))


MAX_MASK_PASSES = 3


def _apply(text: str, secrets: list[Secret]) -> str:
    pieces, cursor = [], 0
    for secret in sorted(secrets, key=lambda s: s.start):
        if secret.start < cursor:
            continue  # overlaps one already masked
        pieces.append(text[cursor : secret.start])
        pieces.append(mask(secret.value))
        cursor = secret.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _clear_offsets(original: str, secrets: list[Secret]):
    """For a span of the masked text, the shift back to ``original`` when the span lies in text left clear."""
    segments, masked_at, cursor = [], 0, 0  # (start in masked text, end in masked text, shift to original)
    for secret in sorted(secrets, key=lambda s: s.start):
        if secret.start < cursor:
            continue
        length = secret.start - cursor
        segments.append((masked_at, masked_at + length, cursor - masked_at))
        masked_at += length + len(mask(secret.value))
        cursor = secret.end
    segments.append((masked_at, masked_at + len(original) - cursor, cursor - masked_at))

    def shift(start: int, end: int) -> int | None:
        return next((d for a, b, d in segments if a <= start and end <= b), None)

    return shift


@lru_cache(maxsize=512)
def _mask_repeated(value: str) -> Masked:
    return mask_text(value)


def carried_secrets(meta: dict | None) -> list[dict[str, str]]:
    """The clear values an observation's meta carries for the vault (well-formed items only)."""
    items = (meta or {}).get(SECRETS_KEY)
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, dict) and all(isinstance(i.get(k), str) and i.get(k) for k in ("kind", "label", "value"))]


def shield_observation(item: dict[str, Any], *, keep_values: bool, previous: str | None = None) -> dict[str, Any]:
    """An observation to store, with secrets masked in its text, window title, URL, conversation and meta title.

    ``previous`` is the turn before a chat message in its conversation (see
    ``find_secrets``).  With ``keep_values`` (the user's own words, or the screen with
    ``privacy.vault_from_screen`` on) the clear values go into
    ``meta[SECRETS_KEY]`` for the absorber to put into the vault; otherwise
    they are dropped.  Values already carried in meta are kept either way.
    """
    out = dict(item)
    out[SHIELDED] = True
    meta = dict(out.get("meta") or {})
    found: list[dict[str, str]] = []
    kinds: set[str] = set()
    for holder, key in ((out, "text"), (out, "window_title"), (out, "url"), (out, "conversation"), (meta, "title")):
        value = holder.get(key)
        if not isinstance(value, str) or not value:
            continue
        # Titles, URLs and conversation names repeat from one observation to the next.
        masked = mask_text(value, previous) if key == "text" else _mask_repeated(value)
        if masked.found:
            holder[key] = masked.text
            kinds.update(s.kind for s in masked.secrets)
            found += [c for c in masked.carried() if c not in found]
    if not found:
        return out
    if keep_values:
        carried = carried_secrets(meta)
        meta[SECRETS_KEY] = carried + [c for c in found if c not in carried]
    meta["sensitive"] = sorted(set(meta.get("sensitive") or []) | kinds)
    out["meta"] = meta
    return out


def redact_meta(meta: dict | None) -> dict:
    """``meta`` as it may be shown: carried secret values masked."""
    if not meta or SECRETS_KEY not in meta:
        return dict(meta or {})
    out = dict(meta)
    out[SECRETS_KEY] = [dict(item, value=mask(item.get("value"))) for item in carried_secrets(meta)]
    return out
