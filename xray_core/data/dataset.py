"""Dataset discovery: one table of images from a manifest CSV or a folder layout.

Every loader returns a :class:`pandas.DataFrame` whose first columns are ``path``
(absolute str), ``label`` (one of :data:`LABELS`: a class or the partial label ``pneumonia``),
``split`` (``train``/``val``/``test``/``external`` or ``""``), ``patient_id`` (str, ``""`` if unknown) and
``source`` (str);
extra manifest columns follow. Folder names and labels that cannot be mapped are
reported (``df.attrs["unknown_folders"]``, ``df.attrs["skipped"]``) and never guessed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from xray_core.config import CLASS_NAMES, LABELS
from xray_core.io.source import SUPPORTED_EXTENSIONS

CORE_COLUMNS = ("path", "label", "split", "patient_id", "source")
SPLITS = ("train", "val", "test")
ACCEPTED_LAYOUTS = (
    "a manifest CSV (or a folder holding manifest.csv) with columns file/path and label; "
    "root/<split>/<class>/<images>; root/<class>/<images>; "
    "or the Kaggle chest_xray layout {train,val,test}/{NORMAL,PNEUMONIA}"
)


class DatasetError(ValueError):
    """A dataset path that cannot be turned into a table (missing, empty, unknown layout or labels)."""


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(name).strip().lower())


_SYNONYMS = {
    "normal": ("normal", "healthy", "no finding", "no findings", "negative"),
    "bacterial": (
        "bacteria",
        "bacterial",
        "pneumonia_bac",
        "pneumonia_bacteria",
        "pneumonia-bacterial",
        "bacterial pneumonia",
        "bacteria pneumonia",
    ),
    "viral": (
        "virus",
        "viral",
        "pneumonia_vir",
        "pneumonia_virus",
        "pneumonia-viral",
        "viral pneumonia",
        "virus pneumonia",
    ),
    # Not "coronavirus" or "SARS": SARS-CoV-1 and MERS are labelled viral in the corpus.
    "covid": ("covid", "covid-19", "covid19", "covid_19", "sars-cov-2", "covid-19 pneumonia", "covid pneumonia"),
    # Partial label: bacterial or viral, type unknown (NIH "Pneumonia", Kaggle-style binary PNEUMONIA folders).
    "pneumonia": ("pneumonia", "pneumonia unknown", "pneumonia (type unknown)"),
}
_LABEL_KEYS = {_key(synonym): label for label, synonyms in _SYNONYMS.items() for synonym in synonyms}
_SPLIT_KEYS = {
    "train": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "external": "external",
}
_MASK_COLUMNS = ("lung_mask", "mask")  # paths relative to the manifest, resolved like ``file``


def canonical_label(name: str) -> str | None:
    """Map a label synonym (case, space, ``_`` and ``-`` insensitive) to one of :data:`LABELS`, else None."""
    return _LABEL_KEYS.get(_key(name))


def _canonical_split(name: str) -> str | None:
    return "" if _key(name) == "" else _SPLIT_KEYS.get(_key(name))


def _finish(df: pd.DataFrame, unknown: set[str], skipped: int, where: Path) -> pd.DataFrame:
    """Order the columns, attach the reports, and refuse an empty table."""
    if df.empty:
        raise DatasetError(
            f"No images found in {where}. Accepted layouts: {ACCEPTED_LAYOUTS}; "
            f"image extensions: {', '.join(SUPPORTED_EXTENSIONS)}"
            + (f"; unrecognised folders: {sorted(unknown)}" if unknown else "")
        )
    extras = [c for c in df.columns if c not in CORE_COLUMNS]
    df = df[list(CORE_COLUMNS) + extras].reset_index(drop=True)
    df.attrs["unknown_folders"] = sorted(unknown)
    df.attrs["skipped"] = int(skipped)
    return df


def _is_image(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in SUPPORTED_EXTENSIONS


def _load_manifest(csv_path: Path) -> pd.DataFrame:
    text_columns = {c: str for c in ("file", "path", "label", "split", "patient_id", "source")}
    try:
        table = pd.read_csv(csv_path, dtype=text_columns)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DatasetError(f"Cannot read manifest {csv_path}: {error}") from error
    file_column = "path" if "path" in table.columns else "file"
    if file_column not in table.columns or "label" not in table.columns:
        raise DatasetError(
            f"Manifest {csv_path} needs columns 'file' (or 'path') and 'label'; found {list(table.columns)}"
        )
    table = table.rename(columns={file_column: "path"}).drop(columns=["file"], errors="ignore")
    for column in ("split", "patient_id", "source"):
        table[column] = table[column].fillna("").str.strip() if column in table.columns else ""
    if not (table["source"] != "").any():
        table["source"] = Path(os.path.abspath(csv_path)).parent.name
    table["label"] = _map_or_raise(
        table["label"].fillna(""),
        canonical_label,
        "label",
        csv_path,
        f"expected one of {', '.join(LABELS)} or a synonym",
    )
    table["split"] = _map_or_raise(
        table["split"],
        _canonical_split,
        "split",
        csv_path,
        "expected train, val (valid, validation), test, external or empty",
    )
    base = Path(os.path.abspath(csv_path)).parent
    table["path"] = [os.path.normpath(os.path.join(base, p)) for p in table["path"].fillna("")]
    for column in (c for c in _MASK_COLUMNS if c in table.columns):
        table[column] = [
            os.path.normpath(os.path.join(base, p)) if isinstance(p, str) and p else "" for p in table[column]
        ]
    keep = table["path"].map(lambda p: _is_image(os.path.basename(p)))
    return _finish(table[keep], set(), int((~keep).sum()), csv_path)


def _map_or_raise(
    values: pd.Series, mapper: Callable[[str], str | None], what: str, where: Path, expected: str
) -> pd.Series:
    mapped = values.map(mapper)
    bad = values[mapped.isna()]
    if len(bad):
        counts = bad.value_counts()
        listing = ", ".join(f"{value!r} ({n} rows)" for value, n in counts.head(10).items())
        raise DatasetError(f"Unknown {what} values in {where}: {listing}; {expected}")
    return mapped


def load_dataset(path: str | Path) -> pd.DataFrame:
    """Load a manifest CSV, a folder holding ``manifest.csv``, or a folder layout into the standard table."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DatasetError(f"Dataset path {path} does not exist. Accepted: {ACCEPTED_LAYOUTS}")
    if path.is_file():
        if path.suffix.lower() != ".csv":
            raise DatasetError(f"{path} is a file but not a CSV manifest. Accepted: {ACCEPTED_LAYOUTS}")
        return _load_manifest(path)
    from xray_core.data.folders import load_directory  # here, not at the top: folders builds on this module

    return load_directory(path)


