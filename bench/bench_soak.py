"""Soak and abuse bench of the dashboard on a shared server: several real browsers at once, hostile files among them.

    python bench/bench_soak.py [--sessions 4] [--films 40] [--budget-gb 3] [--checkpoint PATH]

Starts ``streamlit run dashboard/app.py`` on a free loopback port and drives ``--sessions`` headless Chromium
sessions at once (Debian's /usr/bin/chromium through Playwright), each uploading ``--films`` files on Diagnose:
real corpus films (a few identical across sessions under each session's own names, so the shared caches answer),
two 2,048 px 16-bit DICOMs generated from corpus films, a deflate-bomb DICOM (400 MB of zeros in ~0.4 MB), a
7,000 x 7,000 PNG (over the dashboard's pixel limit), a file that is not an image, and a film whose name is
Markdown pointing at an outside host. All files are generated into a temporary folder; nothing is kept.

Reports: the server's peak resident memory (the kernel's VmHWM, and the highest sampled VmRSS) against
``--budget-gb``; p50/p95 upload-to-result latency of the films; whether any session ever saw another session's
file names; whether every hostile file got a "cannot be analysed" message; whether the page fetched anything from
the name's outside host. Prints the load average (other jobs share the 2 cores). Writes bench/out/soak.json.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from _common import CHROMIUM, ROOT, chromium_missing, save_result

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
UPLOADER = "[data-testid='stFileUploaderDropzoneInput']"
CHART = ".st-key-dx_probabilities .dx-prob"
CANNOT = "cannot be analysed"
EVIL_HOST = "evil.example"
SHARED_FILMS = 6  # corpus films every session uploads (under its own names): the shared caches answer them
GOAL_P95_S = 10.0  # a film's result under 4 concurrent users on 2 busy cores


def _corpus_films(count: int) -> list[Path]:
    import pandas as pd

    from xray_core.config import default_data_dir

    root = default_data_dir()
    table = pd.read_csv(root / "manifest.csv")
    rows = table[table["split"] == "test"].sample(n=count, random_state=0)
    return [root / file for file in rows["file"]]


def _hostile(folder: Path, tag: str, source: Path) -> dict[str, Path]:
    """The generated files of one session: two 2,048 px DICOMs (films) and the hostile ones, by kind."""
    import cv2
    import numpy as np

    from xray_core.evaluation.reliability.files import deflated_dicom, dicom, encode, film
    from xray_core.io.reader import read_image

    pixels = read_image(source).pixels
    big = cv2.resize(pixels, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    files = {}
    for index in range(2):
        array = np.clip(np.rint(np.roll(big, 40 * index, axis=1) * 4095), 0, 4095).astype(np.uint16)
        files[f"dicom{index}"] = folder / f"{tag}-dicom2048-{index}.dcm"
        files[f"dicom{index}"].write_bytes(dicom(array))
    files["bomb"] = folder / f"{tag}-deflate-bomb.dcm"
    files["bomb"].write_bytes(deflated_dicom(film(), zeros=400 << 20))
    files["huge"] = folder / f"{tag}-7000px.png"
    gradient = np.broadcast_to(np.linspace(0, 255, 7000).astype(np.uint8), (7000, 7000))
    files["huge"].write_bytes(encode(np.ascontiguousarray(gradient), "PNG"))
    files["garbage"] = folder / f"{tag}-garbage.png"
    files["garbage"].write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(4096))
    files["markdown"] = folder / f"{tag}-![x](https:{EVIL_HOST}).jpg"  # a special-scheme URL needs no slashes
    files["markdown"].write_bytes(source.read_bytes())
    return files


def _session_files(folder: Path, tag: str, films: list[Path], shared: list[Path], total: int) -> list[tuple]:
    """(path, kind) uploads of one session: its generated files spread among corpus films under its own names."""
    generated = _hostile(folder, tag, films[0])
    own = [*shared, *films][: total - len(generated)]
    uploads = []
    for index, source in enumerate(own):
        path = folder / f"{tag}-film{index:02d}{source.suffix}"
        path.write_bytes(source.read_bytes())
        uploads.append((path, "film"))
    step = max(1, len(uploads) // len(generated))
    for offset, (kind, path) in enumerate(generated.items()):
        label = "film" if kind.startswith("dicom") or kind == "markdown" else "hostile"
        uploads.insert(min(len(uploads), offset * step + step // 2), (path, label))
    return uploads


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rss_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class _Sampler(threading.Thread):
    """Highest VmRSS of one process, sampled every 0.2 s until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kb, self.stopped = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            try:
                self.peak_kb = max(self.peak_kb, _rss_kb(self.pid, "VmRSS"))
            except OSError:
                return


def _one_upload(page, path: Path, kind: str) -> dict:
    """Hand ``path`` to Diagnose's uploader and wait for its result (chart or refusal) or its error message."""
    began = time.perf_counter()
    page.locator(UPLOADER).set_input_files(str(path))
    refusal = page.get_by_text("Show the prediction anyway")
    error = page.get_by_text(CANNOT)
    page.locator(CHART).first.or_(refusal).or_(error).first.wait_for(state="visible")
    outcome = "error" if error.count() else "refused" if refusal.count() else "result"
    if outcome == "result":
        page.locator(".st-key-dx_heatmap img").first.wait_for(state="visible")
    elapsed = time.perf_counter() - began
    shown = page.inner_text("body")
    page.locator("[data-testid='stFileChipDeleteBtn'] button").click()  # clear: the next result must be new
    page.locator(CHART).or_(error).or_(refusal).first.wait_for(state="detached")
    return {"file": path.name, "kind": kind, "outcome": outcome, "seconds": round(elapsed, 3), "page": shown}


