"""Array writes into the array itself where no one reads the old version any more.

Before:                                   After:
    Q = np.zeros((d, d))                      Q = np.zeros((d, d))
    for j in range(d):                        for j in range(d):
        t = j, j                                  t = j, j
        Q = set_at(Q, t, e)                       Q = set_in_place(Q, t, e)
    ...                                       ...
    dQ2 = dQ                                  dQ2 = dQ
    dQ = zero_at(dQ2, t)                      dQ2_t = entry_copy(dQ2, t)
    de = unbroadcast(dQ2[t], e)               dQ = zero_in_place(dQ2, t)
                                              de = unbroadcast(dQ2_t, e)

Each `set_at` / `zero_at` copies its array so that older versions stay intact for the
backward pass: filling a (d, d) matrix entry by entry costs d^2 copies of it forward and
as many backward. `optimize/ownership.py` proves where the old version is dead (the
array is the function's own, nothing kept it, no name read later holds it); there the
write goes into the array (`set_in_place`, which still copies where set_at would change
the dtype). The adjoint of a write reads the old adjoint's entry after zeroing it
(`dQ2[t]` above); that read is moved before the write as `entry_copy` (the entry, or a
copy of it if it is an array: a view would see the zeroing), so the old version is dead
at the write; where the write then still cannot go in place the read is put back.
Only for code that is not differentiated again (the in-place helpers have no rules).
"""
from __future__ import annotations

import builtins

import gast

from ..core import build
from ..core.markers import is_marker
from ..core.walk import all_nodes, clone
from ..runtime import HELPERS
from .ownership import Ownership, modelled

IN_PLACE = {"set_at": "set_in_place", "zero_at": "zero_in_place"}
_ARITY = {"set_at": 3, "zero_at": 2}
# Calls that change their first argument's array.
_MUTATORS = frozenset({"add_at", "set_in_place", "zero_in_place"})


def write_in_place(func: gast.FunctionDef) -> bool:
    """Make every provably safe array write of `func` write in place; whether any did."""
    if not modelled(func):
        return False
    used = {n.id for n in all_nodes([func]) if isinstance(n, gast.Name)} | set(HELPERS) | \
        set(dir(builtins))
    hoists: list = []
    every = _sites(func.body)
    copying = frozenset(id(site) for site in every)
    # every write joins its families in `joined`: the most holders, for where reads may
    # move; `alone` takes every other write to copy (a copy is a new array)
    joined, alone = Ownership(func), Ownership(func, copying)
    _hoist_block(func.body, hoists, (joined, alone), used)
    every = _sites(func.body)
    # candidates: the writes allowed while all the others copy
    first = Ownership(func, copying)
    sites = [site for site in every if first.allows(site)]
    while True:  # then only those that stay allowed with all candidates in place
        facts = Ownership(func, frozenset(id(s) for s in every) -
                          frozenset(id(s) for s in sites))
        kept = [site for site in sites if facts.allows(site)]
        accepted = {id(site) for site in kept}
        dropped = [h for h in hoists if id(h.site) not in accepted]
        if len(kept) == len(sites) and not dropped:
            break
        for hoist in dropped:  # the read goes back: the write still copies
            hoist.undo()
            hoists.remove(hoist)
        sites = kept
    for site in sites:
        site.value.func.id = IN_PLACE[site.value.func.id]
    return bool(sites)


