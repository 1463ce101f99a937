"""Dataset explorer: class balance, splits, sources and confounding, patients, image statistics, a gallery."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import charts, components, dataset_choice, explore_images
from xray_core.config import CLASS_TITLES
from xray_core.data import plots, stats
from xray_core.data.dataset import ACCEPTED_LAYOUTS, split_counts

TABS = ["Classes", "Splits & sources", "Patients", "Images", "Quality", "Gallery"]


def _headline(table: pd.DataFrame) -> None:
    with_id = table[table["patient_id"].fillna("") != ""]
    cols = st.columns(4)
    cols[0].metric("Images", f"{len(table):,}")
    cols[1].metric("Patients with an id", f"{with_id['patient_id'].nunique():,}")
    cols[2].metric("Sources", f"{table['source'].nunique():,}")
    cols[3].metric("Splits", ", ".join(s for s in ("train", "val", "test") if s in set(table["split"])) or "none")
    unknown = table.attrs.get("unknown_folders") or []
    if unknown:
        st.warning(f"Folders not recognised as a class or split (ignored): {', '.join(unknown[:20])}")
    if table.attrs.get("skipped"):
        st.warning(f"{table.attrs['skipped']} file(s) skipped: their class could not be determined.")


def class_count_table(table: pd.DataFrame) -> pd.DataFrame:
    """Images per class (rows) and split (columns), with a total and the share of all images."""
    counts = split_counts(table).T
    counts.columns = [c or "(no split)" for c in counts.columns]
    counts["total"] = counts.sum(axis=1)
    counts["% of images"] = (counts["total"] / max(1, counts["total"].sum()) * 100).round(1)
    counts.index = [CLASS_TITLES.get(c, c) for c in counts.index]
    return counts


def _classes(table: pd.DataFrame) -> None:
    st.dataframe(
        class_count_table(table),
        key="ex_counts",
        column_config={"% of images": st.column_config.NumberColumn(format="%.1f %%")},
    )
    by_split = split_counts(table)
    left, right = st.columns([3, 2])
    left.plotly_chart(
        plots.class_bars(by_split.rename(index={"": "(no split)"}), "Images per class and split"),
        key="ex_class_bars",
        config=charts.CONFIG,
    )
    with right:
        options = ["all", *[s for s in by_split.index if s]]
        chosen = st.segmented_control("Split", options, default="all", key="ex_pie_split", required=True)
        counts = by_split.sum(axis=0) if chosen == "all" else by_split.loc[chosen]
        st.plotly_chart(charts.class_pie(counts, chosen), key="ex_class_pie", config=charts.CONFIG)


def _confounding(table: pd.DataFrame) -> None:
    for by in ("source", "age_group"):
        if by not in table.columns or table[by].nunique() < 2:
            continue
        result = stats.confounding(table, by)
        for warning in result["warnings"]:
            st.warning(f"**Confounding ({by.replace('_', ' ')}).** {warning}", icon=":material/warning:")
        counts = stats.source_class_table(table, by).T
        st.plotly_chart(
            charts.stacked_shares(counts[counts.sum(axis=1) > 0], f"Where each class comes from ({by})"),
            key=f"ex_share_{by}",
            config=charts.CONFIG,
        )


def _sources(table: pd.DataFrame) -> None:
    st.markdown("##### Split × class")
    split_table = split_counts(table).rename(index={"": "(no split)"}, columns=CLASS_TITLES)
    st.dataframe(split_table, key="ex_split_table")
    st.markdown("##### Source × class")
    st.dataframe(stats.source_class_table(table).rename(columns=CLASS_TITLES), key="ex_source_table")
    _confounding(table)


def _patients(table: pd.DataFrame) -> None:
    per_class = stats.patients_per_class(table)
    per_patient = stats.images_per_patient(table)
    missing = int((table["patient_id"].fillna("") == "").sum())
    if missing:
        st.info(f"{missing:,} image(s) have no patient id: their patients cannot be counted or kept in one split.")
    if per_patient.empty:
        st.warning("No patient ids in this dataset: patient-level statistics are unavailable.")
        return
    left, right = st.columns(2)
    left.plotly_chart(
        plots.label_bars(per_class.to_dict(), "Patients per class", "patients"),
        key="ex_patients",
        config=charts.CONFIG,
    )
    right.plotly_chart(
        charts.histogram(per_patient.to_numpy(), "Images per patient", "images of one patient"),
        key="ex_images_per_patient",
        config=charts.CONFIG,
    )
    st.caption(
        f"{len(per_patient):,} patients; median {per_patient.median():.0f} and at most "
        f"{per_patient.max()} image(s) per patient."
    )


def _dataset_path() -> str:
    """The chosen dataset among those this server offers (dashboard.dataset_choice), or '' when there is none."""
    choices = [str(p) for p in dataset_choice.allowed_datasets()]
    if not choices:
        return ""
    return st.selectbox(
        "Dataset",
        choices,
        key="ex_dataset",
        format_func=lambda p: dataset_choice.label(Path(p)),
        help=f"The data folder, the folders inside it and those an administrator lists. Layouts: {ACCEPTED_LAYOUTS}",
    )


def render() -> None:
    st.title("Dataset explorer")
    path = _dataset_path()
    if path and not dataset_choice.is_allowed(path):  # a value planted in session state never reaches the disk
        st.error(dataset_choice.REFUSED, icon=":material/block:")
        st.stop()
    table, error = components.load_table(path)
    if table is None:
        (st.info if not path.strip() else st.error)(error, icon=":material/dataset:")
        st.stop()
    _headline(table)
    sections = {
        "Classes": _classes,
        "Splits & sources": _sources,
        "Patients": _patients,
        "Images": explore_images.images,
        "Quality": explore_images.quality,
        "Gallery": explore_images.gallery,
    }
    for tab, name in zip(st.tabs(TABS, key="ex_tab", on_change="rerun"), TABS):
        with tab:
            if tab.open is not False:  # lazy: only the open tab computes
                sections[name](table)


if __name__ == "__main__":
    render()
