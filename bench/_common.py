"""What the real-browser benches (bench_dashboard.py, bench_soak.py) share: where Chromium is, and how a run's
result is written to bench/out and summarised on the terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"  # Debian's build, driven by Playwright


def chromium_missing() -> bool:
    """True, after saying how to install it, when Chromium is not at :data:`CHROMIUM`."""
    if Path(CHROMIUM).is_file():
        return False
    print(f"{CHROMIUM} is missing: apt-get install chromium (make browser-deps)", file=sys.stderr)
    return True


def save_result(result: dict, file_name: str, details: str) -> None:
    """Write ``result`` to bench/out/``file_name``; print it without its bulky ``details`` key, and the load
    averages (other jobs share the 2 cores)."""
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / file_name).write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != details}, indent=2))
    print(f"load average before {result['load_average_before']}, after {result['load_average_after']} (2 cores)")
