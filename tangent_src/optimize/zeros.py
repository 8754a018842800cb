"""Zero propagation: an accumulation into a fresh zero is the value itself.

Before:                          After:
    dx = zeros_like(x)               dx = zeros_like(x)
    dx = dx + dy * 2.0               dx = dy * 2.0

(the now-unread `zeros_like` goes in dead-code elimination). For adjoints updated in
place (`inplace`) only when the value is a new array of its own (a product, `zero_at`
of another adjoint): add_at may then write into it as it would into the zeros.

The adjoint of a join into fresh zeros of the joined sequence is the pieces themselves:
    dt = zeros_like(t)                                   (t = (a, b), joined into c)
    dt = plus(dt, pieces(dc, t, 'concatenate', 0))   ->  dt = pieces(dc, t, 'concatenate', 0)
(pieces returns a new container of t's kind, one piece per item of t: the structure of
zeros_like(t), and plus of zeros adds nothing to it).
"""
from __future__ import annotations

import gast

from .facts import is_fresh, is_zeros, names_read, names_written

# Runtime helpers whose result is a new array (as accumulate.OWNED_HELPERS says).
_NEW_ARRAY_HELPERS = ("set_at", "zero_at", "copy_of")


def _new_array(value) -> bool:
    return is_fresh(value) or (isinstance(value, gast.Call) and
                               isinstance(value.func, gast.Name) and
                               value.func.id in _NEW_ARRAY_HELPERS)


def zeros(body: list, inplace: set, protected: set) -> bool:
    """Propagate known zeros through `body`; whether anything changed."""
    return _Zeros(inplace).block(body, set())[1]


class _Zeros:
    def __init__(self, inplace: set):
        self.inplace = inplace
        self.like: dict = {}  # a zero name -> the name it was shaped like (zeros_like(x))

    def block(self, stmts, zero: set) -> tuple[set, bool]:
        """(names certainly zero after `stmts`, whether anything changed)."""
        changed = False
        for stmt in stmts:
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
                name = stmt.targets[0].id
                value = stmt.value
                if isinstance(value, gast.BinOp) and isinstance(value.op, gast.Add) and \
                        isinstance(value.left, gast.Name) and value.left.id == name and \
                        name in zero and (name not in self.inplace or
                                          _new_array(value.right)) and \
                        name not in names_read(value.right):
                    stmt.value = value.right
                    changed = True
                elif name in zero and self.pieces_of_zero(name, value):
                    stmt.value = value.args[1]
                    changed = True
                written = names_written(stmt)
                zero -= written
                self.forget(written)
                if is_zeros(stmt.value):
                    zero.add(name)
                    self.like[name] = _like(stmt.value)
            elif isinstance(stmt, gast.If):
                zb, changed_b = self.block(stmt.body, set(zero))
                zo, changed_o = self.block(stmt.orelse, set(zero))
                zero = zb & zo
                changed |= changed_b or changed_o
                self.forget(names_written(stmt))
            elif isinstance(stmt, (gast.For, gast.While)):
                zero -= names_written(stmt)
                changed |= self.block(stmt.body, set(zero))[1]
                self.forget(names_written(stmt))
            else:
                zero -= names_written(stmt)
                self.forget(names_written(stmt))
        return zero, changed

    def forget(self, written: set) -> None:
        """Drop what `like` says of names written since (a rebound x or zero name)."""
        for name in [n for n, x in self.like.items() if n in written or x in written]:
            del self.like[name]

    def pieces_of_zero(self, name: str, value) -> bool:
        """`plus(name, pieces(g, x, ...))` where `name` holds zeros_like(x)."""
        if not (_helper_call(value, "plus", 2) and isinstance(value.args[0], gast.Name) and
                value.args[0].id == name):
            return False
        join = value.args[1]
        return _helper_call(join, "pieces", 2) and isinstance(join.args[1], gast.Name) and \
            join.args[1].id == self.like.get(name) and name not in names_read(join)


def _helper_call(value, helper: str, least: int) -> bool:
    return isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and \
        value.func.id == helper and len(value.args) >= least


def _like(value):
    """The name a zeros_like call shapes its zeros like (None for other zeros)."""
    if _helper_call(value, "zeros_like", 1) and isinstance(value.args[0], gast.Name) and \
            len(value.args) == 1 and not value.keywords:
        return value.args[0].id
    return None
