"""Render ``MODEL_CARD.md`` from the evaluation report and the checkpoint's metadata (one dict, two files)."""

from __future__ import annotations

from typing import Any

from xray_core.config import CLASS_TITLES
from xray_core.models.meta import CheckpointMeta

INTENDED_USE = (
    "Decision support for exploring frontal (PA/AP) chest radiographs: it shows how strongly the image resembles "
    "normal, bacterial pneumonia, viral pneumonia or COVID-19 films of its training corpus, with Grad-CAM heatmaps. "
    "It is **not a diagnosis** and not a medical device; a qualified clinician interprets every image."
)
OUT_OF_SCOPE = [
    "Diagnosis, triage or treatment decisions without a clinician.",
    "Lateral views, CT, non-chest images, photographs of films or screens (the OOD check refuses many, not all).",
    "Adults with bacterial or viral pneumonia: nearly all such training images are pediatric (ages 1-5).",
    "Any population, scanner or hospital unlike the public sources listed below.",
]
LIMITATIONS = [
    "**Age/source confounding.** Bacterial and viral pneumonia images are almost all pediatric (Kermany, ages 1-5) "
    "while COVID-19 images are adult and come from a few repositories. COVID-vs-rest and pneumonia-vs-normal "
    "figures are therefore optimistic: the model may separate classes by age, hospital or processing rather than "
    "disease (DeGrave et al., Nature Machine Intelligence 2021). See the shortcut check and per-source tables.",
    "**Copies of copies.** Most images exist only as 224 x 224 squashed JPEG copies; every image is squash-resized "
    "the same way so that size and aspect ratio cannot act as cues, but compression and processing differences "
    "between sources remain.",
    "**No patient ids** for the RSNA normals and the COVID-19 Radiography Database images, so two films of one "
    "patient may sit in different splits there; confidence intervals treat each such image as its own patient.",
    "**Low resolution** training input (see preprocessing) limits what subtle findings the model can use.",
    "Labels come from the source repositories (file names, metadata), not from a re-read by radiologists.",
]


# Targets from the project's training issue, checked against the evaluated split.
TARGETS = [
    ("pneumonia vs normal AUC", ("metrics", "clinical", "pneumonia_vs_normal_auc"), ">=", 0.98),
    ("bacterial vs viral AUC", ("metrics", "clinical", "bacterial_vs_viral_auc"), ">=", 0.96),
    ("macro 4-class AUC", ("metrics", "macro_auc"), ">=", 0.97),
    ("COVID sensitivity at 95 % specificity", ("metrics", "clinical", "covid_sensitivity_at_95_specificity"), ">=", 0.95),
    ("ECE after calibration", ("metrics", "calibration", "ece"), "<=", 0.03),
]


def targets_table(report: dict[str, Any]) -> list[str]:
    """Target, achieved value and whether it is met, for each of :data:`TARGETS`."""
    rows = []
    for name, path, op, goal in TARGETS:
        value: Any = report
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        met = None if value is None else (value >= goal if op == ">=" else value <= goal)
        rows.append([name, f"{op} {goal}", value, {True: "met", False: "**not met**", None: "undefined"}[met]])
    return _table(["measure", "target", "achieved", ""], rows)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "undefined"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ci(report: dict, key: str) -> str:
    interval = report.get("intervals_95", {}).get(key)
    return f" ({interval[0]:.3f}–{interval[1]:.3f})" if interval else ""


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]


def _data_section(meta: CheckpointMeta) -> list[str]:
    summary = meta.data_summary
    lines = ["## Training data", ""]
    splits = summary.get("split_class_counts") or summary.get("counts") or {}
    if splits:
        classes = sorted({c for row in splits.values() for c in row})
        lines += _table(["split", *classes], [[s, *[row.get(c, 0) for c in classes]] for s, row in splits.items()])
        lines.append("")
    sources = summary.get("source_class_counts") or {}
    if sources:
        classes = sorted({c for row in sources.values() for c in row})
        lines += _table(["source", *classes], [[s, *[row.get(c, 0) for c in classes]] for s, row in sources.items()])
        lines.append("")
    return lines


