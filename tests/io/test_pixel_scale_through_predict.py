"""Pixel scale end to end: the same film as uint8 or float gets the same probabilities and the same refusal.

Before, an 8-bit XrayImage reached the image-level checks as 0..255: a float film passed, the same film as uint8
was refused, and a nearly blank uint8 image escaped the uniform check. Uses the untrained ``tiny_checkpoint``.
"""

from __future__ import annotations

import numpy as np
import pytest

from xray_core.inference.predict import predict_image
from xray_core.io.image import XrayImage


def _films() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    rows, columns = np.mgrid[0:96, 0:80]
    chest = 200 - 150 * (
        np.exp(-(((columns - 24) / 12) ** 2 + ((rows - 48) / 28) ** 2))
        + np.exp(-(((columns - 56) / 12) ** 2 + ((rows - 48) / 28) ** 2))
    )
    return {
        "chest-like": (chest + rng.normal(0, 6, chest.shape)).clip(0, 255).round().astype(np.uint8),
        "noise": rng.integers(0, 256, (64, 64), dtype=np.uint8),
        "nearly blank": (128 + rng.integers(-1, 2, (64, 64))).astype(np.uint8),
    }


@pytest.mark.parametrize("kind", list(_films()))
def test_uint8_and_float_films_get_the_same_result(loaded, kind):
    film = _films()[kind]
    as_uint8 = predict_image(loaded, XrayImage(film, {"name": f"{kind}.png"}))
    as_float = predict_image(loaded, XrayImage(film / 255.0, {"name": f"{kind}.png"}))
    for name in loaded.class_names:
        assert as_uint8.probabilities[name] == pytest.approx(as_float.probabilities[name], abs=1e-3)
    assert as_uint8.refused == as_float.refused
    if kind == "nearly blank":  # standard deviation 0.003 in [0, 1] units: the uniform check must refuse it
        assert as_uint8.refused
