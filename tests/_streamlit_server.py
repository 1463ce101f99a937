"""`streamlit run dashboard/app.py` on a free localhost port, for the real-browser tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STARTUP_SECONDS = 300  # cold imports of torch + streamlit on a busy 2-core machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(port: int, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with code {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not become healthy on port {port} within {timeout} s")


@contextmanager
def streamlit_server(tmp_path: Path, checkpoint: Path, data_dir: Path) -> Iterator[str]:
    """Yield the app's URL; only the server's own process is stopped afterwards."""
    port = free_port()
    env = {
        **os.environ,
        "XRAY_CHECKPOINT": str(checkpoint),
        "XRAY_DATA_DIR": str(data_dir),
        "XRAY_CACHE_DIR": str(tmp_path / "cache"),
    }
    with open(tmp_path / "streamlit.log", "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "dashboard/app.py",
                "--server.headless",
                "true",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy(port, process, STARTUP_SECONDS)
            yield f"http://127.0.0.1:{port}/"
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
