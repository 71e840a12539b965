"""Every failed op says what went wrong and how to fix it, visibly; model downloads fail in the page, not in silence."""

from __future__ import annotations

import errno
import hashlib
import http.server
import threading
import time

import pytest
from PySide6.QtWidgets import QApplication, QMessageBox

from core.errors import EngramError
from desktop.ops import EngineOp
from tests.desktop.conftest import wait_idle

PAYLOAD = bytes(range(256)) * 2048  # 512 KiB
SHA = hashlib.sha256(PAYLOAD).hexdigest()
TEST_MODEL = "test-download-tiny"


def _open_boxes(text: str) -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible() and text in w.text()]


# -- the default failure handler ------------------------------------------------------


@pytest.mark.parametrize("parent", ["none", "page"])
def test_an_op_without_a_failure_handler_shows_the_message_and_the_fix(make_app, qtbot, parent):
    app = make_app()
    owner = None if parent == "none" else app.window.chat  # tray ops have no parent widget

    def broken(_engine):
        raise EngramError(f"The thing broke ({parent}).", fix="Do the other thing.")

    EngineOp(owner, broken).run_in_background()
    wait_idle(qtbot, app)
    qtbot.waitUntil(lambda: bool(_open_boxes(f"The thing broke ({parent}).")), timeout=3_000)
    QApplication.processEvents()
    time.sleep(0.05)
    QApplication.processEvents()
    boxes = _open_boxes(f"The thing broke ({parent}).")
    assert len(boxes) == 1, "the error box vanished (nobody kept it alive)"
    assert boxes[0].informativeText() == "How to fix it: Do the other thing."
    boxes[0].accept()


def test_an_unexpected_exception_is_shown_as_a_bug_with_the_log_named(make_app, qtbot):
    app = make_app()
    EngineOp(app.window, lambda _engine: 1 / 0).run_in_background()
    wait_idle(qtbot, app)
    qtbot.waitUntil(lambda: bool(_open_boxes("Something went wrong")), timeout=3_000)
    box = _open_boxes("Something went wrong")[0]
    assert "division by zero" in box.text() and "log" in box.informativeText()
    box.accept()


def test_the_same_failure_twice_shows_one_box(make_app, qtbot):
    app = make_app()
    for _ in range(3):
        EngineOp(None, lambda _e: (_ for _ in ()).throw(EngramError("Repeated failure.", fix="Wait."))).run_in_background()
    wait_idle(qtbot, app)
    qtbot.waitUntil(lambda: bool(_open_boxes("Repeated failure.")), timeout=3_000)
    assert len(_open_boxes("Repeated failure.")) == 1
    _open_boxes("Repeated failure.")[0].accept()


def test_a_failing_status_refresh_says_so_in_the_status_bar(make_app, qtbot):
    app = make_app()

    def broken_stats():
        raise EngramError("The database is locked by another program.", fix="Close the other program.")

    app.engine.stats = broken_stats
    app.window.status.refresh()
    wait_idle(qtbot, app)
    label = app.window.status.capture_label
    assert "database is locked" in label.text()
    assert "Close the other program." in label.toolTip()


