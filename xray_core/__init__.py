"""Chest X-ray decision support: read radiographs, predict four classes, explain with Grad-CAM, inspect datasets.

Decision support only, never a diagnosis.
"""

from .checkpoint import CheckpointError, LoadedModel, load_checkpoint
from .config import CLASS_NAMES, CLASS_TITLES, Preprocessing, TrainConfig
from .io import XrayImage, XrayInputError, read_image
from .predict import Prediction, predict_batch, predict_image

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
