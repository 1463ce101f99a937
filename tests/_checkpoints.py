"""Tiny untrained checkpoints for tests that need several distinct models or one that refuses nothing."""

from __future__ import annotations

from pathlib import Path


def tiny_checkpoint(path: Path, version: str, seed: int = 0, image_size: int = 64) -> Path:
    """An UNTRAINED resnet18 at ``image_size`` px without OOD statistics (no feature-distance refusal); the
    SHA-256 differs per ``version`` and ``seed``."""
    import torch

    from xray_core.config import Preprocessing
    from xray_core.models.checkpoint import save_checkpoint
    from xray_core.models.networks import build_model

    torch.manual_seed(seed)
    model = build_model("resnet18", in_channels=1).eval()
    meta = {
        "arch": "resnet18",
        "preprocessing": Preprocessing(image_size=image_size).to_dict(),
        "trained": False,
        "version": version,
        "calibration": {"temperature": 1.5},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, model, meta)
    return path
