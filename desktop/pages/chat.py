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
import time

from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QMessageBox, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from desktop.markdown import render_markdown
from desktop.ops import EngineOp, error_text
from desktop.qtmodels import TYPE_LABELS, friendly_time
from desktop.similar import near_identical, word_set
from desktop.widgets import page_header

_CITE = re.compile(r"\[(\d{1,3})\]")
_VERBATIM = re.compile(r"(<pre>.*?</pre>|<code>.*?</code>)", re.S)
RENDER_MS = 50  # streamed tokens are drawn at most this often: one layout per token would slow long chats


def citation_url(citation: dict) -> str:
    return f"engram:{citation['kind']}/{citation['id']}"


def number_citations(text: str, citations: list[dict] | None) -> tuple[dict[int, int], list[dict]]:
    """The numbers a reader sees: [1] for the first source the answer cites, then in reading order.

    The model cites by its context numbers, which start wherever the relevant
    memory sat (often [2] or [5]).  Sources the answer names without a marker
    follow the cited ones.  Near-identical sources (the same screen seen twice)
    share one number.  Returns {model's number: shown number} and the sources
    to list, each with its shown ``n``.  With ``citations`` None (still
    streaming) every marker in the text is numbered.
    """
    known = {c["n"]: c for c in citations} if citations is not None else None
    order: list[int] = []
    for match in _CITE.finditer(text):
        n = int(match.group(1))
        if n not in order and (known is None or n in known):
            order.append(n)
    if known is not None:
        order += [c["n"] for c in citations if c["n"] not in order]
    mapping: dict[int, int] = {}
    shown: list[dict] = []
    groups: list[tuple[set[str], dict]] = []
    for n in order:
        citation = known[n] if known is not None else None
        words = word_set((citation or {}).get("label"))
        for number, (other_words, other) in enumerate(groups, 1):
            if citation is not None and (
                (other["kind"], other["id"]) == (citation["kind"], citation["id"])
                or (other.get("type") == citation.get("type") and near_identical(words, other_words))
            ):
                mapping[n] = number
                break
        else:
            groups.append((words, citation or {}))
            mapping[n] = len(groups)
            if citation is not None:
                shown.append(dict(citation, n=len(groups)))
    return mapping, shown


def _link_markers(body: str, mapping: dict[int, int], urls: dict[int, str]) -> str:
    """[n] markers outside code, renumbered, as links where the source is known."""

    def link(match: re.Match) -> str:
        n = int(match.group(1))
        if n not in mapping:
            return match.group(0)
        shown = mapping[n]
        return f'<a href="{urls[shown]}">[{shown}]</a>' if shown in urls else f"[{shown}]"

    parts = _VERBATIM.split(body)
    return "".join(part if _VERBATIM.fullmatch(part) else _CITE.sub(link, part) for part in parts)


def render_answer(text: str, citations: list[dict] | None) -> str:
    """The answer as safe HTML: Markdown rendered, markers renumbered and linked, and the list of sources."""
    mapping, shown = number_citations(text, citations)
    urls = {c["n"]: citation_url(c) for c in shown}
    body = _link_markers(render_markdown(text), mapping, urls)
    if not shown:
        return body
    items = []
    for c in shown:
        kind = TYPE_LABELS.get(c.get("type"), c.get("type") or c["kind"])
        meta = " · ".join(p for p in (kind, friendly_time(c.get("time")), c.get("app") or "") if p)
        label = (c.get("label") or "").replace(" | ", " · ")
        items.append(
            f'<div style="margin-top:3px"><a href="{citation_url(c)}">[{c["n"]}] {html.escape(label)}</a>'
            f' <span style="color:#6b7280">{html.escape(meta)}</span></div>'
        )
    return body + '<div style="margin-top:8px; color:#374151"><b>Sources</b>' + "".join(items) + "</div>"


HISTORY_SHOWN = 50  # exchanges brought back after a restart


