"""Rewrite runtime-helper calls in instantiated rules when ranks make them unnecessary.

Before: `dx = unbroadcast(dz * 0.01, x)`, `dW = matmul_rhs(dz, X, W)` (general)
After:  `dx = dz * 0.01`, `dW = X.T @ dz` (when x's co-operand is a scalar, X and W
are matrices). Anything not provably equivalent is left to the runtime helper.
"""
from __future__ import annotations

import gast

from ..core.tables import SPREAD, spread_axis
from ..core.walk import Transformer, clone, walk


def _name(id_):
    return gast.Name(id=id_, ctx=gast.Load(), annotation=None, type_comment=None)


def _np(func: str, args):
    return gast.Call(func=gast.Attribute(value=_name("np"), attr=func, ctx=gast.Load()),
                     args=list(args), keywords=[])


def _t(expr):
    return gast.Attribute(value=expr, attr="T", ctx=gast.Load())


def _matmul(a, b):
    return gast.BinOp(left=a, op=gast.MatMult(), right=b)


class Specializer(Transformer):
    """`shape(atom)` gives an operand's shape class; `co_operands` maps a bound atom's id
    to the other operands of the same rule (the ones it is broadcast against)."""

    def __init__(self, shape, result_shape, co_operands: dict, same_shape: dict | None = None):
        self.same_shape = same_shape or {}   # name -> an earlier name with the same shape
        self.shape = shape
        self.result_shape = result_shape
        self.co_operands = co_operands

    def rank(self, atom):
        cls = self.shape(atom)
        return None if cls is None else len(cls)

    def visit_Call(self, node):
        node = self.generic_visit(node)
        func = node.func.id if isinstance(node.func, gast.Name) else None
        if func == "unbroadcast" and len(node.args) == 2:
            node = self.unbroadcast(node)
        elif func == "unreduce" and len(node.args) >= 2 and self.shape(node.args[1]) == ():
            return node.args[0]
        elif func in ("matmul_lhs", "matmul_rhs", "dot_lhs", "dot_rhs") and \
                len(node.args) == 3:
            return self.matmul(func.replace("dot_", "matmul_"), node) if \
                self.rank(node.args[1]) is not None and self.rank(node.args[2]) is not None \
                and max(self.rank(node.args[1]), self.rank(node.args[2])) <= 2 else node
        elif func == "inverse_permutation" and len(node.args) == 1:
            return _inverse_permutation(node)
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
                node.func.attr == "transpose" and \
                len(node.args) == 2 and isinstance(node.args[1], gast.Constant) and \
                node.args[1].value is None:
            node.args = node.args[:1]  # np.transpose(g, None) is np.transpose(g)
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
                node.func.id in ("unbroadcast", "unreduce") and len(node.args) >= 2:
            node.args[1] = self.shape_source(node.args[1])
            if func == "unreduce":
                self.mark_spread(node)
        return node

    def mark_spread(self, node) -> None:
        """`unreduce(g, like)` of a full reduction (its result, so g, a scalar) over an
        array, or of a reduction over one literal axis: record the names of arrays of
        like's shape (see tables.SPREAD)."""
        like = node.args[1]
        if len(node.args) != 2 or not isinstance(like, gast.Name):
            return
        if node.keywords:  # over one axis: like has it, whatever its rank
            if spread_axis(node) is None:
                return
        elif self.result_shape != () or not self.rank(like):
            return
        root = self.shape_source(like).id
        names = {like.id, root} | {n for n in self.same_shape
                                   if self.shape_source(_name(n)).id == root}
        SPREAD[node] = frozenset(names)

    def share_shape_names(self, exprs: list) -> None:
        """`unreduce(g, y) / reduced_size(t3)` with t3 of y's shape (read from y) ->
        `... / reduced_size(y)`: one name for one shape, the one a shape reader of the same
        rule already reads, where the rule reads t3 for nothing else (so t3 need not be
        kept for the backward pass, and nothing else is)."""
        nodes = [node for expr in exprs for node in walk(expr)]
        read = {self.shape_source(node.args[1]).id for node in nodes
                if _helper_call(node, SHAPE_READERS, 2) and isinstance(node.args[1], gast.Name)}
        sizes = [node for node in nodes if _helper_call(node, ("reduced_size",), 1) and
                 isinstance(node.args[0], gast.Name)]
        for node in sizes:
            name = node.args[0].id
            root = self.shape_source(node.args[0])
            reads = sum(isinstance(n, gast.Name) and n.id == name for n in nodes)
            if root.id in read and reads == sum(other.args[0].id == name for other in sizes):
                node.args[0] = root  # (a value the rule reads anyway, np.var's, stays)

    def shape_source(self, atom):
        """Read a shape from the earliest value that has it: `unreduce(g, np.log(q))`
        needs only q, so np.log(q) need not be kept for the backward pass."""
        seen = set()
        while isinstance(atom, gast.Name) and atom.id in self.same_shape and \
                atom.id not in seen:  # (a rebinding `dy = dy * 2.0` links a name to itself)
            seen.add(atom.id)
            atom = _name(self.same_shape[atom.id])
        return atom

    def unbroadcast(self, node):
        g, like = node.args
        if not isinstance(like, gast.Name) or like.id not in self.co_operands:
            return node
        if isinstance(g, gast.Subscript) or (
                isinstance(g, gast.Call) and isinstance(g.func, gast.Name) and
                g.func.id in ("written_at", "read_at")):
            return node  # a part of the result's adjoint (set_at, add_at): not its shape
        others = self.co_operands[like.id]
        if all(self.shape(o) == () for o in others) or any(
                isinstance(o, gast.Name) and o.id == like.id for o in others):
            return g  # nothing else can stretch the result beyond `like`'s shape
        a, r = self.shape(like), self.result_shape
        if a is None or r is None or len(a) > len(r):
            return node
        if a == ():
            return g if r == () else _np("sum", [g])
        lead = len(r) - len(a)
        kept = []
        for i, flag in enumerate(a):
            out = r[lead + i]
            if flag == "?" and out != "1":
                return node  # may or may not have been stretched: ask at run time
            if flag == "1" and out != "1":
                kept.append(i)
        if lead:
            g = _sum(g, list(range(lead)), keepdims=False)
        if kept:
            g = _sum(g, kept, keepdims=True)
        return g

    def matmul(self, func, node):
        g, a, b = node.args
        ra, rb = self.rank(a), self.rank(b)
        a, b = clone(a), clone(b)
        table = {
            ("matmul_lhs", 2, 2): lambda: _matmul(g, _t(b)),
            ("matmul_rhs", 2, 2): lambda: _matmul(_t(a), g),
            ("matmul_lhs", 2, 1): lambda: _np("outer", [g, b]),
            ("matmul_rhs", 2, 1): lambda: _matmul(_t(a), g),
            ("matmul_lhs", 1, 2): lambda: _matmul(b, g),
            ("matmul_rhs", 1, 2): lambda: _np("outer", [a, g]),
            ("matmul_lhs", 1, 1): lambda: gast.BinOp(left=g, op=gast.Mult(), right=b),
            ("matmul_rhs", 1, 1): lambda: gast.BinOp(left=g, op=gast.Mult(), right=a),
        }
        build = table.get((func, ra, rb))
        return build() if build else node


