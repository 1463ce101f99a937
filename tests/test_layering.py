"""The package's shape, enforced: imports flow one way, the core never imports streamlit, the UI uses public names.

Layers, lowest first (ARCHITECTURE.md): config → io → models → data → inference → explain → report → pacs → evaluation →
training → cli. A module may import its own subpackage and lower layers only.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("config", "io", "models", "data", "inference", "explain", "report", "pacs", "evaluation", "training", "cli")
MAX_LINES = 300
ROOT_HELPERS = ("lazy", "files")  # package-root modules below every layer, like config


def _modules(folder: str) -> list[Path]:
    return sorted(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path, root: Path = ROOT) -> list[tuple[str, list[str], int]]:
    """(module, names, line) for every import statement, relative ones resolved against ``path`` under ``root``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                package = path.relative_to(root).with_suffix("").parts[: -node.level]
                module = ".".join([*package, module] if module else package)
            found.append((module, [alias.name for alias in node.names], node.lineno))
    return found


def _layer(parts: tuple[str, ...]) -> int:
    """Layer of ``xray_core.<part>...``; the package root (``__init__``, ``__main__``) sits above everything."""
    if len(parts) < 2 or parts[1] in ("__init__", "__main__"):
        return len(LAYERS)
    return 0 if parts[1] in ROOT_HELPERS else LAYERS.index(parts[1])


def _check_core_imports(path: Path, root: Path = ROOT) -> None:
    """Fails on streamlit or on a higher layer imported by ``path``, a module of ``root/xray_core``."""
    own = _layer(path.relative_to(root).with_suffix("").parts)
    for module, names, line in _imports(path, root):
        assert module.split(".")[0] != "streamlit", f"{path.name}:{line} imports streamlit"
        if not module.startswith("xray_core"):
            continue
        targets = [(*module.split("."), name) for name in names] if module == "xray_core" else [module.split(".")]
        for target in targets:
            assert _layer(tuple(target)) <= own, f"{path.name}:{line} imports {'.'.join(target)} from a higher layer"


@pytest.mark.parametrize("path", _modules("xray_core"), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_imports_flow_one_way(path: Path) -> None:
    _check_core_imports(path)


@pytest.mark.parametrize("path", _modules("dashboard"), ids=lambda p: str(p.relative_to(ROOT)))
def test_dashboard_uses_public_core_names_only(path: Path) -> None:
    for module, names, line in _imports(path):
        if module.startswith("xray_core"):
            private = [part for part in module.split(".") if part.startswith("_")]
            private += [name for name in names if name.startswith("_")]
            assert not private, f"{path.name}:{line} imports private {private} from {module}"


def test_every_layer_is_a_subpackage() -> None:
    for layer in LAYERS[1:]:
        assert (ROOT / "xray_core" / layer / "__init__.py").is_file(), layer


@pytest.mark.parametrize("path", _modules("xray_core") + _modules("dashboard"), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines (limit {MAX_LINES}): split it by concern"


def test_a_violation_would_be_caught(tmp_path: Path) -> None:
    """The checker itself: a lower layer importing a higher one, absolutely or relatively, is reported; the same
    import one layer up is not. The probes live in a copy of the package layout under ``tmp_path``."""
    folder = tmp_path / "xray_core" / "io"
    folder.mkdir(parents=True)
    absolute, relative = folder / "absolute.py", folder / "relative.py"
    absolute.write_text("from xray_core.training.config import TrainConfig\n")
    relative.write_text("from ..training.config import TrainConfig\n")
    for bad in (absolute, relative):
        with pytest.raises(AssertionError, match="higher layer"):
            _check_core_imports(bad, root=tmp_path)
    allowed = tmp_path / "xray_core" / "training" / "probe.py"
    allowed.parent.mkdir()
    allowed.write_text("from xray_core.training.config import TrainConfig\nfrom ..io import read_image\n")
    _check_core_imports(allowed, root=tmp_path)


def test_architecture_names_every_subpackage() -> None:
    """ARCHITECTURE.md describes the tree as it is: every layer and every nested subpackage appears there."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    for init in _modules("xray_core"):
        parts = init.relative_to(ROOT / "xray_core").parts
        if init.name == "__init__.py" and len(parts) > 1:
            name = ".".join(parts[:-1])
            short = parts[-2]
            named = (f"`{name}`", f"`{short}`", f"{short}/", f"└─ {short} ")
            assert any(form in text for form in named), f"ARCHITECTURE.md misses {name}"
