"""The recovery code: its shape, typo checks, and the wrapped-key file it unlocks."""

from __future__ import annotations

import json
import os

import pytest

from core.backup import recovery
from core.backup.recovery import (
    ALPHABET,
    KdfParams,
    RecoveryCode,
    RecoveryError,
    WrongRecoveryCodeError,
    build_recovery_file,
    load_recovery_file,
    write_recovery_file,
)
from core.errors import InvalidInputError

FAST = dict(memory_kib=1024, iterations=1, lanes=1)


def test_generated_codes_are_8_groups_of_4_unambiguous_characters_and_parse_back():
    seen = set()
    for _ in range(200):
        code = RecoveryCode.generate()
        text = code.formatted()
        groups = text.split("-")
        assert len(groups) == 8 and all(len(g) == 4 for g in groups)
        assert not set(code.chars) & set("ILOU")
        assert set(code.chars) <= set(ALPHABET)
        assert RecoveryCode.parse(text) == code
        seen.add(code.chars)
    assert len(seen) == 200


def test_input_is_normalised_case_spaces_dashes_and_lookalikes():
    code = RecoveryCode.generate()
    typed = " ".join(code.groups).lower()
    assert RecoveryCode.parse(typed) == code
    assert RecoveryCode.parse(code.chars) == code
    with_lookalikes = code.formatted().replace("0", "o").replace("1", "l")
    assert RecoveryCode.parse(with_lookalikes) == code


def test_every_single_character_typo_and_neighbour_swap_is_caught_and_its_group_named():
    code = RecoveryCode.generate()
    for position in range(len(code.chars)):
        for replacement in ALPHABET:
            if replacement == code.chars[position]:
                continue
            typo = code.chars[:position] + replacement + code.chars[position + 1 :]
            with pytest.raises(InvalidInputError) as info:
                RecoveryCode.parse(typo)
            assert f"group {position // 4 + 1} " in info.value.message
    for position in range(len(code.chars) - 1):
        if position % 4 == 3 or code.chars[position] == code.chars[position + 1]:
            continue  # a swap across groups is a typo in two groups: caught as well, tested below
        swapped = code.chars[:position] + code.chars[position + 1] + code.chars[position] + code.chars[position + 2 :]
        with pytest.raises(InvalidInputError):
            RecoveryCode.parse(swapped)


def test_two_groups_typed_in_each_others_place_are_caught():
    code = RecoveryCode.generate()
    groups = code.groups
    if groups[1] == groups[2]:
        pytest.skip("identical groups")
    groups[1], groups[2] = groups[2], groups[1]
    with pytest.raises(InvalidInputError) as info:
        RecoveryCode.parse("".join(groups))
    assert "groups 2, 3" in info.value.message


@pytest.mark.parametrize(
    "text, message",
    [
        ("ABCD", "32 characters"),
        ("ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-678U", "never contains U"),
        ("ABCD-EFGH-JKMN-PQRS-TVWX-YZ01-2345-678!", "never contains '!'"),
        ("", "32 characters"),
    ],
)
def test_malformed_codes_are_refused_with_a_fix(text, message):
    with pytest.raises(InvalidInputError) as info:
        RecoveryCode.parse(text)
    assert message in info.value.message and info.value.fix


def test_code_is_never_printed_by_repr():
    code = RecoveryCode.generate()
    assert code.chars not in repr(code) and code.chars not in str(code) and code.chars not in f"{code}"


def test_recovery_file_unlocks_with_the_code_only(paths):
    code = RecoveryCode.generate()
    db_key = os.urandom(32).hex()
    made = build_recovery_file(code, db_key, kdf=KdfParams.new(**FAST))
    write_recovery_file(paths, made)
    assert os.stat(paths.recovery_file).st_mode & 0o777 == 0o600
    loaded = load_recovery_file(paths)
    unlocked = loaded.unlock(code)
    assert unlocked.database_key_hex == db_key
    assert loaded.backup_key_for(db_key) == unlocked.backup_key_hex
    assert loaded.backup_key_for(os.urandom(32).hex()) is None
    with pytest.raises(WrongRecoveryCodeError) as info:
        loaded.unlock(RecoveryCode.generate())
    assert info.value.fix
    # the keys never appear in the file
    raw = paths.recovery_file.read_text()
    assert db_key not in raw and unlocked.backup_key_hex not in raw


def test_a_wrapped_value_moved_to_another_slot_or_changed_settings_fail_authentication(paths):
    code = RecoveryCode.generate()
    made = build_recovery_file(code, os.urandom(32).hex(), kdf=KdfParams.new(**FAST))
    data = made.to_json()
    data["database_key"], data["backup_key"] = data["backup_key"], data["database_key"]
    paths.recovery_file.write_text(json.dumps(data))
    with pytest.raises(WrongRecoveryCodeError):
        load_recovery_file(paths).unlock(code)
    data = made.to_json()
    data["kdf"]["iterations"] = 2  # an attacker lowering or raising the work factor is noticed
    paths.recovery_file.write_text(json.dumps(data))
    with pytest.raises(WrongRecoveryCodeError):
        load_recovery_file(paths).unlock(code)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: "not json", "not valid JSON"),
        (lambda d: {**d, "format": "other"}, "not an Engram recovery file"),
        (lambda d: {**d, "version": 99}, "newer Engram"),
        (lambda d: {k: v for k, v in d.items() if k != "backup_key"}, "missing or wrong"),
        (lambda d: {**d, "kdf": {**d["kdf"], "memory_kib": 2**40}}, "out of range"),
        (lambda d: {**d, "kdf": {**d["kdf"], "salt": "!!"}}, "unreadable"),
    ],
)
def test_damaged_recovery_files_are_reported(paths, mutate, message):
    made = build_recovery_file(RecoveryCode.generate(), os.urandom(32).hex(), kdf=KdfParams.new(**FAST))
    changed = mutate(made.to_json())
    paths.recovery_file.write_text(changed if isinstance(changed, str) else json.dumps(changed))
    with pytest.raises(RecoveryError) as info:
        load_recovery_file(paths)
    assert message in info.value.message and info.value.fix


def test_no_recovery_file_means_none(paths):
    assert load_recovery_file(paths) is None


def test_code_file_is_read_and_checked(tmp_path):
    code = RecoveryCode.generate()
    path = tmp_path / "code.txt"
    path.write_text(code.formatted() + "\n")
    assert recovery.read_code_file(path) == code
    with pytest.raises(InvalidInputError) as info:
        recovery.read_code_file(tmp_path / "missing.txt")
    assert "cannot read" in info.value.message


def test_default_kdf_settings_are_the_measured_ones():
    params = KdfParams.new()
    assert (params.memory_kib, params.iterations, params.lanes) == (128 * 1024, 2, 4)
    assert len(params.salt) == 16
