"""The project's targets, checked against an evaluation report: decisions as data, rendered by the card.

External figures come first: what counts is how the model holds up on films unlike its training ones.

A target is judged by the figure's 95 % patient-bootstrap interval, not its point: a figure on 20 films can
land on either side of a goal by chance. For a goal ``>= g`` the target is **met** when the interval's lower
bound is at least g, **missed** when its upper bound is under g, and **not shown** when the interval straddles
g (the films cannot tell); ``<= g`` mirrors this. A figure without an interval is judged by its point and says
so (``judged_by``); an undefined figure is **undefined**.
"""

from __future__ import annotations

from typing import Any

#: (measure, split, path inside the split's report, operator, goal). A path ends at a number (its interval is
#: ``intervals_95[<path after 'metrics'>]``) or at a group figure record (value and interval in it).
TARGETS: tuple[tuple[str, str, tuple[str, ...], str, float], ...] = (
    ("pneumonia vs normal AUC", "external", ("metrics", "clinical", "pneumonia_vs_normal_auc"), ">=", 0.975),
    (
        "pneumonia vs normal accuracy at the shipped operating point",
        "external",
        ("metrics", "clinical", "pneumonia_vs_normal_accuracy"),
        ">=",
        0.93,
    ),
    ("pediatric normal recall", "external", ("group_figures", "pediatric_normal_recall"), ">=", 0.85),
    ("bacterial vs viral AUC", "external", ("metrics", "clinical", "bacterial_vs_viral_auc"), ">=", 0.96),
    ("macro AUC (classes present)", "external", ("metrics", "macro_auc"), ">=", 0.97),
    ("ECE", "external", ("metrics", "calibration", "ece"), "<=", 0.03),
    *(
        (
            f"NIH pneumonia vs NIH normal AUC ({words})",
            "external_adult",
            ("per_cohort", cohort, "figures", "adult_nih_pneumonia_vs_normal_auc"),
            ">=",
            0.80,
        )
        for cohort, words in (("nih_384px", "384 px copies"), ("nih_originals", "re-encoded originals"))
    ),
    ("NIH normal recall", "external_adult", ("per_cohort", "nih", "figures", "adult_nih_normal_recall"), ">=", 0.85),
    (
        "adult non-COVID pneumonia called COVID-19 (ieee8023 typed)",
        "external_adult",
        ("per_cohort", "ieee8023_typed", "figures", "adult_non_covid_pneumonia_called_covid"),
        "<=",
        0.20,
    ),
    (
        "confident wrong calls among adult films kept",
        "external_adult",
        ("group_figures", "adult_kept_error"),
        "<=",
        0.05,
    ),
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
        ("group_figures", "adult_non_covid_pneumonia_called_covid"),
        "<=",
        0.30,
    ),
    (
        "adult pneumonia vs adult normal AUC (NIH films)",
        "test",
        ("group_figures", "adult_nih_pneumonia_vs_normal_auc"),
        ">=",
        0.80,
    ),
    ("adult normal recall (NIH films)", "test", ("group_figures", "adult_nih_normal_recall"), ">=", 0.90),
    ("ECE", "test", ("metrics", "calibration", "ece"), "<=", 0.03),
)
VERDICTS = ("met", "not shown", "missed", "undefined")


def _lookup(section: dict[str, Any] | None, path: tuple[str, ...]) -> Any:
    value: Any = section
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def figure_at(section: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """``{"value", "interval_95", "n", "small_sample"}`` at ``path`` of one split's report (None where unknown)."""
    found = _lookup(section, path)
    if isinstance(found, dict):
        return {key: found.get(key) for key in ("value", "interval_95", "n", "small_sample")}
    interval = (section.get("intervals_95") or {}).get(".".join(path[1:])) if path[0] == "metrics" else None
    return {"value": found, "interval_95": interval, "n": None, "small_sample": None}


def verdict(value: float | None, interval: list[float] | None, op: str, goal: float) -> str:
    """'met', 'not shown', 'missed' or 'undefined' by the interval rule of this module (the point without one)."""
    if value is None:
        return "undefined"
    low, high = interval if interval else (value, value)
    if op == "<=":  # mirror: a small figure is good
        low, high, goal = -high, -low, -goal
    if low >= goal:
        return "met"
    return "missed" if high < goal else "not shown"


def check_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per target whose split was evaluated: value, interval, films, verdict (and ``met``: True, False,
    or None when not shown or undefined)."""
    rows = []
    for measure, split, path, op, goal in TARGETS:
        if split not in report["splits"]:
            continue
        found = figure_at(report["splits"][split], path)
        judged = verdict(found["value"], found["interval_95"], op, goal)
        rows.append(
            {
                "measure": measure,
                "split": split,
                "target": f"{op} {goal}",
                **found,
                "verdict": judged,
                "judged_by": "interval" if found["interval_95"] else "point",
                "met": {"met": True, "missed": False}.get(judged),
                "key": ".".join(path),
            }
        )
    return rows


__all__ = ["TARGETS", "VERDICTS", "check_targets", "figure_at", "verdict"]
