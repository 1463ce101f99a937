"""``python -m xray_core pacs score --url URL [--since DATE] [--study UID]``: score a PACS worklist and send the
results back (DICOM SR + heatmap secondary capture, STOW-RS); ``pacs serve [--demo]``: a local Orthanc.

Scoring is idempotent per model version (a study holding our report for this model's SHA-256 is skipped), writes
one audit line per film (``$XRAY_AUDIT_LOG``; UIDs and hashes, no names) and never stops on one bad study: its
error is a row of the summary (printed as JSON on stdout). Exit code 1 when any study failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from xray_core.cli.common import load_or_report
from xray_core.config import default_checkpoint, default_data_dir

DEMO_STUDIES = 24


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "pacs",
        help="score studies from a DICOMweb PACS and send the results back",
        description="DICOMweb worklist in, DICOM Structured Report and heatmap capture out. Decision support, "
        "not a diagnosis.",
    )
    commands = parser.add_subparsers(dest="pacs_command", required=True, metavar="ACTION")
    score = commands.add_parser("score", help="score the frontal CR/DX films of a worklist and store the results")
    score.add_argument("--url", required=True, help="DICOMweb root, e.g. http://127.0.0.1:8042/dicom-web")
    score.add_argument("--since", type=date.fromisoformat, default=None, help="studies on or after DATE (YYYY-MM-DD)")
    score.add_argument("--study", default=None, metavar="UID", help="only this Study Instance UID")
    score.add_argument("--checkpoint", default=None, help=f"checkpoint file (default: {default_checkpoint()})")
    score.add_argument("--method", default=None, help="heatmap method (default: explain's measured default)")
    score.add_argument("--force", action="store_true", help="score again studies that hold this model's report")
    score.add_argument("--no-progress", action="store_true", help="no progress bar")
    score.set_defaults(run=_score)
    serve = commands.add_parser("serve", help="run a private Orthanc on 127.0.0.1 in the foreground (Ctrl-C stops)")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    serve.add_argument("--demo", action="store_true", help="load the demo worklist (fake headers, external films)")
    serve.add_argument("--studies", type=int, default=DEMO_STUDIES, help="demo studies (default: %(default)s)")
    serve.add_argument("--data-dir", default=None, help=f"films for the demo (default: {default_data_dir()})")
    serve.set_defaults(run=_serve)


def _score(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from xray_core.explain.methods import DEFAULT_METHOD
    from xray_core.pacs.client import connect, list_studies
    from xray_core.pacs.scoring import StudyOutcome, score_study

    loaded = load_or_report(args.checkpoint)
    if loaded is None:
        return 2
    client = connect(args.url)
    try:
        studies = list_studies(client, since=args.since, study_uid=args.study, model_sha256=loaded.sha256)
    except Exception as error:  # the server itself: nothing to score, say why
        print(f"error: cannot list studies at {args.url}: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    outcomes: list[StudyOutcome] = []
    for study in tqdm(studies, unit="study", desc="scoring", disable=args.no_progress, file=sys.stderr):
        if study.scored and not args.force:
            outcomes.append(StudyOutcome(study.study_uid, "skipped"))
            continue
        outcomes.append(score_study(client, loaded, study.study_uid, args.method or DEFAULT_METHOD, force=args.force))
    summary = _summary(outcomes, loaded.identity())
    print(json.dumps(summary, indent=2))
    return 1 if summary["counts"].get("error") else 0


def _summary(outcomes: list[Any], model: dict[str, Any]) -> dict[str, Any]:
    """Counts per status and one row per study (its films' outcomes; UIDs only, no names)."""
    rows = []
    for outcome in outcomes:
        films = [
            {k: v for k, v in vars(film).items() if v not in ("", None, {})} for film in outcome.films
        ]  # fmt: skip
        rows.append({"study_uid": outcome.study_uid, "status": outcome.status, "error": outcome.error, "films": films})
    counts = Counter(outcome.status for outcome in outcomes)
    return {"model_version": model.get("version"), "model_sha256": model.get("sha256"), "counts": dict(counts),
            "studies": rows}  # fmt: skip


def _serve(args: argparse.Namespace) -> int:
    import time

    from xray_core.pacs import orthanc
    from xray_core.pacs.demo import load_demo

    try:
        server = orthanc.start(args.port)
    except orthanc.OrthancUnavailable as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        if args.demo:
            count = load_demo(server.dicomweb, Path(args.data_dir or default_data_dir()), args.studies)
            print(f"loaded {count} demo instances (fake headers DEMO^0001...)", file=sys.stderr)
        print(f"Orthanc on {server.url} (loopback only); DICOMweb: {server.dicomweb}", file=sys.stderr)
        print(f"export XRAY_DICOMWEB_URL={server.dicomweb}", flush=True)
        while server.process.poll() is None:
            time.sleep(0.5)
        return server.process.returncode or 0
    except KeyboardInterrupt:
        return 0
    finally:
        orthanc.stop(server)
