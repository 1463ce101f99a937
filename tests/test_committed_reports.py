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


def test_committed_report_has_the_adult_column_with_intervals() -> None:
    """The committed report comes from `evaluate --splits test,external,external_adult`: per-cohort figures,
    intervals on every group figure, verdicts by interval."""
    report = json.loads((WEIGHTS / "metrics.json").read_text())
    assert list(report["splits"]) == ["test", "external", "external_adult"]
    adult = report["splits"]["external_adult"]
    assert {"nih", "nih_384px", "nih_originals", "ieee8023_typed"} <= set(adult["per_cohort"])
    typed = adult["per_cohort"]["ieee8023_typed"]
    assert typed["n"] == 22 and typed["figures"]["adult_non_covid_pneumonia_called_covid"]["small_sample"] is True
    for section in report["splits"].values():
        for record in section["group_figures"].values():
            assert {"value", "n", "n_patients", "interval_95", "small_sample"} <= set(record)
    assert all(row["verdict"] in ("met", "not shown", "missed", "undefined") for row in report["targets"])
    assert "## Per cohort" in (WEIGHTS / "MODEL_CARD.md").read_text()
