"""Does a film look pediatric or adult, and has the model seen the predicted class in that age group?

The corpus confounds age and label: COVID-19 films are all adult, bacterial and viral pneumonias almost all
pediatric. A call of COVID-19 on a child's film, or of bacterial pneumonia on an adult's, is therefore a call the
model never learned to make. A logistic probe on the penultimate features (fitted on the train split by
``python -m xray_core fit-age-probe`` and stored in the checkpoint's ``age_probe``, a
:class:`~xray_core.models.records.AgeProbe`) estimates the age group; it is applied with numpy, so predicting needs
no scikit-learn. Support is read from the checkpoint's own training counts per age group x label
(``data_summary``), never from a list in the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from xray_core.models.records import AgeProbe

MIN_SUPPORT_SHARE = 0.05  # a class with under 5 % of its training films in an age group has no real support there
MIN_SUPPORT_FILMS = 10  # ... nor with fewer films than this, whatever the share


@dataclass(frozen=True)
class AgeEstimate:
    """The age group a film looks like and the probe's probability for that group (>= 0.5)."""

    group: str
    probability: float

    def to_dict(self) -> dict[str, Any]:
        return {"group": self.group, "probability": round(self.probability, 4)}


def estimate_age(probe: AgeProbe | None, features: np.ndarray | None) -> list[AgeEstimate] | None:
    """One estimate per row of (N, D) ``features``; None without a probe (older checkpoints) or features."""
    if probe is None or features is None:
        return None
    positive = probe.positive_probability(np.atleast_2d(features))
    return [
        AgeEstimate(probe.classes[1], float(p)) if p >= 0.5 else AgeEstimate(probe.classes[0], float(1 - p))
        for p in positive
    ]


def training_support(data_summary: dict[str, Any], group: str, label: str) -> tuple[int, int]:
    """(training films labelled ``label`` in age group ``group``, training films labelled ``label`` in any group)."""
    counts = data_summary.get("age_group_class_counts") or {}
    total = sum(int(row.get(label, 0)) for name, row in counts.items() if name)
    return int((counts.get(group) or {}).get(label, 0)), total


def unsupported(data_summary: dict[str, Any], group: str, label: str) -> bool:
    """True when ``label`` has no real training support in ``group`` (see the module's two limits).

    A checkpoint without age-group counts gives no verdict (False): no warning rather than a guess.
    """
    in_group, total = training_support(data_summary, group, label)
    if total == 0:
        return False
    return in_group < max(MIN_SUPPORT_FILMS, MIN_SUPPORT_SHARE * total)


__all__ = [
    "MIN_SUPPORT_FILMS",
    "MIN_SUPPORT_SHARE",
    "AgeEstimate",
    "estimate_age",
    "training_support",
    "unsupported",
]