def _metrics_section(report: dict) -> list[str]:
    m = report["metrics"]
    clinical = m["clinical"]
    lines = [f"## Evaluation on the `{report['split']}` split ({report['n_images']} images, "
             f"{report['n_patient_groups']} patient groups)", "",
             "95 % intervals: percentile bootstrap over patients "
             f"({report['bootstrap_reps']} resamples). Probabilities are temperature-calibrated.", ""]
    lines += _table(["measure", "value (95 % CI)"], [
        ["macro one-vs-rest AUC", f"{_fmt(m['macro_auc'])}{_ci(report, 'macro_auc')}"],
        ["accuracy", _fmt(m["accuracy"])],
        *[[name.replace("_", " "), f"{_fmt(value)}{_ci(report, 'clinical.' + name)}"]
          for name, value in clinical.items()],
    ])
    lines += ["", "Pneumonia vs normal uses non-COVID images (bacterial + viral probability); bacterial vs viral is "
              "scored among true pneumonias by the bacterial share of the pneumonia probability.", ""]
    rows = [[CLASS_TITLES.get(name, name), v["support"], *[f"{_fmt(v[k])}{_ci(report, f'{name}.{k}')}"
                                                          for k in ("sensitivity", "specificity", "ppv", "npv",
                                                                    "f1", "auc")]]
            for name, v in m["per_class"].items()]
    lines += _table(["class", "n", "sensitivity", "specificity", "PPV", "NPV", "F1", "AUC"], rows)
    names = list(m["per_class"])
    lines += ["", "Confusion matrix (rows: truth, columns: prediction)", ""]
    lines += _table(["", *names], [[names[i], *row] for i, row in enumerate(m["confusion_matrix"])])
    return lines + [""]


def _calibration_section(report: dict, meta: CheckpointMeta) -> list[str]:
    calibration = {**meta.calibration, "temperature": meta.temperature}
    before, after = report["calibration_before"], report["metrics"]["calibration"]
    lines = ["## Calibration", "",
             f"Temperature scaling fitted on the validation split: T = {_fmt(calibration.get('temperature'))}.", ""]
    lines += _table(["", "ECE", "NLL", "Brier"], [
        ["before (T = 1)", before["ece"], before["nll"], before["brier"]],
        ["after", after["ece"], after["nll"], after["brier"]],
    ])
    return lines + [""]


def _breakdown_section(title: str, breakdown: dict) -> list[str]:
    if not breakdown:
        return []
    lines = [f"## {title}", ""]
    rows = [[key, v["n"], ", ".join(f"{k} {n}" for k, n in v["labels"].items() if n), v["accuracy"], v["macro_auc"],
             ", ".join(f"{k} {_fmt(s, 2)}" for k, s in v["sensitivity"].items())] for key, v in breakdown.items()]
    return lines + _table(["group", "n", "labels", "accuracy", "macro AUC", "sensitivity"], rows) + [""]


def render(report: dict[str, Any], meta: CheckpointMeta, command: str = "", train_command: str = "") -> str:
    """Markdown model card from an evaluation report and checkpoint metadata."""
    model = report["model"]
    prep = meta.preprocessing.to_dict()
    training = meta.training
    status = "" if model["trained"] else "\n> **UNTRAINED placeholder checkpoint: every figure below is meaningless.**\n"
    lines = [f"# Model card: chest X-ray classifier {model['version']}", status,
             "## Intended use", "", INTENDED_USE, "", "## Out of scope", "", *[f"- {x}" for x in OUT_OF_SCOPE], "",
             "## Model", "",
             f"- Architecture: {model['arch']} (torchvision), {len(meta.class_names)} classes: "
             f"{', '.join(meta.class_names)}",
             f"- Input: {prep.get('in_channels')} channel, {prep.get('image_size')} x {prep.get('image_size')} px, "
             f"whole image squash-resized ({prep.get('interpolation')}), normalised (x - {prep.get('mean')}) / "
             f"{prep.get('std')}",
             f"- Weights SHA-256: `{model['sha256']}`",
             f"- Trained from scratch on the project's corpus: {training.get('epochs_run', '?')} epochs, "
             f"{_fmt(training.get('wall_time_seconds'), 0)} s wall time on the machine it was trained on",
             ""]
    if train_command:
        lines += ["Re-run the training:", "", "```", train_command, "```", ""]
    if command:
        lines += ["Re-run this evaluation (writes this card and metrics.json):", "", "```", command, "```", ""]
    lines += ["## Targets", ""] + targets_table(report) + [""]
    lines += _data_section(meta) + _metrics_section(report) + _calibration_section(report, meta)
    shortcut = report["shortcut"]
    lines += ["## Shortcut check", "",
              f"Adult non-COVID pneumonias in this split: {shortcut['adult_non_covid_pneumonias']}; "
              f"called COVID-19 by the model: {shortcut['called_covid']}.", ""]
    lines += _breakdown_section("Per source", report["per_source"])
    lines += _breakdown_section("Per age group", report["per_age_group"])
    ood = report.get("ood", {})
    lines += ["## Out-of-distribution check", "",
              f"Radiographs of this split refused as not chest-X-ray-like: {ood.get('refused')} of {ood.get('n')} "
              f"({_fmt(100 * ood.get('rate', 0), 1)} %).", ""]
    for extra in report.get("extra_sections", []):
        lines += extra
    lines += ["## Limitations", "", *[f"- {x}" for x in LIMITATIONS], ""]
    return "\n".join(lines)
