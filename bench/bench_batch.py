"""Folder-scale scoring throughput: ``predict DIR --out TABLE`` against a naive loop.

    .venv/bin/python bench/bench_batch.py [--films 200] [--runs 3] [--workers 2] [--engines onnx torch]

Copies ``--films`` corpus films into a temporary tree (two levels), then alternates, ``--runs`` times:
the naive loop (one film at a time: ``read_image`` then ``predict_image`` on torch, in process) and the
folder command for each engine as a whole process (``python -m xray_core predict DIR --recursive --out``,
``--workers`` decoding processes). Films per second count the whole process (start-up included) and, for the
command, also the scoring phase it reports. Goal: >= 40 films/s on 2 cores. Prints the load average;
writes ``bench/out/bench_batch.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import machine, machine_line

from xray_core.config import default_checkpoint, default_data_dir

OUT = Path(__file__).resolve().parent / "out" / "bench_batch.json"
GOAL = 40.0  # films per second on 2 cores


def _tree(root: Path, count: int) -> list[Path]:
    films = sorted((default_data_dir() / "images").glob("*.jpg"))[:count]
    if len(films) < count:
        raise SystemExit(f"only {len(films)} corpus films found under {default_data_dir()}")
    for index, film in enumerate(films):
        target = root / f"part{index % 2}" / f"sub{index % 5}" / film.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(film, target)
    return sorted(root.rglob("*.jpg"))


def _naive(files: list[Path], checkpoint: str) -> float:
    """Films per second of a plain loop, model loading excluded (the kindest baseline)."""
    from xray_core.inference.predict import predict_image
    from xray_core.io.reader import read_image
    from xray_core.models.checkpoint import load_checkpoint

    loaded = load_checkpoint(checkpoint)
    began = time.perf_counter()
    for file in files:
        predict_image(loaded, read_image(file))
    return len(files) / (time.perf_counter() - began)


def _command(root: Path, out: Path, checkpoint: str, engine: str, workers: int) -> tuple[float, float]:
    """(films/s over the whole process, films/s over the scoring phase) of one fresh folder run."""
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "xray_core", "predict", str(root), "--recursive", "--out", str(out)]
    command += ["--checkpoint", checkpoint, "--engine", engine, "--workers", str(workers), "--no-progress"]
    began = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - began
    summary = json.loads(done.stderr.strip().splitlines()[-1])
    films = summary["scored"] + summary["errors"]
    return films / wall, summary["films_per_second"]


def _network_ceiling(files: list[Path], checkpoint: str, batch: int = 64) -> dict[str, float]:
    """Per-film milliseconds of the two networks alone on ONNX Runtime, as ``predict --engine onnx`` runs them (the
    default precision: the lung segmenter in int8, the classifier fp32), each the median of 3 passes over ``batch``
    prepared inputs, and the films/s they allow with nothing else to do: the ceiling of folder scoring here."""
    from xray_core.inference.onnx.auto import load_or_export
    from xray_core.io.reader import read_image
    from xray_core.models.resize import to_array

    engine = load_or_export(checkpoint, export=False)
    films = [read_image(file) for file in files[:batch]]
    pixels = [film.pixels for film in films]
    if engine.segmenter is not None:
        grid_input = np.stack([to_array(p, engine.segmenter.preprocessing) for p in pixels])

    def per_film(step) -> float:
        times = []
        for _ in range(3):
            began = time.perf_counter()
            step()
            times.append((time.perf_counter() - began) / len(films) * 1000)
        return statistics.median(times)

    inputs = engine.inputs(films)
    segmenter = 0.0
    if engine.segmenter is not None:
        segmenter = per_film(lambda: engine.segmenter.session.run(None, {"input": grid_input}))
    classifier = per_film(lambda: engine.forward(inputs))
    return {"engine": engine.engine, "segmenter_ms": segmenter, "classifier_ms": classifier,
            "ceiling": 1000 / (segmenter + classifier)}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    parser.add_argument("--films", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--engines", nargs="+", default=["onnx", "torch"], choices=["onnx", "onnx-fp32", "onnx-int8", "torch"]
    )
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    print(f"{args.films} films, {args.workers} decoding workers\n{machine_line()}")
    rates: dict[str, list[float]] = {"naive loop (torch, in process)": []}
    with tempfile.TemporaryDirectory() as folder:
        files = _tree(Path(folder) / "films", args.films)
        for _ in range(args.runs):
            rates["naive loop (torch, in process)"].append(_naive(files, args.checkpoint))
            for engine in args.engines:
                whole, scoring = _command(Path(folder) / "films", Path(folder) / "out.parquet", args.checkpoint,
                                          engine, args.workers)  # fmt: skip
                rates.setdefault(f"predict DIR --engine {engine} (whole process)", []).append(whole)
                rates.setdefault(f"predict DIR --engine {engine} (scoring phase)", []).append(scoring)
        ceiling = _network_ceiling(files, args.checkpoint)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    base = medians["naive loop (torch, in process)"]
    print(f"\nfilms per second, median of {args.runs} alternating runs")
    for name, value in medians.items():
        print(f"  {name:<48}{value:>7.1f}   x{value / base:.2f} of naive")
    best = max(value for name, value in medians.items() if "whole process" in name)
    print(f"  goal: >= {GOAL:.0f} films/s -> best whole-process {best:.1f} {'MET' if best >= GOAL else 'NOT MET'}")
    if ceiling:
        print(
            f"  the networks alone ({ceiling['engine']}, batches of 64): segmenter {ceiling['segmenter_ms']:.1f} "
            f"ms/film + classifier {ceiling['classifier_ms']:.1f} ms/film -> at most {ceiling['ceiling']:.1f} films/s"
        )
    load_after = os.getloadavg()
    print(f"load average after: {load_after}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    report = {"films": args.films, "workers": args.workers, "rates": rates, "median": medians, "goal": GOAL,
              "networks_alone": ceiling, "machine": machine()}  # fmt: skip
    OUT.write_text(json.dumps({**report, "load_average": [load_before, load_after]}, indent=2))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
