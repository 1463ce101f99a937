"""The numpy half of preprocessing: resizing, lung crop boxes, the network input as an array and maps back to the
film, without importing torch.

:mod:`xray_core.models.preprocessing` builds its tensors from these functions (and re-exports the box helpers and
:func:`cam_to_image`), and the ONNX engine (:mod:`xray_core.inference.onnx.engine`) feeds :func:`to_array` to
ONNX Runtime, so both engines see the same numbers (tests check ``to_array`` against ``to_tensor``, boxes
included). Axis order: H x W in, (C, S, S) out.
"""

from __future__ import annotations

import cv2
import numpy as np

from xray_core.config import Preprocessing

INTERPOLATIONS = {
    "area": cv2.INTER_AREA,
    "linear": cv2.INTER_LINEAR,
    "cubic": cv2.INTER_CUBIC,
    "lanczos": cv2.INTER_LANCZOS4,
    "nearest": cv2.INTER_NEAREST,
}


def resize(pixels: np.ndarray, height: int, width: int, downscale: str = "area") -> np.ndarray:
    """Resize H x W to ``height x width``: ``downscale`` on shrinking axes, linear on growing ones."""
    if downscale not in INTERPOLATIONS:
        raise ValueError(f"Unknown interpolation {downscale!r}; expected one of {', '.join(INTERPOLATIONS)}")
    if pixels.ndim != 2 or 0 in pixels.shape:
        raise ValueError(f"Expected a non-empty H x W image, got shape {pixels.shape}")
    if height < 1 or width < 1:
        raise ValueError(f"Target size must be positive, got {height} x {width}")
    source_h, source_w = pixels.shape
    pixels = np.ascontiguousarray(pixels, dtype=np.float32)
    if (source_h, source_w) == (height, width):
        return pixels.copy()
    shrink = INTERPOLATIONS[downscale]
    if (height < source_h and width > source_w) or (height > source_h and width < source_w):
        # One axis shrinks while the other grows: one pass per axis so each gets its own filter.
        tall = cv2.resize(pixels, (source_w, height), interpolation=shrink if height < source_h else cv2.INTER_LINEAR)
        return cv2.resize(tall, (width, height), interpolation=shrink if width < source_w else cv2.INTER_LINEAR)
    interpolation = shrink if (height < source_h or width < source_w) else cv2.INTER_LINEAR
    return cv2.resize(pixels, (width, height), interpolation=interpolation)


def resize_square(pixels: np.ndarray, size: int, downscale: str = "area") -> np.ndarray:
    """Squash-resize a whole H x W float image to ``size x size`` float32 (area shrinking, linear enlarging)."""
    return resize(pixels, size, size, downscale)


def unit_float(pixels: np.ndarray) -> np.ndarray:
    """H x W uint8 (divided by 255) or float in [0, 1] → float32 clipped to [0, 1]."""
    pixels = np.asarray(pixels)
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / 255.0
    if not np.issubdtype(pixels.dtype, np.floating):
        raise ValueError(f"Expected uint8 or float pixels in [0, 1], got dtype {pixels.dtype}")
    return np.clip(np.nan_to_num(pixels.astype(np.float32)), 0.0, 1.0)


#: (top, bottom, left, right) in pixels of the film, bottom/right exclusive: the region the model sees.
Box = tuple[int, int, int, int]
MIN_LUNG_SHARE = 0.02  # a mask covering less of the film than this gives no box: the whole film is used


def box_from_mask(mask: np.ndarray, margin: float) -> Box:
    """The bounding box of an H x W lung mask, widened by ``margin`` x its height/width on each side and
    clipped to the film. A mask under MIN_LUNG_SHARE of the film gives the whole film (no lungs found)."""
    mask = np.asarray(mask, dtype=bool)
    height, width = mask.shape
    if mask.mean() < MIN_LUNG_SHARE:
        return (0, height, 0, width)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    top, bottom, left, right = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    pad_y, pad_x = round(margin * (bottom - top)), round(margin * (right - left))
    return (max(0, top - pad_y), min(height, bottom + pad_y), max(0, left - pad_x), min(width, right + pad_x))


def crop_to_box(pixels: np.ndarray, box: Box | None) -> np.ndarray:
    """The H x W image restricted to ``box`` (None: unchanged)."""
    if box is None:
        return pixels
    top, bottom, left, right = box
    if not (0 <= top < bottom <= pixels.shape[0] and 0 <= left < right <= pixels.shape[1]):
        raise ValueError(f"Crop box {box} does not fit an image of shape {pixels.shape}")
    return pixels[top:bottom, left:right]


