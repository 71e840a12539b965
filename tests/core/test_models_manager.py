"""ModelManager with fake model factories: lookup, errors, lazy loading, idle unloading, use, import, status."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from core.errors import InvalidInputError, ModelError, ModelUnavailableError, NotFoundError
from core.events import EventBus
from core.models.base import FakeChatModel, FakeEmbedder
from core.models.catalog import read_user_entries
from core.models.manager import ModelManager
from core.settings import Settings

CHAT_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBED_FILE = "all-MiniLM-L6-v2-f16.gguf"


def write_tiny_gguf(path, arch="llama", pooling=None):
    """A structurally valid GGUF with one small tensor (llama.cpp could not run it, the checks can read it)."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_name("tiny test model")
    writer.add_context_length(128)
    writer.add_embedding_length(8)
    writer.add_block_count(1)
    if pooling is not None:
        writer.add_pooling_type(gguf.PoolingType(pooling))
    writer.add_tensor("token_embd.weight", np.arange(32 * 8, dtype=np.float32).reshape(32, 8))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class Factory:
    """Counts loads and hands out fakes that remember being closed."""

    def __init__(self, kind: str, fail: Exception | None = None):
        self.kind = kind
        self.fail = fail
        self.loaded: list = []

    def __call__(self, path, entry, options):
        if self.fail is not None:
            raise self.fail
        if self.kind == "chat":
            model = FakeChatModel(lambda messages, schema: {"ok": True} if schema else "hello", name=entry.name)
        else:
            model = FakeEmbedder(dimension=384, name=entry.name)
        model.closed = False

        def close():
            model.closed = True

        model.close = close
        model.load_seconds = 0.01
        model.path = path
        self.loaded.append(model)
        return model


@pytest.fixture
def seed_dir(tmp_path):
    directory = tmp_path / "seed"
    directory.mkdir()
    return directory


@pytest.fixture
def installed(seed_dir):
    (seed_dir / CHAT_FILE).write_bytes(b"GGUF stand-in")
    (seed_dir / EMBED_FILE).write_bytes(b"GGUF stand-in")
    return seed_dir


@pytest.fixture
def make_manager(paths, seed_dir):
    made = []

    def make(**kwargs):
        events = kwargs.pop("events", EventBus())
        settings = Settings(paths, events)
        kwargs.setdefault("chat_factory", Factory("chat"))
        kwargs.setdefault("embedder_factory", Factory("embedding"))
        manager = ModelManager(paths, settings, events, seed_dirs=[seed_dir], **kwargs)
        made.append(manager)
        return manager

    yield make
    for manager in made:
        manager.close()


def test_missing_seed_model_is_unavailable_with_setup_fix(make_manager):
    manager = make_manager()
    with pytest.raises(ModelUnavailableError) as info:
        manager.chat_model()
    assert "smollm2-135m-instruct-q4_1" in info.value.message
    assert "make setup" in info.value.fix
    with pytest.raises(ModelUnavailableError):
        manager.embedder()


def test_missing_downloadable_model_suggests_pull(make_manager, paths):
    manager = make_manager()
    manager.settings.set("models.chat", "qwen2.5-1.5b-instruct-q4_k_m")
    with pytest.raises(ModelUnavailableError) as info:
        manager.chat_model()
    assert "engram models pull qwen2.5-1.5b-instruct-q4_k_m" in info.value.fix


def test_unknown_configured_model_is_unavailable(make_manager):
    manager = make_manager()
    manager.settings.set("models.embedding", "no-such-model")
    with pytest.raises(ModelUnavailableError) as info:
        manager.embedder()
    assert "no-such-model" in info.value.message


def test_nothing_loads_until_first_use_then_stays_warm(make_manager, installed):
    chat_factory = Factory("chat")
    events = EventBus()
    loads = []
    events.subscribe("model_did_load", lambda role, name: loads.append((role, name)))
    manager = make_manager(chat_factory=chat_factory, events=events)
    chat = manager.chat_model()
    assert chat_factory.loaded == []
    assert manager.status()["chat"]["loaded"] is False
    assert chat.chat([{"role": "user", "content": "hi"}]) == "hello"
    assert chat.chat_json([{"role": "user", "content": "hi"}], {"type": "object"}) == {"ok": True}
    assert len(chat_factory.loaded) == 1
    assert chat_factory.loaded[0].path == installed / CHAT_FILE
    assert loads == [("chat", "smollm2-135m-instruct-q4_1")]
    status = manager.status()["chat"]
    assert status["loaded"] is True and status["load_seconds"] == pytest.approx(0.01)


def test_user_models_dir_wins_over_seed(make_manager, installed, paths):
    (paths.models_dir / CHAT_FILE).write_bytes(b"user copy")
    manager = make_manager()
    entry, path = manager.resolve("chat")
    assert path == paths.models_dir / CHAT_FILE


