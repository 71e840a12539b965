"""`engram capture` parses both `--once` and sub-actions, and says why nothing is captured."""

from core.cli import build_parser, main


def test_parser_accepts_once_and_actions():
    parser = build_parser()
    assert parser.parse_args(["capture", "--once", "--json"]).once
    assert parser.parse_args(["capture", "start"]).action == "start"
    assert parser.parse_args(["capture", "status", "--json"]).json


def test_once_without_display_reports_and_fails(monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    assert main(["capture", "--once"]) == 1
    err = capsys.readouterr().err
    assert "no display" in err and "Fix:" in err


def test_once_on_wayland_says_not_supported(monkeypatch, capsys):
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert main(["capture", "--once"]) == 1
    assert "Wayland" in capsys.readouterr().err


def test_status_json(capsys):
    assert main(["capture", "status", "--json"]) == 0
    assert '"state": "stopped"' in capsys.readouterr().out


def test_status_reports_what_was_hidden(capsys):
    assert main(["capture", "status", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"hidden_summary": null' in out and '"windows_hidden": 0' in out and '"frames_window_moved": 0' in out
