"""Dataset statistics in one JSON-able summary: counts, image properties, duplicates, leakage, confounding, outliers.

Pure functions over a dataset table (:func:`xray_core.data.dataset.load_dataset`: ``path``, ``label``, ``split``,
``patient_id``, ``source``) and a scan table (:func:`xray_core.data.scan.scan_images`). The dashboard's
explorer and the model card read :func:`summarize`, a JSON-able dict of every analysis. The analyses live in
:mod:`~xray_core.data.counts`, :mod:`~xray_core.data.duplicates`, :mod:`~xray_core.data.confounders` and
:mod:`~xray_core.data.quality`; their public names are re-exported here, the one place the dashboard and the
CLI import them from.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from xray_core.data._jsonable import nested, percent, records
from xray_core.data.confounders import confounding
from xray_core.data.counts import (
    class_counts,
    images_per_patient,
    patients_per_class,
    source_class_table,
    split_class_table,
)
from xray_core.data.duplicates import DUPLICATE_DISTANCE, duplicate_groups, leakage
from xray_core.data.image_stats import HIST_BINS
from xray_core.data.quality import outliers
from xray_core.data.scan import scan_images

SQUARE_GAP = 0.25  # warn when the share of square images differs this much between two classes


def _describe(values: pd.Series) -> dict[str, float | None]:
    values = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    if values.empty:
        return {key: None for key in ("min", "p5", "median", "p95", "max", "mean")}
    p5, median, p95 = np.percentile(values, (5, 50, 95))
    return {
        "min": float(values.min()),
        "p5": float(p5),
        "median": float(median),
        "p95": float(p95),
        "max": float(values.max()),
        "mean": float(values.mean()),
    }


def image_properties(scan: pd.DataFrame, top: int = 20) -> dict[str, Any]:
    """Formats, bit depths, modes, width/height/aspect summaries and the ``top`` most common sizes."""
    ok = scan[scan["error"] == ""]
    sizes = ok.groupby(["width", "height"]).size().sort_values(ascending=False, kind="stable").head(top)
    return {
        "n_scanned": int(len(scan)),
        "n_errors": int(len(scan) - len(ok)),
        **{f"{c}s": {str(k): int(n) for k, n in ok[c].value_counts().items()} for c in ("format", "bit_depth", "mode")},
        **{c: _describe(ok[c]) for c in ("width", "height", "aspect")},
        "common_sizes": [{"width": int(w), "height": int(h), "count": int(n)} for (w, h), n in sizes.items()],
    }


def per_class_table(table: pd.DataFrame, scan: pd.DataFrame) -> pd.DataFrame:
    """Per-class aggregates of the scan: median size and aspect, share of square images, mean intensities."""
    joined = table[["path", "label"]].merge(scan, on="path", how="left")
    joined = joined.assign(square=(joined["aspect"] - 1).abs() < 0.02, failed=joined["error"].fillna("x") != "")
    aggregates = joined.groupby("label").agg(
        n_images=("path", "size"),
        n_errors=("failed", "sum"),
        n_color=("is_color", "sum"),
        median_width=("width", "median"),
        median_height=("height", "median"),
        median_aspect=("aspect", "median"),
        share_square=("square", "mean"),
        mean_intensity=("mean", "mean"),
        mean_std=("std", "mean"),
        mean_p1=("p1", "mean"),
        mean_p99=("p99", "mean"),
    )
    return aggregates.reindex(class_counts(table).index).astype(float)


def class_histograms(table: pd.DataFrame, scan: pd.DataFrame) -> dict[str, list[float] | None]:
    """Mean intensity histogram (HIST_BINS fractions over [0, 1]) per class; None where nothing was scanned."""
    joined = table[["path", "label"]].merge(scan[["path", "hist"]], on="path", how="left")
    result: dict[str, list[float] | None] = {}
    for label in class_counts(table).index:
        hists = [h for h in joined.loc[joined["label"] == label, "hist"] if isinstance(h, list)]
        result[label] = np.mean(hists, axis=0).round(5).tolist() if hists else None
    return result


def _size_warning(per_class: pd.DataFrame) -> list[str]:
    square = per_class["share_square"].dropna()
    if len(square) < 2 or square.max() - square.min() < SQUARE_GAP:
        return []
    high, low = square.idxmax(), square.idxmin()
    return [
        f"{percent(square[high])} of '{high}' images are square vs {percent(square[low])} of '{low}': "
        f"image size can reveal the class; resize every image the same way."
    ]


def _leakage_section(table: pd.DataFrame, groups: pd.DataFrame, scan: pd.DataFrame, limit: int) -> dict[str, Any]:
    found = leakage(table, scan, groups=groups)
    n_patients, n_groups = len(found["patients"]), found["duplicates"]["group"].nunique()
    warnings = [f"{n_patients} patient(s) appear in more than one split."] if n_patients else []
    warnings += [f"{n_groups} duplicate group(s) span more than one split."] if n_groups else []
    return {
        "n_patients_across_splits": n_patients,
        "patients": records(found["patients"], limit),
        "n_duplicate_groups_across_splits": int(n_groups),
        "duplicates": records(found["duplicates"], limit),
        "warnings": warnings,
    }


def _duplicates_section(table: pd.DataFrame, groups: pd.DataFrame, max_distance: int, limit: int) -> dict[str, Any]:
    members = groups.merge(table[["path", "label", "split"]], on="path", how="left")
    kinds = members.drop_duplicates("group")["kind"].value_counts()
    mixed = int((members.groupby("group")["label"].nunique() > 1).sum()) if len(members) else 0
    return {
        "max_distance": max_distance,
        "n_groups": int(members["group"].nunique()),
        "n_exact_groups": int(kinds.get("exact", 0)),
        "n_near_groups": int(kinds.get("near", 0)),
        "n_images_in_groups": int(len(members)),
        "n_groups_mixed_labels": mixed,
        "members": records(members, limit),
    }


def summarize(
    table: pd.DataFrame, scan: pd.DataFrame | None = None, *, max_distance: int = DUPLICATE_DISTANCE, limit: int = 1000
) -> dict[str, Any]:
    """Dashboard-facing. Every analysis as one JSON-able dict (``--json``, the HTML report, the model card).

    ``scan`` defaults to a metadata-only :func:`~xray_core.data.scan.scan_images`; pixel sections are then
    empty. Lists of items (duplicates, leaking patients, outliers) hold at most ``limit`` rows; their
    ``n_...`` counts are complete. ``warnings`` gathers every plain-language warning.
    """
    scan = scan_images(table, pixels=False) if scan is None else scan
    per_class = per_class_table(table, scan)
    groups = duplicate_groups(scan, max_distance)
    flagged = outliers(scan)
    result: dict[str, Any] = {
        "n_images": int(len(table)),
        "class_names": list(class_counts(table).index),
        "class_counts": {k: int(v) for k, v in class_counts(table).items()},
        "split_class_counts": nested(split_class_table(table)),
        "source_class_counts": nested(source_class_table(table)),
        "patients_per_class": {k: int(v) for k, v in patients_per_class(table).items()},
        "images_per_patient": {
            **_describe(images_per_patient(table)),
            "n_patients": len(images_per_patient(table)),
            "images_without_patient_id": int((table["patient_id"].fillna("") == "").sum()),
        },
        "image_properties": image_properties(scan),
        "per_class": nested(per_class),
        "intensity": {
            "overall": _describe(scan["mean"]),
            "hist_bins": HIST_BINS,
            "class_histograms": class_histograms(table, scan),
        },
        "duplicates": _duplicates_section(table, groups, max_distance, limit),
        "leakage": _leakage_section(table, groups, scan, limit),
        "confounding": {by: confounding(table, by) for by in ("source", "age_group") if by in table.columns},
        "outliers": {
            "counts": {k: int(flagged[k].sum()) for k in flagged.columns[1:-1]},
            "items": records(flagged[["path", "reasons"]], limit),
        },
    }
    result["warnings"] = _warnings(result, per_class, len(flagged))
    return result


def _warnings(result: dict[str, Any], per_class: pd.DataFrame, n_flagged: int) -> list[str]:
    """Every plain-language warning of the summary's sections, in one list (confounding first)."""
    warnings = [w for section in result["confounding"].values() for w in section["warnings"]]
    warnings += _size_warning(per_class) + result["leakage"]["warnings"]
    if result["duplicates"]["n_groups_mixed_labels"]:
        warnings.append(f"{result['duplicates']['n_groups_mixed_labels']} duplicate group(s) mix labels.")
    if n_flagged:
        warnings.append(
            f"{n_flagged} image(s) flagged for review (unreadable, colour, blank, "
            f"extreme aspect ratio or possibly inverted); see outliers."
        )
    return warnings


__all__ = ["class_histograms", "image_properties", "per_class_table", "summarize"]
