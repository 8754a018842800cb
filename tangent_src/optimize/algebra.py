"""Algebraic simplification of generated arithmetic.

Before:                              After:
    dx = dy * 1.0 + 0.0                  dx = dy
    dz = -(-g) * power_slope(a, 3)       dz = g * 3 * a ** 2

`x * 1 -> x`, `x + 0 -> x`, `-(-x) -> x`, `power_slope(a, c)` with a nonzero constant c
(the derivative of `a ** c`) -> `c * a ** (c - 1)`, and arithmetic on two literals folded
when the result prints exactly. Where a gradient is spread over or summed from a larger
array, the cheap operations go on the smaller side: `unreduce(g, a) * q * 2.0 ->
unreduce(g * 2.0, a) * q`, `unbroadcast(-g, a) -> -unbroadcast(g, a)`, and
`unreduce(g, a) * (1.0 / a) -> g * (1.0 / a)` for a scalar g (tables.SPREAD).
"""
from __future__ import annotations

import math

import gast

from ..core.tables import SPREAD, spread_axis
from ..core.walk import Transformer, clone


class _Algebra(Transformer):
    """x * 1.0 -> x, 1.0 * x -> x, x + 0 -> x, -(-x) -> x, (c - 1) folded for int constants."""

    changed = False

    def visit_BinOp(self, node):
        slope = _constant_slope(node.right)
        if isinstance(node.op, gast.Mult) and slope is not None:
            self.changed = True  # e * power_slope(a, 3) -> e * 3 * a ** (3 - 1)
            factor, power = slope
            node = gast.BinOp(left=gast.BinOp(left=node.left, op=gast.Mult(), right=factor),
                              op=gast.Mult(), right=power)
        node = self.generic_visit(node)
        left, right = node.left, node.right
        # real literals only: x + 0j and x * (1 + 0j) make x complex (np.sqrt of a
        # negative number is then 1j, not nan), and True is not the number 1
        one = lambda n: isinstance(n, gast.Constant) and type(n.value) in (int, float) \
            and n.value == 1  # noqa: E731
        zero = lambda n: isinstance(n, gast.Constant) and type(n.value) in (int, float) \
            and n.value == 0  # noqa: E731
        if isinstance(node.op, (gast.Mult, gast.Pow, gast.Div)) and one(right):
            self.changed = True
            return left
        if isinstance(node.op, gast.Mult) and one(left):
            self.changed = True
            return right
        if isinstance(node.op, (gast.Add, gast.Sub)) and zero(right):
            self.changed = True
            return left
        if isinstance(node.op, gast.Add) and zero(left):
            self.changed = True
            return right
        if isinstance(node.op, (gast.Mult, gast.Div)) and isinstance(left, gast.UnaryOp) and \
                isinstance(left.op, gast.USub):
            self.changed = True
            return gast.UnaryOp(op=gast.USub(), operand=gast.BinOp(left=left.operand,
                                                                   op=node.op, right=right))
        if isinstance(node.op, gast.Mult) and isinstance(right, gast.UnaryOp) and \
                isinstance(right.op, gast.USub):
            self.changed = True  # a * -b -> -(a * b): a negation outside can cancel
            return gast.UnaryOp(op=gast.USub(), operand=gast.BinOp(left=left, op=node.op,
                                                                   right=right.operand))
        if isinstance(node.op, gast.Add) and isinstance(right, gast.UnaryOp) and \
                isinstance(right.op, gast.USub):
            self.changed = True
            return gast.BinOp(left=left, op=gast.Sub(), right=right.operand)
        if isinstance(node.op, (gast.Add, gast.Sub)) and isinstance(left, gast.BinOp) and \
                isinstance(left.op, (gast.Add, gast.Sub)) and type(left.op) is not type(node.op) \
                and isinstance(right, gast.Constant) and isinstance(left.right, gast.Constant) \
                and left.right.value == right.value and type(right.value) is int:
            self.changed = True  # (n - 1) + 1 -> n
            return left.left
        if type(node.op) in _ELEMENTWISE:
            seed = _drop_spread(left, right)
            if seed is not None:
                self.changed = True
                node.left = seed
                return node
            seed = _drop_spread(right, left)
            if seed is not None:
                self.changed = True
                node.right = seed
                return node
        if isinstance(node.op, gast.Mult) and isinstance(right, gast.BinOp) and \
                isinstance(right.op, gast.Div) and _one(right.left):
            self.changed = True  # g * (1.0 / x) -> g / x: one operation, one rounding
            return gast.BinOp(left=left, op=gast.Div(), right=right.right)
        merged = _merge_scalings(node)
        if merged is not None:
            self.changed = True
            return merged
        if isinstance(node.op, gast.Mult) and _number(right):
            spread = _unreduce_factor(left)
            if spread is not None:  # unreduce(g, a, axis=1) * q * 2.0
                self.changed = True  # -> unreduce(g * 2.0, a, axis=1) * q: scaled before
                spread.args[0] = gast.BinOp(left=spread.args[0], op=gast.Mult(), right=right)
                return left
        folded = _fold(node)
        if folded is not None:
            self.changed = True
            return folded
        return node

    def visit_Call(self, node):
        node = self.generic_visit(node)
        if _helper(node, "unbroadcast") and isinstance(node.args[0], gast.UnaryOp) and \
                isinstance(node.args[0].op, gast.USub):
            self.changed = True  # unbroadcast(-g, a) -> -unbroadcast(g, a): negated summed
            node.args[0] = node.args[0].operand
            return gast.UnaryOp(op=gast.USub(), operand=node)
        slope = _constant_slope(node)
        if slope is None:
            return node
        self.changed = True  # power_slope(a, 3) -> 3 * a ** (3 - 1)
        return gast.BinOp(left=slope[0], op=gast.Mult(), right=slope[1])

    def visit_UnaryOp(self, node):
        node = self.generic_visit(node)
        if isinstance(node.op, gast.USub) and isinstance(node.operand, gast.UnaryOp) and \
                isinstance(node.operand.op, gast.USub):
            self.changed = True
            return node.operand.operand
        return node


