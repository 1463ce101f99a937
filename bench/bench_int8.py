"""int8 against fp32: accuracy parity on the test split and both external sets, and the networks' speed.

    .venv/bin/python bench/bench_int8.py [--checkpoint PATH] [--out weights/int8_parity.json]

Both exports must exist (``python -m xray_core export-onnx`` and ``export-onnx --int8``; this script makes them
when missing). Every film of the test split, ``external`` (pediatric) and ``external_adult`` is scored by the fp32
and the int8 ONNX engines (same preprocessing, calibration and decisions; only the two networks differ), and per
set it reports what ``evaluate`` reports and the goals ask: macro and per-class one-vs-rest AUC and the clinical
AUCs (|difference| <= 0.003), ECE (|difference| <= 0.005), the share of films with the same top class (>= 99 %)
and with the same refusal / uncertain decision (>= 99 %); and the external lung Dice of the two segmenters
against the reference masks (|difference| <= 0.005). int8 may become the default only where every goal holds.
Also the networks' milliseconds per film (batches of 64) at both precisions, with the CPU's instruction sets.
Writes ``--out`` (committed: paths relative to the data folder) and ``bench/out/bench_int8.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import ROOT, machine, machine_line

from xray_core.config import CLASS_NAMES, LABELS, default_checkpoint, default_data_dir
from xray_core.inference.onnx.quantize import PRECISIONS

GOALS = {"auc": 0.003, "ece": 0.005, "same_top_class": 0.99, "same_decision": 0.99, "lung_dice": 0.005}
OUT = ROOT / "bench" / "out" / "bench_int8.json"


def _engines(checkpoint: str) -> dict:
    from xray_core.inference.onnx.engine import load_onnx
    from xray_core.inference.onnx.records import OnnxUnavailable

    try:
        return {precision: load_onnx(checkpoint, precision=precision) for precision in PRECISIONS}
    except OnnxUnavailable as why:
        print(f"making the exports first: {why}")
        subprocess.run([sys.executable, "-m", "xray_core", "export-onnx", "--int8", "--checkpoint", checkpoint],
                       check=True, stdout=subprocess.DEVNULL)  # fmt: skip
        return {precision: load_onnx(checkpoint, precision=precision) for precision in PRECISIONS}


def _sets(data: Path) -> dict:
    from xray_core.data.dataset import external_tables, load_dataset

    table = load_dataset(data)
    return {"test": table[table["split"] == "test"], **external_tables(data)}


def _aucs(summary: dict) -> dict[str, float | None]:
    aucs = {"macro": summary["macro_auc"], **{f"{k}_vs_rest": v["auc"] for k, v in summary["per_class"].items()}}
    aucs.update({k: v for k, v in summary["clinical"].items() if k.endswith("_auc")})
    return aucs


def score_set(table, engines: dict) -> tuple[np.ndarray, dict]:
    """(label indexes, predictions per precision) of every film of ``table``."""
    from xray_core.inference.onnx.auto import read_films

    films = read_films([Path(p) for p in table["path"]])
    y_true = np.array([LABELS.index(label) for label in table["label"]])
    return y_true, {name: engine.predict_batch(films, 64) for name, engine in engines.items()}


def compare(y_true: np.ndarray, reference: list, candidate: list) -> dict:
    """The parity figures of ``candidate``'s predictions against ``reference``'s (fp32) on one set."""
    from xray_core.evaluation.metrics import summary

    predictions = {"fp32": reference, "candidate": candidate}
    probabilities = {
        k: np.array([[p.probabilities[c] for c in CLASS_NAMES] for p in v]) for k, v in predictions.items()
    }
    summaries = {k: summary(y_true, v, CLASS_NAMES) for k, v in probabilities.items()}
    aucs = {k: _aucs(v) for k, v in summaries.items()}
    auc_shift = {name: None if aucs["fp32"][name] is None else abs(aucs["fp32"][name] - aucs["candidate"][name])
                 for name in aucs["fp32"]}  # fmt: skip
    ece = {k: (v["calibration"] or {}).get("ece") for k, v in summaries.items()}
    decisions = [(a.refused, a.uncertain) == (b.refused, b.uncertain) for a, b in zip(reference, candidate)]
    same_top = float(np.mean(probabilities["fp32"].argmax(1) == probabilities["candidate"].argmax(1)))
    result = {
        "n": len(reference),
        "auc": aucs,
        "largest_auc_difference": max(v for v in auc_shift.values() if v is not None),
        "ece": ece,
        "ece_difference": abs(ece["fp32"] - ece["candidate"]),
        "same_top_class": same_top,
        "same_decision": float(np.mean(decisions)),
        "largest_probability_difference": float(np.abs(probabilities["fp32"] - probabilities["candidate"]).max()),
    }
    result["holds"] = (
        result["largest_auc_difference"] <= GOALS["auc"]
        and result["ece_difference"] <= GOALS["ece"]
        and same_top >= GOALS["same_top_class"]
        and result["same_decision"] >= GOALS["same_decision"]
    )
    return result


def lung_dice(data: Path, fp32, int8) -> dict:
    from xray_core.inference.lungs.segment import dice, mask_pairs, read_mask
    from xray_core.io.reader import read_image

    pairs = mask_pairs(data, "external")
    films = [read_image(path).pixels for path in pairs["path"]]
    truth = [read_mask(path) for path in pairs["mask"]]
    means = {}
    for name, engine in (("fp32", fp32), ("int8", int8)):
        masks = [
            mask for start in range(0, len(films), 64) for mask in engine.segmenter.masks(films[start : start + 64])
        ]
        means[name] = float(np.mean([d for d in map(dice, masks, truth) if d is not None]))
    difference = abs(means["fp32"] - means["int8"])
    return {"n": len(films), "dice": means, "difference": difference, "holds": difference <= GOALS["lung_dice"]}


def network_speed(fp32, int8, films) -> dict:
    from xray_core.models.resize import to_array

    result = {}
    for name, engine in (("fp32", fp32), ("int8", int8)):
        seg_input = np.stack([to_array(f.pixels, engine.segmenter.preprocessing) for f in films])
        cls_input = engine.inputs(films)
        for network, run in (
            ("segmenter_ms", lambda e=engine, x=seg_input: e.segmenter.session.run(None, {"input": x})),
            ("classifier_ms", lambda e=engine, x=cls_input: e.forward(x)),
        ):
            run()
            times = []
            for _ in range(3):
                began = time.perf_counter()
                run()
                times.append((time.perf_counter() - began) * 1000 / len(films))
            result.setdefault(name, {})[network] = statistics.median(times)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    parser.add_argument("--out", default=str(ROOT / "weights" / "int8_parity.json"))
    args = parser.parse_args(argv)
    print(machine_line())
    before = machine()
    data = default_data_dir()
    engines = _engines(args.checkpoint)
    fp32, int8 = engines["fp32"], engines["int8"]
    candidates = [name for name in engines if name != "fp32"]
    scored = {name: score_set(table, engines) for name, table in _sets(data).items()}
    parity = {c: {name: compare(y, by["fp32"], by[c]) for name, (y, by) in scored.items()} for c in candidates}
    lungs = lung_dice(data, fp32, int8)
    from xray_core.inference.onnx.auto import read_films

    speed = network_speed(fp32, int8, read_films([Path(p) for p in _sets(data)["test"]["path"][:64]]))
    verdicts = {}
    for candidate, sets in parity.items():
        print(f"\n{candidate} against fp32")
        print("set              n     largest |dAUC|  ECE fp32 / int8   same top class  same decision  holds")
        for name, row in sets.items():
            print(f"{name:<15}{row['n']:>5}     {row['largest_auc_difference']:.4f}        "
                  f"{row['ece']['fp32']:.4f} / {row['ece']['candidate']:.4f}   {100 * row['same_top_class']:6.2f} %"
                  f"       {100 * row['same_decision']:6.2f} %      {'yes' if row['holds'] else 'NO'}")  # fmt: skip
        verdicts[candidate] = all(row["holds"] for row in sets.values()) and lungs["holds"]
    print(f"\nexternal lung Dice fp32 {lungs['dice']['fp32']:.4f}, int8 {lungs['dice']['int8']:.4f} "
          f"(|d| {lungs['difference']:.4f}) {'yes' if lungs['holds'] else 'NO'}")  # fmt: skip
    for name, values in speed.items():
        print(
            f"{name}: segmenter {values['segmenter_ms']:.2f} ms/film, classifier {values['classifier_ms']:.2f} ms/film"
        )
    print(f"goals {GOALS}: " + ", ".join(f"{c} {'holds' if ok else 'does NOT hold'}" for c, ok in verdicts.items()))
    after = machine()
    print(f"load average before {before['load_average']}, after {after['load_average']}")
    checkpoint = Path(args.checkpoint)
    report = {
        "command": "python bench/bench_int8.py",
        "checkpoint": checkpoint.name,
        "checkpoint_file_sha256": fp32.onnx_path.rsplit("-", 1)[-1].split(".")[0],
        "goals": GOALS,
        "sets": parity,
        "external_lung_dice": lungs,
        "parity_holds": verdicts,
        "networks_ms_per_film": speed,
        "machine": {k: before[k] for k in ("cpu", "cores", "flags")},
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({**report, "load_average": [before["load_average"], after["load_average"]]}, indent=2))
    print(f"wrote {args.out} and {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
