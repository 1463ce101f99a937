"""Lung-aware display on Diagnose (issue 12): the lung outline on the heatmap and the map's share inside the lungs.

A heatmap whose weight lies mostly outside the lungs points at text markers, the abdomen, devices or the film's
edges: a likely shortcut (DeGrave et al., Nature Machine Intelligence 2021), not evidence about the lungs.
Refused inputs get no lung claims: a segmenter trained on chest films outlines "lungs" on anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from dashboard import components
from dashboard.display import outline_width, paint, shrink
from xray_core import config
from xray_core.explain.cam import Explanation
from xray_core.explain.localisation import lung_fraction
from xray_core.inference.lungs import load_segmenter, lung_outline, segment
from xray_core.io import XrayImage
from xray_core.models.unet import LoadedSegmenter, SegmenterError

OUTSIDE_LIMIT = 0.5  # below this share of the map inside the lungs, most of the evidence lies outside them
OUTLINE_RGB = (0, 229, 255)  # cyan: apart from every colour of the JET heatmap's hot end
SHARE_HELP = (
    "Share of the heatmap's total weight inside the lungs found by the lung segmenter (tick 'Lungs' to "
    "see their outline). A map spread evenly over the film would score the lungs' share of its area."
)
SHORTCUT_WARNING = (
    "**Most of the heatmap lies outside the lungs.** The model may be responding to something "
    "other than the lungs, such as text markers, the abdomen, devices or the film's edges (a likely "
    "shortcut). Do not read this result as evidence about the lungs."
)


@dataclass(frozen=True)
class Lungs:
    """The film's lungs: ``mask`` and ``outline`` H x W bool at the film's size, or ``problem`` saying why not."""

    mask: np.ndarray | None = None
    outline: np.ndarray | None = None
    segmenter: dict[str, Any] | None = None
    problem: str = ""


def _segment(segmenter: str, key: str, _segmenter: LoadedSegmenter, _image: XrayImage) -> tuple[np.ndarray, ...]:
    """(mask, outline) per segmenter and content, at display size (the shared byte-budget cache; never mutated)."""

    def compute() -> tuple[np.ndarray, ...]:
        with st.spinner("Outlining the lungs…"):
            mask = shrink(segment(_segmenter, _image), config.SERVER_BUDGET.display_side)
        return mask, lung_outline(mask, outline_width(mask.shape))

    return components.MAPS.get(("lungs", segmenter, key), compute)


def lungs(key: str, image: XrayImage) -> Lungs:
    """The lungs of decoded content ``key`` from the shipped segmenter (``$XRAY_SEGMENTER``), or why not."""
    try:
        segmenter = load_segmenter()
    except SegmenterError as error:
        return Lungs(problem=f"No lung outline: {error}")
    if not segmenter.meta.trained:
        return Lungs(problem="No lung outline: the lung segmenter is an untrained placeholder.")
    mask, outline = _segment(segmenter.sha256[:16], key, segmenter, image)
    return Lungs(mask, outline, segmenter.identity())


def draw(rgb: np.ndarray, found: Lungs) -> np.ndarray:
    """The lung outline painted on an H x W x 3 uint8 overlay of the same film (unchanged without a mask)."""
    return rgb if found.outline is None else paint(rgb, found.outline, OUTLINE_RGB)


def figures(mask: np.ndarray, cam: np.ndarray, flat: bool) -> dict[str, Any]:
    """What may be claimed about H x W map ``cam`` and H x W bool lung ``mask``: ``lung_area`` (share of the film),
    ``inside_lungs`` (share of the map's weight; None when there are no lungs or the map is flat) and
    ``shortcut`` (most of the weight outside the lungs)."""
    share = None if flat or not mask.any() else lung_fraction(cam, mask)
    return {
        "lung_area": float(mask.mean()),
        "inside_lungs": share,
        "shortcut": share is not None and share < OUTSIDE_LIMIT,
    }


def report(found: Lungs, explanation: Explanation) -> dict[str, Any] | None:
    """The share of the map inside the lungs, and the shortcut warning; returns the figures for the result JSON."""
    if found.mask is None:
        st.caption(f":material/pulmonology: {found.problem}")
        return None
    result = {**figures(found.mask, explanation.cam, explanation.flat), "segmenter": found.segmenter}
    share = result["inside_lungs"]
    if not found.mask.any():
        st.caption(":material/pulmonology: The lung segmenter found no lungs on this film: no share is given.")
    elif share is None:
        st.caption(":material/pulmonology: The map is flat: no share inside the lungs is given.")
    else:
        st.markdown(
            f":material/pulmonology: **{100 * share:.0f} %** of the heatmap lies inside the lungs "
            f"(the lungs cover {100 * result['lung_area']:.0f} % of the film).",
            help=SHARE_HELP,
        )
    if result["shortcut"]:
        st.warning(SHORTCUT_WARNING, icon=":material/warning:")
    return result