def is_site(stmt) -> bool:
    """`B = set_at(A, index, value)` or `B = zero_at(A, index)` with names A and B."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
        return False
    call = stmt.value
    return isinstance(call, gast.Call) and isinstance(call.func, gast.Name) and \
        call.func.id in IN_PLACE and not call.keywords and \
        len(call.args) == _ARITY[call.func.id] and isinstance(call.args[0], gast.Name) and \
        not any(isinstance(a, gast.Starred) for a in call.args)


def _sites(stmts) -> list:
    return [node for node in all_nodes(stmts) if isinstance(node, gast.stmt) and
            is_site(node)]


class _Hoist:
    """One `entry_copy` put before a write, and the reads `A[index]` it replaced."""

    def __init__(self, block: list, site, statement) -> None:
        self.block, self.site, self.statement = block, site, statement
        self.replaced: list = []   # (parent, field, position or None, the read)

    def undo(self) -> None:
        for parent, field, position, read in self.replaced:
            if position is None:
                setattr(parent, field, read)
            else:
                getattr(parent, field)[position] = read
        self.block.remove(self.statement)


def _hoist_block(stmts: list, hoists: list, facts: tuple, used: set) -> None:
    idx = 0
    while idx < len(stmts):
        stmt = stmts[idx]
        if isinstance(stmt, gast.If):
            _hoist_block(stmt.body, hoists, facts, used)
            _hoist_block(stmt.orelse, hoists, facts, used)
        elif isinstance(stmt, (gast.For, gast.While)):
            _hoist_block(stmt.body, hoists, facts, used)
        elif is_site(stmt) and facts[1].owned(stmt.value.args[0].id) and \
                _pure(stmt.value.args[1]):
            hoist = _hoist_reads(stmts, idx, facts, used)
            if hoist is not None:
                hoists.append(hoist)
                idx += 1
        idx += 1


def _hoist_reads(stmts: list, idx: int, facts: tuple, used: set):
    """Move the reads `A[index]` that follow the write `B = zero_at(A, index)` (the same
    index, A and the index unchanged, A's array changed by nothing in between) before it,
    as one `entry_copy`; None when there is none or B is A (then they read the new one)."""
    site = stmts[idx]
    source, target = site.value.args[0].id, site.targets[0].id
    if source == target:
        return None
    index = site.value.args[1]
    key = gast.dump(_loads(clone(index)))
    depends = {n.id for n in all_nodes([index]) if isinstance(n, gast.Name)} | {source}
    holders = facts[0].holders_of(source)
    name = _fresh(f"{source}_{index.id}" if isinstance(index, gast.Name) else
                  f"{source}_entry", used)
    hoist = _Hoist(stmts, site, None)
    for stmt in stmts[idx + 1:]:
        if is_marker(stmt):
            continue
        if not isinstance(stmt, (gast.Assign, gast.Expr)) or any(
                isinstance(n, (gast.IfExp, gast.BoolOp)) for n in all_nodes([stmt])):
            break
        if _mutates(stmt, holders):
            break  # (a read in it may come after the change)
        _replace_reads(stmt, source, key, name, hoist.replaced)
        written = {n.id for n in all_nodes([stmt]) if isinstance(n, gast.Name) and
                   isinstance(n.ctx, gast.Store)}
        if written & depends:  # (its reads come before it binds)
            break
    if not hoist.replaced:
        used.discard(name)
        return None
    hoist.statement = build.located(build.assign(name, build.call(
        "entry_copy", [build.name(source), clone(index)])), site)
    stmts.insert(idx, hoist.statement)
    return hoist


def _pure(index) -> bool:
    """Whether an index may be evaluated twice: names, numbers, tuples, `slice(...)`."""
    for node in all_nodes([index]):
        if isinstance(node, gast.Call):
            if not (isinstance(node.func, gast.Name) and node.func.id == "slice"):
                return False
        elif not isinstance(node, (gast.Name, gast.Constant, gast.Tuple, gast.Slice,
                                   gast.UnaryOp, gast.USub, gast.expr_context)):
            return False
    return True


def _replace_reads(node, source: str, key: str, name: str, replaced: list) -> None:
    """Replace every `source[<index>]` read under `node` by the name `name`."""
    for parent in all_nodes([node]):
        for field, value in gast.iter_fields(parent):
            items = value if isinstance(value, list) else [value]
            for position, item in enumerate(items):
                if _is_read(item, source, key):
                    where = position if isinstance(value, list) else None
                    replaced.append((parent, field, where, item))
                    if where is None:
                        setattr(parent, field, build.name(name))
                    else:
                        value[where] = build.name(name)


def _is_read(node, source: str, key: str) -> bool:
    return isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Load) and \
        isinstance(node.value, gast.Name) and node.value.id == source and \
        gast.dump(_loads(clone(node.slice))) == key


def _loads(node):
    """`node` with every context Load (an index written as a value or as a subscript)."""
    for sub in all_nodes([node]):
        if hasattr(sub, "ctx"):
            sub.ctx = gast.Load()
    return node


def _mutates(stmt, holders: set) -> bool:
    """Whether `stmt` may change the array of one of `holders` in place."""
    if isinstance(stmt, gast.AugAssign):
        return True
    for node in all_nodes([stmt]):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
                node.func.id in _MUTATORS:
            first = node.args[0] if node.args else None
            if not isinstance(first, gast.Name) or first.id in holders:
                return True
    return False


def _fresh(base: str, used: set) -> str:
    name, k = base, 2
    while name in used:
        name, k = f"{base}{k}", k + 1
    used.add(name)
    return name
