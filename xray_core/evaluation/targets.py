"""The project's targets (issue 11), checked against an evaluation report: decisions as data, rendered by the card.

External figures come first: what counts is how the model holds up on films unlike its training ones.
"""

from __future__ import annotations

from typing import Any

#: (measure, split, path inside the split's report, operator, goal)
TARGETS: tuple[tuple[str, str, tuple[str, ...], str, float], ...] = (
    ("pneumonia vs normal AUC", "external", ("metrics", "clinical", "pneumonia_vs_normal_auc"), ">=", 0.975),
    (
        "pneumonia vs normal accuracy at the shipped operating point",
        "external",
        ("metrics", "clinical", "pneumonia_vs_normal_accuracy"),
        ">=",
        0.93,
    ),
    ("pediatric normal recall", "external", ("groups", "pediatric_normal_recall"), ">=", 0.85),
    ("bacterial vs viral AUC", "external", ("metrics", "clinical", "bacterial_vs_viral_auc"), ">=", 0.96),
    ("macro AUC (classes present)", "external", ("metrics", "macro_auc"), ">=", 0.97),
    ("ECE", "external", ("metrics", "calibration", "ece"), "<=", 0.03),
    (
        "COVID-19 sensitivity at 95 % specificity",
        "test",
        ("metrics", "clinical", "covid_sensitivity_at_95_specificity"),
        ">=",
        0.95,
    ),
    (
        "adult non-COVID pneumonia called COVID-19",
        "test",
        ("groups", "adult_non_covid_pneumonia_called_covid"),
        "<=",
        0.30,
    ),
    (
        "adult pneumonia vs adult normal AUC (NIH films)",
        "test",
        ("groups", "adult_nih_pneumonia_vs_normal_auc"),
        ">=",
        0.80,
    ),
    ("adult normal recall (NIH films)", "test", ("groups", "adult_nih_normal_recall"), ">=", 0.90),
    ("ECE", "test", ("metrics", "calibration", "ece"), "<=", 0.03),
)


def _lookup(section: dict[str, Any] | None, path: tuple[str, ...]) -> Any:
    value: Any = section
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def check_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target whose split was evaluated: value (None when undefined) and whether it is met."""
    rows = []
    for measure, split, path, op, goal in TARGETS:
        if split not in report["splits"]:
            continue
        value = _lookup(report["splits"][split], path)
        met = None if value is None else bool(value >= goal if op == ">=" else value <= goal)
        rows.append(
            {
                "measure": measure,
                "split": split,
                "target": f"{op} {goal}",
                "value": value,
                "met": met,
                "key": ".".join(path),
            }
        )
    return rows


__all__ = ["TARGETS", "check_targets"]