def _session(url: str, tag: str, uploads: list[tuple], others: list[str], out: dict) -> None:
    """One browser session through its uploads; records each result and any other session's tag it saw."""
    from playwright.sync_api import sync_playwright

    fetched: list[str] = []
    records: list[dict] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(300_000)
            page.on("request", lambda request: fetched.append(request.url) if EVIL_HOST in request.url else None)
            page.goto(url)
            page.get_by_role("button", name="I understand").click()
            page.locator(UPLOADER).wait_for(state="attached")
            for path, kind in uploads:
                record = _one_upload(page, path, kind)
                shown = record.pop("page")
                records.append({**record, "first": not records, "leaked": [t for t in others if t in shown]})
        except Exception as error:  # a session's failure is reported; the others go on
            out[tag] = {"records": records, "fetched": fetched, "failure": repr(error)[:500]}
            return
        finally:
            browser.close()
    out[tag] = {"records": records, "fetched": fetched, "failure": ""}


def _checkpoint(explicit: str | None) -> Path:
    from xray_core.config import default_checkpoint

    return Path(explicit or os.environ.get("XRAY_CHECKPOINT") or default_checkpoint())


def _start(checkpoint: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {**os.environ, "XRAY_CHECKPOINT": str(checkpoint)}
    env.pop("XRAY_REQUIRE_SIGN_IN", None)  # loopback: the app is open, as on a workstation
    command = [sys.executable, "-m", "streamlit", "run", "dashboard/app.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1):
                return server, f"http://127.0.0.1:{port}/"
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"streamlit exited with {server.returncode}; see {log}") from None
            time.sleep(0.3)
    server.terminate()
    raise SystemExit(f"streamlit was not healthy within 300 s; see {log}")


def run(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="bench_soak_"))
    tags = [f"patient{chr(ord('A') + i)}" for i in range(args.sessions)]
    films = _corpus_films(SHARED_FILMS + args.sessions * args.films)
    shared, own = films[:SHARED_FILMS], films[SHARED_FILMS:]
    plans = {}
    for index, tag in enumerate(tags):
        folder = work / tag
        folder.mkdir()
        plans[tag] = _session_files(folder, tag, own[index * args.films : (index + 1) * args.films], shared, args.films)
    load_before = [round(v, 2) for v in os.getloadavg()]
    server, url = _start(_checkpoint(args.checkpoint), work / "streamlit.log")
    sampler = _Sampler(server.pid)
    sampler.start()
    results: dict = {}
    began = time.perf_counter()
    try:
        threads = [
            threading.Thread(target=_session, args=(url, tag, plans[tag], [t for t in tags if t != tag], results))
            for tag in tags
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        peak_hwm_kb = _rss_kb(server.pid, "VmHWM")
    finally:
        sampler.stopped.set()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return _summary(args, results, peak_hwm_kb, sampler.peak_kb, load_before, time.perf_counter() - began)


def _summary(args, results: dict, hwm_kb: int, sampled_kb: int, load_before: list, wall_s: float) -> dict:
    records = [r for session in results.values() for r in session["records"]]
    later = [r for r in records if not r["first"]]  # each session's first upload also waits for the model warm-up
    films = sorted(r["seconds"] for r in later if r["kind"] == "film" and r["outcome"] != "error")
    hostile = [r for r in records if r["kind"] == "hostile"]
    p95 = films[min(len(films) - 1, round(0.95 * (len(films) - 1)))] if films else None
    return {
        "sessions": args.sessions,
        "uploads_per_session": args.films,
        "uploads_done": len(records),
        "wall_s": round(wall_s, 1),
        "cpu_count": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "peak_rss_gb": round(hwm_kb / 2**20, 3),
        "peak_rss_sampled_gb": round(sampled_kb / 2**20, 3),
        "rss_budget_gb": args.budget_gb,
        "film_latency_p50_s": statistics.median(films) if films else None,
        "film_latency_p95_s": p95,
        "first_upload_s": [r["seconds"] for r in records if r["first"]],
        "films_scored": len(films),
        "films_unreadable": [r["file"] for r in records if r["kind"] == "film" and r["outcome"] == "error"],
        "hostile_files": len(hostile),
        "hostile_with_clear_message": sum(r["outcome"] == "error" for r in hostile),
        "names_seen_by_another_session": sorted({t for r in records for t in r["leaked"]}),
        "outside_host_fetches": sum(len(s["fetched"]) for s in results.values()),
        "session_failures": {tag: s["failure"] for tag, s in results.items() if s["failure"]},
        "goals": {"peak_rss_gb": args.budget_gb, "film_latency_p95_s": GOAL_P95_S},
        "records": records,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=4, help="concurrent browser sessions")
    parser.add_argument("--films", type=int, default=40, help="uploads per session (6 generated among them)")
    parser.add_argument("--budget-gb", type=float, default=3.0, help="the server's peak resident memory budget")
    parser.add_argument("--checkpoint", default=None)
    args = parser.parse_args(argv)
    if chromium_missing():
        return 2
    result = run(args)
    save_result(result, "soak.json", details="records")
    fine = {
        "peak RSS": result["peak_rss_gb"] <= args.budget_gb,
        "p95 latency": result["film_latency_p95_s"] is not None and result["film_latency_p95_s"] <= GOAL_P95_S,
        "no names across sessions": not result["names_seen_by_another_session"],
        "hostile files refused clearly": result["hostile_with_clear_message"] == result["hostile_files"],
        "no outside fetches": result["outside_host_fetches"] == 0,
        "every session finished": not result["session_failures"],
    }
    for what, met in fine.items():
        print(f"{what}: {'met' if met else 'NOT met'}")
    return 0 if all(fine.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
