"""Export a classifier checkpoint to ONNX for :mod:`xray_core.inference.onnx.engine`, verified against torch.

The graph returns the penultimate features and the logits (the OOD score and the age probe read the features).
Its name carries the checkpoint file's SHA-256, so a changed checkpoint never finds it. Before the file is put in
place, every verification film is scored by both engines: probabilities, logits, features and OOD scores must
agree within ``tolerance`` and the decisions must be the same, else nothing is written. Then the graph's own
SHA-256 is recorded as verified for that checkpoint file (:mod:`xray_core.inference.onnx.records`): the engine
runs no other graph, and reads all metadata from the checkpoint.

A lung-cropped checkpoint also needs its lung segmenter on ONNX Runtime: :func:`export_segmenter` writes it beside
the classifier (keyed to the segmenter's SHA-256 and its file's, see :mod:`xray_core.inference.onnx.segmenter`),
verified the same way (lung probabilities within ``tolerance``, the same crop boxes), and the classifier's
verification then runs the whole chain, segmenter, crop and classifier, against torch's ``crop.model_input``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from xray_core.inference.onnx.engine import (
    FORMAT_NAME,
    FORMAT_VERSION,
    INPUT,
    OUTPUTS,
    OnnxModel,
    export_path,
    open_session,
    unsupported_reason,
)
from xray_core.inference.onnx.records import OnnxUnavailable, record_export
from xray_core.inference.onnx.segmenter import load_onnx_segmenter
from xray_core.inference.onnx.segmenter_export import export_segmenter
from xray_core.inference.onnx.writer import write_graph, write_verified
from xray_core.inference.predict import Prediction, predict_batch
from xray_core.io.image import XrayImage
from xray_core.models.checkpoint import load_checkpoint
from xray_core.models.networks import penultimate_features
from xray_core.models.pinned import file_sha256

TOLERANCE = 1e-5  # largest accepted |torch - onnx| on probabilities


class _FeaturesAndLogits(nn.Module):
    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return penultimate_features(self.model, batch)


def export_onnx(
    checkpoint: str | Path,
    films: Sequence[XrayImage],
    directory: str | Path | None = None,
    tolerance: float = TOLERANCE,
) -> dict[str, Any]:
    """Write ``checkpoint``'s ONNX export (see :func:`~xray_core.inference.onnx.engine.export_path`), verified on
    ``films``; returns a JSON-able report (path, hashes, largest differences). A lung-cropped checkpoint's
    segmenter is exported first (:func:`export_segmenter`; its report under ``segmenter``). Raises
    :class:`OnnxUnavailable` for preprocessing the engine cannot run, :class:`ValueError` when the engines
    disagree (:class:`~xray_core.models.unet.SegmenterError`, a ValueError, when the installed segmenter is not the
    checkpoint's)."""
    if not films:
        raise ValueError("export_onnx needs at least one film to verify the export against torch")
    checkpoint = Path(checkpoint)
    sha = file_sha256(checkpoint)
    loaded = load_checkpoint(checkpoint)
    reason = unsupported_reason(loaded.preprocessing)
    if reason:
        raise OnnxUnavailable(f"{checkpoint.name}: {reason}; predict keeps using torch")
    path = export_path(checkpoint, sha, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    segmenter_report, segmenter = None, None
    if loaded.preprocessing.crop != "none":
        from xray_core.inference.lungs.crop import crop_segmenter

        segmenter_report = export_segmenter(crop_segmenter(loaded.preprocessing), films, path.parent, tolerance)
        segmenter = load_onnx_segmenter(loaded.preprocessing, path.parent)
    info = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "checkpoint": checkpoint.name,
        "checkpoint_file_sha256": sha,
        "checkpoint_sha256": loaded.sha256,
        "torch": torch.__version__,
    }  # for people reading the file; the engine trusts only the record and the checkpoint
    prep = loaded.preprocessing
    example = torch.zeros(1, prep.in_channels, prep.image_size, prep.image_size)

    def check(graph: bytes) -> dict[str, Any]:
        session = open_session(graph, name=path.name)
        engine = OnnxModel(session, loaded.meta, loaded.sha256, str(checkpoint), str(path), "onnx", segmenter)
        engine.grid_boxes = False  # torch's own box steps: the graph is checked on exactly torch's input
        differences = compare(predict_batch(loaded, films), engine.predict_batch(films))
        if differences["probabilities"] > tolerance or not differences["same_decisions"]:
            raise ValueError(f"the ONNX export disagrees with torch: {differences}; nothing written")
        return differences

    differences, graph_sha = write_verified(
        path, lambda tmp: write_graph(_FeaturesAndLogits(loaded.model), example, tmp, [INPUT], OUTPUTS, info), check
    )
    record_export(checkpoint, sha, graph_sha, path)
    keys = ("checkpoint", "checkpoint_file_sha256", "checkpoint_sha256")
    report = {"path": str(path), **{k: info[k] for k in keys}, "films": len(films), "tolerance": tolerance}
    if segmenter_report is not None:
        report["segmenter"] = segmenter_report
    return {**report, "max_abs_difference": differences}


def compare(reference: Sequence[Prediction], candidate: Sequence[Prediction]) -> dict[str, Any]:
    """Largest absolute differences between two engines' predictions of the same films, and whether the
    labels and decision codes all agree."""

    def largest(values: Any) -> float:
        return float(max((np.max(np.abs(np.subtract(a, b))) for a, b in values), default=0.0))

    pairs = list(zip(reference, candidate, strict=True))
    ood_pairs = [(a.ood_score, b.ood_score) for a, b in pairs if a.ood_score is not None]
    return {
        "probabilities": largest((list(a.probabilities.values()), list(b.probabilities.values())) for a, b in pairs),
        "logits": largest((a.logits, b.logits) for a, b in pairs),
        "ood_score": largest(ood_pairs),
        "same_decisions": all(
            a.label == b.label and [d.code for d in a.decisions] == [d.code for d in b.decisions] for a, b in pairs
        ),
    }


__all__ = ["TOLERANCE", "compare", "export_onnx"]
