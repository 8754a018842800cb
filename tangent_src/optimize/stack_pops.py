"""The adjoint of np.stack of a list, popped row by row, read as rows of the adjoint itself
(both back ends, first-order code):

    drows = pieces(dout[1], rows, 'stack', 0)       drows = dout[1]
                                                    drows_left = len(drows)
    for j in range(n - 1, -1, -1):            ->    for j in range(n - 1, -1, -1):
        dc = drows.pop()                                drows_left = drows_left - 1
                                                        dc = drows[drows_left]

`pieces` of a stack along axis 0 is the list of g's rows g[0], ..., g[len(g) - 1] (views
in Python; under numba the same views, g being contiguous, else contiguous copies of
them): each `pop()` takes the last row left. Counting the rows left down reads the same
rows in the same order, without building the list (under numba each list item costs a
reference count's atomic increment and decrement, and its growth a reallocation).

It fires only when the list is bound once and every read of it is `x = name.pop()`
(nothing else sees the list, so nothing else could change its length). A pop past the
first row, which the list would refuse, is never generated: the pops mirror the appends.
"""
from __future__ import annotations

import gast

from ..core import build
from ..core.walk import all_nodes
from .concat_pieces import assignments, pieces_along_first
from .facts import name_counts


def stack_pops(func: gast.FunctionDef) -> int:
    """Rewrite each such popped `pieces` adjoint in `func`; the number rewritten."""
    reads, defs = name_counts(func.body)
    params = {a.id for a in func.args.posonlyargs + func.args.args + func.args.kwonlyargs}
    used = reads.keys() | defs.keys() | params
    pops = _pops(func)
    count = 0
    for block, _, stmt in list(assignments(func.body)):
        name = stmt.targets[0].id
        left = f"{name}_left"
        if not pieces_along_first(stmt.value, "stack") or defs.get(name) != 1 or name in params or \
                left in used or not pops.get(name) or \
                len(pops[name]) != reads.get(name, 0):
            continue
        stmt.value = stmt.value.args[0]
        at = next(i for i, s in enumerate(block) if s is stmt)
        block.insert(at + 1, build.assign(left, build.call("len", [build.name(name)])))
        for pop_block, pop_stmt in pops[name]:
            at = next(i for i, s in enumerate(pop_block) if s is pop_stmt)
            pop_stmt.value = gast.Subscript(value=build.name(name), slice=build.name(left),
                                            ctx=gast.Load())
            pop_block.insert(at, build.assign(left, gast.BinOp(
                left=build.name(left), op=gast.Sub(), right=build.const(1))))
        used.add(left)
        count += 1
    return count


def _pops(func) -> dict:
    """name -> [(block, statement)] of every `x = name.pop()` (no arguments)."""
    out: dict = {}
    for node in all_nodes(func):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if not isinstance(block, list):
                continue
            for stmt in block:
                value = stmt.value if isinstance(stmt, gast.Assign) else None
                if isinstance(value, gast.Call) and not value.args and \
                        not value.keywords and isinstance(value.func, gast.Attribute) and \
                        value.func.attr == "pop" and isinstance(value.func.value, gast.Name):
                    out.setdefault(value.func.value.id, []).append((block, stmt))
    return out

