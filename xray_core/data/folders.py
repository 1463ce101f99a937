"""Folder layouts of :func:`xray_core.data.dataset.load_dataset`: ``root/<split>/<class>/``, ``root/<class>/``
and Kaggle's chest_xray, whose binary PNEUMONIA folders and file names need their own rules.

Apart from :mod:`xray_core.data.dataset` because the walking and the Kermany naming rules are a topic of their
own; the table format, label synonyms and the manifest loader stay there and are imported from it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from xray_core.config import LABELS
from xray_core.data.dataset import (
    _SPLIT_KEYS,
    ACCEPTED_LAYOUTS,
    CORE_COLUMNS,
    DatasetError,
    _finish,
    _is_image,
    _key,
    _load_manifest,
    canonical_label,
)

_PNEUMONIA = "pneumonia"  # partial; a Kermany file name (personN_bacteria_M) resolves it to a class
_KAGGLE_KIND = re.compile(r"(?:^|[_\-])(bacteria|virus)(?:[_\-.]|$)", re.IGNORECASE)
_KAGGLE_PATIENT = re.compile(r"^(person\d+)(?=_)|^((?:normal2-)?im-\d+)(?=-)", re.IGNORECASE)


def _image_files(folder: Path) -> list[Path]:
    found = []
    for directory, subdirs, names in os.walk(folder):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith((".", "__")))
        found.extend(Path(directory) / n for n in sorted(names) if _is_image(n))
    return found


def _kaggle_row(file: Path, label: str, split: str) -> tuple[str, str]:
    """Label and patient id from a Kermany/Kaggle file name; a 'pneumonia' file named ``*_bacteria_*`` or
    ``*_virus_*`` gets that class (Kermany's own labelling rule), any other stays the partial label."""
    if label == _PNEUMONIA:
        kind = _KAGGLE_KIND.search(file.stem)
        label = _PNEUMONIA if kind is None else ("bacterial" if kind.group(1).lower() == "bacteria" else "viral")
    match = _KAGGLE_PATIENT.match(file.name)
    if match is None:
        return label, ""
    # Kaggle's val was carved out of Kermany's train folder (same person numbers); test numbers its own.
    namespace = "test" if split == "test" else "train" if split else ""
    patient = match.group(1) or match.group(2)
    return label, f"{namespace}:{patient}" if namespace else patient


def _class_folders(split_dir: Path) -> list[Path]:
    return sorted(d for d in split_dir.iterdir() if d.is_dir() and not d.name.startswith((".", "__")))


def _load_folders(root: Path, split_dirs: dict[str, list[Path]]) -> pd.DataFrame:
    """``split_dirs`` maps a canonical split ('' for none) to the folders holding class folders."""
    class_dirs = [(split, d) for split, parents in split_dirs.items() for p in parents for d in _class_folders(p)]
    kaggle = any(canonical_label(d.name) == _PNEUMONIA for _, d in class_dirs)
    rows, unknown, skipped = [], set(), 0
    for split, class_dir in class_dirs:
        folder_label = canonical_label(class_dir.name)
        if folder_label is None:
            unknown.add(class_dir.relative_to(root).as_posix())
            continue
        for file in _image_files(class_dir):
            label, patient = _kaggle_row(file, folder_label, split) if kaggle else (folder_label, "")
            rows.append(
                {
                    "path": str(file.absolute()),
                    "label": label,
                    "split": split,
                    "patient_id": patient,
                    "source": root.name,
                }
            )
    return _finish(pd.DataFrame(rows, columns=list(CORE_COLUMNS)), unknown, skipped, root)


def load_directory(root: Path) -> pd.DataFrame:
    """A folder with ``manifest.csv``, ``root/<split>/<class>/`` or ``root/<class>/``; else :class:`DatasetError`."""
    if (root / "manifest.csv").is_file():
        return _load_manifest(root / "manifest.csv")
    children = _class_folders(root)
    splits: dict[str, list[Path]] = {}
    for child in children:
        split = _SPLIT_KEYS.get(_key(child.name))
        if split is not None:
            splits.setdefault(split, []).append(child)
    if splits:
        df = _load_folders(root, splits)
        others = [c.name for c in children if _SPLIT_KEYS.get(_key(c.name)) is None]
        df.attrs["unknown_folders"] = sorted(df.attrs["unknown_folders"] + others)
        return df
    if any(canonical_label(c.name) for c in children):
        return _load_folders(root, {"": [root]})
    names = ", ".join(c.name for c in children[:20]) or "no sub-folders"
    raise DatasetError(
        f"No recognisable dataset layout in {root} (found: {names}). Accepted layouts: "
        f"{ACCEPTED_LAYOUTS}; class folders may be named {', '.join(LABELS)} or synonyms."
    )


__all__ = ["load_directory"]
