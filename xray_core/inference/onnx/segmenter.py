"""The lung segmenter on ONNX Runtime: lung-cropped checkpoints scored without importing torch.

A lung-cropped classifier sees only the lung segmenter's bounding box. On torch, :mod:`xray_core.inference.lungs.crop`
segments the film with the U-Net; here the same U-Net, exported by ``python -m xray_core export-onnx`` beside the
classifier (:func:`xray_core.inference.onnx.export.export_segmenter`, verified against torch), gives the same box
through the same numpy steps: :func:`~xray_core.models.resize.to_array` for its input,
:func:`~xray_core.models.resize.cam_to_image` back to the film's size,
:func:`~xray_core.inference.lungs.masks.probability_to_mask`, and the engine boxes the masks with
:func:`~xray_core.models.resize.box_from_mask`.

An export is keyed to the segmenter twice: ``lung-segmenter-<its SHA-256>-<its file's SHA-256>.onnx`` (16 hex
each). The segmenter's own hash is what a cropping checkpoint records (``Preprocessing.crop_segmenter``) and is
checked as :func:`xray_core.inference.lungs.crop.crop_segmenter` checks it. As for the classifier, a graph runs only
when the export step recorded it as verified for the installed segmenter file
(:mod:`xray_core.inference.onnx.records`), and the segmenter's metadata (input size, threshold,
post-processing) and hash are read from that ``.pt`` file (without torch), never from the graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from xray_core.config import Preprocessing
from xray_core.inference.lungs.masks import default_segmenter, grid_box, probability_to_mask, segmenter_mismatch
from xray_core.inference.onnx.quantize import int8_path
from xray_core.inference.onnx.records import OnnxUnavailable, verified_graph
from xray_core.models.pinned import check_pinned, file_sha256
from xray_core.models.resize import cam_to_image, to_array
from xray_core.models.signed import read_header

FORMAT_NAME = "xray-core-onnx-segmenter"
FORMAT_VERSION = 2  # 2: the graph no longer carries the segmenter's metadata (it is read from the .pt)
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

    def grids(self, films: Sequence[np.ndarray]) -> np.ndarray:
        """(N, S, S) float32 lung probability of each H x W film on the network's own grid (one forward pass)."""
        batch = np.stack([to_array(pixels, self.preprocessing) for pixels in films])
        return self.session.run([OUTPUT], {INPUT: batch})[0][:, 0]

    def probabilities(self, films: Sequence[np.ndarray]) -> list[np.ndarray]:
        """H x W float32 lung probability of each H x W film at its own size (``lungs.lung_probability``)."""
        if not films:
            return []
        return [cam_to_image(lung, *pixels.shape) for lung, pixels in zip(self.grids(films), films, strict=True)]

    def boxes(self, films: Sequence[np.ndarray], margin: float) -> list[tuple[int, int, int, int]]:
        """The crop box of each film (:func:`~xray_core.inference.lungs.masks.grid_box`), from one forward pass."""
        if not films:
            return []
        settings = self.meta.get("postprocess", {})
        return [
            grid_box(grid, *pixels.shape, self.threshold, settings, margin)
            for grid, pixels in zip(self.grids(films), films, strict=True)
        ]

    def masks(self, films: Sequence[np.ndarray]) -> list[np.ndarray]:
        """H x W bool lung mask of each film (``lungs.segment``), from one forward pass."""
        settings = self.meta.get("postprocess", {})
        return [probability_to_mask(lung, self.threshold, settings) for lung in self.probabilities(films)]


def load_onnx_segmenter(
    prep: Preprocessing,
    directory: str | Path,
    threads: int = 0,
    checkpoint: str | Path = "CHECKPOINT",
    precision: str = "fp32",
) -> OnnxSegmenter:
    """The export of the installed segmenter (:func:`~xray_core.inference.lungs.masks.default_segmenter`) for a
    cropping ``prep``, checked against ``prep.crop_segmenter``; raises ``OnnxUnavailable`` saying why not (quiet
    when there is simply no export yet, as for the classifier). ``checkpoint`` names the file in the advice."""
    from xray_core.inference.onnx.engine import open_session  # it imports this module

    installed = default_segmenter()
    if not installed.is_file():
        raise OnnxUnavailable(f"lung segmenter not found: {installed}; a lung-cropped model needs it")
    file_sha, expected = file_sha256(installed), prep.crop_segmenter
    command = f"python -m xray_core export-onnx --checkpoint {checkpoint}"
    try:
        header = read_header(installed)  # trusted below, once a record vouches for this very file
    except ValueError as error:
        raise OnnxUnavailable(f"{installed}: not a lung segmenter the ONNX engine can read ({error})") from error
    path = segmenter_export_path(str(header.get("sha256")), file_sha, directory)
    if precision == "int8":
        path = int8_path(path)
    if not path.is_file():
        if expected and list(Path(directory).glob(f"{PREFIX}-{expected[:16]}-*.onnx")):
            raise OnnxUnavailable(  # maybe the right segmenter in other bytes: torch reads the .pt and decides
                f"{installed} is not the file the ONNX export of segmenter {expected[:12]} was made from; "
                f"if it is the segmenter this model was trained with, run '{command}'"
            )
        reason = f"no ONNX export of the lung segmenter {installed.name} in {directory}"
        raise OnnxUnavailable(f"{reason}; run '{command}'", quiet=True, rebuild=True, reason=reason)
    check_pinned(installed, OnnxUnavailable, file_sha)
    graph = verified_graph(path, file_sha, installed.name, command)
    if expected and header["sha256"] != expected:
        raise OnnxUnavailable(segmenter_mismatch(expected, installed, header["sha256"]))
    session = open_session(graph, threads, path.name)
    return OnnxSegmenter(session, header["meta"], header["sha256"], str(installed), str(path))


__all__ = [
    "FORMAT_NAME",
    "OnnxSegmenter",
    "load_onnx_segmenter",
    "segmenter_export_path",
]
