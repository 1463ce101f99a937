"""Less segmenter work: the smallest input size and the cheapest post-processing that keep the crop.

    .venv/bin/python bench/bench_segmenter.py [--sizes 128 112 96 80 64] [--test-films 300]

The lung segmenter only has to give the crop box (and, for lung-masked models and the outline, a mask). The shipped
U-Net runs at 128 px and its probability is resized to the film and post-processed there (components, filled
holes). For each input size S (the same weights: the U-Net is fully convolutional) and each post-processing:

* ``film``: the shipped steps (the probability resized to the film, threshold, two largest components and filled
  holes at the film's size);
* ``grid``: threshold and post-processing on the S x S grid, the mask resized (nearest) to the film;
* ``hybrid``: components chosen on the grid, the box and the mask taken from the film-size threshold inside them
  (holes cannot move a bounding box, so they are filled only where a mask is drawn);

it prints the external Dice against the reference masks (``external/``, pediatric, never trained on), how far the
crop boxes move from the shipped ones (external films plus ``--test-films`` test films: largest and 99th
percentile of the largest side difference per film, share within 2 px) and the milliseconds per film of input,
network (ONNX Runtime, batches of 64) and post-processing. A row is acceptable when external Dice >= 0.95 and every
box is within 2 px. Writes ``bench/out/bench_segmenter.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from _common import machine, machine_line

from xray_core.config import default_data_dir

OUT = Path(__file__).resolve().parent / "out" / "bench_segmenter.json"
DICE_GOAL, BOX_GOAL_PX = 0.95, 2
POSTPROCESSING = ("film", "grid", "hybrid")


def _session(segmenter, size: int, folder: Path):
    """An ONNX Runtime session of the U-Net (with its sigmoid) traced at ``size`` (bench only; not a verified
    export, so nothing outside this script ever runs it)."""
    import onnxruntime
    import torch

    from xray_core.inference.onnx.segmenter_export import _Probability
    from xray_core.inference.onnx.writer import write_graph

    path = folder / f"unet-{size}.onnx"
    example = torch.zeros(1, 1, size, size)
    write_graph(_Probability(segmenter.model), example, path, ["input"], ["probability"], {})
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _kept_components(grid: np.ndarray, settings: dict) -> np.ndarray:
    from xray_core.inference.lungs.masks import postprocess

    return postprocess(grid, int(settings.get("components", 2)), fill=False)


def masks_and_boxes(probability: np.ndarray, shape: tuple[int, int], how: str, threshold: float, settings: dict,
                    margin: float) -> tuple[np.ndarray, tuple]:  # fmt: skip
    """(film-size mask, crop box) of one S x S probability map by post-processing ``how``."""
    from xray_core.inference.lungs.masks import fill_holes, postprocess, probability_to_mask
    from xray_core.models.resize import box_from_mask, cam_to_image

    height, width = shape
    if how == "film":
        mask = probability_to_mask(cam_to_image(probability, height, width), threshold, settings)
        return mask, box_from_mask(mask, margin)
    if how == "grid":
        grid = postprocess(probability >= threshold, int(settings.get("components", 2)),
                           bool(settings.get("fill_holes", True)))  # fmt: skip
        mask = cv2.resize(grid.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
        return mask, box_from_mask(mask, margin)
    kept = _kept_components(probability >= threshold, settings)
    grown = cv2.dilate(kept.astype(np.uint8), np.ones((3, 3), np.uint8))
    inside = cv2.resize(grown, (width, height), interpolation=cv2.INTER_NEAREST) > 0
    mask = (cam_to_image(probability, height, width) >= threshold) & inside
    box = box_from_mask(mask, margin)
    return (fill_holes(mask) if settings.get("fill_holes", True) else mask), box


def _films(test_films: int):
    from xray_core.data.dataset import load_dataset
    from xray_core.inference.lungs.segment import mask_pairs, read_mask
    from xray_core.io.reader import read_image

    data = default_data_dir()
    pairs = mask_pairs(data, "external")
    external = [(read_image(path).pixels, read_mask(mask)) for path, mask in zip(pairs["path"], pairs["mask"])]
    table = load_dataset(data)
    test = table[table["split"] == "test"].head(test_films)
    return external, [read_image(path).pixels for path in test["path"]]


def measure(sizes: list[int], test_films: int) -> dict:
    from xray_core.config import Preprocessing
    from xray_core.inference.lungs.segment import dice, load_segmenter
    from xray_core.models.resize import to_array
    from xray_core.models.signed import read_header

    segmenter = load_segmenter()
    settings, threshold = segmenter.meta.postprocess, segmenter.threshold
    margin = Preprocessing.from_dict(read_header(_checkpoint())["meta"]["preprocessing"]).crop_margin
    external, test = _films(test_films)
    films = [pixels for pixels, _ in external] + test
    rows, reference_boxes = [], None
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            session = _session(segmenter, size, Path(folder))
            prep = Preprocessing.from_dict({**segmenter.preprocessing.to_dict(), "image_size": size})
            began = time.perf_counter()
            inputs = [to_array(pixels, prep) for pixels in films]
            input_ms = (time.perf_counter() - began) * 1000 / len(films)
            maps, network = [], []
            for start in range(0, len(films), 64):
                batch = np.stack(inputs[start : start + 64])
                began = time.perf_counter()
                maps.extend(session.run(["probability"], {"input": batch})[0][:, 0])
                network.append((time.perf_counter() - began) * 1000 / len(batch))
            for how in POSTPROCESSING:
                began = time.perf_counter()
                results = [masks_and_boxes(m, p.shape, how, threshold, settings, margin) for m, p in zip(maps, films)]
                post_ms = (time.perf_counter() - began) * 1000 / len(films)
                boxes = [box for _, box in results]
                if reference_boxes is None:
                    reference_boxes = boxes  # the shipped steps at the first size (128: the shipped size)
                shifts = [max(abs(a - b) for a, b in zip(box, ref)) for box, ref in zip(boxes, reference_boxes)]
                dices = [dice(mask, truth) for (mask, _), (_, truth) in zip(results, external)]
                rows.append({
                    "size": size, "postprocess": how,
                    "external_dice": float(np.mean([d for d in dices if d is not None])),
                    "box_shift_max_px": int(max(shifts)), "box_shift_p99_px": float(np.percentile(shifts, 99)),
                    "boxes_within_2px": float(np.mean(np.array(shifts) <= BOX_GOAL_PX)),
                    "input_ms": input_ms, "network_ms": statistics.median(network), "post_ms": post_ms,
                })  # fmt: skip
                rows[-1]["total_ms"] = rows[-1]["input_ms"] + rows[-1]["network_ms"] + rows[-1]["post_ms"]
                rows[-1]["acceptable"] = rows[-1]["external_dice"] >= DICE_GOAL and rows[-1]["box_shift_max_px"] <= 2
    return {"external_films": len(external), "test_films": len(test), "rows": rows}


def _checkpoint() -> Path:
    from xray_core.config import default_checkpoint

    return default_checkpoint()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 112, 96, 80, 64])
    parser.add_argument("--test-films", type=int, default=300)
    args = parser.parse_args(argv)
    print(machine_line())
    before = machine()
    result = measure(args.sizes, args.test_films)
    print(f"\n{result['external_films']} external films with reference masks, {result['test_films']} test films")
    print("size  post     ext. Dice  box shift max / p99 px  within 2 px  input + network + post ms/film   ok")
    for row in result["rows"]:
        print(
            f"{row['size']:>4}  {row['postprocess']:<7}  {row['external_dice']:.4f}     "
            f"{row['box_shift_max_px']:>4} / {row['box_shift_p99_px']:>5.1f}          "
            f"{100 * row['boxes_within_2px']:5.1f} %"
            f"      {row['input_ms']:.2f} + {row['network_ms']:.2f} + {row['post_ms']:.2f} = {row['total_ms']:.2f}"
            f"   {'yes' if row['acceptable'] else 'no'}"
        )
    print(f"goal: external Dice >= {DICE_GOAL} and every box within {BOX_GOAL_PX} px of the shipped steps'")
    after = machine()
    print(f"load average before {before['load_average']}, after {after['load_average']}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({**result, "machine": before, "load_average_after": after["load_average"]}, indent=2))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
