"""Model card: everything read from the checkpoint's own metadata and its test report (metrics.json)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import card_metrics, charts, components
from xray_core.config import CLASS_TITLES
from xray_core.evaluation.card_words import (
    INTENDED_USE,
    LIMITATIONS,
    OUT_OF_SCOPE,
    operating_point_words,
    region_words,
)
from xray_core.evaluation.report_files import read_report
from xray_core.inference import ood
from xray_core.models.checkpoint import LoadedModel

TABS = ["Model", "Training data", "Test metrics", "Calibration", "Limitations"]


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "undefined"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _summary(loaded: LoadedModel) -> dict[str, Any]:
    """The model's identity plus what the card adds: size, classes, input, refusal threshold, libraries."""
    meta = loaded.meta
    return {
        **loaded.identity(),
        "class_names": list(loaded.class_names),
        "n_parameters": int(sum(p.numel() for p in loaded.model.parameters())),
        "preprocessing": meta.preprocessing.to_dict(),
        "ood_threshold": ood.threshold(meta.ood),
        "libraries": dict(meta.libraries),
    }


def _refer_text(loaded: LoadedModel) -> str:
    """The fitted 'uncertain' operating point and the coverage it leaves on the sets it was chosen on."""
    point = loaded.meta.operating_point.uncertain if loaded.meta.operating_point else None
    if point is None or point.threshold is None:
        return "not fitted (no uncertain flag)"
    target = f"accuracy ≥ {point.target_accuracy or 0:.0%} kept"
    sets = point.sets or {}
    if by_age := point.by_age:  # sets -> estimated age group -> coverage
        reached = point.reached or {}
        parts = [
            f"{group} films {value:.2f}"
            + ("" if reached.get(group, True) else " (target out of reach: all referred)")
            + " — "
            + ", ".join(f"{name} {v[group]['coverage']:.0%} kept" for name, v in sets.items() if v[group]["n"])
            for group, value in by_age.items()
        ]
        return f"top probability per estimated age group ({target}): " + "; ".join(parts)
    kept = ", ".join(f"{name} {v['coverage']:.0%} kept" for name, v in sets.items())
    return f"top probability {point.threshold:.2f} ({target}; {kept})"


def _age_probe_text(loaded: LoadedModel) -> str:
    probe = loaded.meta.age_probe
    if probe is None:
        return "not fitted (no age estimate, no age-support warning)"
    return f"linear probe on the features, {' / '.join(probe.classes)}; val AUC {_fmt(probe.val_auc)}"


def _model(loaded: LoadedModel) -> None:
    info = _summary(loaded)
    prep = info["preprocessing"]
    rows = {
        "Architecture": f"{info['arch']} (torchvision, trained from scratch)",
        "Parameters": f"{info['n_parameters']:,}",
        "Classes": ", ".join(CLASS_TITLES.get(c, c) for c in info["class_names"]),
        "Input": f"{prep.get('in_channels')} channel, {prep.get('image_size')} x {prep.get('image_size')} px, "
        f"{region_words(loaded.preprocessing)} squash-resized ({prep.get('interpolation')}), "
        f"(x - {prep.get('mean')}) / {prep.get('std')}",
        "Operating point": operating_point_words(loaded.meta.operating_point),
        "Temperature (calibration)": _fmt(info["temperature"]),
        "OOD refusal threshold": _fmt(info["ood_threshold"], 2),
        "Uncertain — refer below": _refer_text(loaded),
        "Age-group probe": _age_probe_text(loaded),
        "Checkpoint file": info["checkpoint"],
        "Weights SHA-256": f"`{info['sha256']}`",
        "Libraries": ", ".join(f"{k} {v}" for k, v in info["libraries"].items()) or "not recorded",
    }
    st.markdown(
        "| Property | Value |\n|---|---|\n" + "\n".join(f"| **{name}** | {value} |" for name, value in rows.items())
    )
    training = loaded.meta.training
    if training:
        st.markdown(
            f"Trained for **{training.get('epochs_run', '?')} epochs** in "
            f"{_fmt(training.get('wall_time_seconds'), 0)} s; epoch {training.get('best_epoch', '?')} kept by its "
            f"selection score {_fmt(training.get('best_selection_score'))} (validation and external AUCs, worst "
            "age group x label recall)."
        )
        if training.get("history"):
            st.plotly_chart(charts.history(training["history"]), key="mc_history", config=charts.CONFIG)
    validation = loaded.meta.metrics.get("val")
    if validation:
        st.markdown("##### Validation split (model selection)")
        flat = {
            "accuracy": validation.get("accuracy"),
            "macro AUC": validation.get("macro_auc"),
            **{k.replace("_", " "): v for k, v in (validation.get("clinical") or {}).items()},
        }
        st.dataframe(pd.DataFrame({"value": [_fmt(v) for v in flat.values()]}, index=list(flat)), key="mc_val")


def _counts(nested: dict[str, dict[str, int]], title: str, key: str) -> None:
    if nested:
        st.markdown(f"##### {title}")
        st.dataframe(pd.DataFrame(nested).T.fillna(0).astype(int).rename(columns=CLASS_TITLES), key=key)


