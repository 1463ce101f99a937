"""Input-level checks: uniform images, extreme aspect ratios and radiograph image statistics."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xray_core.cli.main import main
from xray_core.evaluation.reliability_inputs import photo_cases
from xray_core.inference import input_checks
from xray_core.io.reader import XrayImage, read_image


def test_uniform_and_elongated_images_are_flagged_with_numbers():
    assert "nearly uniform" in input_checks.input_flags(XrayImage(np.full((64, 64), 0.5, np.float32)))[0]
    flags = input_checks.input_flags(np.random.default_rng(0).random((20, 200)).astype(np.float32))
    assert flags and "aspect ratio 10.0 : 1" in flags[0]


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
    scores = input_checks.statistics_score(np.stack([input_checks.image_statistics(v) for v in val]), stats)
    assert np.mean(scores > stats["threshold"]) <= 0.011
    far = input_checks.radiograph_score(rng.random((64, 64)).astype(np.float32), stats)
    assert far > stats["threshold"]
    json.dumps(stats)


def test_shipped_statistics_come_from_train_and_val_only():
    stats = input_checks.default_stats()
    assert stats is not None and stats["features"] == list(input_checks.FEATURE_NAMES)
    assert set(stats["fitted_on"]) == {"train", "val", "data"} and stats["threshold"] > stats["val_score_median"]


def test_the_moon_photo_is_caught_by_the_statistics():
    """The feature-space OOD score of the shipped model lets the 'moon' photo through; this check does not."""
    moon = next(case for case in photo_cases() if case.name == "moon.png")
    assert "image statistics unlike chest radiographs" in input_checks.input_flags(read_image(moon.data,
                                                                                             name=moon.name))[0]


def test_input_stats_command_fits_on_train_and_val(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "stats.json"
    assert main(["input-stats", "--data", str(tiny_dataset), "--n-train", "30", "--out", str(out)]) == 0
    stats = json.loads(out.read_text())
    assert stats["n_train"] == 30 and stats["n_val"] == 24 and "threshold" in capsys.readouterr().out


@pytest.mark.corpus
def test_val_radiographs_rarely_flagged(corpus_dir):
    """Sanity check on the split the threshold came from (the test split is only measured by the report)."""
    from xray_core.data.dataset import load_dataset

    table = load_dataset(corpus_dir)
    sample = table[table["split"] == "val"].sample(n=200, random_state=1)
    flagged = sum(bool(input_checks.input_flags(read_image(path))) for path in sample["path"])
    assert flagged <= 4
