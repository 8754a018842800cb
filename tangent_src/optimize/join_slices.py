"""An adjoint built from zeros by adding into slices that tile one axis, as one join.

Before:                                          After:
    dcams = np.zeros_like(cams)
    dcams = add_at(dcams, (slice(None, None),        dcams_7_9 = g1
        slice(7, 9)), g1)
    ...                                              ...
    dcams = add_at(dcams, (slice(None, None),        dcams = join_slices(cams, 1,
        slice(0, 7)), g2)                                ((0, 7), (7, 9)), g2, dcams_7_9)

(the adjoint of reading column blocks `cams[:, 0:7]`, `cams[:, 7:9]`). join_slices is one
np.concatenate when the slices cover the whole axis and each value is an array of its
slice's shape and dtype (0 + v is v), and the zeros and sums themselves otherwise, so the
value is the same. Only in one block, for `d = np.zeros_like(x)` followed by at least two
`d = add_at(d, slices, v)` of constant, disjoint slices of one axis that start at 0 and
leave no gap, with nothing else reading `d` in between and `x` not rebound; each value
but the last is held in a name of its own where it was added (`dcams_7_9 = g1`), and
nothing before the join may add into an array it reads.
Python back end only (runtime join_slices has no numba implementation; numba compiles
add_at as a loop).
"""
from __future__ import annotations

import gast

from ..core import build
from ..core.walk import all_nodes
from .facts import COMPOUND, has_effect, names_read, names_written


def join_slices(body: list) -> bool:
    """Rewrite every such adjoint in `body` and its nested blocks; whether anything changed."""
    changed = False
    for stmt in body:
        if isinstance(stmt, COMPOUND):
            for sub in (stmt.body, stmt.orelse):
                if sub:
                    changed |= join_slices(sub)
    idx = 0
    while idx < len(body):
        changed |= _join_at(body, idx)
        idx += 1
    return changed


def _join_at(body: list, idx: int) -> bool:
    like = _numpy_zeros(body[idx])
    if like is None:
        return False
    name = body[idx].targets[0].id
    adds = []  # (position, axis, start, stop, value)
    for pos in range(idx + 1, len(body)):
        stmt = body[pos]
        if name not in names_read(stmt) | names_written(stmt):
            continue
        found = _slice_add(stmt, name)
        if found is None:
            break
        adds.append((pos, *found))
    if len(adds) < 2 or len({axis for _, axis, _, _, _ in adds}) != 1:
        return False
    ordered = sorted(adds, key=lambda a: a[2])
    if ordered[0][2] != 0 or any(a[3] != b[2] for a, b in zip(ordered, ordered[1:])):
        return False
    last = adds[-1][0]
    between = body[idx + 1:last + 1]
    if like in set().union(*(names_written(s) for s in between)):
        return False
    used = {n.id for s in body for n in all_nodes(s) if isinstance(n, gast.Name)}
    held = {}  # position -> the name that holds its value until the join
    for pos, _, start, stop, value in adds[:-1]:
        later = body[pos + 1:last + 1]  # nothing there may change the value's array
        if has_effect(value) or names_read(value) & set().union(*(_added_to(s) for s in later)):
            return False
        held[pos] = _fresh(f"{name}_{start}_{stop}", used)
    axis = adds[0][1]
    bounds = gast.Tuple(elts=[gast.Tuple(elts=[build.const(a[2]), build.const(a[3])],
                                         ctx=gast.Load()) for a in ordered], ctx=gast.Load())
    values = [build.name(held[a[0]]) if a[0] in held else a[4] for a in ordered]
    body[last] = build.assign(name, build.call(
        "join_slices", [build.name(like), build.const(axis), bounds, *values]))
    for pos, *_, value in adds[:-1]:
        body[pos] = build.assign(held[pos], value)
    del body[idx]
    return True


def _added_to(stmt) -> set:
    """The names whose arrays `stmt` changes in place (add_at's first argument)."""
    return {n.args[0].id for n in all_nodes(stmt) if isinstance(n, gast.Call) and
            isinstance(n.func, gast.Name) and n.func.id == "add_at" and n.args and
            isinstance(n.args[0], gast.Name)}


def _fresh(base: str, used: set) -> str:
    name, k = base, 2
    while name in used:
        name, k = f"{base}_{k}", k + 1
    used.add(name)
    return name


def _numpy_zeros(stmt) -> str | None:
    """x for `d = np.zeros_like(x)` (x a name), else None."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
        return None
    value = stmt.value
    if isinstance(value, gast.Call) and build.dotted(value.func) == "np.zeros_like" and \
            len(value.args) == 1 and not value.keywords and isinstance(value.args[0], gast.Name):
        return value.args[0].id
    return None


def _slice_add(stmt, name: str):
    """(axis, start, stop, value) for `name = add_at(name, slices, value)` whose slices
    are whole but for one constant `slice(start, stop)` with 0 <= start < stop, else None."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and
            stmt.targets[0].id == name and isinstance(stmt.value, gast.Call) and
            isinstance(stmt.value.func, gast.Name) and stmt.value.func.id == "add_at" and
            len(stmt.value.args) == 3 and not stmt.value.keywords):
        return None
    acc, index, value = stmt.value.args
    if not (isinstance(acc, gast.Name) and acc.id == name) or name in names_read(value) or \
            any(isinstance(n, gast.Starred) for n in all_nodes(value)):
        return None
    parts = index.elts if isinstance(index, gast.Tuple) else [index]
    bounds = [_bounds(p) for p in parts]
    if not bounds or any(b is None for b in bounds) or \
            any(b != (None, None) for b in bounds[:-1]):
        return None
    start, stop = bounds[-1]
    if not (type(start) is int and type(stop) is int and 0 <= start < stop):
        return None
    return len(parts) - 1, start, stop, value


def _bounds(node):
    """(start, stop) of `slice(start, stop)` / `slice(start, stop, None)` with constant
    (or None) bounds, else None."""
    if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and
            node.func.id == "slice" and len(node.args) in (2, 3) and not node.keywords):
        return None
    if not all(isinstance(a, gast.Constant) for a in node.args) or \
            (len(node.args) == 3 and node.args[2].value is not None):
        return None
    return node.args[0].value, node.args[1].value
