"""The one place where a prediction's refusal and warnings are decided.

Predict, explain, the batch page, evaluation and the reliability report all come through :func:`assess`,
with the statistics that travel in the checkpoint, so what a report measures is what a user gets.
"""

from __future__ import annotations

from xray_core.inference import ood
from xray_core.inference.decisions import Decision
from xray_core.inference.input_checks import input_checks
from xray_core.io.reader import XrayImage
from xray_core.models.checkpoint import LoadedModel

LOW_CONFIDENCE = 0.5  # top-class probability under this is flagged for the user


def assess(loaded: LoadedModel, image: XrayImage, ood_score: float | None, top_probability: float) -> list[Decision]:
    """Every decision about one prediction: refusals first (feature distance, image checks), then warnings."""
    decisions: list[Decision] = []
    threshold = ood.threshold(loaded.meta.ood)
    if ood_score is not None and threshold is not None and ood_score > threshold:
        decisions.append(
            Decision(
                "ood_features",
                f"does not look like a frontal chest radiograph (OOD score {ood_score:.1f} > {threshold:.1f})",
                ood_score,
                threshold,
            )
        )
    decisions.extend(input_checks(image, loaded.meta.input_stats))
    if top_probability < LOW_CONFIDENCE:
        decisions.append(
            Decision(
                "low_confidence",
                f"top-class probability {top_probability:.2f} below {LOW_CONFIDENCE}",
                top_probability,
                LOW_CONFIDENCE,
            )
        )
    if not loaded.trained:
        decisions.append(
            Decision("untrained_model", "UNTRAINED placeholder checkpoint: these probabilities are meaningless")
        )
    return decisions


__all__ = ["LOW_CONFIDENCE", "assess"]
