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
import importlib
import logging
import time
from typing import Any, Callable, Iterator

from core.backup.backups import BackupService
from core.backup.lock import DataDirLock
from core.chat import Answer, Assistant
from core.db import Database
from core.errors import ModelUnavailableError, StorageError
from core.events import EventBus
from core.indexer import Indexer
from core.keystore import KeyStore
from core.logs import start_file_logging, stop_file_logging
from core.memory.store import MemoryStore
from core.models.base import ChatModel, Embedder
from core.observations import ObservationStore
from core.paths import Paths
from core.schema import apply_migrations
from core.settings import Settings

log = logging.getLogger(__name__)


def _optional(module: str, name: str):
    """A class from a part of Engram that may not be built in this checkout."""
    try:
        return getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return None
        raise


class Engine:
    """Engram's engine; see the module docstring."""

    def __init__(
        self,
        paths: Paths | None = None,
        *,
        embedder: Embedder | None = None,
        chat_model: ChatModel | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.paths = (paths or Paths.from_env()).ensure()
        self.clock = clock
        self.events = EventBus()
        self.settings = Settings(self.paths, self.events)
        self._injected_embedder = embedder
        self._injected_chat = chat_model
        self._closed = False
        self._background: list[Any] = []
        self._log_handler = None
        self.keys = KeyStore(self.paths)
        # Shared with every other engine on this directory; a restore waits for all of them to close.
        self.data_lock = DataDirLock(self.paths).acquire_shared()
        db_exists = self.paths.db_path.exists() and self.paths.db_path.stat().st_size > 0
        if db_exists:
            Database.check_file_shape(self.paths.db_path)  # a damaged file is named as such, not as a key problem
        key, self.key_info = self.keys.load()
        if key is None:
            if db_exists:
                raise StorageError(
                    f"The database {self.paths.db_path} exists but its key is missing "
                    f"(looked in the OS keyring and in {self.paths.key_file}).",
                    fix="If you made a recovery code, run 'engram recover'; otherwise restore the key file or keyring "
                    "entry from your backup. Engram has not changed the database.",
                )
            key, self.key_info = self.keys.create()
        self.db = Database.open(self.paths.db_path, key)
        self.backups = BackupService(self.paths, self.settings, key, db=self.db, clock=clock, events=self.events)
        try:
            self.migrations_applied = apply_migrations(self.db, self.backups.before_migration)
        except Exception:
            self.db.close()
            self.data_lock.release()
            raise
        manager_cls = _optional("core.models.manager", "ModelManager")
        self.models = manager_cls(self.paths, self.settings, self.events) if manager_cls else None
        self.indexer = Indexer(self.db, self.events, self._embedder)
        self.memories = MemoryStore(self.db, self.events, self.indexer, clock)
        self.observations = ObservationStore(self.db, self.events, self.indexer, clock)
        self._capture = None
        recall_cls = _optional("core.recall.retrieve", "Recall")
        self.recall = recall_cls(self) if recall_cls else None
        self.assistant = Assistant(self)
        self.events.subscribe("settings_did_change", self._on_setting_changed)

    # -- models ----------------------------------------------------------------------

    def _embedder(self) -> Embedder:
        if self._injected_embedder is not None:
            return self._injected_embedder
        if self.models is None:
            raise ModelUnavailableError("No embedding model support is installed.", fix="Run 'make setup'.")
        return self.models.embedder()

    @property
    def embedder(self) -> Embedder | None:
        return self.indexer.embedder()

    def chat_model(self) -> ChatModel:
        """The chat model; raises ``ModelUnavailableError`` with a fix when there is none."""
        if self._injected_chat is not None:
            return self._injected_chat
        if self.models is None:
            raise ModelUnavailableError("No chat model support is installed.", fix="Run 'make setup'.")
        return self.models.chat_model()

    def _on_setting_changed(self, key: str, value: Any) -> None:
        if key == "models.embedding":
            # The new embedder is picked up on next use; every row is re-embedded in the background.
            self.indexer.reset()
            for service in self._background:
                if hasattr(service, "trigger"):
                    service.trigger("embed")

    # -- recall ----------------------------------------------------------------------

    def ask(self, question: str, **kwargs: Any) -> Answer:
        """Answer ``question`` from memory, with citations; see ``core.chat.Assistant.ask``."""
        return self.assistant.ask(question, **kwargs)

    def quick_recall(self, text: str, limit: int = 20) -> list[dict[str, Any]]:
        """Search-as-you-type across every memory type and observations, without a model."""
        return self.assistant.quick_recall(text, limit)

    # -- capture ---------------------------------------------------------------------

    @property
    def capture(self):
        """The screen capture service (created on first use; it starts only when asked)."""
        if self._capture is None:
            service_cls = _optional("core.capture.service", "CaptureService")
            if service_cls is None:
                return None
            self._capture = service_cls(settings=self.settings, events=self.events, observations=self.observations)
        return self._capture

    # -- background ------------------------------------------------------------------

    def start(self) -> None:
        """Start background work: the scheduler (embedding, absorbing, consolidation) and capture if enabled."""
        if self._log_handler is None:
            self._log_handler = start_file_logging(self.paths)
        scheduler_cls = _optional("core.scheduling", "Scheduler")
        if scheduler_cls is not None and not self._background:
            scheduler = scheduler_cls(self)
            scheduler.start()
            self._background.append(scheduler)
        if self.settings.get("capture.enabled") and self.capture is not None:
            self.capture.start()

    @contextlib.contextmanager
    def paused_background(self) -> Iterator[None]:
        """Capture stopped and no background job running during the block (a restore swaps the database)."""
        capturing = self._capture is not None and self._capture.is_running
        if capturing:
            self._capture.stop()
        try:
            with contextlib.ExitStack() as stack:
                for service in self._background:
                    if hasattr(service, "paused"):
                        stack.enter_context(service.paused())
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
        for service in reversed(self._background):
            try:
                service.shutdown()
            except Exception:
                log.exception("stopping %s failed", service)
        if self._capture is not None:
            try:
                self._capture.close()
            except Exception:
                log.exception("stopping capture failed")
        if self.models is not None:
            try:
                self.models.close()
            except Exception:
                log.exception("closing models failed")
        self.db.close()
        self.data_lock.release()
        if self._log_handler is not None:
            stop_file_logging(self._log_handler)
            self._log_handler = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
