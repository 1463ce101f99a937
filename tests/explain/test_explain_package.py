"""xray_core.explain's public surface: every name resolves lazily and no name shadows a submodule."""

from __future__ import annotations

import importlib
from pathlib import Path

import xray_core.explain

EXPLAIN_DIR = Path(xray_core.explain.__file__).parent


def test_every_exported_name_resolves_to_its_module():
    assert xray_core.explain.__all__ == sorted(set(xray_core.explain.__all__))
    for module, names in xray_core.explain._EXPORTS.items():
        source = importlib.import_module(f"xray_core.explain.{module}")
        for name in names:
            assert name in source.__all__, (module, name)
            assert getattr(xray_core.explain, name) is getattr(source, name), name


def test_no_exported_name_is_also_a_submodule():
    submodules = {path.stem for path in EXPLAIN_DIR.glob("*.py")}
    assert not submodules & set(xray_core.explain.__all__)
    from xray_core.explain import overlay as drawing  # the dashboard's import: the module, not the function

    assert callable(drawing.overlay) and callable(drawing.outline)
