"""Find and mask sensitive text: card numbers, keys and tokens, passwords.

``mask_sensitive(text)`` returns the text with every finding replaced by a mask
of the same shape (a few characters kept so the user can still recognise what
was there) and the list of findings, each with its kind, the original value and
its span in the *original* text.  Screen capture masks every OCR'd frame before
it is stored; the absorb side uses the same function on imported text.

The findings carry the secret in clear: callers must hand them only to the
knowledge vault (and only when the user enabled it), never log or emit them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

MASK_CHAR = "•"


@dataclass(frozen=True)
class Finding:
    """One sensitive item: ``kind`` is card, aws_key, jwt, api_key, token, private_key or password."""

    kind: str
    value: str
    start: int
    end: int

    def __repr__(self) -> str:  # never print the secret itself by accident
        return f"Finding(kind={self.kind!r}, start={self.start}, end={self.end})"


@dataclass(frozen=True)
class MaskResult:
    text: str
    findings: list[Finding]

    @property
    def found(self) -> bool:
        return bool(self.findings)


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum used by payment cards."""
    if not digits.isdigit() or not digits:
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


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text`` taken as a sample of its own alphabet."""
    if not text:
        return 0.0
    counts = Counter(text)
    length = len(text)
    return -sum(n / length * math.log2(n / length) for n in counts.values())


# 13 to 19 digits, optionally grouped by single spaces or dashes (as printed on
# cards and in forms).  OCR sometimes reads a group gap as two spaces; allow it.
_CARD = re.compile(r"(?<![\w-])(?:\d[ -]{0,2}){12,18}\d(?![\w-])")
_AWS_KEY = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
_PREFIXED_KEY = re.compile(
    r"(?<![\w-])(?:sk|pk|rk)[-_](?:live[-_]|test[-_]|proj[-_]|ant[-_])?[A-Za-z0-9_-]{16,}"
    r"|(?<![\w-])(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{20,}"
    r"|(?<![\w-])xox[abprs]-[A-Za-z0-9-]{10,}"
    r"|(?<![\w-])AIza[0-9A-Za-z_-]{35}"
    r"|(?<![\w-])glpat-[A-Za-z0-9_-]{20,}"
)
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
# A long run of token characters: checked for entropy and character mix below.
_TOKEN_CANDIDATE = re.compile(r"(?<![\w/+=-])[A-Za-z0-9_+/=-]{24,}(?![\w/+=-])")
# "password: hunter2", "PIN 1234", "Passcode = ..." -- the value is the next word.  OCR damages
# labels ("passwo", "passw0rd", "pa55word", "pasword"), so the password label is matched loosely:
# masking a harmless word after "pass...:" costs far less than storing a real password.
_PASSWORD_LABEL = r"(?:p[a@4][s5$]{1,2}\s?w[o0]?r?[dt]?|passwd|pwd|passphrase|passcode|kennwort|mot\s+de\s+passe|contrase[ñn]a)"
_LABELLED = re.compile(
    r"(?i)\b(?:" + _PASSWORD_LABEL + r"|pin(?:\s?code)?|secret|api[\s_-]?key|token)"
    r"\s*(?:is\s+)?[:=]\s*(?P<value>[^\s,;]{2,})"
    r"|\b(?:" + _PASSWORD_LABEL + r"|pin)\s+(?P<bare>(?=[^\s,;]*\d)[^\s,;]{3,})"
)


def _looks_like_token(candidate: str) -> bool:
    """A long string that mixes letters and digits with high entropy, not a word or a path."""
    if len(candidate) < 24:
        return False
    has_digit = any(c.isdigit() for c in candidate)
    has_lower = any(c.islower() for c in candidate)
    has_upper = any(c.isupper() for c in candidate)
    if not has_digit or (not has_lower and not has_upper):
        return False
    if candidate.isdigit():
        return False
    is_hex = re.fullmatch(r"[0-9a-fA-F]+", candidate) is not None
    if is_hex and len(candidate) == 40:
        return False  # a git commit id: everywhere on a developer's screen, and not a secret
    # Hex (16 symbols) tops out at 4 bits per char; mixed-case base64 reaches 5 or more.
    threshold = 3.5 if is_hex else 4.0
    return shannon_entropy(candidate) >= threshold


def find_sensitive(text: str) -> list[Finding]:
    """Every sensitive item in ``text``, ordered by position, without overlaps."""
    found: list[Finding] = []
    for match in _CARD.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_valid(digits) and len(set(digits)) > 1:
            found.append(Finding("card", match.group(), match.start(), match.end()))
    for pattern, kind in ((_AWS_KEY, "aws_key"), (_JWT, "jwt"), (_PREFIXED_KEY, "api_key"), (_PRIVATE_KEY, "private_key")):
        for match in pattern.finditer(text):
            found.append(Finding(kind, match.group(), match.start(), match.end()))
    for match in _LABELLED.finditer(text):
        group = "value" if match.group("value") is not None else "bare"
        found.append(Finding("password", match.group(group), match.start(group), match.end(group)))
    for match in _TOKEN_CANDIDATE.finditer(text):
        if _looks_like_token(match.group()):
            found.append(Finding("token", match.group(), match.start(), match.end()))
    # Keep the earliest, then longest, finding where several overlap.
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Finding] = []
    for finding in found:
        if kept and finding.start < kept[-1].end:
            continue
        kept.append(finding)
    return kept


def _mask_value(value: str, kind: str) -> str:
    if kind == "card":
        # Keep the last four digits, as receipts do.
        digits_seen = 0
        total_digits = sum(c.isdigit() for c in value)
        out = []
        for char in value:
            if char.isdigit():
                digits_seen += 1
                out.append(char if digits_seen > total_digits - 4 else MASK_CHAR)
            else:
                out.append(char)
        return "".join(out)
    if kind in {"aws_key", "api_key"} and len(value) > 8:
        return value[:4] + MASK_CHAR * (len(value) - 4)
    return MASK_CHAR * len(value)


def mask_sensitive(text: str) -> MaskResult:
    """``text`` with every sensitive item masked, and the items found."""
    findings = find_sensitive(text)
    if not findings:
        return MaskResult(text, [])
    pieces = []
    cursor = 0
    for finding in findings:
        pieces.append(text[cursor : finding.start])
        pieces.append(_mask_value(finding.value, finding.kind))
        cursor = finding.end
    pieces.append(text[cursor:])
    return MaskResult("".join(pieces), findings)
