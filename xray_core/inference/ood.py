"""Out-of-distribution detection: is this input like the radiographs the model was trained on?

Class-conditional Mahalanobis distance in the classifier's penultimate feature
space with a shared, shrunk covariance (Lee et al., NeurIPS 2018; Ledoit-Wolf
shrinkage). The statistics are fitted on training features and stored in the
checkpoint's metadata; the refusal threshold is a high percentile of the
validation radiographs' scores, so its false-refusal rate is chosen, not hoped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from xray_core.models.meta import OodStats

DEFAULT_PERCENTILE = 99.5  # val radiographs above this score are refused (expected ~0.5 % false refusals)


def fit(
    train_features: np.ndarray,
    train_labels: np.ndarray,
    val_features: np.ndarray,
    percentile: float = DEFAULT_PERCENTILE,
) -> dict[str, Any]:
    """Fit class means, a shared shrunk precision matrix and a threshold; returns JSON-able statistics.

    ``train_features``: (N, D) float; ``train_labels``: (N,) int class indices; ``val_features``: (M, D).
    """
    train_features = np.asarray(train_features, dtype=np.float64)
    labels = np.asarray(train_labels)
    classes = np.unique(labels)
    means = np.stack([train_features[labels == c].mean(axis=0) for c in classes])
    centred = train_features - means[np.searchsorted(classes, labels)]
    from sklearn.covariance import LedoitWolf  # seconds to import; scoring (every predict) never needs it

    precision = LedoitWolf().fit(centred).precision_
    stats = {"method": "mahalanobis", "means": means.tolist(), "precision": precision.tolist()}
    val_scores = score(stats, val_features)
    stats["threshold"] = float(np.percentile(val_scores, percentile))
    stats["percentile"] = percentile
    stats["val_score_median"] = float(np.median(val_scores))
    return stats


def score(stats: OodStats | dict[str, Any] | None, features: np.ndarray) -> np.ndarray | None:
    """Distance of each of the (N, D) ``features`` to the nearest class centre, (N,) float64 (higher = less like
    training radiographs); None without stats. Predictions pass ``meta.ood_stats`` (converted once per checkpoint);
    a dict of JSON lists is converted on every call."""
    if not stats:
        return None
    typed = stats if isinstance(stats, OodStats) else OodStats.from_dict(stats)
    features = np.asarray(features, dtype=np.float64)
    # (x - m)' P (x - m) = x'Px - 2 x'Pm + m'Pm: one N x D x D product for all classes instead of one per class
    own = np.sum((features @ typed.precision) * features, axis=1)[:, None]  # (N, 1)
    cross = features @ typed.precision_means  # (N, K)
    return np.sqrt(np.maximum(np.min(own - 2 * cross + typed.centre[None, :], axis=1), 0.0))


def threshold(stats: dict[str, Any] | None) -> float | None:
    """The refusal threshold stored with the statistics, or None when the checkpoint has none."""
    return None if not stats else float(stats["threshold"])
