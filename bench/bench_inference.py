"""Inference speed: whole-process CLI predict and single-image latency, engine by engine.

    .venv/bin/python bench/bench_inference.py [--checkpoint PATH] [--image FILE] [--runs 9] [--latency-runs 60]

1. **Whole process, from a fresh cache.** In an empty ``XRAY_CACHE_DIR`` (a fresh clone's state): the first
   ``python -m xray_core predict --json FILE`` (engine auto: it exports and verifies the ONNX engine itself), the
   second (it finds the export), then ``--runs`` alternating runs of the CLI (auto, and ``--engine torch``) and a
   naive torchvision script that loads the same weights and prints the probabilities, so background load hits all
   alike. Goal: the CLI after its first run <= 0.3 x naive (medians; the literal second run is printed too).
2. **Single image, in process.** p50 of the naive eager torchvision baseline (``to_tensor`` + eager forward +
   softmax) against the project's engines doing the full prediction (preprocessing, forward, OOD score,
   decisions): torch ``predict_image`` and the ONNX engine. Goal: ONNX p50 >= 2 x faster than naive, with
   probabilities within 1e-5 of the naive ones.

A lung-cropped checkpoint (``crop="lungs"``) is benched the same way: both naive baselines crop the film to the box
of the project's torch lung segmenter (``crop.crop_box`` / ``crop.model_input``) before resizing; the ONNX engine
uses the segmenter's ONNX export, which the export writes beside the classifier's.

Prints the CPU, its instruction sets and the load average beside the figures; writes
``bench/out/bench_inference.json``.
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

OUT = Path(__file__).resolve().parent / "out" / "bench_inference.json"
CLI_GOAL, LATENCY_GOAL, TOLERANCE = 0.3, 2.0, 1e-5

NAIVE_SCRIPT = """
import json, sys
import torch, torchvision
from PIL import Image
payload = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
meta = payload["meta"]
prep = meta["preprocessing"]
model = torchvision.models.resnet18(num_classes=len(meta["class_names"]))
model.conv1 = torch.nn.Conv2d(prep["in_channels"], 64, 7, 2, 3, bias=False)
model.load_state_dict(payload["state_dict"])
model.eval()
image = Image.open(sys.argv[2])
if prep.get("crop", "none") != "none":  # lung-cropped checkpoint: the box of the project's torch segmenter
    from xray_core.config import Preprocessing
    from xray_core.inference.lungs.crop import crop_box
    from xray_core.io.reader import read_image
    top, bottom, left, right = crop_box(Preprocessing.from_dict(prep), read_image(sys.argv[2]))
    image = image.crop((left, top, right, bottom))
transform = torchvision.transforms.Compose([
    torchvision.transforms.Grayscale(),
    torchvision.transforms.Resize((prep["image_size"], prep["image_size"])),
    torchvision.transforms.ToTensor(),
    torchvision.transforms.Normalize([prep["mean"]], [prep["std"]]),
])
with torch.no_grad():
    logits = model(transform(image)[None])
probabilities = torch.softmax(logits / meta["temperature"], dim=1)[0]
print(json.dumps(dict(zip(meta["class_names"], probabilities.tolist()))))
"""


def _film(path: str | None) -> Path:
    if path:
        return Path(path)
    images = sorted((default_data_dir() / "images").glob("*.jpg"))
    if not images:
        raise SystemExit("no corpus films found; pass --image FILE")
    return images[0]


def _wall(command: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def whole_process(checkpoint: str, film: Path, runs: int) -> dict:
    """In the (fresh) cache of ``os.environ``: the CLI's first and second runs, then alternating runs."""
    with tempfile.TemporaryDirectory() as folder:
        naive = Path(folder) / "naive_predict.py"
        naive.write_text(NAIVE_SCRIPT)
        cli = [sys.executable, "-m", "xray_core", "predict", "--json", "--checkpoint", checkpoint, str(film)]
        commands = {
            "naive torchvision script": [sys.executable, str(naive), checkpoint, str(film)],
            "cli predict (engine auto)": cli,
            "cli predict --engine torch": [*cli, "--engine", "torch"],
        }
        for name in ("naive torchvision script", "cli predict --engine torch"):  # warm the page cache once
            _wall(commands[name])
        first, second = _wall(cli), _wall(cli)  # the first exports and verifies; the second finds the export
        seconds: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                seconds[name].append(_wall(command))
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    base = medians["naive torchvision script"]
    return {
        "first_run_s": first,
        "second_run_s": second,
        "second_run_ratio_to_naive": second / base,
        "seconds": seconds,
        "median_s": medians,
        "ratio_to_naive": {n: m / base for n, m in medians.items()},
    }


