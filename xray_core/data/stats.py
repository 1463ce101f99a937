"""Dataset statistics: counts, duplicates, cross-split leakage, source confounding and outliers.

Pure functions over a dataset table (:func:`xray_core.data.dataset.load_dataset`: ``path``, ``label``, ``split``,
``patient_id``, ``source``) and a scan table (:func:`xray_core.data.scan.scan_images`). The dashboard's
explorer and the model card read :func:`summarize`, a JSON-able dict of everything below.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import chi2_contingency

from xray_core.config import CLASS_NAMES
from xray_core.data.scan import HIST_BINS, scan_images

DUPLICATE_DISTANCE = 18  # of 256 phash bits; copies differ by <= 10, distinct corpus films by >= ~40
DOMINANT_SHARE = 0.8  # warn when one source provides at least this share of a class
STRONG_V, MODERATE_V = 0.5, 0.3  # Cramer's V bands for the plain-language warning
SQUARE_GAP = 0.25  # warn when the share of square images differs this much between two classes
EXTREME_ASPECT = 3.0  # width/height above this (or below its inverse) is unlikely to be a chest film
NEAR_CONSTANT_STD = 0.02  # intensity std in [0, 1] below which an image is (nearly) blank
# inversion_score above this: likely inverted. A prompt for review, not a verdict: on the real corpus it flags
# 13 of 16,325 films, 2 of them truly inverted; the others are padded with white or very washed out.
INVERTED_SCORE = 0.2
SPLITS = ("train", "val", "test")


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


def _near_pairs(codes: np.ndarray, max_distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of distinct hashes (rows of uint8 ``codes``, N x 32) within ``max_distance`` bits.

    Pigeonhole: with the bits dealt into ``max_distance + 1`` (or more) bands, two hashes that close agree on a
    whole band, so only hashes sharing a band value are compared: about N x bucket size pairs, not N squared.
    Bits are dealt by how balanced they are, so nearly constant bits (e.g. the DC sign) do not crowd one band.
    """
    bits = np.unpackbits(codes, axis=1)
    n_bands = max(max_distance + 1, -(-bits.shape[1] // 62))  # a band value must fit in an int64
    dealt = np.argsort(np.abs(bits.mean(axis=0) - 0.5), kind="stable")
    left, right = [], []
    for band_bits in (dealt[start::n_bands] for start in range(n_bands)):
        band = bits[:, band_bits].astype(np.int64) @ (np.int64(1) << np.arange(len(band_bits), dtype=np.int64))
        order = np.argsort(band, kind="stable")
        ordered = band[order]
        for offset in range(1, len(order)):  # pair each hash with the ones `offset` places later in its bucket
            same = np.flatnonzero(ordered[offset:] == ordered[:-offset])
            if not len(same):
                break
            left.append(order[same])
            right.append(order[same + offset])
    if not left:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    i, j = np.concatenate(left).astype(np.int64), np.concatenate(right).astype(np.int64)
    pairs = np.sort(np.minimum(i, j) * len(codes) + np.maximum(i, j))
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]  # one entry per pair, however many bands found it
    i, j = pairs // len(codes), pairs % len(codes)
    words = np.ascontiguousarray(codes).view(np.uint64)
    close = _popcount(words[i] ^ words[j]).sum(axis=1) <= max_distance
    return i[close], j[close]


def _popcount(values: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(values)
    return np.unpackbits(values.view(np.uint8), axis=-1).reshape(*values.shape, 64).sum(axis=-1)


def duplicate_groups(scan: pd.DataFrame, max_distance: int = DUPLICATE_DISTANCE) -> pd.DataFrame:
    """Exact (identical ``phash``) and near (at most ``max_distance`` of 256 bits apart, chained) duplicates.

    Returns one row per member: ``group`` (0, 1, ... largest first), ``kind`` (``exact``/``near``), ``path``,
    ``phash``. Near-constant images are left out: every blank image has the same hash.
    """
    columns = ["group", "kind", "path", "phash"]
    usable = scan[(scan["phash"] != "") & ~(scan["std"] < NEAR_CONSTANT_STD)]
    if usable.empty:
        return pd.DataFrame(columns=columns)
    inverse, unique = pd.factorize(usable["phash"])
    codes = np.frombuffer(bytes.fromhex("".join(unique)), np.uint8).reshape(len(unique), -1)
    i, j = _near_pairs(codes, max_distance) if max_distance > 0 else (np.zeros(0, int),) * 2
    graph = coo_matrix((np.ones(len(i)), (i, j)), shape=(len(unique), len(unique)))
    _, component = connected_components(graph, directed=False)
    members = usable.assign(component=component[inverse])
    sizes = members.groupby("component")["path"].transform("size")
    members = members[sizes > 1]
    if members.empty:
        return pd.DataFrame(columns=columns)
    hashes = members.groupby("component")["phash"].transform("nunique")
    members = members.assign(kind=np.where(hashes == 1, "exact", "near"), size=sizes[sizes > 1])
    members = members.sort_values(["size", "component", "path"], ascending=[False, True, True])
    members["group"] = pd.factorize(members["component"])[0]
    return members[columns].reset_index(drop=True)


def _split_order(split: str) -> tuple[int, str]:
    return (SPLITS.index(split) if split in SPLITS else len(SPLITS), split)


def leakage(table: pd.DataFrame, scan: pd.DataFrame, groups: pd.DataFrame | None = None,
            max_distance: int = DUPLICATE_DISTANCE) -> dict[str, pd.DataFrame]:
    """Cross-split leakage: ``patients`` (one patient id in several splits) and ``duplicates`` (members of
    duplicate groups whose images sit in more than one split). Rows without a split are ignored.
    """
    known = table[(table["split"].fillna("") != "") & (table["patient_id"].fillna("") != "")]
    spread = known.groupby("patient_id")["split"].transform("nunique")
    patients = known[spread > 1].groupby("patient_id").agg(
        splits=("split", lambda s: ",".join(sorted(set(s), key=_split_order))), n_images=("path", "size"),
        labels=("label", lambda s: ",".join(sorted(set(s))))).reset_index()
    groups = duplicate_groups(scan, max_distance) if groups is None else groups
    members = groups.merge(table[["path", "label", "split", "patient_id"]], on="path", how="left")
    spread = members[members["split"].fillna("") != ""].groupby("group")["split"].nunique()
    duplicates = members[members["group"].isin(spread[spread > 1].index)].reset_index(drop=True)
    return {"patients": patients, "duplicates": duplicates}


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
    result = {"by": by, "cramers_v": v, "counts": _nested(counts), "shares": _nested(shares.round(4)),
              "dominant": {c: [str(row.idxmax()), float(row.max())] for c, row in shares.iterrows()},
              "warnings": []}
    if counts.shape[1] < 2:
        return result
    for label, (value, share) in result["dominant"].items():
        if share >= DOMINANT_SHARE:
            result["warnings"].append(f"{_percent(share)} of '{label}' images come from one {by} ({value}).")
    if v is not None and v >= MODERATE_V:
        strength = "Strong" if v >= STRONG_V else "Moderate"
        result["warnings"].append(f"{strength} association between class and {by} (Cramer's V = {v:.2f}): "
                                  f"a model can learn the {by} instead of the disease; report per-{by} metrics.")
    return result


def _percent(share: float) -> str:
    """Whole percent rounded down, so 99.8 % never reads as 100 %."""
    return f"{math.floor(share * 100 + 1e-9)}%"


def _nested(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {str(k): {str(c): _plain(v) for c, v in row.items()} for k, row in frame.iterrows()}


def outliers(scan: pd.DataFrame) -> pd.DataFrame:
    """Dashboard-facing. Images that are probably not usable radiographs, one row each.

    Flags: ``unreadable`` (scan error), ``color`` (coloured content, e.g. a photo), ``extreme_aspect``
    (width/height outside 1/3..3), ``near_constant`` (intensity std < 0.02), ``inverted``
    (``inversion_score`` > 0.2: corners brighter than the centre and lungs brighter than the mediastinum;
    see :func:`xray_core.data.scan.inversion_score`). ``reasons`` says it in words.
    """
    flags = pd.DataFrame({
        "unreadable": scan["error"] != "",
        "color": scan["is_color"].astype(bool),
        "extreme_aspect": (scan["aspect"] > EXTREME_ASPECT) | (scan["aspect"] < 1 / EXTREME_ASPECT),
        "near_constant": scan["std"] < NEAR_CONSTANT_STD,
        "inverted": scan["inversion_score"] > INVERTED_SCORE,
    }, index=scan.index).fillna(False).astype(bool)
    words = {"color": "colour image", "extreme_aspect": "extreme aspect ratio",
             "near_constant": "near-constant (blank)", "inverted": "likely inverted"}
    reasons = [f"unreadable ({error})" if error else "; ".join(words[k] for k in words if row[k])
               for error, row in zip(scan["error"], flags.to_dict("records"))]
    result = pd.concat([scan[["path"]], flags], axis=1).assign(reasons=reasons)
    return result[flags.any(axis=1).to_numpy()].reset_index(drop=True)


def _describe(values: pd.Series) -> dict[str, float | None]:
    values = pd.to_numeric(values, errors="coerce").dropna().astype(float)
    if values.empty:
        return {key: None for key in ("min", "p5", "median", "p95", "max", "mean")}
    p5, median, p95 = np.percentile(values, (5, 50, 95))
    return {"min": float(values.min()), "p5": float(p5), "median": float(median), "p95": float(p95),
            "max": float(values.max()), "mean": float(values.mean())}


def image_properties(scan: pd.DataFrame, top: int = 20) -> dict[str, Any]:
    """Formats, bit depths, modes, width/height/aspect summaries and the ``top`` most common sizes."""
    ok = scan[scan["error"] == ""]
    sizes = ok.groupby(["width", "height"]).size().sort_values(ascending=False, kind="stable").head(top)
    return {"n_scanned": int(len(scan)), "n_errors": int(len(scan) - len(ok)),
            **{f"{c}s": {str(k): int(n) for k, n in ok[c].value_counts().items()}
               for c in ("format", "bit_depth", "mode")},
            **{c: _describe(ok[c]) for c in ("width", "height", "aspect")},
            "common_sizes": [{"width": int(w), "height": int(h), "count": int(n)} for (w, h), n in sizes.items()]}


def per_class_table(table: pd.DataFrame, scan: pd.DataFrame) -> pd.DataFrame:
    """Per-class aggregates of the scan: median size and aspect, share of square images, mean intensities."""
    joined = table[["path", "label"]].merge(scan, on="path", how="left")
    joined = joined.assign(square=(joined["aspect"] - 1).abs() < 0.02, failed=joined["error"].fillna("x") != "")
    aggregates = joined.groupby("label").agg(
        n_images=("path", "size"), n_errors=("failed", "sum"), n_color=("is_color", "sum"),
        median_width=("width", "median"), median_height=("height", "median"), median_aspect=("aspect", "median"),
        share_square=("square", "mean"), mean_intensity=("mean", "mean"), mean_std=("std", "mean"),
        mean_p1=("p1", "mean"), mean_p99=("p99", "mean"))
    return aggregates.reindex(class_counts(table).index).astype(float)


def class_histograms(table: pd.DataFrame, scan: pd.DataFrame) -> dict[str, list[float] | None]:
    """Mean intensity histogram (HIST_BINS fractions over [0, 1]) per class; None where nothing was scanned."""
    joined = table[["path", "label"]].merge(scan[["path", "hist"]], on="path", how="left")
    result: dict[str, list[float] | None] = {}
    for label in class_counts(table).index:
        hists = [h for h in joined.loc[joined["label"] == label, "hist"] if isinstance(h, list)]
        result[label] = np.mean(hists, axis=0).round(5).tolist() if hists else None
    return result


def _plain(value: Any) -> Any:
    """A JSON-able scalar: numpy scalars unwrapped, NaN/NA -> None."""
    value = value.item() if hasattr(value, "item") else value
    return None if value is pd.NA or (isinstance(value, float) and np.isnan(value)) else value


def _records(frame: pd.DataFrame, limit: int) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in frame.head(limit).to_dict("records")]


def _size_warning(per_class: pd.DataFrame) -> list[str]:
    square = per_class["share_square"].dropna()
    if len(square) < 2 or square.max() - square.min() < SQUARE_GAP:
        return []
    high, low = square.idxmax(), square.idxmin()
    return [f"{_percent(square[high])} of '{high}' images are square vs {_percent(square[low])} of '{low}': "
            f"image size can reveal the class; resize every image the same way."]


def _leakage_section(table: pd.DataFrame, groups: pd.DataFrame, scan: pd.DataFrame, limit: int) -> dict[str, Any]:
    found = leakage(table, scan, groups=groups)
    n_patients, n_groups = len(found["patients"]), found["duplicates"]["group"].nunique()
    warnings = [f"{n_patients} patient(s) appear in more than one split."] if n_patients else []
    warnings += [f"{n_groups} duplicate group(s) span more than one split."] if n_groups else []
    return {"n_patients_across_splits": n_patients, "patients": _records(found["patients"], limit),
            "n_duplicate_groups_across_splits": int(n_groups), "duplicates": _records(found["duplicates"], limit),
            "warnings": warnings}


def _duplicates_section(table: pd.DataFrame, groups: pd.DataFrame, max_distance: int, limit: int) -> dict[str, Any]:
    members = groups.merge(table[["path", "label", "split"]], on="path", how="left")
    kinds = members.drop_duplicates("group")["kind"].value_counts()
    mixed = int((members.groupby("group")["label"].nunique() > 1).sum()) if len(members) else 0
    return {"max_distance": max_distance, "n_groups": int(members["group"].nunique()),
            "n_exact_groups": int(kinds.get("exact", 0)), "n_near_groups": int(kinds.get("near", 0)),
            "n_images_in_groups": int(len(members)), "n_groups_mixed_labels": mixed,
            "members": _records(members, limit)}


def summarize(table: pd.DataFrame, scan: pd.DataFrame | None = None, *, max_distance: int = DUPLICATE_DISTANCE,
              limit: int = 1000) -> dict[str, Any]:
    """Dashboard-facing. Everything above as one JSON-able dict (``--json``, the HTML report, the model card).

    ``scan`` defaults to a metadata-only :func:`~xray_core.data.scan.scan_images`; pixel sections are then
    empty. Lists of items (duplicates, leaking patients, outliers) hold at most ``limit`` rows; their
    ``n_...`` counts are complete. ``warnings`` gathers every plain-language warning.
    """
    scan = scan_images(table, pixels=False) if scan is None else scan
    per_class = per_class_table(table, scan)
    groups = duplicate_groups(scan, max_distance)
    flagged = outliers(scan)
    result: dict[str, Any] = {
        "n_images": int(len(table)), "class_names": list(class_counts(table).index),
        "class_counts": {k: int(v) for k, v in class_counts(table).items()},
        "split_class_counts": _nested(split_class_table(table)),
        "source_class_counts": _nested(source_class_table(table)),
        "patients_per_class": {k: int(v) for k, v in patients_per_class(table).items()},
        "images_per_patient": {**_describe(images_per_patient(table)), "n_patients": len(images_per_patient(table)),
                               "images_without_patient_id": int((table["patient_id"].fillna("") == "").sum())},
        "image_properties": image_properties(scan),
        "per_class": _nested(per_class),
        "intensity": {"overall": _describe(scan["mean"]), "hist_bins": HIST_BINS,
                      "class_histograms": class_histograms(table, scan)},
        "duplicates": _duplicates_section(table, groups, max_distance, limit),
        "leakage": _leakage_section(table, groups, scan, limit),
        "confounding": {by: confounding(table, by) for by in ("source", "age_group") if by in table.columns},
        "outliers": {"counts": {k: int(flagged[k].sum()) for k in flagged.columns[1:-1]},
                     "items": _records(flagged[["path", "reasons"]], limit)},
    }
    result["warnings"] = [w for section in result["confounding"].values() for w in section["warnings"]]
    result["warnings"] += _size_warning(per_class) + result["leakage"]["warnings"]
    if result["duplicates"]["n_groups_mixed_labels"]:
        result["warnings"].append(f"{result['duplicates']['n_groups_mixed_labels']} duplicate group(s) mix labels.")
    if len(flagged):
        result["warnings"].append(f"{len(flagged)} image(s) flagged for review (unreadable, colour, blank, "
                                  f"extreme aspect ratio or possibly inverted); see outliers.")
    return result


__all__ = ["class_counts", "class_histograms", "confounding", "cramers_v", "duplicate_groups", "image_properties",
           "images_per_patient", "leakage", "outliers", "patients_per_class", "per_class_table",
           "source_class_table", "split_class_table", "summarize"]
