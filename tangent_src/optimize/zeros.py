"""Zero propagation: an accumulation into a fresh zero is the value itself.

Before:                          After:
    dx = zeros_like(x)               dx = zeros_like(x)
    dx = dx + dy * 2.0               dx = dy * 2.0
    dt = zeros_like(t)               dt = pieces(g, t, 'concatenate', 1)
    dt = plus(dt, pieces(g, t, ...))

(the now-unread `zeros_like` goes in dead-code elimination). For adjoints updated in
place (`inplace`) only when the value is a new array of its own (a product, `zero_at`
of another adjoint): add_at may then write into it as it would into the zeros.
"""
from __future__ import annotations

import gast

from ..core.walk import all_nodes
from .facts import is_fresh, is_zeros, names_read, names_written

# Runtime helpers whose result is a new array (as accumulate.OWNED_HELPERS says).
_NEW_ARRAY_HELPERS = ("set_at", "zero_at", "copy_of")
# Helpers whose result is a whole container of adjoints (never the bare 0.0 that plus()
# reads as a zero of any structure, which `plus(zeros, 0.0)` would turn into a container).
_WHOLE_CONTAINERS = ("pieces",)


def _new_array(value) -> bool:
    return is_fresh(value) or (isinstance(value, gast.Call) and
                               isinstance(value.func, gast.Name) and
                               value.func.id in _NEW_ARRAY_HELPERS)


def zeros(body: list, inplace: set, protected: set) -> bool:
    """Propagate known zeros through `body`; whether anything changed."""
    return _Zeros(inplace, _tuple_zeros(body)).block(body, set())[1]


def _tuple_zeros(body) -> set:
    """Names whose every zero binding is `zeros_like(t)` of a name t bound once, to a tuple
    display (`t = a, b, c`): their zeros are a tuple, as pieces() returns (a list's zeros
    are a list, which plus() would keep)."""
    binds: dict = {}
    tuples, zero_of = set(), {}
    for node in all_nodes(body):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            binds[node.id] = binds.get(node.id, 0) + 1
        if not (isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name)):
            continue
        target, value = node.targets[0].id, node.value
        if isinstance(value, gast.Tuple):
            tuples.add(target)
        elif is_zeros(value):
            like = value.args[0].id if isinstance(value, gast.Call) and value.args and \
                isinstance(value.args[0], gast.Name) else None
            zero_of.setdefault(target, set()).add(like)
    return {name for name, likes in zero_of.items()
            if all(like in tuples and binds.get(like) == 1 for like in likes)}


def _as_sum(value, name: str, zero_tuples: set):
    """`plus(name, pieces(...))` read as `name + pieces(...)` when `name` holds the zeros
    of a tuple (plus adds item by item; zeros plus a whole tuple is that tuple), else
    `value` itself."""
    if name in zero_tuples and isinstance(value, gast.Call) and \
            isinstance(value.func, gast.Name) and value.func.id == "plus" and \
            len(value.args) == 2 and not value.keywords and \
            isinstance(value.args[0], gast.Name) and value.args[0].id == name:
        right = value.args[1]
        if isinstance(right, gast.Call) and isinstance(right.func, gast.Name) and \
                right.func.id in _WHOLE_CONTAINERS:
            return gast.BinOp(left=value.args[0], op=gast.Add(), right=right)
    return value


class _Zeros:
    def __init__(self, inplace: set, tuples: set):
        self.inplace = inplace
        self.zero_tuples = tuples  # names whose zeros are zeros of a tuple display

    def block(self, stmts, zero: set) -> tuple[set, bool]:
        """(names certainly zero after `stmts`, whether anything changed)."""
        changed = False
        for stmt in stmts:
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
                name = stmt.targets[0].id
                value = _as_sum(stmt.value, name, self.zero_tuples & zero)
                if isinstance(value, gast.BinOp) and isinstance(value.op, gast.Add) and \
                        isinstance(value.left, gast.Name) and value.left.id == name and \
                        name in zero and (name not in self.inplace or
                                          _new_array(value.right)) and \
                        name not in names_read(value.right):
                    stmt.value = value.right
                    changed = True
                zero -= names_written(stmt)
                if is_zeros(stmt.value):
                    zero.add(name)
            elif isinstance(stmt, gast.If):
                zb, changed_b = self.block(stmt.body, set(zero))
                zo, changed_o = self.block(stmt.orelse, set(zero))
                zero = zb & zo
                changed |= changed_b or changed_o
            elif isinstance(stmt, (gast.For, gast.While)):
                zero -= names_written(stmt)
                changed |= self.block(stmt.body, set(zero))[1]
            else:
                zero -= names_written(stmt)
        return zero, changed
