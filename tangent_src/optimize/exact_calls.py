"""NumPy calls replaced by a runtime helper that computes the same value faster.

Before:                                  After:
    cross_w = np.cross(w, X)                 cross_w = cross3(w, X)

np.cross copies both operands (`astype`) before six strided products; runtime cross3 does
the same products and differences in the same order without the copies, so its result is
the same bit for bit (other cases, such as 2-vectors or mixed dtypes, it hands to np.cross
itself). Only calls with exactly the table's positional arguments and no keywords. `np` in
generated code is always NumPy (the assembler renames a user's other `np`). cross3 has
rules of its own, so code differentiated again keeps working.
"""
from __future__ import annotations

import gast

from ..core import build
from ..core.walk import all_nodes

# numpy function (as written in generated code) -> (runtime helper, positional arguments)
EXACT_CALLS = {"np.cross": ("cross3", 2)}


def exact_calls(body: list) -> bool:
    """Replace the calls of EXACT_CALLS everywhere in `body`; whether anything changed."""
    changed = False
    for stmt in body:
        for node in all_nodes(stmt):
            if not isinstance(node, gast.Call) or node.keywords:
                continue
            found = EXACT_CALLS.get(build.dotted(node.func) or "")
            if found is None or len(node.args) != found[1] or \
                    any(isinstance(a, gast.Starred) for a in node.args):
                continue
            node.func = build.name(found[0])
            changed = True
    return changed
