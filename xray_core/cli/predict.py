"""``python -m xray_core predict FILE...``: calibrated probabilities, refusal and flags per file.

``predict DIR --recursive --out results.parquet`` scores a folder tree into a table instead (resumable, sharded
by rank under ``torchrun``; :mod:`xray_core.inference.folder`). ``--engine auto`` scores with the checkpoint's
ONNX export (no torch import: :mod:`xray_core.inference.onnx.engine`), made and verified by the first run that
lacks it (:mod:`xray_core.inference.onnx.auto`), else with torch.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict, deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from xray_core.cli.common import load_or_report, read_bytes
from xray_core.config import default_checkpoint


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="class probabilities for one or more images",
        description="Predict normal / bacterial / viral / COVID-19 for each FILE "
        "(PNG, JPEG, TIFF or DICOM). Decision support, not a diagnosis.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="image files, or one folder with --out")
    parser.add_argument("--checkpoint", default=None, help=f"checkpoint file (default: {default_checkpoint()})")
    parser.add_argument("--json", action="store_true", help="print one JSON array instead of a table")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="auto: ONNX Runtime (exported and verified against torch on first use; the lung segmenter in int8, "
        "where parity holds), else torch (default: auto); onnx: ONNX Runtime or an error; onnx-fp32: both networks "
        "fp32; onnx-int8: both int8 (export-onnx --int8)",
    )
    folder = parser.add_argument_group("folder scoring (predict DIR --out TABLE)")
    folder.add_argument("--out", default=None, metavar="TABLE", help="Parquet table for a folder's rows")
    folder.add_argument("--recursive", action="store_true", help="include sub-folders")
    folder.add_argument("--workers", type=int, default=2, help="decoding processes (0: decode in this one)")
    folder.add_argument(
        "--threads",
        type=int,
        default=1,
        help="ONNX Runtime threads per network (default 1: the segmenter and the classifier already run at once)",
    )
    folder.add_argument("--chunk", type=int, default=256, help="rows per part file (the most a kill can lose)")
    folder.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=_run)


ENGINES = ("auto", "torch", "onnx", "onnx-fp32", "onnx-int8")
PRECISION = {"auto": None, "onnx": None, "onnx-fp32": "fp32", "onnx-int8": "int8"}  # None: the default


def load_engine(checkpoint: str | None, engine: str = "auto", files: Sequence[str] = (), threads: int = 0) -> Any:
    """The model that scores: an ``OnnxModel`` (engine onnx, or auto where ONNX Runtime can run the checkpoint) or
    a torch ``LoadedModel``; None after printing why neither can load. Without a verified export for this
    checkpoint file, auto and onnx make one first (one line on stderr; :mod:`xray_core.inference.onnx.auto`,
    verified on the corpus, else on ``files``). Auto says on stderr why it falls back to torch, unless the reason is
    the ordinary one (onnxruntime not installed, automatic export turned off)."""
    if engine != "torch":
        from xray_core.inference.onnx.auto import load_or_export
        from xray_core.inference.onnx.records import OnnxUnavailable

        try:
            return load_or_export(
                checkpoint or default_checkpoint(), files, threads=threads, precision=PRECISION[engine]
            )
        except OnnxUnavailable as why:
            if engine != "auto":
                print(f"error: {why}", file=sys.stderr)
                return None
            if not why.quiet:
                print(f"note: {why}; scoring with torch", file=sys.stderr)
    return load_or_report(checkpoint)


def _run(args: argparse.Namespace) -> int:
    from xray_core.inference.audit import audit_prediction
    from xray_core.inference.batch import predict_sources

    if args.out is not None or (len(args.files) == 1 and Path(args.files[0]).is_dir()):
        return _run_folder(args)
    loaded = load_engine(args.checkpoint, args.engine, args.files)
    if loaded is None:
        return 2
    rows, failed = [], 0
    contents: dict[str, deque[bytes]] = defaultdict(deque)  # per name, in order: a file given twice is read twice
    for scored in predict_sources(loaded, _sources(args.files, contents), args.batch_size):  # the one loop
        data = contents[scored.name].popleft()
        if scored.prediction is None:
            failed += 1
            rows.append({"file": scored.name, "error": scored.error})
            continue
        # One audit line per prediction, hashing the bytes that were scored; a no-op unless XRAY_AUDIT_LOG is set.
        audit_prediction(data, scored.prediction, loaded)
        rows.append({"file": scored.name, **scored.prediction.to_dict()})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        _print_table(rows, loaded.class_names)
    return 1 if failed else 0


def _sources(files: Sequence[str], contents: dict[str, deque[bytes]]) -> Iterator[tuple[str, Any]]:
    """(name, bytes or the error reading them) per argument; each one's bytes queued in ``contents`` for the
    audit log. A folder among files is that argument's error row, so the other files are still scored."""
    from xray_core.io.image import XrayInputError

    for file in files:
        if Path(file).is_dir():
            contents[file].append(b"")
            yield (
                file,
                XrayInputError(
                    f"{file}: a folder among files; expected image files, or score a folder alone with "
                    f"'predict {file} --recursive --out results.parquet'"
                ),
            )
            continue
        try:
            data = read_bytes(file)
        except XrayInputError:
            contents[file].append(b"")
            yield file, file  # read_image reports why this path cannot be read, as that file's row
            continue
        contents[file].append(data)
        yield file, data


