"""Reports committed under weights/ never carry the absolute paths of the machine that wrote them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

WEIGHTS = Path(__file__).resolve().parents[1] / "weights"


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("path", sorted(WEIGHTS.glob("*.json")), ids=lambda p: p.name)
def test_no_absolute_paths_in_committed_reports(path: Path) -> None:
    absolute = [s for s in _strings(json.loads(path.read_text())) if s.startswith(("/", "~")) or ":\\" in s]
    assert not absolute, f"{path.name} records absolute paths, e.g. {absolute[:3]}"


@pytest.mark.parametrize("path", sorted(WEIGHTS.glob("*.md")), ids=lambda p: p.name)
def test_no_home_or_work_paths_in_cards(path: Path) -> None:
    text = path.read_text()
    assert "/root/" not in text and "/home/" not in text and "/work/" not in text and "/tmp/" not in text
