"""The ONNX Runtime engine: score films from an export of the checkpoint, without importing torch.

Importing torch and torchvision costs seconds; a one-film ``predict`` would spend most of its time there.
``python -m xray_core export-onnx`` (:mod:`xray_core.inference.onnx.export`) writes the network's features and
logits to an ONNX file, checked against torch on real films, with the checkpoint's metadata inside. This module
loads that file and returns the same :class:`~xray_core.inference.predict.Prediction` objects as the torch path:
same numpy preprocessing (:func:`~xray_core.models.resize.to_array`), same calibrated softmax, same OOD score on
the penultimate features, and the same :func:`~xray_core.inference.predict.build_prediction` (refusals and
warnings included). Grad-CAM stays on torch.

A lung-cropped checkpoint (``Preprocessing.crop == "lungs"``) is scored the same way: the export of its lung
segmenter (:mod:`xray_core.inference.onnx.segmenter`, written beside the classifier's and checked against the
segmenter the checkpoint records) gives each film's crop box, and ``to_array(..., box=box)`` crops before resizing,
as ``crop.model_input`` does on torch.

An export is keyed to the SHA-256 of the checkpoint *file*: its name carries a prefix, and a checkpoint that
changed (retrained, re-calibrated, ``update_meta``) finds no export and is never scored by a stale one:
:class:`OnnxUnavailable` says why and the caller falls back to torch. A graph runs only when the export step
recorded its own SHA-256 as verified for that checkpoint file (:mod:`xray_core.inference.onnx.records`, which
also says what someone who can write the export folder can and cannot do), and the metadata it runs with
(temperature, OOD statistics, operating point, age probe, preprocessing) is read from the checkpoint file itself
(:func:`~xray_core.models.signed.read_header`, no torch), never from the graph.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xray_core.config import Preprocessing, cache_dir
from xray_core.inference import ood
from xray_core.inference.calibration import apply_temperature
from xray_core.inference.onnx.quantize import PRECISIONS, int8_path
from xray_core.inference.onnx.records import OnnxUnavailable, verified_graph
from xray_core.inference.onnx.segmenter import OnnxSegmenter, load_onnx_segmenter
from xray_core.inference.predict import Prediction, build_prediction
from xray_core.io.image import XrayImage
from xray_core.models.meta import CheckpointMeta
from xray_core.models.pinned import check_pinned, file_sha256
from xray_core.models.resize import box_from_mask, to_array
from xray_core.models.signed import read_header

ENV_DIR = "XRAY_ONNX_DIR"  # where exports go (default: <cache dir>/onnx, never inside the repository)
FORMAT_NAME = "xray-core-onnx"
FORMAT_VERSION = 2  # 2: the graph no longer carries the checkpoint's metadata (it is read from the checkpoint)
INPUT, OUTPUTS = "input", ("features", "logits")


def export_dir() -> Path:
    return Path(os.environ.get(ENV_DIR) or cache_dir() / "onnx")


def export_path(checkpoint: str | Path, checkpoint_file_sha256: str, directory: str | Path | None = None) -> Path:
    """``<dir>/<checkpoint stem>-<first 16 hex of its file SHA-256>.onnx``."""
    folder = Path(directory) if directory is not None else export_dir()
    return folder / f"{Path(checkpoint).stem}-{checkpoint_file_sha256[:16]}.onnx"


def unsupported_reason(prep: Preprocessing) -> str | None:
    """Why this preprocessing cannot run on the ONNX engine, or None when it can (whole films and lung crops)."""
    if prep.geometry != "squash":
        return f"the ONNX engine does not support geometry={prep.geometry!r}"
    return None


@dataclass
class OnnxModel:
    """An ONNX Runtime session plus the checkpoint's typed metadata; quacks like a ``LoadedModel`` for predict."""

    session: Any  # onnxruntime.InferenceSession with input "input" and outputs "features", "logits"
    meta: CheckpointMeta
    sha256: str  # the checkpoint's own SHA-256 (weights and metadata), as LoadedModel.sha256
    path: str = ""  # the checkpoint file
    onnx_path: str = ""
    engine: str = "onnx"
    segmenter: OnnxSegmenter | None = None  # the lung crop's segmenter; None for whole-film preprocessing
    #: crop boxes post-processed on the segmenter's grid (lungs.masks.grid_box: within 2 px of the film-size steps,
    #: the same on every corpus film measured); False: torch's film-size steps, which the export verifies against
    grid_boxes: bool = True

    class_names = property(lambda self: self.meta.class_names)
    preprocessing = property(lambda self: self.meta.preprocessing)
    arch = property(lambda self: self.meta.arch)
    temperature = property(lambda self: self.meta.temperature)
    trained = property(lambda self: self.meta.trained)
    version = property(lambda self: self.meta.version)

    def identity(self) -> dict[str, Any]:
        """As ``LoadedModel.identity()``, plus the engine."""
        return {**self.meta.identity(self.sha256, self.path), "engine": self.engine}

    def inputs(self, images: Sequence[XrayImage]) -> np.ndarray:
        """(N, C, S, S) float32 network input of ``images``: whole films, or their lung boxes (one segmenter pass)."""
        prep, films = self.preprocessing, [image.pixels for image in images]
        if prep.crop == "none":
            return np.stack([to_array(pixels, prep) for pixels in films])
        if self.segmenter is None:
            raise OnnxUnavailable(f"crop={prep.crop!r} preprocessing needs the lung segmenter's ONNX export")
        if prep.mask == "none" and self.grid_boxes:  # the box alone, post-processed on the segmenter's grid
            boxes = self.segmenter.boxes(films, prep.crop_margin)
            return np.stack([to_array(pixels, prep, box=box) for pixels, box in zip(films, boxes, strict=True)])
        masks = self.segmenter.masks(films)  # one pass gives the box and the mask of a lung-masked model
        return np.stack(
            [
                to_array(pixels, prep, box=box_from_mask(mask, prep.crop_margin), lung_mask=mask)
                for pixels, mask in zip(films, masks, strict=True)
            ]
        )

    def forward(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, C, S, S) float32 → (features (N, D), logits (N, K)) float32."""
        features, logits = self.session.run(list(OUTPUTS), {INPUT: np.ascontiguousarray(batch, dtype=np.float32)})
        return features, logits

    def predict_batch(self, images: Sequence[XrayImage], batch_size: int = 32) -> list[Prediction]:
        """``predict.predict_batch`` on ONNX Runtime: same preprocessing, calibration, OOD score and decisions."""
        chunks = (images[start : start + batch_size] for start in range(0, len(images), batch_size))
        return [prediction for chunk in self.predict_stream(chunks) for prediction in chunk]

    def predict_stream(self, batches: Iterable[Sequence[XrayImage]]) -> Iterator[list[Prediction]]:
        """:meth:`predict_batch` over successive batches, one list of predictions per batch, in order.

        The network runs on batch k+1 in a helper thread (ONNX Runtime releases the GIL) while this thread turns
        batch k into Predictions (OOD score, input checks, age probe) and pulls the next batch, which may decode
        it: on 2 cores, run one after the other, that Python work and the network would each wait for the other. Each
        film's numbers are the ones :meth:`forward` gives for its batch, exactly as without the overlap.
        """
        with ThreadPoolExecutor(1, thread_name_prefix="onnx-forward") as pool:
            previous = None
            for images in batches:
                images = list(images)
                began = time.perf_counter()
                inputs = self.inputs(images) if images else None
                current = (images, None if inputs is None else pool.submit(self.forward, inputs), began)
                if previous is not None:
                    yield self._predictions(*previous)
                previous = current
            if previous is not None:
                yield self._predictions(*previous)

    def _predictions(self, images: list[XrayImage], forward: Future | None, began: float) -> list[Prediction]:
        if forward is None:
            return []
        features, logits = forward.result()
        probabilities = apply_temperature(logits, self.temperature).astype(np.float32)
        scores = ood.score(self.meta.ood_stats, features)
        elapsed = (time.perf_counter() - began) * 1000 / len(images)
        results = []
        for index, image in enumerate(images):  # build_prediction reads only fields OnnxModel shares
            score = None if scores is None else float(scores[index])
            results.append(
                build_prediction(self, image, logits[index], probabilities[index], score, elapsed, features[index])
            )
        return results


def load_onnx(
    checkpoint: str | Path, directory: str | Path | None = None, threads: int = 0, precision: str = "fp32"
) -> OnnxModel:
    """The ONNX export of ``checkpoint`` as an :class:`OnnxModel`; raises :class:`OnnxUnavailable` saying why not.

    ``threads``: ONNX Runtime intra-op threads (0: its default, one per physical core). ``precision``: one of
    :data:`~xray_core.inference.onnx.quantize.PRECISIONS`: "fp32", "int8" (both networks quantised, verified like
    the fp32 export) or "int8-segmenter" (the lung segmenter quantised, the classifier fp32).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")
    checkpoint = Path(checkpoint)
    if not checkpoint.is_file():
        raise OnnxUnavailable(f"checkpoint not found: {checkpoint}", quiet=True)
    sha = file_sha256(checkpoint)
    path = export_path(checkpoint, sha, directory)
    if precision == "int8" and path.is_file():
        path = int8_path(path)
        if not path.is_file():
            reason = f"no int8 export of {checkpoint.name} yet"
            command = f"python -m xray_core export-onnx --int8 --checkpoint {checkpoint}"
            raise OnnxUnavailable(f"{reason}; run '{command}'", quiet=True, rebuild=True, reason=reason)
    if not path.is_file():
        _require_onnxruntime()
        stale = bool(_stale_exports(checkpoint, path))
        reason = f"no ONNX export of {checkpoint.name} {'for its present SHA-256' if stale else 'yet'}"
        raise OnnxUnavailable(_missing_message(checkpoint, path), quiet=not stale, rebuild=True, reason=reason)
    check_pinned(checkpoint, OnnxUnavailable, sha)
    graph = verified_graph(path, sha, checkpoint.name, _export_command(checkpoint))
    header = read_header(checkpoint)  # these bytes hash to the file export-onnx loaded and verified with torch
    meta = CheckpointMeta.from_dict(header["meta"])
    reason = unsupported_reason(meta.preprocessing)
    if reason:
        raise OnnxUnavailable(reason)
    session = open_session(graph, threads, path.name)
    segmenter = None
    if meta.preprocessing.crop != "none":
        segmenter_precision = "fp32" if precision == "fp32" else "int8"
        segmenter = load_onnx_segmenter(meta.preprocessing, path.parent, threads, checkpoint, segmenter_precision)
    engine = (
        "onnx" if precision == "fp32" or (precision == "int8-segmenter" and segmenter is None) else f"onnx-{precision}"
    )
    return OnnxModel(session, meta, header["sha256"], str(checkpoint), str(path), engine, segmenter)


