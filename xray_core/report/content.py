"""Everything one film's report shows, assembled as data: ``build_report(loaded, image) -> ReportContent``.

No patient data: pixels, the model's outputs and the model's identity only; DICOM names and IDs never reach
:class:`~xray_core.io.reader.XrayImage` metadata, and the file name appears only when the caller passes it.
Refused films get no heatmap and no similar cases (nothing about them is reliable); their probabilities stay on
the record, marked as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np

from xray_core.explain.cam import Explanation, explain
from xray_core.explain.lung_findings import LungFindings, film_lungs, lung_findings
from xray_core.explain.methods import CAM_METHODS, DEFAULT_METHOD
from xray_core.explain.overlay import overlay
from xray_core.inference.predict import Prediction
from xray_core.inference.similar.search import (
    DEFAULT_K,
    SimilarCase,
    SimilarCasesUnavailable,
    load_index,
    similar_cases,
    thumbnail,
)
from xray_core.io.image import XrayImage, XrayInputError
from xray_core.models.checkpoint import LoadedModel
from xray_core.report.words import label_title

DISPLAY_SIDE = 768  # longer side of the film and heatmap in the PDF (about 220 dpi at 9 cm)
OUTLINE_RGB = (0, 229, 255)  # cyan lung outline, apart from the JET heatmap's colours (as on Diagnose)
HEAT_ALPHA = 0.45


@dataclass
class ReportContent:
    """One report's data. Images are uint8: ``film`` H x W, ``heatmap`` H x W x 3 (None: refused or unavailable).
    ``lungs``: the heatmap on the lungs (share inside, the ``outside_lungs`` warning), as Diagnose and the CLI."""

    prediction: Prediction
    film: np.ndarray
    heatmap: np.ndarray | None
    heatmap_note: str
    similar: list[SimilarCase]
    similar_note: str
    thumbnails: list[np.ndarray]
    model: dict[str, Any]
    created: datetime
    file_name: str = ""
    lungs_note: str = ""
    lungs: LungFindings | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _display(pixels: np.ndarray, side: int = DISPLAY_SIDE) -> np.ndarray:
    """H x W float [0, 1] → uint8 with the longer side at most ``side`` (aspect kept)."""
    scale = min(1.0, side / max(pixels.shape))
    if scale < 1.0:
        size = (max(1, round(pixels.shape[1] * scale)), max(1, round(pixels.shape[0] * scale)))
        pixels = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    return np.clip(np.rint(pixels * 255), 0, 255).astype(np.uint8)


def _lungs_note(findings: LungFindings) -> str:
    """The heatmap caption's lung sentence: the outline's meaning and the share inside, or why there is none."""
    if findings.lungs.outline is None:
        return f"No lung outline: {findings.lungs.note}."
    if findings.lung_fraction is None:
        return f"Cyan: the lungs found by the lung segmenter; {findings.lungs.note}."
    return (
        f"Cyan: the lungs found by the lung segmenter; {100 * findings.lung_fraction:.0f} % of the heatmap lies "
        "inside them."
    )


def _heatmap(film: np.ndarray, explanation: Explanation, outline: np.ndarray | None) -> np.ndarray:
    rgb = overlay(film, explanation.cam, alpha=HEAT_ALPHA)
    if outline is not None:
        rgb[outline] = OUTLINE_RGB
    return rgb


def _similar(loaded: LoadedModel, image: XrayImage, k: int, data_dir: str | None) -> tuple[list[SimilarCase], str]:
    try:
        index = load_index(loaded, data_dir)
    except SimilarCasesUnavailable as error:
        return [], f"Similar cases unavailable: {error}"
    return similar_cases(loaded, image, index, k), ""


def _thumbnails(cases: list[SimilarCase]) -> list[np.ndarray]:
    images = []
    for case in cases:
        try:
            images.append(thumbnail(case, side=256))
        except XrayInputError:
            images.append(np.zeros((8, 8), np.uint8))  # a film that vanished since the index was built
    return images


def build_report(
    loaded: LoadedModel,
    image: XrayImage,
    *,
    file_name: str = "",
    explanation: Explanation | None = None,
    similar: list[SimilarCase] | None = None,
    similar_note: str = "",
    method: str = DEFAULT_METHOD,
    k: int = DEFAULT_K,
    data_dir: str | None = None,
    created: datetime | None = None,
) -> ReportContent:
    """The report of ``image``. Pass what the caller already computed (``explanation``, ``similar`` cases) to
    reuse it; otherwise the heatmap (``method`` for the top class) and the similar cases (index of ``loaded``
    over ``data_dir``'s train split) are computed here. ``file_name``: shown only when given."""
    explanation = explanation or explain(loaded, image, method=method)
    prediction = explanation.prediction
    film = _display(image.pixels)
    findings = lung_findings(
        film_lungs(film.astype(np.float32) / 255.0, prediction.refused), explanation.cam, explanation.flat
    )
    if prediction.refused:
        heatmap, heat_note, lungs_note = None, "No heatmap for a refused input.", ""
        similar, similar_note = [], "No similar cases for a refused input."
    else:
        heatmap, lungs_note = _heatmap(film, explanation, findings.lungs.outline), _lungs_note(findings)
        title = CAM_METHODS[explanation.method].title
        heat_note = f"{title} for {label_title(explanation.target)} (strength {explanation.strength})."
        if similar is None:
            similar, similar_note = _similar(loaded, image, k, data_dir)
    return ReportContent(
        prediction=prediction,
        film=film,
        heatmap=heatmap,
        heatmap_note=heat_note,
        similar=similar,
        similar_note=similar_note,
        thumbnails=_thumbnails(similar),
        model=loaded.identity(),
        created=created or datetime.now(UTC),
        file_name=file_name,
        lungs_note=lungs_note,
        lungs=findings,
    )


__all__ = ["DISPLAY_SIDE", "ReportContent", "build_report"]
