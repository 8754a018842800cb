"""Accumulations into one entry of an adjoint that the NumPy helpers can fuse.

Before:                                        After:
    dQs = add_at(dQs, k, np.outer(dQxc, xc))       dQs = add_outer_at(dQs, k, dQxc, xc)
    dmeans = add_at(dmeans, k, -dxc)               dmeans = subtract_at(dmeans, k, dxc)

`add_outer_at(acc, k, u, v)` is `add_at(acc, k, np.outer(u, v))` and `subtract_at(acc, k,
g)` is `add_at(acc, k, -g)` by definition (their NumPy forms do exactly that, or the same
in-place update); IEEE addition of a negated value is the subtraction, bit for bit. Under
numba they are loop nests without the (m, n) outer product or the negated copy (and fall
back to the composed form for any other shape, or where u or v lies in acc's memory). The
arguments are evaluated in the same order as before. Run once, after the in-place writes
(optimize/inplace_writes.py knows add_at, not these helpers), and only for code that is
not differentiated again (the helpers have no derivative rules).
"""
from __future__ import annotations

import gast

from ..core import build
from ..core.walk import all_nodes
from .facts import is_add_at


def _outer(g):
    """(u, v) of `np.outer(u, v)` (two plain arguments, no keywords), else None."""
    if isinstance(g, gast.Call) and build.dotted(g.func) == "np.outer" and \
            len(g.args) == 2 and not g.keywords and \
            not any(isinstance(a, gast.Starred) for a in g.args):
        return list(g.args)
    return None


def _negated(g):
    """[e] of `-e`, else None."""
    if isinstance(g, gast.UnaryOp) and isinstance(g.op, gast.USub):
        return [g.operand]
    return None


# (what the added value must be, the helper that takes its parts instead)
RULES = ((_outer, "add_outer_at"), (_negated, "subtract_at"))


def fused_at(body: list, inplace: set, protected: set) -> bool:
    """Rewrite every `add_at(acc, k, g)` in `body` whose g a rule matches; whether any
    changed."""
    changed = False
    for node in all_nodes(body):
        if not (isinstance(node, gast.Call) and is_add_at(node) and len(node.args) == 3 and
                not node.keywords):
            continue
        for parts_of, helper in RULES:
            parts = parts_of(node.args[2])
            if parts is not None:
                node.func = build.name(helper)
                node.args = node.args[:2] + parts
                changed = True
                break
    return changed
