"""Which `np.sum` calls sum an ndarray (or a NumPy scalar): marked ARRAY_SUM, so the Python
back end may print them as the method `x.sum(...)` (optimize/direct_numpy.py).

For an ndarray, `np.sum(x, axis=k)` is `x.sum(axis=k)` (both reduce with np.add; the
wrapper only costs ~1 us more), and for anything else with a `.sum` method (ndarray
subclasses such as np.matrix and np.ma arrays, NumPy scalars) np.sum calls that method:
the method form is np.sum wherever it exists. A Python number or list has no `.sum`, so a
call is marked only where its operand is proven array-like from shape classes:

- a name whose shape class is an array's (`is_array_class`), or one of `arrays` (the
  adjoint of a rule's array-class result, which has that result's shape);
- `-e` or `+e` of such an operand, a NumPy ufunc of operands that are numbers or arrays
  (ufuncs return ndarrays or NumPy scalars);
- arithmetic (not `@`) of such an operand with a literal number, a name of scalar or array
  class, or another such operand.

Tangents in forward mode are never proven this way (a tangent may be the float seed 1.0).
"""
from __future__ import annotations

import gast
import numpy as np

from ..core import build
from ..core.tables import ARRAY_SUM
from ..core.walk import walk
from .adjoint_values import is_array_class

_ARITHMETIC = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.FloorDiv, gast.Mod, gast.Pow)


def mark_sums(nodes, classes: dict, arrays=frozenset(), is_sum=None) -> int:
    """Mark every sum call in `nodes` (trees) whose operand is proven array-like; `is_sum`
    tells a sum call (default: spelled `np.sum`). The number marked."""
    is_sum = is_sum or (lambda call: build.dotted(call.func) == "np.sum")
    count = 0
    for tree in nodes:
        for node in walk(tree):
            if isinstance(node, gast.Call) and node.args and is_sum(node) and \
                    array_like(node.args[0], classes, arrays):
                ARRAY_SUM[node] = True
                count += 1
    return count


def array_like(expr, classes: dict, arrays=frozenset()) -> bool:
    """Whether `expr` is proven to be an ndarray or a NumPy scalar (see the module)."""
    if isinstance(expr, gast.Name):
        return expr.id in arrays or is_array_class(classes.get(expr.id))
    if isinstance(expr, gast.UnaryOp):
        return isinstance(expr.op, (gast.USub, gast.UAdd)) and \
            array_like(expr.operand, classes, arrays)
    if isinstance(expr, gast.BinOp):
        if not isinstance(expr.op, _ARITHMETIC):
            return False
        sides = (expr.left, expr.right)
        return any(array_like(s, classes, arrays) for s in sides) and \
            all(_number_or_array(s, classes, arrays) for s in sides)
    if isinstance(expr, gast.Call):
        return _ufunc(expr) and bool(expr.args) and \
            all(_number_or_array(a, classes, arrays) for a in expr.args)
    return False


def _number_or_array(expr, classes: dict, arrays) -> bool:
    """A literal number, a name of scalar class, or an array-like operand."""
    if isinstance(expr, gast.Constant):
        return type(expr.value) in (int, float)
    if isinstance(expr, gast.Name) and classes.get(expr.id) == ():
        return True
    return array_like(expr, classes, arrays)


def _ufunc(call: gast.Call) -> bool:
    """`np.<ufunc>(...)` without keywords (no `out=`)."""
    name = build.dotted(call.func) or ""
    head, _, attr = name.partition(".")
    return head == "np" and "." not in attr and not call.keywords and \
        isinstance(getattr(np, attr, None), np.ufunc)
