"""Inlining single-use temporaries.

Before:                          After:
    t = dy * 2.0                     dx = np.cos(x) * (dy * 2.0)
    dx = np.cos(x) * t

A temporary read once and bound once moves into the statement that reads it, when
nothing in between writes (or mutates) what it reads and no loop, branch or section
boundary lies between. Where each name is read, written and mutated is indexed once per
block, so finding that statement costs a few bisections instead of a scan (quadratic for
forward values the backward pass reads).
"""
from __future__ import annotations

import itertools

import gast

from ..core.markers import is_marker
from .facts import (
    COMPOUND,
    BlockIndex,
    has_effect,
    is_add_at,
    is_zeros,
    mutates,
    name_counts,
    names_read,
    names_written,
    next_use,
    replace_read,
    tape_call,
)


def inline(body: list, inplace: set, protected: set) -> bool:
    """Inline single-use temporaries in `body`; whether anything changed."""
    counts, defs = name_counts(body)
    return _Inliner(inplace, protected, counts, defs).block(body)


class _Inliner:
    def __init__(self, inplace: set, protected: set, counts: dict, defs: dict):
        self.inplace = inplace          # adjoints mutated by add_at: never aliased
        self.protected = protected      # user-visible names, never inlined away
        self.counts, self.defs = counts, defs

    def block(self, stmts) -> bool:
        changed = False
        for stmt in stmts:
            if isinstance(stmt, COMPOUND):
                for sub in (stmt.body, stmt.orelse):
                    if sub:
                        changed |= self.block(sub)
        index = BlockIndex(stmts)
        deleted = set()
        for idx, stmt in enumerate(stmts):
            if not self.inlinable(stmt, itertools.islice(stmts, idx + 1, None)):
                continue
            name = stmt.targets[0].id
            reads = names_read(stmt.value)
            use = next_use(index, stmts, idx, name, reads)
            if use is None:
                continue
            later = stmts[use]
            written = names_written(later) if not isinstance(later, gast.Assign) else set()
            if written & reads or mutates(later, reads - {name}):
                continue
            replace_read(later, name, stmt.value)
            index.update(use, later)
            deleted.add(idx)
            changed = True
        if deleted:
            stmts[:] = [s for k, s in enumerate(stmts) if k not in deleted]
        return changed

    def inlinable(self, stmt, rest) -> bool:
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
            return False
        name = stmt.targets[0].id
        if self.counts.get(name, 0) != 1 or self.defs.get(name, 0) != 1:
            return False
        if name in self.protected:
            consumer = next((s for s in rest if not is_marker(s)), None)
            is_copy = isinstance(consumer, gast.Assign) and \
                isinstance(consumer.value, gast.Name) and consumer.value.id == name
            if not is_copy:
                return False
        if tape_call(stmt, "pop") or name in self.inplace:
            return False
        return not is_zeros(stmt.value) and not is_add_at(stmt.value) and \
            not has_effect(stmt.value)
