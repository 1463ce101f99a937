"""Render ``MODEL_CARD.md`` from the evaluation report and the checkpoint's metadata (one dict, two files)."""

from __future__ import annotations

from typing import Any

from xray_core.config import CLASS_TITLES, LABELS
from xray_core.evaluation import risk_coverage
from xray_core.evaluation.card_groups import SMALL_NOTE, cells_section, cohort_section, figure_text, groups_section
from xray_core.evaluation.card_words import (
    INTENDED_USE,
    LIMITATIONS,
    OUT_OF_SCOPE,
    operating_point_words,
    region_words,
)
from xray_core.models.meta import CheckpointMeta

SIDE_BY_SIDE = (
    ("macro one-vs-rest AUC (classes present)", ("metrics", "macro_auc"), "macro_auc"),
    ("accuracy (4 classes, films with a full label)", ("metrics", "accuracy"), "accuracy"),
    ("pneumonia vs normal AUC", ("metrics", "clinical", "pneumonia_vs_normal_auc"), "clinical.pneumonia_vs_normal_auc"),
    (
        "pneumonia vs normal accuracy (top class)",
        ("metrics", "clinical", "pneumonia_vs_normal_accuracy"),
        "clinical.pneumonia_vs_normal_accuracy",
    ),
    ("bacterial vs viral AUC", ("metrics", "clinical", "bacterial_vs_viral_auc"), "clinical.bacterial_vs_viral_auc"),
    ("COVID-19 vs rest AUC", ("metrics", "clinical", "covid_vs_rest_auc"), "clinical.covid_vs_rest_auc"),
    (
        "COVID-19 sensitivity at 95 % specificity",
        ("metrics", "clinical", "covid_sensitivity_at_95_specificity"),
        "clinical.covid_sensitivity_at_95_specificity",
    ),
    ("pediatric normal recall", ("group_figures", "pediatric_normal_recall"), None),
    ("adult non-COVID pneumonia called COVID-19", ("group_figures", "adult_non_covid_pneumonia_called_covid"), None),
    ("adult pneumonia vs adult normal AUC (NIH)", ("group_figures", "adult_nih_pneumonia_vs_normal_auc"), None),
    ("adult normal recall (NIH)", ("group_figures", "adult_nih_normal_recall"), None),
    ("adult films kept (not uncertain, not refused)", ("group_figures", "adult_coverage"), None),
    ("confident wrong calls among adult films kept", ("group_figures", "adult_kept_error"), None),
    ("ECE after calibration", ("metrics", "calibration", "ece"), "calibration.ece"),
    ("ECE before (T = 1)", ("calibration_before", "ece"), None),
    ("refused as not chest-X-ray-like", ("ood", "rate"), None),
)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]


def _get(section: dict, path: tuple[str, ...]) -> Any:
    for key in path:
        section = section.get(key) if isinstance(section, dict) else None
    return section


def _cell(section: dict, path: tuple[str, ...], ci_key: str | None) -> str:
    value, interval = _get(section, path), (section.get("intervals_95") or {}).get(ci_key) if ci_key else None
    if isinstance(value, dict):  # a group figure: value, interval, n and the small-sample mark
        return figure_text(value)
    return _fmt(value) + (f" ({interval[0]:.3f}–{interval[1]:.3f})" if interval and value is not None else "")


def targets_section(report: dict[str, Any]) -> list[str]:
    rows = [
        [
            t["measure"],
            t["split"],
            t["target"],
            figure_text(t, with_n=bool(t.get("n"))),
            {"met": "met", "missed": "**missed**", "not shown": "not shown"}.get(t.get("verdict"), "undefined"),
        ]
        for t in report["targets"]
    ]
    return (
        [
            "## Targets",
            "",
            "External films first: they are what the model meets outside its corpus. Judged by the 95 % interval, "
            "not the point: a target is **met** when the whole interval is on the right side of it, **missed** when "
            "the whole interval is on the wrong side, and **not shown** when the interval straddles it (too few "
            "films to tell). A figure without an interval is judged by its point.",
            "",
        ]
        + _table(["measure", "films", "target", "achieved (95 % CI)", ""], rows)
        + ["", SMALL_NOTE, ""]
    )


