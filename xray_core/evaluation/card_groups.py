"""The card's group figures: each with its n, 95 % patient-bootstrap interval and a small-sample mark.

Figures come as :func:`xray_core.evaluation.groups.figure` records; this module only words them.
"""

from __future__ import annotations

from typing import Any

from xray_core.evaluation.groups import MIN_FILMS, MIN_PATIENTS

SMALL_MARK = "†"
SMALL_NOTE = (
    f"{SMALL_MARK} small sample: fewer than {MIN_FILMS} films or {MIN_PATIENTS} patients; read the interval, "
    "not the point."
)
#: group figure -> how the card names it
FIGURE_WORDS: dict[str, str] = {
    "adult_nih_pneumonia_vs_normal_auc": "adult NIH pneumonia vs adult NIH normal AUC",
    "adult_nih_normal_recall": "adult NIH normal recall",
    "adult_nih_pneumonia_recall": "adult NIH pneumonia recall (top class bacterial or viral)",
    "adult_pneumonia_recall": "adult pneumonia recall (partial labels: bacterial or viral)",
    "adult_non_covid_pneumonia_called_covid": "adult non-COVID pneumonia called COVID-19",
    "adult_pneumonia_call_precision": "adult films called bacterial/viral that are pneumonias",
    "pediatric_normal_recall": "pediatric normal recall",
    "adult_coverage": "adult films kept (neither uncertain nor refused)",
    "adult_kept_error": "confident wrong calls among adult films kept",
    "adult_non_covid_pneumonia_kept_as_covid": "adult non-COVID pneumonia kept as COVID-19",
}


def figure_text(record: dict[str, Any] | None, with_n: bool = True) -> str:
    """'0.808 (0.700–0.900), n 26 †': value, interval, films, and the small-sample mark; 'n/a' when undefined."""
    if not record or record.get("value") is None:
        return "n/a" + (f", n {record['n']}" if record and with_n and record.get("n") else "")
    interval = record.get("interval_95")
    text = f"{record['value']:.3f}" + (f" ({interval[0]:.3f}–{interval[1]:.3f})" if interval else "")
    if with_n:
        text += f", n {record['n']}"
    return text + (f" {SMALL_MARK}" if record.get("small_sample") else "")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def groups_section(report: dict[str, Any]) -> list[str]:
    """Every group figure of every evaluated set, with films and patients."""
    rows = [
        [name, FIGURE_WORDS.get(key, key), figure_text(record, with_n=False), record["n"], record["n_patients"]]
        for name, section in report["splits"].items()
        for key, record in (section.get("group_figures") or {}).items()
        if record.get("n")
    ]
    if not rows:
        return []
    return [
        "## Group figures",
        "",
        "Each with its 95 % patient-bootstrap interval. Partial `pneumonia` films count as recalled when the top "
        "class is bacterial or viral.",
        "",
        *_table(["films", "figure", "value (95 % CI)", "n films", "patients"], rows),
        "",
        SMALL_NOTE,
        "",
    ]


def cohort_section(report: dict[str, Any]) -> list[str]:
    """Per cohort (``external_adult``: NIH, its 384 px copies and re-encoded originals, ieee8023 typed)."""
    lines: list[str] = []
    for name, section in report["splits"].items():
        for cohort, values in (section.get("per_cohort") or {}).items():
            labels = ", ".join(f"{label} {n}" for label, n in values["labels"].items())
            rows = [[FIGURE_WORDS.get(k, k), figure_text(r, with_n=False), r["n"], r["n_patients"]]
                    for k, r in values["figures"].items()]  # fmt: skip
            lines += [f"### `{name}` cohort `{cohort}`: {values['n']} films, {values['n_patients']} patients "
                      f"({labels})", ""]  # fmt: skip
            lines += _table(["figure", "value (95 % CI)", "n films", "patients"], rows) + [""]
    if not lines:
        return []
    return ["## Per cohort", "", SMALL_NOTE, "", *lines]


def cells_section(report: dict[str, Any]) -> list[str]:
    """Recall per age group x label, worst first within each set, with intervals and the small-sample mark."""
    rows = [
        [name, cell, value["n"], figure_text({**value, "value": value["recall"]}, with_n=False)]
        for name, section in report["splits"].items()
        for cell, value in sorted(section["cells"].items(), key=lambda item: item[1]["recall"])
    ]
    return [
        "## Recall per age group x label (worst first within each set)",
        "",
        "Recall of a partial `pneumonia` film: the top class is bacterial or viral. " + SMALL_NOTE,
        "",
        *_table(["films", "age group / label", "n", "recall (95 % CI)"], rows),
        "",
    ]


__all__ = ["FIGURE_WORDS", "SMALL_NOTE", "cells_section", "cohort_section", "figure_text", "groups_section"]
