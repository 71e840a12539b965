"""``engram app --selftest DIR`` writes a PNG of every page and exits 0."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtGui import QImage


def test_selftest_saves_a_screenshot_of_every_page(tmp_path, xvfb_display):
    out = tmp_path / "shots"
    env = dict(os.environ, DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb")
    done = subprocess.run([sys.executable, "-m", "engram", "app", "--selftest", str(out)], env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    expected = {"chat", "memories", "memories-vault", "timeline", "activity", "models", "models-download-failed", "settings",
                "quick-recall", "tray-menu", "tray-icons", "first-run-1", "first-run-2", "first-run-3", "first-run-4",
                "first-run-5", "backup-empty", "backup", "recovery-code", "recovery-check", "recovery-saved",
                "restore-code"}
    assert {p.stem for p in out.glob("*.png")} == expected
    for name in ("chat", "timeline", "quick-recall"):
        image = QImage(str(out / f"{name}.png"))
        assert image.width() >= 600 and image.height() >= 400
    # the self-test never touched the ENGRAM_HOME of the caller
    assert not (tmp_path / "engram-home" / "engram.db").exists()
