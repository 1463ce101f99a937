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