def _data(loaded: LoadedModel) -> None:
    summary = loaded.meta.data_summary
    if not summary:
        st.info("This checkpoint records no training-data summary.")
        return
    count, missing = summary.get("n_images"), summary.get("images_without_patient_id")
    lead = f"**{count:,} images** in the dataset" if isinstance(count, int) else "The dataset"
    tail = f" ({missing:,} without a patient id)." if isinstance(missing, int) else "."
    st.markdown(f"{lead} the model was trained on{tail}")
    _counts(summary.get("split_class_counts") or {}, "Images per split and class", "mc_split_counts")
    _counts(summary.get("source_class_counts") or {}, "Images per source and class", "mc_source_counts")
    _counts(summary.get("age_group_class_counts") or {}, "Images per age group and class", "mc_age_counts")
    patients = summary.get("patients_per_class") or {}
    if patients:
        st.markdown("##### Patients per class (with an id)")
        st.dataframe(pd.DataFrame({"patients": patients}).rename(index=CLASS_TITLES).T, key="mc_patients")


def _calibration_rows(loaded: LoadedModel, report: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """ECE, NLL and Brier before and after temperature scaling: validation (checkpoint), every evaluated set."""
    calibration = loaded.meta.calibration
    rows = {
        name: values
        for name, values in (
            ("validation, before", calibration.get("val_before")),
            ("validation, after", calibration.get("val_after")),
        )
        if values
    }
    for split, section in ((report or {}).get("splits") or {}).items():
        rows[f"{split}, before (T = 1)"] = section.get("calibration_before") or {}
        rows[f"{split}, after"] = section["metrics"].get("calibration") or {}
    return rows


def _calibration(loaded: LoadedModel, report: dict[str, Any] | None) -> None:
    fitted_on = loaded.meta.calibration.get("fitted_on", "validation")
    st.markdown(
        f"Temperature scaling (Guo et al., 2017) fitted on the {fitted_on} split: "
        f"**T = {_fmt(loaded.temperature)}**. Displayed probabilities are softmax(logits / T)."
    )
    rows = _calibration_rows(loaded, report)
    if rows:
        table = pd.DataFrame(rows).T.reindex(columns=["ece", "nll", "brier"])
        table = table.map(lambda v: "not recorded" if pd.isna(v) else _fmt(float(v)))
        st.dataframe(table.rename(columns={"ece": "ECE", "nll": "NLL", "brier": "Brier"}), key="mc_calibration")
    if report is None:
        st.info("No reliability diagram: it needs the evaluation report (metrics.json).")
        return
    split = card_metrics.chosen_split(report, "mc_calibration_split")
    bins = (report["splits"][split]["metrics"].get("calibration") or {}).get("bins")
    if bins:
        st.plotly_chart(charts.reliability(bins, split), key="mc_reliability", config=charts.CONFIG)
    else:
        st.info(f"No reliability diagram for the {split} films: no film there has a single-class label.")


def _limitations(report: dict[str, Any] | None) -> None:
    st.markdown("\n".join(f"- {item}" for item in LIMITATIONS) or "No limitations recorded.")
    for split, section in ((report or {}).get("splits") or {}).items():
        groups = section.get("groups") or {}
        rate, count = groups.get("adult_non_covid_pneumonia_called_covid"), groups.get("n_adult_non_covid_pneumonia")
        if rate is not None:
            st.warning(
                f"Shortcut check on the {split} films: of {count} adult non-COVID pneumonias, {rate:.0%} were "
                "called COVID-19.",
                icon=":material/warning:",
            )
    probe = (report or {}).get("probe") or {}
    if probe:
        st.caption(
            f"Shortcut audit: a linear probe on the network's features predicts the age group with AUC "
            f"{_fmt(probe.get('age_group_auc'), 2)} and the source with macro AUC "
            f"{_fmt(probe.get('source_auc'), 2)}. Values near 1 mean age and hospital are readable from what "
            "the model sees, so they may stand in for disease."
        )


def _header(loaded: LoadedModel) -> None:
    identity = loaded.identity()
    status = ":green-badge[trained]" if identity["trained"] else ":red-badge[UNTRAINED placeholder]"
    st.markdown(
        f"**Version {identity['version']}** · {identity['arch']} · {status} · SHA-256 `{identity['sha256'][:16]}…`"
    )
    with st.container(border=True):
        st.markdown(f"**Intended use.** {INTENDED_USE}")
        if OUT_OF_SCOPE:
            st.markdown("**Out of scope.**\n" + "\n".join(f"- {item}" for item in OUT_OF_SCOPE))


def render() -> None:
    st.title("Model card")
    loaded, error = components.get_model()
    if loaded is None:
        st.error(error, icon=":material/error:")
        st.stop()
    _header(loaded)
    report, problem = read_report(loaded.path)
    sections = {
        "Model": lambda: _model(loaded),
        "Training data": lambda: _data(loaded),
        "Test metrics": lambda: card_metrics.test_metrics(loaded, report, problem),
        "Calibration": lambda: _calibration(loaded, report),
        "Limitations": lambda: _limitations(report),
    }
    for tab, name in zip(st.tabs(TABS, key="mc_tab", on_change="rerun"), TABS):
        with tab:
            if tab.open is not False:  # lazy: only the open tab computes
                sections[name]()


if __name__ == "__main__":
    render()
