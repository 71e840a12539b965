"""Chat: a note while the model writes, then only the checked answer, Markdown rendered without letting memory text
inject HTML, citations numbered from [1] in reading order, and one source seen twice listed once."""

from __future__ import annotations

import re
import time

from PySide6.QtCore import Qt, QUrl

from core.models.base import FakeChatModel
from desktop.markdown import render_markdown
from desktop.pages.chat import number_citations, render_answer
from tests.desktop.conftest import wait_idle


def _cite(n, id, label, kind="observation", type="observation"):
    return {"n": n, "kind": kind, "id": id, "type": type, "label": label, "time": None, "app": None}


# -- pure rendering -------------------------------------------------------------------


def test_markdown_is_rendered_and_html_in_the_text_stays_text():
    out = render_markdown("**Ada** is *here*.\n\n- one\n- `two`\n\n1. first\n2. second\n\n```\nnpm run <build>\n```\n"
                          '<script>alert(1)</script> <a href="http://evil">x</a> <img src=x onerror=y>')
    assert "<b>Ada</b>" in out and "<i>here</i>" in out
    assert "<ul><li>one</li><li><code>two</code></li></ul>" in out
    assert "<ol><li>first</li><li>second</li></ol>" in out
    assert "<pre>npm run &lt;build&gt;</pre>" in out
    assert "<script" not in out and "<a " not in out and "<img" not in out
    assert "&lt;script&gt;" in out and "&lt;img src=x onerror=y&gt;" in out


def test_citations_are_numbered_from_one_in_reading_order():
    citations = [_cite(1, 10, "about me", "memory", "core"), _cite(3, 30, "Ada is my sister", "memory", "semantic"),
                 _cite(5, 50, "Porto trip call", "memory", "episodic")]
    mapping, shown = number_citations("Ada is your sister [3]. She lives in Porto [5][3].", citations)
    assert mapping == {3: 1, 5: 2, 1: 3}
    assert [(c["n"], c["id"]) for c in shown] == [(1, 30), (2, 50), (3, 10)]
    html = render_answer("Ada is your sister [3]. She lives in Porto [5][3].", citations)
    assert re.findall(r">\[(\d)\]<", html) == ["1", "2", "1"]
    assert "[1] Ada is my sister" in html and "[3] about me" in html


def test_near_identical_sources_are_listed_once():
    frame = "Inbox 12 unread Contoso invoice due Friday Priya budget review moved"
    citations = [_cite(2, 20, frame + " 10:01"), _cite(4, 40, frame + " 10:02"), _cite(6, 60, frame + " 10:03"),
                 _cite(7, 70, "Contoso signed the contract", "memory", "semantic")]
    mapping, shown = number_citations("The invoice is due Friday [2][4]. Contoso signed [7]. Again [6].", citations)
    assert mapping == {2: 1, 4: 1, 6: 1, 7: 2}
    assert [c["id"] for c in shown] == [20, 70]
    html = render_answer("The invoice is due Friday [2][4]. Contoso signed [7]. Again [6].", citations)
    assert html.count("Inbox 12 unread") == 1


def test_markers_inside_code_are_left_alone():
    html = render_answer("Use `items[1]` here [1].", [_cite(1, 5, "a note", "memory", "semantic")])
    assert "<code>items[1]</code>" in html and ">[1]</a>" in html


# -- in the window --------------------------------------------------------------------


class SlowChat(FakeChatModel):
    """Streams its reply a piece at a time, like a model on a slow computer."""

    def stream_chat(self, messages, *, max_tokens=256, temperature=0.0):
        for piece in super().stream_chat(messages, max_tokens=max_tokens, temperature=temperature):
            time.sleep(0.06)
            yield piece


def citing(template: str, needle: str):
    """A model reply that cites, as ``[n]``, the context item holding ``needle`` (numbers depend on retrieval)."""

    def reply(messages, schema):
        for line in messages[-1]["content"].splitlines():
            found = re.match(r"\[(\d+)\]", line)
            if found and needle in line:
                return template.format(n=found.group(1))
        return "I have no memory of that."

    return reply


def test_while_the_model_writes_a_note_shows_and_only_the_checked_answer_appears(make_app, qtbot):
    # Answers are checked against their sources before they are shown, so no unchecked word is ever on screen.
    reply = citing("**Ada** is your sister [{n}].", "Ada is my sister")
    app = make_app(chat_model=SlowChat(reply), samples=True)
    chat = app.window.chat
    seen: list[str] = []
    chat.transcript.textChanged.connect(lambda: seen.append(chat.transcript.toPlainText()))
    with qtbot.waitSignal(chat.answer_finished, timeout=15_000) as finished:
        chat.send("Who is Ada?")
    assert any("Looking through your memories" in text for text in seen)
    shown = [i for i, text in enumerate(seen) if "Ada is your" in text]
    assert shown and all("Looking through your memories" not in seen[i] for i in shown)
    text = chat.transcript.toPlainText()
    assert "**" not in text and "Ada is your sister [1]" in text
    assert "Sources" in text and finished.args[0]["citations"]
    assert "font-weight" in chat.transcript.toHtml()  # the bold survived as formatting


