"""core/ and evaluation/ never import Qt, and importing them does nothing."""

import subprocess
import sys
import textwrap


def test_core_imports_with_pyside6_blocked(tmp_path):
    script = textwrap.dedent(
        """
        import sys, importlib, pkgutil
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split('.')[0] in ('PySide6', 'shiboken6', 'desktop'):
                    raise ImportError('blocked: ' + name)
        sys.meta_path.insert(0, Block())
        import core, evaluation
        for package in (core, evaluation):
            for module in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):
                importlib.import_module(module.name)
        from core.engine import Engine
        e = Engine()
        e.close()
        # The whole command line, the app's command included, is built without Qt or desktop/.
        from engram.cli import build_parser
        parser = build_parser()
        commands = set(parser._subparsers._group_actions[0].choices)
        assert {'add', 'search', 'ask', 'capture', 'absorb', 'eval', 'consolidate', 'app'} <= commands, commands
        args = parser.parse_args(['app', '--selftest', '/tmp/x'])
        assert args.selftest == '/tmp/x'
        assert not [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'shiboken6', 'desktop')]
        print('ok')
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_import_creates_nothing(tmp_path, monkeypatch):
    home = tmp_path / "untouched"
    result = subprocess.run(
        [sys.executable, "-c", "import core, core.engine, core.cli, core.paths, evaluation.cli; print('imported')"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "ENGRAM_HOME": str(home)},
    )
    assert result.returncode == 0, result.stderr
    assert not home.exists()
