"""The adjoint of a tuple whose every item is set once: the tuple of those adjoints.

Before:                                After:
    dh_c = zeros_like(h_c)                 dh_c = dh, dc
    dh_c = add_at(dh_c, 1, dc)
    dh_c = add_at(dh_c, 0, dh)

(`h, c = cell(...)`; the adjoint is passed to the cell's backward function). Only where
the reverse transform marked the zeros (core/tables.py: TUPLE_LENGTH): shape inference
found `h_c` bound only to plain tuples of that many items. Then add_at replaces item k by
`zeros_like(h_c[k]) + v`, which is v (an adjoint has its value's shape, as in zeros.py),
and once every item is replaced the result is the tuple of the values. The values must be
names (not updated in place: the tuple shares their arrays) that nothing rebinds before
the last add_at, and nothing else may read or change the adjoint in between.
"""
from __future__ import annotations

import gast

from ..analysis.shape_items import int_const
from ..core import build
from ..core.markers import is_marker
from ..core.tables import TUPLE_LENGTH
from .facts import COMPOUND, names_read, names_written


def tuple_adjoints(body: list, inplace: set, protected: set) -> bool:
    """Build fully set tuple adjoints directly in `body`; whether anything changed."""
    changed = False
    for stmt in body:
        if isinstance(stmt, COMPOUND):
            changed |= tuple_adjoints(stmt.body, inplace, protected)
            changed |= tuple_adjoints(stmt.orelse, inplace, protected)
    idx = 0
    while idx < len(body):
        changed |= _try_at(body, idx, inplace)
        idx += 1
    return changed


def _try_at(stmts: list, idx: int, inplace: set) -> bool:
    stmt = stmts[idx]
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and
            isinstance(stmt.value, gast.Call) and stmt.value in TUPLE_LENGTH):
        return False
    # (the name may be in `inplace`: add_at of a tuple builds a new tuple, never writes)
    name, length = stmt.targets[0].id, TUPLE_LENGTH[stmt.value]
    items: dict = {}  # item -> (position, value name)
    for pos in range(idx + 1, len(stmts)):
        s = stmts[pos]
        if is_marker(s):
            continue
        if isinstance(s, COMPOUND) or names_written(s) & {v for _, v in items.values()}:
            break
        item = _item_add(s, name, length)
        if item is None:
            if name in names_read(s) | names_written(s):
                break
            continue
        k, value = item
        if k in items or value in inplace:
            break
        items[k] = (pos, value)
        if len(items) == length:
            break
    if len(items) != length:
        return False
    last = max(pos for pos, _ in items.values())
    stmts[last].value = gast.Tuple(elts=[build.name(items[k][1]) for k in range(length)],
                                   ctx=gast.Load())
    for pos in sorted((p for p, _ in items.values() if p != last), reverse=True):
        del stmts[pos]
    return True


def _item_add(stmt, name: str, length: int):
    """(k, value name) of `name = add_at(name, k, value)` (k a literal int), else None."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and
            stmt.targets[0].id == name):
        return None
    call = stmt.value
    if not (isinstance(call, gast.Call) and isinstance(call.func, gast.Name) and
            call.func.id == "add_at" and len(call.args) == 3 and not call.keywords):
        return None
    acc, index, value = call.args
    k = int_const(index)
    if not (isinstance(acc, gast.Name) and acc.id == name and isinstance(value, gast.Name)
            and value.id != name and k is not None and -length <= k < length):
        return None
    return k % length, value.id