def keep_square(mask: np.ndarray, box: Box | None, size: int, dilation: float) -> np.ndarray:
    """S x S bool: where a lung-masked model sees the film, i.e. the H x W lung ``mask`` cropped to ``box``,
    resized like the film and grown by ``dilation`` x S. A mask under MIN_LUNG_SHARE (no lungs found, so the
    box is the whole film) keeps everything, as :func:`box_from_mask` does."""
    mask = np.asarray(mask, dtype=bool)
    if mask.mean() < MIN_LUNG_SHARE:
        return np.ones((size, size), dtype=bool)
    keep = resize_square(crop_to_box(mask, box).astype(np.float32), size, "area") > 0.5
    radius = round(dilation * size)
    if radius > 0:
        disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        keep = cv2.dilate(keep.astype(np.uint8), disk) > 0
    return keep


def mask_fill(prep: Preprocessing) -> float:
    """The value outside the lungs in [0, 1]: ``mean`` on the uint8 grid, so cached uint8 training squares and
    float films blank to the same number."""
    return round(prep.mean * 255) / 255


def masked_square(square: np.ndarray, prep: Preprocessing, box: Box | None, mask: np.ndarray | None) -> np.ndarray:
    """The S x S [0, 1] square with everything outside the grown lung mask set to :func:`mask_fill` when
    ``prep.mask`` is "lungs" (``mask``, the film's H x W lung mask, required then); unchanged otherwise."""
    if prep.mask == "none":
        return square
    if mask is None:
        raise ValueError("Preprocessing masks the lungs: pass the lung mask (inference.model_input does)")
    keep = keep_square(mask, box, prep.image_size, prep.mask_dilation)
    return np.where(keep, square, np.float32(mask_fill(prep))).astype(np.float32)


def checked_box(prep: Preprocessing, box: Box | None) -> Box | None:
    """The box ``prep`` crops to: None for whole-film preprocessing, ``box`` (required) when it crops."""
    if prep.crop == "none":
        return None
    if box is None:
        raise ValueError(f"Preprocessing crops to the {prep.crop}: pass the crop box (inference.model_input does)")
    return box


def to_array(
    pixels: np.ndarray, prep: Preprocessing, box: Box | None = None, lung_mask: np.ndarray | None = None
) -> np.ndarray:
    """H x W image (float in [0, 1] or uint8) → normalised float32 (C, S, S): ``to_tensor`` without torch.

    ``box``: the crop box when ``prep.crop`` is not "none" (required then, ignored otherwise), as for ``to_tensor``;
    ``lung_mask``: the film's H x W lung mask when ``prep.mask`` is "lungs" (required then).
    """
    if prep.geometry != "squash":
        raise ValueError(f"Unsupported geometry {prep.geometry!r}; only 'squash' is implemented")
    box = checked_box(prep, box)
    square = resize_square(unit_float(crop_to_box(pixels, box)), prep.image_size, prep.interpolation)
    square = masked_square(square, prep, box, lung_mask)
    out = (square[None] - np.float32(prep.mean)) / np.float32(prep.std)  # float32 throughout, as torch computes it
    return out if prep.in_channels == 1 else np.ascontiguousarray(np.repeat(out, prep.in_channels, axis=0))


def cam_to_image(cam: np.ndarray, height: int, width: int, box: Box | None = None) -> np.ndarray:
    """S x S map → H x W float32 in [0, 1] at the original resolution (geometry is squash, so a plain resize).

    With a crop ``box`` the map is resized to the box and placed there; outside it (never seen) it is 0.
    """
    cam = np.squeeze(np.asarray(cam, dtype=np.float32))
    if cam.ndim != 2:
        raise ValueError(f"Expected a 2-D map, got shape {np.shape(cam)}")
    if box is not None:
        top, bottom, left, right = box
        full = np.zeros((int(height), int(width)), np.float32)
        full[top:bottom, left:right] = cam_to_image(cam, bottom - top, right - left)
        return full
    resized = resize(np.nan_to_num(cam), int(height), int(width), "area")
    return np.clip(resized, 0.0, 1.0).astype(np.float32)


__all__ = [
    "INTERPOLATIONS",
    "MIN_LUNG_SHARE",
    "Box",
    "box_from_mask",
    "cam_to_image",
    "checked_box",
    "crop_to_box",
    "keep_square",
    "mask_fill",
    "masked_square",
    "resize",
    "resize_square",
    "to_array",
    "unit_float",
]
