"""Type tests that a specialization decides: `isinstance(p, T)` of a parameter `p` whose
kind the call gives (core/kinds.py) becomes True or False, and the branches it chose
between are folded (recursion.py: fold_constants), before lowering.

Before:  `if isinstance(data, list): return sum(f(w, d) for d in data)`
         `return np.sum(w * data)`                      (data: an array)
After:   `return np.sum(w * data)`

A function that calls itself with an argument of another kind (a list's items) is then,
for each kind, a different function; a recursion whose kinds repeat stays one, and is
refused where it is generated. Parameters the function rebinds, and names it binds
locally (`list = ...`), are left alone.
"""
from __future__ import annotations

import builtins

import gast

from ...core import build
from ...core.walk import walk
from ..resolve import lookup
from .recursion import fold_constants


def tested_parameters(node: gast.FunctionDef) -> frozenset:
    """The parameters of `node` that an `isinstance(p, ...)` call in it tests."""
    params = {a.id for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs}
    return frozenset(
        n.args[0].id for n in walk(node) if isinstance(n, gast.Call) and
        isinstance(n.func, gast.Name) and n.func.id == "isinstance" and len(n.args) == 2
        and isinstance(n.args[0], gast.Name) and n.args[0].id in params)


def fold_kind_tests(parsed, node: gast.FunctionDef, kinds: dict) -> None:
    """Replace the `isinstance` tests of `node`'s parameters that `kinds` (parameter ->
    Kind) decide by constants, and fold the branches they choose, in place."""
    local = {n.id for stmt in node.body for n in walk(stmt) if isinstance(n, gast.Name)
             and isinstance(n.ctx, (gast.Store, gast.Del, gast.Param))}
    local |= {name for n in walk(node) if isinstance(n, (gast.Global, gast.Nonlocal))
              for name in n.names}
    kinds = {p: k for p, k in kinds.items() if p not in local}
    if not kinds or "isinstance" in local:
        return
    folder = _Tests(parsed, kinds, local)
    body = [folder.visit(stmt) for stmt in node.body]
    if folder.changed:
        node.body = fold_constants(body)


class _Tests(gast.NodeTransformer):
    def __init__(self, parsed, kinds: dict, local: set):
        self.parsed, self.kinds, self.local = parsed, kinds, local
        self.changed = False

    def visit_Call(self, node):
        node = self.generic_visit(node)
        if not (isinstance(node.func, gast.Name) and node.func.id == "isinstance" and
                len(node.args) == 2 and not node.keywords and
                isinstance(node.args[0], gast.Name) and node.args[0].id in self.kinds):
            return node
        if lookup(self.parsed, node.func) is not builtins.isinstance:
            return node
        types = self._types(node.args[1])
        decided = None if types is None else self.kinds[node.args[0].id].decides(types)
        if decided is None:
            return node
        self.changed = True
        return gast.copy_location(gast.Constant(value=decided, kind=None), node)

    def _types(self, expr):
        """The tuple of types `expr` (a name, a dotted name or a tuple of them) means."""
        items = expr.elts if isinstance(expr, gast.Tuple) else [expr]
        out = []
        for item in items:
            dotted = build.dotted(item) if isinstance(item, (gast.Name, gast.Attribute)) \
                else None
            if dotted is None or dotted.split(".")[0] in self.local:
                return None
            value = lookup(self.parsed, item)
            if not isinstance(value, type):
                return None
            out.append(value)
        return tuple(out)

