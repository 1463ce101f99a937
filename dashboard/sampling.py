"""Dataset rows to show (the Diagnose sample picker, the explorer's gallery) and their truth against the model."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from xray_core.config import PARTIAL_LABELS


def sample_rows(table: pd.DataFrame, n: int, seed: int = 0, **filters: Sequence[str]) -> pd.DataFrame:
    """Up to ``n`` random rows whose columns match ``filters`` (column -> allowed values; empty = any)."""
    keep = np.ones(len(table), dtype=bool)
    for column, allowed in filters.items():
        if allowed and column in table.columns:
            keep &= table[column].astype(str).isin([str(a) for a in allowed]).to_numpy()
    chosen = table[keep]
    return chosen.sample(n=min(n, len(chosen)), random_state=seed) if len(chosen) else chosen


def agrees(truth: str, predicted: str) -> bool:
    """Whether the predicted class is one the label allows: a partial label (``pneumonia``, type unknown) is
    right for either of its members, never wrong for choosing one of them."""
    return predicted in PARTIAL_LABELS.get(truth, (truth,))
