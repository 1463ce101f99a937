"""int8 exports: static QDQ quantisation of the verified fp32 exports, calibrated on training films only.

ONNX Runtime runs an int8 convolution about twice as fast as an fp32 one on an AVX2 CPU (more with VNNI or AMX),
and the two networks are most of what folder scoring spends. :func:`export_int8` quantises the classifier and, for
a lung-cropped checkpoint, the lung segmenter from their verified fp32 exports (``onnxruntime.quantization``: QDQ,
per-channel signed 8-bit weights, unsigned 8-bit activations with ``reduce_range``, which keeps the AVX2 kernels
from saturating; activation ranges from the 99.999th percentile of :data:`CALIBRATION_FILMS` training films, never
validation, test or external ones). The first convolution and the classifier's last layer (the segmenter's: its
1-channel output convolution) stay in fp32: quantising them cost the most agreement for the least time.

An int8 export sits beside its fp32 one (``<fp32 name>.int8.onnx``), is checked against it on the verification
films (probabilities within :data:`TOLERANCE`, crop boxes within :data:`BOX_TOLERANCE_PX`) and recorded as verified
for the same source file, exactly like the fp32 export (:mod:`xray_core.inference.onnx.records`), so the engine
runs it only for that checkpoint and reads every number from the checkpoint. Parity on the test and both external
sets is measured by ``bench/bench_int8.py`` (``weights/int8_parity.json``); the fp32 export stays available.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from xray_core.config import default_data_dir
from xray_core.files import atomic_path
from xray_core.inference.onnx.records import record_export
from xray_core.io.image import XrayImage
from xray_core.models.pinned import file_sha256

PRECISIONS = ("fp32", "int8", "int8-segmenter")  # int8-segmenter: the segmenter int8, the classifier fp32
#: what ``predict``, folder scoring and the dashboard run where its export is verified: bench/bench_int8.py found
#: parity for the int8 segmenter on the test and both external sets, not for the int8 classifier (adult external
#: films: AUC 0.010 and ECE 0.019 away, the same top class on 98.8 %; weights/int8_parity.json)
DEFAULT_PRECISION = "int8-segmenter"
SUFFIX = ".int8.onnx"
CALIBRATION_FILMS = 256  # training films whose activations set the int8 ranges
TOLERANCE = 0.1  # largest accepted |p_int8 - p_fp32| on a verification film
BOX_TOLERANCE_PX = 2  # largest accepted crop-box side shift, in the film's pixels
BATCH = 16


def int8_path(fp32_path: str | Path) -> Path:
    """``<dir>/<fp32 stem>.int8.onnx``: the int8 export beside the fp32 one it was made from."""
    path = Path(fp32_path)
    return path.with_name(path.stem + SUFFIX)


def calibration_films(data_dir: str | Path | None = None, count: int = CALIBRATION_FILMS) -> list[XrayImage]:
    """``count`` training-split films of the corpus (a fixed draw), never validation, test or external ones."""
    from xray_core.data.dataset import load_dataset
    from xray_core.inference.onnx.auto import read_films

    table = load_dataset(data_dir or default_data_dir())
    train = table[table["split"] == "train"].sort_values("path")
    chosen = train.sample(min(count, len(train)), random_state=0) if len(train) else train
    return read_films([Path(p) for p in chosen["path"]])


def quantize_graph(graph: bytes, inputs: np.ndarray, out: Path) -> None:
    """Write the QDQ int8 version of the fp32 ``graph`` to ``out``, calibrated on ``inputs`` (N, C, S, S)."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
    )
    from onnxruntime.quantization import quantize_static as _quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"input": inputs[i : i + BATCH]} for i in range(0, len(inputs), BATCH)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    with tempfile.TemporaryDirectory() as folder:
        source, prepared = Path(folder) / "fp32.onnx", Path(folder) / "prepared.onnx"
        source.write_bytes(graph)
        quant_pre_process(str(source), str(prepared))
        nodes = onnx.load(str(prepared)).graph.node
        convs = [node.name for node in nodes if node.op_type == "Conv"]
        dense = [node.name for node in nodes if node.op_type in ("Gemm", "MatMul")]
        keep_fp32 = [convs[0], *(dense or convs[-1:])]
        with contextlib.redirect_stdout(io.StringIO()), _quiet_logging():  # it prints its progress on stdout
            _quantize_static(
                str(prepared),
                str(out),
                Batches(),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                per_channel=True,
                reduce_range=True,
                calibrate_method=CalibrationMethod.Percentile,
                nodes_to_exclude=keep_fp32,
            )


