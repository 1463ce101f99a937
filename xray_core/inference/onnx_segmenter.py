"""The lung segmenter on ONNX Runtime: lung-cropped checkpoints scored without importing torch (issues 12, 14).

A lung-cropped classifier sees only the lung segmenter's bounding box. On torch, :mod:`xray_core.inference.crop`
segments the film with the U-Net; here the same U-Net, exported by ``python -m xray_core export-onnx`` beside the
classifier (:func:`xray_core.inference.onnx_export.export_segmenter`, verified against torch), gives the same box
through the same numpy steps: :func:`~xray_core.models.resize.to_array` for its input,
:func:`~xray_core.models.resize.cam_to_image` back to the film's size,
:func:`~xray_core.inference.lung_masks.probability_to_mask`, and the engine boxes the masks with
:func:`~xray_core.models.resize.box_from_mask`.

An export is keyed to the segmenter twice: ``lung-segmenter-<its SHA-256>-<its file's SHA-256>.onnx`` (16 hex
each; the metadata holds both in full). The file hash finds the export of the installed segmenter without
reading the ``.pt`` (which needs torch); the segmenter's own hash is what a cropping checkpoint records
(``Preprocessing.crop_segmenter``) and is checked as :func:`xray_core.inference.crop.crop_segmenter` checks it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from xray_core.config import Preprocessing
from xray_core.inference.lung_masks import default_segmenter, probability_to_mask, segmenter_mismatch
from xray_core.models.resize import cam_to_image, to_array

FORMAT_NAME = "xray-core-onnx-segmenter"
FORMAT_VERSION = 1
METADATA_KEY = "xray_core"  # the metadata_props entry holding an export's JSON description (both exports)
PREFIX = "lung-segmenter"
INPUT, OUTPUT = "input", "probability"  # (N, C, S, S) normalised film → (N, 1, S, S) sigmoid lung probability


def segmenter_export_path(segmenter_sha256: str, file_sha256: str, directory: str | Path) -> Path:
    """``<dir>/lung-segmenter-<first 16 hex of the segmenter's SHA-256>-<first 16 of its file's>.onnx``."""
    return Path(directory) / f"{PREFIX}-{segmenter_sha256[:16]}-{file_sha256[:16]}.onnx"


@dataclass
class OnnxSegmenter:
    """The lung U-Net on ONNX Runtime with its metadata (``SegmenterMeta.to_dict()``); torch-free masks and boxes."""

    session: Any  # onnxruntime.InferenceSession: "input" (N, C, S, S) → "probability" (N, 1, S, S)
    meta: dict[str, Any]
    sha256: str  # the segmenter's own SHA-256 (weights and metadata), as LoadedSegmenter.sha256
    path: str = ""  # the segmenter's .pt file
    onnx_path: str = ""

    @cached_property
    def preprocessing(self) -> Preprocessing:
        return Preprocessing.from_dict(self.meta["preprocessing"])

    @property
    def threshold(self) -> float:
        return float(self.meta.get("threshold", 0.5))

    def probabilities(self, films: Sequence[np.ndarray]) -> list[np.ndarray]:
        """H x W float32 lung probability of each H x W film at its own size (``lungs.lung_probability``)."""
        if not films:
            return []
        batch = np.stack([to_array(pixels, self.preprocessing) for pixels in films])
        maps = self.session.run([OUTPUT], {INPUT: batch})[0][:, 0]
        return [cam_to_image(lung, *pixels.shape) for lung, pixels in zip(maps, films, strict=True)]

    def masks(self, films: Sequence[np.ndarray]) -> list[np.ndarray]:
        """H x W bool lung mask of each film (``lungs.segment``), from one forward pass."""
        settings = self.meta.get("postprocess", {})
        return [probability_to_mask(lung, self.threshold, settings) for lung in self.probabilities(films)]


def read_info(session: Any) -> dict[str, Any]:
    """The JSON metadata an export carries (empty when it carries none)."""
    return json.loads(session.get_modelmeta().custom_metadata_map.get(METADATA_KEY, "{}"))


def load_onnx_segmenter(
    prep: Preprocessing, directory: str | Path, threads: int = 0, checkpoint: str | Path = "CHECKPOINT"
) -> OnnxSegmenter:
    """The export of the installed segmenter (:func:`~xray_core.inference.lung_masks.default_segmenter`) for a
    cropping ``prep``, checked against ``prep.crop_segmenter``; raises ``OnnxUnavailable`` saying why not (quiet
    when there is simply no export yet, as for the classifier). ``checkpoint`` names the file in the advice."""
    from xray_core.inference.onnx_engine import OnnxUnavailable, file_sha256, open_session  # it imports this module

    installed = default_segmenter()
    if not installed.is_file():
        raise OnnxUnavailable(f"lung segmenter not found: {installed}; a lung-cropped model needs it")
    file_sha, expected = file_sha256(installed), prep.crop_segmenter
    found = sorted(Path(directory).glob(f"{PREFIX}-*-{file_sha[:16]}.onnx"))
    command = f"run 'python -m xray_core export-onnx --checkpoint {checkpoint}'"
    if not found:
        if expected and list(Path(directory).glob(f"{PREFIX}-{expected[:16]}-*.onnx")):
            raise OnnxUnavailable(  # maybe the right segmenter in other bytes: torch reads the .pt and decides
                f"{installed} is not the file the ONNX export of segmenter {expected[:12]} was made from; "
                f"if it is the segmenter this model was trained with, {command}"
            )
        missing = f"no ONNX export of the lung segmenter {installed.name} in {directory}; {command}"
        raise OnnxUnavailable(missing, quiet=True)
    session = open_session(found[0], threads)
    info = read_info(session)
    if info.get("format") != FORMAT_NAME or info.get("segmenter_file_sha256") != file_sha:
        raise OnnxUnavailable(f"{found[0].name} was not exported from {installed}; {command}")
    if expected and info["segmenter_sha256"] != expected:
        raise OnnxUnavailable(segmenter_mismatch(expected, installed, info["segmenter_sha256"]))
    return OnnxSegmenter(session, info["meta"], info["segmenter_sha256"], str(installed), str(found[0]))


__all__ = [
    "FORMAT_NAME",
    "OnnxSegmenter",
    "load_onnx_segmenter",
    "read_info",
    "segmenter_export_path",
]
