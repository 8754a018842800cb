"""Accumulations into one entry of an adjoint that the NumPy helpers can fuse.

Before:                                        After:
    dQs = add_at(dQs, k, np.outer(dQxc, xc))       dQs = add_outer_at(dQs, k, dQxc, xc)

`add_outer_at(acc, k, u, v)` is `add_at(acc, k, np.outer(u, v))` by definition (its NumPy
form does exactly that); under numba it adds u[i] * v[j] into acc[k] entry by entry, the
same product and sum per entry, without the (m, n) temporary, and falls back to the
composed form for any other shape or where u or v lies in acc's memory. The arguments are
evaluated in the same order as before. A table of rules: `add_at(acc, k, -g)` as a
`subtract_at` measured no gain under numba (GMM loop form) and was left out. Run once,
after the in-place writes (optimize/inplace_writes.py knows add_at, not these helpers),
and only for code that is not differentiated again (the helpers have no derivative rules).
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


# (what the added value must be, the helper that takes its parts instead)
RULES = ((_outer, "add_outer_at"),)


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
