"""A list joined by NumPy and changed in place afterwards is joined as a snapshot.

Before:                                   After:
    rows.append(x * i)                        rows.append(x * i)
    a = np.concatenate(rows)                  a = np.concatenate(tuple(rows))
    rows.append(np.sin(x))                    rows.append(np.sin(x))

The adjoint of a join cuts the output's adjoint into one piece per joined array
(`pieces(da, rows, 'concatenate', 0)`), reading the arrays' lengths when the backward pass
runs; by then `rows` has grown, so the pieces were cut to the wrong list (a ValueError, or
pieces of the wrong rows). `tuple(rows)` is the same join of the same arrays (NumPy reads a
tuple as it reads a list), and the adjoint reads that tuple, which nothing changes: its
adjoint flows back into rows' as any tuple(...)'s does.
"""
from __future__ import annotations

import gast
import numpy as np

from ...core import build
from ...core.walk import walk
from ..resolve import lookup

# NumPy functions whose adjoint reads the lengths of the arrays in their first argument
JOINS = frozenset({np.concatenate, np.stack, np.hstack, np.vstack, np.dstack,
                   np.column_stack, np.append} |
                  ({np.row_stack} if hasattr(np, "row_stack") else set()))
JOIN_NAMES = frozenset(f.__name__ for f in JOINS) | {"concat"}
# methods that change a list's items or length in place
LIST_CHANGES = frozenset({"append", "extend", "insert", "pop", "remove", "clear",
                          "reverse"})


def snapshot_joined_lists(parsed, func: gast.FunctionDef) -> int:
    """Wrap each name (or name in a tuple/list display) joined by one of JOINS, whose list
    a statement of `body` may change in place after the join (later in the source, or
    anywhere in a loop around the join), as `tuple(name)`; the number wrapped."""
    tree = gast.Module(body=func.body, type_ignores=[])
    changes: dict = {}  # name -> the calls that change its list
    for node in walk(tree):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
                isinstance(node.func.value, gast.Name) and node.func.attr in LIST_CHANGES:
            changes.setdefault(node.func.value.id, []).append(node)
    if not changes or any(isinstance(n, gast.Name) and n.id == "tuple" and
                          not isinstance(n.ctx, gast.Load) for n in walk(tree)):
        return 0  # (nothing changes a list, or `tuple` is not the builtin)
    local = {n.id for n in walk(func) if isinstance(n, gast.Name) and
             not isinstance(n.ctx, gast.Load)}
    loops = [node for node in walk(tree) if isinstance(node, (gast.For, gast.While))]
    count = 0
    for node in walk(tree):
        if not (isinstance(node, gast.Call) and node.args and _is_join(parsed, node.func, local)):
            continue
        first = node.args[0]
        # the joined sequence itself, or each item of a display of sequences
        holders, positions = (first.elts, range(len(first.elts))) if isinstance(
            first, (gast.Tuple, gast.List)) else (node.args, range(1))
        around = [loop for loop in loops if any(n is node for n in walk(loop))]
        for k in positions:
            item = holders[k]
            if isinstance(item, gast.Name) and _changed_after(
                    node, changes.get(item.id, ()), around):
                holders[k] = build.call("tuple", [item])
                count += 1
    return count


def _changed_after(join, calls, loops) -> bool:
    """Whether one of `calls` may run after `join`: later in the source, or in a loop
    that holds the join too."""
    where = (getattr(join, "lineno", 0), getattr(join, "col_offset", 0))
    return any((getattr(c, "lineno", 0), getattr(c, "col_offset", 0)) > where or
               any(c is n for loop in loops for n in walk(loop)) for c in calls)


def _is_join(parsed, func, local: set) -> bool:
    dotted = build.dotted(func)
    if dotted is None or dotted.split(".")[0] in local or \
            dotted.rsplit(".", 1)[-1] not in JOIN_NAMES:
        return False  # (a local's method: not looked up as a global)
    try:
        return lookup(parsed, func) in JOINS
    except TypeError:  # an unhashable object
        return False
