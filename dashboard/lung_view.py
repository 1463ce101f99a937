"""Lung-aware display on Diagnose: the lung outline on the heatmap, the map's share inside the lungs, the warning.

What may be claimed, and the ``outside_lungs`` warning with its limit, come from
:mod:`xray_core.explain.lung_findings` (the CLI and the PDF use the same), their words from
:mod:`xray_core.inference.wording`; this module caches the segmentation and renders the findings by their codes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

from dashboard import components
from dashboard.display import outline_width, paint, shrink
from xray_core import config
from xray_core.explain.cam import Explanation
from xray_core.explain.lung_findings import FilmLungs, film_lungs, lung_findings
from xray_core.inference import wording
from xray_core.inference.lungs.segment import lung_outline, segment
from xray_core.io.image import XrayImage
from xray_core.models.unet import LoadedSegmenter

OUTLINE_RGB = (0, 229, 255)  # cyan: apart from every colour of the JET heatmap's hot end
SHARE_HELP = (
    "Share of the heatmap's total weight inside the lungs found by the lung segmenter (tick 'Lungs' to "
    "see their outline). A map spread evenly over the film would score the lungs' share of its area."
)
#: Why no share is shown, by the core's reason code. Fields: ``detail`` (the segmenter's own error).
REASON_WORDS: dict[str, str] = {
    "refused": "No lung outline or lung share for a refused input.",
    "no_segmenter": "No lung outline: {detail}",
    "untrained_segmenter": "No lung outline: the lung segmenter is an untrained placeholder.",
    "no_lungs": "The lung segmenter found no lungs on this film: no share is given.",
    "flat_map": "The map is flat: no share inside the lungs is given.",
}


def _segment(segmenter: str, key: str, _segmenter: LoadedSegmenter, _image: XrayImage) -> tuple[np.ndarray, ...]:
    """(mask, outline) per segmenter and content, at display size (the shared byte-budget cache; never mutated)."""

    def compute() -> tuple[np.ndarray, ...]:
        with st.spinner("Outlining the lungs…"):
            mask = shrink(segment(_segmenter, _image), config.SERVER_BUDGET.display_side)
        return mask, lung_outline(mask, outline_width(mask.shape))

    return components.MAPS.get(("lungs", segmenter, key), compute)


def lungs(key: str, image: XrayImage, refused: bool) -> FilmLungs:
    """The lungs of decoded content ``key`` from the shipped segmenter (``$XRAY_SEGMENTER``), or why not."""

    def cached(segmenter: LoadedSegmenter, film: Any) -> tuple[np.ndarray, ...]:
        return _segment(segmenter.sha256[:16], key, segmenter, film)

    return film_lungs(image, refused, segmentation=cached)


def draw(rgb: np.ndarray, found: FilmLungs) -> np.ndarray:
    """The lung outline painted on an H x W x 3 uint8 overlay of the same film (unchanged without an outline)."""
    return rgb if found.outline is None else paint(rgb, found.outline, OUTLINE_RGB)


def report(found: FilmLungs, explanation: Explanation) -> dict[str, Any]:
    """The share of the map inside the lungs (or why none is given) and the warning; returns the findings for the
    result JSON (the same dict as ``explain --json``)."""
    findings = lung_findings(found, explanation.cam, explanation.flat)
    if findings.reason is not None:
        reason = REASON_WORDS[findings.reason].format(detail=findings.lungs.detail)
        st.caption(f":material/pulmonology: {reason}")
    else:
        st.markdown(
            f":material/pulmonology: **{100 * findings.lung_fraction:.0f} %** of the heatmap lies inside the lungs "
            f"(the lungs cover {100 * findings.lung_area:.0f} % of the film).",
            help=SHARE_HELP,
        )
    for decision in findings.decisions:
        st.warning(wording.long(decision), icon=":material/warning:")
    return findings.to_dict()
