"""A negated first contribution merged with the next one as a subtraction.

Before:                                  After:
    dpreds = -(dq * t2)                      dpreds = dq * targets - dq * t2
    dpreds = dpreds + dq * targets

(the adjoint of `preds * targets + (1 - preds) * t2`: one array operation fewer). IEEE
addition of a negated value is the subtraction, so the value is the same bit for bit.
Only for two statements in a row (but for line comments) that bind the same name, the
second adding to the first (which it reads nowhere else), for a name not accumulated in
place.
"""
from __future__ import annotations

import gast

from ..core.markers import is_marker
from .facts import COMPOUND, names_read


def subtract(body: list, inplace: set, protected: set) -> bool:
    """Merge `x = -a` and `x = x + b` into `x = b - a` in `body`; whether anything changed."""
    changed = False
    for stmt in body:
        if isinstance(stmt, COMPOUND):
            for sub in (stmt.body, stmt.orelse):
                if sub:
                    changed |= subtract(sub, inplace, protected)
    idx = 0
    while idx < len(body):
        nxt = idx + 1
        while nxt < len(body) and is_marker(body[nxt]):  # (the line comments between)
            nxt += 1
        merged = _merged(body[idx], body[nxt], inplace) if nxt < len(body) else None
        if merged is not None:
            body[nxt].value = merged
            del body[idx]
            changed = True
        idx += 1
    return changed


def _merged(first, second, inplace: set):
    """`b - a` for `x = -a` then `x = x + b`, else None."""
    if not (isinstance(first, gast.Assign) and isinstance(second, gast.Assign) and
            isinstance(first.targets[0], gast.Name) and
            isinstance(second.targets[0], gast.Name)):
        return None
    name = first.targets[0].id
    negated, total = first.value, second.value
    if second.targets[0].id != name or name in inplace or not (
            isinstance(negated, gast.UnaryOp) and isinstance(negated.op, gast.USub)):
        return None
    if not (isinstance(total, gast.BinOp) and isinstance(total.op, gast.Add) and
            isinstance(total.left, gast.Name) and total.left.id == name) or \
            name in names_read(total.right) or name in names_read(negated.operand):
        return None
    return gast.BinOp(left=total.right, op=gast.Sub(), right=negated.operand)