def comparison_section(report: dict[str, Any]) -> list[str]:
    splits = report["splits"]
    names = list(splits)
    header = [
        "measure",
        *[f"{n} ({splits[n]['n_images']} films, {splits[n]['n_patient_groups']} patients)" for n in names],
    ]
    rows = [[label, *[_cell(splits[n], path, ci) for n in names]] for label, path, ci in SIDE_BY_SIDE]
    lines = (
        [
            "## Test split and external films, side by side",
            "",
            f"95 % intervals: percentile bootstrap over patients ({report['bootstrap_reps']} resamples). "
            "Probabilities are temperature-calibrated. Partial `pneumonia` labels count in pneumonia vs normal "
            "and COVID-19 vs rest only.",
            "",
        ]
        + _table(header, rows)
        + ["", SMALL_NOTE, ""]
    )
    return lines + _gap_sentence(splits)


def _gap_sentence(splits: dict[str, Any]) -> list[str]:
    if not {"test", "external"} <= set(splits):
        return []
    key = ("metrics", "clinical", "pneumonia_vs_normal_auc")
    test, external = _get(splits["test"], key), _get(splits["external"], key)
    if test is None or external is None:
        return []
    gap = abs(test - external)
    if external < test:
        tail = (
            f"the external films score {gap:.3f} lower. The test split shares hospitals, scanners and age mix with "
            "training; expect the external figure, or worse, on films from elsewhere."
        )
    else:
        tail = (
            f"the external films score {gap:.3f} higher: the two sets mix different patients (the external films are "
            "all pediatric Kermany films, the test split also holds adult NIH films, the hardest cell), so compare "
            "the per-group figures below; on films from elsewhere expect the lower of the two, or worse."
        )
    return [
        f"**The gap.** Pneumonia vs normal AUC is {test:.3f} on the in-distribution test split and {external:.3f} "
        f"on the external films: {tail}",
        "",
    ]


def probe_section(report: dict[str, Any]) -> list[str]:
    probe = report.get("probe") or {}
    if not probe:
        return []
    return [
        "## Shortcut audit: what the features know",
        "",
        f"A logistic probe on the penultimate features (fitted on {probe.get('n_train')} train films, scored on "
        f"{probe.get('n_val')} val films) predicts the age group with AUC {_fmt(probe.get('age_group_auc'))} and "
        f"the source repository with macro AUC {_fmt(probe.get('source_auc'))} "
        f"({len(probe.get('sources', []))} sources). Values near 1 mean age and hospital are readable from the "
        "features, so a decision *could* rest on them; the per-group figures above show whether it does.",
        "",
    ]


def _breakdown_section(title: str, breakdown: dict) -> list[str]:
    if not breakdown:
        return []
    rows = [
        [
            key,
            v["n"],
            ", ".join(f"{k} {n}" for k, n in v["labels"].items() if n),
            v["accuracy"],
            v["macro_auc"],
            ", ".join(f"{k} {_fmt(s, 2)}" for k, s in v["sensitivity"].items()),
        ]
        for key, v in breakdown.items()
    ]
    return [f"### {title}", ""] + _table(["group", "n", "labels", "accuracy", "macro AUC", "recall"], rows) + [""]