_ELEMENTWISE = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)


def _spread(node) -> frozenset | None:
    """The array names of an `unreduce(g, like)` call marked in tables.SPREAD, else None."""
    return SPREAD.get(node) if isinstance(node, gast.Call) else None


def _covers(node, names: frozenset) -> bool:
    """Whether `node` is an array at least as large as those `names` hold: one of them,
    extremum_mask of one, or elementwise arithmetic with such an operand (its shape
    broadcasts theirs)."""
    if isinstance(node, gast.Name):
        return node.id in names
    if _helper(node, "extremum_mask"):  # shaped like its first argument
        return isinstance(node.args[0], gast.Name) and node.args[0].id in names
    return isinstance(node, gast.BinOp) and type(node.op) in _ELEMENTWISE and (
        _covers(node.left, names) or _covers(node.right, names))


def _drop_spread(call, other):
    """`unreduce(g, like) * e` with e covering like's shape -> g (a scalar: broadcast by
    the multiplication itself, as np.broadcast_to did); over one axis k,
    `np.expand_dims(g, k)` (g itself with keepdims). None where it does not apply."""
    names = _spread(call)
    if names is None or not _covers(other, names):
        return None
    if not call.keywords:
        return call.args[0]
    spread = spread_axis(call)
    if spread is None:
        return None
    axis, keepdims = spread
    if keepdims:
        return call.args[0]
    return gast.Call(func=gast.Attribute(value=gast.Name(id="np", ctx=gast.Load(),
                                                         annotation=None, type_comment=None),
                                         attr="expand_dims", ctx=gast.Load()),
                     args=[call.args[0], gast.Constant(value=axis, kind=None)], keywords=[])


def _helper(node, name: str) -> bool:
    """A call of the runtime helper `name` with positional arguments."""
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
        node.func.id == name and len(node.args) >= 2


def _number(node) -> bool:
    """A numeric literal (not a bool), possibly negated."""
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        node = node.operand
    return isinstance(node, gast.Constant) and type(node.value) in (int, float)


