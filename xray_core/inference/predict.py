"""Inference: an :class:`~xray_core.io.reader.XrayImage` in, typed calibrated probabilities out."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

import numpy as np

from xray_core.inference import ood
from xray_core.inference.age import estimate_age
from xray_core.inference.decisions import Decision
from xray_core.inference.refusal import assess
from xray_core.io.image import XrayImage
from xray_core.models.scoring import ScoringModel

if TYPE_CHECKING:  # torch loads in the functions that run the network: the ONNX engine builds Predictions without it
    import torch

    from xray_core.models.checkpoint import LoadedModel


@dataclass
class Prediction:
    """One image's result. ``probabilities`` maps class name to a calibrated probability (sums to 1).

    ``decisions`` are typed findings (:class:`~xray_core.inference.decisions.Decision`); ``refused`` is true
    when any of them refuses the input.
    """

    name: str
    label: str
    probabilities: dict[str, float]
    logits: list[float]
    elapsed_ms: float
    ood_score: float | None = None
    ood_threshold: float | None = None
    decisions: list[Decision] = field(default_factory=list)
    age_group_estimate: dict[str, Any] | None = None  # {'group': 'pediatric' | 'adult', 'probability'}; None: no probe

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]

    @property
    def refused(self) -> bool:
        return any(decision.refuses for decision in self.decisions)

    @property
    def low_confidence(self) -> bool:
        return self.has("low_confidence")

    @property
    def uncertain(self) -> bool:
        """Top probability under the checkpoint's fitted operating point: refer (False when none is fitted)."""
        return self.has("uncertain")

    def has(self, code: str) -> bool:
        return any(decision.code == code for decision in self.decisions)

    def refusals(self) -> list[Decision]:
        return [decision for decision in self.decisions if decision.refuses]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the fields plus ``refused``, ``low_confidence`` and ``uncertain``; decisions as dicts."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["decisions"] = [decision.to_dict() for decision in self.decisions]
        return {**values, "refused": self.refused, "low_confidence": self.low_confidence, "uncertain": self.uncertain}


def image_batch(loaded: LoadedModel, images: Sequence[XrayImage]) -> torch.Tensor:
    """Preprocess images into one (N, C, S, S) float tensor with the checkpoint's own preprocessing."""
    import torch

    from xray_core.inference.lungs.crop import film_tensor

    return torch.stack([film_tensor(loaded.preprocessing, image)[0] for image in images])


def predict_batch(loaded: LoadedModel, images: Sequence[XrayImage], batch_size: int = 32) -> list[Prediction]:
    """Predict many images in batches of ``batch_size``; results keep the input order."""
    import torch

    from xray_core.inference.calibration import calibrated_softmax
    from xray_core.models.networks import penultimate_features

    results: list[Prediction] = []
    for start in range(0, len(images), batch_size):
        chunk = list(images[start : start + batch_size])
        began = time.perf_counter()
        with torch.inference_mode():
            features, logits = penultimate_features(loaded.model, image_batch(loaded, chunk))
        probabilities = calibrated_softmax(logits, loaded.temperature).numpy()
        scores = ood.score(loaded.meta.ood_stats, features.numpy())
        elapsed = (time.perf_counter() - began) * 1000 / len(chunk)
        for index, image in enumerate(chunk):
            results.append(
                build_prediction(
                    loaded,
                    image,
                    logits[index].numpy(),
                    probabilities[index],
                    None if scores is None else float(scores[index]),
                    elapsed,
                    features[index].numpy(),
                )
            )
    return results


def predict_image(loaded: LoadedModel, image: XrayImage) -> Prediction:
    """Predict one image."""
    return predict_batch(loaded, [image])[0]


def build_prediction(
    loaded: ScoringModel,
    image: XrayImage,
    logits: np.ndarray,
    probabilities: np.ndarray,
    ood_score: float | None,
    elapsed_ms: float,
    features: np.ndarray | None = None,
) -> Prediction:
    """A :class:`Prediction` from one forward pass's logits and calibrated probabilities (refusal rules included).

    ``features``: the film's (D,) penultimate features; with them the checkpoint's age probe (if any) estimates
    the age group and the age-support check runs.
    """
    names = loaded.class_names
    top = int(np.argmax(probabilities))
    ages = estimate_age(loaded.meta.age_probe, features)
    age = None if ages is None else ages[0]
    return Prediction(
        name=str(image.meta.get("name", "")),
        label=names[top],
        probabilities={name: float(p) for name, p in zip(names, probabilities, strict=True)},
        logits=[float(v) for v in logits],
        elapsed_ms=round(elapsed_ms, 2),
        ood_score=ood_score,
        ood_threshold=ood.threshold(loaded.meta.ood),
        decisions=assess(loaded, image, ood_score, float(probabilities[top]), names[top], age),
        age_group_estimate=None if age is None else age.to_dict(),
    )
