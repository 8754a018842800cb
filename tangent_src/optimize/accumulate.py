"""Accumulation in place, and ownership of the arrays `add_at` writes into.

`accumulate_in_place` (a pass): an adjoint's `dW = dW + g` inside a loop -> `dW += g`
when dW's array is its own. `accumulate_straight` (the Python back end): an adjoint's accumulation
`dx = dx + g` anywhere -> `dx += g` when the value dx holds there was built fresh in the
same block and nothing since could have kept it:

    dw = unbroadcast(dt4 * s, w)             dw = unbroadcast(dt4 * s, w)
    dw = dw + cross3(X, dcross)      ->      dw += cross3(X, dcross)
    dtheta = sum_keepdims(dw * w, 1)         dtheta = sum_keepdims(dw * w, 1)
    dw = dw + dX * X                         dw += dX * X
 `own_accumulators` (run before the optimizer): every array that `add_at`
updates in place is one the function allocated (a `copy_of` where a chain starts from a
value it does not own).
"""
from __future__ import annotations

import gast

from ..core.tables import ACCUMULATION, USER_IN_PLACE
from ..core.walk import all_nodes, walk
from .facts import COMPOUND, is_add_at, is_fresh, names_read, names_written
from .ownership import escaping_names


def accumulate_in_place(body: list, inplace: set) -> None:
    """An adjoint's `dW = dW + g` inside a loop -> `dW += g` when dW never shares its array
    with another name: every assignment to it builds a new value and it is never copied,
    stored or passed on whole. Saves one allocation per iteration (it matters under
    numba). Only an adjoint's accumulation (core.tables.ACCUMULATION: g has dW's shape)
    or the user's own `c += e` (USER_IN_PLACE: NumPy's in-place add, c's shape and dtype
    kept): the user's `c = c + e` may broadcast c to a larger shape or widen its dtype
    (`np.zeros(1) + np.ones(3)`, float32 + float64), which `+=` refuses or rounds."""
    assigned: dict = {}
    shared = set(inplace)
    returned = {id(n.value) for n in walk(gast.Module(body=body, type_ignores=[]))
                if isinstance(n, gast.Return)}
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Assign):
            for target in walk(node.targets[0]):
                if isinstance(target, gast.Name) and isinstance(target.ctx, gast.Store):
                    assigned.setdefault(target.id, []).append(node.value)
            if isinstance(node.value, gast.Name):
                shared.add(node.value.id)  # y = x: y and x would share one array
            if not isinstance(node.targets[0], gast.Name):
                shared |= names_read(node.value)
        elif isinstance(node, gast.Call):
            if isinstance(node.func, gast.Attribute) and node.func.attr == "append":
                shared |= names_read(node)
        elif isinstance(node, (gast.Tuple, gast.List)) and isinstance(node.ctx, gast.Load) \
                and id(node) not in returned:
            shared |= {e.id for e in node.elts if isinstance(e, gast.Name)}
    shared |= _viewed_names(body)
    owned = {name for name, values in assigned.items()
             if name not in shared and all(is_fresh(v) or (
                 isinstance(v, gast.BinOp) and isinstance(v.left, gast.Name) and
                 v.left.id == name) for v in values)}
    _rewrite_accumulations(body, owned, in_loop=False)


# Runtime helpers whose result is a new value that nothing else refers to.
OWNED_HELPERS = {"copy_of", "zeros_like", "set_at", "zero_at", "join_slices"}


def _owned(value) -> bool:
    """Whether an expression builds a value that no other name, argument or global holds."""
    if is_fresh(value):
        return True
    return isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and \
        value.func.id in OWNED_HELPERS


def _copy_of(expr):
    return gast.Call(func=gast.Name(id="copy_of", ctx=gast.Load(), annotation=None,
                                    type_comment=None), args=[expr], keywords=[])