@contextlib.contextmanager
def _quiet_logging() -> Iterator[None]:
    """The quantiser logs a warning per tensor it leaves alone through the root logger; not news here."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def export_int8(
    checkpoint: str | Path,
    calibration: Sequence[XrayImage],
    films: Sequence[XrayImage],
    directory: str | Path | None = None,
    classifier: bool = True,
) -> dict[str, Any]:
    """Quantise the verified fp32 export of ``checkpoint`` (and its lung segmenter's) to int8, calibrated on
    ``calibration`` (training films) and checked on ``films``; returns a JSON-able report. ``classifier=False``:
    the segmenter only (what :data:`DEFAULT_PRECISION` needs), checked through the fp32 classifier. Raises
    :class:`~xray_core.inference.onnx.records.OnnxUnavailable` without a verified fp32 export, ValueError when the
    int8 engine strays beyond :data:`TOLERANCE` or :data:`BOX_TOLERANCE_PX` (nothing is recorded then)."""
    from xray_core.inference.onnx.engine import OnnxModel, load_onnx, open_session
    from xray_core.inference.onnx.export import compare
    from xray_core.inference.onnx.segmenter import OnnxSegmenter
    from xray_core.models.resize import to_array

    if not calibration or not films:
        raise ValueError("export_int8 needs training films to calibrate on and films to verify on")
    fp32 = load_onnx(checkpoint, directory)
    report: dict[str, Any] = {"calibration_films": len(calibration), "films": len(films)}
    segmenter, written = None, []
    if fp32.segmenter is not None:
        fp32_segmenter = fp32.segmenter
        inputs = np.stack([to_array(film.pixels, fp32_segmenter.preprocessing) for film in calibration])
        path = int8_path(fp32_segmenter.onnx_path)
        graph = _quantized(Path(fp32_segmenter.onnx_path).read_bytes(), inputs, path)
        segmenter = OnnxSegmenter(
            open_session(graph, name=path.name), fp32_segmenter.meta, fp32_segmenter.sha256, fp32_segmenter.path,
            str(path),
        )  # fmt: skip
        pixels = [film.pixels for film in films]
        shifts = [_shift(a, b, fp32.preprocessing.crop_margin) for a, b in
                  zip(fp32_segmenter.masks(pixels), segmenter.masks(pixels), strict=True)]  # fmt: skip
        report["segmenter"] = {"path": str(path), "largest_box_shift_px": max(shifts)}
        if max(shifts) > BOX_TOLERANCE_PX:
            path.unlink()
            raise ValueError(f"the int8 segmenter moves a crop box by {max(shifts)} px; nothing recorded")
        written.append((fp32_segmenter.path, path, graph))
    path, session = Path(fp32.onnx_path), fp32.session
    if classifier:
        path = int8_path(fp32.onnx_path)
        graph = _quantized(Path(fp32.onnx_path).read_bytes(), fp32.inputs(list(calibration)), path)
        session = open_session(graph, name=path.name)
    engine = OnnxModel(session, fp32.meta, fp32.sha256, fp32.path, str(path), "onnx-int8", segmenter)
    differences = compare(fp32.predict_batch(list(films)), engine.predict_batch(list(films)))
    report.update({"path": str(path), "max_abs_difference_vs_fp32": differences, "tolerance": TOLERANCE})
    if differences["probabilities"] > TOLERANCE:
        for _, export, _ in [*written, *([(None, path, None)] if classifier else [])]:
            export.unlink()
        raise ValueError(f"the int8 export strays from fp32: {differences}; nothing recorded")
    if classifier:
        written.append((fp32.path, path, graph))
    for source, export, data in written:
        record_export(source, file_sha256(source), hashlib.sha256(data).hexdigest(), export)
    return report


def _quantized(graph: bytes, inputs: np.ndarray, path: Path) -> bytes:
    with atomic_path(path) as tmp:
        quantize_graph(graph, inputs, tmp)
        data = tmp.read_bytes()
    return data


def _shift(reference: np.ndarray, candidate: np.ndarray, margin: float) -> int:
    from xray_core.models.resize import box_from_mask

    return max(
        abs(a - b) for a, b in zip(box_from_mask(reference, margin), box_from_mask(candidate, margin), strict=True)
    )


__all__ = ["CALIBRATION_FILMS", "PRECISIONS", "calibration_films", "export_int8", "int8_path", "quantize_graph"]
