import copy

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from xray_core.explain.localisation import (
    BASELINE,
    BASELINE_VARIANT,
    bootstrap_ci,
    localisation_report,
    lung_fraction,
    pointing_hit,
    variant_map,
)
from xray_core.explain.localisation_table import localisation_markdown
from xray_core.explain.variants import VARIANTS
from xray_core.models.checkpoint import load_checkpoint

LEFT_HALF = np.zeros((4, 4), bool)
LEFT_HALF[:, :2] = True


def test_lung_fraction_by_hand():
    cam = np.array([[1, 1, 0, 0], [1, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 1]], dtype=np.float32)
    assert lung_fraction(cam, LEFT_HALF) == pytest.approx(3 / 6)
    assert lung_fraction(np.where(LEFT_HALF, 0.5, 0.0), LEFT_HALF) == 1.0
    assert lung_fraction(cam - 2, LEFT_HALF) is None  # nothing positive: no energy to share
    assert lung_fraction(np.ones((2, 2)), LEFT_HALF) == pytest.approx(0.5)  # uniform: the lungs' area share


def test_pointing_by_hand():
    cam = np.zeros((4, 4), np.float32)
    cam[1, 0] = 1.0
    assert pointing_hit(cam, LEFT_HALF) is True
    cam[1, 0], cam[1, 3] = 0.0, 1.0
    assert pointing_hit(cam, LEFT_HALF) is False
    assert pointing_hit(cam, LEFT_HALF, tolerance=1) is False  # column 3 is two columns from the mask
    assert pointing_hit(cam, LEFT_HALF, tolerance=2) is True
    cam[2, 1] = 1.0  # a tie, one in and one out: half the peak is inside
    assert pointing_hit(cam, LEFT_HALF) is True
    assert pointing_hit(np.full((4, 4), 0.3), LEFT_HALF) is None


def test_bootstrap_ci():
    assert bootstrap_ci([0.5, 0.5, 0.5]) == [0.5, 0.5]
    assert bootstrap_ci([1.0]) is None and bootstrap_ci([np.nan, 2.0]) is None
    low, high = bootstrap_ci(np.arange(100.0))
    assert low < 49.5 < high


@pytest.mark.parametrize("key", [*VARIANTS, BASELINE])
def test_every_variant_gives_a_unit_map_at_input_size(tiny_checkpoint, key):
    model = copy.deepcopy(load_checkpoint(tiny_checkpoint).model)
    cam = variant_map(model, VARIANTS.get(key, BASELINE_VARIANT), torch.randn(1, 1, 64, 64), index=1)
    assert cam.shape == (64, 64) and cam.dtype == np.float32 and 0 <= cam.min() <= cam.max() <= 1


def test_report_and_table_on_generated_films(tiny_checkpoint, tmp_path):
    rng = np.random.default_rng(0)
    rows = []
    for index, label in enumerate(["bacterial", "viral"]):
        film, mask = tmp_path / f"f{index}.png", tmp_path / f"m{index}.png"
        Image.fromarray(rng.integers(0, 255, (48, 40), dtype=np.uint8)).save(film)
        Image.fromarray(np.where(np.arange(40) < 20, 255, 0).astype(np.uint8)[None].repeat(48, 0)).save(mask)
        rows.append({"path": str(film), "mask": str(mask), "label": label})
    report = localisation_report(
        load_checkpoint(tiny_checkpoint),
        pd.DataFrame(rows),
        ["gradcam@layer4", "gradcam@layer3+layer4"],
        n=2,
        progress=False,
    )
    assert report["n_films"] == 2 and report["lung_area_share"] == pytest.approx(0.5)
    assert set(report["variants"]) == {"gradcam@layer4", "gradcam@layer3+layer4", BASELINE, "randomcam@layer3+layer4"}
    assert "road_vs_random" not in report["variants"][BASELINE]
    same_layers = report["variants"]["gradcam@layer3+layer4"]
    assert {"road_vs_random", "road_vs_random_ci", "road_vs_random_layer4", "meets_goals"} <= set(same_layers)
    assert all(0 <= row["lung_fraction"] <= 1 for row in report["variants"].values())
    table = localisation_markdown(report)
    assert "Grad-CAM @ layer3+layer4" in table and "Random baseline @ layer3+layer4" in table
    with pytest.raises(ValueError, match="unknown map variants"):
        localisation_report(load_checkpoint(tiny_checkpoint), pd.DataFrame(rows), ["gradcam@layer9"])
