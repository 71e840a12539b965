"""Integration fixtures: a real Xvfb display per module."""

from __future__ import annotations

import pytest

from tests.xvfb import XvfbServer, tkinter_available, xvfb_available


@pytest.fixture(scope="module")
def xvfb_server():
    if not xvfb_available():
        pytest.skip("Xvfb is not installed (Debian package 'xvfb')")
    server = XvfbServer(1280, 800)
    yield server
    server.stop()


@pytest.fixture
def xvfb(xvfb_server, monkeypatch):
    """DISPLAY set to a running Xvfb for this test; Wayland variables removed."""
    monkeypatch.setenv("DISPLAY", xvfb_server.name)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    return xvfb_server


@pytest.fixture(scope="session")
def needs_tk():
    if not tkinter_available():
        pytest.skip("python's tkinter is not installed; the test windows are drawn with Tk")


@pytest.fixture
def seed_engine(paths, monkeypatch):
    """An engine on the real seed models (chat and embedding), skipped where `make setup` has not prepared them."""
    from core.engine import Engine
    from tests.conftest import seed_models_dir

    seed = seed_models_dir()
    needed = ("SmolLM2-135M-Instruct.Q4_1.gguf", "all-MiniLM-L6-v2-f16.gguf")
    if seed is None or not all((seed / name).is_file() for name in needed):
        pytest.skip("the seed models are not prepared (.models is missing): run 'make setup'")
    monkeypatch.setenv("ENGRAM_SEED_MODELS", str(seed))
    engine = Engine(paths)
    yield engine
    engine.close()
