"""Reading many films ahead of their use, in worker processes, in order, with bounded memory.

Folder scoring decoded in ``torch.utils.data.DataLoader`` workers, which meant importing torch (3 s or more on
2 cores) only to fork two processes, even when the ONNX engine scores without torch. Here a plain process pool
(``spawn``: a fresh interpreter that imports only :mod:`xray_core.io`, never a fork of a process holding ONNX
Runtime or torch threads) reads chunks of files while the caller scores earlier ones. At most ``workers * 4``
chunks are in flight, so memory stays bounded whatever the number of files. An item never raises: a film that
cannot be read comes back as the :class:`XrayInputError` saying why, in its place.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import Iterator, Sequence

from xray_core.io.image import XrayImage, XrayInputError
from xray_core.io.reader import read_image

Read = tuple[str, XrayImage | XrayInputError]


def read_one(root: str, name: str) -> Read:
    """``(name, image)`` for ``root/name``, or ``(name, error)``; never raises."""
    try:
        return name, read_image(os.path.join(root, name), name=name)
    except XrayInputError as error:
        return name, error
    except Exception as error:  # a decoder bug on one file must not end a run over millions
        return name, XrayInputError(f"{name}: could not be decoded ({type(error).__name__}: {error})")


def read_chunk(root: str, names: Sequence[str]) -> list[Read]:
    return [read_one(root, name) for name in names]


def spawn_safe() -> bool:
    """Can ``spawn`` workers start here? A spawned child re-runs the parent's ``__main__`` unless it can import it
    by name (``python -m ...``, which the CLI and ``torchrun -m`` use). Under Streamlit ``__main__`` is the app
    script itself, which would run again in every worker; there the films are read in-process instead."""
    main = sys.modules.get("__main__")
    return getattr(getattr(main, "__spec__", None), "name", None) is not None or not hasattr(main, "__file__")


def read_ahead(root: str | os.PathLike, names: Sequence[str], workers: int = 2, chunk: int = 8) -> Iterator[Read]:
    """``(name, image or error)`` for each of ``names`` (paths relative to ``root``), in order.

    ``workers`` > 0 reads in that many processes, ``chunk`` files per task, at most ``4 * workers`` tasks ahead;
    0 (or fewer than two files) reads here, one file at a time.
    """
    root = str(root)
    if workers <= 0 or len(names) < 2 or not spawn_safe():
        yield from (read_one(root, name) for name in names)
        return
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    chunks = [names[start : start + chunk] for start in range(0, len(names), chunk)]
    workers = min(workers, len(chunks))
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        pending: deque = deque()
        upcoming = iter(chunks)
        for names_in_chunk in upcoming:
            pending.append(pool.submit(read_chunk, root, names_in_chunk))
            if len(pending) >= 4 * workers:
                break
        while pending:
            done = pending.popleft().result()
            following = next(upcoming, None)
            if following is not None:
                pending.append(pool.submit(read_chunk, root, following))
            yield from done


__all__ = ["Read", "read_ahead", "read_chunk", "read_one"]