def own_accumulators(func: gast.FunctionDef) -> None:
    """`acc = add_at(acc, i, g)` writes into acc's array; make every such array one the
    function allocated itself. Follows each accumulator back through the add_at chain to
    where it starts; a start that may share its array (a parameter -- an argument, a seed
    or a tangent --, a name, a view, a helper that may return its argument) becomes
    `copy_of(...)`. One copy where the chain starts, none per update; most chains start
    at zeros and need none. Without this, `d[y] = broadcast_like(d[x], y)` followed by
    add_at wrote into the caller's tangent array."""
    params = {a.id for a in func.args.posonlyargs + func.args.args + func.args.kwonlyargs}
    defs: dict = {}
    opaque = set(params)  # names bound other than by `name = value`
    tree = gast.Module(body=func.body, type_ignores=[])
    plain = set()
    for node in walk(tree):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name):
            defs.setdefault(node.targets[0].id, []).append(node)
            plain.add(id(node.targets[0]))
        elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            plain.add(id(node.target))  # `x += g` adds into x's own array (or rebinds a
            # number): x holds what its other bindings gave it
    for node in walk(tree):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store) and \
                id(node) not in plain:
            opaque.add(node.id)
    sites = [node for node in walk(tree) if is_add_at(node)]
    settled: set = set()

    def own(name: str) -> bool:
        """Make every definition of `name` owned; False when some binding cannot be."""
        if name in settled:
            return True
        settled.add(name)
        for assign in defs.get(name, []):
            value = assign.value
            if is_add_at(value):
                settle(value)
            elif not _owned(value):
                assign.value = _copy_of(value)
        return name not in opaque

    def settle(call) -> None:
        first = call.args[0]
        if isinstance(first, gast.Name):
            if not own(first.id):
                call.args[0] = _copy_of(first)  # bound by a parameter or unpacking: copy here
        elif not _owned(first):
            call.args[0] = _copy_of(first)

    for call in sites:
        settle(call)


def _viewed_names(body) -> set:
    """Names whose array may be viewed by another value: a subscript (`x[1:]`), an
    attribute (`x.T`) or an argument of a call that may return a view (np.reshape...)."""
    viewed = set()
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, (gast.Subscript, gast.Attribute)) and \
                isinstance(node.value, gast.Name):
            viewed.add(node.value.id)
        elif isinstance(node, gast.Call) and not is_fresh(node) and not (
                isinstance(node.func, gast.Attribute) and node.func.attr == "pop"):
            viewed |= {a.id for a in node.args if isinstance(a, gast.Name)}
            viewed |= {k.value.id for k in node.keywords if isinstance(k.value, gast.Name)}
    return viewed


def _rewrite_accumulations(stmts, owned: set, in_loop: bool) -> None:
    for idx, stmt in enumerate(stmts):
        if isinstance(stmt, (gast.For, gast.While)):
            _rewrite_accumulations(stmt.body, owned, True)
        elif isinstance(stmt, gast.If):
            _rewrite_accumulations(stmt.body, owned, in_loop)
            _rewrite_accumulations(stmt.orelse, owned, in_loop)
        elif in_loop and _accumulation(stmt, USER_IN_PLACE) and stmt.targets[0].id in owned:
            new = gast.AugAssign(target=stmt.targets[0], op=stmt.value.op,
                                 value=stmt.value.right)
            new.lineno = getattr(stmt, "lineno", None)
            stmts[idx] = new


# Helpers that return their first argument, a view of it or a new array made from it
# alone: of a fresh first argument, a fresh value no other name holds.
PASS_THROUGH = frozenset({"unbroadcast", "sum_to", "cross_back", "cross_last"})
# Helpers that always return a new array.
NEW_ARRAYS = frozenset({"sum_keepdims", "cross3"})


def _fresh_value(value) -> bool:
    """Whether `value` builds an array (or number) that nothing else refers to."""
    if is_fresh(value):
        return True
    if isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and \
            not value.keywords and not any(isinstance(a, gast.Starred) for a in value.args):
        if value.func.id in NEW_ARRAYS:
            return True
        return value.func.id in PASS_THROUGH and bool(value.args) and \
            _fresh_value(value.args[0])
    return False


