"""Packages whose public names load on first use (PEP 562), so importing one submodule does not import them all.

``import xray_core`` must not pull in torch for ``stats``, and ``import xray_core.data.dataset`` runs
``xray_core/data/__init__.py`` first: eager re-exports there would import scipy, plotly and torch every time.

A package names its public submodules, not their names: the names are each submodule's ``__all__``, read from its
source the first time a package-level name is asked for (no import), so a package's exports cannot drift from its
modules. Inside this repository names are imported from their defining module; the package level is for users.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def static_all(path: Path) -> list[str]:
    """The literal ``__all__`` of the module at ``path`` ([] without one), read without importing it."""
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return []


def module_exports(package: str, modules: Sequence[str], kept: Sequence[str] = ()) -> dict[str, str]:
    """``{name: submodule}`` over ``modules``' ``__all__``, minus ``kept`` (names left to their module because a
    package-level name would shadow a submodule). A name two modules export is an error: one home per name."""
    folder = Path(sys.modules[package].__file__).parent
    homes: dict[str, str] = {}
    for module in modules:
        for name in static_all(folder / f"{module}.py"):
            if name in kept or f"{module}.{name}" in kept:
                continue
            if name in homes:
                raise ImportError(f"{package}: {name} is exported by both {homes[name]} and {module}")
            homes[name] = module
    return homes


def lazy_exports(
    package: str, homes: dict[str, str] | None = None, *, modules: Sequence[str] = (), kept: Sequence[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``. Names come from ``homes`` (a curated ``{name: module}``,
    module relative to ``package`` or an absolute ``xray_core.…`` one) or from the ``__all__`` of ``modules``;
    ``package.__all__`` is computed on first use as well."""
    table: dict[str, str] | None = dict(homes) if homes is not None else None

    def _table() -> dict[str, str]:
        nonlocal table
        if table is None:
            table = module_exports(package, modules, kept)
        return table

    def __getattr__(name: str) -> Any:
        if name == "__all__":
            value: Any = sorted(_table())
        elif name in _table():
            home = _table()[name]
            value = getattr(
                importlib.import_module(home if home.startswith("xray_core") else f"{package}.{home}"), name
            )
        else:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(_table()))

    return __getattr__, __dir__


__all__ = ["lazy_exports", "module_exports", "static_all"]
