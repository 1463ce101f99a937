"""Faithfulness scores: a map of the region that drives the logit beats a map of the wrong region."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from _region_net import region_loaded
from PIL import Image

from xray_core.cli.main import main as cli_main
from xray_core.explain.cam import explain
from xray_core.explain.faithfulness import (
    _ranks,
    cam_scores,
    faithfulness,
    faithfulness_markdown,
    method_faithfulness_report,
)
from xray_core.io.image import XrayImage
from xray_core.models.checkpoint import load_checkpoint
from xray_core.models.preprocessing import to_tensor


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def bright_quadrant(seed: int = 0) -> XrayImage:
    """Dark film with a bright top-left quadrant: the only thing RegionNet's class 1 looks at."""
    pixels = np.full((64, 64), 0.1, np.float32)
    pixels[:32, :32] = 0.9
    return XrayImage(pixels + np.random.default_rng(seed).uniform(0, 0.1, pixels.shape).astype(np.float32))


def test_the_true_region_beats_the_wrong_one():
    loaded, image = region_loaded(gain=5.0), bright_quadrant()
    result = explain(loaded, image, "gradcam")
    tensor = to_tensor(image.pixels, loaded.preprocessing)[None]
    right = cam_scores(loaded, tensor, result.cam_input, result.target_index, percentile=50)
    wrong = cam_scores(loaded, tensor, 1 - result.cam_input, result.target_index, percentile=50)
    assert right["road_drop"] > 0.5 and wrong["road_drop"] == pytest.approx(0, abs=0.02)
    assert right["keep_change"] > wrong["keep_change"] + 0.3
    assert cam_scores(loaded, tensor, np.zeros((64, 64)), 1) == {"road_drop": None, "keep_change": None}


def test_faithfulness_reports_method_and_random_baseline(tiny_checkpoint):
    loaded = load_checkpoint(tiny_checkpoint)
    image = XrayImage(np.random.default_rng(1).random((80, 60), dtype=np.float32))
    result = explain(loaded, image, "gradcam")
    scores = faithfulness(loaded, image, result.cam, result.target)  # original-size map: resized to S x S
    assert scores["target"] == result.target
    for key in ("road_drop", "keep_change", "random_road_drop", "random_keep_change", "road_vs_random"):
        assert scores[key] is None or np.isfinite(scores[key])
    with pytest.raises(ValueError, match="not 'auto'"):
        faithfulness(loaded, image, result.cam_input, "auto")


def test_ranks_break_ties_and_keep_order():
    cam = np.zeros((10, 10), np.float32)
    cam[0, :5] = [0.2, 0.4, 0.6, 0.8, 1.0]
    ranks = _ranks(cam)
    assert len(np.unique(ranks)) == 100 and (np.diff(ranks[0, :5]) > 0).all() and ranks[0, 4] == ranks.max()


def _films(tmp_path, count: int = 3) -> pd.DataFrame:
    paths = []
    for i in range(count):
        path = tmp_path / f"film{i}.png"
        Image.fromarray((bright_quadrant(i).pixels * 255).astype(np.uint8)).save(path)
        paths.append(str(path))
    return pd.DataFrame({"path": paths, "label": "normal", "split": "test", "patient_id": "", "source": "x"})


def test_method_report_and_markdown(tmp_path):
    report = method_faithfulness_report(
        region_loaded(gain=5.0), _films(tmp_path), ["gradcam", "layercam"], n=2, percentile=50, progress=False
    )
    assert report["n_images"] == 2 and set(report["methods"]) == {"gradcam", "layercam", "randomcam"}
    gradcam = report["methods"]["gradcam"]
    assert gradcam["road_drop"] > 0.5 and gradcam["road_drop_n"] == 2
    assert gradcam["beats_random"] is None or 0 <= gradcam["beats_random"] <= 1
    json.dumps(report)
    markdown = faithfulness_markdown(report)
    assert "| Grad-CAM |" in markdown and "| Random baseline |" in markdown and "hottest 50 %" in markdown


def test_cli_faithfulness(tiny_checkpoint, tmp_path, capsys):
    table = _films(tmp_path, 2)
    table.assign(file=table["path"]).drop(columns="path").to_csv(tmp_path / "manifest.csv", index=False)
    out = tmp_path / "faith.json"
    code = cli_main(
        [
            "faithfulness",
            "--checkpoint",
            str(tiny_checkpoint),
            "--data",
            str(tmp_path),
            "--n",
            "1",
            "--methods",
            "gradcam",
            "--json",
            str(out),
            "--markdown",
            str(tmp_path / "f.md"),
        ]
    )
    assert code == 0 and "| Grad-CAM |" in capsys.readouterr().out
    assert json.loads(out.read_text())["n_images"] == 1
    assert (
        cli_main(["faithfulness", "--checkpoint", str(tiny_checkpoint), "--data", str(tmp_path), "--split", "val"]) == 2
    )
