"""Warm the dashboard in a background thread as soon as the server shows its first page.

Cold, the first upload paid for importing torch, torchvision and pytorch-grad-cam (4-6 s on 2 cores), reading
and hashing the checkpoint, the first Grad-CAM pass (a model replica, oneDNN kernels), the lung U-Net and the
first Plotly figure: about 5 s. Here one daemon thread per server process (and checkpoint file version) does all
of that once, through the same cached functions the pages call, while the user reads the first-visit notice;
the pages import none of it before a film is picked, so the uploader is usable at once. First of all it loads the
ONNX engine (:mod:`dashboard.fast_engine`, no torch), which gives Diagnose its probabilities; without a verified
export for this checkpoint file it makes one at the end, once torch is warm.

``streamlit run`` executes no app code before the first browser session, so "server start" here means the
first script run of the process. Skipped under AppTest (the tests run pages synchronously) and when
``XRAY_WARMUP=0``. The outcome is logged (``dashboard warm-up finished in … s``) and kept in :func:`status`.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from typing import Any

import streamlit as st
from streamlit.logger import get_logger

from dashboard import fast_engine
from xray_core.config import default_checkpoint

LOG = get_logger(__name__)
THREAD_NAME = "dashboard-warmup"
#: what the Diagnose page imports before a film is picked (no torch), then what it needs for a result
LIGHT_MODULES = ("dashboard.banners", "dashboard.film_input", "dashboard.probability_view", "dashboard.words")
HEAVY_MODULES = (  # what the first heatmap needs: imported, then the models loaded and run once, before the rest
    "xray_core.models.checkpoint",
    "xray_core.explain.cam",
    "xray_core.explain.overlay",
    "xray_core.inference.audit",
    "dashboard.lung_view",
)
LATER_MODULES = (  # what the page draws after the heatmap: a person who uploads at once waits for the heatmap first
    "dashboard.report_button",
    "dashboard.similar_view",
    "xray_core.io.dicom",  # pydicom (~1 s): no longer imported with xray_core.io, so a first DICOM upload is warm
    "dashboard.charts",  # Plotly: the other pages' figures (Diagnose draws none), last
)

HOLD_S = 3.0  # the heavy part waits this long, or until the first page has been drawn (see release)

_LOCK = threading.Lock()
_GO = threading.Event()
_THREADS: dict[str, threading.Thread] = {}  # checkpoint file version -> its warm-up thread
_STATUS: dict[str, dict[str, Any]] = {}  # checkpoint file version -> seconds per step, or the error


def _version() -> str:
    path = default_checkpoint()
    try:
        return f"{path.resolve()}@{path.stat().st_mtime}"
    except OSError:
        return f"{path}@missing"


def enabled() -> bool:
    return os.environ.get("XRAY_WARMUP", "1") != "0" and not st.config.get_option("global.appTest")


def start() -> threading.Thread | None:
    """Start warming the current checkpoint once per process and checkpoint version; the thread, or None if off."""
    if not enabled():
        return None
    version = _version()
    with _LOCK:
        if version not in _THREADS:
            _THREADS[version] = threading.Thread(target=warm, name=THREAD_NAME, daemon=True)
            _THREADS[version].start()
        return _THREADS[version]


class _NoContextWarning(logging.Filter):
    """Drops Streamlit's 'missing ScriptRunContext' warning for this thread: it has no page to draw spinners on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.threadName == THREAD_NAME and "missing ScriptRunContext" in record.getMessage())


logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(_NoContextWarning())


def release() -> None:
    """Let the heavy part start now: app.py calls it once a page has been drawn.

    Importing torch holds the interpreter lock for up to a second at a time (loading libtorch), which would
    stall the first page's messages; so the heavy part waits for the first drawn page, at most ``HOLD_S``.
    """
    _GO.set()


def status() -> dict[str, Any]:
    """The current checkpoint's warm-up: {} while it runs (or never ran), else seconds per step or ``error``."""
    return dict(_STATUS.get(_version(), {}))


