"""The fast engine by default: the first prediction that can use ONNX Runtime makes the verified export itself.

``export-onnx`` used to be a manual step, so a new user never met the fast path: a one-film ``predict`` spent
4 s importing torch where the export scores in 0.5 s. :func:`load_or_export` loads the checkpoint's verified
export (:func:`~xray_core.inference.onnx.engine.load_onnx`) and, when the only thing missing is an export the
export step can make (none yet, a stale one, or one that no record vouches for: tampered or truncated), runs that
step first, exactly as ``export-onnx`` does (the same films, the same verification against torch, the same
records), after one line saying so. The next process finds the export and never imports torch.

An export that cannot be made (the engines disagree, the segmenter is not the checkpoint's, no verification films)
is tried once per checkpoint file: the reason is kept under ``<cache>/onnx-failed`` and later runs score with torch
after one line quoting it (``export-onnx`` by hand retries). ``XRAY_ONNX_AUTO=0`` turns the automatic export off
(the test suite does, so tests never write exports unless they ask).
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from xray_core.config import cache_dir, default_data_dir
from xray_core.inference.onnx.quantize import DEFAULT_PRECISION
from xray_core.inference.onnx.records import OnnxUnavailable
from xray_core.io.image import XrayImage, XrayInputError
from xray_core.models.pinned import file_sha256

if TYPE_CHECKING:  # the engine imports the predict code: loaded when a model is, not with the CLI's parsers
    from xray_core.inference.onnx.engine import OnnxModel

ENV_AUTO = "XRAY_ONNX_AUTO"  # "0": never export automatically
VERIFY_FILMS = 16  # corpus films both engines score before an export is written
AUTO_CALIBRATION_FILMS = 128  # training films calibrating the automatic int8 segmenter (export-onnx --int8: 256)
FAILED = "onnx-failed"  # folder under the cache directory: why a checkpoint file could not be exported


def auto_enabled() -> bool:
    return os.environ.get(ENV_AUTO, "1") != "0"


def verification_files(folder: str | Path | None = None, count: int = VERIFY_FILMS) -> list[Path]:
    """The first ``count`` supported files (sorted by name) under ``folder``, default the corpus's images and
    external images (an equal share from each when both exist)."""
    from xray_core.io.source import is_supported_name

    if folder is not None:
        roots = [Path(folder)]
    else:
        roots = [p for p in (default_data_dir() / "images", default_data_dir() / "external" / "images") if p.is_dir()]
    files: list[Path] = []
    for index, root in enumerate(roots):
        share = count - len(files) if index == len(roots) - 1 else count // len(roots)
        found = sorted(p for p in root.rglob("*") if p.is_file() and is_supported_name(p.name))
        files.extend(found[:share])
    return files


def read_films(files: Sequence[Path], skipped: Callable[[str], None] | None = None) -> list[XrayImage]:
    """The readable ones of ``files``; ``skipped(message)`` for each that is not."""
    from xray_core.io.reader import read_image

    films = []
    for path in files:
        if not path.is_file():
            continue
        try:
            films.append(read_image(path))
        except XrayInputError as error:
            if skipped is not None:
                skipped(f"skipped {path}: {error}")
    return films


def failure_path(checkpoint: str | Path) -> Path:
    return cache_dir() / FAILED / f"{file_sha256(checkpoint)}.txt"


def load_or_export(
    checkpoint: str | Path,
    fallback: Sequence[XrayImage | str | Path] = (),
    notice: Callable[[str], None] | None = None,
    threads: int = 0,
    export: bool = True,
    precision: str | None = None,
) -> OnnxModel:
    """The ONNX engine for ``checkpoint``, exporting and verifying it first when that is all it lacks.

    ``fallback``: verification films (or their files) when the corpus has none, e.g. the films about to be scored.
    ``notice``: called with one line before an export (default: stderr). ``threads``: ONNX Runtime intra-op
    threads (0: its default). ``export=False`` only loads. ``precision``: None for the default
    (:data:`~xray_core.inference.onnx.quantize.DEFAULT_PRECISION` where its export is verified, made with the
    fp32 one when the corpus's training films are there to calibrate it; else fp32), or one of ``PRECISIONS``
    (an int8 export is never made for an explicit request: ``export-onnx --int8``). Raises
    :class:`OnnxUnavailable` as ``load_onnx`` does, or with the reason an automatic export failed.
    """
    from xray_core.inference.onnx.engine import load_onnx

    say = notice or (lambda line: print(line, file=sys.stderr))
    if precision not in (None, "fp32"):
        return load_onnx(checkpoint, threads=threads, precision=precision)
    if precision is None:
        try:
            return load_onnx(checkpoint, threads=threads, precision=DEFAULT_PRECISION)
        except OnnxUnavailable:
            pass
    model = _fp32(checkpoint, fallback, say, threads, export)
    if precision is None and export and auto_enabled() and model.segmenter is not None:
        return _int8_segmenter(checkpoint, model, say, threads)
    return model


def _fp32(checkpoint: str | Path, fallback, say: Callable[[str], None], threads: int, export: bool) -> OnnxModel:
    from xray_core.inference.onnx.engine import load_onnx

    try:
        return load_onnx(checkpoint, threads=threads)
    except OnnxUnavailable as why:
        if not (why.rebuild and export and auto_enabled()):
            raise
        failed = failure_path(checkpoint)
        if failed.is_file():
            raise OnnxUnavailable(f"the automatic ONNX export of {Path(checkpoint).name} failed earlier "
                                  f"({failed.read_text().strip()})") from why  # fmt: skip
        say(f"note: {why.reason}; exporting it to ONNX and verifying it against torch (once per checkpoint file)")
    began = time.perf_counter()
    with _exporting(cache_dir() / "onnx-export.lock"):  # one export at a time (make run, the dashboard, predict)
        try:
            return load_onnx(checkpoint, threads=threads)  # another process may have just made it
        except OnnxUnavailable:
            pass
        try:
            _export(checkpoint, fallback)
        except (OnnxUnavailable, ValueError, OSError) as error:  # CheckpointError, SegmenterError: ValueErrors
            reason = " ".join(str(error).split())
            failed.parent.mkdir(parents=True, exist_ok=True)
            failed.write_text(f"{reason}; retry with 'python -m xray_core export-onnx --checkpoint {checkpoint}'\n")
            raise OnnxUnavailable(f"the automatic ONNX export failed: {reason}") from error
    model = load_onnx(checkpoint, threads=threads)
    say(f"note: ONNX export verified and written in {time.perf_counter() - began:.1f} s ({model.onnx_path})")
    return model


def _int8_segmenter(checkpoint: str | Path, fp32: OnnxModel, say: Callable[[str], None], threads: int) -> OnnxModel:
    """The default precision's export made from the verified fp32 one, calibrated on the corpus's training films;
    ``fp32`` when there are none or it cannot be made (tried once per checkpoint file, as the fp32 export)."""
    from xray_core.inference.onnx.engine import load_onnx
    from xray_core.inference.onnx.quantize import calibration_films, export_int8

    failed = failure_path(checkpoint).with_suffix(".int8.txt")
    if failed.is_file():
        return fp32
    with _exporting(cache_dir() / "onnx-export.lock"):
        try:
            return load_onnx(checkpoint, threads=threads, precision=DEFAULT_PRECISION)
        except OnnxUnavailable:
            pass
        try:
            calibration = calibration_films(count=AUTO_CALIBRATION_FILMS)
        except (OSError, ValueError):  # no corpus here (DatasetError is a ValueError): fp32 it is
            return fp32
        say("note: quantising the lung segmenter to int8 (once; parity in weights/int8_parity.json)")
        try:
            export_int8(checkpoint, calibration, read_films(verification_files()) or calibration[:16], classifier=False)
        except (OnnxUnavailable, ValueError, OSError) as error:
            failed.parent.mkdir(parents=True, exist_ok=True)
            failed.write_text(" ".join(str(error).split()) + "\n")
            say(f"note: the int8 export failed ({error}); scoring with the fp32 export")
            return fp32
    return load_onnx(checkpoint, threads=threads, precision=DEFAULT_PRECISION)


@contextmanager
def _exporting(lock: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``lock`` (released if the process dies)."""
    descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def _export(checkpoint: str | Path, fallback: Sequence[XrayImage | str | Path]) -> None:
    from xray_core.inference.onnx.export import export_onnx  # torch: only when an export is due

    verification = read_films(verification_files())
    if not verification:
        given = [film for film in fallback if isinstance(film, XrayImage)]
        verification = given + read_films([Path(film) for film in fallback if not isinstance(film, XrayImage)])
    if not verification:
        raise OnnxUnavailable("no verification films (no corpus found; pass films)")
    export_onnx(checkpoint, verification)


__all__ = ["ENV_AUTO", "VERIFY_FILMS", "auto_enabled", "load_or_export", "read_films", "verification_files"]
