"""Tesseract through pipes, with stand-in commands (no real tesseract needed here)."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest
from PIL import Image

from core.capture.changes import Rect, Word
from core.capture.ocr import TesseractOcr, parse_tsv, pnm_bytes
from core.errors import CaptureError

TSV = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
    "1\t1\t0\t0\t0\t0\t0\t0\t600\t120\t-1\t\n"
    "4\t1\t1\t1\t1\t0\t11\t14\t299\t19\t-1\t\n"
    "5\t1\t1\t1\t1\t1\t11\t14\t93\t19\t96.85\tQuarterly\n"
    "5\t1\t1\t1\t1\t2\t113\t14\t68\t15\t41.0\tinvo1ce\n"
    "5\t1\t1\t1\t1\t3\t189\t14\t45\t15\t93.2\t \n"
    "5\t1\t1\t1\t1\t4\tx\t14\t45\t15\t93.2\tbroken\n"
    "5\t1\t1\t1\t1\t5\t242\t14\t68\t15\t92.4\tGlobex\n"
)


def fake_tesseract(tmp_path: Path, body: str) -> str:
    """An executable standing in for tesseract: ``body`` is Python run with argv and stdin."""
    script = tmp_path / "tesseract"
    script.write_text(f"#!{sys.executable}\nimport sys, time\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def test_parse_tsv_keeps_confident_words_with_boxes():
    words = parse_tsv(TSV, 60)
    assert words == [
        Word("Quarterly", 96.85, Rect(11, 14, 104, 33)),
        Word("Globex", 92.4, Rect(242, 14, 310, 29)),
    ]
    assert [w.text for w in parse_tsv(TSV, 0)] == ["Quarterly", "invo1ce", "Globex"]
    assert parse_tsv("", 0) == []


def test_pnm_bytes_grey_colour_and_transparency():
    grey = Image.new("L", (3, 2), 7)
    assert pnm_bytes(grey) == b"P5\n3 2\n255\n" + bytes([7] * 6)
    colour = Image.new("RGB", (2, 1), (1, 2, 3))
    assert pnm_bytes(colour) == b"P6\n2 1\n255\n" + bytes([1, 2, 3, 1, 2, 3])
    clear = Image.new("RGBA", (1, 1), (0, 0, 0, 0))
    assert pnm_bytes(clear).endswith(bytes([255, 255, 255]))  # transparent reads as white paper


def test_image_goes_through_stdin_and_words_come_from_stdout(tmp_path):
    log = tmp_path / "seen"
    command = fake_tesseract(
        tmp_path,
        f"data = sys.stdin.buffer.read()\n"
        f"open({str(log)!r}, 'w').write(repr(sys.argv[1:]) + '\\n' + data[:12].decode('latin-1'))\n"
        f"sys.stdout.write({TSV!r})",
    )
    ocr = TesseractOcr("deu+eng", 60, command=command)
    words = ocr.read_image(Image.new("L", (600, 120), 255))
    assert [w.text for w in words] == ["Quarterly", "Globex"]
    argv, header = log.read_text().split("\n", 1)
    assert argv == repr(["stdin", "stdout", "-l", "deu+eng", "--psm", "3", "-c", "tessedit_create_tsv=1"])
    assert header.startswith("P5\n600 120\n")


def test_child_gets_one_openmp_thread_unless_the_user_chose(tmp_path, monkeypatch):
    log = tmp_path / "env"
    command = fake_tesseract(tmp_path, f"import os; open({str(log)!r}, 'w').write(os.environ.get('OMP_THREAD_LIMIT', '-'))")
    monkeypatch.delenv("OMP_THREAD_LIMIT", raising=False)
    TesseractOcr(command=command).read_image(Image.new("L", (4, 4)))
    assert log.read_text() == "1" and "OMP_THREAD_LIMIT" not in os.environ
    monkeypatch.setenv("OMP_THREAD_LIMIT", "2")
    TesseractOcr(command=command).read_image(Image.new("L", (4, 4)))
    assert log.read_text() == "2"


def test_missing_tesseract_says_how_to_install(tmp_path):
    ocr = TesseractOcr(command=str(tmp_path / "no-such-tesseract"))
    for call in (ocr.check, lambda: ocr.read_image(Image.new("L", (4, 4)))):
        with pytest.raises(CaptureError) as info:
            call()
        assert "not installed" in info.value.message and "apt install tesseract-ocr" in info.value.fix


def test_stuck_tesseract_is_stopped_with_a_clear_error(tmp_path):
    command = fake_tesseract(tmp_path, "time.sleep(30)")
    ocr = TesseractOcr(command=command, timeout=0.5)
    with pytest.raises(CaptureError) as info:
        ocr.read_image(Image.new("L", (4, 4)))
    assert "longer than 0.5 s" in info.value.message and info.value.fix


def test_missing_language_and_other_failures(tmp_path):
    command = fake_tesseract(
        tmp_path,
        "sys.stdin.buffer.read()\n"
        "if '--list-langs' in sys.argv:\n"
        "    print('List of available languages in \"/usr/share/tessdata/\" (2):'); print('eng'); print('osd')\n"
        "elif '--version' in sys.argv:\n"
        "    print('tesseract 5.3.0'); print(' leptonica-1.82.0')\n"
        "elif 'xyz' in sys.argv:\n"
        "    sys.stderr.write(\"Error opening data file xyz.traineddata\\nFailed loading language 'xyz'\\n\"); sys.exit(1)\n"
        "else:\n"
        "    sys.stderr.write('Error in pixReadMem: Unknown format: no pix returned\\n'); sys.exit(1)",
    )
    assert TesseractOcr("eng", command=command).check() == "5.3.0"
    for call in (TesseractOcr("xyz", command=command).check, lambda: TesseractOcr("xyz", command=command).read_image(Image.new("L", (4, 4)))):
        with pytest.raises(CaptureError) as info:
            call()
        assert "no data for the OCR language xyz" in info.value.message and "tesseract-ocr-xyz" in info.value.fix
    with pytest.raises(CaptureError) as info:
        TesseractOcr("eng", command=command).read_image(Image.new("L", (4, 4)))
    assert "exit status 1" in info.value.message and "Unknown format" in info.value.message


def test_a_command_that_cannot_run_is_an_error_not_a_crash(tmp_path):
    script = tmp_path / "tesseract"
    script.write_text("not executable")
    with pytest.raises(CaptureError) as info:
        TesseractOcr(command=str(script)).read_image(Image.new("L", (4, 4)))
    assert "Could not start Tesseract" in info.value.message
