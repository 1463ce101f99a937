"""One audit line per film scored or refused from a PACS, in the log named by ``$XRAY_AUDIT_LOG``.

The core's :class:`~xray_core.inference.audit.AuditLog` records a prediction of an uploaded file; a film from a
PACS also needs its SOP Instance UID (the auditor's key into the archive) and may be refused from its header
before any prediction exists. So this writes the same fields (``RECORD_KEYS``: time, user, input hash, model,
probabilities, decisions) plus ``source`` and ``sop_instance_uid``, to the same file, in the same way (one
``O_APPEND`` write per line). Never a patient name, id, date or accession number.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from xray_core.inference.audit import from_env, sha256_hex

SOURCE = "pacs"


def film_record(
    data: bytes,
    sop_instance_uid: str,
    model: dict[str, Any],
    prediction: Any = None,
    refusal: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The line for one film: its ``prediction`` (a :class:`~xray_core.inference.Prediction`), or the header
    ``refusal`` (``{'code', 'field', 'value'}``) that stopped it before one was made."""
    record: dict[str, Any] = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "user": "",
        "source": SOURCE,
        "sop_instance_uid": str(sop_instance_uid),
        "input_sha256": sha256_hex(data),
        "model_version": str(model.get("version", "")),
        "model_sha256": str(model.get("sha256", "")),
    }
    if prediction is None:
        refusal = refusal or {}
        return {**record, "label": None, "probabilities": {}, "refused": True, "ood_score": None,
                "ood_threshold": None, "decisions": [{"code": refusal.get("code", "input_error"), "score": None,
                                                      "threshold": None, "field": refusal.get("field")}]}  # fmt: skip
    decisions = [{"code": d.code, "score": d.score, "threshold": d.threshold} for d in prediction.decisions]
    return {
        **record,
        "label": prediction.label,
        "probabilities": {name: round(float(p), 6) for name, p in prediction.probabilities.items()},
        "refused": bool(prediction.refused),
        "ood_score": None if prediction.ood_score is None else round(float(prediction.ood_score), 4),
        "ood_threshold": None if prediction.ood_threshold is None else round(float(prediction.ood_threshold), 4),
        "decisions": decisions,
    }


def audit_film(record: dict[str, Any]) -> bool:
    """Append ``record`` to ``$XRAY_AUDIT_LOG``; False (nothing written) when the variable is unset."""
    log = from_env()
    if log is None:
        return False
    line = (json.dumps(record, separators=(",", ":")) + "\n").encode("utf-8")
    log.path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(log.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(descriptor, line)
    finally:
        os.close(descriptor)
    return True


__all__ = ["SOURCE", "audit_film", "film_record"]
