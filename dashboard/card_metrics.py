"""The model card's test-split section: metrics.json tables, confusion matrix and ROC curves."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import charts, components
from xray_core.config import CLASS_TITLES
from xray_core.dashboard_data import roc_points, split_probabilities
from xray_core.models.checkpoint import LoadedModel

PER_CLASS = ("sensitivity", "specificity", "ppv", "npv", "f1", "auc")
CLINICAL = {"pneumonia_vs_normal_auc": "Pneumonia vs normal, AUC", "bacterial_vs_viral_auc": "Bacterial vs viral, AUC",
            "covid_vs_rest_auc": "COVID-19 vs rest, AUC",
            "covid_sensitivity_at_95_specificity": "COVID-19 sensitivity at 95 % specificity"}


def _with_ci(value: Any, interval: list[float] | None) -> str:
    if value is None:
        return "undefined"
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    return f"{text} ({interval[0]:.3f}–{interval[1]:.3f})" if interval else text


def per_class_table(report: dict[str, Any]) -> pd.DataFrame:
    """Rows = classes; support and the six per-class measures with their 95 % intervals."""
    intervals = report.get("intervals_95") or {}
    rows = {}
    for name, values in report["metrics"]["per_class"].items():
        rows[CLASS_TITLES.get(name, name)] = {"n": values.get("support"), **{
            metric.upper() if metric in ("ppv", "npv", "auc") else metric: _with_ci(values.get(metric),
                                                                                   intervals.get(f"{name}.{metric}"))
            for metric in PER_CLASS}}
    return pd.DataFrame(rows).T


def _headline(report: dict[str, Any]) -> None:
    metrics, intervals = report["metrics"], report.get("intervals_95") or {}
    cols = st.columns(4)
    cols[0].metric("Test images", f"{report.get('n_images', metrics.get('n', 0)):,}",
                   help=f"{report.get('n_patient_groups', '?')} patient groups")
    cols[1].metric("Macro AUC", _with_ci(metrics.get("macro_auc"), None),
                   help=f"95 % CI {intervals.get('macro_auc')}")
    cols[2].metric("Accuracy", _with_ci(metrics.get("accuracy"), None))
    ood = report.get("ood") or {}
    cols[3].metric("Refused as OOD", f"{100 * ood.get('rate', 0):.1f} %" if ood else "n/a")
    clinical = metrics.get("clinical") or {}
    if clinical:
        values = {CLINICAL.get(k, k.replace("_", " ")): _with_ci(v, intervals.get(f"clinical.{k}"))
                  for k, v in clinical.items()}
        st.dataframe(pd.DataFrame({"value (95 % CI)": values}), key="mc_clinical")


@st.cache_resource
def _roc_store() -> dict[str, dict[str, Any]]:
    """ROC curves computed in this server process, by checkpoint SHA-256 (shared across sessions)."""
    return {}


def _roc(loaded: LoadedModel, report: dict[str, Any]) -> None:
    curves = report.get("roc") or _roc_store().get(loaded.sha256)
    if curves is None:
        table, error = components.load_table(components.default_dataset())
        if table is None:
            st.info(f"ROC curves need the per-image scores of the test split: {error}")
            return
        part = table[table["split"] == report.get("split", "test")]
        st.caption(f"ROC curves need per-image scores; metrics.json keeps only summaries. They can be computed "
                   f"here from the {len(part):,} {report.get('split', 'test')} images.")
        if part.empty or not st.button("Compute ROC curves", key="mc_roc_run", icon=":material/show_chart:"):
            return
        bar = st.progress(0.0, text="Predicting the test split…")
        y_true, y_prob = split_probabilities(loaded, part, progress=lambda done, total: bar.progress(
            done / max(total, 1), text=f"Predicting the test split: {done:,} of {total:,}"))
        bar.empty()
        curves = roc_points(y_true, y_prob, loaded.class_names)
        _roc_store()[loaded.sha256] = curves
    st.plotly_chart(charts.roc_curves(curves), key="mc_roc", config=charts.CONFIG)


def _breakdown(report: dict[str, Any]) -> None:
    for title, key in (("Per source", "per_source"), ("Per age group", "per_age_group")):
        groups = report.get(key) or {}
        if groups:
            st.markdown(f"##### {title}")
            rows = {group: {"n": v["n"], "accuracy": v.get("accuracy"), "macro AUC": v.get("macro_auc"),
                            **{f"sens. {CLASS_TITLES.get(c, c)}": s for c, s in (v.get("sensitivity") or {}).items()}}
                    for group, v in groups.items()}
            st.dataframe(pd.DataFrame(rows).T, key=f"mc_{key}",
                         column_config={c: st.column_config.NumberColumn(format="%.3f")
                                        for c in pd.DataFrame(rows).T.columns if c != "n"})


def test_metrics(loaded: LoadedModel, report: dict[str, Any] | None, problem: str) -> None:
    if report is None:
        st.info(problem, icon=":material/description:")
        return
    if (report.get("model") or {}).get("sha256") not in (None, loaded.sha256):
        st.warning("This metrics.json was written for a different checkpoint (its SHA-256 differs): the figures "
                   "below may not describe the loaded model.", icon=":material/warning:")
    st.caption(f"Split **{report.get('split', '?')}**; 95 % intervals from a patient-level bootstrap "
               f"({report.get('bootstrap_reps', '?')} resamples). Probabilities are temperature-calibrated.")
    _headline(report)
    st.markdown("##### Per class")
    st.dataframe(per_class_table(report), key="mc_per_class")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(charts.confusion(report["metrics"]["confusion_matrix"], list(report["metrics"]["per_class"])),
                        key="mc_confusion", config=charts.CONFIG)
    with right:
        _roc(loaded, report)
    _breakdown(report)
