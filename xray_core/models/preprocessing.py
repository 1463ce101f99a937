"""Pure array maths that turns a [0, 1] grayscale film into the network's input, and back.

The torch-free parts (resizing, crop boxes, :func:`cam_to_image`) live in :mod:`xray_core.models.resize` and are
re-exported here. One :class:`~xray_core.config.Preprocessing` object drives every step. Axis order is
H x W for numpy images, (C, S, S) for one tensor and (N, C, S, S) for batches. Geometry
is "squash": the whole film is resized to S x S whatever its aspect ratio, so size and
aspect ratio (which identify the source in the corpus) never reach the model.

Geometric augmentation and test-time views use ``padding_mode="border"``: bilinear
sampling with border padding is a convex combination of input pixels, so it commutes
with the affine normalisation ``(x - mean) / std`` and gives the same result whether it
runs before or after :func:`normalize`; it also avoids black wedges that the model
could confuse with the letterbox margins some sources have.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from xray_core.config import Preprocessing
from xray_core.models.resize import (  # the numpy helpers live there (torch-free, for the ONNX engine)
    Box,
    checked_box,
    crop_to_box,
    masked_square,
    resize_square,
)
from xray_core.models.resize import unit_float as _unit_float

_TTA_SHIFT = 0.04  # fraction of the side
_TTA_ZOOM = 1.05


def normalize(batch: torch.Tensor, prep: Preprocessing) -> torch.Tensor:
    """(N, S, S) or (N, 1, S, S) float in [0, 1] → ``(x - mean) / std`` float32 (N, C, S, S), C = in_channels."""
    if batch.ndim == 3:
        batch = batch[:, None]
    if batch.ndim != 4 or batch.shape[1] != 1:
        raise ValueError(f"Expected a (N, S, S) or (N, 1, S, S) batch, got shape {tuple(batch.shape)}")
    out = (batch.float() - prep.mean) / prep.std
    return out if prep.in_channels == 1 else out.expand(-1, prep.in_channels, -1, -1).contiguous()


def normalize_batch(batch_uint8: torch.Tensor, prep: Preprocessing) -> torch.Tensor:
    """Cached (N, S, S) or (N, 1, S, S) uint8 squares → normalised float32 (N, C, S, S)."""
    if batch_uint8.dtype != torch.uint8:
        raise ValueError(f"Expected a uint8 batch, got {batch_uint8.dtype}; use normalize() for [0, 1] floats")
    if tuple(batch_uint8.shape[-2:]) != (prep.image_size, prep.image_size):
        raise ValueError(
            f"Batch side {tuple(batch_uint8.shape[-2:])} does not match image_size {prep.image_size}; "
            "rebuild the cache for this preprocessing"
        )
    return normalize(batch_uint8.float() / 255.0, prep)


def to_tensor(
    pixels: np.ndarray,
    prep: Preprocessing,
    transform: nn.Module | None = None,
    box: Box | None = None,
    lung_mask: np.ndarray | None = None,
) -> torch.Tensor:
    """H x W image (float in [0, 1] or uint8) of any size → normalised float32 (C, S, S).

    ``transform`` (e.g. :class:`TrainAugment`) is applied to the (1, 1, S, S) [0, 1] batch before normalisation.
    ``box``: the crop box when ``prep.crop`` is not "none" (required then, ignored otherwise); ``lung_mask``: the
    film's H x W lung mask when ``prep.mask`` is "lungs" (required then; outside it the square becomes the mean).
    """
    if prep.geometry != "squash":
        raise ValueError(f"Unsupported geometry {prep.geometry!r}; only 'squash' is implemented")
    box = checked_box(prep, box)
    square = resize_square(_unit_float(crop_to_box(pixels, box)), prep.image_size, prep.interpolation)
    square = masked_square(square, prep, box, lung_mask)
    batch = torch.from_numpy(square)[None, None]
    if transform is not None:
        batch = transform(batch)
    return normalize(batch, prep)[0]


def _affine(angle: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """(N, 2, 3) output→input sampling matrices for ``affine_grid``; ``shift`` in normalised units (side = 2)."""
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    first = torch.stack([cos * flip, sin * flip], dim=1)  # x column, mirrored when flip = -1
    second = torch.stack([-sin, cos], dim=1)
    return torch.stack([first, second, shift], dim=2)


def _warp(batch: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    theta = theta.to(device=batch.device, dtype=batch.dtype)
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    return F.grid_sample(batch, grid, mode="bilinear", padding_mode="border", align_corners=False)


class TrainAugment(nn.Module):
    """Random, vectorised augmentation of a (N, 1, S, S) float batch in [0, 1], before normalisation.

    Per image, at ``strength`` 1: rotation ±7°, translation ±6 % of the side, scale ≈0.91–1.1
    (log-uniform), gamma 0.8–1.25 (log-uniform), contrast ×(≈0.9–1.1) about the image mean,
    brightness ±0.1, and a horizontal flip with probability 1/2 only if ``hflip`` (off: the heart
    sits on the left). Every range scales with ``strength``; 0 is the identity (flips included).
    ``processing`` (0 = off) adds what differs between sites' processing of one film: blur or sharpening
    (a 1 px Gaussian mixed in or subtracted, up to ``processing`` of it), a half-size resampling mixed in
    (up to ``processing``) and noise (std up to 0.02 x ``processing``); the NIH originals scored near
    chance where the model's own NIH copies did not.
    Random numbers come from ``generator`` (call argument, else the constructor's, else torch's
    global RNG) on the CPU, so results are reproducible. Output is clipped to [0, 1].
    """

    def __init__(
        self,
        strength: float = 1.0,
        hflip: bool = False,
        generator: torch.Generator | None = None,
        processing: float = 0.0,
    ) -> None:
        super().__init__()
        if not strength >= 0 or not processing >= 0:
            raise ValueError(f"strength and processing must be >= 0, got {strength} and {processing}")
        self.strength = float(strength)
        self.hflip = bool(hflip)
        self.generator = generator
        self.processing = float(processing)

    def forward(self, batch: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.with_masks(batch, None, generator)[0]

    def with_masks(
        self, batch: torch.Tensor, masks: torch.Tensor | None, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The augmented batch and ``masks`` (N, 1, S, S) float, e.g. lung masks, moved by the same geometry
        (rotation, shift, scale, flip) and untouched by the intensity changes; the same random draws as
        :meth:`forward`, so a run draws the same images with or without masks."""
        if batch.ndim != 4:
            raise ValueError(f"Expected a (N, 1, S, S) batch, got shape {tuple(batch.shape)}")
        if masks is not None and (masks.shape[0], *masks.shape[2:]) != (batch.shape[0], *batch.shape[2:]):
            raise ValueError(f"masks {tuple(masks.shape)} do not match the batch {tuple(batch.shape)}")
        if self.strength == 0 or batch.shape[0] == 0:
            return batch.clamp(0.0, 1.0), masks
        s = self.strength
        generator = generator if generator is not None else self.generator
        draws = torch.rand(batch.shape[0], 8, generator=generator) * 2 - 1  # U[-1, 1], one row per image
        flip = torch.where(draws[:, 4] < 0, -1.0, 1.0) if self.hflip else torch.ones(batch.shape[0])
        theta = _affine(
            angle=draws[:, 0] * math.radians(7.0) * s,
            scale=torch.exp(draws[:, 3] * math.log(1.1) * s),
            shift=draws[:, 1:3] * (2 * 0.06 * s),
            flip=flip,
        )
        out = _warp(batch, theta).clamp(0.0, 1.0)
        per_image = draws.to(device=batch.device, dtype=batch.dtype)[:, :, None, None, None]
        out = out.pow(torch.exp(per_image[:, 5] * math.log(1.25) * s))
        mean = out.mean(dim=(1, 2, 3), keepdim=True)
        out = (out - mean) * torch.exp(per_image[:, 6] * math.log(1.1) * s) + mean + per_image[:, 7] * 0.1 * s
        if self.processing:
            out = _site_processing(out.clamp(0.0, 1.0), self.processing, generator)
        return out.clamp(0.0, 1.0), None if masks is None else _warp(masks, theta)

    def extra_repr(self) -> str:
        return f"strength={self.strength}, hflip={self.hflip}, processing={self.processing}"


