"""Chest X-ray decision support: read radiographs, predict four classes, explain with Grad-CAM, inspect datasets.

Decision support only, never a diagnosis.
"""

from xray_core.config import CLASS_NAMES, CLASS_TITLES, Preprocessing
from xray_core.inference.predict import Prediction, predict_batch, predict_image
from xray_core.io.reader import XrayImage, XrayInputError, read_image
from xray_core.models.checkpoint import CheckpointError, LoadedModel, load_checkpoint
from xray_core.training.config import TrainConfig

__all__ = [
    "CLASS_NAMES",
    "CLASS_TITLES",
    "CheckpointError",
    "LoadedModel",
    "Prediction",
    "Preprocessing",
    "TrainConfig",
    "XrayImage",
    "XrayInputError",
    "load_checkpoint",
    "predict_batch",
    "predict_image",
    "read_image",
]