SHAPE_READERS = ("unbroadcast", "unreduce")


def _helper_call(node, names, nargs: int) -> bool:
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
        node.func.id in names and len(node.args) >= nargs


def _inverse_permutation(node):
    """inverse_permutation of literal axes, worked out now: (1, 2, 0) -> (2, 0, 1)."""
    axes = node.args[0]
    if isinstance(axes, gast.Constant) and axes.value is None:
        return axes
    items = axes.elts if isinstance(axes, gast.Tuple) else None
    if items and all(isinstance(e, gast.Constant) and type(e.value) is int for e in items):
        order = [e.value for e in items]
        inverse = sorted(range(len(order)), key=lambda i: order[i])
        return gast.Tuple(elts=[gast.Constant(value=i, kind=None) for i in inverse],
                          ctx=gast.Load())
    return node


def _sum(g, axes: list, keepdims: bool):
    axis = gast.Constant(value=axes[0], kind=None) if len(axes) == 1 else gast.Tuple(
        elts=[gast.Constant(value=i, kind=None) for i in axes], ctx=gast.Load())
    call = _np("sum", [g])
    call.keywords = [gast.keyword(arg="axis", value=axis)]
    if keepdims:  # np.expand_dims(np.sum(...)) rather than keepdims=, which numba lacks
        return _np("expand_dims", [call, clone(axis)])
    return call


def twice(contributions: list, values: dict) -> list:
    """Two contributions of one rule to the same variable with the same expression (the
    adjoint of `x * x`: `dx = g * x; dx = dx + g * x`) as one, doubled: `dx = g * x * 2.0`
    (bit for bit the same sum: doubling is exact in floating point)."""
    out: list = []
    seen: dict = {}
    for c in contributions:
        value = values.get(c.param)
        key = (value.id, gast.dump(c.expr)) if isinstance(value, gast.Name) and \
            c.accumulates else None
        first = seen.get(key) if key is not None else None
        if first is not None and first.accumulates:
            first.expr = gast.BinOp(left=first.expr, op=gast.Mult(),
                                    right=gast.Constant(value=2.0, kind=None))
            continue
        if key is not None:
            seen[key] = c
        out.append(c)
    return out
