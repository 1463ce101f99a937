"""The test report beside a checkpoint (``metrics.json``, written by ``python -m xray_core evaluate --json``).

Readers get the report or a message saying what to run, never an exception: a missing or stale report is an
ordinary state of a fresh checkout. ROC curves are read from the report's ``"roc"`` key
(``{split: {class: {"fpr", "tpr", "auc"} or None}}``, from :func:`xray_core.evaluation.metrics.roc_points`),
never recomputed by a reader: scoring a test split is the evaluation command's job, not a web server's.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any


def report_path(checkpoint: str | Path) -> Path:
    """Where ``python -m xray_core evaluate --json`` puts the test report: metrics.json beside the checkpoint."""
    return Path(checkpoint).with_name("metrics.json")


def evaluate_command(checkpoint: str | Path, report: dict[str, Any] | None = None) -> str:
    """The command that (re)writes the report: the one recorded in ``report`` when there is one."""
    recorded = (report or {}).get("command")
    if recorded:
        return str(recorded)
    return (f"python -m xray_core evaluate --checkpoint {shlex.quote(str(checkpoint))} "
            f"--json {shlex.quote(str(report_path(checkpoint)))}")


def read_report(checkpoint: str | Path) -> tuple[dict[str, Any] | None, str]:
    """(report, "") when metrics.json beside the checkpoint is readable, else (None, a message saying why)."""
    path = report_path(checkpoint)
    if not path.is_file():
        return None, f"No test-split report at {path}. Create it with: {evaluate_command(checkpoint)}"
    try:
        report = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        return None, f"{path} is not readable JSON ({error}); re-run: {evaluate_command(checkpoint)}"
    if not isinstance(report, dict) or "metrics" not in report:
        return None, f"{path} has no 'metrics' section; re-run: {evaluate_command(checkpoint)}"
    return report, ""


def report_roc(report: dict[str, Any], checkpoint: str | Path) -> tuple[dict[str, dict | None] | None, str]:
    """(ROC curves of the report's own split, "") or (None, which command writes them).

    Curves: ``{class: {"fpr": [...], "tpr": [...], "auc": float} or None}`` (None: the class is absent).
    """
    split = report.get("split", "test")
    curves = (report.get("roc") or {}).get(split)
    if not curves:
        return None, (f"This report has no ROC points for the {split or 'whole'} split (it was written before "
                      f"evaluate recorded them). Re-run: {evaluate_command(checkpoint, report)}")
    return curves, ""


__all__ = ["evaluate_command", "read_report", "report_path", "report_roc"]
