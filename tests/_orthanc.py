"""A real local Orthanc for the PACS tests: started on a free loopback port, stopped afterwards; missing Orthanc
skips locally and fails under CI=true (as the corpus does)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pydicom
import pytest
from _apptest import chest_film

from xray_core.pacs import orthanc
from xray_core.pacs.client import to_bytes
from xray_core.pacs.demo import DemoFilm, dicom_film


def require_orthanc() -> None:
    if not orthanc.installed():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(orthanc.MISSING)
        pytest.skip(orthanc.MISSING)


@contextmanager
def orthanc_server() -> Iterator[orthanc.Orthanc]:
    """A private Orthanc for the block (its own process and storage, removed afterwards)."""
    require_orthanc()
    with orthanc.running() as server:
        yield server


def study(number: int, size: int = 96, **header) -> pydicom.Dataset:
    """A single-film study with a fake header (``DemoFilm`` fields in ``header``), read back as a file would be."""
    pixels = np.kron(chest_film(number, size // 2), np.ones((2, 2), np.uint8))
    return pydicom.dcmread(io.BytesIO(to_bytes(dicom_film(pixels, DemoFilm(number=number, **header)))))
