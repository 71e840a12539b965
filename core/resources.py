"""Access to the files in ``resources/`` (prompts, icons, settings, catalog)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

RESOURCES_DIR = Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    return RESOURCES_DIR.joinpath(*parts)


@lru_cache(maxsize=None)
def load_json(name: str) -> Any:
    with open(resource_path(name), encoding="utf-8") as handle:
        return json.load(handle)


def read_text(*parts: str) -> str:
    return resource_path(*parts).read_text(encoding="utf-8")
