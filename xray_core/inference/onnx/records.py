"""Which ONNX exports ``export-onnx`` verified: the records the ONNX engine trusts, kept apart from the exports.

An export's own metadata cannot vouch for it: anyone who can write the export folder (``$XRAY_ONNX_DIR``, which
may be shared) can write a graph whose metadata names the right checkpoint. So trust runs the other way. When
the export step has loaded the checkpoint (or segmenter) with torch, verified its hash and checked the graph
against torch on real films, it writes a record named by two hashes, ``<source file SHA-256>-<graph file
SHA-256>.json``, under ``<cache dir>/onnx-verified``. The engine hashes the graph bytes it is about to run and
runs them only when such a record exists for the source file it was given; every piece of metadata (temperature,
OOD statistics, operating point, age probe, preprocessing) is then read from that source file, never from the
graph.

What someone who can write ``$XRAY_ONNX_DIR`` (but not the cache's records, the weights or the code) can do:
delete or corrupt an export (the engine says so on one line and torch scores: slower, same answers), or put back
another export this machine verified for the *same* source file (harmless: it was verified). What they cannot do:
have any graph run that the export step did not verify for that exact checkpoint file, or change a number the
prediction uses. The records folder must therefore not lie inside the export folder; if it does (``XRAY_ONNX_DIR``
set to the cache itself), no export is trusted. Whoever can write the records can also write the code and is out
of reach of any check made by that code.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path

from xray_core.config import cache_dir
from xray_core.files import atomic_path

RECORDS = "onnx-verified"  # folder under the cache directory


class OnnxUnavailable(RuntimeError):
    """The ONNX engine cannot score with this checkpoint; the message says why and what to do.

    ``quiet``: the ordinary case (no export yet, onnxruntime not installed), where ``auto`` uses torch silently.
    ``rebuild``: running the export step would fix it (no export yet, a stale, unverified or unreadable one), so
    :func:`~xray_core.inference.onnx.auto.load_or_export` may; ``reason``: the message without the advice.
    """

    def __init__(self, message: str, quiet: bool = False, rebuild: bool = False, reason: str = "") -> None:
        super().__init__(message)
        self.quiet, self.rebuild, self.reason = quiet, rebuild, reason or message


def records_dir() -> Path:
    return cache_dir() / RECORDS


def record_export(source: str | Path, source_sha256: str, graph_sha256: str, export: str | Path) -> Path:
    """Record that the graph with file hash ``graph_sha256`` was verified as the export of the file ``source``
    (file hash ``source_sha256``); call it only after that verification. Returns the record's path."""
    path = records_dir() / f"{source_sha256}-{graph_sha256}.json"
    record = {
        "source": Path(source).name,
        "source_file_sha256": source_sha256,
        "export": Path(export).name,
        "export_sha256": graph_sha256,
        "verified": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
    return path


def verified_graph(export: Path, source_sha256: str, source_name: str, command: str) -> bytes:
    """The bytes of ``export`` when a record says the export step verified exactly them for the source file with
    hash ``source_sha256``; otherwise :class:`OnnxUnavailable` (not quiet) saying the file is ignored and what to
    run (``command``). The caller builds its session from these bytes, so what was checked is what runs."""
    if records_dir().resolve().is_relative_to(export.parent.resolve()):
        raise OnnxUnavailable(
            f"ONNX exports in {export.parent} are ignored: the folder holds the records that vouch for them; "
            f"set XRAY_ONNX_DIR to a folder of its own and run '{command}'"
        )
    data = export.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if not (records_dir() / f"{source_sha256}-{digest}.json").is_file():
        reason = (
            f"{export.name} is ignored: it is not a file 'export-onnx' verified for {source_name} on this machine "
            f"(no record of SHA-256 {digest[:12]}… in {records_dir()})"
        )
        raise OnnxUnavailable(f"{reason}; run '{command}'", rebuild=True, reason=reason)
    return data


__all__ = ["OnnxUnavailable", "record_export", "records_dir", "verified_graph"]