def test_idle_model_is_unloaded_and_reloaded_on_next_use(make_manager, installed):
    clock = Clock()
    factory = Factory("embedding")
    manager = make_manager(embedder_factory=factory, clock=clock)
    embedder = manager.embedder()
    assert embedder.dimension == 384  # from the catalog, no load needed
    assert factory.loaded == []
    vectors = embedder.embed(["one", "two"])
    assert vectors.shape == (2, 384)
    clock.now += 9 * 60
    assert manager.unload_idle() == []
    clock.now += 2 * 60
    assert manager.unload_idle() == ["embedding"]
    assert factory.loaded[0].closed is True
    assert manager.status()["embedding"]["loaded"] is False
    embedder.embed(["three"])
    assert len(factory.loaded) == 2


def test_model_in_use_is_not_unloaded(make_manager, installed):
    clock = Clock()
    factory = Factory("chat")
    manager = make_manager(chat_factory=factory, clock=clock)
    with manager.using("chat") as model:
        clock.now += 3600
        assert manager.unload_idle() == []
        assert model.closed is False


def test_reaper_thread_stops_on_close(make_manager, installed):
    manager = make_manager(reaper_interval=0.01)
    manager.chat_model().chat([{"role": "user", "content": "hi"}])
    reaper = manager._reaper
    assert reaper is not None and reaper.is_alive()
    manager.close()
    assert not reaper.is_alive()
    with pytest.raises(ModelError):
        manager.chat_model()


