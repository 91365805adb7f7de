"""Lazy package exports (PEP 562): a package names its public API without importing it.

Used where importing the API would pull in torch, so that the CLI parser and the torch-free
settings objects can import the package cheaply.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(
    package: str, namespace: dict[str, Any], modules: dict[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``.

    ``modules`` maps each submodule (its name inside ``package``) to the public names it defines.
    """
    exports = {name: f"{package}.{module}" for module, names in modules.items() for name in names}

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later lookups find it without calling back here
        return value

    def dir_() -> list[str]:
        return sorted({*namespace, *exports})

    return getattr_, dir_, sorted(exports)
