"""Dataset explorer sections that read pixels: image sizes and intensities, quality checks, the gallery."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import banners, charts, components
from dashboard.display import thumbnail
from dashboard.sampling import agrees, sample_rows
from xray_core.config import CLASS_TITLES, LABELS
from xray_core.data import plots, stats
from xray_core.data.scan import scan_images
from xray_core.inference import wording
from xray_core.inference.predict import Prediction, predict_batch
from xray_core.inference.results import percentages
from xray_core.io.image import XrayInputError
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import LoadedModel

SCATTER_POINTS = 4000  # points drawn in the size scatter (WebGL copes; the browser stays responsive)
GALLERY_COLUMNS = 6


def _signature(table: pd.DataFrame) -> str:
    return hashlib.sha1("\n".join(table["path"].astype(str)).encode()).hexdigest()[:16]


def _scan(table: pd.DataFrame, pixels: bool, what: str) -> pd.DataFrame:
    """scan_images with a progress bar (results are cached on disk by xray_core.data.scan)."""
    bar = st.progress(0.0, text=f"Scanning {what}…")
    scan = scan_images(
        table,
        pixels=pixels,
        progress=lambda done, total: bar.progress(done / max(total, 1), text=f"Scanning {what}: {done:,} of {total:,}"),
    )
    bar.empty()
    return scan


def images(table: pd.DataFrame) -> None:
    shown = table.sample(n=min(SCATTER_POINTS, len(table)), random_state=0)
    if not {"width", "height"} <= set(shown.columns) or shown[["width", "height"]].isna().any().any():
        header = _scan(shown, False, "image headers")[["path", "width", "height"]]
        shown = shown.drop(columns=["width", "height"], errors="ignore").merge(header, on="path")
    sizes = shown.assign(
        width=pd.to_numeric(shown["width"], errors="coerce"), height=pd.to_numeric(shown["height"], errors="coerce")
    ).dropna(subset=["width", "height"])
    st.plotly_chart(plots.size_scatter(sizes), key="ex_sizes", config=charts.CONFIG)
    square = (sizes["width"] == sizes["height"]).groupby(sizes["label"]).mean()
    st.caption(
        "Share of square images per class: "
        + ", ".join(f"{CLASS_TITLES.get(k, k)} {v:.0%}" for k, v in square.items())
        + (f" (a random {len(sizes):,} of {len(table):,} images)." if len(table) > len(sizes) else ".")
    )
    per_class = st.select_slider(
        "Images per class for the intensity histograms", [50, 100, 200, 400, 800], value=100, key="ex_hist_n"
    )
    sample = pd.concat(
        [rows.sample(n=min(per_class, len(rows)), random_state=0) for _, rows in table.groupby("label", sort=False)]
    )
    scan = _scan(sample, True, f"{len(sample):,} images")
    st.plotly_chart(
        plots.intensity_lines(stats.class_histograms(sample, scan)), key="ex_intensity", config=charts.CONFIG
    )


@st.cache_resource
def _summaries() -> dict[str, dict[str, Any]]:
    """Finished dataset summaries by table signature, shared across sessions (the scan itself is on disk)."""
    return {}


def _show_summary(summary: dict[str, Any]) -> None:
    for warning in summary.get("warnings", []):
        st.warning(warning, icon=":material/warning:")
    duplicates, leakage = summary["duplicates"], summary["leakage"]
    cols = st.columns(4)
    cols[0].metric(
        "Duplicate groups",
        duplicates["n_groups"],
        help=f"{duplicates['n_exact_groups']} exact, {duplicates['n_near_groups']} near copies",
    )
    cols[1].metric("Groups with mixed labels", duplicates["n_groups_mixed_labels"])
    cols[2].metric("Patients in several splits", leakage["n_patients_across_splits"])
    cols[3].metric("Duplicates across splits", leakage["n_duplicate_groups_across_splits"])
    outliers = summary["outliers"]
    st.markdown(
        "##### Probable outliers: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in outliers["counts"].items())
    )
    for title, rows in (
        ("Outliers", outliers["items"]),
        ("Duplicate groups", duplicates["members"]),
        ("Leaking patients", leakage["patients"]),
    ):
        if rows:
            with st.expander(f"{title} ({len(rows)} listed)"):
                st.dataframe(pd.DataFrame(rows).head(500), hide_index=True)


def quality(table: pd.DataFrame) -> None:
    key = _signature(table)
    summary = _summaries().get(key)
    if summary is None:
        st.markdown(
            f"Duplicates, cross-split leakage and outliers need a pixel scan of all {len(table):,} images. "
            "The scan is cached on disk, so later visits are quick."
        )
        if not st.button("Scan all images", key="ex_scan_all", type="primary", icon=":material/search:"):
            return
        summary = stats.summarize(table, _scan(table, True, "all images"))
        _summaries()[key] = summary
    _show_summary(summary)


@st.cache_data(max_entries=32, show_spinner="Predicting…")
def _gallery(model: str, paths: tuple[str, ...], _loaded: LoadedModel | None) -> list[dict[str, Any]]:
    """Thumbnail, content digest and (when a model is loaded) the prediction of each path."""
    cards, images = [], []
    for path in paths:
        try:
            data = Path(path).read_bytes()
            image = read_image(data, name=Path(path).name)
        except (OSError, XrayInputError) as error:
            cards.append({"path": path, "thumb": None, "error": str(error), "prediction": None})
            continue
        images.append(image)
        cards.append(
            {
                "path": path,
                "thumb": thumbnail(image.pixels, 256),
                "error": "",
                "prediction": None,
                "key": components.digest(data),
            }
        )
    predictions = iter(predict_batch(_loaded, images) if _loaded is not None and images else [])
    for card in cards:
        if card["thumb"] is not None and _loaded is not None:
            card["prediction"] = next(predictions)
    return cards


def _caption(truth: str, prediction: Prediction | None) -> str:
    """'True: … · Model: … NN % ✓/✗', a partial label (pneumonia, type unknown) right for either member."""
    if prediction is None:
        return f"True: {CLASS_TITLES.get(truth, truth)}"
    share = percentages(prediction.probabilities)[prediction.label]
    mark = "✓" if agrees(truth, prediction.label) else "✗"
    refused = "".join(f" · ⚠ {wording.short(d.code)}" for d in prediction.refusals())
    model = f"{CLASS_TITLES[prediction.label]} {share:.0f} % {mark}{refused}"
    return f"True: {CLASS_TITLES.get(truth, truth)} · Model: {model}"


def _audit(loaded: LoadedModel, cards: list[dict[str, Any]]) -> None:
    """An audit line per shown prediction ($XRAY_AUDIT_LOG), as on Diagnose and Batch (once per session)."""
    for card in cards:
        if card["prediction"] is not None:
            components.audit_once(Path(card["path"]), card["prediction"], loaded, card["key"])


def _filters(table: pd.DataFrame) -> dict[str, list[str]]:
    cols = st.columns([2, 2, 3, 1], vertical_alignment="bottom")
    labels = cols[0].multiselect(
        "Class", [c for c in LABELS if c in set(table["label"])], key="ex_g_class", format_func=CLASS_TITLES.get
    )
    splits = cols[1].multiselect("Split", sorted(set(table["split"]) - {""}), key="ex_g_split")
    sources = cols[2].multiselect("Source", sorted(set(table["source"])), key="ex_g_source")
    if cols[3].button("Shuffle", key="ex_g_shuffle", icon=":material/shuffle:"):
        st.session_state["ex_g_seed"] = st.session_state.get("ex_g_seed", 0) + 1
    return {"label": labels, "split": splits, "source": sources}


def gallery(table: pd.DataFrame) -> None:
    loaded, error = components.get_model()
    if loaded is None:
        st.info(f"Predictions are not shown: {error}")
    rows = sample_rows(table, 12, seed=st.session_state.get("ex_g_seed", 0), **_filters(table))
    if rows.empty:
        st.info("No images match these filters.")
        return
    model = components.model_key(loaded) if loaded is not None else "none"
    cards = _gallery(model, tuple(rows["path"]), loaded)
    grid = st.columns(GALLERY_COLUMNS)
    for index, (card, truth) in enumerate(zip(cards, rows["label"])):
        with grid[index % GALLERY_COLUMNS]:
            if card["thumb"] is None:
                st.error(card["error"][:200])
            else:
                st.image(card["thumb"], caption=_caption(truth, card["prediction"]), width="stretch")
    if loaded is not None:
        _audit(loaded, cards)
        banners.confounding_note(loaded)
