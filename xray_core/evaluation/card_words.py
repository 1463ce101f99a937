"""The model card's words: fixed ones (intended use, out of scope, limitations; the dashboard shows them too) and
the model's input and operating point rendered from its metadata."""

from __future__ import annotations

from typing import Any

from xray_core.explain.methods import CAM_METHODS, DEFAULT_METHOD
from xray_core.models.records import OperatingPoint

INTENDED_USE = (
    "Decision support for exploring frontal (PA/AP) chest radiographs: it shows how strongly the image resembles "
    "normal, bacterial pneumonia, viral pneumonia or COVID-19 films of its training corpus, with class-activation "
    f"heatmaps, by default {CAM_METHODS[DEFAULT_METHOD].title}, and the lung outline. "
    "It is **not a diagnosis** and not a medical device; a qualified clinician interprets every image."
)
OUT_OF_SCOPE = [
    "Diagnosis, triage or treatment decisions without a clinician.",
    "Lateral views, CT, non-chest images, photographs of films or screens (the OOD check refuses many, not all).",
    "Telling bacterial from viral pneumonia in adults: nearly all typed training pneumonias are pediatric (ages "
    "1-5); adult pneumonias in training are NIH films of unknown type (a partial label).",
    "Any population, scanner or hospital unlike the public sources listed below.",
]
LIMITATIONS = [
    "**Age/source confounding.** Bacterial and viral pneumonia images are almost all pediatric (Kermany, ages 1-5) "
    "while COVID-19 images are adult and come from a few repositories. COVID-vs-rest and pneumonia-vs-normal "
    "figures are therefore optimistic: the model may separate classes by age, hospital or processing rather than "
    "disease (DeGrave et al., Nature Machine Intelligence 2021). See the shortcut check and per-source tables.",
    "**Copies of copies.** Most images exist only as 224 x 224 squashed JPEG copies; every image is squash-resized "
    "the same way so that size and aspect ratio cannot act as cues, but compression and processing differences "
    "between sources remain.",
    "**No patient ids** for the RSNA normals and the COVID-19 Radiography Database images, so two films of one "
    "patient may sit in different splits there; confidence intervals treat each such image as its own patient.",
    "**Low resolution** training input (see preprocessing) limits what subtle findings the model can use.",
    "**NIH labels are NLP-mined and noisy**; adult pneumonia vs normal figures on NIH films inherit that noise.",
    "Labels come from the source repositories (file names, metadata), not from a re-read by radiologists.",
]


def region_words(prep: Any) -> str:
    """What of the film the network sees."""
    if prep.crop == "lungs":
        words = (
            f"the lungs' bounding box from the lung segmenter `{prep.crop_segmenter[:12]}` "
            f"(margin {prep.crop_margin:.0%} per side)"
        )
        if prep.mask == "lungs":
            words += f", blanked outside the lung mask grown by {prep.mask_dilation:.0%} of the side"
        return words
    return "the whole film"


def operating_point_words(point: OperatingPoint | None) -> str:
    """The normal-logit offsets in words: single, or per age group through the age probe."""
    point = point or OperatingPoint()
    text = f"normal logit {point.folded_offset:+.2f} (folded into the final bias)"
    if ages := point.age_offsets:
        text += (
            f", then {ages['adult']:+.2f} on films the age probe calls adult and {ages['pediatric']:+.2f} on films "
            "it calls pediatric (blended by its probability)"
        )
    if worst := point.worst_after:
        text += f"; chosen on {point.fitted_on or 'val'} to maximise the worst cell recall ({worst['cell']}: "
        text += f"{worst['recall']:.3f})"
    return text


__all__ = ["INTENDED_USE", "LIMITATIONS", "OUT_OF_SCOPE", "operating_point_words", "region_words"]
