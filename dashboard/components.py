"""Shared Streamlit pieces: the cached model, cached decoding/prediction/Grad-CAM, banners and the notice.

Every computation is a call into xray_core; this module only caches it and shows the outcome.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import streamlit as st

from xray_core.config import default_checkpoint, default_data_dir
from xray_core.dashboard_data import DISCLAIMER, age_confounding_notes, blend_heatmap
from xray_core.inference.predict import Prediction, predict_image
from xray_core.io.reader import XrayImage, XrayInputError, read_image
from xray_core.models.checkpoint import CheckpointError, LoadedModel, load_checkpoint

IMAGE_TYPES = ["png", "jpg", "jpeg", "tif", "tiff", "dcm", "dicom"]


# ------------------------------------------------------------------------------------------------ model


@st.cache_resource(show_spinner="Loading the model…")
def _load(path: str, modified: float) -> LoadedModel:
    """One LoadedModel per checkpoint file version (``modified`` makes a replaced file load again)."""
    return load_checkpoint(path)


def get_model() -> tuple[LoadedModel | None, str]:
    """(model, "") or (None, a message saying what is missing and how to fix it)."""
    path = default_checkpoint()
    if not path.is_file():
        return None, (f"No model checkpoint at `{path}`. Train one (`python -m xray_core train`) or set "
                      "`XRAY_CHECKPOINT` to a checkpoint file, then reload this page.")
    try:
        return _load(str(path.resolve()), path.stat().st_mtime), ""
    except CheckpointError as error:
        return None, f"The checkpoint could not be loaded: {error}"


def model_key(loaded: LoadedModel) -> str:
    return loaded.sha256[:16]


# ------------------------------------------------------------------------------------------------ images


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


@st.cache_resource(max_entries=24, show_spinner=False)
def _decode(key: str, _data: bytes, name: str) -> XrayImage | str:
    """Decoded once per content (cache_resource: large arrays are shared, never copied; never mutated)."""
    try:
        return read_image(_data, name=name)
    except XrayInputError as error:
        return str(error)


def decode(name: str, data: bytes) -> tuple[XrayImage | None, str]:
    """(image, "") or (None, the reader's message naming the file and what is accepted)."""
    result = _decode(digest(data), data, name)
    return (None, result) if isinstance(result, str) else (result, "")


@st.cache_data(max_entries=256, show_spinner=False)
def _predict(model: str, key: str, _loaded: LoadedModel, _image: XrayImage) -> Prediction:
    return predict_image(_loaded, _image)


def predict(loaded: LoadedModel, key: str, image: XrayImage) -> Prediction:
    """Calibrated prediction for decoded content ``key`` (cached per model and content)."""
    return _predict(model_key(loaded), key, loaded, image)


# ------------------------------------------------------------------------------------------------ Grad-CAM


def explain_module() -> ModuleType | None:
    """xray_core.explain.cam when it is installed and importable, else None (the pages say so)."""
    try:
        return importlib.import_module("xray_core.explain.cam")
    except ImportError:
        return None


def cam_methods() -> dict[str, str]:
    """Method key -> title for the UI (sanity-check baselines hidden; slow methods say so)."""
    methods = getattr(explain_module(), "CAM_METHODS", None) or {"gradcam": None}
    titles = {}
    for key, spec in methods.items():
        if not getattr(spec, "baseline", False):
            titles[key] = getattr(spec, "title", key) + (" (slow)" if getattr(spec, "slow", False) else "")
    return titles


@st.cache_resource(max_entries=48, show_spinner="Computing the heatmap…")
def _explain(model: str, key: str, method: str, target: str | None, _loaded: LoadedModel,
             _image: XrayImage) -> Any:
    """Cached per model, content, method and target (xray_core.explain.cam is thread-safe: one replica per call)."""
    return explain_module().explain(_loaded, _image, method=method, target=target)


def explain(loaded: LoadedModel, key: str, image: XrayImage, method: str,
            target: str | None) -> tuple[Any | None, str]:
    """(Explanation, "") or (None, why there is no heatmap)."""
    if explain_module() is None:
        return None, "Grad-CAM heatmaps are not available in this installation (xray_core.explain.cam is missing)."
    try:
        return _explain(model_key(loaded), key, method, target, loaded, image), ""
    except (ValueError, RuntimeError) as error:
        return None, f"The heatmap could not be computed: {error}"


@st.cache_data(max_entries=64, show_spinner="Checking faithfulness…")
def _faithfulness(model: str, key: str, method: str, target: str, _loaded: LoadedModel, _image: XrayImage,
                  _cam_input: Any) -> dict[str, Any]:
    from xray_core.explain.faithfulness import faithfulness as score

    return score(_loaded, _image, _cam_input, target)


def faithfulness(loaded: LoadedModel, key: str, image: XrayImage, explanation: Any) -> tuple[dict | None, str]:
    """ROAD/keep scores of the map vs a random map (xray_core.explain.faithfulness), or (None, why not)."""
    if importlib.util.find_spec("xray_core.explain.faithfulness") is None:
        return None, "The faithfulness check is not available in this installation."
    try:
        return _faithfulness(model_key(loaded), key, explanation.method, explanation.target, loaded, image,
                             explanation.cam_input), ""
    except (ValueError, RuntimeError, AttributeError) as error:
        return None, f"The faithfulness check failed: {error}"


def overlay(display: Any, cam: Any, alpha: float, outline: bool = False) -> Any:
    """RGB uint8 heatmap over the displayed (windowed) uint8 image; optionally the hottest region outlined."""
    try:
        from xray_core.explain import overlay as drawing
    except ImportError:
        return blend_heatmap(display, cam, alpha)
    rgb = drawing.overlay(display, cam, alpha=alpha)
    return drawing.outline(rgb, cam) if outline else rgb


# ------------------------------------------------------------------------------------------------ data


def default_dataset() -> str:
    """``$XRAY_DATA_DIR`` or ../shared/cxr when it exists, else ''."""
    path = default_data_dir()
    return str(path) if path.exists() else ""


@st.cache_data(max_entries=8, show_spinner="Reading the dataset…")
def _table(path: str, modified: float) -> pd.DataFrame:
    from xray_core.data.dataset import load_dataset

    return load_dataset(path)


def load_table(path: str) -> tuple[pd.DataFrame | None, str]:
    """(table, "") or (None, what is wrong with the path and which layouts are accepted)."""
    from xray_core.data.dataset import DatasetError

    if not path.strip():
        return None, ("No dataset configured: set `XRAY_DATA_DIR` or type a folder (or manifest CSV) above.")
    target = Path(path.strip()).expanduser()
    manifest = target / "manifest.csv" if target.is_dir() else target
    try:
        modified = manifest.stat().st_mtime if manifest.exists() else target.stat().st_mtime
        return _table(str(target), modified), ""
    except (DatasetError, OSError) as error:
        return None, str(error)


# ------------------------------------------------------------------------------------------------ banners


def model_banner(loaded: LoadedModel | None, error: str) -> None:
    """Persistent warnings about the model itself: missing or untrained."""
    if loaded is None:
        st.error(error, icon=":material/error:")
    elif not loaded.trained:
        st.error("**Untrained placeholder model.** This checkpoint was never trained: every probability and "
                 "heatmap it produces is meaningless. Install a trained checkpoint before use.",
                 icon=":material/dangerous:")


def confounding_note(loaded: LoadedModel) -> None:
    """The age/source caveat, with the checkpoint's own training shares when it records them."""
    notes = age_confounding_notes(loaded.meta.data_summary)
    detail = ("Training data: " + "; ".join(notes) + ". ") if notes else (
        "In the training data, bacterial and viral pneumonia images are almost all pediatric (ages 1–5) while "
        "COVID-19 images are adult. ")
    st.caption(f":material/warning: {detail}The model may partly recognise age or image source instead of "
               "disease: treat bacterial/viral results in adults and COVID-19 results in children with caution.")


def sidebar_status(loaded: LoadedModel | None) -> None:
    with st.sidebar:
        if loaded is None:
            st.caption(":material/error: No model loaded")
        else:
            status = "trained" if loaded.trained else "UNTRAINED"
            st.caption(f"Model **{loaded.version}** · {loaded.arch} · {status}  \n`{loaded.sha256[:12]}`")
        st.caption(DISCLAIMER)
