"""Images that are probably not usable radiographs: unreadable, colour, blank, oddly shaped or inverted.

Pure functions over a scan table (:func:`xray_core.data.scan.scan_images`). Each flag is a prompt for review, not
a verdict: the thresholds below were checked on the real corpus.
"""

from __future__ import annotations

import pandas as pd

EXTREME_ASPECT = 3.0  # width/height above this (or below its inverse) is unlikely to be a chest film
NEAR_CONSTANT_STD = 0.02  # intensity std in [0, 1] below which an image is (nearly) blank
# inversion_score above this: likely inverted. A prompt for review, not a verdict: on the real corpus it flags
# 13 of 16,325 films, 2 of them truly inverted; the others are padded with white or very washed out.
INVERTED_SCORE = 0.2

_WORDS = {
    "color": "colour image",
    "extreme_aspect": "extreme aspect ratio",
    "near_constant": "near-constant (blank)",
    "inverted": "likely inverted",
}


def outliers(scan: pd.DataFrame) -> pd.DataFrame:
    """Dashboard-facing. Images that are probably not usable radiographs, one row each.

    Flags: ``unreadable`` (scan error), ``color`` (coloured content, e.g. a photo), ``extreme_aspect``
    (width/height outside 1/3..3), ``near_constant`` (intensity std < 0.02), ``inverted``
    (``inversion_score`` > 0.2: corners brighter than the centre and lungs brighter than the mediastinum;
    see :func:`xray_core.data.image_stats.inversion_score`). ``reasons`` says it in words.
    """
    flags = (
        pd.DataFrame(
            {
                "unreadable": scan["error"] != "",
                "color": scan["is_color"].astype(bool),
                "extreme_aspect": (scan["aspect"] > EXTREME_ASPECT) | (scan["aspect"] < 1 / EXTREME_ASPECT),
                "near_constant": scan["std"] < NEAR_CONSTANT_STD,
                "inverted": scan["inversion_score"] > INVERTED_SCORE,
            },
            index=scan.index,
        )
        .fillna(False)
        .astype(bool)
    )
    reasons = [
        f"unreadable ({error})" if error else "; ".join(_WORDS[k] for k in _WORDS if row[k])
        for error, row in zip(scan["error"], flags.to_dict("records"))
    ]
    result = pd.concat([scan[["path"]], flags], axis=1).assign(reasons=reasons)
    return result[flags.any(axis=1).to_numpy()].reset_index(drop=True)


__all__ = ["EXTREME_ASPECT", "INVERTED_SCORE", "NEAR_CONSTANT_STD", "outliers"]
