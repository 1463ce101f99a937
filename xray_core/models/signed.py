"""Signed weight files: the one file format of the classifier's checkpoint and the lung segmenter's.

A signed file is one ``torch.save`` dict of plain data, loadable with ``torch.load(weights_only=True)``::

    {**header, "meta": {...}, "state_dict": {...}, "sha256": "<hex of the weights and the meta>"}

``header`` names the format (``format``, ``format_version``, and ``kind`` for the segmenter), so neither loader
mistakes one file for the other. The SHA-256 covers the weights and the canonical JSON of the metadata and is
recomputed at load: it catches corruption and careless edits, not tampering (whoever rewrites the file can
rewrite the hash). Tampering with the *shipped* files is caught by ``weights/SHA256SUMS`` (``sha256sum``
format), which lives in version control beside them: a file loaded from ``weights/`` must match its pinned line.
``python -m xray_core sign-weights`` rewrites that list after a release replaces a file.

torch is imported inside the functions that need it: the ONNX engine reads a verified file's metadata with
:func:`read_header` and never imports torch.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xray_core.files import atomic_path
from xray_core.models.pinned import check_pinned, file_sha256, is_shipped, pin

if TYPE_CHECKING:
    import torch


def weights_sha256(state_dict: dict[str, torch.Tensor]) -> str:
    """SHA-256 over the tensors' names, dtypes, shapes and bytes in sorted key order."""
    import torch

    digest = hashlib.sha256()
    for key in sorted(state_dict):
        tensor = state_dict[key].detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def payload_sha256(state_dict: dict[str, torch.Tensor], meta: dict[str, Any] | None) -> str:
    """SHA-256 of the weights and the canonical JSON of the metadata; ``meta`` None: the weights only (the
    classifier's format 1)."""
    if meta is None:
        return weights_sha256(state_dict)
    digest = hashlib.sha256(weights_sha256(state_dict).encode())
    digest.update(json.dumps(meta, sort_keys=True, separators=(",", ":")).encode())
    return digest.hexdigest()


def write_signed(path: str | Path, header: dict[str, Any], state: dict[str, Any], meta: dict[str, Any]) -> str:
    """Write ``{**header, meta, state_dict, sha256}`` atomically (a crash never leaves half a file); returns the
    SHA-256. ``meta`` must already be plain JSON data: the hash is over its canonical JSON. A file written into
    ``weights/`` is pinned in its SHA256SUMS too."""
    import torch

    sha = payload_sha256(state, meta)
    with atomic_path(path) as tmp:
        torch.save({**header, "meta": meta, "state_dict": state, "sha256": sha}, tmp)
    if is_shipped(path):
        pin(path, file_sha256(path))
    return sha


def read_signed(
    path: str | Path,
    header: dict[str, Any],
    error: type[ValueError],
    missing: str,
    foreign: str,
    meta_hashed_from: int = 1,
    pinned: bool = True,
) -> dict[str, Any]:
    """Load a signed file and verify it: pinned hash (files in ``weights/``), header, format version, SHA-256.

    ``header``: the values the file must carry (its ``format_version`` is the newest this code reads);
    ``error``: the exception raised, ``missing`` its whole message for a missing file, ``foreign`` the advice after
    the file's name for a file of another format;
    ``meta_hashed_from``: the first format version whose hash covers the metadata; ``pinned`` False skips the
    ``SHA256SUMS`` check (only ``sign-weights``, which is about to rewrite the list).
    """
    import torch

    path = Path(path)
    if not path.is_file():
        raise error(missing)
    if pinned:
        check_pinned(path, error)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as caught:  # pickle, zip and unpickler errors all mean 'not a valid checkpoint'
        detail = f"{type(caught).__name__}: {str(caught)[:200]}"
        raise error(f"{path.name}: not a readable checkpoint ({detail})") from caught
    newest = header["format_version"]
    wanted = {key: value for key, value in header.items() if key != "format_version"}
    if not isinstance(payload, dict) or any(payload.get(key) != value for key, value in wanted.items()):
        raise error(f"{path.name}: {foreign}")
    version = payload.get("format_version", 0)
    if version > newest:
        raise error(
            f"{path.name}: format version {version} is newer than this code understands ({newest}); update xray_core"
        )
    actual = payload_sha256(payload["state_dict"], payload["meta"] if version >= meta_hashed_from else None)
    if actual != payload.get("sha256"):
        raise error(
            f"{path.name}: weights or metadata do not match their recorded SHA-256 (expected "
            f"{str(payload.get('sha256'))[:12]}…, got {actual[:12]}…); the file is corrupted or was altered"
        )
    return payload


class _MetadataOnly(pickle.Unpickler):
    """Unpickles a ``torch.save`` archive's ``data.pkl`` without torch: tensors become None (their bytes live in
    other archive members), and no global outside torch's tensor rebuilding and ``OrderedDict`` is resolved."""

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch" or module.startswith("torch."):
            return _nothing
        raise pickle.UnpicklingError(f"unexpected global {module}.{name} in a weight file")

    def persistent_load(self, pid: Any) -> None:
        return None


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def read_header(source: str | Path | bytes) -> dict[str, Any]:
    """A signed file's dict (from its path or its bytes) with every tensor None, without importing torch.

    It does not verify the embedded SHA-256 (that needs the tensors): trust what it returns only for a file whose
    hash matches one that :func:`read_signed` verified. Raises ``ValueError`` for anything but a ``torch.save``
    archive.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source) as archive:
            name = next(n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1)
            payload = _MetadataOnly(io.BytesIO(archive.read(name))).load()
    except (OSError, zipfile.BadZipFile, StopIteration, pickle.UnpicklingError, EOFError) as error:
        raise ValueError(f"not a torch.save archive ({type(error).__name__})") from error
    if not isinstance(payload, dict):
        raise ValueError("not a signed weight file")
    return payload


__all__ = ["payload_sha256", "read_header", "read_signed", "weights_sha256", "write_signed"]
