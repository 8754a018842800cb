"""Summing before a product: a matrix product's adjoint that is only ever summed back
to a broadcast operand's shape is computed from the summed factors.

Before:                                      After:
    dxc = matmul_rhs(dQxc, Qs, xc)               dmeans = -matmul_rhs_summed(dQxc, Qs, xc,
    dmeans = -unbroadcast(dxc, mu_kd1)                                       mu_kd1)

The same where the product was already inlined: `unbroadcast(matmul_rhs(g, a, b), like)`
-> `matmul_rhs_summed(g, a, b, like)`.
(`xc = x - mu[:, :, None]` feeds `Qs @ xc`: the full (K, d, n) adjoint of xc was built
only to be summed over n; the hand-written gradient sums dQxc over n first and multiplies
a (K, d, 1) vector). `matmul_*_summed` (runtime/products.py) takes each sum before the
product where the two commute and leaves the rest to unbroadcast, so the value is the
same for every shape. Only where the product's adjoint is read once, by that
unbroadcast, with nothing in between changing what it reads (as for inlining).
First-order code only (like `outers`): the two helpers have no derivative rules.
"""
from __future__ import annotations

import gast

from ..core.walk import all_nodes, walk
from .facts import (
    COMPOUND,
    BlockIndex,
    mutates,
    name_counts,
    names_read,
    names_written,
    next_use,
)

_SUMMED = {"matmul_lhs": "matmul_lhs_summed", "matmul_rhs": "matmul_rhs_summed"}


def sum_first(body: list, inplace: set, protected: set) -> bool:
    """Fuse `v = matmul_*(g, a, b)` into its one reader `unbroadcast(v, like)`; whether
    anything changed."""
    counts, defs = name_counts(body)
    changed = _block(body, inplace, counts, defs)
    for node in all_nodes(body):
        if isinstance(node, gast.Call) and _is_unbroadcast(node) and \
                _is_product(node.args[0]):
            _fuse(node, node.args[0])
            changed = True
    return changed


def _is_unbroadcast(node) -> bool:
    return isinstance(node.func, gast.Name) and node.func.id == "unbroadcast" and \
        len(node.args) == 2 and not node.keywords


def _is_product(value) -> bool:
    return isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and \
        value.func.id in _SUMMED and len(value.args) == 3 and not value.keywords


def _fuse(call, product) -> None:
    """Turn `unbroadcast(<...>, like)` into `matmul_*_summed(g, a, b, like)` in place."""
    call.func = gast.Name(id=_SUMMED[product.func.id], ctx=gast.Load(), annotation=None,
                          type_comment=None)
    call.args = list(product.args) + [call.args[1]]


def _product(stmt, inplace: set, counts: dict, defs: dict):
    """The name bound by `v = matmul_lhs/rhs(g, a, b)` read and bound once, else None."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
        return None
    value, name = stmt.value, stmt.targets[0].id
    if not _is_product(value):
        return None
    if counts.get(name, 0) != 1 or defs.get(name, 0) != 1 or name in inplace:
        return None
    return name


def _reader(stmt, name: str):
    """The call `unbroadcast(name, like)` in `stmt`, if that is how `stmt` reads `name`."""
    for node in walk(stmt):
        if isinstance(node, gast.Call) and _is_unbroadcast(node) and \
                isinstance(node.args[0], gast.Name) and node.args[0].id == name:
            return node
    return None


def _block(stmts: list, inplace: set, counts: dict, defs: dict) -> bool:
    changed = False
    for stmt in stmts:
        if isinstance(stmt, COMPOUND):
            for sub in (stmt.body, stmt.orelse):
                if sub:
                    changed |= _block(sub, inplace, counts, defs)
    index = BlockIndex(stmts)
    deleted = set()
    for idx, stmt in enumerate(stmts):
        name = _product(stmt, inplace, counts, defs)
        if name is None:
            continue
        reads = names_read(stmt.value)
        use = next_use(index, stmts, idx, name, reads)
        if use is None:
            continue
        later = stmts[use]
        call = _reader(later, name)
        written = names_written(later) if not isinstance(later, gast.Assign) else set()
        if call is None or written & reads or mutates(later, reads):
            continue
        _fuse(call, stmt.value)
        index.update(use, later)
        deleted.add(idx)
        changed = True
    if deleted:
        stmts[:] = [s for k, s in enumerate(stmts) if k not in deleted]
    return changed
