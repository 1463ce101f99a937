"""The evaluation report beside a checkpoint (``metrics.json``, written by ``python -m xray_core evaluate --json``).

Readers get the report or a message saying what to run, never an exception: a missing or stale report is an
ordinary state of a fresh checkout. The report holds one section per evaluated set
(``report["splits"][name]``: test, external, ...); ROC curves are read from a section's ``"roc"`` key
(``{class: {"fpr", "tpr", "auc"} or None}``, from :func:`xray_core.evaluation.metrics.roc_points`), never
recomputed by a reader: scoring a test split is the evaluation command's job, not a web server's.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any


def report_path(checkpoint: str | Path) -> Path:
    """Where ``python -m xray_core evaluate --json`` puts the report: metrics.json beside the checkpoint."""
    return Path(checkpoint).with_name("metrics.json")


def evaluate_command(checkpoint: str | Path, report: dict[str, Any] | None = None) -> str:
    """The command that (re)writes the report: the one recorded in ``report`` when there is one."""
    recorded = (report or {}).get("command")
    if recorded:
        return str(recorded)
    return (
        f"python -m xray_core evaluate --checkpoint {shlex.quote(str(checkpoint))} "
        f"--json {shlex.quote(str(report_path(checkpoint)))}"
    )


def _problem(report: Any) -> str:
    """Why ``report`` is not a per-split evaluation report ('' when it is one)."""
    if not isinstance(report, dict):
        return "is not a JSON object"
    splits = report.get("splits")
    if not isinstance(splits, dict) and "metrics" in report:
        return "was written by an older evaluate (one split, no ROC points, no external films)"
    if not isinstance(splits, dict) or not splits:
        return "has no 'splits' section"
    broken = [name for name, section in splits.items() if not isinstance(section, dict) or "metrics" not in section]
    return f"has no metrics for {', '.join(broken)}" if broken else ""


def read_report(checkpoint: str | Path) -> tuple[dict[str, Any] | None, str]:
    """(report, "") when metrics.json beside the checkpoint is a readable per-split report, else (None, why not
    and the command that writes it)."""
    path = report_path(checkpoint)
    if not path.is_file():
        return None, f"No evaluation report at {path}. Create it with: {evaluate_command(checkpoint)}"
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        return None, f"{path} is not readable JSON ({error}); re-run: {evaluate_command(checkpoint)}"
    problem = _problem(report)
    if problem:
        return None, f"{path} {problem}; re-run: {evaluate_command(checkpoint, report)}"
    return report, ""


def report_roc(report: dict[str, Any], split: str, checkpoint: str | Path) -> tuple[dict[str, dict | None] | None, str]:
    """(ROC curves of the report's section ``split``, "") or (None, which command writes them).

    Curves: ``{class: {"fpr": [...], "tpr": [...], "auc": float} or None}`` (None: the class is absent).
    """
    curves = (report.get("splits") or {}).get(split, {}).get("roc")
    if not curves:
        return None, (
            f"This report has no ROC points for the {split} films (it was written before evaluate "
            f"recorded them). Re-run: {evaluate_command(checkpoint, report)}"
        )
    return curves, ""


__all__ = ["evaluate_command", "read_report", "report_path", "report_roc"]
