"""Which datasets the explorer may open: the data folder, its subfolders and an admin's list, never a typed path.

A free path box let any visitor list the server's folders and read CSV headers. The choices are now
``$XRAY_DATA_DIR`` (default :func:`xray_core.config.default_data_dir`), each folder directly inside it, and the
folders or manifest CSVs an administrator lists in ``$XRAY_DATASETS`` (separated by ``os.pathsep``, ``:`` on
Linux). Anything else is refused wherever a path arrives: the select box, session state or a direct call.
"""

from __future__ import annotations

import os
from pathlib import Path

from xray_core.config import default_data_dir

ENV_VAR = "XRAY_DATASETS"


def _resolved(path: str | os.PathLike) -> Path:
    return Path(path).expanduser().resolve()


def allowed_datasets() -> list[Path]:
    """The data folder (when it exists), its visible subfolders, then the admin's list; resolved, no repeats."""
    found: list[Path] = []
    root = default_data_dir()
    if root.is_dir():
        found.append(_resolved(root))
        found += sorted(_resolved(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if entry.strip() and Path(entry.strip()).expanduser().exists():
            found.append(_resolved(entry.strip()))
    return list(dict.fromkeys(found))


def is_allowed(path: str | os.PathLike) -> bool:
    """Whether ``path`` (after resolving links and ``..``) is one of :func:`allowed_datasets`."""
    return bool(str(path).strip()) and _resolved(str(path).strip()) in allowed_datasets()


def label(path: Path) -> str:
    """How a choice reads in the select box: relative to the data folder where it lies inside it."""
    root = _resolved(default_data_dir())
    if path == root:
        return f"{path.name} (data folder)"
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


REFUSED = (
    "This dataset is not one this server offers. Choose one from the list; an administrator adds folders "
    f"with `{ENV_VAR}` (folders or manifest CSVs separated by `{os.pathsep}`)."
)
