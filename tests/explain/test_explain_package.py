"""xray_core.explain's public surface: every name resolves lazily and no name shadows a submodule."""

from __future__ import annotations

from pathlib import Path

import xray_core.explain

EXPLAIN_DIR = Path(xray_core.explain.__file__).parent


def test_no_exported_name_is_also_a_submodule():
    submodules = {path.stem for path in EXPLAIN_DIR.glob("*.py")}
    assert not submodules & set(xray_core.explain.__all__)
    from xray_core.explain import overlay as drawing  # the dashboard's import: the module, not the function

    assert callable(drawing.overlay) and callable(drawing.outline)
