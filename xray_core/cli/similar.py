"""``python -m xray_core similar FILE``: the training films nearest to FILE in the model's feature space.

``--build-index`` (re)builds the checkpoint's index explicitly; otherwise it is built on first use and reused
until the checkpoint or the training table changes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from xray_core.cli.common import load_or_report, read_bytes
from xray_core.config import default_checkpoint, default_data_dir


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "similar",
        help="nearest training films to an image (similar cases)",
        description="The k training films nearest to FILE in the model's penultimate feature space (cosine "
        "distance on L2-normalised features). Refused inputs get no similar cases.",
    )
    parser.add_argument("file", nargs="?", metavar="FILE", help="image to compare (PNG, JPEG, TIFF or DICOM)")
    parser.add_argument("--k", type=int, default=6, help="number of similar films (default: 6)")
    parser.add_argument("--json", action="store_true", help="print a JSON list of {file, label, source, distance}")
    parser.add_argument("--checkpoint", default=None, help=f"checkpoint file (default: {default_checkpoint()})")
    parser.add_argument("--data", default=None, help=f"dataset with a train split (default: {default_data_dir()})")
    parser.add_argument("--build-index", action="store_true", help="(re)build the checkpoint's index now")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from xray_core.inference.predict import predict_image
    from xray_core.inference.similar.search import SimilarCasesUnavailable, load_index, similar_cases, summary
    from xray_core.io.image import XrayInputError
    from xray_core.io.reader import read_image

    if args.file is None and not args.build_index:
        print("error: give FILE, or --build-index to (re)build the similar-case index", file=sys.stderr)
        return 2
    if args.k < 1:
        print(f"error: --k must be at least 1, got {args.k}", file=sys.stderr)
        return 2
    loaded = load_or_report(args.checkpoint)
    if loaded is None:
        return 2
    began = time.perf_counter()

    def building(n_films: int) -> None:
        print(f"building the similar-case index over {n_films} training films (once per checkpoint)…", file=sys.stderr)

    try:
        index = load_index(loaded, args.data, rebuild=args.build_index, progress=True, on_build=building)
    except SimilarCasesUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.file is None:
        print(f"similar-case index: {len(index)} films, {time.perf_counter() - began:.1f} s", file=sys.stderr)
        return 0
    try:
        image = read_image(read_bytes(args.file), name=args.file)
    except XrayInputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    prediction = predict_image(loaded, image)
    cases = [] if prediction.refused else similar_cases(loaded, image, index, args.k)
    if prediction.refused:
        codes = ", ".join(d.code for d in prediction.refusals())
        print(f"refused ({codes}): no similar cases for an input unlike the training films", file=sys.stderr)
    if args.json:
        print(json.dumps([case.to_dict() for case in cases], indent=2))
    else:
        for case in cases:
            print(f"{case.distance:.4f}\t{case.label}\t{case.age_group or '-'}\t{case.source}\t{case.file}")
        if cases:
            top = summary(cases)
            print(f"{top['count']} of {top['k']} similar films are labelled {top['label']}")
    return 1 if prediction.refused else 0
