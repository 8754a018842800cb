"""Views the backward half of a split gradient takes again instead of saving them (the
numba back end):

    def cell_fwd(...):                          def cell_bwd(saved, dout):
        s = 1.0 / t                                 (s, b, ...) = saved
        forget = s[0:b]           (not saved)       forget = s[0:b]
        ingate = s[b:2 * b]       (not saved)       ingate = s[b:2 * b]
        ...                                         ...

A split callee's saved values are a tuple that its caller keeps on a tape: under numba a
reflected list holding each tuple inline (56 bytes and a reference count per array, the
list's slots zero-filled as it grows), so each array fewer in it is work saved per call
(an LSTM cell's three gate slices of one array: 14 saved values to 11 and the bound).

A saved name is taken again when its one assignment, at the top level of the forward
half, is a basic slice `a[lo:hi]` of a name `a` that is saved anyway, assigned once before
it at the top level by arithmetic or a NumPy call (an array, never a list: a list's slice
would be a copy, which a later write could make differ), its bounds constants or names
assigned once before it at the top level (or parameters never assigned; these are saved
instead). Nothing in the backward half assigns any of them. The same slice of the same
array object is a view of the same memory: the same values at any time, whatever writes
into `a` happened in between.
"""
from __future__ import annotations

import gast

from ..core import build
from ..core.walk import clone, walk

_BOUND_OPS = (gast.Add, gast.Sub, gast.Mult, gast.FloorDiv)


def saved_views(forward: list, backward: list, saved: list, params: set) -> tuple[list, list]:
    """(the statements the backward half runs first, the names to save instead of `saved`)."""
    counts = assign_counts(forward)
    written_back = assign_counts(backward)
    defined: dict = {}  # name -> position of its one top-level assignment
    for k, stmt in enumerate(forward):
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], gast.Name):
            defined.setdefault(stmt.targets[0].id, k)

    def fixed_before(name: str, k: int) -> bool:
        if name in written_back:
            return False
        if name in params:
            return name not in counts
        return counts.get(name) == 1 and defined.get(name, k) < k

    views, bounds = [], set()
    for name in saved:
        k = defined.get(name)
        if k is None or counts.get(name) != 1 or name in written_back or name in params:
            continue
        value = forward[k].value
        if not (isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) and
                isinstance(value.slice, gast.Slice)):
            continue
        base = value.value.id
        parts = [p for p in (value.slice.lower, value.slice.upper, value.slice.step) if p]
        names = {n.id for p in parts for n in walk(p) if isinstance(n, gast.Name)}
        if base in saved and fixed_before(base, k) and _array_valued(forward, defined, base) \
                and all(_bound(p) for p in parts) and \
                all(fixed_before(n, k) for n in names):
            views.append(k)
            bounds |= names
    taken = {forward[k].targets[0].id for k in views}
    kept = [n for n in saved if n not in taken]
    if any(forward[k].value.value.id in taken for k in views) or bounds & taken:
        return [], saved  # (a view of a view: not generated today; left saved)
    return [clone(forward[k]) for k in sorted(views)], sorted(set(kept) | bounds)


def _array_valued(forward: list, defined: dict, name: str) -> bool:
    """Whether `name`'s one top-level assignment gives an array: arithmetic or np.*."""
    k = defined.get(name)
    if k is None:
        return False
    value = forward[k].value
    if isinstance(value, (gast.BinOp, gast.UnaryOp)):
        return True
    return isinstance(value, gast.Call) and (build.dotted(value.func) or "").startswith("np.")


def _bound(node) -> bool:
    """An int constant, a name, or + - * // of such."""
    if isinstance(node, gast.Constant):
        return type(node.value) is int
    if isinstance(node, gast.Name):
        return True
    return isinstance(node, gast.BinOp) and isinstance(node.op, _BOUND_OPS) and \
        _bound(node.left) and _bound(node.right)


def assign_counts(statements: list) -> dict:
    """name -> how many times `statements` bind it (at any depth, any form)."""
    out: dict = {}
    for stmt in statements:
        for node in walk(stmt):
            if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Load):
                out[node.id] = out.get(node.id, 0) + 1
    return out
