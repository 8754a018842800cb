"""Which names a piece of code reads and writes: the facts every analysis and pass asks
for, computed by one tight traversal each (these sets are the optimizer's hottest path)."""
from __future__ import annotations

import gast


def names_with_ctx(node, ctx: type) -> set[str]:
    """The ids of the Name nodes under `node` whose context is `ctx` (gast.Load, Store)."""
    reads, writes = reads_writes(node)
    return reads if ctx is gast.Load else writes if ctx is gast.Store else {
        sub.id for sub in _names(node) if type(sub.ctx) is ctx}


def reads_writes(node) -> tuple[set[str], set[str]]:
    """(names read, names written) under `node`."""
    reads: set[str] = set()
    writes: set[str] = set()
    load, store = gast.Load, gast.Store
    for sub in _names(node):
        kind = type(sub.ctx)
        if kind is load:
            reads.add(sub.id)
        elif kind is store:
            writes.add(sub.id)
    return reads, writes


def all_names(node) -> set[str]:
    """Every name under `node`, read or written."""
    return {sub.id for sub in _names(node)}


def _names(node) -> list:
    """Every Name node under `node`."""
    out = []
    todo = [node]
    pop, push, add = todo.pop, todo.append, out.append
    name_type, ast_type = gast.Name, gast.AST
    while todo:
        sub = pop()
        if type(sub) is name_type:
            add(sub)
            if sub.annotation is not None:
                push(sub.annotation)
            continue
        for field in sub._fields:
            value = getattr(sub, field, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, ast_type):
                        push(item)
            elif isinstance(value, ast_type):
                push(value)
    return out
