"""xray_core.data's public surface: every name resolves lazily, and importing the package stays torch-free."""

from __future__ import annotations

import subprocess
import sys

import xray_core.data


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
