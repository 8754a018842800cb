"""SciPy is optional: without it, its rule tables register against stand-ins no user code
can call, so importing tangent_src never needs SciPy."""
from __future__ import annotations

import importlib


class _Missing:
    """A stand-in for a missing module: every attribute is a distinct placeholder object."""

    def __init__(self, name: str):
        self._name = name
        self._items: dict = {}
        self.__name__ = name.rsplit(".", 1)[-1]
        self.__module__ = name.rsplit(".", 1)[0]
        self.__qualname__ = self.__name__

    def __getattr__(self, attr: str):
        if attr.startswith("__"):
            raise AttributeError(attr)
        if attr not in self._items:
            self._items[attr] = _Missing(f"{self._name}.{attr}")
        return self._items[attr]

    def __repr__(self) -> str:
        return f"<{self._name}: not installed>"


def optional_module(name: str):
    """The module `name` if it can be imported, else a stand-in."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return _Missing(name)
