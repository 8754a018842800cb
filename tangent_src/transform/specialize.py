"""Rewrite runtime-helper calls in instantiated rules when ranks make them unnecessary.

Before: `dx = unbroadcast(dz * 0.01, x)`, `dW = matmul_rhs(dz, X, W)` (general)
After:  `dx = dz * 0.01`, `dW = X.T @ dz` (when x's co-operand is a scalar, X and W
are matrices). Anything not provably equivalent is left to the runtime helper.
"""
from __future__ import annotations

import copy

import gast


def _name(id_):
    return gast.Name(id=id_, ctx=gast.Load(), annotation=None, type_comment=None)


def _np(func: str, args):
    return gast.Call(func=gast.Attribute(value=_name("np"), attr=func, ctx=gast.Load()),
                     args=list(args), keywords=[])


def _t(expr):
    return gast.Attribute(value=expr, attr="T", ctx=gast.Load())


def _matmul(a, b):
    return gast.BinOp(left=a, op=gast.MatMult(), right=b)


class Specializer(gast.NodeTransformer):
    """`rank(atom)` gives an operand's rank; `operands` maps a bound atom's id to the ranks
    of the other operands of the same rule (the ones it is broadcast against)."""

    def __init__(self, rank, result_rank, co_operands: dict):
        self.rank = rank
        self.result_rank = result_rank
        self.co_operands = co_operands

    def visit_Call(self, node):
        node = self.generic_visit(node)
        func = node.func.id if isinstance(node.func, gast.Name) else None
        if func == "unbroadcast" and len(node.args) == 2:
            return self.unbroadcast(node)
        if func == "unreduce" and len(node.args) >= 2 and self.rank(node.args[1]) == 0:
            return node.args[0]
        if func in ("matmul_lhs", "matmul_rhs") and len(node.args) == 3:
            return self.matmul(func, node)
        return node

    def unbroadcast(self, node):
        g, like = node.args
        if not isinstance(like, gast.Name):
            return node
        others = self.co_operands.get(like.id, [None])
        if all(r == 0 for r in others) or like.id in self.co_operands.get("<same>", ()):
            return g  # nothing else can stretch the result beyond `like`'s shape
        like_rank = self.rank(like)
        if like_rank == 0:
            return g if self.result_rank == 0 else _np("sum", [g])
        return node

    def matmul(self, func, node):
        g, a, b = node.args
        ra, rb = self.rank(a), self.rank(b)
        a, b = copy.deepcopy(a), copy.deepcopy(b)
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
