"""What a specialization knows of an argument's Python type, and which `isinstance` tests
that knowledge decides.

A function specialized to a list argument, or to an array argument, knows how
`isinstance(x, list)` comes out before it runs; the front end folds such tests
(frontend/lower/kind_tests.py), so that a function which recurses on a list of arrays
(`if isinstance(data, list): return sum(f(w, d) for d in data)`) is, for the list, a
function calling its array specialization, and for an array, one without the call.
`Kind.decides` answers only when the answer holds for every value the specialization
admits: a type known exactly, or known to derive from one of a few builtin types whose
instances no other builtin's subclass can be (a list is never an ndarray).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# builtin types no class derives from two of (their instance layouts conflict), numbers
# counted as one family (np.float64 derives from both float and np.generic)
_NUMBERS = (bool, int, float, complex, np.generic)
_FAMILIES = (list, tuple, dict, str, bytes, set, frozenset, np.ndarray, type(None))


@dataclass(frozen=True)
class Kind:
    """The type of a value: `exact` when known, else a subclass of one of `within`."""

    exact: type | None = None
    within: tuple = ()

    def decides(self, types: tuple) -> bool | None:
        """`isinstance(value, types)` for every value of this kind, or None when that
        depends on the value."""
        if self.exact is not None:
            return issubclass(self.exact, types)
        if not self.within:
            return None
        if all(issubclass(w, types) for w in self.within):
            return True
        if all(_disjoint(w, t) for w in self.within for t in types):
            return False
        return None


@dataclass(frozen=True)
class Tree:
    """The shape class (analysis/kinds.py) of a list or tuple argument of type `type`
    whose items all have class `item` (None: unknown, or not all the same)."""

    type: type
    item: object = None


def _family(cls: type):
    if issubclass(cls, _NUMBERS):
        return "number"
    return next((base for base in _FAMILIES if issubclass(cls, base)), None)


def _disjoint(a: type, b: type) -> bool:
    """Whether no value can be an instance of both `a` and `b`."""
    if issubclass(a, b) or issubclass(b, a):
        return False
    fa, fb = _family(a), _family(b)
    return fa is not None and fb is not None and fa != fb
