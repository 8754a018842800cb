"""Where each free name of generated code is read from: a module global, a closure cell, or
a value fixed when the code was generated (a parameter's default, an alias).

A generated module holds the derivatives of several user functions; each reads its free
names from its own scope. A `Ref` says where one name is read, so the loader can read it
*when the gradient runs* (as the user's function does: rebinding a global or a `nonlocal`
is seen), and module assembly can tell two different bindings of one name apart and give
one of them another name in the generated code instead of silently merging them.
"""
from __future__ import annotations

import types


class Ref:
    """Base class: `read()` returns the current value or raises KeyError."""

    kind = ""

    def read(self):
        raise NotImplementedError

    def identity(self) -> tuple:
        """Equal for two refs that always read the same value."""
        raise NotImplementedError

    def where(self) -> dict:
        """Keyword arguments locating an error about this name (none by default)."""
        return {}

    def available(self) -> bool:
        try:
            self.read()
        except KeyError:
            return False
        return True


class GlobalRef(Ref):
    """`key` in a module's globals dict (read live)."""

    kind = "global"

    def __init__(self, scope: dict, key: str):
        self.scope, self.key = scope, key

    def read(self):
        return self.scope[self.key]

    def identity(self) -> tuple:
        return ("global", id(self.scope), self.key)

    @property
    def module(self) -> str:
        return self.scope.get("__name__", "__main__")


class CellRef(Ref):
    """A closure cell of a user function (read live: a `nonlocal` rebinding is seen)."""

    kind = "cell"

    def __init__(self, cell, key: str, func):
        self.cell, self.key, self.func = cell, key, func
        self.owner = getattr(func, "__qualname__", "?")

    def where(self) -> dict:
        """The owner function's file and first line (for a located error)."""
        code = self.func.__code__
        return {"filename": code.co_filename, "lineno": code.co_firstlineno}

    def read(self):
        try:
            return self.cell.cell_contents
        except ValueError:  # an empty cell: the enclosing function has not assigned it yet
            raise KeyError(self.key) from None

    def identity(self) -> tuple:
        return ("cell", id(self.cell))


class FixedRef(Ref):
    """A value fixed when the code was generated (a default value, a method alias)."""

    kind = "fixed"

    def __init__(self, value, what: str = "", func=None):
        self.value, self.what, self.func = value, what, func
        self.origin: tuple | None = None  # (module, global name) holding the same value

    def where(self) -> dict:
        code = getattr(self.func, "__code__", None)
        return {"filename": code.co_filename, "lineno": code.co_firstlineno} if code else {}

    def read(self):
        return self.value

    def identity(self) -> tuple:
        return ("fixed", id(self.value))


def binding_key(ref: Ref | None):
    """What makes two names one binding: the place they are read from; but a module is
    bound once when the gradient loads, so every name holding one module is one binding."""
    if ref is None:
        return None
    if ref.available() and isinstance(ref.read(), types.ModuleType):
        return ("module", id(ref.read()))
    return ref.identity()


def is_frozen_safe(value) -> bool:
    """Whether freezing `value` (numba: globals are compile-time constants) can only go
    stale by rebinding, which an identity check detects: immutable values, functions,
    modules and classes; not arrays or containers that can change in place."""
    if isinstance(value, (bool, int, float, complex, str, bytes, type(None))):
        return True
    if isinstance(value, tuple):
        return all(is_frozen_safe(v) for v in value)
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        return not hasattr(value, "__setitem__")  # numpy scalars, not 0-d arrays
    import numpy as np
    return isinstance(value, (types.FunctionType, types.BuiltinFunctionType, types.ModuleType,
                              type, np.ufunc))
