"""Plain NumPy forms where a helper or NumPy's Python wrapper costs more than the work on
small arrays (the Python back end, first-order code; each gives the same bits):

    dW = np.zeros_like(W)              dW = np.zeros(W.shape, W.dtype)
    dW = add_at(dW, i, g)        ->    dW[i] += g
    s = np.sum(x, axis=0)              s = x.sum(axis=0)
    y = np.stack(rows)                 y = stack_rows(rows)

- `np.zeros_like(W)` marked ARRAY_ZEROS (the transform knew W is an ndarray): the same
  zeros in W's dtype, without zeros_like's wrapper (empty_like, then copyto: ~1.5 us
  against ~0.4 us; the LSTM allocates three per time step). Only the memory order may
  differ (C instead of an F-ordered W's), never a value.
- `dW = add_at(dW, index, g)` marked BASIC_ADD_AT (dW an array's adjoint, the index ints,
  scalar names and slices: no element twice): add_at runs exactly `dW[index] += g` there
  and returns dW. After own_accumulators, so dW's array is the function's own.
- `np.sum(x[, axis][, keepdims=k])` marked ARRAY_SUM (x proven an ndarray or NumPy scalar,
  transform/array_sums.py): np.sum of an ndarray reduces with np.add exactly as the method
  `x.sum(...)` does, and of anything else calls that method (np.matrix, np.ma arrays), so
  the method form is np.sum without the wrapper (~1.1 us a call; the LSTM sums twice per
  time step). An unmarked np.sum (a Python number or list may have no `.sum`) stays.
- `np.stack(rows)`: runtime `stack_rows`, np.array's copy for a non-empty list or tuple
  of float ndarrays (the same array; ~2 us less for a few short rows), else np.stack.

Code differentiated again keeps the rule-bearing forms (`+=` into an element has no
rule); numba compiles its own loops for all of them.
"""
from __future__ import annotations

import gast

from ..core import build
from ..core.tables import ARRAY_SUM, ARRAY_ZEROS, BASIC_ADD_AT
from ..core.walk import all_nodes


def direct_numpy(body: list) -> int:
    """Rewrite the forms above everywhere in `body`; the number rewritten."""
    count = _statements(body)
    for node in all_nodes(body):
        if isinstance(node, gast.Call):
            count += _zeros(node) or _sum(node) or _stack(node)
    return count


def _statements(stmts: list) -> int:
    """`acc = add_at(acc, index, g)` (BASIC_ADD_AT) -> `acc[index] += g`, at every depth."""
    count = 0
    for k, stmt in enumerate(stmts):
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                count += _statements(inner)
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
            continue
        call = stmt.value
        if not (isinstance(call, gast.Call) and call in BASIC_ADD_AT and
                build.dotted(call.func) == "add_at" and len(call.args) == 3 and
                not call.keywords and isinstance(call.args[0], gast.Name) and
                call.args[0].id == stmt.targets[0].id):
            continue
        acc, index, g = call.args
        target = gast.Subscript(value=build.name(acc.id), slice=_subscript(index),
                                ctx=gast.Store())
        new = gast.AugAssign(target=target, op=gast.Add(), value=g)
        new.lineno = getattr(stmt, "lineno", None)
        stmts[k] = new
        count += 1
    return count


def _subscript(index):
    """A runtime index back as subscript syntax: `slice(a, b)` -> `a:b`, tuples itemwise."""
    if isinstance(index, gast.Tuple):
        return gast.Tuple(elts=[_subscript(e) for e in index.elts], ctx=gast.Load())
    if isinstance(index, gast.Call) and build.dotted(index.func) == "slice" and \
            not index.keywords and 1 <= len(index.args) <= 3:
        parts = list(index.args) if len(index.args) > 1 else [build.const(None)] + index.args
        parts = [None if isinstance(p, gast.Constant) and p.value is None else p
                 for p in parts] + [None] * (3 - len(parts))
        return gast.Slice(lower=parts[0], upper=parts[1], step=parts[2])
    return index


def _zeros(node: gast.Call) -> int:
    if not (node in ARRAY_ZEROS and build.dotted(node.func) == "np.zeros_like" and
            len(node.args) == 1 and not node.keywords and
            isinstance(node.args[0], gast.Name)):
        return 0
    name = node.args[0].id
    node.func = gast.Attribute(value=build.name("np"), attr="zeros", ctx=gast.Load())
    node.args = [gast.Attribute(value=build.name(name), attr=attr, ctx=gast.Load())
                 for attr in ("shape", "dtype")]
    return 1


def _stack(node: gast.Call) -> int:
    """`np.stack(x)` (axis 0) -> runtime `stack_rows(x)`."""
    if build.dotted(node.func) != "np.stack" or len(node.args) != 1 or node.keywords or \
            isinstance(node.args[0], gast.Starred):
        return 0
    node.func = build.name("stack_rows")
    return 1


def _sum(node: gast.Call) -> int:
    """`np.sum(x[, axis][, keepdims=k])` marked ARRAY_SUM -> `x.sum([axis=a][, keepdims=k])`."""
    if node not in ARRAY_SUM or build.dotted(node.func) != "np.sum" or \
            not 1 <= len(node.args) <= 2:
        return 0  # (a pass may have made a marked call another's: short_sums)
    words = {k.arg: k.value for k in node.keywords}
    if None in words or set(words) - {"axis", "keepdims"} or \
            (len(node.args) == 2 and "axis" in words) or \
            isinstance(node.args[0], (gast.Starred, gast.GeneratorExp, gast.Constant)):
        return 0
    axis = node.args[1] if len(node.args) == 2 else words.get("axis")
    if isinstance(axis, gast.Constant) and axis.value is None:
        axis = None  # x.sum() is np.sum(x, axis=None)
    node.func = gast.Attribute(value=node.args[0], attr="sum", ctx=gast.Load())
    node.args = []
    node.keywords = ([] if axis is None else [gast.keyword(arg="axis", value=axis)]) + [
        k for k in node.keywords if k.arg == "keepdims"]
    return 1
