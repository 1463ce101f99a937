"""The adult caution worded from the figure it carries, in the PDF's words and on the pages."""

from __future__ import annotations

from dashboard.words import warnings
from xray_core.inference.decisions import Decision
from xray_core.inference.predict import Prediction
from xray_core.report.words import NOT_MEASURED, decision_sentence, measured_sentence

FIGURE = {
    "figure": "adult_non_covid_pneumonia_called_covid",
    "films": "external_adult/ieee8023_typed",
    "value": 0.4545,
    "n": 22,
    "n_patients": 8,
    "interval_95": [0.25, 0.65],
    "small_sample": True,
}


def test_the_measured_figure_is_worded_with_its_n_interval_and_small_sample():
    sentence = measured_sentence(FIGURE)
    assert "of 22 adult non-COVID pneumonia films" in sentence and "45 % COVID-19 (95 % CI 25-65 %)" in sentence
    assert "small sample (22 films, 8 patients)" in sentence
    assert measured_sentence({**FIGURE, "small_sample": False}).count("small sample") == 0
    assert measured_sentence(None) == NOT_MEASURED


def test_pdf_and_page_words_quote_the_figure_not_the_message():
    decision = Decision("adult_caution", "IGNORED", 0.4545, None, FIGURE)
    assert decision_sentence(decision).startswith("Adult film: of 22 adult") and "IGNORED" not in decision_sentence(
        decision
    )
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
