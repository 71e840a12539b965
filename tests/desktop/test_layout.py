"""The main window fits a small laptop screen with every page built."""

from __future__ import annotations

from desktop.main_window import PAGES
from tests.desktop.conftest import wait_idle


def test_every_page_fits_a_1024_pixel_wide_screen(make_app, qtbot):
    app = make_app(samples=True)
    for name in PAGES:
        app.window.show_page(name)
        wait_idle(qtbot, app)
    qtbot.wait(100)
    hint = app.window.minimumSizeHint()
    assert hint.width() <= 1000, f"the window cannot be narrower than {hint.width()} px"
    assert hint.height() <= 700
