"""The recovery code, and the file beside the database that it unlocks.

A recovery code is 8 groups of 4 characters from Crockford's base32 alphabet
(no I, L, O or U, so nothing reads as something else).  In each group three
characters are random and the fourth is a check character: a typo is caught,
and its group named, before the slow key derivation runs.  8 x 3 random
characters carry 120 bits.

What the code unlocks lives in ``engram.recovery`` beside the database (0600,
JSON).  The code goes through Argon2id (its parameters and salt are stored in
the file, so they can be raised later) to a key-encryption key, which wraps
with AES-GCM:

* the database key, so ``engram recover`` can put it back into a keyring that
  lost it, and
* a random backup key, which encrypts every backup.  Each backup carries this
  wrapped backup key in its manifest, so a backup opens on any computer with
  the code alone, and Argon2id runs once per restore, not once per backup.

The backup key is wrapped a third time under a key derived from the database
key, so this computer makes backups without asking for the code.  Every
wrapped value is authenticated with associated data naming the format
version, the purpose and the code id, so a value cannot be moved to another
slot or file unnoticed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from dataclasses import dataclass
from typing import Any

from core.errors import EngramError, InvalidInputError, KeyStorageError
from core.paths import Paths, write_private

log = logging.getLogger(__name__)

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32
GROUPS = 8
GROUP_SIZE = 4  # three random characters and a check character
CODE_LENGTH = GROUPS * GROUP_SIZE
FILE_FORMAT = "engram-recovery"
FILE_VERSION = 1
# Read in place of a look-alike: what people type for 0 and 1.
LOOKALIKES = {"O": "0", "I": "1", "L": "1"}
# Position weights of the check equation in GF(32): distinct and non-zero, so any single
# wrong character and any swap of two neighbours changes the check.
_WEIGHTS = (8, 4, 2, 1)


class RecoveryError(EngramError):
    """A recovery code or the recovery file is wrong, damaged or missing."""


class WrongRecoveryCodeError(RecoveryError):
    """The code is well formed but does not unlock the key."""


# -- the code -------------------------------------------------------------------------


def _gf32_mul(a: int, b: int) -> int:
    """Multiply in GF(2^5) modulo x^5 + x^2 + 1."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a & 0x20:
            a ^= 0x25
    return product


def _check_value(group_index: int, values: list[int]) -> int:
    """The check character's value for the three data values of group ``group_index``.

    The group's position enters the sum too, so two groups typed in each
    other's place do not pass.
    """
    total = group_index + 1
    for weight, value in zip(_WEIGHTS, values):
        total ^= _gf32_mul(weight, value)
    return total


@dataclass(frozen=True)
class RecoveryCode:
    """A well-formed recovery code (its check characters are right)."""

    chars: str  # 32 canonical characters, no separators

    @classmethod
    def generate(cls) -> "RecoveryCode":
        chars = []
        for group in range(GROUPS):
            values = [secrets.randbelow(32) for _ in range(GROUP_SIZE - 1)]
            values.append(_check_value(group, values))
            chars.extend(ALPHABET[v] for v in values)
        return cls("".join(chars))

    @classmethod
    def parse(cls, text: str) -> "RecoveryCode":
        """Read a code as a person typed it: any case, spaces or dashes, O for 0, I or L for 1.

        Raises ``InvalidInputError`` naming what is wrong (a character that is
        never used, the length, or the groups whose check fails).
        """
        if not isinstance(text, str):
            raise InvalidInputError("A recovery code must be text.", fix="Type the 8 groups of 4 characters.")
        cleaned = []
        for char in text.upper():
            if char in " \t\r\n-_.":
                continue
            char = LOOKALIKES.get(char, char)
            if char not in ALPHABET:
                shown = "U" if char == "U" else repr(char)
                raise InvalidInputError(
                    f"A recovery code never contains {shown}.",
                    fix="Check that character on your written copy; codes use 0-9 and letters without I, L, O and U.",
                )
            cleaned.append(char)
        if len(cleaned) != CODE_LENGTH:
            raise InvalidInputError(
                f"A recovery code has {CODE_LENGTH} characters (8 groups of 4); this one has {len(cleaned)}.",
                fix="Type all 8 groups from your written copy.",
            )
        bad = []
        for group in range(GROUPS):
            values = [ALPHABET.index(c) for c in cleaned[group * GROUP_SIZE : (group + 1) * GROUP_SIZE]]
            if _check_value(group, values[:-1]) != values[-1]:
                bad.append(group + 1)
        if bad:
            which = ", ".join(str(g) for g in bad)
            raise InvalidInputError(
                f"The recovery code has a typo in group{'s' if len(bad) > 1 else ''} {which} "
                "(counting from 1): the check character does not match.",
                fix="Compare those groups with your written copy and type them again.",
            )
        return cls("".join(cleaned))

    @staticmethod
    def normalise_group(text: str) -> str:
        """One group as typed, read the way ``parse`` reads it (for checking a group typed back)."""
        return "".join(LOOKALIKES.get(c, c) for c in text.upper() if c not in " \t-_.")

    @property
    def groups(self) -> list[str]:
        return [self.chars[i : i + GROUP_SIZE] for i in range(0, CODE_LENGTH, GROUP_SIZE)]

    def formatted(self) -> str:
        return "-".join(self.groups)

    def __repr__(self) -> str:  # never print a code into a log by accident
        return "RecoveryCode(…)"

    __str__ = __repr__


