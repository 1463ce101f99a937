"""Chest X-ray decision support: read radiographs, predict four classes, explain with Grad-CAM, inspect datasets.

Decision support only, never a diagnosis. The public names below load lazily, so ``import xray_core`` (and
commands such as ``stats`` that never touch the network) do not pay for importing torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xray_core.lazy import lazy_exports

_PUBLIC = {
    "CLASS_NAMES": "xray_core.config",
    "CLASS_TITLES": "xray_core.config",
    "LABELS": "xray_core.config",
    "Preprocessing": "xray_core.config",
    "XrayImage": "xray_core.io.image",
    "XrayInputError": "xray_core.io.image",
    "read_image": "xray_core.io.reader",
    "CheckpointError": "xray_core.models.checkpoint",
    "CheckpointMeta": "xray_core.models.meta",
    "LoadedModel": "xray_core.models.checkpoint",
    "load_checkpoint": "xray_core.models.checkpoint",
    "Decision": "xray_core.inference.decisions",
    "Prediction": "xray_core.inference.predict",
    "predict_batch": "xray_core.inference.predict",
    "predict_image": "xray_core.inference.predict",
    "TrainConfig": "xray_core.training.config",
}

__all__ = sorted(_PUBLIC)

if TYPE_CHECKING:  # pragma: no cover
    from xray_core.config import CLASS_NAMES, CLASS_TITLES, LABELS, Preprocessing  # noqa: F401
    from xray_core.inference.decisions import Decision  # noqa: F401
    from xray_core.inference.predict import Prediction, predict_batch, predict_image  # noqa: F401
    from xray_core.io.image import XrayImage, XrayInputError  # noqa: F401
    from xray_core.io.reader import read_image  # noqa: F401
    from xray_core.models.checkpoint import CheckpointError, LoadedModel, load_checkpoint  # noqa: F401
    from xray_core.models.meta import CheckpointMeta  # noqa: F401
    from xray_core.training.config import TrainConfig  # noqa: F401


__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC)
