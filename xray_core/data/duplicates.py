"""Duplicate films and cross-split leakage: the same image (or patient) in training and test inflates metrics.

Duplicates are found on the 256-bit perceptual hash of the scan table (:func:`xray_core.data.image_stats.phash`):
identical hashes are ``exact`` copies; hashes at most :data:`DUPLICATE_DISTANCE` bits apart, chained, are
``near`` copies (re-encoded, resized, brightened). Pure functions over a dataset table and a scan table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from xray_core.data.dataset import SPLITS
from xray_core.data.quality import NEAR_CONSTANT_STD

DUPLICATE_DISTANCE = 18  # of 256 phash bits; copies differ by <= 10, distinct corpus films by >= ~40


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


def leakage(
    table: pd.DataFrame, scan: pd.DataFrame, groups: pd.DataFrame | None = None, max_distance: int = DUPLICATE_DISTANCE
) -> dict[str, pd.DataFrame]:
    """Cross-split leakage: ``patients`` (one patient id in several splits) and ``duplicates`` (members of
    duplicate groups whose images sit in more than one split). Rows without a split are ignored.
    """
    known = table[(table["split"].fillna("") != "") & (table["patient_id"].fillna("") != "")]
    spread = known.groupby("patient_id")["split"].transform("nunique")
    patients = (
        known[spread > 1]
        .groupby("patient_id")
        .agg(
            splits=("split", lambda s: ",".join(sorted(set(s), key=_split_order))),
            n_images=("path", "size"),
            labels=("label", lambda s: ",".join(sorted(set(s)))),
        )
        .reset_index()
    )
    groups = duplicate_groups(scan, max_distance) if groups is None else groups
    members = groups.merge(table[["path", "label", "split", "patient_id"]], on="path", how="left")
    spread = members[members["split"].fillna("") != ""].groupby("group")["split"].nunique()
    duplicates = members[members["group"].isin(spread[spread > 1].index)].reset_index(drop=True)
    return {"patients": patients, "duplicates": duplicates}


__all__ = ["DUPLICATE_DISTANCE", "duplicate_groups", "leakage"]
