"""The one place where a prediction's refusal and warnings are decided.

Predict, explain, the batch page, evaluation and the reliability report all come through :func:`assess`,
with the statistics that travel in the checkpoint, so what a report measures is what a user gets.

Two warnings read the top probability. ``low_confidence`` is a fixed floor (no class reaches 50 %), kept for the
``predict --json`` contract. ``uncertain`` compares it with the operating point fitted on validation and external
films (``fit-uncertain``, stored in the checkpoint's ``operating_point.uncertain``): under it, films kept were
less than the target accuracy, so the film is referred. The fitted point normally lies above the floor, so a
low-confidence film is also uncertain; pages then show the referral once (``dashboard/words.py``).

Every decision's ``message`` is worded by :mod:`xray_core.inference.wording`, like every other surface.
"""

from __future__ import annotations

from xray_core.inference import age, measured, ood
from xray_core.inference.decisions import Decision
from xray_core.inference.input_checks import input_checks
from xray_core.inference.wording import worded
from xray_core.io.image import XrayImage
from xray_core.models.records import OperatingPoint
from xray_core.models.scoring import ScoringModel

LOW_CONFIDENCE = 0.5  # top-class probability under this is flagged for the user


def uncertain_threshold(operating_point: OperatingPoint | None, group: str | None = None) -> float | None:
    """The fitted 'uncertain' threshold on the top probability for a film of estimated age ``group``: the group's
    own when it was fitted per age group (``fit-uncertain --by-age``), else the single one (also for a film without
    an estimate, and for checkpoints fitted before per-group thresholds); None when the checkpoint has none."""
    if operating_point is None or operating_point.uncertain is None:
        return None
    return operating_point.uncertain.for_group(group)


def assess(
    loaded: ScoringModel,
    image: XrayImage,
    ood_score: float | None,
    top_probability: float,
    label: str | None = None,
    age_estimate: age.AgeEstimate | None = None,
) -> list[Decision]:
    """Every decision about one prediction: refusals first (feature distance, image checks), then warnings.

    ``label`` (the top class) and ``age_estimate`` (from the checkpoint's age probe) enable the age-support check.
    """
    decisions: list[Decision] = []
    threshold = ood.threshold(loaded.meta.ood)
    if ood_score is not None and threshold is not None and ood_score > threshold:
        decisions.append(worded("ood_features", ood_score, threshold))
    decisions.extend(input_checks(image, loaded.meta.input_stats))
    if top_probability < LOW_CONFIDENCE:
        decisions.append(worded("low_confidence", top_probability, LOW_CONFIDENCE))
    refer = uncertain_threshold(loaded.meta.operating_point, age_estimate.group if age_estimate else None)
    if refer is not None and top_probability < refer:
        decisions.append(worded("uncertain", top_probability, refer))
    if label is not None and age_estimate is not None:
        decisions.extend(_age_support(loaded, label, age_estimate))
        decisions.extend(_adult_caution(loaded, label, age_estimate))
    if not loaded.trained:
        decisions.append(worded("untrained_model"))
    return decisions


def _age_support(loaded: ScoringModel, label: str, estimate: age.AgeEstimate) -> list[Decision]:
    """An ``age_support`` warning when ``label`` has no real training support in the film's estimated age group.

    Score: the share of the class's training films from that group; threshold: the share that counts as support.
    """
    summary = loaded.meta.data_summary
    if not age.unsupported(summary, estimate.group, label):
        return []
    in_group, total = age.training_support(summary, estimate.group, label)
    share = in_group / total
    return [worded("age_support", share, age.MIN_SUPPORT_SHARE, label=label, age=estimate.to_dict())]


def _adult_caution(loaded: ScoringModel, label: str, estimate: age.AgeEstimate) -> list[Decision]:
    """An ``adult_caution`` warning on an adult-looking film called COVID-19, bacterial or viral, carrying the
    adult figure measured for this checkpoint (score: its value; detail: value, n, interval; None when the
    checkpoint's evaluation report lacks it, so the caution still shows)."""
    if estimate.group != "adult" or label not in measured.ADULT_FIGURES:
        return []
    figure = measured.adult_figure(loaded, label)
    value = None if figure is None else figure["value"]
    return [worded("adult_caution", value, None, figure, label=label, age=estimate.to_dict())]


OUTSIDE_LUNGS = 0.5  # under this share of the heatmap's weight inside the lungs, most of the evidence lies outside


def assess_lungs(lung_fraction: float | None) -> list[Decision]:
    """An ``outside_lungs`` warning when under ``OUTSIDE_LUNGS`` of the heatmap's weight lies inside the lungs.

    A map that points mostly at text markers, the abdomen, devices or the film's edges shows a likely shortcut
    (DeGrave et al., Nature Machine Intelligence 2021), not evidence about the lungs. ``lung_fraction`` None (no
    figure may be given: see ``explain.lung_findings``) decides nothing."""
    if lung_fraction is None or lung_fraction >= OUTSIDE_LUNGS:
        return []
    return [worded("outside_lungs", lung_fraction, OUTSIDE_LUNGS)]


__all__ = ["LOW_CONFIDENCE", "OUTSIDE_LUNGS", "assess", "assess_lungs", "uncertain_threshold"]