def single_image(checkpoint: str, film: Path, runs: int) -> dict:
    import torch

    from xray_core.inference.lungs.crop import model_input
    from xray_core.inference.lungs.segment import forget_masks
    from xray_core.inference.onnx.engine import load_onnx
    from xray_core.inference.predict import predict_image
    from xray_core.io.reader import read_image
    from xray_core.models.checkpoint import load_checkpoint

    loaded, engine, image = load_checkpoint(checkpoint), load_onnx(checkpoint), read_image(film)
    prep, temperature = loaded.preprocessing, loaded.temperature

    def naive() -> np.ndarray:  # to_tensor of the film, or of its lung box (torch segmenter) when prep crops
        with torch.no_grad():
            logits = loaded.model(model_input(prep, image)[0])
        return torch.softmax(logits.double() / temperature, dim=1).float()[0].numpy()

    calls = {
        "naive eager torchvision": naive,
        "torch predict_image": lambda: predict_image(loaded, image),
        "onnx engine predict": lambda: engine.predict_batch([image])[0],
    }
    for call in calls.values():
        for _ in range(3):
            call()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            forget_masks()  # every call segments afresh, as for a new film (a lung-cropping checkpoint)
            began = time.perf_counter()
            call()
            times[name].append((time.perf_counter() - began) * 1000)
    p50 = {name: float(np.percentile(values, 50)) for name, values in times.items()}
    reference = naive()
    finals = {name: calls[name]() for name in ("torch predict_image", "onnx engine predict")}
    difference = {name: float(np.abs(list(p.probabilities.values()) - reference).max()) for name, p in finals.items()}
    base = p50["naive eager torchvision"]
    return {
        "p50_ms": p50,
        "p95_ms": {name: float(np.percentile(values, 95)) for name, values in times.items()},
        "speedup_vs_naive": {name: base / value for name, value in p50.items()},
        "max_abs_probability_difference_vs_naive": difference,
        "torch_threads": torch.get_num_threads(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", default=str(default_checkpoint()))
    parser.add_argument("--image", default=None, help="film to score (default: the corpus's first image)")
    parser.add_argument("--runs", type=int, default=9, help="whole-process runs per command (>= 9)")
    parser.add_argument("--latency-runs", type=int, default=60)
    args = parser.parse_args(argv)
    film = _film(args.image)
    cache = tempfile.mkdtemp(prefix="bench-inference-cache-")  # a fresh clone's state; the children inherit it
    os.environ.update({"XRAY_CACHE_DIR": cache, "XRAY_ONNX_AUTO": "1"})
    os.environ.pop("XRAY_ONNX_DIR", None)
    load_before = os.getloadavg()
    print(f"film {film}; fresh cache {cache}\n{machine_line()}")
    cli = whole_process(args.checkpoint, film, args.runs)
    print(f"\nwhole process from a fresh cache: first run {cli['first_run_s']:.2f} s (exports and verifies), "
          f"second {cli['second_run_s']:.2f} s (x{cli['second_run_ratio_to_naive']:.2f} of naive)")  # fmt: skip
    print(f"then the median of {args.runs} alternating runs")
    for name, median in cli["median_s"].items():
        print(f"  {name:<30}{median:>8.2f} s   x{cli['ratio_to_naive'][name]:.2f} of naive")
    auto = cli["ratio_to_naive"]["cli predict (engine auto)"]
    verdict = "MET" if auto <= CLI_GOAL else "NOT MET"
    print(f"  goal: cli after its first run <= {CLI_GOAL} x naive -> {auto:.2f} {verdict}")
    latency = single_image(args.checkpoint, film, args.latency_runs)
    print(f"\nsingle image in process, {args.latency_runs} alternating runs")
    for name, value in latency["p50_ms"].items():
        speedup = latency["speedup_vs_naive"][name]
        print(f"  {name:<30}p50 {value:>7.1f} ms  p95 {latency['p95_ms'][name]:>7.1f} ms  x{speedup:.2f} vs naive")
    onnx_speedup = latency["speedup_vs_naive"]["onnx engine predict"]
    onnx_difference = latency["max_abs_probability_difference_vs_naive"]["onnx engine predict"]
    print(f"  max |p_onnx - p_naive| = {onnx_difference:.2e} (goal <= {TOLERANCE})")
    met = onnx_speedup >= LATENCY_GOAL and onnx_difference <= TOLERANCE
    print(
        f"  goal: onnx p50 >= {LATENCY_GOAL} x faster than naive -> x{onnx_speedup:.2f} {'MET' if met else 'NOT MET'}"
    )
    load_after = os.getloadavg()
    print(f"\nload average after: {load_after}")
    shutil.rmtree(cache, ignore_errors=True)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    report = {"film": str(film), "machine": machine(), "load_average": [load_before, load_after], "whole_process": cli,
              "single": latency}  # fmt: skip
    OUT.write_text(json.dumps({**report, "goals": {"cli_ratio": CLI_GOAL, "latency_speedup": LATENCY_GOAL}}, indent=2))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
