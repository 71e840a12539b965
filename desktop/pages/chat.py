"""Chat: ask your memory; answers stream in and cite what they were built from.

Each answer runs on the chat lane (never the database lane, so quick recall
keeps working while the model writes).  Tokens arrive through the op's
progress callback on the main thread.  Citations are links: a memory opens its
detail, an observation opens the timeline at that moment.
"""

from __future__ import annotations

import html
import re
import threading

from PySide6.QtCore import QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from desktop.ops import EngineOp, error_text
from desktop.qtmodels import TYPE_LABELS, friendly_time
from desktop.widgets import page_header

_CITE = re.compile(r"\[(\d+)\]")


def citation_url(citation: dict) -> str:
    return f"engram:{citation['kind']}/{citation['id']}"


def render_answer(text: str, citations: list[dict]) -> str:
    """The answer as HTML, with [n] markers linked to their sources and a source list."""
    by_n = {c["n"]: c for c in citations}

    def link(match: re.Match) -> str:
        citation = by_n.get(int(match.group(1)))
        if citation is None:
            return match.group(0)
        return f'<a href="{citation_url(citation)}">[{citation["n"]}]</a>'

    body = _CITE.sub(link, html.escape(text)).replace("\n", "<br>")
    if not citations:
        return body
    items = []
    for c in citations:
        kind = TYPE_LABELS.get(c.get("type"), c.get("type") or c["kind"])
        meta = " · ".join(p for p in (kind, friendly_time(c.get("time")), c.get("app") or "") if p)
        items.append(
            f'<div style="margin-top:3px"><a href="{citation_url(c)}">[{c["n"]}] {html.escape(c.get("label") or "")}</a>'
            f' <span style="color:#6b7280">{html.escape(meta)}</span></div>'
        )
    return body + '<div style="margin-top:8px; color:#374151"><b>Sources</b>' + "".join(items) + "</div>"


class ChatPage(QWidget):
    """The chat page; ``citation_opened(kind, id)`` asks the window to show a source."""

    citation_opened = Signal(str, int)
    answer_finished = Signal(dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.turns: list[dict] = []  # {"question", "text", "citations", "state"}
        self._stop: threading.Event | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.addWidget(page_header("Chat", "Ask about anything you have seen or told Engram. Answers come only from your memories and say where they come from."))
        self.transcript = QTextBrowser()
        self.transcript.setObjectName("transcript")
        self.transcript.setOpenLinks(False)
        self.transcript.anchorClicked.connect(self._link)
        layout.addWidget(self.transcript, 1)
        row = QHBoxLayout()
        self.input = QLineEdit()
        self.input.setPlaceholderText("Ask, for example: what did I decide about the budget?")
        self.input.returnPressed.connect(self.send)
        self.send_button = QPushButton("Ask")
        self.send_button.setObjectName("primary")
        self.send_button.clicked.connect(self.send)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stop)
        row.addWidget(self.input, 1)
        row.addWidget(self.send_button)
        row.addWidget(self.stop_button)
        layout.addLayout(row)
        self._render()

    def activate(self) -> None:
        self.input.setFocus()

    def send(self, question: str | None = None) -> None:
        question = (question if isinstance(question, str) else self.input.text()).strip()
        if not question or self._stop is not None:
            return
        self.input.clear()
        turn = {"question": question, "text": "", "citations": [], "state": "thinking"}
        self.turns.append(turn)
        stop = threading.Event()
        self._stop = stop
        self._busy(True)
        self._render()

        def work(engine, report):
            return engine.ask(question, on_token=report, stop=stop).to_dict()

        def token(piece: str) -> None:
            turn["state"] = "streaming"
            turn["text"] += piece
            self._render()

        def done(answer: dict) -> None:
            text = answer.get("answer", answer.get("text", ""))
            turn.update(text=text, citations=answer.get("citations", []), state="done", model=answer.get("model"))
            turn["abstained"] = answer.get("abstained", False)
            self._finish()
            self.answer_finished.emit(answer)

        def failed(exc: BaseException) -> None:
            message, fix = error_text(exc)
            turn.update(text=message + (f"\nHow to fix it: {fix}" if fix else ""), state="error")
            self._finish()

        EngineOp(self, work, lane="chat").progress(token).success(done).failure(failed).run_in_background()

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def _finish(self) -> None:
        self._stop = None
        self._busy(False)
        self._render()

    def _busy(self, busy: bool) -> None:
        self.send_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)

    def _render(self) -> None:
        if not self.turns:
            self.transcript.setHtml(
                '<div style="color:#6b7280; margin:30px; font-size:11pt">'
                "<p><b>Nothing asked yet.</b></p>"
                "<p>Engram answers from what it remembers: facts you told it, what you did, and the text it read on your screen. "
                "Each answer lists its sources; click one to see the memory or the moment on the timeline.</p>"
                "<p>Everything runs on this computer. Nothing you ask leaves it.</p></div>"
            )
            return
        parts = []
        for turn in self.turns:
            parts.append(
                '<table width="100%" cellpadding="8"><tr><td style="background:#eef2ff; border-radius:8px">'
                f'<b>You</b><br>{html.escape(turn["question"])}</td></tr></table>'
            )
            if turn["state"] == "thinking":
                body = '<span style="color:#6b7280">Looking through your memories…</span>'
            elif turn["state"] == "error":
                body = f'<span style="color:#b91c1c">{html.escape(turn["text"]).replace(chr(10), "<br>")}</span>'
            elif turn["state"] == "streaming":
                body = html.escape(turn["text"]).replace("\n", "<br>") + ' <span style="color:#9ca3af">▍</span>'
            else:
                body = render_answer(turn["text"], turn["citations"])
                if turn.get("model"):
                    body += f'<div style="color:#9ca3af; font-size:8pt; margin-top:6px">Answered by {html.escape(turn["model"])} on this computer</div>'

            parts.append(f'<table width="100%" cellpadding="8"><tr><td><b>Engram</b><br>{body}</td></tr></table>')
        self.transcript.setHtml("".join(parts))
        bar = self.transcript.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _link(self, url: QUrl) -> None:
        kind, _, ident = url.path().partition("/")
        if url.scheme() == "engram" and ident.isdigit():
            self.citation_opened.emit(kind, int(ident))