def test_concurrent_first_calls_load_once(make_manager, installed):
    factory = Factory("embedding")
    manager = make_manager(embedder_factory=factory)
    embedder = manager.embedder()
    threads = [threading.Thread(target=embedder.embed, args=(["text"],)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(factory.loaded) == 1


def test_load_failure_becomes_unavailable_and_is_reported(make_manager, installed):
    events = EventBus()
    failures = []
    events.subscribe("model_did_fail", lambda role, message: failures.append((role, message)))
    too_big = ModelError("The model needs 9 GB but 1 GB is free.", fix="Choose a smaller model.")
    manager = make_manager(chat_factory=Factory("chat", fail=too_big), events=events)
    chat = manager.chat_model()
    with pytest.raises(ModelUnavailableError) as info:
        chat.chat([{"role": "user", "content": "hi"}])
    assert info.value.fix == "Choose a smaller model."
    assert failures == [("chat", too_big.message)]
    assert manager.status()["chat"]["error"] == too_big.message


def test_use_switches_setting_and_retires_loaded_model(make_manager, installed, paths):
    (paths.models_dir / "bge-small-en-v1.5-f16.gguf").write_bytes(b"GGUF stand-in")
    factory = Factory("embedding")
    events = EventBus()
    changes = []
    events.subscribe("settings_did_change", lambda key, value: changes.append((key, value)))
    manager = make_manager(embedder_factory=factory, events=events)
    manager.embedder().embed(["x"])
    assert manager.use("bge-small-en-v1.5-f16") == "embedding"
    assert manager.settings.get("models.embedding") == "bge-small-en-v1.5-f16"
    assert ("models.embedding", "bge-small-en-v1.5-f16") in changes
    assert factory.loaded[0].closed is True
    manager.embedder().embed(["y"])
    assert factory.loaded[1].name == "bge-small-en-v1.5-f16"


def test_use_refuses_missing_unknown_and_wrong_role(make_manager, installed):
    manager = make_manager()
    with pytest.raises(ModelUnavailableError):
        manager.use("llama-3.1-8b-instruct-q4_k_m")
    with pytest.raises(NotFoundError):
        manager.use("no-such-model")
    with pytest.raises(InvalidInputError):
        manager.use("all-minilm-l6-v2-f16", role="chat")
    assert manager.settings.get("models.chat") == "smollm2-135m-instruct-q4_1"


def test_list_marks_installed_configured_and_recommends(make_manager, installed):
    listing = make_manager().list()
    rows = {row["name"]: row for row in listing["models"]}
    assert rows["smollm2-135m-instruct-q4_1"]["installed"] is True
    assert rows["smollm2-135m-instruct-q4_1"]["configured"] is True
    assert rows["llama-3.1-8b-instruct-q4_k_m"]["installed"] is False
    assert rows["llama-3.1-8b-instruct-q4_k_m"]["downloadable"] is True
    assert rows["all-minilm-l6-v2-f16"]["downloadable"] is False
    assert listing["recommended"]["chat"] in rows
    assert rows[listing["recommended"]["chat"]]["recommended"] is True


def test_import_adopts_checked_gguf_and_registers_it(make_manager, tmp_path, paths):
    source = write_tiny_gguf(tmp_path / "My-Model.Q8_0.gguf")
    manager = make_manager()
    entry = manager.import_file(source, check_loads=False)
    assert entry.name == "my-model.q8.0" or entry.name.startswith("my-model")
    assert entry.role == "chat"
    assert (paths.models_dir / "My-Model.Q8_0.gguf").read_bytes() == source.read_bytes()
    assert [e.name for e in read_user_entries(paths.models_dir)] == [entry.name]
    assert manager.catalog.get(entry.name).imported is True
    manager.use(entry.name)
    assert manager.settings.get("models.chat") == entry.name


def test_import_detects_embedding_role(make_manager, tmp_path):
    source = write_tiny_gguf(tmp_path / "encoder.gguf", arch="bert", pooling=1)
    entry = make_manager().import_file(source, check_loads=False)
    assert entry.role == "embedding"


def test_import_refuses_non_gguf_and_truncated(make_manager, tmp_path, paths):
    manager = make_manager()
    junk = tmp_path / "notes.gguf"
    junk.write_text("this is not a model")
    with pytest.raises(ModelError) as info:
        manager.import_file(junk, check_loads=False)
    assert "GGUF signature" in info.value.message
    good = write_tiny_gguf(tmp_path / "whole.gguf")
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(good.read_bytes()[:-200])
    with pytest.raises(ModelError) as info:
        manager.import_file(cut, check_loads=False)
    assert "truncated" in info.value.message
    assert not list(paths.models_dir.glob("*.gguf"))


def test_pull_downloads_catalog_model_from_hf_endpoint(make_manager, tmp_path, paths, monkeypatch):
    import hashlib
    import http.server

    from core.models import catalog as catalog_module
    from core.models.catalog import CatalogEntry

    body = write_tiny_gguf(tmp_path / "served.gguf").read_bytes()
    entry = CatalogEntry(name="tiny-chat", role="chat", file="tiny.gguf", repo="org/tiny-GGUF", size=len(body),
                         sha256=hashlib.sha256(body).hexdigest())
    shipped = catalog_module.shipped_entries()
    monkeypatch.setattr(catalog_module, "shipped_entries", lambda: shipped + [entry])
    requested = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            requested.append(self.path)
            if self.path != "/org/tiny-GGUF/resolve/main/tiny.gguf":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
        manager = make_manager()
        progress = []
        path = manager.pull("tiny-chat", progress=lambda done, total: progress.append((done, total)))
        assert path == paths.models_dir / "tiny.gguf"
        assert path.read_bytes() == body
        assert progress[-1] == (len(body), len(body))
        assert manager.pull("tiny-chat") == path  # already installed: no second download
        assert len(requested) == 1
        manager.use("tiny-chat")
        assert manager.settings.get("models.chat") == "tiny-chat"
    finally:
        server.shutdown()
        server.server_close()


def test_pull_refuses_seed_model(make_manager):
    with pytest.raises(ModelError) as info:
        make_manager().pull("all-minilm-l6-v2-f16")
    assert "make setup" in info.value.fix


def run_cli(argv, capsys):
    import argparse

    from core.cli import CliContext
    from core.models import cli as models_cli

    parser = argparse.ArgumentParser(prog="engram")
    models_cli.add_parsers(parser.add_subparsers())
    args = parser.parse_args(argv)
    code = args.func(args, CliContext(args))
    return code, capsys.readouterr()


def test_cli_list_json_and_use(paths, capsys, monkeypatch, tmp_path):
    import json

    seed = tmp_path / "seed-cli"
    seed.mkdir()
    (seed / CHAT_FILE).write_bytes(b"stand-in")
    monkeypatch.setenv("ENGRAM_SEED_MODELS", str(seed))
    code, out = run_cli(["models", "list", "--json"], capsys)
    assert code == 0
    listing = json.loads(out.out)
    rows = {row["name"]: row for row in listing["models"]}
    assert rows["smollm2-135m-instruct-q4_1"]["installed"] is True
    assert rows["all-minilm-l6-v2-f16"]["installed"] is False
    code, out = run_cli(["models", "list"], capsys)
    assert "recommended" in out.out and "smollm2-135m-instruct-q4_1" in out.out
    with pytest.raises(ModelUnavailableError):
        run_cli(["models", "use", "bge-small-en-v1.5-f16"], capsys)
    (paths.models_dir / "bge-small-en-v1.5-f16.gguf").write_bytes(b"stand-in")
    code, out = run_cli(["models", "use", "bge-small-en-v1.5-f16"], capsys)
    assert code == 0 and "embedding model is now bge-small-en-v1.5-f16" in out.out
    assert Settings(paths).get("models.embedding") == "bge-small-en-v1.5-f16"


def test_progress_bar_prints_plain_lines_when_not_a_terminal():
    import io

    from core.models.cli import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar("model", stream=stream)
    for done in range(0, 101, 5):
        bar(done * 10_000, 1_000_000)
    bar.finish()
    lines = stream.getvalue().splitlines()
    assert 5 <= len(lines) <= 12
    assert "100.0%" in lines[-1]
