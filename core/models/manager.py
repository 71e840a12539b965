"""``ModelManager``: which models are installed, which are configured, and one warm instance of each.

The engine exposes it as ``engine.models``.  Nothing is loaded at
construction.  ``chat_model()`` and ``embedder()`` return light handles that
load the configured model on first use, keep it warm, and hand calls to it;
a timer thread unloads a model after ``models.idle_unload_minutes`` without
use and stops cleanly on ``close()``.  Changing ``models.chat`` or
``models.embedding`` (``use()``) makes the next call load the new model.

Model files are looked up in the user's models folder, then in the seed
folders (``ENGRAM_SEED_MODELS``, else ``<repo>/.models``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

import numpy as np

from core.errors import InvalidInputError, ModelError, ModelUnavailableError
from core.events import EventBus
from core.models.base import ChatModel, Embedder, Message
from core.models.catalog import ROLES, Catalog, CatalogEntry, recommend, write_user_entry

if TYPE_CHECKING:
    from core.models.speed import SpeedSample

log = logging.getLogger(__name__)

SETTING_FOR_ROLE = {"chat": "models.chat", "embedding": "models.embedding"}
ModelFactory = Callable[[Path, CatalogEntry, dict], Any]
NOTE_SPEED_EVERY = 600.0  # seconds between two speed samples taken from ordinary answers


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS says, else all)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_seed_dirs() -> list[Path]:
    from core.models.seed import default_seed_dir

    return [default_seed_dir()]


def _load_llama_chat(path: Path, entry: CatalogEntry, options: dict) -> ChatModel:
    from core.models.llama import LlamaChatModel

    return LlamaChatModel(path, name=entry.name, context_length=options["context_length"], threads=options["threads"],
                          prompt_style=str(entry.extra.get("prompt") or "chat"))


def _load_llama_embedder(path: Path, entry: CatalogEntry, options: dict) -> Embedder:
    from core.models.llama import LlamaEmbedder

    return LlamaEmbedder(path, name=entry.name, threads=options["threads"])


@dataclass
class _Loaded:
    """One loaded model and how many calls are using it right now."""

    model: Any
    name: str
    path: Path
    load_seconds: float
    in_flight: int = 0
    retired: bool = False


class _Slot:
    def __init__(self) -> None:
        self.current: _Loaded | None = None
        self.last_used = 0.0
        self.last_error: str | None = None
        self.last_load_seconds: float | None = None
        self.load_lock = threading.Lock()


class ModelManager:
    """Installed and configured models, downloads, imports, and the warm instances."""

    def __init__(
        self,
        paths,
        settings,
        events: EventBus | None = None,
        *,
        seed_dirs: Sequence[Path] | None = None,
        chat_factory: ModelFactory | None = None,
        embedder_factory: ModelFactory | None = None,
        clock: Callable[[], float] = time.monotonic,
        reaper_interval: float | None = None,
    ):
        self.paths = paths
        self.settings = settings
        self.events = events
        self.catalog = Catalog(paths.models_dir)
        self.seed_dirs = [Path(p) for p in (seed_dirs if seed_dirs is not None else default_seed_dirs())]
        self._factories: dict[str, ModelFactory] = {
            "chat": chat_factory or _load_llama_chat,
            "embedding": embedder_factory or _load_llama_embedder,
        }
        self._clock = clock
        self._reaper_interval = reaper_interval
        self._slots = {role: _Slot() for role in ROLES}
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None
        self._closed = False
        self._speed_noted_at: float | None = None  # monotonic time note_speed last wrote a sample

    # --- lookup ----------------------------------------------------------
    def configured(self, role: str) -> str:
        return str(self.settings.get(SETTING_FOR_ROLE[role]))

    def search_dirs(self) -> list[Path]:
        return [self.paths.models_dir, *self.seed_dirs]

    def locate(self, entry: CatalogEntry) -> Path | None:
        """The installed file of ``entry``: the user's models folder first, then the seed folders."""
        for directory in self.search_dirs():
            candidate = directory / entry.file
            if candidate.is_file():
                return candidate
        return None

    def _entry_for(self, role: str, name: str) -> CatalogEntry:
        entry = self.catalog.find(name)
        if entry is None:
            raise ModelUnavailableError(
                f"The configured {role} model {name!r} is not one Engram knows.",
                fix=f"Run 'engram models list', then 'engram models use NAME' to pick a {role} model.",
            )
        return entry

    def _missing(self, role: str, entry: CatalogEntry) -> ModelUnavailableError:
        if entry.seed:
            fix = ("Run 'make setup' to prepare the offline seed models (or point ENGRAM_SEED_MODELS at them), "
                   "or choose another model with 'engram models use NAME'.")
        elif entry.extra.get("prepare"):
            fix = (f"Run '{entry.extra['prepare']}' to prepare it offline"
                   + (f" (or 'engram models pull {entry.name}')" if entry.downloadable else "")
                   + ", or choose an installed model with 'engram models use NAME'.")
        elif entry.downloadable:
            fix = f"Run 'engram models pull {entry.name}', or choose an installed model with 'engram models use NAME'."
        else:
            fix = "Import the file again with 'engram models import PATH', or choose another model."
        looked = ", ".join(str(d) for d in self.search_dirs())
        return ModelUnavailableError(
            f"The {role} model {entry.name} is not installed (looked for {entry.file} in {looked}).", fix=fix
        )

    def resolve(self, role: str) -> tuple[CatalogEntry, Path]:
        """The configured model of ``role`` and its file; ModelUnavailableError when it is missing."""
        entry = self._entry_for(role, self.configured(role))
        if entry.role != role:
            raise ModelUnavailableError(
                f"The model {entry.name} is a {entry.role} model, but it is configured as the {role} model.",
                fix=f"Run 'engram models use NAME' with a {role} model.",
            )
        path = self.locate(entry)
        if path is None:
            raise self._missing(role, entry)
        return entry, path

    def answer_style(self, model: ChatModel) -> str:
        """How answers are written with ``model``: ``extractive`` or ``generated``.

        ``models.answers`` decides when set; on ``auto`` the catalog entry's ``answers`` field (measured per
        model with 'make bench'), and ``generated`` for a model the catalog does not rate.
        """
        setting = str(self.settings.get("models.answers"))
        if setting in ("extractive", "generated"):
            return setting
        entry = self.catalog.find(getattr(model, "name", "") or "")
        style = entry.extra.get("answers") if entry is not None else None
        return style if style in ("extractive", "generated") else "generated"

    # --- handles -----------------------------------------------------------
    def chat_model(self) -> ChatModel:
        """A handle on the configured chat model; raises ModelUnavailableError when it is not installed."""
        self._check_open()
        entry, _ = self.resolve("chat")
        return ManagedChatModel(self, entry)

    def embedder(self) -> Embedder:
        """A handle on the configured embedder; raises ModelUnavailableError when it is not installed."""
        self._check_open()
        entry, _ = self.resolve("embedding")
        return ManagedEmbedder(self, entry)

    def _check_open(self) -> None:
        if self._closed:
            raise ModelError("The model manager is closed.", fix="This is a bug in Engram; please report it.")

    def _options(self) -> dict:
        return {
            "threads": int(self.settings.get("models.threads")),
            "context_length": int(self.settings.get("models.context_length")),
        }

    def _load(self, role: str) -> _Loaded:
        """The warm model of ``role``, loading (or swapping in) the configured one when needed."""
        slot = self._slots[role]
        with slot.load_lock:
            self._check_open()
            wanted = self.configured(role)
            with self._lock:
                current = slot.current
                if current is not None and current.name == wanted:
                    return current
            entry, path = self.resolve(role)
            if current is not None:
                self._retire(role, current)
            started = time.perf_counter()
            try:
                model = self._factories[role](path, entry, self._options())
            except ModelError as exc:
                slot.last_error = exc.message
                self._emit("model_did_fail", role=role, message=exc.message)
                raise ModelUnavailableError(exc.message, fix=exc.fix) from exc
            seconds = float(getattr(model, "load_seconds", time.perf_counter() - started))
            loaded = _Loaded(model=model, name=entry.name, path=path, load_seconds=seconds)
            with self._lock:
                slot.current = loaded
                slot.last_error = None
                slot.last_load_seconds = seconds
                slot.last_used = self._clock()
            self._ensure_reaper()
            self._emit("model_did_load", role=role, name=entry.name)
            return loaded

    @contextlib.contextmanager
    def using(self, role: str) -> Iterator[Any]:
        """Borrow the warm model of ``role`` for one call; it cannot be unloaded meanwhile."""
        while True:
            loaded = self._load(role)
            with self._lock:
                if self._slots[role].current is loaded and not loaded.retired:
                    loaded.in_flight += 1
                    break
        try:
            yield loaded.model
        finally:
            with self._lock:
                loaded.in_flight -= 1
                self._slots[role].last_used = self._clock()
                close_now = loaded.retired and loaded.in_flight == 0
            if close_now:
                self._close_model(role, loaded)

    def load(self, role: str) -> float:
        """Load the configured model of ``role`` now; returns its load time in seconds."""
        return self._load(role).load_seconds

    def _retire(self, role: str, loaded: _Loaded) -> None:
        with self._lock:
            if self._slots[role].current is loaded:
                self._slots[role].current = None
            loaded.retired = True
            close_now = loaded.in_flight == 0
        if close_now:
            self._close_model(role, loaded)

    def _close_model(self, role: str, loaded: _Loaded) -> None:
        try:
            loaded.model.close()
        except Exception:  # closing must never take the app down
            log.exception("closing %s model %s failed", role, loaded.name)
        self._emit("model_did_unload", role=role, name=loaded.name)

    def loaded(self, role: str) -> bool:
        """Whether a model of ``role`` is in memory now."""
        return self._slots[role].current is not None

    def unload(self, role: str | None = None) -> None:
        """Free the memory of the loaded model of ``role`` (or both)."""
        for r in [role] if role else list(ROLES):
            current = self._slots[r].current
            if current is not None:
                self._retire(r, current)

    def note_speed(self, model: Any) -> None:
        """Keep how fast the chat model ran here (from its ``last_stats``) as the speed sample for
        recommendations, at most every ``NOTE_SPEED_EVERY`` seconds; a short answer says nothing about speed."""
        from core.models.speed import SpeedSample, write_sample

        stats = getattr(model, "last_stats", None) or {}
        prompt_tokens = float(stats.get("prompt_tokens") or 0)
        tokens = float(stats.get("completion_tokens") or 0)
        prefill = float(stats.get("prefill_seconds") or 0)
        decode = float(stats.get("total_seconds") or 0) - prefill
        current = self._slots["chat"].current
        now = time.monotonic()
        if tokens < 8 or prompt_tokens <= 0 or prefill <= 0 or decode <= 0 or current is None:
            return
        if self._speed_noted_at is not None and now - self._speed_noted_at < NOTE_SPEED_EVERY:
            return
        try:
            size = current.path.stat().st_size
            write_sample(self.paths.models_dir, SpeedSample(
                model=current.name, model_bytes=size, prefill_tokens_per_second=round(prompt_tokens / prefill, 2),
                decode_tokens_per_second=round(tokens / decode, 2), measured_at=time.time()))
        except OSError as exc:
            log.warning("could not keep the measured model speed: %s", exc)
            return
        self._speed_noted_at = now

    # --- idle unloading ----------------------------------------------------
    def _idle_seconds(self) -> float:
        return float(self.settings.get("models.idle_unload_minutes")) * 60.0

    def _ensure_reaper(self) -> None:
        with self._lock:
            if self._reaper is not None or self._closed:
                return
            self._reaper = threading.Thread(target=self._reap_loop, name="engram-model-reaper", daemon=True)
            self._reaper.start()

    def _reap_loop(self) -> None:
        while not self._stop.is_set():
            interval = self._reaper_interval or min(30.0, max(1.0, self._idle_seconds() / 4))
            if self._stop.wait(interval):
                return
            self.unload_idle()

    def unload_idle(self, idle_seconds: float | None = None, roles: Sequence[str] | None = None) -> list[str]:
        """Unload every model unused for ``idle_seconds`` (default: the idle setting); returns the roles unloaded.

        A model in use, or used more recently, stays: the app asks this when its user is away,
        and an absorb running meanwhile keeps its model between batches.
        """
        idle = self._idle_seconds() if idle_seconds is None else float(idle_seconds)
        now = self._clock()
        victims = []
        with self._lock:
            for role, slot in self._slots.items():
                if roles is not None and role not in roles:
                    continue
                current = slot.current
                if current is not None and current.in_flight == 0 and now - slot.last_used >= idle:
                    victims.append((role, current))
        for role, loaded in victims:
            log.info("unloading idle %s model %s", role, loaded.name)
            self._retire(role, loaded)
        return [role for role, _ in victims]

    # --- listing, installing, choosing -------------------------------------
    def list(self) -> dict[str, Any]:
        """Every known model with its install state, plus the recommended models for this machine.

        The chat recommendation weighs this computer's measured speed (``speed.json``, written by
        ``measure_speed`` and by every long enough answer): the largest model that keeps an absorb batch under
        20 seconds here. Until a measurement exists it weighs memory and the number of cores.
        """
        import psutil

        from core.models.speed import predict_batch_seconds, read_sample, recommend_chat

        total_ram = int(psutil.virtual_memory().total)
        entries = self.catalog.entries()
        cores = usable_cores()
        sample = read_sample(self.paths.models_dir)
        chat = recommend_chat(entries, total_ram, sample, cpu_count=cores)
        recommended = {role: (e.name if (e := recommend(entries, role, total_ram, cores)) else None) for role in ROLES}
        recommended["chat"] = chat.entry.name if chat.entry else None
        rows = []
        for entry in entries:
            path = self.locate(entry)
            row = entry.as_dict()
            seconds = predict_batch_seconds(entry, sample) if entry.role == "chat" else None
            row.update(
                installed=path is not None,
                path=str(path) if path else None,
                configured=self.configured(entry.role) == entry.name if entry.role in ROLES else False,
                recommended=recommended.get(entry.role) == entry.name,
                downloadable=entry.downloadable,
                batch_seconds=round(seconds, 1) if seconds is not None else None,
            )
            rows.append(row)
        rows.sort(key=lambda r: (ROLES.index(r["role"]) if r["role"] in ROLES else 9, r.get("size") or 0))
        return {"models": rows, "recommended": recommended, "total_ram_bytes": total_ram, "cpu_count": cores,
                "speed": sample.to_dict() if sample else None, "chat_recommendation": chat.reason}

    def measure_speed(self) -> SpeedSample:
        """Time the configured chat model on a fixed prompt here and keep the result for recommendations."""
        from core.models.speed import measure, write_sample

        entry, path = self.resolve("chat")
        with self.using("chat") as model:
            sample = measure(model, path.stat().st_size)
        write_sample(self.paths.models_dir, sample)
        return sample

    def pull(self, name: str, progress=None, cancel: threading.Event | None = None) -> Path:
        """Download the catalog model ``name`` into the models folder; returns its path."""
        from core.models.download import Downloader, resolve_url
        from core.models.gguf_check import inspect_gguf

        entry = self.catalog.get(name)
        existing = self.locate(entry)
        if existing is not None:
            return existing
        if not entry.downloadable:
            if entry.seed:
                raise ModelError(f"{name} is an offline seed model and is not downloaded.",
                                 fix="Run 'make setup' to prepare the seed models.")
            raise ModelError(f"{name} has no download source.", fix="Import its file with 'engram models import PATH'.")
        self.paths.models_dir.mkdir(parents=True, exist_ok=True)
        dest = self.paths.models_dir / entry.file
        downloader = Downloader(self.events)
        # Unpinned catalog sizes are approximate: only a pinned entry's size is enforced.
        path = downloader.fetch(
            name, resolve_url(entry.repo, entry.file), dest,
            sha256=entry.sha256, size=entry.size if entry.sha256 else None, progress=progress, cancel=cancel,
        )
        try:
            inspect_gguf(path)
        except ModelError:
            path.unlink(missing_ok=True)
            raise
        return path

    def import_file(self, path: str | os.PathLike, *, name: str | None = None, role: str | None = None,
                    check_loads: bool = True) -> CatalogEntry:
        """Adopt a local GGUF file after checking it (magic, architecture, it loads); returns its entry."""
        from core.models.gguf_check import check_loads as load_check
        from core.models.gguf_check import inspect_gguf
        from core.models.seed import sha256_file

        source = Path(path).expanduser()
        info = inspect_gguf(source)
        role = role or info.role
        if role not in ROLES:
            raise InvalidInputError(f"Unknown model role {role!r}.", fix="Use 'chat' or 'embedding'.")
        if check_loads:
            load_check(source, role)
        name = name or re.sub(r"[^a-z0-9.]+", "-", source.stem.lower()).strip("-")
        shipped = self.catalog.find(name)
        if shipped is not None and not shipped.imported and shipped.file != source.name:
            name = f"{name}-imported"
        models_dir = self.paths.models_dir
        models_dir.mkdir(parents=True, exist_ok=True)
        dest = models_dir / source.name
        if not (dest.exists() and dest.samefile(source)):
            tmp = dest.with_name(dest.name + ".part")
            tmp.unlink(missing_ok=True)
            try:
                os.link(source, tmp)
            except OSError:
                try:
                    shutil.copyfile(source, tmp)
                except OSError as exc:
                    tmp.unlink(missing_ok=True)
                    raise ModelError(f"Cannot copy {source} into {models_dir}: {exc.strerror or exc}.",
                                     fix="Free some disk space or check the folder's permissions.") from exc
            os.replace(tmp, dest)
        entry = CatalogEntry(
            name=name,
            role=role,
            file=dest.name,
            label=info.name or name,
            size=dest.stat().st_size,
            sha256=sha256_file(dest),
            context_length=info.context_length,
            dimension=info.embedding_length if role == "embedding" else None,
            imported=True,
            notes=f"Imported from {source} ({info.architecture}).",
        )
        write_user_entry(models_dir, entry)
        return entry

    def use(self, name: str, role: str | None = None) -> str:
        """Make ``name`` the configured model of its role (or ``role``); returns the role."""
        entry = self.catalog.get(name)
        role = role or entry.role
        if role not in ROLES:
            raise InvalidInputError(f"Unknown model role {role!r}.", fix="Use 'chat' or 'embedding'.")
        if entry.role != role:
            raise InvalidInputError(f"{name} is a {entry.role} model and cannot be the {role} model.",
                                    fix=f"Pick a {role} model from 'engram models list'.")
        if self.locate(entry) is None:
            raise self._missing(role, entry)
        # The engine listens for settings_did_change on models.embedding and re-embeds in the background.
        self.settings.set(SETTING_FOR_ROLE[role], name)
        current = self._slots[role].current
        if current is not None and current.name != name:
            self._retire(role, current)
        return role

    def status(self) -> dict[str, Any]:
        """What the status bar and 'engram doctor' show about the models."""
        out: dict[str, Any] = {}
        for role in ROLES:
            name = self.configured(role)
            entry = self.catalog.find(name)
            path = self.locate(entry) if entry else None
            slot = self._slots[role]
            current = slot.current
            out[role] = {
                "configured": name,
                "name": name,
                "known": entry is not None,
                "installed": path is not None,
                "path": str(path) if path else None,
                "loaded": current is not None,
                "loaded_name": current.name if current else None,
                "load_seconds": slot.last_load_seconds,
                "error": slot.last_error,
            }
        out["roles"] = {role: out[role] for role in ROLES}
        out["idle_unload_minutes"] = self.settings.get("models.idle_unload_minutes")
        out["threads"] = self._options()["threads"] or max(1, (os.cpu_count() or 2) - 1)
        return out

    def close(self) -> None:
        """Stop the idle timer and free both models; the manager cannot be used afterwards."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            reaper, self._reaper = self._reaper, None
        self._stop.set()
        if reaper is not None and reaper is not threading.current_thread():
            reaper.join(timeout=5)
        self.unload()

    def _emit(self, event: str, **payload: Any) -> None:
        if self.events is not None:
            self.events.emit(event, **payload)


class ManagedChatModel(ChatModel):
    """The configured chat model as the manager keeps it: loaded on first use, unloaded when idle."""

    def __init__(self, manager: ModelManager, entry: CatalogEntry):
        self._manager = manager
        self.name = entry.name
        self.context_length = int(manager.settings.get("models.context_length"))

    def load(self) -> float:
        return self._manager.load("chat")

    def chat(self, messages: Sequence[Message], *, max_tokens: int = 256, temperature: float = 0.0) -> str:
        with self._manager.using("chat") as model:
            text = model.chat(messages, max_tokens=max_tokens, temperature=temperature)
            self._manager.note_speed(model)
            return text

    def stream_chat(self, messages: Sequence[Message], *, max_tokens: int = 256, temperature: float = 0.0) -> Iterator[str]:
        with self._manager.using("chat") as model:
            yield from model.stream_chat(messages, max_tokens=max_tokens, temperature=temperature)
            self._manager.note_speed(model)

    def chat_json(self, messages: Sequence[Message], schema: dict, *, max_tokens: int = 512) -> Any:
        with self._manager.using("chat") as model:
            return model.chat_json(messages, schema, max_tokens=max_tokens)

    def count_tokens(self, text: str) -> int:
        with self._manager.using("chat") as model:
            return model.count_tokens(text)

    @property
    def last_stats(self) -> dict:
        current = self._manager._slots["chat"].current  # noqa: SLF001 - same module family
        return dict(getattr(current.model, "last_stats", {}) if current else {})

    def close(self) -> None:
        """The manager owns the model; closing a handle does nothing."""


class ManagedEmbedder(Embedder):
    """The configured embedder as the manager keeps it: loaded on first use, unloaded when idle."""

    def __init__(self, manager: ModelManager, entry: CatalogEntry):
        self._manager = manager
        self.name = entry.name
        self._dimension = entry.dimension

    @property
    def dimension(self) -> int:  # type: ignore[override]
        if self._dimension is None:
            with self._manager.using("embedding") as model:
                self._dimension = int(model.dimension)
        return self._dimension

    def load(self) -> float:
        return self._manager.load("embedding")

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        with self._manager.using("embedding") as model:
            vectors = model.embed(texts)
        self._dimension = int(vectors.shape[1]) if vectors.ndim == 2 and vectors.shape[0] else self._dimension
        return vectors

    def close(self) -> None:
        """The manager owns the model; closing a handle does nothing."""
