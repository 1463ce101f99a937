"""The Diagnose page's film: where it comes from (an upload or a dataset sample) and how it is displayed.

Apart from :mod:`dashboard.views.diagnose` so the page reads as its three columns; everything here is display
only: window/level, invert and zoom change what the browser shows, never what the model sees.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from dashboard import budget, components
from dashboard.display import apply_window, default_window, needs_window, resize_to, shrink, zoom_crop
from dashboard.sampling import sample_rows
from xray_core import config
from xray_core.config import CLASS_TITLES, LABELS
from xray_core.io.image import XrayImage


def upload() -> tuple[str, bytes] | None:
    """(name, bytes) of the uploaded film (the per-file cap is ``server.maxUploadSize``), or None."""
    file = st.file_uploader(
        "Chest radiograph: PNG, JPEG, TIFF or DICOM (frontal PA/AP view)",
        key="dx_upload",
        help="DICOM files without an extension are accepted too. "
        "Patient fields in DICOM headers are never read into the app.",
    )
    return within_budget(file)


def within_budget(file: Any) -> tuple[str, bytes] | None:
    """(name, bytes) of an uploader's ``file``, or None when there is none or the session's uploads are over
    :mod:`dashboard.budget` (the reason shown)."""
    if file is None:
        return None
    problem = budget.upload_problem(budget.session_upload_sizes(st.session_state, budget.UPLOADERS))
    if problem:
        st.error(problem, icon=":material/block:")
        return None
    return file.name, file.getvalue()


def sample() -> tuple[str, bytes] | None:
    table, error = components.load_table(components.default_dataset())
    if table is None:
        st.info(error, icon=":material/dataset:")
        return None
    left, middle, right = st.columns([1, 1, 2], vertical_alignment="bottom")
    label = left.selectbox(
        "Class", ["any", *LABELS], key="dx_sample_class", format_func=lambda c: CLASS_TITLES.get(c, "Any class")
    )
    split = middle.selectbox("Split", ["test", "val", "train", "any"], key="dx_sample_split")
    rows = sample_rows(
        table,
        40,
        seed=st.session_state.get("dx_seed", 0),
        label=[] if label == "any" else [label],
        split=[] if split == "any" else [split],
    )
    if rows.empty:
        st.info("No images match this class and split.")
        return None
    names = {path: f"{CLASS_TITLES[lab]} · {Path(path).name}" for path, lab in zip(rows["path"], rows["label"])}
    path = right.selectbox("Image (true class · file)", list(names), format_func=names.get, key="dx_sample_path")
    if st.button("Another set of samples", key="dx_reshuffle", icon=":material/shuffle:"):
        st.session_state["dx_seed"] = st.session_state.get("dx_seed", 0) + 1
        st.rerun()
    try:
        return Path(path).name, Path(path).read_bytes()
    except OSError as error:
        st.error(f"Cannot read {path}: {error}")
        return None


def viewer(image: XrayImage, key: str) -> tuple[Any, dict[str, float]]:
    """Display controls (window/level, invert, zoom); returns the windowed uint8 image and the zoom view."""
    level, width = default_window(image)
    with st.expander("Display: window / level, invert, zoom", expanded=needs_window(image), icon=":material/tune:"):
        low, high = st.slider(
            "Window (display range)",
            0.0,
            1.0,
            (max(0.0, level - width / 2), min(1.0, level + width / 2)),
            0.01,
            key=f"dx_window_{key[:10]}",
            help="Display only: the model always sees the full image as read.",
        )
        invert = st.checkbox("Invert", key=f"dx_invert_{key[:10]}")
        zoom = st.slider("Zoom", 1.0, 4.0, 1.0, 0.25, key=f"dx_zoom_{key[:10]}", format="%.2fx")
        view = {"zoom": zoom, "x": 0.5, "y": 0.5}
        if zoom > 1:
            pan_x, pan_y = st.columns(2)
            view["x"] = pan_x.slider("Horizontal centre", 0.0, 1.0, 0.5, 0.05, key=f"dx_pan_x_{key[:10]}")
            view["y"] = pan_y.slider("Vertical centre", 0.0, 1.0, 0.5, 0.05, key=f"dx_pan_y_{key[:10]}")
    shown = zoomed(image.pixels, view)  # the zoomed part, shrunk to the screen before any per-pixel work
    display = apply_window(shown, (low + high) / 2, max(high - low, 0.01), invert)
    return display, view


def zoomed(array: np.ndarray, view: dict[str, float]) -> np.ndarray:
    """The zoom view of an H x W film, map or mask, at most ``display_side`` pixels long."""
    return shrink(zoom_crop(array, view["zoom"], view["x"], view["y"]), config.SERVER_BUDGET.display_side)


def fitted(mask: np.ndarray, view: dict[str, float], shape: tuple[int, ...]) -> np.ndarray:
    """A bool mask or outline (any size) cut to the zoom view and sized to a display array of ``shape``."""
    return resize_to(zoom_crop(mask, view["zoom"], view["x"], view["y"]), shape)


def show(array: Any, caption: str) -> None:
    """A display array (already zoomed and shrunk by :func:`viewer`) with its caption (names escaped by callers)."""
    st.image(array, caption=caption, width="stretch")