EXTERNAL_SETS = (
    "external",
    "external_adult",
)  # held-out folders beside the corpus: scored and tuned on, never trained on


def external_tables(data: str | Path) -> dict[str, pd.DataFrame]:
    """Each external set present under ``data`` (``external``: pediatric Kermany test films; ``external_adult``:
    adult NIH and ieee8023 films), keyed by its folder name, with ``split`` set to that name."""
    data = Path(data)
    return {name: load_dataset(data / name).assign(split=name) for name in EXTERNAL_SETS if (data / name).exists()}


def tuning_tables(data: str | Path) -> dict[str, pd.DataFrame]:
    """The films operating points and thresholds are chosen on: the val split of ``data`` and every external set
    present beside it (:data:`EXTERNAL_SETS`). Never the test split, which stays for the card."""
    table = load_dataset(data)
    return {"val": table[table["split"] == "val"], **external_tables(data)}


def present_labels(df: pd.DataFrame) -> list[str]:
    """The four classes (always, zeros included), then the partial labels that occur in ``df``."""
    found = set(df["label"])
    return list(CLASS_NAMES) + [label for label in LABELS[len(CLASS_NAMES) :] if label in found]


def class_counts(df: pd.DataFrame) -> pd.Series:
    """Images per label, indexed by :func:`present_labels` (zeros included for the four classes)."""
    return df["label"].value_counts().reindex(present_labels(df), fill_value=0).astype(int)


def split_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Images per split (rows: train, val, test, then others) x label (columns in :func:`present_labels` order)."""
    table = pd.crosstab(df["split"], df["label"]).reindex(columns=present_labels(df), fill_value=0)
    order = [s for s in SPLITS if s in table.index] + sorted(s for s in table.index if s not in SPLITS)
    return table.reindex(order).astype(int).rename_axis(index="split", columns="label")


def _nested_counts(df: pd.DataFrame, by: str) -> dict[str, dict[str, int]]:
    table = pd.crosstab(df[by], df["label"]).reindex(columns=present_labels(df), fill_value=0)
    return {str(key): {c: int(n) for c, n in row.items()} for key, row in table.iterrows()}


def data_summary(df: pd.DataFrame) -> dict[str, Any]:
    """JSON-able description of a table (embedded in checkpoints and the model card)."""
    with_id = df[df["patient_id"] != ""]
    summary: dict[str, Any] = {
        "n_images": int(len(df)),
        "class_names": list(CLASS_NAMES),
        "labels": present_labels(df),
        "class_counts": {c: int(n) for c, n in class_counts(df).items()},
        "split_class_counts": {str(s): {c: int(n) for c, n in row.items()} for s, row in split_counts(df).iterrows()},
        "source_class_counts": _nested_counts(df, "source"),
        "patients_per_class": {
            c: int(with_id.loc[with_id["label"] == c, "patient_id"].nunique()) for c in present_labels(df)
        },
        "images_without_patient_id": int((df["patient_id"] == "").sum()),
    }
    if "age_group" in df.columns:
        summary["age_group_class_counts"] = _nested_counts(df.fillna({"age_group": ""}), "age_group")
    return summary


__all__ = [
    "CORE_COLUMNS",
    "SPLITS",
    "EXTERNAL_SETS",
    "DatasetError",
    "canonical_label",
    "class_counts",
    "data_summary",
    "external_tables",
    "load_dataset",
    "present_labels",
    "split_counts",
    "tuning_tables",
]
