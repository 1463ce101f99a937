"""Decisions are data: every refusal, warning or flag is a small typed record, rendered to words at the edge.

The dashboard, the audit log, the CLI and the reliability report read ``code`` (and the numbers), never the
English ``message``; the message is there for logs and plain-text output.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["refuse", "warn"]

#: Every code a decision may carry, with its severity. New checks add a line here.
CODES: dict[str, Severity] = {
    "ood_features": "refuse",  # penultimate features far from training radiographs (Mahalanobis)
    "extreme_aspect": "refuse",  # longest / shortest side above the limit
    "uniform_image": "refuse",  # pixel standard deviation below the limit
    "image_statistics": "refuse",  # 12 global statistics unlike chest radiographs
    "low_confidence": "warn",  # top-class probability below the limit
    "uncertain": "warn",  # top-class probability under the checkpoint's fitted operating point: refer
    "age_support": "warn",  # the predicted class has (almost) no training films of the film's estimated age group
    "adult_caution": "warn",  # an adult-looking film called COVID-19, bacterial or viral: the measured adult figure
    "untrained_model": "warn",  # a placeholder checkpoint: probabilities are meaningless
    "outside_lungs": "warn",  # most of the heatmap's weight lies outside the lungs: a likely shortcut
}


@dataclass(frozen=True)
class Decision:
    """One finding about one prediction: ``score`` compared with ``threshold`` gave ``code``.

    ``detail``: the measured figure behind a warning that quotes one (``adult_caution``: value, n, interval...).
    """

    code: str
    message: str
    score: float | None = None
    threshold: float | None = None
    detail: dict[str, Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown decision code {self.code!r}; known: {', '.join(CODES)}")

    @property
    def severity(self) -> Severity:
        return CODES[self.code]

    @property
    def refuses(self) -> bool:
        return self.severity == "refuse"

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        if values["detail"] is None:  # only decisions that quote a figure carry the key
            del values["detail"]
        return {**values, "severity": self.severity}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Decision:
        return cls(
            code=values["code"],
            message=values["message"],
            score=values.get("score"),
            threshold=values.get("threshold"),
            detail=values.get("detail"),
        )


__all__ = ["CODES", "Decision", "Severity"]