def test_a_citation_link_opens_its_source(make_app, qtbot):
    app = make_app(chat_model=FakeChatModel(["Ada lives in Porto [2]."]), samples=True)
    chat = app.window.chat
    with qtbot.waitSignal(chat.answer_finished, timeout=10_000) as finished:
        chat.send("Who is Ada?")
    cited = finished.args[0]["citations"][0]
    assert "Ada lives in Porto [1]." in chat.transcript.toPlainText()
    chat.transcript.anchorClicked.emit(QUrl(f"engram:{cited['kind']}/{cited['id']}"))
    wait_idle(qtbot, app)
    assert app.window.current_page in ("memories", "timeline")


def test_the_conversation_comes_back_after_a_restart_and_can_be_cleared(paths, qapp, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from core.engine import Engine
    from core.models.base import FakeChatModel, FakeEmbedder
    from desktop.app import EngramApp

    model = FakeChatModel(["Ada lives in Porto [1]."])
    with Engine(paths, embedder=FakeEmbedder(64), chat_model=model) as engine:
        engine.memories.add("semantic", {"name": "Ada", "summary": "Ada is my sister and lives in Porto"})
        engine.ask("Where does Ada live?")  # asked before this start
    engine = Engine(paths, embedder=FakeEmbedder(64), chat_model=FakeChatModel([]))
    app = EngramApp(engine, start_engine=False)
    try:
        app.start(first_run=False)
        page = app.window.chat
        qtbot.waitUntil(lambda: len(page.turns) == 1, timeout=5_000)
        assert page.turns[0]["question"] == "Where does Ada live?" and "Porto" in page.turns[0]["text"]
        assert "Porto" in page.transcript.toPlainText()
        monkeypatch.setattr(QMessageBox, "exec", lambda box: box.setProperty("clicked", True) or None)
        monkeypatch.setattr(QMessageBox, "clickedButton", lambda box: [b for b in box.buttons() if b.text() == "Clear"][0])
        page.clear_history()
        qtbot.waitUntil(lambda: not page.turns, timeout=5_000)
        assert engine.chat_history() == []
    finally:
        app.close()
        engine.close()


def test_an_answer_shown_in_the_chat_is_never_absorbed_nor_cited(make_app, qtbot):
    # Issue 16, item 4, through the window: what Engram answered on screen must not come back as evidence.
    answer_text = "Ada is your sister and lives in Porto [2]."  # [2]: the context item about Ada
    said = "your sister and lives in Porto"  # the answer's own words; no memory or moment says this
    model = FakeChatModel([answer_text, answer_text])
    app = make_app(chat_model=model, samples=True)
    engine, chat = app.engine, app.window.chat
    engine.settings.set("models.answers", "generated")  # the model's own wording is shown, not only quotes
    with qtbot.waitSignal(chat.answer_finished, timeout=10_000) as first:
        chat.input.setText("Who is Ada?")
        qtbot.keyClick(chat.input, Qt.Key.Key_Return)
    assert first.args[0]["answer"] == answer_text  # the generated answer passed the check and is on screen
    assert said in chat.transcript.toPlainText()

    report = engine.make_absorber(use_llm=False).absorb_backlog()  # what the scheduled absorb runs
    assert report.to_dict()["observations"] > 0  # the absorb really ran over the backlog, the question with it
    assert engine.observations.count(unabsorbed=True) == 0
    assert not [m.id for m in engine.memories.list(limit=1000) if said in m.text]
    moments = engine.observations.list_between(0, engine.clock() + 60)
    assert not [o.id for o in moments if said in (o.text or "")]
    assert [o.text for o in moments if o.kind == "chat"] == ["Who is Ada?"]  # the user's question, kept as said

    with qtbot.waitSignal(chat.answer_finished, timeout=10_000) as second:
        chat.send("Who is Ada?")
    cited = second.args[0]["citations"]
    assert cited, "the second answer cites nothing: the test would prove nothing"
    for citation in cited:
        assert said not in citation["label"] and "Who is Ada" not in citation["label"], citation
    seen = [engine.observations.get(c["id"]).text for c in cited if c["kind"] == "observation"]
    assert not [text for text in seen if said in text or "Who is Ada" in text]
    assert "Ada is my sister" in " ".join(c["label"] for c in cited)  # the memory the answer came from