def read_code_file(path) -> RecoveryCode:
    """The recovery code in a file written by ``engram recovery create --out`` (or by hand)."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as exc:
        raise InvalidInputError(
            f"Engram cannot read the recovery code file {path}: {exc.strerror or exc}.",
            fix="Check the path; the file holds the code on one line.",
        ) from exc
    return RecoveryCode.parse(text.strip())


# -- key derivation and wrapping ------------------------------------------------------

# Measured on the 2-core development machine: about 0.7 s (see the README).
DEFAULT_MEMORY_KIB = 128 * 1024
DEFAULT_ITERATIONS = 2
DEFAULT_LANES = 4
# A file asking for more than this is damaged or hostile: refuse instead of exhausting memory.
MAX_MEMORY_KIB = 4 * 1024 * 1024
MAX_ITERATIONS = 64
MAX_LANES = 64


@dataclass(frozen=True)
class KdfParams:
    """Argon2id's settings for one code; stored with everything it wraps."""

    salt: bytes
    memory_kib: int = DEFAULT_MEMORY_KIB
    iterations: int = DEFAULT_ITERATIONS
    lanes: int = DEFAULT_LANES

    @classmethod
    def new(cls, **overrides: int) -> "KdfParams":
        settings = {"memory_kib": DEFAULT_MEMORY_KIB, "iterations": DEFAULT_ITERATIONS, "lanes": DEFAULT_LANES}
        settings.update(overrides)
        return cls(salt=os.urandom(16), **settings)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": "argon2id",
            "salt": _b64(self.salt),
            "memory_kib": self.memory_kib,
            "iterations": self.iterations,
            "lanes": self.lanes,
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> "KdfParams":
        try:
            if data["name"] != "argon2id":
                raise ValueError(f"unknown key derivation {data['name']!r}")
            params = cls(
                salt=_unb64(data["salt"]),
                memory_kib=int(data["memory_kib"]),
                iterations=int(data["iterations"]),
                lanes=int(data["lanes"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise _damaged(where, f"its key derivation settings are unreadable ({exc})") from None
        if not (
            len(params.salt) >= 16
            and 8 * params.lanes <= params.memory_kib <= MAX_MEMORY_KIB
            and 1 <= params.iterations <= MAX_ITERATIONS
            and 1 <= params.lanes <= MAX_LANES
        ):
            raise _damaged(where, "its key derivation settings are out of range")
        return params


def derive_kek(code: RecoveryCode, params: KdfParams) -> bytes:
    """The key-encryption key of ``code`` (the slow step: about 0.7 s with the defaults)."""
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    kdf = Argon2id(
        salt=params.salt,
        length=32,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    return kdf.derive(code.chars.encode("ascii"))


def _associated_data(purpose: str, context: dict[str, Any]) -> bytes:
    return json.dumps(
        {"format": FILE_FORMAT, "version": FILE_VERSION, "purpose": purpose, **context},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def seal(key: bytes, secret: bytes, purpose: str, context: dict[str, Any]) -> dict[str, str]:
    """``secret`` encrypted and authenticated under ``key`` (AES-256-GCM) for ``purpose``."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, secret, _associated_data(purpose, context))
    return {"nonce": _b64(nonce), "ciphertext": _b64(sealed)}


def unseal(key: bytes, box: Any, purpose: str, context: dict[str, Any]) -> bytes | None:
    """The secret in ``box``, or None when the key is wrong or anything in the box or context changed."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        nonce, sealed = _unb64(box["nonce"]), _unb64(box["ciphertext"])
        return AESGCM(key).decrypt(nonce, sealed, _associated_data(purpose, context))
    except (InvalidTag, KeyError, TypeError, ValueError):
        return None


def local_wrapping_key(database_key_hex: str) -> bytes:
    """A key for wrapping the backup key on this computer, derived from the database key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"engram backup key on this computer v1").derive(
        bytes.fromhex(database_key_hex)
    )


def key_id(key_hex: str) -> str:
    """A short public name for a key: the same key gives the same id; the id reveals nothing of the key."""
    return hmac.new(bytes.fromhex(key_hex), b"engram key id v1", hashlib.sha256).hexdigest()[:16]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)


def _damaged(where: str, why: str) -> RecoveryError:
    return RecoveryError(
        f"{where} is damaged: {why}.",
        fix="Restore it from a copy, or make a new recovery code with 'engram recovery create' "
        "(backups made with the old code still need the old code).",
    )


# -- the recovery file ----------------------------------------------------------------


@dataclass(frozen=True)
class Unlocked:
    """What a recovery code unlocks."""

    database_key_hex: str
    backup_key_hex: str
    kek: bytes


@dataclass(frozen=True)
class RecoveryFile:
    """The contents of ``engram.recovery``."""

    code_id: str
    created_at: float
    kdf: KdfParams
    database_key: dict[str, str]
    backup_key: dict[str, str]
    backup_key_local: dict[str, str]

    @property
    def context(self) -> dict[str, Any]:
        return {"code_id": self.code_id, "kdf": self.kdf.to_json()}

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FILE_FORMAT,
            "version": FILE_VERSION,
            "code_id": self.code_id,
            "created_at": self.created_at,
            "kdf": self.kdf.to_json(),
            "database_key": self.database_key,
            "backup_key": self.backup_key,
            "backup_key_local": self.backup_key_local,
        }

    def backup_key_for(self, database_key_hex: str) -> str | None:
        """The backup key, unwrapped with this computer's database key (None if it belongs to another key)."""
        secret = unseal(local_wrapping_key(database_key_hex), self.backup_key_local, "backup-key-local", self.context)
        return secret.hex() if secret else None

    def unlock(self, code: RecoveryCode) -> Unlocked:
        """Both keys from the code; raises ``WrongRecoveryCodeError`` when the code is not this file's."""
        kek = derive_kek(code, self.kdf)
        database_key = unseal(kek, self.database_key, "database-key", self.context)
        backup_key = unseal(kek, self.backup_key, "backup-key", self.context)
        if database_key is None or backup_key is None:
            raise WrongRecoveryCodeError(
                "That recovery code does not unlock this Engram's key.",
                fix="Type the code again from your written copy. A code made later replaces earlier ones.",
            )
        return Unlocked(database_key.hex(), backup_key.hex(), kek)

    def backup_key_block(self) -> dict[str, Any]:
        """What a backup's manifest carries so the code alone can open it on another computer."""
        return {
            "kind": "recovery-code",
            "code_id": self.code_id,
            "code_created_at": self.created_at,
            "kdf": self.kdf.to_json(),
            "backup_key": self.backup_key,
        }


def build_recovery_file(
    code: RecoveryCode,
    database_key_hex: str,
    *,
    backup_key_hex: str | None = None,
    kdf: KdfParams | None = None,
    kek: bytes | None = None,
    code_id: str | None = None,
    created_at: float | None = None,
) -> RecoveryFile:
    """Wrap ``database_key_hex`` and a backup key (new unless given) under ``code``.

    ``kek``, ``kdf`` and ``code_id`` are passed when the same code is carried
    to a new computer after a restore, so Argon2id need not run again.
    """
    kdf = kdf or KdfParams.new()
    kek = kek or derive_kek(code, kdf)
    backup_key = bytes.fromhex(backup_key_hex) if backup_key_hex else os.urandom(32)
    shell = RecoveryFile(
        code_id=code_id or secrets.token_hex(8),
        created_at=time.time() if created_at is None else created_at,
        kdf=kdf,
        database_key={},
        backup_key={},
        backup_key_local={},
    )
    context = shell.context
    return RecoveryFile(
        code_id=shell.code_id,
        created_at=shell.created_at,
        kdf=kdf,
        database_key=seal(kek, bytes.fromhex(database_key_hex), "database-key", context),
        backup_key=seal(kek, backup_key, "backup-key", context),
        backup_key_local=seal(local_wrapping_key(database_key_hex), backup_key, "backup-key-local", context),
    )


def write_recovery_file(paths: Paths, recovery: RecoveryFile) -> None:
    try:
        write_private(paths.recovery_file, json.dumps(recovery.to_json(), indent=2).encode())
    except OSError as exc:
        raise KeyStorageError(
            f"Engram cannot write the recovery file {paths.recovery_file}: {exc.strerror or exc}.",
            fix="Make the data directory writable and free some disk space, then create the code again.",
        ) from exc


def load_recovery_file(paths: Paths) -> RecoveryFile | None:
    """The recovery file, or None when no recovery code was made here."""
    path = paths.recovery_file
    if not path.exists():
        return None
    where = f"The recovery file {path}"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RecoveryError(
            f"Engram cannot read the recovery file {path}: {exc.strerror or exc}.",
            fix="Check the file's owner and permissions (readable by you, mode 0600).",
        ) from exc
    except ValueError:
        raise _damaged(where, "it is not valid JSON") from None
    return recovery_from_json(data, where)


def recovery_from_json(data: Any, where: str) -> RecoveryFile:
    if not isinstance(data, dict) or data.get("format") != FILE_FORMAT:
        raise _damaged(where, "it is not an Engram recovery file")
    version = data.get("version")
    if not isinstance(version, int) or version > FILE_VERSION:
        raise RecoveryError(
            f"{where} was written by a newer Engram (format version {version}).",
            fix="Update Engram to read it.",
        )
    try:
        return RecoveryFile(
            code_id=str(data["code_id"]),
            created_at=float(data["created_at"]),
            kdf=KdfParams.from_json(data["kdf"], where),
            database_key=dict(data["database_key"]),
            backup_key=dict(data["backup_key"]),
            backup_key_local=dict(data["backup_key_local"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise _damaged(where, f"a field is missing or wrong ({exc})") from None
