"""Reading the probability bars (dashboard.probability_view) the way a user sees them, in AppTest and a browser."""

from __future__ import annotations

import re

#: the Diagnose bars in a real browser: one element per class, with data-class and data-percent
BROWSER_ROWS = ".st-key-dx_probabilities .dx-prob"
ROW_PATTERN = re.compile(r'data-class="([^"]+)" data-percent="([^"]+)"')


def every_shown_probabilities(at) -> list[dict[str, float]]:
    """{class: percent} of each set of probability bars on an AppTest page, in page order."""
    return [
        {name: float(percent) for name, percent in ROW_PATTERN.findall(element.value)}
        for element in at.get("html")
        if 'class="dx-probabilities"' in element.value
    ]


def shown_probabilities(at) -> dict[str, float]:
    """{class: percent} of the first probability bars on an AppTest page (Diagnose has one); {} when none."""
    shown = every_shown_probabilities(at)
    return shown[0] if shown else {}


def browser_probabilities(page) -> dict[str, float]:
    """{class: percent} of the Diagnose bars in a Playwright page."""
    rows = page.locator(BROWSER_ROWS)
    return {
        rows.nth(i).get_attribute("data-class"): float(rows.nth(i).get_attribute("data-percent"))
        for i in range(rows.count())
    }
