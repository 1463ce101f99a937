"""xray_core.io's public surface and its place at the bottom of the layers."""

from __future__ import annotations

import ast
from pathlib import Path

import xray_core.io
import xray_core.io.reader

IO_DIR = Path(xray_core.io.__file__).parent
#: Every name other code imports from xray_core.io.reader (before the split it held them all).
READER_NAMES = (
    "DEFAULT_MAX_PIXELS",
    "MIN_SIDE",
    "SUPPORTED_EXTENSIONS",
    "Source",
    "XrayImage",
    "XrayInputError",
    "is_supported_name",
    "read_image",
    "read_image_header",
)


def test_public_names_are_exported_and_reader_keeps_its_names():
    assert set(READER_NAMES) <= set(xray_core.io.__all__)
    for name in xray_core.io.__all__:
        assert getattr(xray_core.io, name) is not None, name
    for name in READER_NAMES:
        assert getattr(xray_core.io.reader, name) is getattr(xray_core.io, name), name


def test_io_imports_only_config_from_xray_core():
    for path in IO_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            for module in modules:
                if module.startswith("xray_core"):
                    assert module == "xray_core.config" or module.startswith("xray_core.io"), (path.name, module)


def test_modules_stay_small():
    for path in IO_DIR.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 300, path.name


def test_reading_a_raster_never_imports_pydicom(tmp_path):
    """pydicom costs about a second to import: PNG/JPEG reading and their headers must not pay it;
    the first DICOM read loads it."""
    import subprocess
    import sys

    import numpy as np
    from PIL import Image

    Image.fromarray(np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)).save(tmp_path / "film.png")
    Image.fromarray(np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)).save(tmp_path / "film.jpg")
    code = (
        "import sys\n"
        "from xray_core.io import read_image, read_image_header\n"
        f"read_image({str(tmp_path / 'film.png')!r}); read_image({str(tmp_path / 'film.jpg')!r})\n"
        f"read_image_header({str(tmp_path / 'film.png')!r})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydicom'))\n"
        "try:\n"
        "    read_image(b'not a dicom at all', name='scan.dcm')\n"
        "except Exception as error:\n"
        "    print(type(error).__name__, 'pydicom' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, second = done.stdout.strip().splitlines()
    assert first == "[]", first
    assert second == "XrayInputError True"  # a DICOM (here a broken one) loads pydicom and still gets a clear error
