"""The ONNX engine for the pages' probabilities: loaded, or exported once, by the warm-up thread, never by a page.

The verified ONNX export scores a film in a few tens of milliseconds without torch, so Diagnose can show the
probabilities while torch (which Grad-CAM, the lungs and the PDF still need) is loading or computing the heatmap.
:mod:`dashboard.warmup` calls :func:`load` first without exporting (no torch: a fraction of a second when the
export exists), and once torch is warm, with ``export=True`` (the export is made and verified against torch, as
``python -m xray_core export-onnx`` does, once per checkpoint file). A page only reads :func:`model`: None until the
engine is ready (or when it cannot be used), and the page then scores with the torch model instead.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

from streamlit.logger import get_logger

from xray_core.config import default_checkpoint
from xray_core.inference.onnx.records import OnnxUnavailable

if TYPE_CHECKING:
    from xray_core.inference.onnx.engine import OnnxModel

LOG = get_logger(__name__)
_LOCK = threading.Lock()
_STATE: dict[tuple[str, float, str], OnnxModel | OnnxUnavailable] = {}  # (checkpoint file version, export folder)


def _version() -> tuple[str, float, str] | None:
    from xray_core.inference.onnx.engine import export_dir

    path = default_checkpoint()
    try:
        return str(path.resolve()), path.stat().st_mtime, str(export_dir())
    except OSError:
        return None


def threads() -> int:
    """ONNX Runtime intra-op threads per session: ``XRAY_DASHBOARD_THREADS`` (default 1), as for torch
    (:func:`dashboard.warmup._limit_threads` says why one)."""
    return max(1, int(os.environ.get("XRAY_DASHBOARD_THREADS", "1")))


def load(export: bool = False) -> str:
    """Load the engine for the current checkpoint file version; with ``export`` make its export first when that
    is all it lacks. Returns "" once loaded, else why not. Blocking; meant for the warm-up thread."""
    version = _version()
    if version is None:
        return "no checkpoint"
    with _LOCK:
        found = _STATE.get(version)
        if found is None or (export and isinstance(found, OnnxUnavailable) and found.rebuild):
            from xray_core.inference.onnx.auto import load_or_export

            try:
                found = load_or_export(version[0], notice=LOG.info, threads=threads(), export=export)
            except OnnxUnavailable as why:
                found = why
            _STATE[version] = found
    if isinstance(found, OnnxUnavailable):
        if not found.quiet and not found.rebuild:
            LOG.warning("probabilities are computed with torch: %s", found)
        return str(found)
    return ""


def model() -> OnnxModel | None:
    """The loaded engine for the current checkpoint file version, or None (never waits, never loads)."""
    version = _version()
    found = _STATE.get(version) if version is not None else None
    return None if found is None or isinstance(found, OnnxUnavailable) else found
