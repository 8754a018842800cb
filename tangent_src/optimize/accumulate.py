"""Accumulation in place, and ownership of the arrays `add_at` writes into.

`accumulate_in_place` (a pass): `dW = dW + g` inside a loop -> `dW += g` when dW's array
is its own. `own_accumulators` (run before the optimizer): every array that `add_at`
updates in place is one the function allocated (a `copy_of` where a chain starts from a
value it does not own).
"""
from __future__ import annotations

import gast

from ..core.walk import walk
from .facts import is_add_at, is_fresh, names_read


def accumulate_in_place(body: list, inplace: set) -> None:
    """`dW = dW + g` inside a loop -> `dW += g` when dW never shares its array with another
    name: every assignment to it builds a new value and it is never copied, stored or
    passed on whole. Saves one allocation per iteration (it matters under numba)."""
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
        elif in_loop and isinstance(stmt, gast.Assign) and \
                isinstance(stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.BinOp) \
                and isinstance(stmt.value.op, (gast.Add, gast.Sub)) and \
                isinstance(stmt.value.left, gast.Name) and \
                stmt.value.left.id == stmt.targets[0].id and stmt.targets[0].id in owned and \
                stmt.targets[0].id not in names_read(stmt.value.right):
            new = gast.AugAssign(target=stmt.targets[0], op=stmt.value.op,
                                 value=stmt.value.right)
            new.lineno = getattr(stmt, "lineno", None)
            stmts[idx] = new
