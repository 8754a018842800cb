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


class PathRef(Ref):
    """`head.a.b`: an attribute path read from a global or cell (a module attribute, a
    method of a module-level object), followed when read."""

    kind = "path"

    def __init__(self, head: Ref, path: tuple):
        self.head, self.path = head, tuple(path)

    def read(self):
        value = self.head.read()
        try:
            for part in self.path:
                value = getattr(value, part)
        except AttributeError:
            raise KeyError(".".join(self.path)) from None
        return value

    def identity(self) -> tuple:
        return ("path", self.head.identity(), self.path)


class AttrRef(Ref):
    """Attribute `name` of a fixed object (a method looked up on an argument's class)."""

    kind = "attr"

    def __init__(self, owner, name: str):
        self.owner, self.name = owner, name

    def read(self):
        try:
            return getattr(self.owner, self.name)
        except AttributeError:
            raise KeyError(self.name) from None

    def identity(self) -> tuple:
        return ("attr", id(self.owner), self.name)


class ItemRef(Ref):
    """Item `key` of a fixed container (a module-level table of functions, ACTS["tanh"])."""

    kind = "item"

    def __init__(self, owner, key):
        self.owner, self.key = owner, key

    def read(self):
        try:
            return self.owner[self.key]
        except (KeyError, IndexError, TypeError):
            raise KeyError(self.key) from None

    def identity(self) -> tuple:
        return ("item", id(self.owner), self.key)


# -- guards: what generated code was specialized on ---------------------------------------
def _same(a, b) -> bool:
    """Identity, except that a bound method is the same when its function and object are
    (each attribute access makes a new method object)."""
    if a is b:
        return True
    if isinstance(a, types.MethodType) and isinstance(b, types.MethodType):
        return a.__func__ is b.__func__ and a.__self__ is b.__self__
    return False


class Guard:
    """A fact the generated code was built on, checked before each run: the place `ref`
    still holds `value` (the same object). Subclasses compare less (a shape class) or more
    (an array's contents)."""

    def __init__(self, ref: Ref, value):
        self.ref, self.value = ref, value

    def identity(self) -> tuple:
        return (type(self).__name__, self.ref.identity())

    def holds(self) -> bool:
        try:
            return _same(self.ref.read(), self.value)
        except KeyError:
            return False


class ShapeGuard(Guard):
    """A number or array read through a module attribute: shape inference used its shape
    class (scalar, (N, N) ...), so only a change of shape class makes the code stale; the
    value itself is read when the code runs."""

    def __init__(self, ref: Ref, value, shape_class):
        super().__init__(ref, value)
        self.value = None  # do not keep the data alive
        self.shape = shape_class(value)
        self._shape_class = shape_class

    def holds(self) -> bool:
        try:
            return self._shape_class(self.ref.read()) == self.shape
        except KeyError:
            return False


class LengthGuard(Guard):
    """A list of functions a loop was unrolled over: it must keep its length (an appended
    function would not be called). Its items are guarded one by one where they are read."""

    def __init__(self, ref: Ref, length: int):
        super().__init__(ref, None)
        self.length = length

    def holds(self) -> bool:
        try:
            return len(self.ref.read()) == self.length
        except (KeyError, TypeError):
            return False


class ContentGuard(Guard):
    """An array numba froze into compiled code (numba treats global arrays as constants):
    the code is stale when the array is rebound or changed in place. The check reads the
    array once, as the compiled code would."""

    def __init__(self, ref: Ref, value):
        import numpy as np
        super().__init__(ref, value)
        self.copy = np.array(value, copy=True)

    def holds(self) -> bool:
        import numpy as np
        try:
            value = self.ref.read()
        except KeyError:
            return False
        return value is self.value and np.array_equal(value, self.copy, equal_nan=True)


class FunctionGuard(Guard):
    """A user function the code was generated from: its code object, defaults and
    keyword defaults must be the ones it had (`f.__code__ = ...`, `f.__defaults__ = ...`
    and `f.__kwdefaults__[k] = ...` change what it computes without rebinding it)."""

    def __init__(self, func):
        super().__init__(FixedRef(func), func)
        self.code = func.__code__
        self.defaults = func.__defaults__
        kw = func.__kwdefaults__
        self.kwdefaults = kw
        self.kwitems = tuple(kw.items()) if kw else ()

    def identity(self) -> tuple:
        return ("function", id(self.value))

    def holds(self) -> bool:
        func = self.value
        if func.__code__ is self.code and func.__defaults__ is self.defaults and \
                func.__kwdefaults__ is self.kwdefaults:
            kw = self.kwdefaults
            return not kw or len(kw) == len(self.kwitems) and all(
                kw.get(k, self) is v for k, v in self.kwitems)
        return False
