"""Coalescing: keep the readable name when a temporary is only copied into it.

Before:                                After:
    dW_predict = np.outer(dz, x)           dW = np.outer(dz, x)
    dW = dW_predict

Only for a protected (user-visible) target and a single-use, single-definition
temporary, and never across a statement that reads or writes either name.
"""
from __future__ import annotations

import gast

from ..core.markers import is_marker
from ..core.walk import walk
from .facts import COMPOUND, name_counts, names_read, names_written


def coalesce(body: list, inplace: set, protected: set) -> bool:
    """Coalesce copies in `body`; whether anything changed."""
    counts, defs = name_counts(body)
    return _coalesce_block(body, counts, defs, inplace, protected)


def _coalesce_block(stmts, counts, defs, inplace, protected) -> bool:
    changed = False
    for stmt in stmts:
        if isinstance(stmt, COMPOUND):
            for sub in (stmt.body, stmt.orelse):
                if sub:
                    changed |= _coalesce_block(sub, counts, defs, inplace, protected)
    idx = 0
    while idx < len(stmts):
        stmt = stmts[idx]
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and \
                isinstance(stmt.value, gast.Name):
            a, b = stmt.targets[0].id, stmt.value.id
            if a in protected and b not in protected and \
                    counts.get(b) == 1 and defs.get(b) == 1 and \
                    a not in inplace and b not in inplace:
                for back in range(idx - 1, -1, -1):
                    prev = stmts[back]
                    if is_marker(prev):
                        continue
                    if isinstance(prev, gast.Assign) and b in names_written(prev) and \
                            a not in names_read(prev):
                        for node in walk(prev.targets[0]):
                            if isinstance(node, gast.Name) and node.id == b:
                                node.id = a
                        del stmts[idx]
                        changed = True
                        idx -= 1
                        break
                    if a in names_read(prev) | names_written(prev) or b in names_read(prev):
                        break
        idx += 1
    return changed
