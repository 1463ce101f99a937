"""Shared Streamlit pieces: the cached model, cached decoding/prediction/heatmaps, the audit log, the dataset.

Every computation is a call into xray_core; this module only caches it. It imports torch, pytorch-grad-cam and
the model code on first use, not at import: the pages import it, and the uploader must be usable
before torch has finished loading. :mod:`dashboard.warmup` imports all of it (and loads the models) in the
background as soon as the server shows its first page, and logs a broken installation loudly there; a page
that needs a missing piece still fails loudly on first use: a clinical screen never silently drops the
heatmap or a check.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from dashboard import budget, dataset_choice, safe_text
from dashboard.display import shrink
from xray_core import config
from xray_core.config import default_checkpoint, default_data_dir
from xray_core.explain.methods import CAM_METHODS, DEFAULT_METHOD
from xray_core.io.image import XrayImage, XrayInputError
from xray_core.io.reader import read_image

if TYPE_CHECKING:  # torch and pandas behind these: imported in the functions that need them
    import numpy as np
    import pandas as pd

    from xray_core.explain.cam import Explanation
    from xray_core.inference.predict import Prediction
    from xray_core.models.checkpoint import LoadedModel
    from xray_core.models.scoring import ScoringModel

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


def model_key(loaded: ScoringModel) -> str:
    return loaded.sha256[:16]


# ------------------------------------------------------------------------------------------------ images


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


FILMS = budget.ByteBudgetCache(lambda: config.SERVER_BUDGET.film_cache_bytes)  # full-size films, every session
MAPS = budget.ByteBudgetCache(lambda: config.SERVER_BUDGET.display_cache_bytes)  # display-size maps and outlines


def _label(name: str) -> str:
    """The name a shared entry is decoded under: only the extension, which tells the reader a header-less DICOM."""
    return "upload" + Path(name).suffix.lower()[:8]


def _read(data: bytes, label: str) -> XrayImage | str:
    try:
        return read_image(data, name=label, max_pixels=config.SERVER_BUDGET.max_pixels)
    except XrayInputError as error:
        return str(error)


def named(image: XrayImage, name: str) -> XrayImage:
    """The same pixels (no copy) under this session's file name."""
    return XrayImage(image.pixels, {**image.meta, "name": name})


def decode(name: str, data: bytes) -> tuple[XrayImage | None, str]:
    """(image named ``name``, "") or (None, the reader's message naming the file and what is accepted).

    Decoded once per content for every session; the name is attached per call, never stored in the shared cache.
    """
    label = _label(name)
    result = FILMS.get((digest(data), label), lambda: _read(data, label))
    if isinstance(result, str):
        return None, f"{safe_text.name(name)}: {result.removeprefix(label + ': ')}"
    return named(result, name), ""


def _anonymous(image: XrayImage) -> XrayImage:
    return named(image, _label(str(image.meta.get("name", ""))))


@st.cache_data(max_entries=256, show_spinner=False)
def _predict(model: str, key: str, _loaded: ScoringModel, _image: XrayImage) -> Prediction:
    from xray_core.inference.predict import predict_image

    if hasattr(_loaded, "predict_batch"):  # the ONNX engine (dashboard.fast_engine)
        return _loaded.predict_batch([_anonymous(_image)])[0]
    return predict_image(_loaded, _anonymous(_image))


def predict(loaded: ScoringModel, key: str, image: XrayImage) -> Prediction:
    """Calibrated prediction for decoded content ``key`` (cached per model, engine and content), named as
    ``image``; ``loaded`` is the torch model or the ONNX engine."""
    model = f"{model_key(loaded)}-{getattr(loaded, 'engine', 'torch')}"
    return dataclasses.replace(_predict(model, key, loaded, image), name=image.meta.get("name", ""))


def audit_once(data: bytes | Path, prediction: Prediction, loaded: LoadedModel, key: str) -> None:
    """One audit-log line per shown prediction of content ``key`` and session ($XRAY_AUDIT_LOG), not per rerun.

    ``data``: the input's bytes, or the file holding them (read only when a line is due). The line names the
    signed-in user (never a file name).
    """
    logged = st.session_state.setdefault("audited", set())
    entry = f"{model_key(loaded)}:{key}"
    if entry not in logged:
        from xray_core.inference.audit import audit_prediction

        raw = data.read_bytes() if isinstance(data, Path) else data
        audit_prediction(raw, prediction, loaded, user=st.session_state.get("signed_in_user", ""))
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


def _explain(loaded: LoadedModel, image: XrayImage, method: str, target: str | None) -> Explanation:
    """The map of an unnamed film, kept at display size (xray_core.explain.cam is thread-safe)."""
    from xray_core.explain.cam import explain as explain_image

    with st.spinner("Computing the heatmap…"):
        found = explain_image(loaded, _anonymous(image), method=method, target=target)
    return dataclasses.replace(found, cam=shrink(found.cam, config.SERVER_BUDGET.display_side))


def explain(
    loaded: LoadedModel, key: str, image: XrayImage, method: str, target: str | None
) -> tuple[Explanation | None, str]:
    """(Explanation, "") or (None, why this image has no heatmap); ``cam`` at display size, named as ``image``.

    Cached per model, content, method and target; the prediction gets this session's file name on the way out.
    """
    try:
        found = MAPS.get(
            ("cam", model_key(loaded), key, method, target), lambda: _explain(loaded, image, method, target)
        )
    except (ValueError, RuntimeError) as error:
        return None, f"The heatmap could not be computed: {error}"
    prediction = dataclasses.replace(found.prediction, name=image.meta.get("name", ""))
    return dataclasses.replace(found, prediction=prediction), ""


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
        return None, "No dataset configured: set `XRAY_DATA_DIR` (or list datasets in `XRAY_DATASETS`)."
    if not dataset_choice.is_allowed(path):
        return None, dataset_choice.REFUSED
    target = Path(path.strip()).expanduser()
    manifest = target / "manifest.csv" if target.is_dir() else target
    try:
        modified = manifest.stat().st_mtime if manifest.exists() else target.stat().st_mtime
        return _table(str(target), modified), ""
    except (DatasetError, OSError) as error:
        return None, str(error)
