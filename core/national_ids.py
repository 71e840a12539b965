"""National identity numbers by country: their names, their shapes and their check digits.

``core.secrets`` uses this table to find a national ID number next to its name
("mój PESEL to ...", "mijn BSN is ...", "TC kimlik numaram ...") and, for the
few formats that prove themselves by shape and check character alone (codice
fiscale, DNI and NIE, the Swiss AHV number, the Finnish henkilötunnus), without
one.  Every format that has a checksum is checked, so a random number next to
the word "PESEL" is not taken for one; the Danish CPR number has none since
2007, so only its date is checked.

Each ``Scheme`` says what it is called (``names``, a regular expression), what
a candidate looks like (``shape``), how it is checked (``valid``) and whether
its shape alone is enough (``alone``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Callable


def digits_of(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return bool(digits) and total % 10 == 0


def pesel_valid(value: str) -> bool:
    """Poland: 11 digits, a birth date (the century in the month) and a weighted check digit."""
    d = digits_of(value)
    if len(d) != 11 or len(set(d)) == 1:
        return False
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    if (10 - sum(int(a) * w for a, w in zip(d, weights)) % 10) % 10 != int(d[10]):
        return False
    month, century = int(d[2:4]) % 20, {0: 1900, 1: 2000, 2: 2100, 3: 2200, 4: 1800}[int(d[2:4]) // 20]
    return _is_date(century + int(d[:2]), month, int(d[4:6]))


def bsn_valid(value: str) -> bool:
    """The Netherlands: 9 digits (8 with the leading zero left off) passing the 11-test."""
    d = digits_of(value).rjust(9, "0")
    if len(d) != 9 or int(d) == 0:
        return False
    total = sum(int(a) * w for a, w in zip(d[:8], range(9, 1, -1))) - int(d[8])
    return total % 11 == 0


def personnummer_valid(value: str) -> bool:
    """Sweden: YYMMDD-NNNC (or with the century), a date (+60 on the day for a coordination number) and Luhn."""
    d = digits_of(value)
    if len(d) == 12:
        d = d[2:]
    if len(d) != 10 or not luhn_ok(d):
        return False
    day = int(d[4:6])
    return _is_date(2000, int(d[2:4]), day - 60 if day > 60 else day)


def fodselsnummer_valid(value: str) -> bool:
    """Norway: DDMMYY and five digits, the last two check digits (modulus 11)."""
    d = [int(c) for c in digits_of(value)]
    if len(d) != 11:
        return False
    for weights, at in (((3, 7, 6, 1, 8, 9, 4, 5, 2), 9), ((5, 4, 3, 2, 7, 6, 5, 4, 3, 2), 10)):
        check = 11 - sum(a * w for a, w in zip(d, weights)) % 11
        if check == 10 or (check % 11) != d[at]:
            return False
    day = d[0] * 10 + d[1]
    return _is_date(2000, d[2] * 10 + d[3], day - 40 if day > 40 else day)  # D-numbers add 40 to the day


_HETU = re.compile(r"(\d{6})([-+A-FU-Y])(\d{3})([0-9A-Y])")
_HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"


def hetu_valid(value: str) -> bool:
    """Finland: DDMMYY, a century sign, three digits and a check character (the nine digits modulo 31)."""
    match = _HETU.fullmatch(value.upper())
    if not match:
        return False
    born, _sign, serial, check = match.groups()
    if not _is_date(2000, int(born[2:4]), int(born[:2])) or _HETU_CHECK[int(born + serial) % 31] != check:
        return False
    return True


def cpr_valid(value: str) -> bool:
    """Denmark: DDMMYY-NNNN; the modulus-11 check was dropped in 2007, so only the date is checked."""
    d = digits_of(value)
    return len(d) == 10 and _is_date(2000, int(d[2:4]), int(d[:2]))


def tc_kimlik_valid(value: str) -> bool:
    """Turkey: 11 digits, not starting with 0, the last two check digits."""
    d = [int(c) for c in digits_of(value)]
    if len(d) != 11 or d[0] == 0:
        return False
    tenth = ((d[0] + d[2] + d[4] + d[6] + d[8]) * 7 - (d[1] + d[3] + d[5] + d[7])) % 10
    return d[9] == tenth and d[10] == sum(d[:10]) % 10


# Codice fiscale: the value of each character in an odd (1st, 3rd...) place; digits count as A-J there.
_CF_ODD = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23]
_CF_SHAPE = re.compile(r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[ABCDEHLMPRST][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]")


def codice_fiscale_valid(value: str) -> bool:
    """Italy: 16 characters (name, birth date and place, with digits replaced by letters when taken) and a check letter."""
    code = value.upper()
    if not _CF_SHAPE.fullmatch(code):
        return False
    total = 0
    for position, char in enumerate(code[:15]):
        index = int(char) if char.isdigit() else ord(char) - ord("A")
        total += _CF_ODD[index] if position % 2 == 0 else index
    return chr(ord("A") + total % 26) == code[15]


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_valid(value: str) -> bool:
    """Spain: a DNI (8 digits) or NIE (X, Y or Z and 7 digits) and its check letter."""
    code = re.sub(r"[\s.-]", "", value.upper())
    match = re.fullmatch(r"([XYZ]\d{7}|\d{8})([A-Z])", code)
    if not match:
        return False
    number = match.group(1)
    number = str("XYZ".index(number[0])) + number[1:] if number[0] in "XYZ" else number
    return _DNI_LETTERS[int(number) % 23] == match.group(2)


def nir_valid(value: str) -> bool:
    """France: the 13-character social security number (Corsica's 2A and 2B included) and its key (97 minus it modulo 97)."""
    code = re.sub(r"\s", "", value.upper())
    if not re.fullmatch(r"[1-478]\d{4}(?:\d{2}|2A|2B)\d{6}\d{2}", code):
        return False
    body = code[:13].replace("2A", "19").replace("2B", "18") if code[5:7] in ("2A", "2B") else code[:13]
    month = int(code[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        return False
    return 97 - int(body) % 97 == int(code[13:])


def ahv_valid(value: str) -> bool:
    """Switzerland: 756 and ten digits, the last an EAN-13 check digit."""
    d = digits_of(value)
    if len(d) != 13 or not d.startswith("756"):
        return False
    total = sum(int(a) * (3 if i % 2 else 1) for i, a in enumerate(d[:12]))
    return (10 - total % 10) % 10 == int(d[12])


def ssn_valid(value: str) -> bool:
    """The United States: AAA-GG-SSSS, none of the parts all zeros, no area 666 or 900-999."""
    d = digits_of(value)
    if len(d) != 9:
        return False
    area, group, serial = int(d[:3]), int(d[3:5]), int(d[5:])
    return area not in (0, 666) and area < 900 and group != 0 and serial != 0


def _verhoeff_tables() -> tuple[list[list[int]], list[list[int]]]:
    """The dihedral group D5's multiplication table and the position permutations of the Verhoeff check."""
    def times(j: int, k: int) -> int:
        if j < 5:
            return (j + k) % 5 if k < 5 else 5 + (j + k) % 5
        return 5 + (j - k) % 5 if k < 5 else (j - k) % 5
    multiply = [[times(j, k) for k in range(10)] for j in range(10)]
    step = [1, 5, 7, 6, 2, 8, 3, 0, 9, 4]
    permutations = [list(range(10))]
    for _ in range(7):
        permutations.append([step[x] for x in permutations[-1]])
    return multiply, permutations


_VERHOEFF_D, _VERHOEFF_P = _verhoeff_tables()


def verhoeff_ok(digits: str) -> bool:
    check = 0
    for position, char in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][int(char)]]
    return bool(digits) and check == 0


def aadhaar_valid(value: str) -> bool:
    """India: 12 digits, not starting with 0 or 1, the last a Verhoeff check digit."""
    d = digits_of(value)
    return len(d) == 12 and d[0] not in "01" and len(set(d)) > 1 and verhoeff_ok(d)


def sin_valid(value: str) -> bool:
    """Canada: 9 digits passing Luhn; 0 and 8 are not given as first digits."""
    d = digits_of(value)
    return len(d) == 9 and d[0] not in "08" and luhn_ok(d)


@dataclass(frozen=True)
class Scheme:
    label: str  # the name a vault entry gets when the text names it no better
    names: re.Pattern | None  # what people call it; None: found by shape alone only
    shape: re.Pattern  # a candidate value; it must not touch a letter or digit on either side
    valid: Callable[[str], bool]
    alone: bool = False  # shape and check character are enough, without a name nearby


def _shape(body: str) -> re.Pattern:
    return re.compile(r"(?<![\w./-])(?:" + body + r")(?![\w/-]|[.-]\w)")


def _names(body: str, *, exact_case: str = "") -> re.Pattern:
    """A name, matched without regard to case, or (``exact_case``) abbreviations only in capitals ("SIN", not "sin")."""
    pattern = r"(?i:" + body + r")" + (r"|" + exact_case if exact_case else "")
    return re.compile(r"(?<![\w-])(?:" + pattern + r")(?![\w])")


_ELEVEN = r"\d{11}"
_DATE_SIX_FOUR = r"\d{6}[-+ ]?\d{4}|\d{8}[-+ ]?\d{4}"
SCHEMES: tuple[Scheme, ...] = (
    Scheme("PESEL", _names(r"pesel(?:u|em)?|numer\s+pesel"), _shape(_ELEVEN), pesel_valid),
    Scheme("BSN", _names(r"burgerservicenummer|bsn(?:-nummer)?|sofi-?nummer"), _shape(r"\d{9}|\d{4}\.\d{2}\.\d{3}|\d{3}[ .]\d{3}[ .]\d{3}"),
           bsn_valid),
    Scheme("personnummer", _names(r"person(?:nummer|numret|nr\.?)|samordningsnummer"), _shape(_DATE_SIX_FOUR),
           personnummer_valid),
    Scheme("fødselsnummer", _names(r"f[øo]dselsnummer(?:et)?|personnummer(?:et)?|f-?nr\.?"), _shape(r"\d{6}[ ]?\d{5}"),
           fodselsnummer_valid),
    Scheme("CPR number", _names(r"cpr(?:-?(?:nummer|nummeret|nr\.?|number))?|personnummer(?:et)?"),
           _shape(r"\d{6}-?\d{4}"), cpr_valid),
    Scheme("henkilötunnus", _names(r"henkil[öo]tunnu\w*|hetu|sotu|personbeteckning"), _shape(r"\d{6}[-+A-FU-Ya-fu-y]\d{3}[0-9A-Ya-y]"),
           hetu_valid, alone=True),
    Scheme("TC kimlik no", _names(r"(?:t\.?\s?c\.?\s+)?kimlik(?:\s+(?:no|numaras[ıi]|numaram|kart[ıi]))?|tckn"),
           _shape(_ELEVEN), tc_kimlik_valid),
    Scheme("codice fiscale", _names(r"codice\s+fiscale|cod\.?\s*fisc\.?"), _shape(r"[A-Za-z]{6}[0-9LMNPQRSTUV]{2}[A-Za-z][0-9LMNPQRSTUV]{2}[A-Za-z][0-9LMNPQRSTUV]{3}[A-Za-z]"),
           codice_fiscale_valid, alone=True),
    Scheme("DNI", _names(r"documento\s+nacional\s+de\s+identidad", exact_case=r"DNI|NIE|NIF"),
           _shape(r"\d{8}-?[A-Za-z]|[XYZxyz]-?\d{7}-?[A-Za-z]"), dni_valid, alone=True),
    Scheme("NIR", _names(r"num[ée]ro\s+de\s+s[ée]cu(?:rit[ée]\s+sociale)?|s[ée]cu|carte\s+vitale", exact_case=r"NIR|INSEE"),
           _shape(r"[1-478]\s?\d{2}\s?\d{2}\s?(?:\d{2}|2[ABab])\s?\d{3}\s?\d{3}\s?\d{2}"), nir_valid),
    Scheme("AHV number", _names(r"ahv(?:-?(?:nummer|nr\.?|number))?|avs|num[ée]ro\s+avs|sozialversicherungsnummer"),
           _shape(r"756\.\d{4}\.\d{4}\.\d{2}|756\d{10}"), ahv_valid, alone=False),
    Scheme("SSN", _names(r"social\s+security(?:\s+(?:number|no\.?|#))?", exact_case=r"SSN"),
           _shape(r"\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}|\d{9}"), ssn_valid),
    Scheme("Aadhaar number", _names(r"aadhaa?r(?:\s+(?:number|no\.?|card(?:\s+number)?))?", exact_case=r"UIDAI|UID"),
           _shape(r"\d{4}[ -]?\d{4}[ -]?\d{4}"), aadhaar_valid),
    Scheme("SIN", _names(r"social\s+insurance\s+number|num[ée]ro\s+d['’]assurance\s+sociale", exact_case=r"SIN|NAS"),
           _shape(r"\d{3}[ -]?\d{3}[ -]?\d{3}"), sin_valid),
)
# The Swiss number in its dotted form is as good as a name: 756.xxxx.xxxx.xx is nothing else.
AHV_DOTTED = Scheme("AHV number", None, _shape(r"756\.\d{4}\.\d{4}\.\d{2}"), ahv_valid, alone=True)
