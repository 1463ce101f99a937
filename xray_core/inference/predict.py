"""Inference: an :class:`~xray_core.io.reader.XrayImage` in, typed calibrated probabilities out."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from xray_core.inference import input_checks, ood
from xray_core.io.reader import XrayImage
from xray_core.models.checkpoint import LoadedModel
from xray_core.models.networks import penultimate_features
from xray_core.models.preprocessing import to_tensor

LOW_CONFIDENCE = 0.5  # top-class probability under this is flagged for the user


@dataclass
class Prediction:
    """One image's result. ``probabilities`` maps class name to a calibrated probability (sums to 1)."""

    name: str
    label: str
    probabilities: dict[str, float]
    logits: list[float]
    elapsed_ms: float
    ood_score: float | None = None
    ood_threshold: float | None = None
    refused: bool = False
    low_confidence: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def image_batch(loaded: LoadedModel, images: Sequence[XrayImage]) -> torch.Tensor:
    """Preprocess images into one (N, C, S, S) float tensor with the checkpoint's own preprocessing."""
    prep = loaded.preprocessing
    return torch.stack([to_tensor(image.pixels, prep) for image in images])


def calibrated_probabilities(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(logits / T): temperature scaling fitted on the validation split (Guo et al., 2017)."""
    return torch.softmax(logits.double() / temperature, dim=1).float()


def predict_batch(loaded: LoadedModel, images: Sequence[XrayImage], batch_size: int = 32) -> list[Prediction]:
    """Predict many images in batches of ``batch_size``; results keep the input order."""
    results: list[Prediction] = []
    for start in range(0, len(images), batch_size):
        chunk = list(images[start:start + batch_size])
        began = time.perf_counter()
        with torch.inference_mode():
            features, logits = penultimate_features(loaded.model, image_batch(loaded, chunk))
        probabilities = calibrated_probabilities(logits, loaded.temperature).numpy()
        scores = ood.score(loaded.meta.get("ood"), features.numpy())
        elapsed = (time.perf_counter() - began) * 1000 / len(chunk)
        for index, image in enumerate(chunk):
            results.append(build_prediction(loaded, image, logits[index].numpy(), probabilities[index],
                                       None if scores is None else float(scores[index]), elapsed))
    return results


def predict_image(loaded: LoadedModel, image: XrayImage) -> Prediction:
    """Predict one image."""
    return predict_batch(loaded, [image])[0]


def build_prediction(loaded: LoadedModel, image: XrayImage, logits: np.ndarray, probabilities: np.ndarray,
                     ood_score: float | None, elapsed_ms: float) -> Prediction:
    """A :class:`Prediction` from one forward pass's logits and calibrated probabilities (refusal rules included)."""
    names = loaded.class_names
    top = int(np.argmax(probabilities))
    threshold = ood.threshold(loaded.meta.get("ood"))
    by_score = ood_score is not None and threshold is not None and ood_score > threshold
    flags = input_checks.input_flags(image, loaded.meta.get("input_stats"))  # cheap image-level checks
    refused = by_score or bool(flags)
    notes = []
    if not loaded.trained:
        notes.append("UNTRAINED placeholder checkpoint: these probabilities are meaningless")
    if by_score:
        notes.append(f"does not look like a frontal chest radiograph (OOD score {ood_score:.1f} > {threshold:.1f})")
    notes.extend(f"does not look like a frontal chest radiograph: {flag}" for flag in flags)
    return Prediction(
        name=str(image.meta.get("name", "")),
        label=names[top],
        probabilities={name: float(p) for name, p in zip(names, probabilities)},
        logits=[float(v) for v in logits],
        elapsed_ms=round(elapsed_ms, 2),
        ood_score=ood_score,
        ood_threshold=threshold,
        refused=refused,
        low_confidence=float(probabilities[top]) < LOW_CONFIDENCE,
        notes=notes,
    )
