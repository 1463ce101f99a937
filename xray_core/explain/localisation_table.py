"""The markdown table of a :func:`~xray_core.explain.localisation.localisation_report`.

Kept apart from the measurement so that rendering a stored report (a JSON written by ``python -m xray_core
localisation``) needs neither torch nor pytorch-grad-cam; :mod:`xray_core.explain.localisation` re-exports
:func:`localisation_markdown`, which is where callers import it from.
"""

from __future__ import annotations

from typing import Any


def localisation_markdown(report: dict[str, Any]) -> str:
    """A table per variant: ROAD vs RandomCAM (same layers, and layer4), lung fraction, pointing; CIs in brackets."""
    lines = [
        f"{report['n_films']} external pneumonia films with reference lung masks; explained class: "
        f"{report['target']}; lungs cover {_pct(report['lung_area_share'])} of the film on average (what a "
        f"uniform map would score). ROAD removes the hottest {100 - report['remove_percentile']:g} % of pixels; "
        "'vs RandomCAM' is the paired difference in ROAD drop with RandomCAM on the same layers (and on layer4, "
        "the baseline of `faithfulness`). Brackets: 95 % bootstrap CIs over films.",
        "",
        "| map | ROAD drop | vs RandomCAM, same layers | vs RandomCAM @ layer4 | energy in lungs | pointing "
        "| ms/map | all goals |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in report["variants"].values():
        reference = "road_vs_random" not in row
        same = "reference" if reference else f"{_num(row['road_vs_random'])} {_ci(row['road_vs_random_ci'])}"
        layer4 = "—" if reference else f"{_num(row['road_vs_random_layer4'])} {_ci(row['road_vs_random_layer4_ci'])}"
        goals = "—" if reference else "yes" if row["meets_goals"] else "no"
        lines.append(
            f"| {row['title']} | {_num(row['road_drop'])} | {same} | {layer4} | "
            f"{_pct(row['lung_fraction'])} {_ci(row['lung_fraction_ci'], True)} | {_pct(row['pointing'])} "
            f"{_ci(row['pointing_ci'], True)} | {_num(row['ms_per_map'], '.0f')} | {goals} |"
        )
    return "\n".join(lines) + "\n"


def _num(value: float | None, spec: str = "+.3f") -> str:
    return "undefined" if value is None else format(value, spec)


def _pct(value: float | None) -> str:
    return "undefined" if value is None else f"{100 * value:.0f} %"


def _ci(bounds: list[float] | None, percent: bool = False) -> str:
    if bounds is None:
        return ""
    return f"[{_pct(bounds[0])}, {_pct(bounds[1])}]" if percent else f"[{bounds[0]:+.3f}, {bounds[1]:+.3f}]"


__all__ = ["localisation_markdown"]
