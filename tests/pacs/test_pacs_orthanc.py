"""The local Orthanc listens on the host's loopback only: its HTTP server is in a private network namespace and
the one host socket is on 127.0.0.1."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest
from _orthanc import orthanc_server

from xray_core.pacs.orthanc import INNER_PORT, configuration

pytestmark = pytest.mark.pacs


def _listening() -> set[tuple[str, int]]:
    """(hex address, port) of every listening TCP socket visible in this network namespace."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A":
                address, port = local.split(":")
                found.add((address, int(port, 16)))
    return found


def test_only_loopback_listens_and_orthanc_has_its_own_network():
    before = _listening()
    with orthanc_server() as server:
        port = int(server.url.rsplit(":", 1)[1])
        new = _listening() - before
        with urllib.request.urlopen(f"{server.url}/system") as response:
            assert response.status == 200
        children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
        orthanc_net = os.readlink(f"/proc/{children[0]}/ns/net")
    assert ("0100007F", port) in new  # 127.0.0.1, little-endian hex
    assert not any(p == INNER_PORT for _, p in new)  # Orthanc's own port is not on this machine's interfaces
    assert orthanc_net != os.readlink("/proc/self/ns/net")


def test_configuration_is_private(tmp_path):
    config = configuration(tmp_path)
    assert config["RemoteAccessAllowed"] is False and config["DicomServerEnabled"] is False
    assert config["AuthenticationEnabled"] is False  # reachable from this machine only
    assert config["StorageDirectory"].startswith(str(tmp_path))
    assert config["Plugins"] == ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"]
