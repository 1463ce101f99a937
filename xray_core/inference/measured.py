"""The model's own measured figures at the point of use, read from the evaluation report beside its checkpoint.

``python -m xray_core evaluate --json`` writes ``metrics.json`` next to the checkpoint. A warning that quotes a
figure must quote this model's: the report is used only when it scored the very checkpoint loaded (same SHA-256),
and a figure missing from it is None, never a number typed into the code.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from xray_core.models.scoring import ScoringModel

REPORT_NAME = "metrics.json"

#: top class -> (evaluated set, path in its section) of the adult figure behind a call of that class on an adult
#: film: how often adult non-COVID pneumonias from a COVID-19 repository were called COVID-19; how often adult
#: films called bacterial or viral pneumonia were pneumonias.
ADULT_FIGURES: dict[str, tuple[str, tuple[str, ...]]] = {
    "covid": ("external_adult", ("per_cohort", "ieee8023_typed", "figures", "adult_non_covid_pneumonia_called_covid")),
    "bacterial": ("external_adult", ("group_figures", "adult_pneumonia_call_precision")),
    "viral": ("external_adult", ("group_figures", "adult_pneumonia_call_precision")),
}


def report_path(checkpoint: str | Path) -> Path:
    """Where the evaluation report of ``checkpoint`` lives: ``metrics.json`` beside it."""
    return Path(checkpoint).with_name(REPORT_NAME)


@lru_cache(maxsize=4)
def _read(path: str, modified_ns: int) -> dict[str, Any] | None:
    """The parsed report (cached per file version: a re-rendered report is read again)."""
    try:
        report = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def measured_report(loaded: ScoringModel) -> dict[str, Any] | None:
    """The report beside ``loaded``'s checkpoint when it scored this very checkpoint, else None."""
    if not loaded.path:
        return None
    path = report_path(loaded.path)
    try:
        modified = path.stat().st_mtime_ns
    except OSError:
        return None
    report = _read(str(path), modified)
    if report is None or (report.get("model") or {}).get("sha256") != loaded.sha256:
        return None
    return report


def adult_figure(loaded: ScoringModel, label: str) -> dict[str, Any] | None:
    """The measured adult figure behind a ``label`` call, ``{"figure", "films", "value", "n", "n_patients",
    "interval_95", "small_sample"}``; None when ``label`` has none or this checkpoint's report lacks it."""
    if label not in ADULT_FIGURES:
        return None
    split, path = ADULT_FIGURES[label]
    found: Any = ((measured_report(loaded) or {}).get("splits") or {}).get(split)
    for key in path:
        found = found.get(key) if isinstance(found, dict) else None
    if not isinstance(found, dict) or found.get("value") is None:
        return None
    films = split + (f"/{path[1]}" if path[0] == "per_cohort" else "")
    keep = ("value", "n", "n_patients", "interval_95", "small_sample")
    return {"figure": path[-1], "films": films, **{key: found.get(key) for key in keep}}


__all__ = ["ADULT_FIGURES", "REPORT_NAME", "adult_figure", "measured_report", "report_path"]
