import numpy as np

from xray_core.inference import ood


def test_far_features_score_higher_and_threshold_is_a_val_percentile():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 2000)
    centres = rng.normal(0, 3, (4, 16))
    train = centres[labels] + rng.normal(0, 1, (2000, 16))
    val = centres[rng.integers(0, 4, 1000)] + rng.normal(0, 1, (1000, 16))
    stats = ood.fit(train, labels, val, percentile=99.0)
    val_scores = ood.score(stats, val)
    assert np.mean(val_scores > ood.threshold(stats)) <= 0.011
    far = rng.normal(0, 1, (50, 16)) + 25.0
    assert np.all(ood.score(stats, far) > ood.threshold(stats))


def test_no_statistics_means_no_score():
    assert ood.score(None, np.zeros((2, 4))) is None and ood.threshold(None) is None
