"""What the benches share: where Chromium is (bench_dashboard.py, bench_soak.py), how a run's result is written to
bench/out and summarised on the terminal, and the machine line (CPU, instruction sets, load average) every speed
figure is printed beside: the machines differ from one day to the next (AVX2-only EPYC, AVX-512/VNNI/AMX Xeon)."""

from __future__ import annotations

import json
import os
import platform
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


#: the instruction sets that decide which kernels ONNX Runtime and oneDNN pick (int8 dot products, bf16)
CPU_FLAGS = (
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_int8",
    "amx_bf16",
)


def machine() -> dict:
    """CPU model, how many cores, which of :data:`CPU_FLAGS` it has, and the load average now."""
    model, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "flags": [flag for flag in CPU_FLAGS if flag in flags],
        "load_average": [round(v, 2) for v in os.getloadavg()],
    }


def machine_line() -> str:
    info = machine()
    flags = " ".join(info["flags"]) or "none of " + " ".join(CPU_FLAGS)
    return f"{info['cpu']}, {info['cores']} cores; flags: {flags}; load average {info['load_average']}"
