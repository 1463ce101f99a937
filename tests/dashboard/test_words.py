"""The pages' words: reasons and warnings come from codes and numbers, one message per film, the age caveat."""

from __future__ import annotations

from dashboard.words import age_confounding_notes, refusal_reasons, warnings
from xray_core.inference.decisions import Decision
from xray_core.inference.predict import Prediction


def _prediction(*decisions: Decision) -> Prediction:
    return Prediction(
        name="x.png",
        label="normal",
        probabilities={"normal": 0.4, "covid": 0.6},
        logits=[0.0] * 2,
        elapsed_ms=1.0,
        decisions=list(decisions),
    )


def test_reasons_and_warnings_come_from_codes_and_numbers_not_messages():
    prediction = _prediction(
        Decision("extreme_aspect", "IGNORED", 12.5, 8.0),
        Decision("uniform_image", "IGNORED", 0.001, 0.01),
        Decision("low_confidence", "IGNORED", 0.41, 0.5),
        Decision("untrained_model", "IGNORED"),
    )
    reasons = refusal_reasons(prediction)
    assert reasons.startswith("Reason: its aspect ratio 12.5 : 1 is beyond 8 : 1; it is nearly uniform")
    assert "IGNORED" not in reasons
    worded = warnings(prediction)
    assert len(worded) == 2 and "50 %" in worded[0] and "placeholder" in worded[1]
    assert refusal_reasons(_prediction()) == "" and warnings(_prediction()) == []


def test_age_confounding_notes_from_checkpoint_counts():
    summary = {
        "age_group_class_counts": {
            "pediatric": {"normal": 10, "bacterial": 98, "viral": 50, "covid": 0, "pneumonia": 9},
            "adult": {"normal": 10, "bacterial": 2, "viral": 50, "covid": 40, "pneumonia": 1},
        }
    }
    assert age_confounding_notes(summary) == [
        "98% of training images labelled Bacterial pneumonia are pediatric",
        "100% of training images labelled COVID-19 are adult",
        "90% of training images labelled Pneumonia, type unknown are pediatric",
    ]
    assert age_confounding_notes({}) == []


def test_a_referral_subsumes_low_confidence_and_age_support_names_group_and_class():
    low, refer = Decision("low_confidence", "IGNORED", 0.41, 0.5), Decision("uncertain", "IGNORED", 0.41, 0.83)
    assert warnings(_prediction(low)) and "50 %" in warnings(_prediction(low))[0]
    worded = warnings(_prediction(low, refer))
    assert len(worded) == 1 and "Uncertain — refer" in worded[0] and "83 %" in worded[0]
    prediction = _prediction(Decision("age_support", "IGNORED", 0.004, 0.05))
    prediction.label, prediction.age_group_estimate = "bacterial", {"group": "adult", "probability": 0.97}
    [sentence] = warnings(prediction)
    assert "looks adult (97 %)" in sentence and "0.4 %" in sentence and "Bacterial pneumonia" in sentence
