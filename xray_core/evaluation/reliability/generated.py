"""The "generated" family: noise, constant and gradient images, 8-bit PNG from a fixed seed.

None of them is a radiograph, yet every one decodes: they probe the model's refusal, not the reader.
"""

from __future__ import annotations

import numpy as np

from xray_core.evaluation.reliability.files import Case, encode


def generated_cases(seed: int = 0, side: int = 256) -> list[Case]:
    """Noise (uniform, Gaussian, salt-and-pepper, smooth), constant and gradient images, 8-bit PNG."""
    import cv2

    rng = np.random.default_rng(seed)
    ramp = np.linspace(0.0, 1.0, side)
    y, x = np.mgrid[-1 : 1 : side * 1j, -1 : 1 : side * 1j]
    images = {
        "noise_uniform": rng.random((side, side)),
        "noise_gaussian": np.clip(rng.normal(0.5, 0.15, (side, side)), 0, 1),
        "noise_salt_pepper": (rng.random((side, side)) < 0.5).astype(float),
        "noise_smooth": cv2.GaussianBlur(rng.random((side, side)).astype(np.float32), (0, 0), 8),
        "constant_black": np.zeros((side, side)),
        "constant_gray": np.full((side, side), 0.5),
        "constant_white": np.ones((side, side)),
        "gradient_horizontal": np.tile(ramp, (side, 1)),
        "gradient_vertical": np.tile(ramp, (side, 1)).T,
        "gradient_diagonal": (x + y + 2) / 4,
        "gradient_radial": np.clip(np.hypot(x, y) / np.sqrt(2), 0, 1),
    }
    cases = []
    for name, values in images.items():
        values = np.asarray(values, dtype=np.float64)
        if name == "noise_smooth":
            values = (values - values.min()) / (np.ptp(values) or 1)
        cases.append(Case("generated", f"{name}.png", encode(np.round(values * 255).astype(np.uint8), "PNG"), "valid"))
    return cases


__all__ = ["generated_cases"]
