"""An outer product added into one entry of an accumulator becomes one helper call.

Before:                                        After:
    dQs = add_at(dQs, k, np.outer(dQxc, xc))       dQs = add_outer_at(dQs, k, dQxc, xc)

`add_outer_at(acc, k, u, v)` is `add_at(acc, k, np.outer(u, v))` by definition (its
NumPy form calls exactly that); under numba it adds u[i] * v[j] into acc[k] entry by
entry, the same product and sum per entry, without the (m, n) temporary, and falls back
to the composed form for any other shape or where u or v lies in acc's memory. The
arguments are evaluated in the same order as before. Run once, after the in-place
writes (optimize/inplace_writes.py knows add_at, not this helper), and only for code
that is not differentiated again (the helper has no derivative rule).
"""
from __future__ import annotations

import gast

from ..core import build
from ..core.walk import all_nodes
from .facts import is_add_at


def outer_at(body: list, inplace: set, protected: set) -> bool:
    """Rewrite every `add_at(acc, k, np.outer(u, v))` in `body`; whether any changed."""
    changed = False
    for node in all_nodes(body):
        if isinstance(node, gast.Call) and is_add_at(node) and len(node.args) == 3 and \
                not node.keywords and _is_outer(node.args[2]):
            u, v = node.args[2].args
            node.func = build.name("add_outer_at")
            node.args = node.args[:2] + [u, v]
            changed = True
    return changed


def _is_outer(node) -> bool:
    """`np.outer(u, v)`: two plain arguments, no keywords."""
    return isinstance(node, gast.Call) and build.dotted(node.func) == "np.outer" and \
        len(node.args) == 2 and not node.keywords and \
        not any(isinstance(a, gast.Starred) for a in node.args)
