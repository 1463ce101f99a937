"""An optional local audit log: one JSON line per prediction, never any patient data.

Enabled by setting ``XRAY_AUDIT_LOG`` to a file path (the CLI and the dashboard call :func:`from_env`).
Each line holds only: UTC time, who asked (the signed-in user name; '' where the app is open), the SHA-256 of the
input file's bytes, the model version and weights SHA-256,
the calibrated probabilities, the top class, the out-of-distribution score and the decisions (codes with their
scores and thresholds, never free text).
The file name is *not* logged: names of clinical files often contain patient names or record numbers, and
DICOM header fields never reach :class:`~xray_core.io.reader.XrayImage` in the first place. The input hash lets an
auditor match a line to a file they hold without the log itself revealing the image.

Writes are thread- and process-safe: each record is one ``os.write`` on a file opened with ``O_APPEND``
(POSIX appends of one buffer are not interleaved with other appends), under a lock for threads of one process.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xray_core.inference.predict import Prediction
from xray_core.models.scoring import ScoringModel

ENV_VAR = "XRAY_AUDIT_LOG"
#: The only keys a record ever has (tests assert this whitelist).
RECORD_KEYS: tuple[str, ...] = (
    "time",
    "user",
    "input_sha256",
    "model_version",
    "model_sha256",
    "label",
    "probabilities",
    "refused",
    "ood_score",
    "ood_threshold",
    "decisions",
)


def sha256_hex(data: bytes | bytearray | memoryview) -> str:
    """Hex SHA-256 of raw input bytes (what :meth:`AuditLog.record` expects as ``input_sha256``)."""
    return hashlib.sha256(bytes(data)).hexdigest()


def now() -> str:
    """A record's UTC time, to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def prediction_fields(prediction: Prediction) -> dict[str, Any]:
    """What a record says of a prediction: top class, rounded probabilities, refusal, OOD score, decision codes."""
    return {
        "label": prediction.label,
        "probabilities": {name: round(float(p), 6) for name, p in prediction.probabilities.items()},
        "refused": bool(prediction.refused),
        "ood_score": None if prediction.ood_score is None else round(float(prediction.ood_score), 4),
        "ood_threshold": None if prediction.ood_threshold is None else round(float(prediction.ood_threshold), 4),
        "decisions": [{"code": d.code, "score": d.score, "threshold": d.threshold} for d in prediction.decisions],
    }


class AuditLog:
    """Append-only JSON-lines audit log at ``path`` (parent folders are created on first write)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def record(
        self, input_sha256: str, prediction: Prediction, model_version: str, model_sha256: str = "", user: str = ""
    ) -> dict[str, Any]:
        """Append one line for ``prediction`` asked for by ``user`` and return the record written."""
        if len(input_sha256) != 64 or any(c not in "0123456789abcdef" for c in input_sha256):
            raise ValueError("input_sha256 must be a 64-character lower-case hex SHA-256 (use sha256_hex(bytes))")
        entry = {
            "time": now(),
            "user": str(user),
            "input_sha256": input_sha256,
            "model_version": str(model_version),
            "model_sha256": str(model_sha256),
            **prediction_fields(prediction),
        }
        self.append(entry)
        return entry

    def append(self, entry: dict[str, Any]) -> None:
        """Write ``entry`` as one line: one ``os.write`` on an ``O_APPEND`` file, under this log's thread lock."""
        line = (json.dumps(entry, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(descriptor, line)
            finally:
                os.close(descriptor)

    def read(self) -> list[dict[str, Any]]:
        """Every record so far (empty when the file does not exist yet)."""
        if not self.path.is_file():
            return []
        return [json.loads(line) for line in self.path.read_text("utf-8").splitlines() if line.strip()]


_SHARED: dict[str, AuditLog] = {}
_SHARED_LOCK = threading.Lock()


def from_env() -> AuditLog | None:
    """The log named by ``$XRAY_AUDIT_LOG`` (one shared, thread-safe instance per path), or None when unset."""
    path = os.environ.get(ENV_VAR, "").strip()
    if not path:
        return None
    with _SHARED_LOCK:
        return _SHARED.setdefault(path, AuditLog(path))


def audit_prediction(
    data: bytes, prediction: Prediction, loaded: ScoringModel, user: str = ""
) -> dict[str, Any] | None:
    """Log one prediction of input ``data`` when ``$XRAY_AUDIT_LOG`` is set; a no-op returning None otherwise.

    ``loaded``: the model (either engine) that produced ``prediction``; ``user``: who
    asked for it (a sign-in name, never a file name).
    """
    log = from_env()
    if log is None:
        return None
    return log.record(sha256_hex(data), prediction, loaded.version, loaded.sha256, user)


__all__ = [
    "ENV_VAR",
    "RECORD_KEYS",
    "AuditLog",
    "audit_prediction",
    "from_env",
    "now",
    "prediction_fields",
    "sha256_hex",
]
