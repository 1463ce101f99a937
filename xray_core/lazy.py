"""Packages whose public names load on first use (PEP 562), so importing one submodule does not import them all.

``import xray_core`` must not pull in torch for ``stats``, and ``import xray_core.data.dataset`` runs
``xray_core/data/__init__.py`` first: eager re-exports there would import scipy, plotly and torch every time.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, homes: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``; ``homes`` maps each public name to the module defining it
    (a submodule name relative to ``package``, or an absolute ``xray_core.…`` module)."""

    def __getattr__(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        home = homes[name] if homes[name].startswith("xray_core") else f"{package}.{homes[name]}"
        value = getattr(importlib.import_module(home), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(homes))

    return __getattr__, __dir__


__all__ = ["lazy_exports"]
