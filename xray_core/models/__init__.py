"""Networks, preprocessing and self-describing checkpoints: what a trained model is and how an image reaches it.

Names load on first use (:mod:`xray_core.lazy`): pure preprocessing maths does not import torch's model code.
"""

from xray_core.lazy import lazy_exports

_HOME = {
    "CheckpointError": "checkpoint",
    "LoadedModel": "checkpoint",
    "library_versions": "checkpoint",
    "load_checkpoint": "checkpoint",
    "read_payload": "checkpoint",
    "save_checkpoint": "checkpoint",
    "update_meta": "checkpoint",
    "CheckpointMeta": "meta",
    "OodStats": "meta",
    "build_model": "networks",
    "cam_target_layers": "networks",
    "penultimate_features": "networks",
    "resize_square": "resize",
    "Box": "resize",
    "INTERPOLATIONS": "resize",
    "MIN_LUNG_SHARE": "resize",
    "box_from_mask": "resize",
    "cam_to_image": "resize",
    "checked_box": "resize",
    "crop_to_box": "resize",
    "keep_square": "resize",
    "mask_fill": "resize",
    "masked_square": "resize",
    "to_array": "resize",
    "unit_float": "resize",
    "TrainAugment": "preprocessing",
    "normalize": "preprocessing",
    "normalize_batch": "preprocessing",
    "tta_views": "preprocessing",
    "to_tensor": "preprocessing",
}
#: ``resize.resize`` would shadow the module ``xray_core.models.resize``.
_KEPT_IN_MODULE = ("resize",)
__all__ = sorted(_HOME)
__getattr__, __dir__ = lazy_exports(__name__, _HOME)
