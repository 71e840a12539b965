"""Only ``core/store/`` touches the database: a parse of every other module finds no call on the connection."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("core", "desktop", "engram", "evaluation", "bench")
# The Database's methods and the connection's, and the attributes that reach them.
DATABASE_CALLS = {"execute", "executemany", "executescript", "query", "query_one", "scalar", "transaction", "after_commit",
                  "in_transaction", "backup_to", "set_progress_handler", "set_trace_callback"}
DATABASE_ATTRIBUTES = {"db", "conn", "utils"}


def offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in DATABASE_CALLS:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} calls .{node.func.attr}()")
        elif isinstance(node, ast.Attribute) and node.attr in DATABASE_ATTRIBUTES:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} reaches .{node.attr}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            if any(n in ("core.store.db", "sqlcipher3", "sqlite3") for n in names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports the database driver")
    return found


def modules_outside_the_store() -> list[Path]:
    out = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")) if (ROOT / package).is_dir() else []:
            if path.relative_to(ROOT).parts[:2] != ("core", "store"):
                out.append(path)
    return out


def test_no_module_outside_the_store_touches_the_database():
    checked = modules_outside_the_store()
    assert len(checked) > 50  # the walk found the tree
    problems = [line for path in checked for line in offences(path)]
    assert problems == [], "\n".join(problems)


def test_the_check_catches_a_query(tmp_path, monkeypatch):
    bad = ROOT / "core" / "_door_probe.py"
    try:
        bad.write_text("def f(engine):\n    return engine.store.db.query('SELECT 1')\n")
        assert len(offences(bad)) == 2  # .query() and .db
    finally:
        bad.unlink()
