"""Sample memories and observations for the self-test and the desktop tests.

Thumbnails are drawn with QImage (a fake application window with a title bar
and lines of text) and stored as WebP, like capture's thumbnails.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

SAMPLE_MEMORIES = [
    ("core", {"label": "about me", "value": "I am Sam, a product designer in Lisbon. I prefer short answers and metric units.", "pinned": True}),
    ("semantic", {"name": "Ada Lovelace", "summary": "Ada is my sister; she lives in Porto and works as a nurse.", "details": "Birthday 12 March. Likes hiking."}),
    ("semantic", {"name": "Project Atlas", "summary": "Atlas is the redesign of the booking flow, due end of June.", "details": "Owner: Priya. Budget approved on 3 May."}),
    ("episodic", {"occurred_at": None, "actor": "me", "event_type": "meeting", "summary": "Budget review for Project Atlas with Priya", "details": "Agreed to cut the onboarding animation to stay within budget."}),
    ("episodic", {"occurred_at": None, "actor": "me", "event_type": "call", "summary": "Called Ada about the Porto trip", "details": "Trip planned for the second weekend of July."}),
    ("procedural", {"entry_type": "workflow", "summary": "Release the design system package", "steps": ["Bump the version in package.json", "Run npm run build", "Publish with npm publish --access public", "Post the changelog in #design"]}),
    ("resource", {"title": "Booking flow research report", "resource_type": "document", "location": "~/Documents/atlas/research.pdf", "summary": "Interviews with 12 users about booking pain points."}),
    ("knowledge_vault", {"entry_type": "bank account", "caption": "Joint savings account IBAN", "secret_value": "PT50 0002 0123 1234 5678 9015 4", "sensitivity": "high", "source": "bank letter"}),
    ("knowledge_vault", {"entry_type": "wifi", "caption": "Office Wi-Fi password", "secret_value": "correct-horse-battery", "sensitivity": "medium"}),
]

APPS = [
    ("firefox", "Atlas booking flow — Figma", ["Booking flow v3", "Checkout step 2 of 4", "Payment details", "Confirm booking"]),
    ("code", "tokens.ts — design-system", ["export const spacing = {", "  sm: 4, md: 8, lg: 16,", "}", "npm run build"]),
    ("slack", "#design — Slack", ["Priya: budget review moved to 15:00", "Sam: sounds good", "Priya: bring the research report"]),
    ("libreoffice", "research.pdf — LibreOffice", ["Booking flow research", "12 interviews", "Pain point: hidden fees", "Pain point: slow search"]),
    ("terminal", "sam@laptop: ~/atlas", ["$ git status", "On branch main", "$ npm publish --access public"]),
]
APP_COLORS = {"firefox": "#ea580c", "code": "#2563eb", "slack": "#7c3aed", "libreoffice": "#059669", "terminal": "#111827"}


def draw_thumbnail(app: str, title: str, lines: list[str], width: int = 320, height: int = 200) -> bytes:
    """A small WebP picture of an application window showing ``lines``."""
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("#f9fafb"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.fillRect(0, 0, width, 22, QColor(APP_COLORS.get(app, "#374151")))
    font = QFont()
    font.setPixelSize(11)
    painter.setFont(font)
    painter.setPen(QColor("white"))
    painter.drawText(QRectF(8, 0, width - 16, 22), Qt.AlignmentFlag.AlignVCenter, title)
    painter.setPen(QColor("#1f2937"))
    font.setPixelSize(12)
    painter.setFont(font)
    for index, line in enumerate(lines):
        painter.drawText(QRectF(12, 32 + index * 20, width - 24, 18), Qt.AlignmentFlag.AlignVCenter, line)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("#e5e7eb"))
    for index in range(3):
        painter.drawRoundedRect(QRectF(12, height - 50 + index * 14, width * (0.8 - index * 0.2), 8), 3, 3)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "WEBP", 70)
    buffer.close()
    return bytes(data)


def add_sample_data(engine, *, days: int = 7, per_day: int = 40, seed: int = 7) -> dict:
    """Add the sample memories and ``days`` days of screen observations; returns counts."""
    rng = random.Random(seed)
    now = datetime.now().astimezone()
    thumbs = {app: draw_thumbnail(app, title, lines) for app, title, lines in APPS}
    observation_ids = []
    for day in range(days):
        start = (now - timedelta(days=day)).replace(hour=9, minute=0, second=0, microsecond=0)
        if day == 0 and start > now:
            start = now - timedelta(hours=2)
        items = []
        moment = start
        weights = [5, 3, 2, 2, 1] if day % 2 == 0 else [2, 4, 3, 1, 2]
        for _ in range(per_day if day else per_day // 2 + 10):
            app, title, lines = rng.choices(APPS, weights=weights)[0]
            moment += timedelta(seconds=rng.randint(20, 60) if rng.random() < 0.85 else rng.randint(300, 900))
            if day == 0 and moment > now:
                break
            items.append(
                dict(kind="screen", text="\n".join(lines), ts=moment.timestamp(), app=app, window_title=title,
                     thumbnail=thumbs[app] if day < 2 else None)
            )
        observation_ids.extend(engine.observations.add_many(items))
    base = now - timedelta(days=1)
    for index, (memory_type, data) in enumerate(SAMPLE_MEMORIES):
        data = dict(data)
        if memory_type == "episodic":
            data["occurred_at"] = (base - timedelta(hours=index * 5)).isoformat()
        sources = observation_ids[index * 3 : index * 3 + 2] if memory_type in ("episodic", "resource") else []
        engine.memories.add(memory_type, data, sources=sources, reason="sample data")
    # The oldest observations count as absorbed, so the backlog looks like a real day's.
    engine.observations.mark_absorbed(observation_ids[: len(observation_ids) // 2])
    return {"memories": len(SAMPLE_MEMORIES), "observations": len(observation_ids)}
