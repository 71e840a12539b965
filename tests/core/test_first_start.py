"""First start under a lock: processes that start together on a new data directory all end with one readable store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.engine import Engine
from core.models.base import FakeEmbedder
from core.paths import Paths, write_private

ROOT = Path(__file__).resolve().parents[2]

# One launcher imports Engram once, then forks the racers of each trial: they are
# released together through a pipe, so they really meet on the empty directory
# (an import per process would spread them over a second and make the test slow).
RACE = textwrap.dedent(
    """
    import json, os, sys, traceback
    from core.engine import Engine
    from core.models.base import FakeEmbedder
    from core.paths import Paths

    root, trials, racers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    for trial in range(trials):
        home = os.path.join(root, f"home{trial}")
        start_r, start_w = os.pipe()
        pids = []
        for racer in range(racers):
            pid = os.fork()
            if pid == 0:
                os.close(start_w)
                os.read(start_r, 1)
                code = 0
                try:
                    with Engine(Paths.at(home), embedder=FakeEmbedder(16)) as engine:
                        engine.memories.add("semantic", {"name": f"Racer {racer}", "summary": f"written by racer {racer}"})
                except BaseException:
                    traceback.print_exc()
                    code = 1
                sys.stderr.flush()
                os._exit(code)
            pids.append(pid)
        os.close(start_r)
        os.write(start_w, b"x" * racers)
        os.close(start_w)
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in pids]
        print(json.dumps({"home": home, "codes": codes}), flush=True)
    """
)


def _env(**extra) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["ENGRAM_KEYRING"] = "file"
    env.pop("ENGRAM_HOME", None)
    env.update(extra)
    return env


def test_twenty_trials_of_four_processes_starting_together(tmp_path):
    trials, racers = 20, 4
    result = subprocess.run(
        [sys.executable, "-c", RACE, str(tmp_path), str(trials), str(racers)],
        capture_output=True, text=True, env=_env(), timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    outcomes = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(outcomes) == trials
    bad = [o for o in outcomes if o["codes"] != [0] * racers]
    assert bad == []
    for outcome in outcomes:
        # Every later start reads the store: one key, one database, every racer's memory in it.
        with Engine(Paths.at(outcome["home"]), embedder=FakeEmbedder(16)) as engine:
            names = sorted(m.fields["name"] for m in engine.memories.list("semantic"))
            assert names == [f"Racer {i}" for i in range(racers)], outcome["home"]
            assert engine.store.integrity_check() == "ok"


def test_engram_add_processes_starting_together_leave_a_readable_store(tmp_path):
    home = tmp_path / "home"
    env = _env(ENGRAM_HOME=str(home))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "core.cli", "add", "semantic", "--json", json.dumps({"name": f"N{i}", "summary": f"note {i}"})],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT,
        )
        for i in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err for _, err in outputs]
    assert all("Traceback" not in err for _, err in outputs)
    stats = subprocess.run([sys.executable, "-m", "core.cli", "stats", "--json"], capture_output=True, text=True, env=env, cwd=ROOT)
    assert stats.returncode == 0, stats.stderr
    assert json.loads(stats.stdout)["memories"] == 4


def test_write_private_uses_a_fresh_temporary_file_each_time(tmp_path, monkeypatch):
    target = tmp_path / "engram.key"
    # A stale temporary file left by a killed writer (the old fixed name) is neither reused nor truncated.
    stale = tmp_path / "engram.key.tmp"
    stale.write_bytes(b"someone else's half-written key")
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(Path(src))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_private(target, b"first")
    write_private(target, b"second")
    assert target.read_bytes() == b"second"
    assert os.stat(target).st_mode & 0o777 == 0o600
    assert len(set(seen)) == 2 and stale not in seen
    assert all(p.parent == tmp_path for p in seen)
    assert stale.read_bytes() == b"someone else's half-written key"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["engram.key", "engram.key.tmp"]


HOLD_LOCK = textwrap.dedent(
    """
    import sys, time
    from core.paths import Paths
    from core.store.lock import DataDirLock
    lock = DataDirLock(Paths.at(sys.argv[1]))
    assert lock.try_exclusive()
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
    """
)


@pytest.fixture
def lock_holder(tmp_path):
    """Start a process that holds the start lock of a directory for a while; yields its Popen."""
    procs = []

    def hold(directory: Path, seconds: float = 30.0) -> subprocess.Popen:
        directory.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(directory), str(seconds)],
                                stdout=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
        assert proc.stdout.readline().strip() == "held"
        procs.append(proc)
        return proc

    yield hold
    for proc in procs:
        proc.kill()
        proc.wait()


def _open(paths, **kwargs):
    from core.events import EventBus
    from core.keystore import KeyStore
    from core.store.opening import open_store

    return open_store(paths, KeyStore(paths), EventBus(), lambda: FakeEmbedder(16), **kwargs)


def test_a_first_start_waits_for_the_lock_and_names_its_holder(paths, lock_holder):
    from core.errors import StorageError

    holder = lock_holder(paths.data_dir)
    with pytest.raises(StorageError) as info:
        _open(paths, lock_timeout=0.3)
    assert f"pid {holder.pid}" in info.value.message and "preparing the database" in info.value.message
    assert f"kill {holder.pid}" in info.value.fix
    # It waited without creating anything: no key, no database.
    assert not paths.key_file.exists() and not paths.db_path.exists()


def test_an_everyday_start_only_shares_the_lock(paths):
    with Engine(paths, embedder=FakeEmbedder(16)) as engine:
        engine.memories.add("semantic", {"name": "Ada", "summary": "my sister"})
        # The app keeps the directory shared while it runs; a command opens beside it without waiting.
        opened = _open(paths, lock_timeout=0.3)  # would raise if it waited for the lock
        try:
            assert opened.migrations_applied == [] and opened.store.memories.count() == 1
            assert opened.lock.mode == "shared"
        finally:
            opened.store.close()
            opened.lock.release()


def test_a_start_with_a_pending_migration_takes_the_lock(paths, lock_holder):
    from core.errors import StorageError
    from core.store import migrations as schema

    Engine(paths, embedder=FakeEmbedder(16)).close()

    @schema.migrations()
    def m998_test_only(db):
        db.conn.execute("CREATE TABLE test_only (x)")

    try:
        holder = lock_holder(paths.data_dir)
        with pytest.raises(StorageError) as info:
            _open(paths, lock_timeout=0.3)
        assert f"pid {holder.pid}" in info.value.message
        holder.kill()
        holder.wait()
        opened = _open(paths, lock_timeout=5)
        assert opened.migrations_applied == ["m998_test_only"]
        opened.store.close()
    finally:
        schema.migrations._migrations = [m for m in schema.migrations._migrations if m.name != "m998_test_only"]


def test_under_the_lock_a_key_made_meanwhile_is_used(paths):
    from core.events import EventBus
    from core.keystore import KeyInfo
    from core.store.opening import open_store

    class KeyMadeWhileWaiting:
        """No key when first asked; another process has made one by the time the lock is held."""

        def __init__(self):
            self.loads = 0
            self.created = False

        def load(self):
            self.loads += 1
            info = KeyInfo("file", "test")
            return (None, info) if self.loads == 1 else ("ab" * 32, info)

        def create(self):
            self.created = True
            return "cd" * 32, KeyInfo("file", "test")

    keys = KeyMadeWhileWaiting()
    # The other process made the database too, with its key.
    from core.store.db import Database

    Database.open(paths.db_path, "ab" * 32).close()
    opened = open_store(paths, keys, EventBus(), lambda: FakeEmbedder(16))
    try:
        assert not keys.created and keys.loads == 2
        assert opened.store.memories.count() == 0
    finally:
        opened.store.close()


def test_the_lock_file_names_its_holder_while_held(paths):
    from core.store.lock import DataDirLock

    lock = DataDirLock(paths)
    assert lock.try_exclusive()
    assert paths.lock_file.read_text().split() == [str(os.getpid())]
    assert os.stat(paths.lock_file).st_mode & 0o777 == 0o600
    lock.to_shared()  # sharers are many: no pid is written for them
    assert paths.lock_file.read_text() == ""
    lock.release()
