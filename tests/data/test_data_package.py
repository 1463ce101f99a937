"""xray_core.data's public surface: every name resolves lazily, and importing the package stays torch-free."""

from __future__ import annotations

import importlib
import subprocess
import sys

import xray_core.data


def test_every_exported_name_resolves_to_its_module():
    assert xray_core.data.__all__ == sorted(set(xray_core.data.__all__))
    for module, names in xray_core.data._EXPORTS.items():
        source = importlib.import_module(f"xray_core.data.{module}")
        for name in names:
            assert name in getattr(source, "__all__", [name]), (module, name)  # cache.py has no __all__
            assert getattr(xray_core.data, name) is getattr(source, name), name
    assert xray_core.data.class_counts is importlib.import_module("xray_core.data.dataset").class_counts


def test_submodules_are_still_importable_by_name():
    from xray_core.data import scan, stats

    assert stats.summarize is xray_core.data.summarize and scan.scan_images is xray_core.data.scan_images


def test_importing_the_package_and_the_table_loader_does_not_import_torch():
    code = (
        "import sys, xray_core.data; from xray_core.data import load_dataset, DatasetError; "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
