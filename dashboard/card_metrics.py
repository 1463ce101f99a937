"""The model card's evaluation tab: targets, then one evaluated set at a time (test, external films...), all read
from the report: metrics with intervals, confusion matrix, ROC curves, per-group figures."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import charts
from xray_core.config import CLASS_TITLES
from xray_core.evaluation.card_groups import FIGURE_WORDS, SMALL_NOTE
from xray_core.evaluation.report_files import report_roc
from xray_core.models.checkpoint import LoadedModel

PER_CLASS = ("sensitivity", "specificity", "ppv", "npv", "f1", "auc")
CLINICAL = {
    "pneumonia_vs_normal_auc": "Pneumonia vs normal, AUC",
    "bacterial_vs_viral_auc": "Bacterial vs viral, AUC",
    "covid_vs_rest_auc": "COVID-19 vs rest, AUC",
    "covid_sensitivity_at_95_specificity": "COVID-19 sensitivity at 95 % specificity",
}
VERDICT_WORDS = {"met": "met", "missed": "MISSED", "not shown": "not shown (interval straddles the target)"}


def _with_ci(value: Any, interval: list[float] | None) -> str:
    if value is None:
        return "undefined"
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    return f"{text} ({interval[0]:.3f}–{interval[1]:.3f})" if interval else text


def _verdict(row: dict[str, Any]) -> str:
    """A target's verdict (reports written before targets were judged by interval carry only ``met``)."""
    verdict = row.get("verdict") or {True: "met", False: "missed"}.get(row.get("met"), "undefined")
    return VERDICT_WORDS.get(verdict, verdict)