# -- model downloads on the Models page -------------------------------------------------


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.drop_after: int | None = None
        self.pace: float = 0.0  # seconds between 16 KiB writes: a slow line, so a download can be cancelled

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path != "/org/repo/resolve/main/tiny.gguf":
            self.send_error(404)
            return
        start = int(self.headers["Range"].split("=")[1].split("-")[0]) if self.headers.get("Range") else 0
        body = PAYLOAD[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.server.drop_after is not None:
            body = body[: self.server.drop_after]
        try:
            for offset in range(0, len(body), 16384):
                self.wfile.write(body[offset : offset + 16384])
                if self.server.pace:
                    time.sleep(self.server.pace)
        except (BrokenPipeError, ConnectionResetError):
            return
        self.close_connection = True


@pytest.fixture
def server():
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def tiny_model(monkeypatch):
    """A small downloadable chat model in the catalog; ``tiny_model(sha256=...)`` changes its checksum."""
    import core.models.catalog as catalog

    real = catalog.shipped_entries

    def install(sha256: str = SHA, repo: str = "org/repo"):
        entry = catalog.CatalogEntry(name=TEST_MODEL, role="chat", file="tiny.gguf", label="Tiny test model",
                                     repo=repo, size=len(PAYLOAD), sha256=sha256)
        monkeypatch.setattr(catalog, "shipped_entries", lambda: [*real(), entry])

    install()
    return install


def _download(app, qtbot) -> tuple[bool, str]:
    page = app.window.models
    with qtbot.waitSignal(page.loaded, timeout=5_000):
        app.window.show_page("models")
    row = next(r for r in range(page.model.rowCount()) if page.model.row_data(r)["name"] == TEST_MODEL)
    page.table.selectRow(row)
    assert page.download_button.isEnabled()
    with qtbot.waitSignal(page.download_ended, timeout=20_000) as ended:
        page.download_button.click()
        assert page.progress.isVisible(), "no progress while the download runs"
    wait_idle(qtbot, app)
    assert page.outcome.isVisible()
    return ended.args[1], page.outcome.text()


def _assert_failed_with(result, *needles):
    installed, text = result
    assert not installed
    assert "How to fix it:" in text
    for needle in needles:
        assert needle in text, text


def test_a_404_is_shown_in_the_page_with_its_fix(make_app, qtbot, server, tiny_model, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    tiny_model(repo="org/missing-repo-with-a-404")
    app = make_app()
    page = app.window.models
    _assert_failed_with(_download(app, qtbot), "HTTP 404", "engram models list")
    assert page.outcome.property("error") is True
    assert not page.progress.isVisible() and not page.cancel_button.isVisible()
    # the message survives the page's reload after the failure
    wait_idle(qtbot, app)
    assert "HTTP 404" in page.outcome.text()


def test_no_server_at_all_is_shown_in_the_page(make_app, qtbot, tiny_model, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    app = make_app()
    _assert_failed_with(_download(app, qtbot), "Cannot reach 127.0.0.1:9", "internet connection")


def test_a_dropped_connection_is_shown_and_the_retry_resumes(make_app, qtbot, server, tiny_model, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    server.drop_after = 100_000
    app = make_app()
    _assert_failed_with(_download(app, qtbot), "connection dropped", "resume")
    server.drop_after = None
    installed, text = _download(app, qtbot)  # resumes; the payload is no GGUF file, which the page then says
    assert not installed and "GGUF" in text and "How to fix it:" in text


def test_a_checksum_mismatch_is_shown_in_the_page(make_app, qtbot, server, tiny_model, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    tiny_model(sha256="0" * 64)
    app = make_app()
    _assert_failed_with(_download(app, qtbot), "corrupt", "pull")
    assert not list((app.engine.paths.models_dir).glob("tiny.gguf*"))


def test_a_full_disk_is_shown_in_the_page(make_app, qtbot, server, tiny_model, monkeypatch):
    from core.models.download import Downloader

    def full(self, handle, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.setattr(Downloader, "write_chunk", full)
    app = make_app()
    _assert_failed_with(_download(app, qtbot), "disk is full", "Free space")


def test_a_download_shows_progress_and_can_be_cancelled(make_app, qtbot, server, tiny_model, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    server.pace = 0.05  # 32 writes: about 1.6 s for the whole file
    app = make_app()
    page = app.window.models
    with qtbot.waitSignal(page.loaded, timeout=5_000):
        app.window.show_page("models")
    row = next(r for r in range(page.model.rowCount()) if page.model.row_data(r)["name"] == TEST_MODEL)
    page.table.selectRow(row)
    page.download_button.click()
    assert page.cancel_button.isVisible() and page.cancel_button.isEnabled()
    assert not page.download_button.isEnabled()
    qtbot.waitUntil(lambda: page.progress.maximum() == 1000 and page.progress.value() > 0, timeout=10_000)
    assert "of 512 KB" in page.progress.format()
    with qtbot.waitSignal(page.download_ended, timeout=10_000) as ended:
        page.cancel_button.click()
    assert ended.args == [TEST_MODEL, False]
    assert "cancelled" in page.outcome.text() and page.outcome.property("error") is False
    assert (app.engine.paths.models_dir / "tiny.gguf.part").exists()  # kept, so the next Download resumes
