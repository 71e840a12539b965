"""The model downloader against a local HTTP server: resume, checksum, 404, disconnect, cancel, full disk."""

from __future__ import annotations

import errno
import hashlib
import http.server
import threading

import pytest

from core.errors import DownloadError
from core.events import EventBus
from core.models.download import DownloadCancelled, Downloader, resolve_url

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, every byte position distinguishable
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class ModelServer(http.server.ThreadingHTTPServer):
    """Serves PAYLOAD at /org/repo/resolve/main/model.gguf with switchable misbehaviour."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.payload = PAYLOAD
        self.drop_after: int | None = None  # close the connection after this many body bytes
        self.honour_range = True
        self.publish_sha: str | None = SHA
        self.requests: list[dict] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(http.server.BaseHTTPRequestHandler):
    server: ModelServer

    def log_message(self, *args):  # keep test output quiet
        pass

    def _target(self) -> bytes | None:
        if self.path.endswith("/resolve/main/model.gguf"):
            return self.server.payload
        return None

    def do_HEAD(self):
        self.server.requests.append({"method": "HEAD", "range": self.headers.get("Range")})
        body = self._target()
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        if self.server.publish_sha:
            self.send_header("X-Linked-Etag", f'"{self.server.publish_sha}"')
            self.send_header("X-Linked-Size", str(len(body)))
        self.end_headers()

    def do_GET(self):
        self.server.requests.append({"method": "GET", "range": self.headers.get("Range")})
        body = self._target()
        if body is None:
            self.send_error(404)
            return
        start = 0
        range_header = self.headers.get("Range")
        if range_header and self.server.honour_range:
            start = int(range_header.split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = body[start:]
        self.send_header("Content-Length", str(len(chunk)))
        self.end_headers()
        if self.server.drop_after is not None:
            self.wfile.write(chunk[: self.server.drop_after])
            self.wfile.flush()
            self.server.drop_after = None  # only the first attempt fails
            self.close_connection = True
            return
        self.wfile.write(chunk)


@pytest.fixture
def server():
    srv = ModelServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def url(server):
    return resolve_url("org/repo", "model.gguf", endpoint=server.endpoint)


def test_resolve_url_honours_hf_endpoint(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9/")
    assert resolve_url("a/b", "x y.gguf") == "http://127.0.0.1:9/a/b/resolve/main/x%20y.gguf"
    monkeypatch.delenv("HF_ENDPOINT")
    assert resolve_url("a/b", "m.gguf").startswith("https://huggingface.co/a/b/resolve/main/")


def test_download_verifies_and_renames_atomically(server, url, tmp_path):
    events = EventBus()
    seen = []
    events.subscribe("download_did_finish", lambda name, path: seen.append((name, path)))
    progress = []
    dest = tmp_path / "model.gguf"
    result = Downloader(events, chunk_size=64 * 1024).fetch(
        "m", url, dest, sha256=SHA, progress=lambda done, total: progress.append((done, total))
    )
    assert result == dest
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "model.gguf.part").exists()
    assert progress[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert seen == [("m", str(dest))]


def test_disconnect_keeps_partial_and_next_pull_resumes_with_range(server, url, tmp_path):
    server.drop_after = 300_000
    dest = tmp_path / "model.gguf"
    downloader = Downloader(chunk_size=64 * 1024)
    with pytest.raises(DownloadError) as info:
        downloader.fetch("m", url, dest, sha256=SHA)
    assert "connection dropped" in info.value.message
    assert "resume" in info.value.fix
    part = tmp_path / "model.gguf.part"
    assert part.exists() and 0 < part.stat().st_size < len(PAYLOAD)
    assert not dest.exists()

    kept = part.stat().st_size
    downloader.fetch("m", url, dest, sha256=SHA)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests[-1]["range"] == f"bytes={kept}-"


def test_server_ignoring_range_restarts_from_zero(server, url, tmp_path):
    server.honour_range = False
    (tmp_path / "model.gguf.part").write_bytes(b"\x00" * 1000)  # stale bytes the server will not continue
    dest = Downloader().fetch("m", url, tmp_path / "model.gguf", sha256=SHA)
    assert dest.read_bytes() == PAYLOAD


def test_oversized_partial_is_discarded(server, url, tmp_path):
    (tmp_path / "model.gguf.part").write_bytes(PAYLOAD + b"junk")
    dest = Downloader().fetch("m", url, tmp_path / "model.gguf", sha256=SHA, size=len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD


def test_checksum_mismatch_removes_the_file(server, url, tmp_path):
    events = EventBus()
    failures = []
    events.subscribe("download_did_fail", lambda name, message: failures.append(message))
    dest = tmp_path / "model.gguf"
    with pytest.raises(DownloadError) as info:
        Downloader(events).fetch("m", url, dest, sha256="0" * 64)
    assert "corrupt" in info.value.message
    assert not dest.exists()
    assert not (tmp_path / "model.gguf.part").exists()
    assert failures and "corrupt" in failures[0]


def test_404_is_a_clear_error(server, tmp_path):
    missing = resolve_url("org/repo", "nope.gguf", endpoint=server.endpoint)
    with pytest.raises(DownloadError) as info:
        Downloader().fetch("m", missing, tmp_path / "nope.gguf", sha256=SHA)
    assert "404" in info.value.message
    assert "engram models list" in info.value.fix
    assert not list(tmp_path.iterdir())


def test_unreachable_server_is_a_clear_error(tmp_path):
    with pytest.raises(DownloadError) as info:
        Downloader(timeout=2).fetch("m", "http://127.0.0.1:9/x/resolve/main/m.gguf", tmp_path / "m.gguf", sha256=SHA)
    assert "Cannot reach" in info.value.message


def test_published_sha_used_when_catalog_has_none(server, url, tmp_path):
    dest = Downloader().fetch("m", url, tmp_path / "model.gguf", sha256=None)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests[0]["method"] == "HEAD"


def test_unverifiable_download_is_refused(server, url, tmp_path):
    server.publish_sha = None
    with pytest.raises(DownloadError) as info:
        Downloader().fetch("m", url, tmp_path / "model.gguf", sha256=None)
    assert "cannot verify" in info.value.message
    assert not list(tmp_path.iterdir())


def test_cancel_keeps_partial_for_resume(server, url, tmp_path):
    cancel = threading.Event()

    def stop_after_first_chunk(done, total):
        cancel.set()

    downloader = Downloader(chunk_size=64 * 1024, progress_interval=0)
    with pytest.raises(DownloadCancelled):
        downloader.fetch("m", url, tmp_path / "model.gguf", sha256=SHA, progress=stop_after_first_chunk, cancel=cancel)
    part = tmp_path / "model.gguf.part"
    assert part.exists() and part.stat().st_size < len(PAYLOAD)
    assert not (tmp_path / "model.gguf").exists()
    downloader.fetch("m", url, tmp_path / "model.gguf", sha256=SHA)
    assert (tmp_path / "model.gguf").read_bytes() == PAYLOAD


def test_full_disk_removes_partial_with_clear_message(server, url, tmp_path):
    class FullDisk(Downloader):
        written = 0

        def write_chunk(self, handle, data):
            if self.written > 100_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.written += len(data)
            handle.write(data)

    with pytest.raises(DownloadError) as info:
        FullDisk(chunk_size=64 * 1024).fetch("m", url, tmp_path / "model.gguf", sha256=SHA)
    assert "disk is full" in info.value.message
    assert "Free space" in info.value.fix
    assert not (tmp_path / "model.gguf.part").exists()
    assert not (tmp_path / "model.gguf").exists()
