"""From one film to a decision: calibrated probabilities, refusal and warnings as data, audit log."""

from xray_core.inference.decisions import CODES, Decision
from xray_core.inference.predict import Prediction, predict_batch, predict_image
from xray_core.inference.refusal import assess

__all__ = ["CODES", "Decision", "Prediction", "assess", "predict_batch", "predict_image"]
