"""Render Engram's own mark (``desktop.icons``) into the hicolor icon theme: PNGs from 16 to 512 px and an SVG.

    python packaging/make_icons.py OUT_DIR     # writes OUT_DIR/hicolor/<size>x<size>/apps/engram.png ...

Runs without a display (Qt's offscreen platform).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
SVG_SIZE = 256


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from PySide6.QtCore import QRect, QSize
    from PySide6.QtGui import QGuiApplication, QPainter
    from PySide6.QtSvg import QSvgGenerator

    from desktop.icons import mark_pixmap, paint_mark

    app = QGuiApplication.instance() or QGuiApplication(["make_icons"])
    hicolor = Path(argv[0]) / "hicolor"
    for size in SIZES:
        target = hicolor / f"{size}x{size}" / "apps" / "engram.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        if not mark_pixmap(size).save(str(target), "PNG"):
            print(f"cannot write {target}", file=sys.stderr)
            return 1
    svg = hicolor / "scalable" / "apps" / "engram.svg"
    svg.parent.mkdir(parents=True, exist_ok=True)
    generator = QSvgGenerator()
    generator.setFileName(str(svg))
    generator.setSize(QSize(SVG_SIZE, SVG_SIZE))
    generator.setViewBox(QRect(0, 0, SVG_SIZE, SVG_SIZE))
    generator.setTitle("Engram")
    generator.setDescription("The Engram mark: three layers of memory on a rounded tile.")
    painter = QPainter(generator)
    paint_mark(painter, SVG_SIZE)
    painter.end()
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
