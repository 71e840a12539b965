"""The key moves from the fallback file into a keyring once one is available, and never gets lost."""

from __future__ import annotations

import pytest

import core.keystore as keystore
from core.engine import Engine


class MemoryKeyring:
    def __init__(self, broken_reads: bool = False):
        self.items: dict[tuple[str, str], str] = {}
        self.broken_reads = broken_reads

    def set_password(self, service, account, value):
        self.items[(service, account)] = value

    def get_password(self, service, account):
        return None if self.broken_reads else self.items.get((service, account))


def test_key_file_moves_into_a_keyring_that_appears_later(paths, monkeypatch):
    engine = Engine(paths)
    engine.memories.add("semantic", {"name": "Ada", "summary": "kept"})
    engine.close()
    assert paths.key_file.exists()
    ring = MemoryKeyring()
    monkeypatch.setattr(keystore, "_usable_keyring", lambda: ring)
    engine = Engine(paths)
    try:
        assert engine.key_info.storage == "keyring" and engine.key_info.warning is None
        assert not paths.key_file.exists()
        assert [m.title for m in engine.memories.list()] == ["Ada"]
    finally:
        engine.close()
    engine = Engine(paths)  # and from the keyring next time
    engine.close()


def test_key_file_is_kept_when_the_keyring_does_not_read_back(paths, monkeypatch):
    Engine(paths).close()
    monkeypatch.setattr(keystore, "_usable_keyring", lambda: MemoryKeyring(broken_reads=True))
    engine = Engine(paths)
    try:
        assert engine.key_info.storage == "file"
        assert paths.key_file.exists()
    finally:
        engine.close()


@pytest.mark.parametrize("content", ["short", "zz" * 32])
def test_damaged_key_file_is_reported(paths, content):
    Engine(paths).close()
    paths.key_file.write_text(content)
    from core.errors import KeyStorageError

    with pytest.raises(KeyStorageError) as info:
        Engine(paths)
    assert "damaged" in info.value.message and info.value.fix
