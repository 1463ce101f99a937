"""Networks, preprocessing and self-describing checkpoints: what a trained model is and how an image reaches it.

Names load on first use (:mod:`xray_core.lazy`): pure preprocessing maths does not import torch's model code.
"""

from xray_core.lazy import lazy_exports

_HOME = {
    "CheckpointError": "checkpoint",
    "LoadedModel": "checkpoint",
    "load_checkpoint": "checkpoint",
    "save_checkpoint": "checkpoint",
    "update_meta": "checkpoint",
    "CheckpointMeta": "meta",
    "build_model": "networks",
    "cam_target_layers": "networks",
    "penultimate_features": "networks",
    "resize_square": "preprocessing",
    "to_tensor": "preprocessing",
}
__all__ = sorted(_HOME)
__getattr__, __dir__ = lazy_exports(__name__, _HOME)
