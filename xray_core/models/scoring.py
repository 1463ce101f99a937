"""What scoring code reads of a model, whichever engine runs the network.

The torch :class:`~xray_core.models.checkpoint.LoadedModel` and the ONNX engine's
:class:`~xray_core.inference.onnx.engine.OnnxModel` both satisfy :class:`ScoringModel`: a prediction, its
refusals and warnings, the audit line and the folder table read only these (typed metadata, hash, file, identity),
so either engine gives the same result. How the network runs is each engine's own (the torch loop in
``inference.predict``, ``OnnxModel.predict_stream``) and is not part of it. Here, below both, so neither engine
imports the other.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from xray_core.config import Preprocessing
from xray_core.models.meta import CheckpointMeta


@runtime_checkable
class ScoringModel(Protocol):
    """A loaded classifier as predict, refusal, audit and folder scoring see it."""

    meta: CheckpointMeta  # everything a prediction depends on: temperature, refusal statistics, operating point
    sha256: str  # the checkpoint's own SHA-256 (weights and metadata)
    path: str  # the checkpoint file ('' for a model built in memory)

    @property
    def class_names(self) -> tuple[str, ...]: ...

    @property
    def preprocessing(self) -> Preprocessing: ...

    @property
    def temperature(self) -> float: ...

    @property
    def trained(self) -> bool: ...

    @property
    def version(self) -> str: ...

    def identity(self) -> dict[str, Any]:
        """Which model answered: shown, logged and written into every report."""
        ...


__all__ = ["ScoringModel"]
