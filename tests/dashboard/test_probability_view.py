"""The HTML probability bars: every class once, in order, as wide as its share, the top class marked."""

from __future__ import annotations

import re

from _probabilities import ROW_PATTERN

from dashboard.palette import ACCENT, MUTED
from dashboard.probability_view import bars_html


def test_bars_show_each_share_in_order_with_the_top_class_marked():
    shares = {"normal": 12.34, "bacterial": 70.0, "viral": 17.66, "covid": 0.0}
    html = bars_html(shares, "bacterial")
    assert ROW_PATTERN.findall(html) == [("normal", "12.3"), ("bacterial", "70.0"), ("viral", "17.7"), ("covid", "0.0")]
    widths = re.findall(r"width:([\d.]+)%;background:(#\w+)", html)
    assert widths == [("12.3", MUTED), ("70.0", ACCENT), ("17.7", MUTED), ("0.0", MUTED)]
    assert "Bacterial pneumonia" in html and html.count("font-weight:600") == 2  # the top row's name and value


def test_bars_escape_names_and_clip_widths():
    html = bars_html({"<b>odd</b>": 120.0}, "none")
    assert "<b>odd</b>" not in html and "&lt;b&gt;odd&lt;/b&gt;" in html
    assert "width:100.0%" in html