def figure_rows(records: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Group figures as rows: value (95 % CI), films, patients and the small-sample note."""
    return pd.DataFrame(
        [
            {
                "figure": FIGURE_WORDS.get(name, name),
                "value (95 % CI)": _with_ci(record.get("value"), record.get("interval_95")),
                "films": record.get("n"),
                "patients": record.get("n_patients"),
                "": "small sample" if record.get("small_sample") else "",
            }
            for name, record in records.items()
            if record.get("n")
        ]
    )


def chosen_split(report: dict[str, Any], key: str) -> str:
    """A set of films to show (widget ``key``), the test split first when it was evaluated."""
    names = sorted(report["splits"], key=lambda name: (name != "test", name))
    return st.segmented_control("Films", names, default=names[0], key=key, required=True)


def per_class_table(section: dict[str, Any]) -> pd.DataFrame:
    """Rows = classes; support and the six per-class measures with their 95 % intervals."""
    intervals = section.get("intervals_95") or {}
    rows = {}
    for name, values in section["metrics"]["per_class"].items():
        rows[CLASS_TITLES.get(name, name)] = {
            "n": values.get("support"),
            **{
                metric.upper() if metric in ("ppv", "npv", "auc") else metric: _with_ci(
                    values.get(metric), intervals.get(f"{name}.{metric}")
                )
                for metric in PER_CLASS
            },
        }
    return pd.DataFrame(rows).T


def _targets(report: dict[str, Any]) -> None:
    rows = report.get("targets") or []
    if rows:
        st.markdown("##### Targets")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "measure": t["measure"],
                        "films": t["split"],
                        "target": t["target"],
                        "achieved (95 % CI)": _with_ci(t["value"], t.get("interval_95")),
                        "n": t.get("n"),
                        "": _verdict(t),
                    }
                    for t in rows
                ]
            ),
            hide_index=True,
            key="mc_targets",
        )
        st.caption(
            "Judged by the 95 % interval: **met** when the whole interval is on the right side of the target, "
            "**missed** when it is wholly on the wrong side, **not shown** when it straddles the target. "
            f"{SMALL_NOTE}"
        )


def _headline(section: dict[str, Any]) -> None:
    metrics, intervals = section["metrics"], section.get("intervals_95") or {}
    cols = st.columns(4)
    cols[0].metric(
        "Images",
        f"{section.get('n_images', metrics.get('n', 0)):,}",
        help=f"{section.get('n_patient_groups', '?')} patient groups; {metrics.get('n_partial', 0)} "
        "labelled pneumonia of unknown type",
    )
    cols[1].metric("Macro AUC", _with_ci(metrics.get("macro_auc"), None), help=f"95 % CI {intervals.get('macro_auc')}")
    cols[2].metric("Accuracy", _with_ci(metrics.get("accuracy"), None))
    rate = (section.get("ood") or {}).get("rate")
    cols[3].metric("Refused as OOD", "n/a" if rate is None else f"{100 * rate:.1f} %")
    clinical = metrics.get("clinical") or {}
    if clinical:
        values = {
            CLINICAL.get(k, k.replace("_", " ")): _with_ci(v, intervals.get(f"clinical.{k}"))
            for k, v in clinical.items()
        }
        st.dataframe(pd.DataFrame({"value (95 % CI)": values}), key="mc_clinical")


def _roc(loaded: LoadedModel, report: dict[str, Any], split: str) -> None:
    """ROC curves as the evaluation wrote them; never recomputed here (scoring a split is not a web request)."""
    curves, problem = report_roc(report, split, loaded.path)
    if curves is None:
        st.info(problem, icon=":material/show_chart:")
        return
    st.plotly_chart(charts.roc_curves(curves), key="mc_roc", config=charts.CONFIG)


def _breakdown(section: dict[str, Any]) -> None:
    for title, key in (("Per source", "per_source"), ("Per age group", "per_age_group")):
        groups = section.get(key) or {}
        if groups:
            st.markdown(f"##### {title}")
            rows = pd.DataFrame(
                {
                    group: {
                        "n": v["n"],
                        "accuracy": v.get("accuracy"),
                        "macro AUC": v.get("macro_auc"),
                        **{f"recall {CLASS_TITLES.get(c, c)}": s for c, s in (v.get("sensitivity") or {}).items()},
                    }
                    for group, v in groups.items()
                }
            ).T
            st.dataframe(
                rows,
                key=f"mc_{key}",
                column_config={c: st.column_config.NumberColumn(format="%.3f") for c in rows.columns if c != "n"},
            )


def _groups(section: dict[str, Any]) -> None:
    """The split's group figures, then one table per cohort (adult external films), each with n and intervals."""
    figures = section.get("group_figures") or {}
    if figures:
        st.markdown("##### Group figures")
        st.dataframe(figure_rows(figures), hide_index=True, key="mc_group_figures")
    for cohort, values in (section.get("per_cohort") or {}).items():
        st.markdown(f"##### Cohort `{cohort}`: {values['n']} films, {values['n_patients']} patients")
        st.dataframe(figure_rows(values["figures"]), hide_index=True, key=f"mc_cohort_{cohort}")
    if figures:
        st.caption(SMALL_NOTE)


def risk_coverage(report: dict[str, Any]) -> None:
    """Risk-coverage curves of every evaluated set in one chart, as the evaluation wrote them (never recomputed)."""
    curves = {
        name: s["risk_coverage"]
        for name, s in report["splits"].items()
        if (s.get("risk_coverage") or {}).get("coverage")
    }
    if not curves:
        st.info(
            "No risk–coverage curves: re-run the evaluation to add them to metrics.json.", icon=":material/show_chart:"
        )
        return
    st.markdown("##### Uncertain — refer")
    st.plotly_chart(charts.risk_coverage(curves), key="mc_risk_coverage", config=charts.CONFIG)
    rows = {
        f"{name}, {group} films" if group else name: {
            "threshold": p.get("by_age", {}).get(group, p["threshold"])
            if group and p.get("by_age")
            else p.get("threshold"),
            "coverage": values["coverage"],
            "accuracy kept": values["accuracy"],
        }
        for name, c in curves.items()
        if (p := c.get("operating_point"))
        for group, values in [("", p), *(p.get("per_age_group") or {}).items()]
    }
    if rows:
        st.dataframe(
            pd.DataFrame(rows).T,
            key="mc_refer_table",
            column_config={
                c: st.column_config.NumberColumn(format="%.3f") for c in ("threshold", "coverage", "accuracy kept")
            },
        )
        st.caption(
            "Films whose top probability is under the threshold are flagged **uncertain — refer**. The threshold is "
            "chosen on validation and external films (never test) as the lowest keeping the target accuracy, per age "
            "group as the age probe estimates it when fitted so; rows per age group use the films' recorded group."
        )


def test_metrics(loaded: LoadedModel, report: dict[str, Any] | None, problem: str) -> None:
    if report is None:
        st.info(problem, icon=":material/description:")
        return
    if (report.get("model") or {}).get("sha256") not in (None, loaded.sha256):
        st.warning(
            "This metrics.json was written for a different checkpoint (its SHA-256 differs): the figures "
            "below may not describe the loaded model.",
            icon=":material/warning:",
        )
    _targets(report)
    split = chosen_split(report, "mc_split")
    section = report["splits"][split]
    st.caption(
        f"**{split}** films; 95 % intervals from a patient-level bootstrap "
        f"({report.get('bootstrap_reps', '?')} resamples). Probabilities are temperature-calibrated."
    )
    _headline(section)
    st.markdown("##### Per class")
    st.dataframe(per_class_table(section), key="mc_per_class")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(
            charts.confusion(section["metrics"]["confusion_matrix"], list(section["metrics"]["per_class"]), split),
            key="mc_confusion",
            config=charts.CONFIG,
        )
    with right:
        _roc(loaded, report, split)
    _groups(section)
    _breakdown(section)
    risk_coverage(report)
