"""A local Orthanc (Debian's ``orthanc`` + ``orthanc-dicomweb``) for development, demos, benches and tests.

Each instance gets a generated configuration and its storage in a private temporary folder (deleted at the end),
the DICOMweb plugin, no authentication (it is reachable from this machine only), ``RemoteAccessAllowed: false``,
no DICOM (DIMSE) server, and its HTTP port behind :mod:`xray_core.pacs.loopback` on the host's 127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from xray_core.pacs.loopback import die_with_parent, loopback_listener, relay_command

ORTHANC = "/usr/sbin/Orthanc"
PLUGIN = Path("/usr/share/orthanc/plugins/libOrthancDicomWeb.so")
INNER_PORT = 8042  # inside the private namespace: never seen by the host, so never in conflict
STARTUP_SECONDS = 60.0
MISSING = "Orthanc with its DICOMweb plugin is not installed: apt-get install orthanc orthanc-dicomweb (make pacs-deps)"


class OrthancUnavailable(RuntimeError):
    """Orthanc cannot run here (not installed, or cannot be kept on loopback); the message says what to do."""


@dataclass(frozen=True)
class Orthanc:
    """A running local Orthanc: ``url`` of its REST API, ``dicomweb`` the DICOMweb root under it."""

    url: str
    folder: Path
    process: subprocess.Popen

    @property
    def dicomweb(self) -> str:
        return f"{self.url}/dicom-web"


def installed() -> bool:
    return Path(ORTHANC).is_file() and PLUGIN.is_file()


def configuration(folder: Path) -> dict:
    """Orthanc's configuration for one private instance whose files all live in ``folder``."""
    storage = folder / "storage"
    return {
        "Name": "xray-local",
        "StorageDirectory": str(storage),
        "IndexDirectory": str(storage),
        "Plugins": [str(PLUGIN)],
        "HttpPort": INNER_PORT,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "DicomServerEnabled": False,
        "HttpCompressionEnabled": False,  # loopback: gzip costs more CPU than it saves
        "StableAge": 1,
        "SaveJobs": False,
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False, "Ssl": False},
    }


def _wait_ready(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise OrthancUnavailable(f"Orthanc exited with code {process.returncode}: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/system", timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise OrthancUnavailable(f"Orthanc did not answer on {url} within {timeout:.0f} s: {log.read_text()[-2000:]}")


def start(port: int = 0, timeout: float = STARTUP_SECONDS, verbose_log: Path | None = None) -> Orthanc:
    """Start a private Orthanc on 127.0.0.1:``port`` (0: a free port); stop it with :func:`stop`."""
    if not installed():
        raise OrthancUnavailable(MISSING)
    folder = Path(tempfile.mkdtemp(prefix="xray-orthanc-"))
    config = folder / "orthanc.json"
    config.write_text(json.dumps(configuration(folder), indent=2))
    listener = loopback_listener(port)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    log = verbose_log or folder / "orthanc.log"
    try:
        command = relay_command(listener, INNER_PORT, [ORTHANC, f"--logfile={log}", str(config)])
    except RuntimeError as error:
        listener.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise OrthancUnavailable(str(error)) from error
    process = subprocess.Popen(
        command,
        pass_fds=[listener.fileno()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    listener.close()  # the relay holds its own copy
    server = Orthanc(url, folder, process)
    try:
        _wait_ready(url, process, log, timeout)
    except BaseException:
        stop(server)
        raise
    return server


def stop(server: Orthanc) -> None:
    """Stop ``server`` (its own process only) and delete its storage."""
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()
    shutil.rmtree(server.folder, ignore_errors=True)


@contextmanager
def running(port: int = 0) -> Iterator[Orthanc]:
    """``with running() as orthanc:`` a private Orthanc for the block."""
    server = start(port)
    try:
        yield server
    finally:
        stop(server)


__all__ = ["MISSING", "Orthanc", "OrthancUnavailable", "configuration", "installed", "running", "start", "stop"]
