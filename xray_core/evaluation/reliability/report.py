"""The reliability report: throw photos, generated images, hostile files and test radiographs at the model.

``python -m xray_core reliability`` runs every input of :mod:`xray_core.evaluation.reliability.inputs` plus radiographs
of the corpus's test split through ``read_image -> predict_image`` (and Grad-CAM for the hostile files that
decode) and counts, per family: inputs, clear :class:`~xray_core.io.reader.XrayInputError` refusals, valid results,
out-of-distribution refusals (by feature-space score and by input checks), crashes (anything else: must be 0)
and the slowest input. The integrity families (:mod:`xray_core.evaluation.reliability.integrity`: a forged ONNX
export, a tampered similar-case index, broken and oversized ZIP archives) count per probe: rejected clearly,
read as it should be, crashed, or a failed check. Goals: 100 % of natural photos refused, at most 2 % of
test radiographs refused, no crash, no failed integrity check. Thresholds come from train/val data only; the test
split is only measured.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from xray_core.evaluation.reliability.files import Case
from xray_core.evaluation.reliability.generated import generated_cases
from xray_core.evaluation.reliability.hostile import hostile_cases
from xray_core.evaluation.reliability.photos import figure_cases, photo_cases
from xray_core.inference import wording
from xray_core.inference.predict import Prediction, predict_batch, predict_image
from xray_core.io.image import XrayImage, XrayInputError
from xray_core.io.reader import read_image
from xray_core.models.checkpoint import LoadedModel

PHOTO_GOAL = 1.0  # share of natural photos that must be refused
RADIOGRAPH_BUDGET = 0.02  # share of test radiographs that may be refused
TEST_FAMILY = "test radiographs"


@dataclass
class FamilyResult:
    """Counts for one family of inputs. ``refusal_rate`` is over valid results (None when there are none)."""

    family: str
    radiographs: bool = False  # True: refusals are the errors; False: acceptances are
    inputs: int = 0
    input_errors: int = 0
    valid: int = 0
    refused: int = 0
    refused_by_score: int = 0
    refused_by_checks: int = 0
    crashes: int = 0
    slowest_seconds: float = 0.0
    median_ood_score: float | None = None
    crash_examples: list[str] = field(default_factory=list)
    notable: list[str] = field(default_factory=list)  # accepted non-radiographs, or refused radiographs
    integrity: bool = False  # a probe family: ``valid`` counts good parts still read, nothing is refused
    failed_checks: int = 0  # probes the check let through (a forged file used, a bad member unnamed): must be 0
    failures: list[str] = field(default_factory=list)

    @property
    def refusal_rate(self) -> float | None:
        return self.refused / self.valid if self.valid and not self.integrity else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "refusal_rate": self.refusal_rate}


def radiograph_cases(data_dir: str | Path, split: str = "test", n: int = 0, seed: int = 0) -> list[Case]:
    """Radiographs of one split of the corpus (``n`` > 0: a seeded random sample of n), as read from disk."""
    from xray_core.data.dataset import load_dataset

    table = load_dataset(data_dir)
    rows = table[table["split"] == split]
    if n and n < len(rows):
        rows = rows.sample(n=n, random_state=seed)
    return [Case(f"{split} radiographs", Path(path).name, Path(path).read_bytes(), "valid") for path in rows["path"]]


def _checked(prediction: Prediction) -> Prediction:
    """The prediction, or AssertionError when it breaks the contract (finite probabilities summing to 1)."""
    values = np.array(list(prediction.probabilities.values()), dtype=np.float64)
    if not (np.isfinite(values).all() and abs(values.sum() - 1.0) < 1e-4 and (values >= 0).all()):
        raise AssertionError(f"invalid probabilities {prediction.probabilities}")
    return prediction


def _decode(case: Case) -> tuple[XrayImage | None, str]:
    """(image, '') or (None, 'error') for a clean refusal, or (None, 'crash: ...') for anything else."""
    try:
        return read_image(case.data, name=case.name), ""
    except XrayInputError:
        return None, "error"
    except Exception as error:  # the report exists to count these
        return None, f"crash: {case.name}: read_image raised {type(error).__name__}: {str(error)[:160]}"


def _predict_all(loaded: LoadedModel, images: list[XrayImage], explain_too: bool) -> list[Prediction | str]:
    """Predictions in batches; on a failing batch each image is retried alone so one crash names one input."""
    if not explain_too:
        try:
            return [_checked(p) for p in predict_batch(loaded, images)]
        except Exception:  # isolate the culprit below
            pass
    from xray_core.explain.cam import explain

    results: list[Prediction | str] = []
    for image in images:
        try:
            prediction = _checked(predict_image(loaded, image))
            if explain_too and not np.isfinite(explain(loaded, image).cam).all():
                raise AssertionError("non-finite Grad-CAM map")
            results.append(prediction)
        except Exception as error:
            results.append(f"crash: {image.meta.get('name')}: {type(error).__name__}: {str(error)[:160]}")
    return results


def run_family(
    loaded: LoadedModel,
    family: str,
    cases: Sequence[Case],
    explain_too: bool = False,
    radiographs: bool = False,
    chunk: int = 32,
) -> FamilyResult:
    """Read, predict (and optionally explain) every case of one family; never raises for a bad input."""
    result, scores = FamilyResult(family, radiographs, inputs=len(cases)), []
    for start in range(0, len(cases), chunk):
        decoded: list[tuple[XrayImage, float]] = []
        for case in cases[start : start + chunk]:
            began = time.perf_counter()
            image, outcome = _decode(case)
            seconds = time.perf_counter() - began
            if image is not None:
                decoded.append((image, seconds))
                continue
            result.slowest_seconds = max(result.slowest_seconds, seconds)
            if outcome == "error":
                result.input_errors += 1
            else:
                _crash(result, outcome)
        if not decoded:
            continue
        began = time.perf_counter()
        outcomes = _predict_all(loaded, [image for image, _ in decoded], explain_too)
        share = (time.perf_counter() - began) / len(decoded)  # batched: each image's share of the batch
        for (_, seconds), outcome in zip(decoded, outcomes, strict=True):
            result.slowest_seconds = max(result.slowest_seconds, seconds + share)
            if isinstance(outcome, str):
                _crash(result, outcome)
                continue
            result.valid += 1
            scores.append(outcome.ood_score)
            _count_refusal(result, outcome)
    known = [s for s in scores if s is not None]
    result.median_ood_score = round(float(np.median(known)), 2) if known else None
    result.slowest_seconds = round(result.slowest_seconds, 3)
    return result


def _crash(result: FamilyResult, message: str) -> None:
    result.crashes += 1
    if len(result.crash_examples) < 10:
        result.crash_examples.append(message)


def _count_refusal(result: FamilyResult, prediction: Prediction) -> None:
    """Count the refusal exactly as users get it (the decisions made by ``inference.refusal``)."""
    codes = {decision.code for decision in prediction.refusals()}
    result.refused += int(prediction.refused)
    result.refused_by_score += int("ood_features" in codes)
    result.refused_by_checks += int(bool(codes - {"ood_features"}))
    score = "n/a" if prediction.ood_score is None else f"{prediction.ood_score:.1f}"
    if prediction.refused == result.radiographs and len(result.notable) < 8:  # the family's surprises
        checks = [wording.reason(d) for d in prediction.refusals() if d.code != "ood_features"]
        reason = f"; {checks[0]}" if checks else ""
        result.notable.append(f"{prediction.name} (OOD score {score}{reason})")


def run_report(
    loaded: LoadedModel,
    data_dir: str | Path | None = None,
    n_test: int = 0,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every family through ``loaded`` (test radiographs only when ``data_dir`` is given); a JSON-able report."""
    from xray_core.evaluation.reliability.integrity import integrity_families
    from xray_core.inference import ood

    began = time.perf_counter()
    families: list[tuple[str, Callable[[], FamilyResult]]] = [
        ("natural photos", lambda: run_family(loaded, "natural photos", photo_cases())),
        ("other non-radiographs", lambda: run_family(loaded, "other non-radiographs", figure_cases())),
        ("generated", lambda: run_family(loaded, "generated", generated_cases(seed))),
        # explain_too: the hostile files that decode also go through Grad-CAM
        ("hostile files", lambda: run_family(loaded, "hostile files", hostile_cases(seed), explain_too=True)),
    ]
    if data_dir is not None:
        test = lambda: radiograph_cases(data_dir, "test", n_test, seed)  # noqa: E731 (read when its turn comes)
        families.append((TEST_FAMILY, lambda: run_family(loaded, TEST_FAMILY, test(), radiographs=True)))
    families += integrity_families(loaded, seed)
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # corrupt files make Pillow warn; each still ends in an error or a result
        for family, run in families:
            if progress is not None:
                progress(family)
            results.append(run())
    return {
        "model": loaded.identity(),
        "ood_threshold": ood.threshold(loaded.meta.ood),
        "input_stats_threshold": loaded.meta.input_stats.threshold if loaded.meta.input_stats else None,
        "data_dir": None if data_dir is None else Path(data_dir).name,
        "n_test": n_test,
        "seed": seed,
        "seconds": round(time.perf_counter() - began, 1),
        "inputs": sum(r.inputs for r in results),
        "crashes": sum(r.crashes for r in results),
        "failed_checks": sum(r.failed_checks for r in results),
        "families": [r.to_dict() for r in results],
        "goals": _goals(results),
    }


