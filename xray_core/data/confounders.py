"""Source confounding: how well the class can be guessed from where an image came from (or the patient's age).

When one hospital or repository supplies most of a class, a network can learn the source instead of the disease
(DeGrave et al., Nature Machine Intelligence 2021). Pure functions over a dataset table
(:func:`xray_core.data.dataset.load_dataset`); the result is JSON-able and carries plain-language warnings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency

from xray_core.data._jsonable import nested, percent
from xray_core.data.counts import source_class_table

DOMINANT_SHARE = 0.8  # warn when one source provides at least this share of a class
STRONG_V, MODERATE_V = 0.5, 0.3  # Cramer's V bands for the plain-language warning


def cramers_v(counts: pd.DataFrame) -> float | None:
    """Cramer's V of a contingency table (0 = independent, 1 = one determines the other); None if undefined."""
    counts = counts.loc[counts.sum(axis=1) > 0, counts.sum(axis=0) > 0]
    if min(counts.shape) < 2:
        return None
    chi2 = chi2_contingency(counts.to_numpy(), correction=False)[0]
    return float(np.sqrt(chi2 / (counts.to_numpy().sum() * (min(counts.shape) - 1))))


def confounding(table: pd.DataFrame, by: str = "source") -> dict[str, Any]:
    """Dashboard-facing. How much the class can be guessed from ``by`` (source, age group, ...).

    Returns ``counts`` and ``shares`` ({class: {value: share of the class}}), ``dominant`` ({class: [value,
    share]}), ``cramers_v`` (None if undefined) and plain-language ``warnings``.
    """
    counts = source_class_table(table, by).T  # classes x values
    counts = counts[counts.sum(axis=1) > 0]
    shares = counts.div(counts.sum(axis=1), axis=0)
    v = cramers_v(counts)
    result = {
        "by": by,
        "cramers_v": v,
        "counts": nested(counts),
        "shares": nested(shares.round(4)),
        "dominant": {c: [str(row.idxmax()), float(row.max())] for c, row in shares.iterrows()},
        "warnings": [],
    }
    if counts.shape[1] < 2:
        return result
    for label, (value, share) in result["dominant"].items():
        if share >= DOMINANT_SHARE:
            result["warnings"].append(f"{percent(share)} of '{label}' images come from one {by} ({value}).")
    if v is not None and v >= MODERATE_V:
        strength = "Strong" if v >= STRONG_V else "Moderate"
        result["warnings"].append(
            f"{strength} association between class and {by} (Cramer's V = {v:.2f}): "
            f"a model can learn the {by} instead of the disease; report per-{by} metrics."
        )
    return result


__all__ = ["DOMINANT_SHARE", "MODERATE_V", "STRONG_V", "confounding", "cramers_v"]
