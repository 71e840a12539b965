"""Model downloads from Hugging Face: resumable, verified, cancellable.

A download streams into ``<file>.part`` beside its destination.  Every way
it can end badly leaves one of two states, never a file that looks like a
model: the ``.part`` file stays (connection dropped, cancelled) and the next
``pull`` resumes it with an HTTP Range request, or it is removed (checksum
mismatch, full disk, a server that sends something else).  Only a file whose
sha256 matches is renamed into place, atomically.

The endpoint is ``HF_ENDPOINT`` or https://huggingface.co, so tests serve
files from 127.0.0.1.  When the catalog pins no sha256, the one Hugging Face
publishes for the file (``X-Linked-Etag`` on the resolve URL) is used; a file
that cannot be verified either way is refused.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import logging
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

from core.errors import DownloadError
from core.events import EventBus

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://huggingface.co"
Progress = Callable[[int, "int | None"], None]
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_USER_AGENT = "engram-model-download/1"


class _StartOver(Exception):
    """The partial file cannot be resumed against this server; download from byte zero."""


class DownloadCancelled(DownloadError):
    """The user cancelled; the partial file is kept so the download can resume."""


def hf_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def resolve_url(repo: str, file: str, endpoint: str | None = None) -> str:
    """The download URL of ``file`` in the Hugging Face model repository ``repo``."""
    base = (endpoint or hf_endpoint()).rstrip("/")
    return f"{base}/{repo}/resolve/main/{urllib.parse.quote(file)}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401 - urllib hook
        return None


def _clean_etag(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().removeprefix("W/").strip('"').lower()
    return value if _SHA256.match(value) else None


class Downloader:
    """Fetches one URL at a time into a destination file; safe to use from a worker thread."""

    def __init__(
        self,
        events: EventBus | None = None,
        *,
        chunk_size: int = 1 << 20,
        timeout: float = 30.0,
        progress_interval: float = 0.25,
    ):
        self.events = events
        self.chunk_size = chunk_size
        self.timeout = timeout
        self.progress_interval = progress_interval

    # Tests replace this to simulate a full disk or a failing drive.
    def write_chunk(self, handle, data: bytes) -> None:
        handle.write(data)

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"User-Agent": _USER_AGENT}
        token = os.environ.get("HF_TOKEN")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        headers.update(extra or {})
        return headers

    def published_checksum(self, url: str) -> tuple[str | None, int | None]:
        """The sha256 and size the server publishes for ``url`` (Hugging Face LFS headers), if any."""
        opener = urllib.request.build_opener(_NoRedirect)
        request = urllib.request.Request(url, method="HEAD", headers=self._headers())
        try:
            response = opener.open(request, timeout=self.timeout)
            headers = response.headers
            response.close()
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                headers = exc.headers  # the redirect itself carries the LFS headers
            else:
                raise self._http_error(exc, url) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise self._network_error(exc, url) from exc
        sha = _clean_etag(headers.get("X-Linked-Etag")) or _clean_etag(headers.get("ETag"))
        size = headers.get("X-Linked-Size") or headers.get("Content-Length")
        return sha, int(size) if size and size.isdigit() else None

    def fetch(
        self,
        name: str,
        url: str,
        dest: str | os.PathLike,
        *,
        sha256: str | None = None,
        size: int | None = None,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> Path:
        """Download ``url`` to ``dest`` and return ``dest``; raises DownloadError on any failure."""
        dest = Path(dest)
        try:
            return self._fetch(name, url, dest, sha256, size, progress, cancel)
        except DownloadError as exc:
            if self.events is not None:
                self.events.emit("download_did_fail", name=name, message=str(exc))
            raise

    def _fetch(self, name, url, dest: Path, sha256, size, progress, cancel) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_name(dest.name + ".part")
        if sha256 is None:
            sha256, published_size = self.published_checksum(url)
            size = size or published_size
            if sha256 is None:
                raise DownloadError(
                    f"Engram cannot verify {name}: neither the catalog nor the server gives its sha256.",
                    fix="Add the file's sha256 to the catalog, or download it yourself and run 'engram models import PATH'.",
                )
        sha256 = sha256.lower()

        digest = hashlib.sha256()
        offset = part.stat().st_size if part.exists() else 0
        if size is not None and offset > size:
            part.unlink()
            offset = 0
        if offset:
            with open(part, "rb") as handle:
                while block := handle.read(self.chunk_size):
                    digest.update(block)

        if size is None or offset < size:
            try:
                offset, total = self._stream(name, url, part, offset, digest, size, progress, cancel)
            except _StartOver:
                part.unlink(missing_ok=True)
                digest = hashlib.sha256()
                offset, total = self._stream(name, url, part, 0, digest, size, progress, cancel)
        else:
            total = size
        if total is not None and offset != total:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"The download of {name} ended at {offset} bytes instead of {total}; the partial file was removed.",
                fix="Run 'engram models pull' again.",
            )
        actual = digest.hexdigest()
        if actual != sha256:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"The downloaded {name} is corrupt: its sha256 is {actual}, expected {sha256}. The file was removed.",
                fix="Run 'engram models pull' again; if it keeps failing, the file on the server has changed.",
            )
        try:
            with open(part, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(part, dest)
        except OSError as exc:
            raise DownloadError(f"Cannot move the finished download into {dest}: {exc.strerror or exc}.",
                                fix="Check that the models folder is writable.") from exc
        if self.events is not None:
            self.events.emit("download_did_finish", name=name, path=str(dest))
        return dest

    def _stream(self, name, url, part: Path, offset: int, digest, size, progress, cancel) -> tuple[int, int | None]:
        """Append the rest of ``url`` to ``part``; returns (bytes on disk, expected total)."""
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        request = urllib.request.Request(url, headers=self._headers(headers))
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and offset:
                raise _StartOver() from exc  # our partial file does not fit what the server has
            raise self._http_error(exc, url) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise self._network_error(exc, url) from exc

        with response:
            status = response.status
            if offset and status != 206:
                raise _StartOver()  # the server ignored the Range header
            length = response.headers.get("Content-Length")
            total = offset + int(length) if length and length.isdigit() else size
            content_range = response.headers.get("Content-Range")
            if status == 206 and content_range and "/" in content_range:
                whole = content_range.rsplit("/", 1)[1]
                if whole.isdigit():
                    total = int(whole)
            if size is not None and total is not None and total != size:
                raise DownloadError(
                    f"The server offers {total} bytes for {name}, but the catalog expects {size}.",
                    fix="The file on the server changed; update the catalog entry or import the file yourself.",
                )
            done = offset
            last_report = 0.0
            mode = "ab" if offset else "wb"
            try:
                with open(part, mode) as handle:
                    while True:
                        if cancel is not None and cancel.is_set():
                            raise DownloadCancelled(
                                f"The download of {name} was cancelled at {done} bytes; the partial file is kept.",
                                fix="Run 'engram models pull' again to resume it.",
                            )
                        try:
                            # read1: whatever has arrived, up to a chunk, so progress and Cancel keep up on a slow line
                            block = response.read1(self.chunk_size)
                        except (http.client.IncompleteRead, ConnectionError, socket.timeout, TimeoutError, OSError) as exc:
                            raise self._dropped(name, done, total, exc) from exc
                        if not block:
                            break
                        self.write_chunk(handle, block)
                        digest.update(block)
                        done += len(block)
                        now = time.monotonic()
                        if now - last_report >= self.progress_interval:
                            last_report = now
                            self._report(name, done, total, progress)
            except OSError as exc:
                if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    part.unlink(missing_ok=True)
                    raise DownloadError(
                        f"The disk is full: {name} needs {_mb(total)} and the partial file was removed to free space.",
                        fix=f"Free space on the drive holding {part.parent}, then run 'engram models pull' again.",
                    ) from exc
                part.unlink(missing_ok=True)
                raise DownloadError(f"Cannot write {part}: {exc.strerror or exc}; the partial file was removed.",
                                    fix="Check that the models folder is writable.") from exc
            self._report(name, done, total, progress)
            if total is not None and done < total:
                raise self._dropped(name, done, total, None)
            return done, total

    def _report(self, name: str, done: int, total: int | None, progress: Progress | None) -> None:
        if progress is not None:
            progress(done, total)
        if self.events is not None:
            self.events.emit("download_did_progress", name=name, done=done, total=total)

    @staticmethod
    def _dropped(name: str, done: int, total: int | None, exc: BaseException | None) -> DownloadError:
        detail = f" ({exc})" if exc else ""
        return DownloadError(
            f"The connection dropped while downloading {name}, after {_mb(done)} of {_mb(total)}{detail}. "
            "The partial file is kept.",
            fix="Run 'engram models pull' again to resume where it stopped.",
        )

    @staticmethod
    def _http_error(exc: urllib.error.HTTPError, url: str) -> DownloadError:
        if exc.code == 404:
            return DownloadError(f"The model file was not found on the server (HTTP 404): {url}.",
                                 fix="Check the model name with 'engram models list'; if you set HF_ENDPOINT, check it too.")
        if exc.code in (401, 403):
            return DownloadError(f"The server refused the download (HTTP {exc.code}): {url}.",
                                 fix="The model may be gated: accept its licence on Hugging Face and set HF_TOKEN.")
        return DownloadError(f"The server answered HTTP {exc.code} for {url}.", fix="Try again later.")

    @staticmethod
    def _network_error(exc: BaseException, url: str) -> DownloadError:
        reason = getattr(exc, "reason", exc)
        return DownloadError(f"Cannot reach {urllib.parse.urlsplit(url).netloc}: {reason}.",
                             fix="Check the internet connection (or HF_ENDPOINT) and try again.")


def _mb(value: int | None) -> str:
    if value is None:
        return "an unknown size"
    return f"{value / 1_000_000:.1f} MB"
