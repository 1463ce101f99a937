"""Shared Streamlit pieces: the cached model, cached decoding/prediction/heatmaps, the audit log, the dataset.

Every computation is a call into xray_core; this module only caches it. It imports torch, pytorch-grad-cam and
the model code on first use, not at import (issue 14): the pages import it, and the uploader must be usable
before torch has finished loading. :mod:`dashboard.warmup` imports all of it (and loads the models) in the
background as soon as the server shows its first page, and logs a broken installation loudly there; a page
that needs a missing piece still fails loudly on first use: a clinical screen never silently drops the
heatmap or a check.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from xray_core.config import default_checkpoint, default_data_dir
from xray_core.explain.methods import CAM_METHODS, DEFAULT_METHOD
from xray_core.io import XrayImage, XrayInputError, read_image

if TYPE_CHECKING:  # torch and pandas behind these: imported in the functions that need them
    import numpy as np
    import pandas as pd

    from xray_core.explain.cam import Explanation
    from xray_core.inference.predict import Prediction
    from xray_core.models.checkpoint import LoadedModel

# ------------------------------------------------------------------------------------------------ model


@st.cache_resource(show_spinner="Loading the model…")
def _load(path: str, modified: float) -> LoadedModel:
    """One LoadedModel per checkpoint file version (``modified`` makes a replaced file load again)."""
    from xray_core.models.checkpoint import load_checkpoint

    return load_checkpoint(path)


_LOADED: dict[tuple[str, float], str] = {}  # checkpoint file version -> "" once loaded, or why it failed


def get_model(wait: bool = True) -> tuple[LoadedModel | None, str]:
    """(model, "") or (None, a message saying what is missing and how to fix it).

    ``wait=False`` never loads: (None, "") while the model is not loaded yet (dashboard.warmup is loading it).
    """
    path = default_checkpoint()
    if not path.is_file():
        return None, (
            f"No model checkpoint at `{path}`. Train one (`python -m xray_core train`) or set "
            "`XRAY_CHECKPOINT` to a checkpoint file, then reload this page."
        )
    version = (str(path.resolve()), path.stat().st_mtime)
    if not wait and _LOADED.get(version) != "":
        return None, _LOADED.get(version, "")
    from xray_core.models.checkpoint import CheckpointError

    try:
        loaded = _load(*version)
    except CheckpointError as error:
        _LOADED[version] = f"The checkpoint could not be loaded: {error}"
        return None, _LOADED[version]
    _LOADED[version] = ""
    return loaded, ""


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
    from xray_core.inference.predict import predict_image

    return predict_image(_loaded, _image)


def predict(loaded: LoadedModel, key: str, image: XrayImage) -> Prediction:
    """Calibrated prediction for decoded content ``key`` (cached per model and content)."""
    return _predict(model_key(loaded), key, loaded, image)


def audit_once(data: bytes | Path, prediction: Prediction, loaded: LoadedModel, key: str) -> None:
    """One audit-log line per shown prediction of content ``key`` and session ($XRAY_AUDIT_LOG), not per rerun.

    ``data``: the input's bytes, or the file holding them (read only when a line is due).
    """
    logged = st.session_state.setdefault("audited", set())
    entry = f"{model_key(loaded)}:{key}"
    if entry not in logged:
        from xray_core.inference.audit import audit_prediction

        audit_prediction(data.read_bytes() if isinstance(data, Path) else data, prediction, loaded)
        logged.add(entry)


# ------------------------------------------------------------------------------------------------ heatmaps


def cam_methods() -> dict[str, str]:
    """Method key -> title for the UI, the measured default first (baselines hidden; slow methods say so)."""
    keys = [DEFAULT_METHOD, *[k for k in CAM_METHODS if k != DEFAULT_METHOD]]
    return {
        key: CAM_METHODS[key].title + (" (slow)" if CAM_METHODS[key].slow else "")
        for key in keys
        if not CAM_METHODS[key].baseline
    }


@st.cache_resource(max_entries=48, show_spinner="Computing the heatmap…")
def _explain(
    model: str, key: str, method: str, target: str | None, _loaded: LoadedModel, _image: XrayImage
) -> Explanation:
    """Cached per model, content, method and target (xray_core.explain.cam is thread-safe: one replica per call)."""
    from xray_core.explain.cam import explain as explain_image

    return explain_image(_loaded, _image, method=method, target=target)


def explain(
    loaded: LoadedModel, key: str, image: XrayImage, method: str, target: str | None
) -> tuple[Explanation | None, str]:
    """(Explanation, "") or (None, why this image has no heatmap)."""
    try:
        return _explain(model_key(loaded), key, method, target, loaded, image), ""
    except (ValueError, RuntimeError) as error:
        return None, f"The heatmap could not be computed: {error}"


@st.cache_data(max_entries=64, show_spinner="Checking faithfulness…")
def _faithfulness(
    model: str, key: str, method: str, target: str, _loaded: LoadedModel, _image: XrayImage, _cam_input: np.ndarray
) -> dict[str, Any]:
    from xray_core.explain.faithfulness import faithfulness as faithfulness_scores

    return faithfulness_scores(_loaded, _image, _cam_input, target, method=method)


def faithfulness(loaded: LoadedModel, key: str, image: XrayImage, explanation: Explanation) -> tuple[dict | None, str]:
    """ROAD/keep scores of the map vs a random map (xray_core.explain.faithfulness), or (None, why not)."""
    try:
        return _faithfulness(
            model_key(loaded), key, explanation.method, explanation.target, loaded, image, explanation.cam_input
        ), ""
    except (ValueError, RuntimeError) as error:
        return None, f"The faithfulness check failed: {error}"


def overlay(display: np.ndarray, cam: np.ndarray, alpha: float, outline: bool = False) -> np.ndarray:
    """RGB uint8 heatmap over the displayed (windowed) uint8 image; optionally the hottest region outlined."""
    from xray_core.explain import overlay as drawing

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
        return None, "No dataset configured: set `XRAY_DATA_DIR` or type a folder (or manifest CSV) above."
    target = Path(path.strip()).expanduser()
    manifest = target / "manifest.csv" if target.is_dir() else target
    try:
        modified = manifest.stat().st_mtime if manifest.exists() else target.stat().st_mtime
        return _table(str(target), modified), ""
    except (DatasetError, OSError) as error:
        return None, str(error)