def warm() -> dict[str, Any]:
    """Import what the pages need, load the classifier and the lung segmenter, and run one synthetic film through
    Grad-CAM, the lungs and the probability bars. Returns (and records) seconds per step; never raises."""
    version, steps, began = _version(), {}, time.perf_counter()
    try:
        lap = time.perf_counter()
        for module in LIGHT_MODULES:
            importlib.import_module(module)
        steps["light_imports_s"] = time.perf_counter() - lap
        steps["held_s"], lap = _hold(), time.perf_counter()
        fast_engine.load()  # the verified ONNX export, no torch: from here on the pages' probabilities come from it
        steps["onnx_s"], lap = time.perf_counter() - lap, time.perf_counter()
        for module in HEAVY_MODULES:
            importlib.import_module(module)
        steps["torch_threads"] = _limit_threads()
        steps["imports_s"], lap = time.perf_counter() - lap, time.perf_counter()
        _run_models(steps)
        lap = time.perf_counter()
        for module in LATER_MODULES:
            importlib.import_module(module)
        steps["later_imports_s"] = time.perf_counter() - lap
        if fast_engine.model() is None:  # no verified export yet: make it once (torch is loaded by now)
            lap = time.perf_counter()
            fast_engine.load(export=True)
            steps["onnx_export_s"] = time.perf_counter() - lap
    except Exception as error:  # logged loudly: the page will fail the same way on first use
        LOG.exception("dashboard warm-up failed")
        steps["error"] = f"{type(error).__name__}: {error}"
    steps["total_s"] = time.perf_counter() - began
    _STATUS[version] = steps
    rounded = {k: round(v, 2) if isinstance(v, float) else v for k, v in steps.items()}
    LOG.info("dashboard warm-up finished in %.2f s %s", steps["total_s"], rounded)
    return steps


def _limit_threads() -> int:
    """One intra-op thread per request (``XRAY_DASHBOARD_THREADS``, default 1): each session's script thread runs its
    own film, and on 2 cores shared with other jobs two OpenMP threads per pass spin against each other: a Grad-CAM
    pass measured 2.2 s with 2 threads and 0.4 s with 1 at load average 14. Process-wide; applies to
    threads that have not run torch yet (every Streamlit script run is a new thread)."""
    import torch

    threads = max(1, int(os.environ.get("XRAY_DASHBOARD_THREADS", "1")))
    torch.set_num_threads(threads)
    return threads


def _hold() -> float:
    began = time.perf_counter()
    _GO.wait(HOLD_S)
    return time.perf_counter() - began


def _run_models(steps: dict[str, Any]) -> None:
    import numpy as np

    from dashboard import components, lung_view, probability_view
    from dashboard.display import apply_window
    from xray_core.explain.cam import explain
    from xray_core.inference.results import percentages
    from xray_core.io.reader import read_image

    lap = time.perf_counter()
    loaded, error = components.get_model()  # the pages' own cache: their first call is a hit
    steps["model_s"], lap = time.perf_counter() - lap, time.perf_counter()
    if loaded is None:
        steps["error"] = error
        return
    film = read_image(_synthetic_film(), name="warmup.png")
    explanation = explain(loaded, film)  # leaves a hooked model replica in the pool and oneDNN kernels ready
    rgb = components.overlay(apply_window(film.pixels, 0.5, 1.0), explanation.cam, 0.45, outline=True)
    prediction = explanation.prediction
    probability_view.bars_html(percentages(prediction.probabilities), prediction.label)
    steps["first_pass_s"], lap = time.perf_counter() - lap, time.perf_counter()
    lungs = lung_view.lungs("warmup", film, refused=False)  # loads the segmenter; one pass (a key no upload has)
    if lungs.outline is not None:
        lung_view.draw(rgb, lungs)
    steps["lungs_s"] = time.perf_counter() - lap
    steps["film_shape"] = list(np.shape(film.pixels))


def _synthetic_film() -> bytes:
    """A 256 x 224 chest-like 8-bit PNG (bright mediastinum, darker lungs): only the code paths matter."""
    import io

    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:256, 0:224] / np.array([256, 224])[:, None, None]
    film = 0.3 + 0.45 * np.exp(-((x - 0.5) ** 2) / 0.01) + 0.15 * y
    buffer = io.BytesIO()
    Image.fromarray(np.clip(film * 255, 0, 255).astype(np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()