def per_class_section(name: str, section: dict[str, Any]) -> list[str]:
    m, ci = section["metrics"], section.get("intervals_95") or {}
    rows = [
        [
            CLASS_TITLES.get(c, c),
            v["support"],
            *[
                _fmt(v[k]) + (f" ({ci[f'{c}.{k}'][0]:.2f}–{ci[f'{c}.{k}'][1]:.2f})" if f"{c}.{k}" in ci else "")
                for k in ("sensitivity", "specificity", "ppv", "auc")
            ],
        ]
        for c, v in m["per_class"].items()
        if v["support"]
    ]
    lines = [f"## Per class and per group: `{name}` films", ""]
    lines += _table(["class", "n", "sensitivity", "specificity", "PPV", "AUC"], rows) + [""]
    classes = list(m["per_class"])
    lines += ["Confusion matrix (rows: truth, columns: top class; full labels only)", ""]
    lines += _table(["", *classes], [[classes[i], *row] for i, row in enumerate(m["confusion_matrix"])]) + [""]
    return (
        lines
        + _breakdown_section("Per source", section["per_source"])
        + _breakdown_section("Per age group", section["per_age_group"])
    )


def model_section(report: dict[str, Any], meta: CheckpointMeta) -> list[str]:
    model, prep, training = report["model"], meta.preprocessing, meta.training
    calibration = meta.calibration
    return [
        "## Model",
        "",
        f"- Version `{model['version']}`; {model['arch']} (torchvision), {len(meta.class_names)} output classes: "
        f"{', '.join(meta.class_names)}; SHA-256 of weights and metadata `{model['sha256']}`",
        f"- Input: {prep.in_channels} channel, {prep.image_size} x {prep.image_size} px, {region_words(prep)} "
        f"squash-resized ({prep.interpolation}), normalised (x - {prep.mean}) / {prep.std}",
        f"- Operating point: {operating_point_words(meta.operating_point)}",
        f"- Trained from scratch in this project: epoch {training.get('best_epoch', '?')} of "
        f"{training.get('epochs_run', '?')} kept by the selection score, "
        f"{_fmt(training.get('wall_time_seconds'), 0)} s wall time",
        f"- Temperature T = {meta.temperature:.3f}, chosen on {calibration.get('fitted_on', 'val')} "
        f"({calibration.get('rule', 'minimum NLL')}); refusal statistics fitted on train, thresholds on val",
        "",
    ]


def data_section(meta: CheckpointMeta) -> list[str]:
    summary = meta.data_summary
    lines = ["## Training data", ""]
    for key, title in (
        ("split_class_counts", "split"),
        ("age_group_class_counts", "age group"),
        ("source_class_counts", "source"),
    ):
        counts = summary.get(key) or {}
        if counts:
            labels = [c for c in LABELS if any(c in row for row in counts.values())]
            lines += _table([title, *labels], [[k, *[row.get(c, 0) for c in labels]] for k, row in counts.items()])
            lines.append("")
    return lines


def render(report: dict[str, Any], meta: CheckpointMeta, command: str = "", train_command: str = "") -> str:
    """Markdown model card from an evaluation report and checkpoint metadata; every section once."""
    status = (
        ""
        if report["model"]["trained"]
        else "\n> **UNTRAINED placeholder checkpoint: every figure below is meaningless.**\n"
    )
    lines = [
        f"# Model card: chest X-ray classifier {report['model']['version']}",
        status,
        "## Intended use",
        "",
        INTENDED_USE,
        "",
        "## Out of scope",
        "",
        *[f"- {x}" for x in OUT_OF_SCOPE],
        "",
    ]
    lines += model_section(report, meta)
    for text, title in (
        (train_command, "Re-run the training:"),
        (command, "Re-run this evaluation (writes this card and metrics.json):"),
    ):
        if text:
            lines += [title, "", "```", text, "```", ""]
    lines += targets_section(report) + comparison_section(report) + cells_section(report)
    lines += groups_section(report) + cohort_section(report) + probe_section(report)
    lines += risk_coverage.markdown(report)
    for name, section in report["splits"].items():
        lines += per_class_section(name, section)
    lines += data_section(meta)
    for extra in report.get("extra_sections", []):
        lines += extra
    lines += ["## Limitations", "", *[f"- {x}" for x in LIMITATIONS], ""]
    return "\n".join(lines)
