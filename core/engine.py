"""``Engine``: the one facade the CLI and the desktop app talk to.

It owns the database, the settings, the models, capture and the background
scheduler, and exposes them as sub-managers::

    engine = Engine(Paths.from_env())
    engine.memories.add("semantic", {"name": "Ada", "summary": "Ada is my sister"})
    engine.memories.search("sister")

Creating an engine opens (or creates) the encrypted database and applies
migrations; nothing runs in the background until ``start()``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Any, Callable, Iterator

from core.absorb.absorber import Absorber
from core.absorb.jobs import BacklogTrigger, absorb_job
from core.absorb.recheck import recheck_job
from core.backup.backups import BackupService
from core.backup.jobs import backup_job
from core.capture.service import CaptureService
from core.capture.status import clear_capture_status, publish_capture_status, read_capture_status
from core.chat import Answer, Assistant
from core.consolidate.consolidator import Consolidator
from core.consolidate.jobs import IdleTrigger, consolidation_jobs
from core.events import EventBus
from core.keystore import KeyStore
from core.logs import start_file_logging, stop_file_logging
from core.models.base import ChatModel, Embedder
from core.models.manager import ModelManager
from core.paths import Paths
from core.recall.quick import QuickRecall
from core.recall.retrieve import Recall
from core.scheduling import JobSpec, Scheduler
from core.settings import Settings
from core.store.opening import BUSY_TIMEOUT, open_store

log = logging.getLogger(__name__)

EMBED_JOB = "embed"
SETTINGS_POLL_SECONDS = 2.0
STATUS_MIN_SECONDS = 1.0  # capture events publish the status at most this often
STATUS_HEARTBEAT_SECONDS = 10.0  # and the watcher at least this often, so a stale file means no app
CAPTURE_EVENTS = ("capture_did_change_state", "capture_did_update_health", "capture_did_pause", "capture_did_resume",
                  "capture_did_fail")


class Engine:
    """Engram's engine; see the module docstring."""

    def __init__(
        self,
        paths: Paths | None = None,
        *,
        embedder: Embedder | None = None,
        chat_model: ChatModel | None = None,
        clock: Callable[[], float] = time.time,
        busy_timeout: float = BUSY_TIMEOUT,
    ):
        self.paths = (paths or Paths.from_env()).ensure()
        self.clock = clock
        self.events = EventBus()
        self.settings = Settings(self.paths, self.events)
        self._injected_embedder = embedder
        self._injected_chat = chat_model
        self._closed = False
        self._log_handler = None
        self.keys = KeyStore(self.paths)
        # Backups are made before any migration: the service reads the file on its own connection until
        # the store is open, then through it.
        self.backups = BackupService(self.paths, self.settings, None, clock=clock, events=self.events)
        opened = open_store(
            self.paths, self.keys, self.events, self._embedder, clock,
            before_migration=self._backup_before_migration,
            copy_folders=sorted({self.backups.folder(), self.paths.backups_dir}), busy_timeout=busy_timeout,
        )
        self.store, self.key_info, self.migrations_applied = opened.store, opened.key_info, opened.migrations_applied
        # Shared with every other engine on this directory until close; a restore needs it alone.
        self.data_lock = opened.lock
        self.backups.key_hex = opened.key_hex
        if not self.store.read_only:
            self.backups.attach(self.store)
        self.models = ModelManager(self.paths, self.settings, self.events)
        self.indexer = self.store.indexer
        self.memories = self.store.memories
        self.observations = self.store.observations
        self.forgetting = self.store.forgetting
        self._capture: CaptureService | None = None
        self._scheduler: Scheduler | None = None
        self._started = False
        self._stopping = threading.Event()
        self._status_published = 0.0
        self.recall = Recall(self.store, clock=clock)
        self.assistant = Assistant(self.store, self.recall, self.chat_model, clock=clock, answer_style=self.models.answer_style)
        self.quick = QuickRecall(self.store)
        self.events.subscribe("settings_did_change", self._on_setting_changed)

    @property
    def read_only(self) -> bool:
        """True when the data directory is read-only: search, get, recall and ask work; nothing is saved."""
        return self.store.read_only

    def _backup_before_migration(self, key_hex: str, pending):
        self.backups.key_hex = key_hex
        return self.backups.before_migration(pending)

    # -- models ----------------------------------------------------------------------

    def _embedder(self) -> Embedder:
        if self._injected_embedder is not None:
            return self._injected_embedder
        return self.models.embedder()

    @property
    def embedder(self) -> Embedder | None:
        return self.indexer.embedder()

    def chat_model(self) -> ChatModel:
        """The chat model; raises ``ModelUnavailableError`` with a fix when there is none."""
        if self._injected_chat is not None:
            return self._injected_chat
        return self.models.chat_model()

    def _on_setting_changed(self, key: str, value: Any) -> None:
        if key == "models.embedding":
            # The new embedder is picked up on next use; every row is re-embedded in the background.
            self.indexer.reset()
            if self._scheduler is not None:
                self._scheduler.trigger(EMBED_JOB)
        elif key == "capture.enabled" and self._started:
            # Capture follows the setting wherever it was changed (the app, the CLI, a test).
            if value:
                self.capture.start()
                self._apply_pause()
            else:
                self.capture.stop()
            self._publish_capture_status()
        elif key == "capture.paused_until" and self._started:
            self._apply_pause()
            self._publish_capture_status()

    # -- the rooms, wired -------------------------------------------------------------

    def make_absorber(self, *, use_llm: bool | None = None) -> Absorber:
        """An absorber over this store (``use_llm`` None: as ``absorb.use_llm`` says)."""
        return Absorber(self.store, self.settings, self.events, self.chat_model, clock=self.clock, use_llm=use_llm)

    def make_consolidator(self, *, use_model: bool | None = None) -> Consolidator:
        """A consolidator over this store (``use_model`` None: as ``consolidation.use_model`` says)."""
        return Consolidator(self.store, self.settings, self.events, self.chat_model, clock=self.clock, use_model=use_model)

    def make_recall(self, weights) -> Recall:
        """Recall with other ranking weights (for tuning and evaluation)."""
        return Recall(self.store, clock=self.clock, weights=weights)

    def _jobs(self) -> list[JobSpec]:
        def embed_pending(stop) -> dict:
            return {"embedded": self.indexer.index_pending(max_rows=2000, stop=stop)}

        return [
            JobSpec(EMBED_JOB, embed_pending, 60, "Compute vectors for new memories and observations", catch_up=False),
            absorb_job(self.make_absorber(), self.settings),
            *consolidation_jobs(self.make_consolidator(), self.settings),
            backup_job(self.backups),
            recheck_job(self.store, self.settings),
        ]

    @property
    def scheduler(self) -> Scheduler:
        """The background jobs (built on first use; they run only after ``start()``)."""
        if self._scheduler is None:
            self._scheduler = Scheduler(self.store.job_runs, self._jobs(), clock=self.clock)
        return self._scheduler

    # -- recall ----------------------------------------------------------------------

    def ask(self, question: str, **kwargs: Any) -> Answer:
        """Answer ``question`` from memory, with citations; see ``core.chat.Assistant.ask``."""
        return self.assistant.ask(question, **kwargs)

    def chat_history(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest exchanges with Engram (question, answer, citations, asked_at), oldest first."""
        return self.store.chat_log.recent(limit)

    def clear_chat_history(self) -> int:
        """Delete the conversation with Engram (its answers); returns how many exchanges went."""
        return self.store.chat_log.clear()

    def quick_recall(self, text: str, limit: int = 20) -> list[dict[str, Any]]:
        """Search-as-you-type across every memory type and observations, without a model."""
        return self.quick.recall(text, limit)

    # -- capture ---------------------------------------------------------------------

    @property
    def capture(self) -> CaptureService:
        """The screen capture service (created on first use; it starts only when asked)."""
        if self._capture is None:
            self._capture = CaptureService(settings=self.settings, events=self.events, observations=self.observations)
        return self._capture

    def pause_capture(self, seconds: float | None = None) -> dict:
        """Pause capture for ``seconds`` (None: until resumed), here and in any running Engram; returns the status.

        The pause is a setting, so the app and the CLI share it: ``engram capture
        pause`` pauses the running app within seconds, and a pause outlives a restart.
        """
        until = -1.0 if seconds is None else self.clock() + max(0.0, float(seconds))
        self.settings.set("capture.paused_until", until)
        self._apply_pause()
        return self.capture_status()

    def resume_capture(self) -> dict:
        """End a pause; after a failure or a stop, capture starts again if it is enabled. Returns the status."""
        self.settings.set("capture.paused_until", 0.0)
        self.capture.resume()
        if self._started and self.settings.get("capture.enabled") and not self.capture.is_running:
            self.capture.start()
        return self.capture_status()

    def _apply_pause(self) -> None:
        until = float(self.settings.get("capture.paused_until") or 0.0)
        if until == -1.0:
            self.capture.pause(None)
        elif until > self.clock():
            self.capture.pause(until - self.clock())
        elif self.capture.pause_switch.until is not None or self.capture.status().get("state") == "paused":
            self.capture.resume()

    def capture_status(self) -> dict:
        """Capture's state and health here, or, when this process does not capture, the running app's."""
        if self._started or self._capture is not None and self._capture.is_running:
            status = self.capture.status()
            status["where"] = "here"
            return status
        published = read_capture_status(self.paths)
        if published is not None:
            return published
        status = self.capture.status()
        status["where"] = "here"
        paused = float(self.settings.get("capture.paused_until") or 0.0)
        if paused == -1.0 or paused > self.clock():
            status["paused_until"] = None if paused == -1.0 else paused
            status["paused"] = True
        return status

    def _publish_capture_status(self, *, force: bool = False) -> None:
        """Tell other processes (``engram capture status``) how this one's capture is doing."""
        if not self._started or self._closed and not force:
            return
        now = time.monotonic()
        if not force and now - self._status_published < STATUS_MIN_SECONDS:
            return
        self._status_published = now
        try:
            publish_capture_status(self.paths, self.capture.status(), running=not self._closed)
        except OSError as exc:  # a full disk must not stop capture; the CLI then reports what it can
            log.warning("could not publish the capture status: %s", exc)

    # -- background ------------------------------------------------------------------

    def start(self) -> None:
        """Start background work: the scheduler (embedding, absorbing, consolidation) and capture if enabled."""
        if self._started:
            return
        if self.read_only:
            log.warning("the data directory %s is read-only: background work and capture stay off", self.paths.data_dir)
            return
        self._started = True
        if self._log_handler is None:
            self._log_handler = start_file_logging(self.paths)
        scheduler = self.scheduler
        self.events.subscribe("observation_did_add", BacklogTrigger(scheduler.trigger, self.observations, self.settings))
        self.events.subscribe("capture_did_change_state", IdleTrigger(scheduler, self.settings))
        scheduler.start()
        for event in CAPTURE_EVENTS:
            self.events.subscribe(event, lambda **_: self._publish_capture_status())
        self._watcher = threading.Thread(target=self._watch, name="engram-watch", daemon=True)
        self._watcher.start()
        if self.settings.get("capture.enabled"):
            self.capture.start()
            self._apply_pause()
        self._publish_capture_status(force=True)

    def _watch(self) -> None:
        """Settings changed by another process (``engram config set``) reach this one within seconds,
        and this one's capture status stays fresh for ``engram capture status``."""
        beat = 0.0
        while not self._stopping.wait(SETTINGS_POLL_SECONDS):
            try:
                self.settings.reload_if_changed()
                if time.monotonic() - beat >= STATUS_HEARTBEAT_SECONDS:
                    beat = time.monotonic()
                    self._publish_capture_status(force=True)
            except Exception:  # a half-written file or a full disk must not end the watch
                log.exception("watching the settings failed")

    @contextlib.contextmanager
    def paused_background(self) -> Iterator[None]:
        """Capture stopped and no background job running during the block (a restore swaps the database)."""
        capturing = self._capture is not None and self._capture.is_running
        if capturing:
            self._capture.stop()
        try:
            with self._scheduler.paused() if self._scheduler is not None else contextlib.nullcontext():
                yield
        finally:
            if capturing and not self._closed:
                self._capture.start()

    # -- status ----------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        counts = self.memories.counts()
        return {
            "memories": sum(counts.values()),
            "by_type": counts,
            "archived": self.memories.count() - self.memories.count(include_archived=False),
            "observations": self.observations.count(),
            "observations_unabsorbed": self.observations.count(unabsorbed=True),
            "pending_embeddings": self.indexer.pending_count(),
            "database_bytes": self.paths.db_path.stat().st_size if self.paths.db_path.exists() else 0,
        }

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        if self._started:
            clear_capture_status(self.paths)
        if self._scheduler is not None:
            try:
                self._scheduler.shutdown()
            except Exception:
                log.exception("stopping the scheduler failed")
        if self._capture is not None:
            try:
                self._capture.close()
            except Exception:
                log.exception("stopping capture failed")
        try:
            self.models.close()
        except Exception:
            log.exception("closing models failed")
        self.store.close()
        if self.data_lock is not None:
            self.data_lock.release()
        if self._log_handler is not None:
            stop_file_logging(self._log_handler)
            self._log_handler = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