class ChatPage(QWidget):
    """The chat page; ``citation_opened(kind, id)`` asks the window to show a source."""

    citation_opened = Signal(str, int)
    answer_finished = Signal(dict)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.turns: list[dict] = []  # {"question", "text", "citations", "state", "started"}
        self._stop: threading.Event | None = None
        # Tokens arrive faster than a layout is worth; draw at most every RENDER_MS, and tick while waiting.
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(RENDER_MS)
        self._redraw.timeout.connect(self._render)
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._render)
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
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Delete this conversation (Engram's answers); what you told Engram stays in your memories")
        self.clear_button.clicked.connect(self.clear_history)
        row.addWidget(self.input, 1)
        row.addWidget(self.send_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.clear_button)
        layout.addLayout(row)
        self._render()
        # The conversation so far comes back after a restart (kept encrypted in the store, never as evidence).
        EngineOp(self, lambda engine: engine.chat_history(HISTORY_SHOWN)).success(self._history_loaded).run_in_background()

    def _history_loaded(self, rows: list[dict]) -> None:
        earlier = [
            {"question": r["question"], "text": r["answer"], "citations": r.get("citations") or [], "state": "done",
             "model": r.get("model"), "abstained": r.get("abstained", False)}
            for r in rows
        ]
        self.turns[:0] = earlier
        self._render()

    def clear_history(self) -> None:
        if self._stop is not None or not self.turns:
            return
        box = QMessageBox(QMessageBox.Icon.Question, "Clear the conversation?",
                          "Delete this conversation with Engram? Its answers are deleted for good; what you told "
                          "Engram stays in your memories.", parent=self)
        clear = box.addButton("Clear", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        if box.clickedButton() is not clear:
            return

        def cleared(_count) -> None:
            self.turns.clear()
            self._render()

        EngineOp(self, lambda engine: engine.clear_chat_history()).success(cleared).run_in_background()

    def activate(self) -> None:
        self.input.setFocus()

    def send(self, question: str | None = None) -> None:
        question = (question if isinstance(question, str) else self.input.text()).strip()
        if not question or self._stop is not None:
            return
        self.input.clear()
        turn = {"question": question, "text": "", "citations": [], "state": "thinking", "started": time.monotonic()}
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
            if not self._redraw.isActive():
                self._redraw.start()

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
        self._redraw.stop()
        self._render()

    def _busy(self, busy: bool) -> None:
        self.send_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        if busy:
            self._ticker.start()
        else:
            self._ticker.stop()

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
            cached = turn.get("html")
            if cached is None:
                cached = self._turn_html(turn)
                if turn["state"] in ("done", "error"):
                    turn["html"] = cached  # a finished turn never changes: draw it once
            parts.append(cached)
        bar = self.transcript.verticalScrollBar()
        following = bar.value() >= bar.maximum() - 8  # keep following the answer unless the user scrolled up
        self.transcript.setHtml("".join(parts))
        if following:
            bar.setValue(bar.maximum())

    @staticmethod
    def _turn_html(turn: dict) -> str:
        question = (
            '<table width="100%" cellpadding="8"><tr><td style="background:#eef2ff; border-radius:8px">'
            f'<b>You</b><br>{html.escape(turn["question"])}</td></tr></table>'
        )
        if turn["state"] == "thinking":
            waited = int(time.monotonic() - turn.get("started", time.monotonic()))
            clock = f" {waited} s" if waited >= 2 else ""
            body = f'<span style="color:#6b7280">Looking through your memories and writing an answer…{clock}</span>'
        elif turn["state"] == "error":
            body = f'<span style="color:#b91c1c">{html.escape(turn["text"]).replace(chr(10), "<br>")}</span>'
        elif turn["state"] == "streaming":
            body = render_answer(turn["text"], None) + '<span style="color:#4f46e5"> ▍</span>'
        else:
            body = render_answer(turn["text"], turn["citations"])
            if turn.get("model"):
                body += f'<div style="color:#9ca3af; font-size:8pt; margin-top:6px">Answered by {html.escape(turn["model"])} on this computer</div>'
        # A paragraph or list starts on its own line with a small gap; a <br> before it left an empty line.
        if body.startswith("<p>"):
            body = '<p style="margin-top:4px">' + body[3:]
        elif not body.startswith(("<ul>", "<ol>", "<pre>")):
            body = "<br>" + body
        return question + f'<table width="100%" cellpadding="8"><tr><td><b>Engram</b>{body}</td></tr></table>'

    def _link(self, url: QUrl) -> None:
        kind, _, ident = url.path().partition("/")
        if url.scheme() == "engram" and ident.isdigit():
            self.citation_opened.emit(kind, int(ident))
