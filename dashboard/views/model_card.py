"""Model card: everything read from the checkpoint's own metadata and its test report (metrics.json)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import card_metrics, charts, components
from xray_core.config import CLASS_TITLES
from xray_core.dashboard_data import model_summary, read_report
from xray_core.models.checkpoint import LoadedModel

try:  # the card's prose lives with the markdown model card renderer
    from xray_core.evaluation.model_card import INTENDED_USE, LIMITATIONS, OUT_OF_SCOPE
except ImportError:  # pragma: no cover - exercised only in partial installations
    INTENDED_USE, LIMITATIONS, OUT_OF_SCOPE = "Decision support only, not a diagnosis.", [], []

TABS = ["Model", "Training data", "Test metrics", "Calibration", "Limitations"]


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "undefined"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _model(loaded: LoadedModel) -> None:
    info = model_summary(loaded)
    prep = info["preprocessing"]
    rows = {"Architecture": f"{info['arch']} (torchvision, trained from scratch)",
            "Parameters": f"{info['n_parameters']:,}",
            "Classes": ", ".join(CLASS_TITLES.get(c, c) for c in info["class_names"]),
            "Input": f"{prep.get('in_channels')} channel, {prep.get('image_size')} x {prep.get('image_size')} px, "
                     f"whole film squash-resized ({prep.get('interpolation')}), "
                     f"(x - {prep.get('mean')}) / {prep.get('std')}",
            "Temperature (calibration)": _fmt(info["temperature"]),
            "OOD refusal threshold": _fmt(info["ood_threshold"], 2),
            "Checkpoint file": info["checkpoint"], "Weights SHA-256": f"`{info['sha256']}`",
            "Libraries": ", ".join(f"{k} {v}" for k, v in info["libraries"].items()) or "not recorded"}
    st.markdown("| Property | Value |\n|---|---|\n" + "\n".join(f"| **{name}** | {value} |" for name, value in rows.items()))
    training = loaded.meta.training
    if training:
        st.markdown(f"Trained for **{training.get('epochs_run', '?')} epochs** in "
                    f"{_fmt(training.get('wall_time_seconds'), 0)} s; best validation macro AUC "
                    f"{_fmt(training.get('best_val_macro_auc'))}.")
        if training.get("history"):
            st.plotly_chart(charts.history(training["history"]), key="mc_history", config=charts.CONFIG)
    validation = loaded.meta.metrics.get("val")
    if validation:
        st.markdown("##### Validation split (model selection)")
        flat = {"accuracy": validation.get("accuracy"), "macro AUC": validation.get("macro_auc"),
                **{k.replace("_", " "): v for k, v in (validation.get("clinical") or {}).items()}}
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


def _calibration(loaded: LoadedModel, report: dict[str, Any] | None) -> None:
    calibration = {**loaded.meta.calibration, "temperature": loaded.meta.temperature}
    st.markdown(f"Temperature scaling (Guo et al., 2017) fitted on the {calibration.get('fitted_on', 'validation')} "
                f"split: **T = {_fmt(calibration.get('temperature'))}**. "
                "Displayed probabilities are softmax(logits / T).")
    rows = {}
    for name, values in (("validation, before", calibration.get("val_before")),
                         ("validation, after", calibration.get("val_after"))):
        if values:
            rows[name] = values
    if report:
        rows["test, before (T = 1)"] = report.get("calibration_before") or {}
        after = report["metrics"].get("calibration") or {}
        rows["test, after"] = {k: after.get(k) for k in ("ece", "nll", "brier")}
    if rows:
        table = pd.DataFrame(rows).T.reindex(columns=["ece", "nll", "brier"])
        table = table.map(lambda v: "not recorded" if pd.isna(v) else _fmt(float(v)))
        st.dataframe(table.rename(columns={"ece": "ECE", "nll": "NLL", "brier": "Brier"}), key="mc_calibration")
    bins = ((report or {}).get("metrics") or {}).get("calibration", {}).get("bins")
    if bins:
        st.plotly_chart(charts.reliability(bins), key="mc_reliability", config=charts.CONFIG)
    else:
        st.info("No reliability diagram: it needs the test report (metrics.json).")


def _limitations(report: dict[str, Any] | None) -> None:
    st.markdown("\n".join(f"- {item}" for item in LIMITATIONS) or "No limitations recorded.")
    if report and report.get("shortcut"):
        shortcut = report["shortcut"]
        st.warning(f"Shortcut check on the test split: of {shortcut['adult_non_covid_pneumonias']} adult non-COVID "
                   f"pneumonias, {shortcut['called_covid']} were called COVID-19.", icon=":material/warning:")


def _header(loaded: LoadedModel) -> None:
    status = ":green-badge[trained]" if loaded.trained else ":red-badge[UNTRAINED placeholder]"
    st.markdown(f"**Version {loaded.version}** · {loaded.arch} · {status} · SHA-256 `{loaded.sha256[:16]}…`")
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
    sections = {"Model": lambda: _model(loaded), "Training data": lambda: _data(loaded),
                "Test metrics": lambda: card_metrics.test_metrics(loaded, report, problem),
                "Calibration": lambda: _calibration(loaded, report), "Limitations": lambda: _limitations(report)}
    for tab, name in zip(st.tabs(TABS, key="mc_tab", on_change="rerun"), TABS):
        with tab:
            if tab.open is not False:  # lazy: only the open tab computes
                sections[name]()


if __name__ == "__main__":
    render()