def _require_onnxruntime() -> Any:
    try:
        import onnxruntime
    except ImportError as error:
        raise OnnxUnavailable("onnxruntime is not installed (pip install onnxruntime)", quiet=True) from error
    return onnxruntime


def open_session(graph: bytes, threads: int = 0, name: str = "the export") -> Any:
    """An ONNX Runtime CPU session of the ``graph`` bytes (``threads``: intra-op threads, 0 = its default); bytes it
    cannot read raise :class:`OnnxUnavailable` naming the file ``name``, never a session that scores with them.
    Bytes, not a path: the session runs exactly the bytes the caller hashed."""
    onnxruntime = _require_onnxruntime()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3  # warnings about unused initialisers are noise here
    try:
        return onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    except Exception as error:  # a truncated or foreign file: say so, never score with it
        reason = f"{name}: not a readable ONNX export ({type(error).__name__})"
        raise OnnxUnavailable(f"{reason}; re-export", rebuild=True, reason=reason) from error


def _stale_exports(checkpoint: Path, current: Path) -> list[Path]:
    return sorted(p for p in current.parent.glob(f"{checkpoint.stem}-*.onnx") if not p.name.startswith(current.stem))


def _export_command(checkpoint: Path) -> str:
    return f"python -m xray_core export-onnx --checkpoint {checkpoint}"


def _missing_message(checkpoint: Path, path: Path) -> str:
    stale = _stale_exports(checkpoint, path)
    command = _export_command(checkpoint)
    if stale:
        return (
            f"the ONNX export(s) {', '.join(p.name for p in stale)} were made from an earlier {checkpoint.name} "
            f"(its SHA-256 changed since) and are not used; run '{command}'"
        )
    return f"no ONNX export of {checkpoint.name} in {path.parent}; run '{command}'"


__all__ = ["ENV_DIR", "OnnxModel", "export_dir", "export_path", "load_onnx", "open_session", "unsupported_reason"]
