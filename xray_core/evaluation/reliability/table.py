"""The reliability report as the plain-text table ``python -m xray_core reliability`` prints."""

from __future__ import annotations

from typing import Any


def format_report(report: dict[str, Any]) -> str:
    """The printed table: one row per family, then the goals and notable inputs."""
    model = report["model"]
    lines = [
        f"Reliability report · checkpoint {model['checkpoint']} · version {model['version']} · "
        f"sha256 {model['sha256'][:12]} · {'trained' if model['trained'] else 'UNTRAINED'}",
        f"OOD threshold (val 99.5th pct) {_number(report['ood_threshold'])} · image-statistics threshold "
        f"{_number(report['input_stats_threshold'])} · {report['inputs']} inputs in {report['seconds']} s",
        "",
    ]
    header = (
        "family",
        "inputs",
        "input errors",
        "valid",
        "refused",
        "by OOD score",
        "by input checks",
        "refusal rate",
        "crashes",
        "failed checks",
        "slowest s",
    )
    rows = [header] + [
        (
            f["family"],
            f["inputs"],
            f["input_errors"],
            f["valid"],
            f["refused"],
            f["refused_by_score"],
            f["refused_by_checks"],
            _percent(f["refusal_rate"]),
            f["crashes"],
            f.get("failed_checks", 0),
            f["slowest_seconds"],
        )
        for f in report["families"]
    ]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = [str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells))
    lines.append("")
    for goal in report["goals"]:
        value = goal["value"] if isinstance(goal["value"], int) else _percent(goal["value"])  # counts vs rates
        lines.append(f"goal: {goal['goal']} {value} (target {goal['target']}): {'PASS' if goal['passed'] else 'FAIL'}")
    for family in report["families"]:
        kind = "refused" if family["radiographs"] else "accepted"
        if family.get("integrity"):  # its notes say what each probe got (in the JSON); here only why none ran
            if not family["inputs"] and family["notable"]:
                lines.append(f"{family['family']}: " + "; ".join(family["notable"]))
        elif family["notable"]:
            lines.append(f"{family['family']}, {kind}: " + "; ".join(family["notable"]))
        for example in family["crash_examples"]:
            lines.append(f"CRASH {example}")
        for failure in family.get("failures", []):
            lines.append(f"FAILED CHECK {family['family']}: {failure}")
    return "\n".join(lines)


def _percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate:.1%}"


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"
