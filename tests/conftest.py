"""Shared fixtures: every test runs in its own ENGRAM_HOME and never touches the user's data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(autouse=True)
def engram_home(tmp_path, monkeypatch) -> Path:
    """Sandbox: ENGRAM_HOME and XDG_CONFIG_HOME point into the test's temp dir; the keyring is the file fallback."""
    home = tmp_path / "engram-home"
    monkeypatch.setenv("ENGRAM_HOME", str(home))
    # Tests use the 0600 key file unless a test opts into a real keyring backend.
    monkeypatch.setenv("ENGRAM_KEYRING", os.environ.get("ENGRAM_TEST_KEYRING", "file"))
    # Start at login writes into $XDG_CONFIG_HOME/autostart: never the real one.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    return home


class FakeClock:
    """A clock that stands still until a test moves it: ``clock.now += 3600``."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def clocked_engine(paths, fake_embedder, clock):
    """An engine on the fake clock, without a chat model and with model-assisted consolidation off."""
    from core.engine import Engine

    with Engine(paths, embedder=fake_embedder, chat_model=None, clock=clock) as eng:
        eng.settings.set("consolidation.use_model", False)
        yield eng


@pytest.fixture
def paths(engram_home):
    from core.paths import Paths

    return Paths.from_env().ensure()


@pytest.fixture
def fake_embedder():
    from core.models.base import FakeEmbedder

    return FakeEmbedder(dimension=64)


@pytest.fixture
def engine(paths, fake_embedder):
    from core.engine import Engine

    eng = Engine(paths, embedder=fake_embedder, chat_model=None)
    yield eng
    eng.close()


def seed_models_dir() -> Path | None:
    """The models directory prepared by `make setup`, or None where it is missing."""
    candidate = os.environ.get("ENGRAM_SEED_MODELS") or str(ROOT / ".models")
    path = Path(candidate)
    return path if path.is_dir() else None
