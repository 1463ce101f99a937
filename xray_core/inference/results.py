"""A prediction as a file someone takes away: the result JSON of one image, the rows and CSV of a batch.

Flags are the prediction's decision codes (:mod:`xray_core.inference.decisions`); the JSON keeps them as codes,
the CSV (read by people, in a spreadsheet) words them in their short form (:func:`xray_core.inference.wording.short`).
Percentages are rounded so that they add up to exactly 100, here and on every page that shows them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from xray_core.config import CLASS_TITLES
from xray_core.inference.predict import Prediction
from xray_core.inference.wording import DISCLAIMER, measured_sentence, short


def percentages(probabilities: dict[str, float], decimals: int = 1) -> dict[str, float]:
    """Probabilities as percentages rounded to ``decimals`` that sum to exactly 100 (largest remainder).

    Plain rounding shows 33.3 + 33.3 + 33.3 = 99.9 %, which reads as an error on a clinical screen.
    """
    unit = 10**decimals
    raw = {name: max(0.0, float(p)) for name, p in probabilities.items()}
    total = sum(raw.values()) or 1.0
    scaled = {name: p / total * 100 * unit for name, p in raw.items()}
    floors = {name: math.floor(v) for name, v in scaled.items()}
    missing = 100 * unit - sum(floors.values())
    for name in sorted(scaled, key=lambda n: scaled[n] - floors[n], reverse=True)[:missing]:
        floors[name] += 1
    return {name: floors[name] / unit for name in probabilities}


def prediction_flags(prediction: Prediction) -> list[str]:
    """The codes of the prediction's decisions, each once, in order (refusals and warnings alike)."""
    return list(dict.fromkeys(decision.code for decision in prediction.decisions))


def flag_words(codes: Sequence[str]) -> str:
    """Codes in their short words, comma-separated ('' for none)."""
    return ", ".join(short(code) for code in codes)


def result_record(
    prediction: Prediction, image_meta: dict[str, Any], model: dict[str, Any], explanation: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The JSON-able result of one image: image meta (never patient data), prediction, model and heatmap.

    ``model``: the model's identity (:meth:`~xray_core.models.checkpoint.LoadedModel.identity`).
    """
    values = prediction.to_dict()
    return {
        "disclaimer": DISCLAIMER,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "image": dict(image_meta),
        "prediction": {
            **values,
            "top_class_title": CLASS_TITLES.get(values["label"], values["label"]),
            "percentages": percentages(values["probabilities"]),
            "flags": prediction_flags(prediction),
        },
        "model": dict(model),
        "explanation": explanation,
    }


def result_json(record: dict[str, Any]) -> str:
    """A :func:`result_record` as indented JSON (numpy scalars and arrays become plain numbers and lists)."""
    return json.dumps(record, indent=2, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def batch_row(name: str, prediction: Prediction | None, class_names: Sequence[str], error: str = "") -> dict[str, Any]:
    """One results-table row: file, top class, a percentage per class, ``uncertain`` (refer), the estimated age
    group ('adult 97 %'; '' without an age probe), flags in words (or the read error) and, on a film that carries
    an ``adult_caution``, the adult figure measured for this model behind it."""
    row: dict[str, Any] = {"file": name}
    if prediction is None:
        return {
            **row,
            "top_class": "",
            **{f"{c} %": None for c in class_names},
            "uncertain": None,
            "age_group_estimate": "",
            "flags": f"unreadable: {error}",
            "adult_measured": "",
        }
    shares = percentages(prediction.probabilities)
    age = prediction.age_group_estimate
    return {
        **row,
        "top_class": CLASS_TITLES.get(prediction.label, prediction.label),
        **{f"{c} %": shares.get(c) for c in class_names},
        "uncertain": prediction.uncertain,
        "age_group_estimate": f"{age['group']} {100 * age['probability']:.0f} %" if age else "",
        "flags": flag_words(prediction_flags(prediction)),
        "adult_measured": _adult_measured(prediction),
    }


def _adult_measured(prediction: Prediction) -> str:
    """The measured adult figure an ``adult_caution`` decision carries, worded ('' when there is none)."""
    caution = [decision for decision in prediction.decisions if decision.code == "adult_caution"]
    return measured_sentence(caution[0].detail) if caution else ""


def results_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """UTF-8 CSV of batch rows, with the disclaimer as a leading comment line."""
    return (f"# {DISCLAIMER}\n" + pd.DataFrame(list(rows)).to_csv(index=False)).encode("utf-8")


__all__ = [
    "batch_row",
    "flag_words",
    "percentages",
    "prediction_flags",
    "result_json",
    "result_record",
    "results_csv",
]
