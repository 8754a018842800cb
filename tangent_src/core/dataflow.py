"""Which names a piece of code reads and writes, may read before writing, or writes on
every path: the dataflow facts every stage asks for, written once (the name sets are the
optimizer's hottest path, so each is one tight traversal)."""
from __future__ import annotations

import gast

from .walk import FieldTable

# contexts and operators hold no names
_NAME_FIELDS = FieldTable(frozenset({"ctx", "op", "ops"}))


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
    name_type, ast_type, fields = gast.Name, gast.AST, _NAME_FIELDS
    while todo:
        sub = pop()
        if type(sub) is name_type:
            add(sub)
            if sub.annotation is not None:
                push(sub.annotation)
            continue
        for field in fields[type(sub)]:
            value = getattr(sub, field, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, ast_type):
                        push(item)
            elif isinstance(value, ast_type):
                push(value)
    return out


def reads(nodes) -> set[str]:
    """Names loaded anywhere in the nodes `nodes`."""
    out: set[str] = set()
    for node in nodes:
        out |= reads_writes(node)[0]
    return out


def assigned(nodes) -> set[str]:
    """Names stored anywhere in the nodes `nodes` (loop targets included)."""
    out: set[str] = set()
    for node in nodes:
        out |= reads_writes(node)[1]
    return out


def definitely_assigned(stmts) -> list[str]:
    """Names every path through the core statements `stmts` assigns, in order of first
    assignment (a loop may run zero times, so only assignments and both arms of an if)."""
    out: list[str] = []
    for stmt in stmts:
        if isinstance(stmt, gast.Assign):
            found = [n.id for target in stmt.targets for n in _names(target)
                     if type(n.ctx) is gast.Store]
        elif isinstance(stmt, gast.If):
            orelse = set(definitely_assigned(stmt.orelse))
            found = [n for n in definitely_assigned(stmt.body) if n in orelse]
        else:
            continue
        out += [n for n in found if n not in out]
    return out


def upward_exposed(stmts, defined=frozenset()) -> set[str]:
    """Names the core statements `stmts` may read before they assign them."""
    exposed, defined = set(), set(defined)
    for stmt in stmts:
        if isinstance(stmt, gast.Assign):
            exposed |= reads([stmt.value]) - defined
            defined |= assigned(stmt.targets)
        elif isinstance(stmt, gast.If):
            exposed |= reads([stmt.test]) - defined
            exposed |= upward_exposed(stmt.body, defined)
            exposed |= upward_exposed(stmt.orelse, defined)
            defined |= set(definitely_assigned(stmt.body)) & set(
                definitely_assigned(stmt.orelse))
        elif isinstance(stmt, gast.For):
            exposed |= reads([stmt.iter]) - defined
            exposed |= upward_exposed(stmt.body, defined | {stmt.target.id})
        elif isinstance(stmt, gast.While):
            exposed |= reads([stmt.test]) - defined
            exposed |= upward_exposed(stmt.body, defined)
        else:
            exposed |= reads([stmt]) - defined
    return exposed


def plain_assignments(tree) -> tuple[dict, dict]:
    """(name -> the values of its plain assignments `n = v` / `n += v` as `n + v`,
    name -> how many times it is bound at all: stored, deleted or a parameter). A name
    whose values are as many as its bindings has no value from elsewhere."""
    values: dict = {}
    stores: dict = {}
    for node in gast.walk(tree):
        if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del, gast.Param)):
            stores[node.id] = stores.get(node.id, 0) + 1
        if isinstance(node, gast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], gast.Name):
            values.setdefault(node.targets[0].id, []).append(node.value)
        elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            whole = gast.BinOp(left=gast.Name(id=node.target.id, ctx=gast.Load(),
                                              annotation=None, type_comment=None),
                               op=node.op, right=node.value)
            values.setdefault(node.target.id, []).append(whole)
    return values, stores
