"""What every decoded image must satisfy, shared by the tests of xray_core.io."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from xray_core.io.image import XrayImage


def check_contract(image: XrayImage) -> None:
    """float32 (H, W) in [0, 1], C-contiguous, meta sizes agree, meta JSON-able."""
    assert image.pixels.dtype == np.float32 and image.pixels.ndim == 2 and image.pixels.flags.c_contiguous
    assert image.pixels.min() >= 0.0 and image.pixels.max() <= 1.0
    assert (image.meta["height"], image.meta["width"]) == image.pixels.shape == (image.height, image.width)
    json.dumps(image.meta)


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path
