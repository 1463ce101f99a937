"""Similar-case latency over the whole train split (goal: one query <= 50 ms on 2 cores).

    .venv/bin/python bench/bench_similar.py [--checkpoint PATH] [--data DIR] [--runs 200] [--threads 2] [--k 6]

Loads (or builds, once per checkpoint, timed) the index of the shipped checkpoint over the corpus' train split,
then prints p50/p95 of (a) the query alone (one matrix-vector product and a partial sort over every training
film) and (b) a whole request: the film's features (one forward pass) plus the query. Query films are test
films of the corpus, so the query vectors are real features. The load average is printed: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

from xray_core.config import default_checkpoint, default_data_dir
from xray_core.data.dataset import load_dataset
from xray_core.inference.similar.search import image_feature, load_index, query
from xray_core.inference.similar.store import index_path
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import load_checkpoint

GOAL_MS = 50.0


def _percentiles(times: list[float]) -> str:
    values = np.array(times) * 1000
    return f"p50 {np.percentile(values, 50):7.2f} ms   p95 {np.percentile(values, 95):7.2f} ms   (n={len(values)})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--data", default=None)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--k", type=int, default=6)
    parser.add_argument("--films", type=int, default=20, help="distinct test films whose features are queried")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    loaded = load_checkpoint(args.checkpoint or default_checkpoint())
    data = Path(args.data or default_data_dir())
    cached = index_path(loaded).is_file()
    began = time.perf_counter()
    index = load_index(loaded, data, progress=True)
    took = time.perf_counter() - began
    print(f"checkpoint {loaded.sha256[:12]} · index {len(index)} train films x {index.features.shape[1]} features")
    print(f"index {'loaded (or rebuilt if stale)' if cached else 'built'} in {took:.1f} s  ({index_path(loaded)})")
    table = load_dataset(data)
    test = table[table["split"] == "test"].head(args.films)
    images = [read_image(path) for path in test["path"]]
    features = [image_feature(loaded, image) for image in images]
    query_times, request_times = [], []
    for run in range(args.runs):
        start = time.perf_counter()
        query(index, features[run % len(features)], args.k)
        query_times.append(time.perf_counter() - start)
    for run in range(max(10, args.runs // 5)):
        start = time.perf_counter()
        query(index, image_feature(loaded, images[run % len(images)]), args.k)
        request_times.append(time.perf_counter() - start)
    p50 = float(np.percentile(np.array(query_times) * 1000, 50))
    print(f"query only (k={args.k}, {len(index)} films):       {_percentiles(query_times)}")
    print(f"features + query (one forward pass):     {_percentiles(request_times)}")
    print(f"goal: query <= {GOAL_MS:.0f} ms -> {'met' if p50 <= GOAL_MS else 'NOT met'} · threads {args.threads}")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    return 0 if p50 <= GOAL_MS else 1


if __name__ == "__main__":
    sys.exit(main())
