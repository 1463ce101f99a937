"""What may be said about a heatmap and the film's lungs: one service for Diagnose, ``explain --json`` and the PDF.

Two steps, because a page needs the lungs before the map (to offer the outline) and the map before the figures:
:func:`film_lungs` finds the lungs, or a ``reason`` code why no lung claim is made; :func:`lung_findings` adds the
map's share of weight inside them (``lung_fraction``), whether its peak is inside (``pointing_hit``) and the
``outside_lungs`` warning (a :class:`~xray_core.inference.decisions.Decision` from ``refusal.assess_lungs``).

No figure is given where it would mislead: a refused film (a segmenter trained on chest films outlines "lungs" on
anything), a missing or untrained segmenter, a film on which no lungs were found, and a flat map (no region stands
out, so its share is the lungs' share of the area, not a finding).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from xray_core.explain.localisation import lung_fraction, pointing_hit
from xray_core.inference.decisions import Decision
from xray_core.inference.lungs.segment import load_segmenter, lung_outline, segment
from xray_core.inference.refusal import assess_lungs
from xray_core.io.image import XrayImage
from xray_core.models.unet import LoadedSegmenter, SegmenterError

#: Why no share inside the lungs is given, by code (the words are for logs, the CLI and the PDF).
REASONS: dict[str, str] = {
    "refused": "no lung claims for a refused input",
    "no_segmenter": "no lung segmenter",  # the detail says which file and how to get one
    "untrained_segmenter": "the lung segmenter is an untrained placeholder",
    "no_lungs": "the lung segmenter found no lungs on this film",
    "flat_map": "the map is flat: no region stands out, so no share inside the lungs is given",
}

#: (segmenter, film) -> (H x W bool mask, H x W bool outline) at any one size; Diagnose passes its cached version
Segmentation = Callable[[LoadedSegmenter, XrayImage | np.ndarray], tuple[np.ndarray, np.ndarray]]


def outline_thickness(shape: tuple[int, ...]) -> int:
    """Outline width in pixels that survives shrinking a film to a screen or a page: ~0.4 % of its shorter side."""
    return max(1, round(min(shape[:2]) / 250))


def mask_and_outline(segmenter: LoadedSegmenter, film: XrayImage | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The film's lung mask and its outline, both H x W bool at the film's size."""
    mask = segment(segmenter, film)
    return mask, lung_outline(mask, outline_thickness(mask.shape))


@dataclass(frozen=True)
class FilmLungs:
    """The film's lungs: ``mask`` and ``outline`` H x W bool (one size, the caller's), or ``reason`` (a code of
    :data:`REASONS`) and ``detail`` (the segmenter's own error) saying why no lung claim is made."""

    mask: np.ndarray | None = None
    outline: np.ndarray | None = None
    segmenter: dict[str, Any] | None = None  # the segmenter's identity (version, SHA-256)
    reason: str | None = None
    detail: str = ""

    @property
    def note(self) -> str:
        """The reason in words (with the segmenter's error for ``no_segmenter``); '' when the lungs were found."""
        if self.reason is None:
            return ""
        return f"{REASONS[self.reason]}: {self.detail}" if self.detail else REASONS[self.reason]


def film_lungs(
    film: XrayImage | np.ndarray,
    refused: bool,
    segmenter: str | Path | None = None,
    segmentation: Segmentation = mask_and_outline,
) -> FilmLungs:
    """The lungs of ``film`` (H x W float in [0, 1]) from ``segmenter`` (default ``$XRAY_SEGMENTER`` or the
    shipped one), or why none are given: ``refused`` input, missing or untrained segmenter."""
    if refused:
        return FilmLungs(reason="refused")
    try:
        loaded = load_segmenter(segmenter)
    except SegmenterError as error:
        return FilmLungs(reason="no_segmenter", detail=str(error))
    if not loaded.meta.trained:
        return FilmLungs(reason="untrained_segmenter", segmenter=loaded.identity())
    mask, outline = segmentation(loaded, film)
    return FilmLungs(mask, outline, loaded.identity(), None if mask.any() else "no_lungs")


@dataclass(frozen=True)
class LungFindings:
    """A heatmap on the film's lungs. ``lung_fraction``: share in [0, 1] of the map's weight inside the lungs;
    ``pointing_hit``: whether its peak is inside; ``lung_area``: the lungs' share of the film. All None where
    ``lungs.reason`` says why; ``decisions``: the ``outside_lungs`` warning, when it applies."""

    lungs: FilmLungs
    lung_fraction: float | None = None
    pointing_hit: bool | None = None
    lung_area: float | None = None
    decisions: tuple[Decision, ...] = ()

    @property
    def reason(self) -> str | None:
        return self.lungs.reason

    def to_dict(self) -> dict[str, Any]:
        """JSON-able (no arrays): the figures, the reason code and its words, the segmenter and the decisions."""
        return {
            "lung_fraction": self.lung_fraction,
            "pointing_hit": self.pointing_hit,
            "lung_area": self.lung_area,
            "reason": self.reason,
            "note": self.lungs.note,
            "segmenter": self.lungs.segmenter,
            "decisions": [decision.to_dict() for decision in self.decisions],
        }


def lung_findings(lungs: FilmLungs, cam: np.ndarray, flat: bool) -> LungFindings:
    """The findings of H x W map ``cam`` in [0, 1] (any size: it is fitted to the mask) on ``lungs``; ``flat``:
    the explanation's own verdict (:func:`xray_core.explain.cam.is_flat`)."""
    if lungs.mask is None or lungs.reason is not None:
        return LungFindings(lungs, lung_area=None if lungs.mask is None else float(lungs.mask.mean()))
    area = float(lungs.mask.mean())
    share = None if flat else lung_fraction(cam, lungs.mask)  # None too for an all-zero map
    if share is None:
        return LungFindings(replace(lungs, reason="flat_map"), lung_area=area)
    return LungFindings(lungs, share, pointing_hit(cam, lungs.mask), area, tuple(assess_lungs(share)))


__all__ = [
    "REASONS",
    "FilmLungs",
    "LungFindings",
    "Segmentation",
    "film_lungs",
    "lung_findings",
    "mask_and_outline",
    "outline_thickness",
]