def _print_table(rows: list[dict], class_names: Sequence[str]) -> None:
    print("file\tlabel\t" + "\t".join(class_names) + "\tflags")
    for row in rows:
        if "error" in row:
            print(f"{row['file']}\tERROR\t{row['error']}")
            continue
        probabilities = "\t".join(f"{row['probabilities'][name]:.3f}" for name in class_names)
        flags = ",".join(f for f in ("refused", "low_confidence") if row.get(f))
        print(f"{row['file']}\t{row['label']}\t{probabilities}\t{flags}")


def _run_folder(args: argparse.Namespace) -> int:
    from xray_core.inference import folder

    if len(args.files) != 1 or not Path(args.files[0]).is_dir() or args.out is None:
        print("error: folder scoring takes one folder and --out TABLE, e.g. 'predict DIR --recursive --out "
              "results.parquet'", file=sys.stderr)  # fmt: skip
        return 2
    try:
        folder.check_output(args.out)
    except folder.OutputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    rank, world_size = folder.distributed_rank()
    # One ONNX Runtime thread per network: folder scoring runs the segmenter on the next batch while the classifier
    # scores this one, so two threads each oversubscribed 2 cores (bench_batch: 33 films/s with 2, 42 with 1).
    model = load_engine(args.checkpoint, args.engine, threads=args.threads)
    if model is None:
        return 2
    try:
        with folder.output_lock(args.out, rank):  # a second run on the same table is refused, not interleaved
            summary = _score_and_merge(args, model, rank, world_size)
    except folder.OutputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary), file=sys.stderr)
    return 0


def _score_and_merge(args: argparse.Namespace, model: Any, rank: int, world_size: int) -> dict[str, Any]:
    from tqdm.auto import tqdm

    from xray_core.inference import folder

    engine = getattr(model, "engine", "torch")
    bar = tqdm(unit="film", disable=args.no_progress or rank != 0, desc=f"scoring ({engine})")

    def progress(done: int, todo: int) -> None:
        bar.total = todo
        bar.update(done - bar.n)

    began = time.perf_counter()
    counts = folder.score_folder(
        model, args.files[0], args.out, args.recursive, args.batch_size, args.workers, args.chunk, rank, world_size,
        progress,
    )  # fmt: skip
    bar.close()
    seconds = time.perf_counter() - began
    if world_size > 1:
        folder.wait_for_all_ranks()  # every rank's parts are written before rank 0 merges them
    rows = folder.merge(args.out) if rank == 0 else 0
    rate = (counts["scored"] + counts["errors"]) / seconds if seconds > 0 else 0.0
    return {**counts, "rank": rank, "world_size": world_size, "seconds": round(seconds, 2),
            "films_per_second": round(rate, 1), "rows_in_table": rows, "table": str(args.out)}  # fmt: skip
