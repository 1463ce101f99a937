"""Networks, preprocessing and self-describing checkpoints: what a trained model is and how an image reaches it."""

from xray_core.models.checkpoint import CheckpointError, LoadedModel, load_checkpoint, save_checkpoint, update_meta
from xray_core.models.meta import CheckpointMeta
from xray_core.models.networks import build_model, cam_target_layers, penultimate_features
from xray_core.models.preprocessing import resize_square, to_tensor

__all__ = [
    "CheckpointError",
    "CheckpointMeta",
    "LoadedModel",
    "build_model",
    "cam_target_layers",
    "load_checkpoint",
    "penultimate_features",
    "resize_square",
    "save_checkpoint",
    "to_tensor",
    "update_meta",
]
