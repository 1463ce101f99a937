"""``python -m xray_core stats DIR``: class, split, source and size statistics, duplicates, leakage, confounding."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "stats",
        help="dataset statistics, duplicates, leakage and confounding",
        description="Scan a dataset (folder layout, folder with manifest.csv, or manifest CSV): counts per class, "
        "split and source; image sizes and intensities; exact and near-duplicate images; patients "
        "and duplicates shared across splits; class/source confounding; likely non-radiographs. "
        "Results are cached, so a second run only re-reads changed files.",
    )
    parser.add_argument("data", metavar="DIR", help="dataset root or manifest CSV")
    parser.add_argument("--json", default=None, metavar="OUT", help="write the full summary as JSON here")
    parser.add_argument("--html", default=None, metavar="OUT", help="write an HTML report with plotly figures here")
    parser.add_argument(
        "--metadata-only",
        action="store_true",
        help="read headers only (fast): no intensities, duplicates or inversion checks",
    )
    parser.add_argument(
        "--max-distance",
        type=int,
        default=None,  # the library's DUPLICATE_DISTANCE; not imported here: scipy and pandas slow every command
        help="near-duplicate threshold in bits of the 256-bit hash (default: data.duplicates.DUPLICATE_DISTANCE)",
    )
    parser.add_argument("--workers", type=int, default=0, help="processes (default: 0 = all cores)")
    parser.add_argument("--no-cache", action="store_true", help="ignore and do not update the on-disk cache")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(run=run)
    return parser


def _progress_bar(quiet: bool) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    """A ``progress(done, total)`` callback drawing a tqdm bar on stderr, and a function closing it."""
    if quiet:
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=0, unit="img", desc="scanning", file=sys.stderr)

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    return update, bar.close


def _print_summary(summary: dict[str, Any]) -> None:
    print(f"{summary['n_images']:,} images")
    classes = summary["class_names"]
    print("split\t" + "\t".join(classes))
    for split, row in summary["split_class_counts"].items():
        print(f"{split or '(none)'}\t" + "\t".join(str(row[c]) for c in classes))
    properties = summary["image_properties"]
    print(f"unreadable: {properties['n_errors']}; formats: {properties['formats']}")
    duplicates, leaks = summary["duplicates"], summary["leakage"]
    print(
        f"duplicate groups: {duplicates['n_exact_groups']} exact, {duplicates['n_near_groups']} near "
        f"({duplicates['n_images_in_groups']} images)"
    )
    print(
        f"leakage: {leaks['n_patients_across_splits']} patients and {leaks['n_duplicate_groups_across_splits']} "
        f"duplicate groups span splits"
    )
    for by, section in summary["confounding"].items():
        v = section["cramers_v"]
        print(f"class vs {by}: Cramer's V = {'undefined' if v is None else f'{v:.2f}'}")
    print("outliers: " + ", ".join(f"{k} {n}" for k, n in summary["outliers"]["counts"].items()))
    for warning in summary["warnings"]:
        print(f"WARNING: {warning}")


def run(args: argparse.Namespace) -> int:
    from xray_core.data.dataset import DatasetError, load_dataset
    from xray_core.data.scan import scan_images
    from xray_core.data.stats import summarize

    try:
        table = load_dataset(args.data)
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    progress, close = _progress_bar(args.quiet)
    try:
        scan = scan_images(
            table,
            pixels=not args.metadata_only,
            workers=args.workers or None,
            progress=progress,
            cache=not args.no_cache,
        )
    finally:
        close()
    distance = {} if args.max_distance is None else {"max_distance": args.max_distance}
    summary = summarize(table, scan, **distance)
    _print_summary(summary)
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2, allow_nan=False), encoding="utf-8")
    if args.html:
        from xray_core.data.report import write_html

        write_html(summary, args.html, title=f"Dataset statistics: {args.data}")
    return 0