def accumulate_straight(body: list) -> int:
    """`dx = dx + g` (an adjoint's accumulation, core.tables.ACCUMULATION: g has dx's
    shape) -> `dx += g` where the statements before it in its block bind dx to a fresh
    value and then read dx only where nothing can keep its array (an operand, an
    argument of a function that keeps none: optimize/ownership.py's escapes); the number
    rewritten. Same values bit for bit (the same additions), one array fewer each."""
    count = 0
    for stmts in blocks_of(body):
        for idx, stmt in enumerate(stmts):
            if _accumulation(stmt) and _owned_before(stmts, idx, stmt.targets[0].id):
                new = gast.AugAssign(target=stmt.targets[0], op=stmt.value.op,
                                     value=stmt.value.right)
                new.lineno = getattr(stmt, "lineno", None)
                stmts[idx] = new
                count += 1
    return count


def added_in_place(stmts: list, idx: int) -> bool:
    """Whether the `x += g` / `x -= g` at stmts[idx] adds into an array the function
    built itself (what accumulate_straight checked when it wrote it): vjp's pullback
    (pullback.py) asks, since `x` alone may also be bound to an argument elsewhere."""
    stmt = stmts[idx]
    return isinstance(stmt, gast.AugAssign) and isinstance(stmt.target, gast.Name) and \
        isinstance(stmt.op, (gast.Add, gast.Sub)) and \
        stmt.target.id not in names_read(stmt.value) and \
        _owned_before(stmts, idx, stmt.target.id)


def blocks_of(body: list) -> list:
    """Every statement list: `body` and those of the compound statements in it."""
    out = [body]
    for node in all_nodes(body):
        if isinstance(node, COMPOUND):
            out += [node.body, node.orelse]
    return out


def _accumulation(stmt, user=None) -> bool:
    """`x = x + g` / `x = x - g` marked ACCUMULATION (or, with `user`, the user's own
    `x += g` lowered: marked on the statement or its BinOp)."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and (
            stmt in ACCUMULATION or user is not None and (stmt in user or stmt.value in user))):
        return False
    value, name = stmt.value, stmt.targets[0].id
    return isinstance(value, gast.BinOp) and isinstance(value.op, (gast.Add, gast.Sub)) and \
        isinstance(value.left, gast.Name) and value.left.id == name and \
        name not in names_read(value.right)


def _owned_before(stmts: list, idx: int, name: str) -> bool:
    """Whether, just before stmts[idx], `name` holds an array bound fresh earlier in
    `stmts` that no statement since may have kept."""
    for prev in reversed(stmts[:idx]):
        if isinstance(prev, gast.AugAssign) and isinstance(prev.target, gast.Name) and \
                prev.target.id == name:
            return isinstance(prev.op, (gast.Add, gast.Sub)) and \
                name not in names_read(prev.value)  # (one this pass made)
        if isinstance(prev, COMPOUND):
            if name in {n.id for n in all_nodes([prev]) if isinstance(n, gast.Name)}:
                return False
            continue
        if isinstance(prev, gast.Assign) and name in names_written(prev):
            return isinstance(prev.targets[0], gast.Name) and _fresh_value(prev.value)
        if name in names_written(prev) or name in _kept(prev):
            return False
    return False


def _kept(stmt) -> set:
    """The names whose array `stmt` may let something keep (see ownership.py)."""
    if isinstance(stmt, gast.Assign):
        return escaping_names(stmt.value, True)
    if isinstance(stmt, gast.Expr):
        return escaping_names(stmt.value, False)
    if isinstance(stmt, gast.AugAssign):
        return escaping_names(stmt.value, True) | {stmt.target.id} \
            if isinstance(stmt.target, gast.Name) else escaping_names(stmt, True)
    return escaping_names(stmt, True)
