"""PACS speed against a real local Orthanc (Debian's, started here on a free loopback port and stopped after).

    .venv/bin/python bench/bench_pacs.py [--studies 1000] [--films 9] [--checkpoint PATH]

1. **Listing.** ``--studies`` single-film studies (64 x 64 px, fake headers) are stored, then the worklist query the
   page and ``pacs score`` run (QIDO-RS studies with their fields + the one "scored by this model" series query)
   is timed ``--runs`` times. Goal: 1,000 studies listed in <= 1 s (median).
2. **Retrieve + score + push.** ``--films`` single-film studies from the external validation films (up to 1024 px,
   as ``make pacs`` loads them), each scored once with ``pacs.scoring.score_study``: WADO-RS retrieve, header check,
   prediction, heatmap, lungs, SR + secondary capture, STOW-RS, audit. The first study warms up (not counted).
   Goal: p50 <= 2 s on 2 cores.

Prints each figure beside its goal, the CPU, its instruction sets and the load average; writes
``bench/out/bench_pacs.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
from _common import machine, machine_line, save_result

from xray_core.config import default_checkpoint, default_data_dir
from xray_core.pacs import orthanc
from xray_core.pacs.client import connect, list_studies, store
from xray_core.pacs.demo import DemoFilm, demo_films, dicom_film, film_pixels

LIST_GOAL_S, SCORE_GOAL_S = 1.0, 2.0


def _fill(pacs, count: int) -> None:
    rng = np.random.default_rng(0)
    batch = []
    for number in range(1, count + 1):
        batch.append(dicom_film(rng.integers(0, 255, (64, 64), dtype=np.uint8), DemoFilm(number=10_000 + number)))
        if len(batch) == 50 or number == count:
            store(pacs, batch)
            batch = []


def _listing(pacs, sha: str, runs: int, count: int) -> dict:
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        rows = list_studies(pacs, model_sha256=sha)
        seconds.append(time.perf_counter() - began)
    assert len(rows) >= count, f"listed {len(rows)} of {count} studies"
    return {"studies": len(rows), "median_s": round(statistics.median(seconds), 3), "max_s": round(max(seconds), 3),
            "goal_s": LIST_GOAL_S}  # fmt: skip


def _scoring(pacs, loaded, films: int) -> dict:
    from xray_core.explain.methods import DEFAULT_METHOD
    from xray_core.pacs.scoring import score_study

    datasets = [dicom_film(film_pixels(path, 1024), film) for path, film in demo_films(default_data_dir(), films + 1)]
    store(pacs, datasets)
    seconds, statuses = [], []
    for index, ds in enumerate(datasets):
        began = time.perf_counter()
        outcome = score_study(pacs, loaded, ds.StudyInstanceUID, DEFAULT_METHOD)
        if index:  # the first warms up (imports, the lung segmenter, Grad-CAM hooks)
            seconds.append(time.perf_counter() - began)
            statuses.append(outcome.status)
    return {"films": len(seconds), "p50_s": round(statistics.median(seconds), 3), "max_s": round(max(seconds), 3),
            "statuses": statuses, "goal_s": SCORE_GOAL_S}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--films", type=int, default=9)
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    args = parser.parse_args()
    from xray_core.models.checkpoint import load_checkpoint

    os.environ.pop("XRAY_AUDIT_LOG", None)  # the bench's films are not clinical: no audit lines
    loaded = load_checkpoint(args.checkpoint)
    before = machine()
    print(machine_line())
    with orthanc.running() as server:
        pacs = connect(server.dicomweb)
        _fill(pacs, args.studies)
        listing = _listing(pacs, loaded.sha256, args.runs, args.studies)
        print(f"list {listing['studies']} studies: median {listing['median_s']} s (goal <= {LIST_GOAL_S} s)")
        scoring = _scoring(pacs, loaded, args.films)
        print(f"retrieve + score + push one film: p50 {scoring['p50_s']} s (goal <= {SCORE_GOAL_S} s)")
    result = {"listing": listing, "score_one_study": scoring, "model": loaded.identity()["version"],
              "machine": before, "load_average_before": before["load_average"],
              "load_average_after": machine()["load_average"],
              "met": listing["median_s"] <= LIST_GOAL_S and scoring["p50_s"] <= SCORE_GOAL_S}  # fmt: skip
    save_result(result, "bench_pacs.json", "machine")
    print(machine_line())
    return 0 if result["met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
