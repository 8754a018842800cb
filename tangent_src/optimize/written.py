"""`written_at(g, index)` as the plain read `g[index]` where the index cannot repeat an
entry: ints, slices and tuples of them. written_at exists only for integer-array indexes
with duplicates (`y[[0, 0]] = v`: NumPy keeps the last write, so the first value gets no
cotangent); for a basic index the two are the same value.

Before:  `for i in range(n): ... dt = written_at(dw2, i)`; `s = slice(1, None)`
After:   `for i in range(n): ... dt = dw2[i]`

A name counts as an int or slice when every binding of it in the function is one: an int
literal, `slice(...)`, a `range(...)` loop target, or integer arithmetic of such names
(`i + 1`). Parameters, tape pops and anything else may hold an array, so they do not.
"""
from __future__ import annotations

import gast

from ..core.walk import all_nodes, walk

_INT_OPS = (gast.Add, gast.Sub, gast.Mult, gast.FloorDiv, gast.Mod)


def written(body: list, inplace: set, protected: set) -> bool:
    """Rewrite every written_at call whose index is basic; whether any changed."""
    calls = [n for stmt in body for n in walk(stmt) if _is_written_at(n)]
    if not calls:
        return False
    basic = _basic_names(body)
    changed = False
    for stmt in body:
        changed |= _Rewrite(basic).apply(stmt)
    return changed


def _is_written_at(node) -> bool:
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
        and node.func.id == "written_at" and len(node.args) == 2 and not node.keywords


def _bindings(body: list) -> dict:
    """name -> the expressions bound to it (None for a binding of unknown kind)."""
    found: dict = {}
    for node in all_nodes(body):
        if isinstance(node, gast.Assign):
            for target in node.targets:
                if isinstance(target, gast.Name):
                    found.setdefault(target.id, []).append(node.value)
                else:
                    for name in walk(target):
                        if isinstance(name, gast.Name) and isinstance(name.ctx, gast.Store):
                            found.setdefault(name.id, []).append(None)
        elif isinstance(node, gast.For):
            ranged = isinstance(node.iter, gast.Call) and isinstance(node.iter.func, gast.Name) \
                and node.iter.func.id == "range"
            for name in walk(node.target):
                if isinstance(name, gast.Name):
                    found.setdefault(name.id, []).append("int" if ranged and
                                                         isinstance(node.target, gast.Name)
                                                         else None)
        elif isinstance(node, (gast.AugAssign, gast.AnnAssign, gast.NamedExpr)):
            target = node.target
            if isinstance(target, gast.Name):
                found.setdefault(target.id, []).append(None)
        elif isinstance(node, gast.arguments):
            for arg in node.posonlyargs + node.args + node.kwonlyargs + \
                    [a for a in (node.vararg, node.kwarg) if a is not None]:
                found.setdefault(arg.id, []).append(None)
    return found


def _basic_names(body: list) -> set[str]:
    """The names whose every binding is an int or a slice (a fixed point: `j = i + 1`
    is basic once i is)."""
    bindings = _bindings(body)
    basic: set[str] = set()
    grew = True
    while grew:
        grew = False
        for name, values in bindings.items():
            if name not in basic and all(v == "int" or (v is not None and v != "int" and
                                                        _is_basic(v, basic)) for v in values):
                basic.add(name)
                grew = True
    return basic


def _is_basic(expr, basic: set[str]) -> bool:
    """Whether `expr` is an int, a slice, or a tuple of them, given the basic names."""
    if isinstance(expr, gast.Constant):
        return type(expr.value) is int or expr.value is None or expr.value is Ellipsis
    if isinstance(expr, gast.Name):
        return expr.id in basic
    if isinstance(expr, gast.Tuple):
        return all(_is_basic(e, basic) for e in expr.elts)
    if isinstance(expr, gast.BinOp):
        return isinstance(expr.op, _INT_OPS) and _is_basic(expr.left, basic) and \
            _is_basic(expr.right, basic)
    if isinstance(expr, gast.UnaryOp):
        return isinstance(expr.op, gast.USub) and _is_basic(expr.operand, basic)
    if isinstance(expr, gast.Call) and isinstance(expr.func, gast.Name) and \
            expr.func.id == "slice" and not expr.keywords:
        return all(_is_basic(a, basic) for a in expr.args)
    return False


class _Rewrite(gast.NodeTransformer):
    def __init__(self, basic: set[str]):
        self.basic, self.changed = basic, False

    def apply(self, stmt) -> bool:
        self.visit(stmt)
        return self.changed

    def visit_Call(self, node):
        self.generic_visit(node)
        if _is_written_at(node) and _is_basic(node.args[1], self.basic):
            self.changed = True
            return gast.Subscript(value=node.args[0], slice=node.args[1], ctx=gast.Load())
        return node
