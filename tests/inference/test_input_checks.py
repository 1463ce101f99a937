"""Input-level checks: uniform images, extreme aspect ratios and radiograph image statistics."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from xray_core.cli.main import main
from xray_core.config import default_checkpoint
from xray_core.evaluation.reliability.photos import photo_cases
from xray_core.inference import input_checks
from xray_core.io.image import XrayImage
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import load_checkpoint


def test_uniform_and_elongated_images_are_flagged_with_numbers():
    [uniform] = input_checks.input_checks(XrayImage(np.full((64, 64), 0.5, np.float32)), None)
    assert uniform.code == "uniform_image" and uniform.score == pytest.approx(0.0) and uniform.refuses
    [elongated] = input_checks.input_checks(
        XrayImage(np.random.default_rng(0).random((20, 200)).astype(np.float32)), None
    )
    assert elongated.code == "extreme_aspect" and elongated.score == pytest.approx(10.0)
    assert elongated.threshold == input_checks.MAX_ASPECT and "aspect ratio 10.0 : 1" in elongated.message


@pytest.mark.parametrize("shape", [(8, 8), (9, 36), (64, 64), (700, 500)])
def test_statistics_are_finite_for_any_size_and_content(shape):
    rng = np.random.default_rng(sum(shape))
    for pixels in (rng.random(shape), np.zeros(shape), np.ones(shape)):
        values = input_checks.image_statistics(pixels.astype(np.float32))
        assert values.shape == (len(input_checks.FEATURE_NAMES),) and np.isfinite(values).all()


def test_fit_sets_threshold_at_a_val_percentile_and_far_images_score_higher():
    rng = np.random.default_rng(0)
    ramp = np.linspace(0.2, 0.8, 64)[None, :] * np.ones((64, 1))
    train = [np.clip(ramp + rng.normal(0, 0.05, (64, 64)), 0, 1) for _ in range(200)]
    val = [np.clip(ramp + rng.normal(0, 0.05, (64, 64)), 0, 1) for _ in range(100)]
    stats = input_checks.fit(train, val, percentile=99.0)
    scores = stats.score(np.stack([input_checks.image_statistics(v) for v in val]))
    assert np.mean(scores > stats.threshold) <= 0.011
    far = input_checks.radiograph_score(XrayImage(rng.random((64, 64)).astype(np.float32)), stats)
    assert far > stats.threshold
    json.dumps(stats.to_dict())


def test_shipped_statistics_travel_in_the_checkpoint_and_come_from_train_and_val_only():
    stats = load_checkpoint(default_checkpoint()).meta.input_stats
    assert stats is not None and stats.detail["features"] == list(input_checks.FEATURE_NAMES)
    assert {"train", "val"} <= set(stats.detail["fitted_on"]) and "test" not in stats.detail["fitted_on"]
    assert stats.threshold > stats.val_score_median


def test_the_moon_photo_is_caught_by_the_statistics():
    """The feature-space OOD score of the shipped model lets the 'moon' photo through; this check does not."""
    moon = next(case for case in photo_cases() if case.name == "moon.png")
    stats = load_checkpoint(default_checkpoint()).meta.input_stats
    [decision] = input_checks.input_checks(read_image(moon.data, name=moon.name), stats)
    assert decision.code == "image_statistics" and decision.score > decision.threshold


def test_input_stats_command_stores_them_in_the_checkpoint(tiny_dataset, tiny_checkpoint, tmp_path, capsys):
    checkpoint = tmp_path / "model.pt"
    shutil.copy(tiny_checkpoint, checkpoint)
    before = load_checkpoint(checkpoint).sha256
    assert main(["input-stats", "--data", str(tiny_dataset), "--n-train", "30", "--checkpoint", str(checkpoint)]) == 0
    loaded = load_checkpoint(checkpoint)  # re-signed: the hash covers the statistics
    assert loaded.sha256 != before and "threshold" in capsys.readouterr().out
    assert loaded.meta.input_stats.detail["n_train"] == 30 and loaded.meta.input_stats.detail["n_val"] == 24


@pytest.mark.corpus
def test_val_radiographs_rarely_flagged(corpus_dir):
    """Sanity check on the split the threshold came from (the test split is only measured by the report)."""
    from xray_core.data.dataset import load_dataset

    table = load_dataset(corpus_dir)
    sample = table[table["split"] == "val"].sample(n=200, random_state=1)
    stats = load_checkpoint(default_checkpoint()).meta.input_stats
    flagged = sum(bool(input_checks.input_checks(read_image(path), stats)) for path in sample["path"])
    assert flagged <= 4
