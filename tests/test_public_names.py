"""One import path per public name, and package export tables that cannot drift from their modules.

A name is imported from the module that defines it, everywhere in the repository (core, dashboard, benches,
tests); a module's ``__all__`` lists only names it defines; a package exports the ``__all__`` of the modules it names
(``_MODULES``, :mod:`xray_core.lazy`), so its exports cannot drift, and no name has two homes there. Read from the
source (ast), so the checks cover modules whose imports need torch without importing it.
"""

from __future__ import annotations

import ast
import functools
import importlib
from pathlib import Path

import pytest

from xray_core.lazy import module_exports

ROOT = Path(__file__).resolve().parents[1]


def _file(module: str) -> Path | None:
    base = ROOT.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


@functools.cache
def _source(module: str) -> ast.Module:
    path = _file(module)
    if path is None:
        raise LookupError(f"no module {module}")
    return ast.parse(path.read_text(), str(path))


def _defined(module: str) -> set[str]:
    """Names bound at module level by def, class or assignment (not by import)."""
    names: set[str] = set()
    for node in _source(module).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def _literal(module: str, name: str) -> object | None:
    for node in _source(module).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == name and node.value is not None:
            try:
                return ast.literal_eval(node.value)
            except ValueError:  # derived from another table (``_HOME`` built from ``_EXPORTS``)
                return None
    return None


def _table(package: str) -> dict[str, str]:
    """``{name: defining module}`` of a package's exports (a curated ``_PUBLIC`` or its ``_MODULES``' names)."""
    curated = _literal(package, "_PUBLIC")
    if curated:
        return dict(curated)
    modules = _literal(package, "_MODULES")
    if not modules:
        return {}
    importlib.import_module(package)  # the __init__ only: its names load on first use
    exports = module_exports(package, modules, _literal(package, "_KEPT_IN_MODULE") or ())
    return {name: f"{package}.{module}" for name, module in exports.items()}


def _reexports(module: str) -> dict[str, str]:
    return {
        alias.asname or alias.name: node.module
        for node in _source(module).body
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("xray_core")
        for alias in node.names
    }


def _home(module: str, name: str) -> str:
    """The module defining ``name`` as reached from ``module`` (a submodule counts as defined by its package)."""
    if _file(f"{module}.{name}") or name in _defined(module):
        return module
    for follow in (_table(module), _reexports(module)):
        if name in follow:
            return _home(follow[name], name)
    raise LookupError(f"{module} has no {name}")


def _python_files(*folders: str) -> list[Path]:
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)


def _packages() -> list[str]:
    return [".".join(p.parent.relative_to(ROOT).parts) for p in _python_files("xray_core") if p.name == "__init__.py"]


def _all(module: str) -> list[str] | None:
    value = _literal(module, "__all__")
    return None if value is None else list(value)


@pytest.mark.parametrize(
    "path",
    [p for p in _python_files("xray_core", "dashboard", "bench", "tests") if p.name != "__init__.py"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_names_are_imported_from_the_module_that_defines_them(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("xray_core"):
            for alias in node.names:
                home = _home(node.module, alias.name)
                assert home == node.module, f"{path.name}:{node.lineno}: import {alias.name} from {home}"


@pytest.mark.parametrize(
    "module",
    [
        ".".join(p.with_suffix("").relative_to(ROOT).parts)
        for p in _python_files("xray_core")
        if p.name != "__init__.py"
    ],
)
def test_all_lists_only_names_the_module_defines(module: str) -> None:
    foreign = sorted(set(_all(module) or []) - _defined(module))
    assert not foreign, f"{module}.__all__ lists names it imports: {foreign}"


@pytest.mark.parametrize("package", [p for p in _packages() if _table(p)])
def test_every_package_level_name_is_its_module_s(package: str) -> None:
    homes = _table(package)
    for name, module in homes.items():
        assert name in _defined(module), f"{package} exports {name} from {module}, which does not define it"
    loaded = importlib.import_module(package)
    assert sorted(loaded.__all__) == sorted(homes), f"{package}.__all__ is not its modules' names"
    submodules = {p.stem for p in Path(loaded.__file__).parent.iterdir() if p.suffix == ".py" or p.is_dir()}
    assert not submodules & set(homes), f"{package} exports a name that would shadow a submodule"
    for name, module in homes.items():
        assert getattr(loaded, name) is getattr(importlib.import_module(module), name), name


def test_a_name_with_two_homes_in_one_package_is_refused() -> None:
    import xray_core.report

    with pytest.raises(ImportError, match="exported by both"):
        module_exports("xray_core.report", ("words", "words"))
    assert "label_title" in module_exports(xray_core.report.__name__, ("words",))
