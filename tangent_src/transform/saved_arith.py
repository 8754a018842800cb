"""Cheap elementwise values the backward half of a split gradient computes again instead of
saving them (the numba back end):

    def cell_fwd(...):                          def cell_bwd(saved, dout):
        e = np.exp(-x)                              (e, s, ...) = saved
        t = 1.0 + e               (not saved)       t = 1.0 + e
        s = 1.0 / t                                 ... s / t * e ...

Each array fewer in the saved tuple is a reference count and a tape slot fewer per call
(saved_views.py says why that matters); recomputing `1.0 + e` costs one flop an entry, and
numba's fusion then folds it into the backward half's loop.

A saved name `t` is computed again when its one assignment, at the top level of the forward
half, is + - * / or unary - of constants and names `e` that stay saved, each assigned once
before it at the top level by a value optimize/facts.py's is_fresh knows is new (never a
parameter: its caller could write into it between the halves). The same operations in the
same order on the same values give the same bits, so the values must be unchanged: `t` and
every `e` are only ever read as an operand of arithmetic or an argument of such a NumPy
call (never assigned again, written into, aliased, put in a container or passed elsewhere),
in either half.
"""
from __future__ import annotations

import gast

from ..core import build
from ..core.walk import clone, walk
from ..optimize.facts import is_fresh
from .saved_views import assign_counts

_OPS = (gast.Add, gast.Sub, gast.Mult, gast.Div)
# calls that only read their arguments
READ_ONLY_CALLS = frozenset({"np.exp", "np.log", "np.tanh", "np.sin", "np.cos", "np.sqrt",
                             "np.abs", "np.sum", "np.dot", "np.concatenate", "np.stack",
                             "len", "np.shape"})


def saved_arith(forward: list, backward: list, saved: list, params: set) -> tuple[list, list]:
    """(the statements the backward half runs first, the names to save instead of `saved`)."""
    counts, written_back = assign_counts(forward), assign_counts(backward)
    defined: dict = {}  # name -> position of its first top-level assignment
    for k, stmt in enumerate(forward):
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], gast.Name):
            defined.setdefault(stmt.targets[0].id, k)
    read_only = _read_only(forward + backward)

    def fixed(name: str, before: int) -> bool:  # one fresh value, never changed after
        k = defined.get(name)
        return k is not None and k < before and counts.get(name) == 1 and \
            name not in params and name not in written_back and name in read_only and \
            is_fresh(forward[k].value) and not getattr(forward[k].value, "keywords", None)

    chosen = []
    for name in saved:
        k = defined.get(name)
        if k is None or not fixed(name, len(forward)) or not _elementwise(forward[k].value):
            continue
        operands = {n.id for n in walk(forward[k].value) if isinstance(n, gast.Name)}
        if all(n in saved and fixed(n, k) for n in operands):
            chosen.append(k)
    taken = {forward[k].targets[0].id for k in chosen}
    # an operand recomputed itself would be read before it is computed again
    chosen = [k for k in chosen if not any(
        isinstance(n, gast.Name) and n.id in taken for n in walk(forward[k].value))]
    taken = {forward[k].targets[0].id for k in chosen}
    return [clone(forward[k]) for k in chosen], [n for n in saved if n not in taken]


def _elementwise(node) -> bool:
    """+ - * / and unary - of names and number constants."""
    if isinstance(node, gast.Constant):
        return type(node.value) in (int, float)
    if isinstance(node, gast.Name):
        return True
    if isinstance(node, gast.UnaryOp):
        return isinstance(node.op, gast.USub) and _elementwise(node.operand)
    return isinstance(node, gast.BinOp) and isinstance(node.op, _OPS) and \
        _elementwise(node.left) and _elementwise(node.right)


def _read_only(statements: list) -> set:
    """The names that `statements` read only as an operand of arithmetic or comparison or
    an argument of a READ_ONLY_CALLS call (or assign as a plain name), nowhere else."""
    seen, other = set(), set()
    for stmt in statements:
        for node in walk(stmt):
            if isinstance(node, gast.Assign):
                fine = [t for t in node.targets if isinstance(t, gast.Name)]
            elif isinstance(node, (gast.BinOp, gast.Compare)):
                fine = [node.left, node.right] if isinstance(node, gast.BinOp) else \
                    [node.left, *node.comparators]
            elif isinstance(node, gast.UnaryOp):
                fine = [node.operand]
            elif isinstance(node, gast.Call) and not node.keywords and \
                    build.dotted(node.func) in READ_ONLY_CALLS:
                fine = node.args
            else:
                fine = []
            seen.update(id(n) for n in fine if isinstance(n, gast.Name))
    for stmt in statements:
        for node in walk(stmt):
            if isinstance(node, gast.Name) and id(node) not in seen:
                other.add(node.id)
    names = {n.id for stmt in statements for n in walk(stmt) if isinstance(n, gast.Name)}
    return names - other
