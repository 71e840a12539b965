"""The package's icons are rendered from the app's own mark: every hicolor size, and an SVG."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtGui import QImage
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parents[2]


def test_icons_cover_16_to_512_px_and_svg(qapp, tmp_path):
    subprocess.run([sys.executable, str(ROOT / "packaging" / "make_icons.py"), str(tmp_path)], check=True,
                   env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    hicolor = tmp_path / "hicolor"
    for size in (16, 22, 24, 32, 48, 64, 128, 256, 512):
        image = QImage(str(hicolor / f"{size}x{size}" / "apps" / "engram.png"))
        assert (image.width(), image.height()) == (size, size)
        assert image.hasAlphaChannel()
        centre = image.pixelColor(size // 2, size // 4)
        assert centre.alpha() == 255  # the tile is drawn, not an empty canvas
    svg = QSvgRenderer(str(hicolor / "scalable" / "apps" / "engram.svg"))
    assert svg.isValid() and svg.viewBox().width() == 256
