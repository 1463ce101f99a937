"""xray_core.io's public surface and its place at the bottom of the layers."""

from __future__ import annotations

import ast
from pathlib import Path

import xray_core.io

IO_DIR = Path(xray_core.io.__file__).parent


def test_io_imports_only_config_and_the_lazy_table_from_xray_core():
    for path in IO_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else ([node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            )
            for module in modules:
                if module.startswith("xray_core"):
                    assert module in ("xray_core.config", "xray_core.lazy") or module.startswith("xray_core.io"), (
                        path.name,
                        module,
                    )


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
