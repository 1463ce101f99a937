"""Follow-up comparison: a prior and a current film, their maps on ONE colour scale, the change per class.

Each :class:`~xray_core.explain.cam.Explanation` map is min-max stretched to [0, 1] on its own, so two films'
maps cannot be compared by colour: a faint map and a strong one both reach red. Here both are put back in the
method's own units (the positive raw map's peak, ``raw_max``) and divided by the larger of the two peaks: the
stronger map keeps its full range, the weaker one is dimmed in proportion. The stretch subtracts the positive
map's minimum, which is 0 whenever any cell is non-positive (nearly always after Grad-CAM's ReLU), so
``cam * raw_max`` recovers the raw map. Both maps must explain the same class with the same method and model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from xray_core.explain.cam import Explanation


@dataclass(frozen=True)
class Comparison:
    """``prior_map`` / ``current_map``: H x W float32 in [0, 1] on the shared scale (1 = the stronger peak);
    ``change``: current minus prior calibrated probability per class (in [-1, 1]); ``peak``: the shared maximum
    in the method's raw units."""

    prior_map: np.ndarray
    current_map: np.ndarray
    change: dict[str, float]
    peak: float
    target: str
    method: str


def probability_change(prior: dict[str, float], current: dict[str, float]) -> dict[str, float]:
    """Current minus prior probability per class, in the current's class order; both must name the same classes."""
    if set(prior) != set(current):
        raise ValueError(f"the two predictions name different classes: {sorted(prior)} vs {sorted(current)}")
    return {name: float(current[name]) - float(prior[name]) for name in current}


def shared_scale(maps: Sequence[np.ndarray], peaks: Sequence[float]) -> tuple[list[np.ndarray], float]:
    """Maps each stretched to [0, 1] with raw peaks ``peaks`` → the same maps on one scale, and that scale's peak.

    ``map * peak / max(peaks)``: the map with the highest peak is unchanged, the others shrink in proportion.
    All-zero peaks (nothing positive anywhere) give all-zero maps.
    """
    if len(maps) != len(peaks):
        raise ValueError(f"{len(maps)} maps but {len(peaks)} peaks")
    peaks = [max(0.0, float(p)) for p in peaks]
    common = max(peaks, default=0.0)
    if common <= 0.0:
        return [np.zeros_like(np.asarray(m, dtype=np.float32)) for m in maps], 0.0
    scaled = [np.clip(np.asarray(m, dtype=np.float32), 0, 1) * np.float32(p / common) for m, p in zip(maps, peaks)]
    return scaled, common


def compare(prior: Explanation, current: Explanation) -> Comparison:
    """The two films' maps on a shared scale and the change in probabilities from ``prior`` to ``current``."""
    if prior.target != current.target or prior.method != current.method:
        raise ValueError(
            "compare maps of the same class and method: got "
            f"{prior.method}/{prior.target} and {current.method}/{current.target}"
        )
    (prior_map, current_map), peak = shared_scale([prior.cam, current.cam], [prior.raw_max, current.raw_max])
    return Comparison(
        prior_map=prior_map,
        current_map=current_map,
        change=probability_change(prior.prediction.probabilities, current.prediction.probabilities),
        peak=peak,
        target=current.target,
        method=current.method,
    )


__all__ = ["Comparison", "compare", "probability_change", "shared_scale"]
