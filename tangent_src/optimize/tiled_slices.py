"""Adjoints of slices that tile an array: one concatenation instead of adds into zeros.

Before:                                        After:
    dg = np.zeros_like(g)                          dg = np.concatenate((df, di, dc))
    dg = add_at(dg, slice(two_b, None), dc)
    dg = add_at(dg, slice(b, two_b), di)
    dg = add_at(dg, slice(0, b), df)

(the gates of an LSTM cell read as `g[0:b]`, `g[b:2 * b]`, `g[2 * b:]`). Exact when the
slices, in order of their bounds, start at 0, each begins where the previous one ends, the
last runs to the end, and no bound is below the one before (`b >= 0`: a size): then the
clamped slices of any array partition its first axis, and each added value has its slice's
shape (an adjoint has its value's shape), so the sum into zeros is the concatenation.
Bounds are compared as linear forms of names bound once, at the top of the function, to
an entry of a shape (`b = h.shape[0]`) or to sums and literal multiples of those
(`two_b = 2 * b`). The values must still mean the same at the last add (nothing between
rebinds a name they read), and nothing else may read or change `dg` in between.
"""
from __future__ import annotations

import gast

from ..analysis.shape_sizes import add, const, nonneg, scale, sub
from ..core import build
from ..core.markers import is_marker
from ..core.walk import walk
from .facts import COMPOUND, names_read, names_written

_END = "end"


def tiled_slices(body: list, inplace: set, protected: set) -> bool:
    """Rewrite tiling slice adjoints in `body` as concatenations; whether anything changed."""
    return _Tiles(_bound_forms(body)).block(body)


def _bound_forms(body: list) -> dict:
    """Linear forms of the names bound once in the function, at its top level, to shape
    entries or integer arithmetic of those (symbols: the names of shape entries)."""
    counts: dict = {}
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
    forms: dict = {}
    shapes: set = set()  # names bound once to `x.shape`
    for stmt in body:
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and counts.get(stmt.targets[0].id) == 1):
            continue
        name, value = stmt.targets[0].id, stmt.value
        if isinstance(value, gast.Attribute) and value.attr == "shape":
            shapes.add(name)
        elif _shape_entry(value, shapes):
            forms[name] = (0, ((name, 1),))
        else:
            form = _form(value, forms)
            if form is not None:
                forms[name] = form
    return forms


def _shape_entry(value, shapes: set) -> bool:
    if not (isinstance(value, gast.Subscript) and isinstance(value.slice, gast.Constant)
            and type(value.slice.value) is int):
        return False
    base = value.value
    return (isinstance(base, gast.Attribute) and base.attr == "shape") or (
        isinstance(base, gast.Name) and base.id in shapes)


def _form(expr, forms: dict):
    if isinstance(expr, gast.Constant) and type(expr.value) is int:
        return const(expr.value)
    if isinstance(expr, gast.Name):
        return forms.get(expr.id)
    if isinstance(expr, gast.BinOp):
        left, right = _form(expr.left, forms), _form(expr.right, forms)
        if isinstance(expr.op, gast.Add):
            return add(left, right)
        if isinstance(expr.op, gast.Sub):
            return sub(left, right)
        if isinstance(expr.op, gast.Mult) and left is not None and right is not None:
            return scale(right, left[0]) if not left[1] else \
                scale(left, right[0]) if not right[1] else None
    return None


def _is_none(node) -> bool:
    return isinstance(node, gast.Constant) and node.value is None


class _Tiles:
    def __init__(self, forms: dict):
        self.forms = forms

    def block(self, stmts: list) -> bool:
        changed = False
        for stmt in stmts:
            if isinstance(stmt, COMPOUND):
                changed |= self.block(stmt.body) | self.block(stmt.orelse)
        idx = 0
        while idx < len(stmts):
            changed |= self.try_at(stmts, idx)
            idx += 1
        return changed

    def try_at(self, stmts: list, idx: int) -> bool:
        """At `d = np.zeros_like(x)`: collect the slice adds that follow; rewrite if they
        tile d."""
        stmt = stmts[idx]
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and _np_zeros_like(stmt.value)):
            return False
        name = stmt.targets[0].id
        pieces, reads = [], set()  # (position, lower, upper, value); what the values read
        for pos in range(idx + 1, len(stmts)):
            s = stmts[pos]
            if is_marker(s):
                continue
            if isinstance(s, COMPOUND) or names_written(s) & reads:
                break
            piece = self.slice_add(s, name)
            if piece is None:
                if name in names_read(s) | names_written(s):
                    break
                continue
            pieces.append((pos,) + piece)
            reads |= names_read(s) - {name}
        order = self.tiling(pieces)
        if order is None:
            return False
        last = max(p[0] for p in pieces)
        stmts[last].value = build.attr_call("np", "concatenate", [
            gast.Tuple(elts=[pieces[k][3] for k in order], ctx=gast.Load())])
        for pos in sorted((p[0] for p in pieces if p[0] != last), reverse=True):
            del stmts[pos]
        return True

    def slice_add(self, stmt, name: str):
        """(lower, upper, value) of `name = add_at(name, slice(lower, upper), value)`
        (upper _END for None), else None."""
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and stmt.targets[0].id == name):
            return None
        call = stmt.value
        if not (isinstance(call, gast.Call) and isinstance(call.func, gast.Name) and
                call.func.id == "add_at" and len(call.args) == 3 and not call.keywords):
            return None
        acc, index, value = call.args
        if not (isinstance(acc, gast.Name) and acc.id == name) or name in names_read(value):
            return None
        if not (isinstance(index, gast.Call) and isinstance(index.func, gast.Name) and
                index.func.id == "slice" and len(index.args) in (2, 3) and
                not index.keywords) or (len(index.args) == 3 and
                                        not _is_none(index.args[2])):
            return None
        lower, upper = index.args[0], index.args[1]
        lo = const(0) if _is_none(lower) else _form(lower, self.forms)
        hi = _END if _is_none(upper) else _form(upper, self.forms)
        if lo is None or hi is None:
            return None
        return lo, hi, value

    @staticmethod
    def tiling(pieces: list):
        """The order (indices into `pieces`) in which the slices tile [0, end), or None."""
        if len(pieces) < 2:
            return None
        order, at, left = [], const(0), list(range(len(pieces)))
        while left:
            nxt = [k for k in left if pieces[k][1] == at]
            if len(nxt) != 1:
                return None
            k = nxt[0]
            hi = pieces[k][2]
            if hi != _END and not nonneg(sub(hi, at)):
                return None
            order.append(k)
            left.remove(k)
            if hi == _END:
                return order if not left else None
            at = hi
        return None


def _np_zeros_like(value) -> bool:
    return isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) and \
        value.func.attr == "zeros_like" and isinstance(value.func.value, gast.Name) and \
        value.func.value.id == "np" and len(value.args) == 1 and not value.keywords
