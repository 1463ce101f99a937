"""Benchmark ``xray_core.data.scan.scan_images`` against a naive single-threaded Pillow loop, in the same run.

    python bench/bench_stats.py [--data ../shared/cxr] [--synthetic 10000] [--naive-sample 1500]

For the real corpus and a generated set of synthetic JPEGs (kept in ``$TMPDIR/xray_bench_synthetic_N``), it
times: a metadata-only scan, a full pixel-statistics scan with an empty stats cache ("cold"), re-opening
with the cache filled ("warm": stat() every file, read the cache), and ``summarize``. The naive loop
(Image.open -> full decode -> numpy statistics, one process) runs on a random sample and its rate is the
ratio's denominator. Every file is read once beforehand, so both sides see a warm OS page cache: "cold"
means an empty statistics cache, not an empty disk cache. "cpu s" adds up every process's CPU time: when
other jobs share the cores, wall time stretches but CPU time does not. Goals: >= 300 images/s cold pixel scan,
>= 1,500 images/s metadata-only, warm re-open <= 1 s. Timings share the machine with whatever else runs.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from PIL import Image

from xray_core.config import default_data_dir
from xray_core.data import stats
from xray_core.data.scan import scan_images

GOALS = {"metadata": 1500.0, "pixels cold": 300.0}
WARM_GOAL_SECONDS = 1.0


def naive_pixels(path: str) -> tuple:
    """What a first script would do: full decode, float statistics, dHash from a Pillow resize."""
    image = Image.open(path).convert("L")
    values = np.asarray(image, np.float32) / 255.0
    small = np.asarray(image.resize((9, 8)), np.int16)
    return (
        image.size,
        values.mean(),
        values.std(),
        np.percentile(values, (1, 50, 99)),
        np.histogram(values, 32, (0, 1))[0],
        (small[:, 1:] > small[:, :-1]).ravel(),
    )


def naive_metadata(path: str) -> tuple:
    with Image.open(path) as image:
        return image.size, image.mode, image.format


def _rate(function: Callable[[str], object], paths: list[str]) -> float:
    start = time.perf_counter()
    for path in paths:
        function(path)
    return len(paths) / (time.perf_counter() - start)


def _synthetic_film(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    y, x = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    body = ((x - 0.5) / 0.45) ** 2 + ((y - 0.55) / 0.5) ** 2 < 1
    lungs = (((np.abs(x - 0.5) - 0.2) / 0.13) ** 2 + ((y - 0.45) / 0.25) ** 2) < 1  # two ellipses at x = 0.3, 0.7
    texture = cv2.resize(rng.random((8, 8)).astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0, 0.03, (height, width))
    film = 0.05 + 0.6 * body - 0.3 * lungs + 0.25 * (np.abs(x - 0.5) < 0.05) * body + 0.5 * (texture - 0.5) + grain
    return (np.clip(film, 0, 1) * 255).astype(np.uint8)


def synthetic_set(count: int) -> pd.DataFrame:
    """``count`` grayscale JPEGs like the corpus (224 x 224 squashed copies and 384-px originals), with 1 %
    exact copies, 1 % re-encoded copies in another split, and a few inverted, blank and colour images."""
    folder = Path(tempfile.gettempdir()) / f"xray_bench_synthetic_{count}"
    table_file = folder / "table.csv"
    if table_file.is_file():
        return pd.read_csv(table_file, dtype=str).fillna("")
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    rows = []
    for index in range(count):
        kind = index % 100
        path = folder / f"{index:05d}.jpg"
        if kind == 1:  # exact copy of the previous file (same split)
            path.write_bytes(Path(rows[-1][0]).read_bytes())
        elif kind == 5:  # shrunk, re-encoded copy of the file 5 places back (another split)
            copy = Image.open(rows[-5][0])
            copy.resize((copy.width * 3 // 4, copy.height * 3 // 4)).save(path, quality=50)
        else:
            film = _synthetic_film(rng, *((224, 224) if index % 3 else (384, int(rng.integers(280, 384)))))
            if kind == 2:
                film = 255 - film
            elif kind == 3:
                film = np.full_like(film, 120)
            elif kind == 4:
                film = np.stack([film, film // 2, 255 - film], axis=2)
            Image.fromarray(film).save(path, quality=80)
        rows.append(
            (
                str(path),
                ("normal", "bacterial", "viral", "covid")[index % 4],
                ("train", "val", "test")[(index // 2) % 3],
                f"s:{index // 3}",
                f"source{index % 5}",
            )
        )
    table = pd.DataFrame(rows, columns=["path", "label", "split", "patient_id", "source"])
    table.to_csv(table_file, index=False)
    return table


def _cpu_seconds() -> float:
    """CPU time of this process plus its finished children (the pool workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _time(function: Callable[[], object]) -> tuple[float, float, object]:
    """Wall seconds, CPU seconds (all processes) and the result of ``function()``."""
    start, cpu = time.perf_counter(), _cpu_seconds()
    result = function()
    return time.perf_counter() - start, _cpu_seconds() - cpu, result


def bench(name: str, table: pd.DataFrame, naive_sample: int, workers: int | None) -> list[dict]:
    """Rows of the result table for one dataset; uses a fresh, temporary stats cache."""
    paths = table["path"].tolist()
    for path in paths:  # warm the OS page cache for both sides alike
        Path(path).read_bytes()
    sample = pd.Series(paths).sample(min(naive_sample, len(paths)), random_state=0).tolist()
    naive = {"metadata": _rate(naive_metadata, sample), "pixels cold": _rate(naive_pixels, sample)}
    with tempfile.TemporaryDirectory() as cache:
        os.environ["XRAY_CACHE_DIR"] = cache
        timed = {
            "metadata": _time(lambda: scan_images(table, pixels=False, workers=workers, cache=False)),
            "pixels cold": _time(lambda: scan_images(table, workers=workers)),
        }
        timed["warm re-open"] = _time(lambda: scan_images(table, workers=workers))
        timed["summarize"] = _time(lambda: stats.summarize(table, timed["pixels cold"][2]))
    n, summary = len(paths), timed["summarize"][2]
    rows = [
        {"task": task, "seconds": seconds, "cpu": cpu, "rate": n / seconds, "naive": naive.get(task)}
        for task, (seconds, cpu, _) in timed.items()
    ]
    found = (
        f"errors {summary['image_properties']['n_errors']}, duplicate groups "
        f"{summary['duplicates']['n_exact_groups']} exact / {summary['duplicates']['n_near_groups']} near, "
        f"cross-split {summary['leakage']['n_duplicate_groups_across_splits']}, outliers "
        f"{summary['outliers']['counts']}"
    )
    print(f"[{name}] {found}", flush=True)
    return [{"dataset": name, "images": n, **row} for row in rows]


def _verdict(row: dict) -> str:
    if row["task"] == "warm re-open":
        return f"<= {WARM_GOAL_SECONDS:g} s: {'yes' if row['seconds'] <= WARM_GOAL_SECONDS else 'NO'}"
    goal = GOALS.get(row["task"])
    return "" if goal is None else f">= {goal:,.0f}/s: {'yes' if row['rate'] >= goal else 'NO'}"


def print_table(rows: list[dict]) -> None:
    print(
        f"\n{'dataset':<11}{'task':<14}{'images':>8}{'wall s':>8}{'cpu s':>7}{'images/s':>10}{'naive/s':>9}"
        f"{'ratio':>8}  goal"
    )
    for row in rows:
        naive = row["naive"]
        ratio = f"{row['rate'] / naive:6.1f}x" if naive else ""
        print(
            f"{row['dataset']:<11}{row['task']:<14}{row['images']:>8,}{row['seconds']:>8.2f}{row['cpu']:>7.2f}"
            f"{row['rate']:>10,.0f}{'' if naive is None else f'{naive:,.0f}':>9}{ratio:>8}  {_verdict(row)}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default=str(default_data_dir()), help="real corpus ('' to skip)")
    parser.add_argument("--synthetic", type=int, default=10_000, help="generated images (0 to skip)")
    parser.add_argument("--naive-sample", type=int, default=1500, help="images timed in the naive loop")
    parser.add_argument("--workers", type=int, default=0, help="processes (0 = all cores)")
    args = parser.parse_args(argv)
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}", flush=True)
    rows = []
    if args.data:
        from xray_core.data.dataset import load_dataset

        rows += bench("cxr", load_dataset(args.data), args.naive_sample, args.workers or None)
    if args.synthetic:
        rows += bench("synthetic", synthetic_set(args.synthetic), args.naive_sample, args.workers or None)
    print_table(rows)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
