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


def test_score_is_the_mahalanobis_distance_to_the_nearest_centre():
    rng = np.random.default_rng(3)
    features, labels = rng.normal(size=(300, 6)) * 3 + 10, rng.integers(0, 3, 300)
    stats = ood.fit(features, labels, features)
    means, precision = np.asarray(stats["means"]), np.asarray(stats["precision"])
    queries = rng.normal(size=(7, 6)) * 4 + 10
    by_hand = [min(np.sqrt((q - m) @ precision @ (q - m)) for m in means) for q in queries]
    np.testing.assert_allclose(ood.score(stats, queries), by_hand, rtol=1e-9)


def test_typed_statistics_score_like_the_formula() -> None:
    from xray_core.models.meta import OodStats

    rng = np.random.default_rng(2)
    stats = ood.fit(rng.normal(size=(200, 8)), rng.integers(0, 3, 200), rng.normal(size=(50, 8)))
    typed, queries = OodStats.from_dict(stats), rng.normal(size=(7, 8))
    means, precision = np.asarray(stats["means"]), np.asarray(stats["precision"])
    by_hand = [min(np.sqrt((q - m) @ precision @ (q - m)) for m in means) for q in queries]
    np.testing.assert_allclose(ood.score(typed, queries), by_hand, rtol=1e-9)
    assert typed.threshold == stats["threshold"] and typed.precision.dtype == np.float64


def test_ood_statistics_are_converted_once_per_loaded_model(tiny_checkpoint, monkeypatch) -> None:
    """Parsing the 512 x 512 precision list costs ~18 ms: once per checkpoint, not once per prediction or map."""
    from xray_core.explain.cam import explain
    from xray_core.inference.predict import predict_batch
    from xray_core.io.image import XrayImage
    from xray_core.models.checkpoint import load_checkpoint
    from xray_core.models.meta import OodStats

    calls = []
    original = OodStats.from_dict.__func__
    monkeypatch.setattr(OodStats, "from_dict", classmethod(lambda cls, stats: calls.append(1) or original(cls, stats)))
    loaded = load_checkpoint(tiny_checkpoint)
    films = [XrayImage(np.random.default_rng(i).random((40, 50), dtype=np.float32)) for i in range(3)]
    for _ in range(3):
        predict_batch(loaded, films, batch_size=2)
    explain(loaded, films[0])
    assert len(calls) == 1
    assert len(load_checkpoint(tiny_checkpoint).meta.ood_stats.means) and len(calls) == 2  # a new model: its own
