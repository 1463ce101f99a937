"""One real Orthanc for the PACS tests (session scoped: each test stores its own studies, with their own UIDs)."""

from __future__ import annotations

import pytest
from _orthanc import orthanc_server

from xray_core.pacs.client import Pacs, connect


@pytest.fixture(scope="session")
def orthanc():
    with orthanc_server() as server:
        yield server


@pytest.fixture
def pacs(orthanc) -> Pacs:
    return connect(orthanc.dicomweb)
