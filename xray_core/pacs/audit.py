"""One audit line per film scored or refused from a PACS, in the log named by ``$XRAY_AUDIT_LOG``.

The core's :class:`~xray_core.inference.audit.AuditLog` records a prediction of an uploaded file; a film from a
PACS also needs its SOP Instance UID (the auditor's key into the archive) and may be refused from its header
before any prediction exists. So this writes the same fields (``RECORD_KEYS``: time, user, input hash, model,
probabilities, decisions) plus ``source`` and ``sop_instance_uid``, to the same file, in the same way (one
``O_APPEND`` write per line). Never a patient name, id, date or accession number.
"""

from __future__ import annotations

from typing import Any

from xray_core.inference.audit import from_env, now, prediction_fields, sha256_hex

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
        "time": now(),
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
    return {**record, **prediction_fields(prediction)}


def audit_film(record: dict[str, Any]) -> bool:
    """Append ``record`` to ``$XRAY_AUDIT_LOG``; False (nothing written) when the variable is unset."""
    log = from_env()
    if log is None:
        return False
    log.append(record)
    return True


__all__ = ["SOURCE", "audit_film", "film_record"]
