"""Export the lung segmenter to ONNX for lung-cropped checkpoints on the ONNX engine, verified against torch.

The graph is the U-Net plus its sigmoid: a normalised (N, C, S, S) film in, (N, 1, S, S) lung probability out.
Everything around it (input, resize to the film, threshold, post-processing, box) is the numpy code both engines
share, so what is verified here is the network: on every verification film the ONNX lung probability must be
within ``tolerance`` of torch's (``lungs.lung_probability``) and the crop boxes the same, else nothing is written.
Then the graph's SHA-256 is recorded as verified for the segmenter's file (:mod:`xray_core.inference.onnx.records`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from xray_core.inference.lungs.masks import grid_box, probability_to_mask
from xray_core.inference.lungs.segment import lung_probability
from xray_core.inference.onnx.engine import open_session
from xray_core.inference.onnx.records import record_export
from xray_core.inference.onnx.segmenter import (
    FORMAT_NAME,
    FORMAT_VERSION,
    INPUT,
    OUTPUT,
    OnnxSegmenter,
    segmenter_export_path,
)
from xray_core.inference.onnx.writer import write_graph, write_verified
from xray_core.io.image import XrayImage
from xray_core.models.pinned import file_sha256
from xray_core.models.resize import box_from_mask
from xray_core.models.unet import LoadedSegmenter

TOLERANCE = 1e-5  # largest accepted |torch - onnx| lung probability, at the film's own size
GRID_BOX_TOLERANCE_PX = 2  # largest accepted shift of a grid box (what scoring crops to) from torch's box


class _Probability(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.model(batch))


def export_segmenter(
    segmenter: LoadedSegmenter, films: Sequence[XrayImage], directory: str | Path, tolerance: float = TOLERANCE
) -> dict[str, Any]:
    """Write ``segmenter``'s ONNX export into ``directory`` (see
    :func:`~xray_core.inference.onnx.segmenter.segmenter_export_path`), verified on ``films``; returns a JSON-able
    report. Raises :class:`ValueError` when the engines disagree (nothing is written then)."""
    if not films:
        raise ValueError("export_segmenter needs at least one film to verify the export against torch")
    file_sha = file_sha256(segmenter.path)
    path = segmenter_export_path(segmenter.sha256, file_sha, directory)
    info = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "segmenter": Path(segmenter.path).name,
        "segmenter_sha256": segmenter.sha256,
        "segmenter_file_sha256": file_sha,
        "torch": torch.__version__,
    }  # for people reading the file; the engine trusts only the record and the .pt
    prep = segmenter.preprocessing
    example = torch.zeros(1, prep.in_channels, prep.image_size, prep.image_size)

    def check(graph: bytes) -> dict[str, Any]:
        session = open_session(graph, name=path.name)
        engine = OnnxSegmenter(session, segmenter.meta.to_dict(), segmenter.sha256, segmenter.path, str(path))
        differences = compare_segmenters(segmenter, engine, [film.pixels for film in films])
        if (
            differences["probability"] > tolerance
            or not differences["same_boxes"]
            or differences["grid_box_shift_px"] > GRID_BOX_TOLERANCE_PX
        ):
            raise ValueError(f"the segmenter's ONNX export disagrees with torch: {differences}; nothing written")
        return differences

    differences, graph_sha = write_verified(
        path, lambda tmp: write_graph(_Probability(segmenter.model), example, tmp, [INPUT], [OUTPUT], info), check
    )
    record_export(segmenter.path, file_sha, graph_sha, path)
    keys = ("segmenter", "segmenter_sha256", "segmenter_file_sha256")
    report = {"path": str(path), **{k: info[k] for k in keys}, "films": len(films), "tolerance": tolerance}
    return {**report, "max_abs_difference": differences}


def compare_segmenters(
    segmenter: LoadedSegmenter, engine: OnnxSegmenter, films: Sequence[np.ndarray]
) -> dict[str, Any]:
    """Torch against ONNX on H x W films: largest lung-probability difference (at the film's size), lung pixels
    that differ, whether every crop box (the mask's bounding box, or the whole film) is the same, and how far the
    engine's grid boxes (:func:`~xray_core.inference.lungs.masks.grid_box`) are from torch's, in pixels."""
    expected = [lung_probability(segmenter, pixels) for pixels in films]  # one film at a time, as crop.crop_box
    actual = engine.probabilities(films)
    settings = segmenter.meta.postprocess
    masks = [
        (probability_to_mask(a, segmenter.threshold, settings), probability_to_mask(b, engine.threshold, settings))
        for a, b in zip(expected, actual, strict=True)
    ]
    return {
        "probability": float(max(np.max(np.abs(a - b)) for a, b in zip(expected, actual, strict=True))),
        "mask_pixels": int(sum(np.count_nonzero(a != b) for a, b in masks)),
        "same_boxes": all(box_from_mask(a, 0.0) == box_from_mask(b, 0.0) for a, b in masks),
        "grid_box_shift_px": max(
            max(
                abs(x - y)
                for x, y in zip(box_from_mask(a, 0.0), grid_box(g, *p.shape, engine.threshold, settings, 0.0))
            )
            for (a, _), g, p in zip(masks, engine.grids(films), films, strict=True)
        ),
    }


__all__ = ["TOLERANCE", "compare_segmenters", "export_segmenter"]
