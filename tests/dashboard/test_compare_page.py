"""AppTest for the Follow-up page: two films, shared-scale heatmaps, the change per class."""

from __future__ import annotations

import json

import pytest
from _apptest import chest_film, start, texts
from _checkpoints import tiny_checkpoint
from _factories import png_bytes
from _probabilities import every_shown_probabilities

from xray_core.config import CLASS_TITLES


@pytest.fixture
def compare_env(env, tmp_path):
    """The pages' environment with a checkpoint of its own and the default lung segmenter."""
    env.setenv("XRAY_CHECKPOINT", str(tiny_checkpoint(tmp_path / "open.pt", "apptest-compare")))
    env.delenv("XRAY_SEGMENTER", raising=False)
    return env


def _chart(at, key: str) -> dict:
    charts = [c for c in at.get("plotly_chart") if c.key == key]
    assert charts, f"no chart {key}"
    return json.loads(charts[0].proto.spec)["data"][0]


def test_compare_shows_both_films_and_the_change_per_class(compare_env):
    at = start("compare")
    assert at.title[0].value == "Follow-up comparison"
    assert "Upload a prior and a current film" in texts(at)
    at.file_uploader(key="cmp_prior").set_value(("prior.png", png_bytes(chest_film(1, 96)), "image/png")).run()
    at.file_uploader(key="cmp_current").set_value(("current.png", png_bytes(chest_film(7, 120)), "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    prior, current = every_shown_probabilities(at)  # the prior's column first
    change = _chart(at, "cmp_change_chart")
    assert sum(prior.values()) == pytest.approx(100, abs=0.3) and sum(current.values()) == pytest.approx(100, abs=0.3)
    expected = {CLASS_TITLES[name]: current[name] - prior[name] for name in current}
    assert dict(zip(change["y"], change["x"])) == pytest.approx(expected, abs=0.11)  # shown shares: 0.1 steps
    assert len(at.image) == 2
    assert "one colour scale" in texts(at)
    at.selectbox(key="cmp_target").set_value("covid").run()
    at.slider(key="cmp_alpha").set_value(0.8).run()
    assert not at.exception
    assert "COVID-19" in texts(at)
