"""Kinds of arguments: the shape classes of analysis/shapes.py read as Python types
(core/kinds.py), and the class of a list or tuple argument that also knows its type and
the class its items share (`Tree`), for the functions that test types.

A function that tests its parameters' types (`isinstance`) is specialized on them: its
list arguments get a `Tree` class (`Tree(list, ("N",))` for a list of vectors), an item
`data[i]` of one that class's `item`, and a call passing it specializes the callee on
that. `value_class(value)` is `shape_class(value)` with lists and tuples read that way.
"""
from __future__ import annotations

import functools
import inspect
import types

import numpy as np

from ..core.kinds import Kind, Tree
from .shapes import ARRAY0, DICT, SCALAR, shape_class


def value_class(value):
    """The class a value gives a specialization that tests types (module docstring)."""
    if isinstance(value, (list, tuple)):
        return Tree(type(value), items_class(value))
    return shape_class(value)


def items_class(items):
    """The class every item of the list or tuple `items` has (shape classes of different
    sizes joined as "?" per axis), or None."""
    if not isinstance(items, (list, tuple)):
        return None
    out = None
    for k, item in enumerate(items):
        cls = value_class(item)
        out = cls if k == 0 else join(out, cls)
        if out is None:
            return None
    return out


def join(a, b):
    """The class both `a` and `b` belong to, or None."""
    if a == b:
        return a
    if isinstance(a, Tree) and isinstance(b, Tree) and a.type is b.type:
        return Tree(a.type, join(a.item, b.item))
    if _is_shape(a) and _is_shape(b) and len(a) == len(b) and a != SCALAR:
        return tuple(x if x == y else "?" for x, y in zip(a, b))
    return None


def _is_shape(cls) -> bool:
    return isinstance(cls, tuple) and all(f in ("N", "1", "?") for f in cls)


def kind_of(cls) -> Kind | None:
    """What class `cls` says of a value's type (None: nothing a type test can use).
    Scalars say nothing (an inferred scalar may be a 0-d array, or a truth value), nor
    does TREE (a callee's part of a pytree may be a dict or an object)."""
    if isinstance(cls, Tree):
        return Kind(exact=cls.type)
    if cls == DICT:
        return Kind(within=(dict,))
    if cls == ARRAY0 or (_is_shape(cls) and cls != SCALAR):
        return Kind(within=(np.ndarray,))
    if isinstance(cls, tuple) and len(cls) == 2 and cls[0] in ("object", "function"):
        return Kind(exact=cls[1] if cls[0] == "object" else type(cls[1]))
    if isinstance(cls, tuple) and len(cls) == 2 and cls[0] == "string":
        return Kind(exact=str)
    return None


def tests_types(func, reach: bool = False, _seen=None) -> bool:
    """Whether `func`'s code (its nested functions' too) calls `isinstance`; with `reach`,
    or that of a user function it names (a global, a closure cell), recursively."""
    func = inspect.unwrap(func) if callable(func) else func
    while isinstance(func, functools.partial):
        func = func.func
    code = getattr(func, "__code__", None)
    if code is None:
        return False
    seen = set() if _seen is None else _seen
    if code in seen:
        return False
    seen.add(code)
    codes = _codes(code)
    if any("isinstance" in c.co_names for c in codes):
        return True
    if not reach:
        return False
    space = getattr(func, "__globals__", {})
    named = [space.get(n) for c in codes for n in c.co_names]
    named += [cell.cell_contents for cell in (getattr(func, "__closure__", None) or ())
              if _filled(cell)]
    return any(tests_types(f, True, seen) for f in named
               if isinstance(f, (types.FunctionType, functools.partial)))


def _codes(code) -> list:
    out = [code]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out += _codes(const)
    return out


def _filled(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018 -- an empty cell raises
    except ValueError:
        return False
    return True
