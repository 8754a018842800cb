"""Tidy the line comments: drop a `# line N` marker with no code under it, and repeats.

Before:                          After:
    # line 3: y = x                  # line 4: z = np.sin(y)
    # line 4: z = np.sin(y)          dy = dz * np.cos(y)
    dy = dz * np.cos(y)
"""
from __future__ import annotations

import gast

from ..core.markers import is_marker, is_section


def drop_empty_markers(stmts: list) -> None:
    """A line comment stays only if code follows it before the next comment, and only
    once per run of statements from the same source line."""
    out = []
    last = None
    for idx, stmt in enumerate(stmts):
        for sub in (getattr(stmt, "body", None), getattr(stmt, "orelse", None)):
            if sub and isinstance(stmt, (gast.If, gast.For, gast.While)):
                drop_empty_markers(sub)
        if is_section(stmt):
            out.append(stmt)
            last = None
            continue
        if is_marker(stmt):
            nxt = stmts[idx + 1] if idx + 1 < len(stmts) else None
            if nxt is None or is_marker(nxt) or isinstance(nxt, gast.Return):
                continue
            if stmt.value.value == last:
                continue
            last = stmt.value.value
        elif isinstance(stmt, (gast.If, gast.For, gast.While)):
            last = None
        out.append(stmt)
    stmts[:] = out
