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

import logging
import time
from typing import Any, Callable

from core.absorb.absorber import Absorber
from core.absorb.jobs import BacklogTrigger, ScreenVault, absorb_job
from core.capture.service import CaptureService
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
        opened = open_store(self.paths, self.keys, self.events, self._embedder, clock, busy_timeout=busy_timeout)
        self.store, self.key_info, self.migrations_applied = opened.store, opened.key_info, opened.migrations_applied
        self.models = ModelManager(self.paths, self.settings, self.events)
        self.indexer = self.store.indexer
        self.memories = self.store.memories
        self.observations = self.store.observations
        self.forgetting = self.store.forgetting
        self._capture: CaptureService | None = None
        self._scheduler: Scheduler | None = None
        self._started = False
        self.recall = Recall(self.store, clock=clock)
        self.assistant = Assistant(self.store, self.recall, self.chat_model, clock=clock)
        self.quick = QuickRecall(self.store)
        self.events.subscribe("settings_did_change", self._on_setting_changed)

    @property
    def read_only(self) -> bool:
        """True when the data directory is read-only: search, get, recall and ask work; nothing is saved."""
        return self.store.read_only

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
            else:
                self.capture.stop()

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

    def quick_recall(self, text: str, limit: int = 20) -> list[dict[str, Any]]:
        """Search-as-you-type across every memory type and observations, without a model."""
        return self.quick.recall(text, limit)

    # -- capture ---------------------------------------------------------------------

    @property
    def capture(self) -> CaptureService:
        """The screen capture service (created on first use; it starts only when asked)."""
        if self._capture is None:
            self._capture = CaptureService(settings=self.settings, events=self.events, observations=self.observations)
            self._capture.set_vault_handler(ScreenVault(self.memories))
        return self._capture

    def resume_capture(self) -> dict:
        """End a pause; after a failure or a stop, capture starts again if it is enabled. Returns the status."""
        self.capture.resume()
        if self.settings.get("capture.enabled") and not self.capture.is_running:
            self.capture.start()
        return self.capture.status()

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
        if self.settings.get("capture.enabled"):
            self.capture.start()

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
        if self._log_handler is not None:
            stop_file_logging(self._log_handler)
            self._log_handler = None

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
