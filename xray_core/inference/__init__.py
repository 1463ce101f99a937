"""From one film to a decision: calibrated probabilities, refusal and warnings as data, lungs, audit log.

Names load on first use (:mod:`xray_core.lazy`).
"""

from xray_core.lazy import lazy_exports

_HOME = {
    "CODES": "decisions",
    "Decision": "decisions",
    "Prediction": "predict",
    "predict_batch": "predict",
    "predict_image": "predict",
    "predict_sources": "batch",
    "assess": "refusal",
    "calibrated_softmax": "calibration",
}
__all__ = sorted(_HOME)
__getattr__, __dir__ = lazy_exports(__name__, _HOME)
