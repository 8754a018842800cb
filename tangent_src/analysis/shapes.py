"""Rank inference: which values are scalars and which are arrays of a known ndim.

A rank is an int (0 for a scalar: a Python number, NumPy scalar or 0-d array;
k for an ndarray with k dimensions) or None when unknown. Ranks of the inputs
come from the arguments of the first call (one generated gradient per rank
signature); with no arguments known everything but constants is unknown and the
generated code stays general. The reverse transform uses ranks to drop
`unbroadcast` where no broadcasting can happen and to write matrix products out.
"""
from __future__ import annotations

import math

import gast
import numpy as np

from ..rules.arrays import REDUCTIONS
from ..rules.elementwise import UNARY
from ..rules.operators import BINARY

Rank = "int | None"


def rank_of_value(value) -> int | None:
    """The rank class of a runtime argument."""
    if isinstance(value, (bool, int, float, complex, np.number, np.bool_)):
        return 0
    if isinstance(value, np.ndarray):
        return value.ndim
    return None


def broadcast(*ranks) -> int | None:
    if any(r is None for r in ranks):
        return None
    return max(ranks)


def matmul_rank(a, b) -> int | None:
    if a is None or b is None:
        return None
    if a == 0 or b == 0:
        return max(a, b)
    if a == 1 and b == 1:
        return 0
    if a == 1 or b == 1:
        return max(a, b) - 1
    return max(a, b)


def _const_rank(node) -> int | None:
    if isinstance(node, gast.Constant) and isinstance(node.value, (int, float, bool)):
        return 0
    return None


class RankInference:
    """Forward dataflow over a core function, to a fixed point over loops."""

    def __init__(self, resolve, call_rank=None):
        self.resolve = resolve
        self.call_rank = call_rank or (lambda func, ranks: None)
        self.ranks: dict[str, int | None] = {}

    def run(self, func: gast.FunctionDef, arg_ranks: dict) -> dict:
        self.ranks = dict(arg_ranks)
        for _ in range(10):
            before = dict(self.ranks)
            self.block(func.body)
            if before == self.ranks:
                break
        return self.ranks

    def rank(self, atom) -> int | None:
        if isinstance(atom, gast.Name):
            return self.ranks.get(atom.id)
        if isinstance(atom, gast.Constant):
            return _const_rank(atom)
        if isinstance(atom, gast.Attribute):
            value = self.resolve(atom)
            return 0 if isinstance(value, (int, float)) else None
        return None

    def set(self, name: str, rank) -> None:
        if name in self.ranks and self.ranks[name] != rank:
            self.ranks[name] = None
        else:
            self.ranks[name] = rank

    def block(self, stmts) -> None:
        for stmt in stmts:
            if isinstance(stmt, gast.Assign):
                self.set(stmt.targets[0].id, self.value(stmt.value))
            elif isinstance(stmt, gast.If):
                self.block(stmt.body)
                self.block(stmt.orelse)
            elif isinstance(stmt, gast.For):
                self.set(stmt.target.id, 0)
                self.block(stmt.body)
            elif isinstance(stmt, gast.While):
                self.block(stmt.body)

    def value(self, expr) -> int | None:
        if isinstance(expr, (gast.Name, gast.Constant, gast.Attribute)) and \
                not (isinstance(expr, gast.Attribute) and isinstance(expr.value, gast.Name)
                     and expr.value.id in self.ranks):
            return self.rank(expr)
        if isinstance(expr, gast.BinOp):
            left, right = self.rank(expr.left), self.rank(expr.right)
            if isinstance(expr.op, gast.MatMult):
                return matmul_rank(left, right)
            return broadcast(left, right)
        if isinstance(expr, gast.UnaryOp):
            return 0 if isinstance(expr.op, gast.Not) else self.rank(expr.operand)
        if isinstance(expr, gast.BoolOp):
            return 0
        if isinstance(expr, gast.Compare):
            return broadcast(self.rank(expr.left), self.rank(expr.comparators[0]))
        if isinstance(expr, gast.Subscript):
            return self.subscript(expr)
        if isinstance(expr, gast.Call):
            return self.call(expr)
        return None

    def subscript(self, expr) -> int | None:
        base = self.rank(expr.value)
        if base is None or base == 0:
            return None
        parts = expr.slice.elts if isinstance(expr.slice, gast.Tuple) else [expr.slice]
        dropped = 0
        for part in parts:
            if isinstance(part, gast.Slice):
                continue
            if isinstance(part, gast.Constant) and part.value is None:
                dropped -= 1
                continue
            if self.rank(part) != 0 or (isinstance(part, gast.Constant) and
                                        not isinstance(part.value, int)):
                return None  # fancy indexing or unknown index
            dropped += 1
        rank = base - dropped
        return rank if rank >= 0 else None

    def call(self, expr) -> int | None:
        func = self.resolve(expr.func)
        args = [self.rank(a) for a in expr.args]
        keywords = {k.arg: k.value for k in expr.keywords}
        try:
            hashable = hash(func) is not None
        except TypeError:
            hashable = False
        if not hashable:
            return None
        if func in UNARY and args:
            return args[0]
        if func in BINARY and len(args) == 2:
            return broadcast(*args)
        if func in (np.power, np.float_power) and len(args) == 2:
            return broadcast(*args)
        if func in (np.dot, np.matmul) and len(args) == 2:
            return matmul_rank(*args)
        if func is np.where and len(args) == 3:
            return broadcast(*args)
        if func in REDUCTIONS and args:
            return _reduced_rank(args[0], expr, keywords)
        if func in (np.transpose,) and args:
            return args[0]
        if func is np.reshape and len(expr.args) >= 2:
            shape = expr.args[1]
            if isinstance(shape, gast.Tuple):
                return len(shape.elts)
            if isinstance(shape, gast.Constant) and isinstance(shape.value, int):
                return 1
            return None
        if func in (len, int, float, abs, min, max, round) or \
                getattr(func, "__module__", None) == "math" or func in vars(math).values():
            return 0
        if func in (np.shape,):
            return None
        return self.call_rank(func, tuple(args))


def _reduced_rank(rank, expr, keywords) -> int | None:
    axis = keywords.get("axis", expr.args[1] if len(expr.args) > 1 else None)
    keep = keywords.get("keepdims", expr.args[2] if len(expr.args) > 2 else None)
    keepdims = isinstance(keep, gast.Constant) and keep.value is True
    if keep is not None and not isinstance(keep, gast.Constant):
        return None
    if axis is None or (isinstance(axis, gast.Constant) and axis.value is None):
        return rank if keepdims else 0
    if rank is None:
        return None
    if keepdims:
        return rank
    if isinstance(axis, gast.Constant) and isinstance(axis.value, int):
        return rank - 1
    if isinstance(axis, gast.Tuple):
        return rank - len(axis.elts)
    return None
