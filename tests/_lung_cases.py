"""The lung-findings cases every surface (core, ``explain --json``, Diagnose, the PDF) must agree on.

Each case is a checkpoint kind and a segmenter kind, with the reason code the findings must carry (None: figures
given). ``refused``: an OOD threshold every film exceeds; ``flat``: a head that ignores the image, so the map is
flat; ``untrained_segmenter``: a placeholder segmenter; ``normal``: a segmenter that calls every pixel lung (the
whole map is inside); ``outside``: lungs in a 3 x 3 corner only (monkeypatched segmentation), so most of the map
is outside them and the ``outside_lungs`` warning is due.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: case -> (checkpoint kind, segmenter trained?, expected reason code)
CASES: dict[str, tuple[str, bool, str | None]] = {
    "refused": ("refused", True, "refused"),
    "flat": ("flat", True, "flat_map"),
    "untrained_segmenter": ("normal", False, "untrained_segmenter"),
    "normal": ("normal", True, None),
    "outside": ("normal", True, None),
}


def checkpoint(path: Path, kind: str) -> Path:
    """An untrained ResNet-18 at 64 px: ``normal``, ``refused`` (every film out of distribution) or ``flat``."""
    import torch

    from xray_core.config import Preprocessing
    from xray_core.inference import ood
    from xray_core.models.checkpoint import save_checkpoint
    from xray_core.models.networks import build_model

    torch.manual_seed(0)
    model = build_model("resnet18", in_channels=1).eval()
    meta = {"arch": "resnet18", "preprocessing": Preprocessing(image_size=64).to_dict(), "version": f"lungs-{kind}"}
    if kind == "refused":
        rng = np.random.default_rng(0)
        stats = ood.fit(rng.normal(size=(64, 512)), rng.integers(0, 4, 64), rng.normal(size=(32, 512)))
        meta["ood"] = {**stats, "threshold": -1.0}  # a distance is never negative: every film is refused
    if kind == "flat":
        with torch.no_grad():
            model.fc.weight.zero_()  # logits = bias: no cell argues for any class
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, model, meta)
    return path


def segmenter(path: Path, trained: bool) -> Path:
    """A tiny U-Net that calls every pixel lung; ``trained`` False marks it an untrained placeholder."""
    import torch

    from xray_core.config import Preprocessing
    from xray_core.models.unet import SegmenterMeta, UNet, save_segmenter

    model = UNet(1, (4, 8)).eval()
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.fill_(5.0)
    meta = SegmenterMeta(Preprocessing(image_size=32), channels=(4, 8), trained=trained, version=f"lungs-{trained}")
    path.parent.mkdir(parents=True, exist_ok=True)
    save_segmenter(path, model, meta)
    return path


def corner_lungs(segmenter, film) -> np.ndarray:
    """Stands in for ``segment``: lungs in the film's top-left 3 x 3 pixels only."""
    pixels = film.pixels if hasattr(film, "pixels") else np.asarray(film)
    mask = np.zeros(pixels.shape[:2], bool)
    mask[:3, :3] = True
    return mask


def film(seed: int = 0, size: int = 96) -> np.ndarray:
    """A chest-film-like uint8 image: bright mediastinum, darker lungs, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    pixels = 0.35 + 0.4 * np.exp(-((x - 0.5) ** 2) / 0.01) + 0.1 * y + rng.normal(0, 0.05, (size, size))
    return np.clip(pixels * 255, 0, 255).astype(np.uint8)
