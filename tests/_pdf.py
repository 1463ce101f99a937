"""Read a PDF back the way a person would: poppler's pdftotext (its words) and pdftoppm (its pages as images)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _poppler() -> None:
    if not (shutil.which("pdftotext") and shutil.which("pdftoppm")):
        pytest.fail("poppler-utils is missing: apt-get install poppler-utils (make browser-deps)")


def pdf_text(path: Path) -> str:
    """The PDF's text with whitespace collapsed (pdftotext breaks lines where the layout does)."""
    _poppler()
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(out.split())


def pdf_pages(path: Path, folder: Path, dpi: int = 40) -> list[np.ndarray]:
    """Every page as H x W x 3 uint8 RGB, rendered into ``folder``."""
    _poppler()
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(path), str(folder / "page")], check=True)
    return [np.asarray(Image.open(page).convert("RGB")) for page in sorted(folder.glob("page*.png"))]
