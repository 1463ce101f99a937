"""Counts from a dataset table alone (no pixels): images per class, split and source, and patients.

Input: a :func:`xray_core.data.dataset.load_dataset` table (``path``, ``label``, ``split``, ``patient_id``,
``source``). Classes are ordered as :data:`~xray_core.config.CLASS_NAMES` (zeros kept) then any other label, so
every table and chart lists the classes the same way.
"""

from __future__ import annotations

import pandas as pd

from xray_core.config import CLASS_NAMES
from xray_core.data.dataset import SPLITS


def class_counts(table: pd.DataFrame) -> pd.Series:
    """Images per class, indexed by CLASS_NAMES (zeros kept) then any other label."""
    counts = table["label"].value_counts()
    order = list(CLASS_NAMES) + sorted(set(counts.index) - set(CLASS_NAMES))
    return counts.reindex(order, fill_value=0).astype(int)


def _by_class(table: pd.DataFrame, by: str) -> pd.DataFrame:
    counts = pd.crosstab(table[by].fillna("").astype(str), table["label"])
    return counts.reindex(columns=class_counts(table).index, fill_value=0).astype(int)


def split_class_table(table: pd.DataFrame) -> pd.DataFrame:
    """Images per split (rows train, val, test, then others; '' = no split) x class."""
    counts = _by_class(table, "split")
    order = [s for s in SPLITS if s in counts.index] + sorted(s for s in counts.index if s not in SPLITS)
    return counts.reindex(order)


def source_class_table(table: pd.DataFrame, by: str = "source") -> pd.DataFrame:
    """Images per source (or another column, e.g. ``age_group``) x class, largest source first."""
    counts = _by_class(table, by)
    return counts.loc[counts.sum(axis=1).sort_values(ascending=False, kind="stable").index]


def patients_per_class(table: pd.DataFrame) -> pd.Series:
    """Distinct non-empty patient ids per class (images without an id are not counted)."""
    known = table[table["patient_id"].fillna("") != ""]
    return known.groupby("label")["patient_id"].nunique().reindex(class_counts(table).index, fill_value=0)


def images_per_patient(table: pd.DataFrame) -> pd.Series:
    """Images per non-empty patient id, most first."""
    known = table[table["patient_id"].fillna("") != ""]
    return known["patient_id"].value_counts()


__all__ = [
    "class_counts",
    "images_per_patient",
    "patients_per_class",
    "source_class_table",
    "split_class_table",
]
