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