_BLUR = torch.tensor([0.0545, 0.2442, 0.4026, 0.2442, 0.0545])  # Gaussian, sigma 1 px


def _site_processing(batch: torch.Tensor, strength: float, generator: torch.Generator | None) -> torch.Tensor:
    """Blur or sharpen, resample and add noise, each image by its own random amount (see TrainAugment)."""
    draws = torch.rand(batch.shape[0], 3, generator=generator).to(batch)[:, :, None, None, None]
    kernel = _BLUR.to(batch)
    padded = F.pad(batch, (2, 2, 2, 2), mode="replicate")
    blurred = F.conv2d(padded, kernel.view(1, 1, 1, 5))
    blurred = F.conv2d(blurred, kernel.view(1, 1, 5, 1))
    out = batch + (draws[:, 0] * 2 - 1) * strength * (blurred - batch)  # > 0 blurs, < 0 sharpens
    side = batch.shape[-1]
    half = F.interpolate(out, size=max(1, side // 2), mode="area")
    resampled = F.interpolate(half, size=side, mode="bilinear", align_corners=False)
    out = out + draws[:, 1] * strength * (resampled - out)
    noise = torch.randn(batch.shape, generator=generator).to(batch)
    return out + noise * draws[:, 2] * 0.02 * strength


def tta_views(batch: torch.Tensor) -> list[torch.Tensor]:
    """Deterministic test-time views of a (N, C, S, S) batch: identity, shifts ±4 % horizontally, zoom ×1.05.

    Works on [0, 1] or normalised batches alike (border padding commutes with normalisation).
    """
    n = batch.shape[0]
    ones, zeros = torch.ones(n), torch.zeros(n)

    def view(dx: float, zoom: float) -> torch.Tensor:
        shift = torch.stack([torch.full((n,), 2 * dx), zeros], dim=1)
        return _warp(batch, _affine(zeros, torch.full((n,), zoom), shift, ones))

    return [batch, view(_TTA_SHIFT, 1.0), view(-_TTA_SHIFT, 1.0), view(0.0, _TTA_ZOOM)]


__all__ = ["TrainAugment", "normalize", "normalize_batch", "tta_views", "to_tensor"]
