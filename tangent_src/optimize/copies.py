"""Copy propagation.

Before:                          After:
    a = b                            a = b
    y = a * 2.0                      y = b * 2.0

Later reads of `a` read `b`, up to where `a` or `b` is written again (the copy itself
goes in dead-code elimination when nothing reads `a` any more). Not for adjoints updated
in place. Where each name is read and written is indexed once per block, so each copy
costs the reads it renames rather than a scan of the rest of the block.
"""
from __future__ import annotations

import bisect

import gast

from ..core.dataflow import reads_writes
from ..core.markers import is_marker
from .facts import COMPOUND, next_after, rename_reads


def copies(body: list, inplace: set, protected: set) -> bool:
    """Propagate copies in `body`; whether anything changed."""
    return _copy_block(body, inplace)


def _copy_block(stmts, inplace) -> bool:
    changed = False
    for stmt in stmts:
        for sub in (getattr(stmt, "body", None), getattr(stmt, "orelse", None)):
            if sub:
                changed |= _copy_block(sub, inplace)
    reads_at: dict = {}
    writes_at: dict = {}
    returns = []
    for j, stmt in enumerate(stmts):
        if is_marker(stmt):
            continue
        reads, writes = reads_writes(stmt)
        for name in reads:
            reads_at.setdefault(name, []).append(j)
        for name in writes:
            writes_at.setdefault(name, []).append(j)
        if isinstance(stmt, gast.Return):
            returns.append(j)
    for idx, stmt in enumerate(stmts):
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and isinstance(stmt.value, gast.Name)):
            continue
        a, b = stmt.targets[0].id, stmt.value.id
        if a in inplace or b in inplace or a == b:
            continue
        stop = min(next_after(writes_at.get(a, ()), idx), next_after(
            writes_at.get(b, ()), idx), next_after(returns, idx), len(stmts))
        if stop < len(stmts) and isinstance(stmts[stop], COMPOUND):
            last = stop - 1  # a compound statement that writes a or b keeps its reads
        else:
            last = stop
        positions = reads_at.get(a, [])
        start = bisect.bisect_right(positions, idx)
        end = bisect.bisect_right(positions, last)
        renamed = positions[start:end]
        if not renamed:
            continue
        for j in renamed:
            rename_reads(stmts[j], a, b)
            targets = reads_at.setdefault(b, [])
            k = bisect.bisect_left(targets, j)
            if k == len(targets) or targets[k] != j:
                targets.insert(k, j)
        del positions[start:end]
        changed = True
    return changed
