"""The adjoint of an np.concatenate along axis 0, read piece by piece, as slices of the
adjoint itself (both back ends, first-order code):

    t2 = inp, hidden                            t2 = inp, hidden
    ...                                         ...
    dt2 = pieces(g * w, t2, 'concatenate', 0)   dt2 = g * w
    dinp = dt2[0]                         ->    dt2_stop1 = len(inp)
    dhidden = dt2[1]                            dt2_stop2 = dt2_stop1 + len(hidden)
                                                dinp = dt2[:dt2_stop1]
                                                dhidden = dt2[dt2_stop1:dt2_stop2]

`pieces` cuts g into consecutive row blocks, one per joined array, each as long as that
array's first axis (arrays of g's rank, which np.concatenate requires of its operands;
anything shaped otherwise it reshapes, but a joined operand of g's rank has exactly its
block's shape): the same views, without the helper's call, type tests and tuple (an LSTM
cell's four-way join: ~1.5 us per cell in Python; under numba ~2% of the LSTM gradient).
It fires only where the lengths can be read
later from the same arrays: the tuple is bound once, at the top level, to names each bound
once at the top level (or parameters never rebound) and never changed in place (no
method call on them, not passed to a function other than NumPy's: a list's length could
change), so each name holds a value of the same length wherever the adjoint is read; and
every read of the adjoint is one of its items by a literal index.
"""
from __future__ import annotations

import gast

from ..core import build
from ..core.walk import all_nodes
from .facts import name_counts


def concat_pieces(func: gast.FunctionDef) -> int:
    """Rewrite each such `pieces` adjoint in `func`; the number rewritten."""
    body = func.body
    reads, defs = name_counts(body)
    params = {a.id for a in func.args.posonlyargs + func.args.args + func.args.kwonlyargs}
    top = {s.targets[0].id for s in body if isinstance(s, gast.Assign) and
           isinstance(s.targets[0], gast.Name)}
    stable = ({n for n in top if defs.get(n) == 1} | {p for p in params if p not in defs}) \
        - _maybe_mutated(body)
    joins = {s.targets[0].id: [e.id for e in s.value.elts] for s in body
             if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name) and
             isinstance(s.value, (gast.Tuple, gast.List)) and s.value.elts and
             all(isinstance(e, gast.Name) and e.id in stable for e in s.value.elts) and
             defs.get(s.targets[0].id) == 1}
    used = reads.keys() | defs.keys() | params
    items = _item_reads(body)
    count = 0
    for block, k, stmt in assignments(body):
        call = stmt.value
        name = stmt.targets[0].id
        if not (pieces_along_first(call, "concatenate") and call.args[1].id in joins and
                defs.get(name) == 1):
            continue
        arrays = joins[call.args[1].id]
        subs = items.get(name, [])
        if len(subs) != reads.get(name, 0) or \
                any(s.slice.value >= len(arrays) for s in subs):
            continue  # the adjoint is read whole somewhere, or past the join
        last = max((s.slice.value for s in subs), default=-1) + 1
        stops = [f"{name}_stop{i}" for i in range(1, last + 1)]
        if used & set(stops):
            continue
        offsets = []
        for i, stop in enumerate(stops):
            length = build.call("len", [build.name(arrays[i])])
            value = length if i == 0 else gast.BinOp(left=build.name(stops[i - 1]),
                                                     op=gast.Add(), right=length)
            offsets.append(build.assign(stop, value))
        for sub in subs:
            i = sub.slice.value
            sub.slice = gast.Slice(lower=build.name(stops[i - 1]) if i else None,
                                   upper=build.name(stops[i]), step=None)
        stmt.value = call.args[0]
        block[k + 1:k + 1] = offsets
        count += 1
    return count


# attributes that read only an array's shape or kind
SHAPE_ATTRS = frozenset({"shape", "ndim", "dtype", "size", "T"})


def _maybe_mutated(body) -> set:
    """Names whose value might change length without being bound again: a list's append
    or pop (any method call on the name), or a value passed to a function other than
    NumPy's or len (a callee may append to a list it is given)."""
    out = set()
    for node in all_nodes(body):
        if isinstance(node, gast.Attribute) and isinstance(node.value, gast.Name) and \
                node.attr not in SHAPE_ATTRS:
            out.add(node.value.id)
        elif isinstance(node, gast.Call) and not (
                (build.dotted(node.func) or "").startswith("np.") or
                build.dotted(node.func) == "len"):
            out |= {a.id for a in node.args + [k.value for k in node.keywords]
                    if isinstance(a, gast.Name)}
    return out


def pieces_along_first(call, kind: str) -> bool:
    """`pieces(g, T, kind, 0)` with T a name: the adjoint of np.concatenate(T) / np.stack(T)
    along the first axis (`kind` "concatenate" or "stack")."""
    return isinstance(call, gast.Call) and build.dotted(call.func) == "pieces" and \
        not call.keywords and len(call.args) == 4 and isinstance(call.args[1], gast.Name) \
        and isinstance(call.args[2], gast.Constant) and call.args[2].value == kind \
        and isinstance(call.args[3], gast.Constant) and type(call.args[3].value) is int \
        and call.args[3].value == 0


def _item_reads(body) -> dict:
    """name -> the `name[k]` subscripts (k a literal int >= 0) that read it."""
    out: dict = {}
    for node in all_nodes(body):
        if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) and \
                isinstance(node.ctx, gast.Load) and isinstance(node.slice, gast.Constant) \
                and type(node.slice.value) is int and node.slice.value >= 0:
            out.setdefault(node.value.id, []).append(node)
    return out


def assignments(stmts: list):
    """(block, index, statement) of every `name = value` at any depth, the last of each
    block first, so inserting after one leaves the indices still to come valid."""
    for k in range(len(stmts) - 1, -1, -1):
        stmt = stmts[k]
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list):
                yield from assignments(inner)
        if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
            yield stmts, k, stmt
