"""One wording per decision code: short, long (Markdown and plain) and PDF-safe forms, from codes and numbers."""

from __future__ import annotations

import pytest

from dashboard.words import warnings
from xray_core.inference import wording
from xray_core.inference.decisions import CODES, Decision
from xray_core.inference.predict import Prediction

FIGURE = {
    "figure": "adult_non_covid_pneumonia_called_covid",
    "films": "external_adult/ieee8023_typed",
    "value": 0.4545,
    "n": 22,
    "n_patients": 8,
    "interval_95": [0.25, 0.65],
    "small_sample": True,
}


def test_every_code_has_a_short_form_and_a_long_form_by_its_severity():
    assert set(wording.SHORT) == set(CODES)
    assert set(wording.REASONS) == {code for code, severity in CODES.items() if severity == "refuse"}
    assert set(wording.WARNINGS) == {code for code, severity in CODES.items() if severity == "warn"}


@pytest.mark.parametrize("code", sorted(CODES))
def test_the_three_forms_say_the_same_and_the_pdf_form_fits_latin1(code):
    decision = Decision(code, "IGNORED", 0.412, 0.5, FIGURE if code == "adult_caution" else None)
    long = wording.long(decision, "covid", {"group": "adult", "probability": 0.97})
    plain = wording.plain(decision, "covid", {"group": "adult", "probability": 0.97})
    safe = wording.pdf_safe(decision, "covid", {"group": "adult", "probability": 0.97})
    assert "IGNORED" not in long and "{" not in long
    assert plain == long.replace("**", "") and "*" not in plain
    safe.encode("latin-1")
    assert safe == wording.latin1(plain) and len(safe) == len(plain.replace("—", "-"))


def test_refusals_complete_a_reason_and_warnings_name_class_and_age():
    refusal = Decision("extreme_aspect", "IGNORED", 12.5, 8.0)
    assert wording.reason(refusal) == "its aspect ratio 12.5 : 1 is beyond 8 : 1"
    assert wording.plain(refusal) == "Refused: its aspect ratio 12.5 : 1 is beyond 8 : 1."
    support = Decision("age_support", "IGNORED", 0.004, 0.05)
    sentence = wording.long(support, "bacterial", {"group": "adult", "probability": 0.97})
    assert "looks adult (97 %)" in sentence and "0.4 %" in sentence and "Bacterial pneumonia" in sentence
    assert wording.pdf_safe(Decision("uncertain", "", 0.41, 0.83)).startswith("Uncertain - refer. The top probability")


def test_a_missing_number_falls_back_to_the_message_then_to_the_short_form():
    assert wording.long(Decision("low_confidence", "the message itself", None, None)) == "the message itself"
    assert wording.worded("low_confidence").message == "Low confidence."


def test_worded_decisions_carry_their_plain_wording_as_message():
    decision = wording.worded("uniform_image", 0.001, 0.01)
    assert (
        decision.message
        == wording.plain(decision)
        == ("Refused: it is nearly uniform (pixel standard deviation 0.001 below 0.01).")
    )
    assert wording.short("uncertain") == "uncertain — refer"


def test_the_measured_figure_is_worded_with_its_n_interval_and_small_sample():
    sentence = wording.measured_sentence(FIGURE)
    assert "of 22 adult non-COVID pneumonia films" in sentence and "45 % COVID-19 (95 % CI 25-65 %)" in sentence
    assert "small sample (22 films, 8 patients)" in sentence
    assert wording.measured_sentence({**FIGURE, "small_sample": False}).count("small sample") == 0
    assert wording.measured_sentence(None) == wording.NOT_MEASURED


def test_pdf_and_page_words_quote_the_figure_not_the_message():
    decision = Decision("adult_caution", "IGNORED", 0.4545, None, FIGURE)
    safe = wording.pdf_safe(decision, "covid", {"group": "adult", "probability": 0.97})
    assert safe.startswith("Adult film: what was measured. This film looks adult (97 %); of 22 adult")
    assert "IGNORED" not in safe
    prediction = Prediction(
        name="x.png",
        label="covid",
        probabilities={"normal": 0.1, "covid": 0.9},
        logits=[0.0] * 2,
        elapsed_ms=1.0,
        decisions=[decision],
        age_group_estimate={"group": "adult", "probability": 0.97},
    )
    [sentence] = warnings(prediction)
    assert "looks adult (97 %)" in sentence and "45 % COVID-19" in sentence and "IGNORED" not in sentence
