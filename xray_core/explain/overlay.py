"""Pure image maths that draws a class-activation map on a radiograph.

Images are H x W grayscale (float in [0, 1] or uint8) or H x W x 3 RGB; maps are H x W float in [0, 1]
(resized to the image when their shape differs). Results are H x W x 3 RGB uint8.
"""

from __future__ import annotations

import cv2
import numpy as np

COLORMAPS: dict[str, int] = {
    "jet": cv2.COLORMAP_JET,  # pytorch-grad-cam's default
    "turbo": cv2.COLORMAP_TURBO,
    "inferno": cv2.COLORMAP_INFERNO,
    "magma": cv2.COLORMAP_MAGMA,
    "viridis": cv2.COLORMAP_VIRIDIS,
    "hot": cv2.COLORMAP_HOT,
}
OUTLINE_COLOR = (255, 255, 255)
_FLAT = 1e-6  # a map whose values span less than this has no hottest region


def to_rgb(image: np.ndarray) -> np.ndarray:
    """Grayscale or RGB, uint8 or float in [0, 1] → H x W x 3 float32 in [0, 1]."""
    image = np.asarray(image)
    pixels = image.astype(np.float32) / 255.0 if image.dtype == np.uint8 else image.astype(np.float32)
    pixels = np.clip(np.nan_to_num(pixels), 0.0, 1.0)
    if pixels.ndim == 2:
        return np.repeat(pixels[:, :, None], 3, axis=2)
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        return pixels
    raise ValueError(f"Expected an H x W or H x W x 3 image, got shape {image.shape}")


def _fit(cam: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The map as H x W float32 in [0, 1] at the image's size."""
    cam = np.squeeze(np.asarray(cam, dtype=np.float32))
    if cam.shape != tuple(shape[:2]):
        from xray_core.models.resize import cam_to_image  # torch-free import of this module: CLI start-up

        return cam_to_image(cam, shape[0], shape[1])
    return np.clip(np.nan_to_num(cam), 0.0, 1.0)


def overlay(image_pixels: np.ndarray, cam: np.ndarray, alpha: float = 0.4, colormap: str = "jet") -> np.ndarray:
    """Blend a colour-mapped map over the image: ``(1 - alpha) * image + alpha * heat`` → H x W x 3 uint8 RGB.

    Equivalent to ``show_cam_on_image(..., use_rgb=True, image_weight=1 - alpha)`` without its division by
    the blend's maximum, so the film's grey levels are not brightened.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    if colormap not in COLORMAPS:
        raise ValueError(f"unknown colormap {colormap!r}; expected one of {', '.join(COLORMAPS)}")
    rgb = to_rgb(image_pixels)
    heat = cv2.applyColorMap(np.uint8(np.round(255 * _fit(cam, rgb.shape))), COLORMAPS[colormap])
    heat = cv2.cvtColor(heat, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
    return np.uint8(np.round(255 * np.clip((1 - alpha) * rgb + alpha * heat, 0, 1)))


OUTLINE_PERCENTILE = 90.0  # the outline surrounds the map's hottest 10 %: a region, not a scatter of peaks


def hot_region(cam: np.ndarray, percentile: float = OUTLINE_PERCENTILE) -> np.ndarray:
    """H x W bool: cells at or above the map's ``percentile`` (none for a flat or all-zero map)."""
    if not 0.0 <= percentile < 100.0:
        raise ValueError(f"percentile must be in [0, 100), got {percentile}")
    cam = np.nan_to_num(np.asarray(cam, dtype=np.float32))
    if cam.size == 0 or float(cam.max() - cam.min()) < _FLAT:
        return np.zeros(cam.shape, dtype=bool)
    threshold = max(float(np.percentile(cam, percentile)), float(cam.min()) + _FLAT)
    return cam >= threshold


def outline(
    image_rgb: np.ndarray,
    cam: np.ndarray,
    percentile: float = OUTLINE_PERCENTILE,
    color: tuple[int, int, int] = OUTLINE_COLOR,
    thickness: int | None = None,
) -> np.ndarray:
    """Draw the contours of the map's hottest ``100 - percentile`` % on the image → H x W x 3 uint8 RGB.

    Draw on the plain film (``to_rgb(pixels)``) so opacities under the heat stay visible, or on an overlay.
    ``thickness`` defaults to about 0.4 % of the shorter side (at least 1 pixel).
    """
    rgb = np.uint8(np.round(255 * to_rgb(image_rgb)))
    mask = hot_region(_fit(cam, rgb.shape), percentile).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    width = thickness if thickness is not None else max(1, round(min(rgb.shape[:2]) / 250))
    return cv2.drawContours(rgb.copy(), contours, -1, tuple(int(c) for c in color), int(width))


__all__ = ["COLORMAPS", "hot_region", "outline", "overlay", "to_rgb"]