def _goals(results: list[FamilyResult]) -> list[dict[str, Any]]:
    """The issue's goals, each with its measured value and whether it passed."""
    by_name = {r.family: r for r in results}
    goals = [{"goal": "crashes", "target": "0", "value": sum(r.crashes for r in results)}]
    integrity = [r for r in results if r.integrity]
    if integrity:
        goals.append(
            {"goal": "failed integrity checks", "target": "0", "value": sum(r.failed_checks for r in integrity)}
        )
    for goal in goals:
        goal["passed"] = goal["value"] == 0
    photos = by_name.get("natural photos")
    if photos is not None:
        rate = photos.refusal_rate
        goals.append(
            {
                "goal": "natural photos refused",
                "target": f">= {PHOTO_GOAL:.0%}",
                "value": rate,
                "passed": rate is not None and rate >= PHOTO_GOAL,
            }
        )
    test = by_name.get(TEST_FAMILY)
    if test is not None:
        rate = test.refusal_rate
        goals.append(
            {
                "goal": "test radiographs refused",
                "target": f"<= {RADIOGRAPH_BUDGET:.0%}",
                "value": rate,
                "passed": rate is not None and rate <= RADIOGRAPH_BUDGET,
            }
        )
    return goals


__all__ = ["FamilyResult", "PHOTO_GOAL", "RADIOGRAPH_BUDGET", "radiograph_cases", "run_family", "run_report"]
