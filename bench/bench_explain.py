"""Latency of the dashboard's heatmap (the default CAM method) against a plain prediction, one image at a time.

    .venv/bin/python bench/bench_explain.py [--checkpoint PATH] [--runs 40] [--threads 2] [--image FILE]

Prints p50/p95 of ``predict_image`` and ``explain(..., method)`` and the p50 ratio (target: <= 2); ``--method``
defaults to ``explain.methods.DEFAULT_METHOD``, the map Diagnose and Batch show first.
Calls alternate so background load hits both alike. Without a checkpoint, an untrained ResNet-18 is built
at ``--image-size`` (default 128 px); without an image, the first test film of the corpus or a synthetic one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from xray_core.config import Preprocessing, default_checkpoint, default_data_dir
from xray_core.explain.cam import explain
from xray_core.explain.methods import DEFAULT_METHOD
from xray_core.inference.predict import predict_image
from xray_core.io.image import XrayImage
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import LoadedModel, load_checkpoint, save_checkpoint
from xray_core.models.networks import build_model


def _model(path: str | None, image_size: int) -> tuple[LoadedModel, str]:
    if path or default_checkpoint().is_file():
        loaded = load_checkpoint(path or default_checkpoint())
        return loaded, str(path or default_checkpoint())
    prep = Preprocessing(image_size=image_size)
    target = Path(tempfile.mkdtemp()) / "untrained.pt"
    save_checkpoint(target, build_model("resnet18"), {"arch": "resnet18", "preprocessing": prep.to_dict()})
    return load_checkpoint(target), f"untrained resnet18 (no {default_checkpoint()})"


def _image(path: str | None) -> XrayImage:
    if path:
        return read_image(path)
    manifest = default_data_dir() / "manifest.csv"
    if manifest.is_file():
        import pandas as pd

        table = pd.read_csv(manifest)
        row = table[table["split"] == "test"].iloc[0]
        return read_image(default_data_dir() / row["file"])
    return XrayImage(np.random.default_rng(0).random((1024, 1024), dtype=np.float32), {"name": "synthetic"})


def _time_ms(call) -> float:
    began = time.perf_counter()
    call()
    return (time.perf_counter() - began) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--image", default=None)
    parser.add_argument("--image-size", type=int, default=128, help="input side of the untrained fallback model")
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default: 2)")
    parser.add_argument("--method", default=DEFAULT_METHOD, help=f"CAM method (default: {DEFAULT_METHOD})")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    loaded, source = _model(args.checkpoint, args.image_size)
    image = _image(args.image)
    first_explain = _time_ms(lambda: explain(loaded, image, args.method))  # includes copying the model once
    for _ in range(3):
        predict_image(loaded, image), explain(loaded, image, args.method)
    predict_ms, explain_ms = [], []
    for _ in range(args.runs):
        predict_ms.append(_time_ms(lambda: predict_image(loaded, image)))
        explain_ms.append(_time_ms(lambda: explain(loaded, image, args.method)))
    side = loaded.preprocessing.image_size
    print(
        f"model: {loaded.arch} at {side} px ({source}); image {image.width}x{image.height}; "
        f"torch threads {args.threads}; {args.runs} runs"
    )
    print(f"{'step':<22}{'p50 ms':>10}{'p95 ms':>10}")
    for name, values in (("predict_image", predict_ms), (f"explain {args.method}", explain_ms)):
        print(f"{name:<22}{np.percentile(values, 50):>10.1f}{np.percentile(values, 95):>10.1f}")
    ratio = np.percentile(explain_ms, 50) / np.percentile(predict_ms, 50)
    print(f"{'ratio (p50)':<22}{ratio:>10.2f}{'(target <= 2)':>16}")
    print(f"{'first explain':<22}{first_explain:>10.1f}  (one-off model copy for the replica pool)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