def _one(node) -> bool:
    return isinstance(node, gast.Constant) and type(node.value) in (int, float) and \
        node.value == 1


def _power_of_two(node) -> bool:
    """A literal power of two (multiplying by one is exact: factors of it reorder freely)."""
    if not (isinstance(node, gast.Constant) and type(node.value) in (int, float)) or \
            node.value <= 0:
        return False
    mantissa = math.frexp(node.value)[0]
    return mantissa == 0.5


def _merge_scalings(node):
    """`g * 0.5 * q * 0.5 -> g * q * 0.25`: the power-of-two literal factors of a product
    chain (left to right) as one factor at its end; None unless there are two."""
    factors = []
    while isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult):
        factors.append(node.right)
        node = node.left
    factors.append(node)
    factors.reverse()  # first, then the multipliers left to right
    scalings = [f for f in factors[1:] if _power_of_two(f)]
    if len(scalings) < 2:
        return None
    rest = [factors[0]] + [f for f in factors[1:] if not _power_of_two(f)]
    scale = 1
    for f in scalings:
        scale = scale * f.value
    out = rest[0]
    for f in rest[1:]:
        out = gast.BinOp(left=out, op=gast.Mult(), right=f)
    return gast.BinOp(left=out, op=gast.Mult(), right=gast.Constant(value=scale, kind=None))


def _unreduce_factor(node):
    """The `unreduce(...)` (or `np.expand_dims(...)`) call that `node` is, or that is the
    left factor of the product `node` (`unreduce(...) * q`): a constant factor of `node`
    can scale its small first argument instead of the large result. None otherwise."""
    if isinstance(node, gast.BinOp) and isinstance(node.op, gast.Mult):
        node = node.left
    return node if _helper(node, "unreduce") or _spread_back(node) else None


def _spread_back(node) -> bool:
    """`np.expand_dims(g, k)`, what `_drop_spread` leaves of an unreduce over an axis."""
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
        node.func.attr == "expand_dims" and isinstance(node.func.value, gast.Name) and \
        node.func.value.id == "np" and len(node.args) == 2 and not node.keywords


def _constant_slope(node):
    """For `power_slope(a, c)` with a nonzero numeric constant c (the derivative of a ** c,
    which needs power_slope's guard only for c == 0): (c, a ** (c - 1)) as gast; else None."""
    if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and
            node.func.id == "power_slope" and len(node.args) == 2 and not node.keywords):
        return None
    base, exponent = node.args
    value = exponent
    negative = isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.USub)
    value = value.operand if negative else value
    if not (isinstance(value, gast.Constant) and type(value.value) in (int, float)) or \
            value.value == 0:
        return None
    lowered = gast.BinOp(left=clone(exponent), op=gast.Sub(),
                         right=gast.Constant(value=1, kind=None))
    return exponent, gast.BinOp(left=base, op=gast.Pow(), right=lowered)


FOLDABLE = {gast.Add: lambda a, b: a + b, gast.Sub: lambda a, b: a - b,
            gast.Mult: lambda a, b: a * b, gast.Div: lambda a, b: a / b}


def _fold(node):
    """Constant-fold arithmetic on two numeric literals when the result prints exactly."""
    left, right = node.left, node.right
    if not (isinstance(left, gast.Constant) and isinstance(right, gast.Constant)):
        return None
    a, b = left.value, right.value
    if type(a) not in (int, float) or type(b) not in (int, float) or type(node.op) not in \
            FOLDABLE or (isinstance(node.op, gast.Div) and b == 0):
        return None
    value = FOLDABLE[type(node.op)](a, b)
    if isinstance(value, float) and len(repr(value)) > 8:
        return None  # keep 1.0 / 3 readable rather than 0.3333333333333333
    return gast.Constant(value=value, kind=None)


def algebra(body: list, inplace: set = frozenset(), protected: set = frozenset()) -> bool:
    """Simplify arithmetic in `body`; whether anything changed."""
    pass_ = _Algebra()
    for stmt in body:
        pass_.visit(stmt)
    return pass_.changed


