"""The one read-and-predict loop: (name, source) items in, one result per item out, in order, never aborting.

The CLI, evaluation and the dashboard's batch and gallery pages all score many files through here, so a bad
file is handled the same way everywhere: it comes back as a row with its error, and the others go on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from xray_core.inference.predict import Prediction, predict_batch
from xray_core.io.image import XrayImage, XrayInputError
from xray_core.io.reader import read_image
from xray_core.io.source import Source
from xray_core.models.scoring import ScoringModel


@dataclass(frozen=True)
class Scored:
    """One input's outcome: ``prediction`` (and the image read) or the ``error`` that says why there is none."""

    name: str
    prediction: Prediction | None = None
    image: XrayImage | None = None
    error: str = ""


def predict_sources(
    loaded: ScoringModel,
    items: Iterable[tuple[str, Source | XrayImage | XrayInputError]],
    batch_size: int = 32,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Scored]:
    """Read and predict ``(name, path | bytes | file)`` items in batches; yields one :class:`Scored` per item.

    ``progress(n)`` is called after each batch with the number of items finished so far. A source may also be an
    :class:`XrayImage` or the :class:`XrayInputError` a decoding worker already got (``inference.folder``);
    an :class:`~xray_core.inference.onnx.engine.OnnxModel` scores with ONNX Runtime instead of torch.
    """
    done = 0
    for pending, predictions in _scored(loaded, _batches(items, batch_size), batch_size):
        scored = iter(predictions)
        for name, image, error in pending:
            yield Scored(name, next(scored), image) if image is not None else Scored(name, error=error)
        done += len(pending)
        if progress is not None:
            progress(done)


Pending = list[tuple[str, XrayImage | None, str]]  # (name, image read or None, why not)


def _batches(items: Iterable[tuple[str, Source | XrayImage | XrayInputError]], batch_size: int) -> Iterator[Pending]:
    pending: Pending = []
    for name, source in items:
        pending.append(_read(name, source))
        if len(pending) >= batch_size:
            yield pending
            pending = []
    if pending:
        yield pending


def _scored(
    loaded: ScoringModel, batches: Iterator[Pending], batch_size: int
) -> Iterator[tuple[Pending, list[Prediction]]]:
    """Each batch with the predictions for its images; an OnnxModel overlaps the network with the rest
    (:meth:`~xray_core.inference.onnx.engine.OnnxModel.predict_stream`), torch scores one batch at a time."""
    stream = getattr(loaded, "predict_stream", None)
    if stream is None:  # the torch LoadedModel: the one engine without a stream of its own
        for pending in batches:
            yield pending, predict_batch(loaded, [image for _, image, _ in pending if image is not None], batch_size)
        return
    queued: deque[Pending] = deque()

    def images() -> Iterator[list[XrayImage]]:
        for pending in batches:
            queued.append(pending)
            yield [image for _, image, _ in pending if image is not None]

    for predictions in stream(images()):
        yield queued.popleft(), predictions


def _read(name: str, source: Source | XrayImage | XrayInputError) -> tuple[str, XrayImage | None, str]:
    if isinstance(source, XrayImage):
        return name, source, ""
    if isinstance(source, XrayInputError):
        return name, None, str(source)
    try:
        return name, read_image(source, name=name), ""
    except XrayInputError as error:
        return name, None, str(error)


__all__ = ["Scored", "predict_sources"]
