"""Turning pandas results into the plain JSON-able values of :func:`xray_core.data.stats.summarize`.

Private to ``xray_core.data``: the summary and its sections (confounding, leakage, outliers) share these so that
every number reaches ``--json``, the HTML report and the model card in one form (numpy scalars unwrapped,
NaN/NA as None).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def plain(value: Any) -> Any:
    """A JSON-able scalar: numpy scalars unwrapped, NaN/NA -> None."""
    value = value.item() if hasattr(value, "item") else value
    return None if value is pd.NA or (isinstance(value, float) and np.isnan(value)) else value


def nested(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """``{row label: {column label: value}}`` with string keys and plain values."""
    return {str(k): {str(c): plain(v) for c, v in row.items()} for k, row in frame.iterrows()}


def records(frame: pd.DataFrame, limit: int) -> list[dict[str, Any]]:
    """The first ``limit`` rows as plain dicts."""
    return [{k: plain(v) for k, v in row.items()} for row in frame.head(limit).to_dict("records")]


def percent(share: float) -> str:
    """Whole percent rounded down, so 99.8 % never reads as 100 %."""
    return f"{math.floor(share * 100 + 1e-9)}%"
