"""Typed facts about nodes, kept beside the tree: one `NodeTable` per kind of fact.

A stage that learns something about a node another stage needs (this assignment copies a
loop's new value back, this loop is checkpointed) records it in a table rather than as an
ad-hoc attribute: `getattr(stmt, 'copy_back', False)` reads a typo as "absent", while a
table is one named object (a typo is a NameError), checks the type of what is stored, and
is where the fact is documented.

Entries live in the node's own `__dict__` under a key no attribute access can spell
("table:<name>"), so they travel with the node wherever it goes: `walk.clone` and
`copy.copy` copy them (the transforms clone the core function before changing it), and
a node that is dropped takes its entries with it.

    COPY_BACK[stmt] = True          # anf.py
    if stmt in COPY_BACK: ...       # reverse.py, forward.py

The tables the stages share are defined here; a stage may define its own.
"""
from __future__ import annotations

from typing import Generic, NamedTuple, TypeVar

import gast

T = TypeVar("T")
_ABSENT = object()


class NodeTable(Generic[T]):
    """A map from nodes to one kind of fact (`kind`: the type every value must have)."""

    __slots__ = ("name", "kind", "_key")

    def __init__(self, name: str, kind: type | tuple):
        self.name, self.kind = name, kind
        self._key = f"table:{name}"

    def __setitem__(self, node, value: T) -> None:
        if not isinstance(value, self.kind):
            raise TypeError(f"{self.name}: {type(value).__name__} is not a {self.kind}")
        node.__dict__[self._key] = value

    def __getitem__(self, node) -> T:
        value = node.__dict__.get(self._key, _ABSENT)
        if value is _ABSENT:
            raise KeyError(f"{self.name}: no entry for this {type(node).__name__}")
        return value

    def __contains__(self, node) -> bool:
        return self._key in node.__dict__

    def get(self, node, default=None):
        """The fact recorded for `node`, or `default`."""
        return node.__dict__.get(self._key, default)

    def pop(self, node, default=None):
        """Remove and return the fact recorded for `node` (or `default`)."""
        return node.__dict__.pop(self._key, default)

    def __repr__(self) -> str:
        return f"NodeTable({self.name!r})"


class Hook(NamedTuple):
    """`with insert_grad_of(target) as alias:`: the name whose adjoint the block reads, and
    the name the block gives that adjoint."""
    target: str
    alias: str


# On the `with` statement (no items) a hook block lowers to: which adjoint it reads.
HOOK: NodeTable[Hook] = NodeTable("hook", Hook)

# On a `for` loop inside `with checkpoint(every):`: the `every` expression (0: about
# sqrt(n) iterations per segment).
CHECKPOINT: NodeTable[gast.expr] = NodeTable("checkpoint", gast.expr)

# On an assignment anf.py adds at the end of a loop body, `h = h2`: it copies a value the
# loop updated back to the name the next iteration reads (no source line of its own).
COPY_BACK: NodeTable[bool] = NodeTable("copy_back", bool)

# On an assignment `dx = dx + g` that reverse mode writes to add a contribution g to the
# adjoint dx (transform/adjoint_values.py): g has dx's shape (an adjoint has its value's
# shape), so the sum may go into dx's array when that array is the function's own
# (optimize/accumulate.py).
ACCUMULATION: NodeTable[bool] = NodeTable("accumulation", bool)

# On the `x = x + v` / `x = x - v` statement (and its BinOp) that lowering writes for the
# user's own `x += v` / `x -= v` (frontend/lower/statements.py): NumPy adds into x's array
# there, keeping x's shape and dtype, so where that array is the function's own, `+=` is
# the user's meaning (optimize/accumulate.py); `x = x + v` would widen a float32 x.
USER_IN_PLACE: NodeTable[bool] = NodeTable("user_in_place", bool)

# On an expression statement lowering keeps for its side effect (`print(...)`, a logging
# call, an assert, a user function that only prints or plots): it runs on the primal
# values, once per primal execution, and is never differentiated.
EFFECT: NodeTable[bool] = NodeTable("effect", bool)


def is_effect(stmt) -> bool:
    """Whether `stmt` is a side-effect statement (see EFFECT)."""
    return isinstance(stmt, gast.Expr) and stmt in EFFECT


def strip_effects(stmts: list) -> list:
    """`stmts` without side-effect statements, at every depth (code that recomputes
    values already computed once, such as a checkpointed segment, must not repeat them)."""
    out = []
    for stmt in stmts:
        if is_effect(stmt):
            continue
        for field in ("body", "orelse"):
            inner = getattr(stmt, field, None)
            if isinstance(inner, list) and any(is_effect(s) for s in inner) or \
                    isinstance(inner, list) and _has_effect(inner):
                setattr(stmt, field, strip_effects(inner) or [gast.Pass()])
        out.append(stmt)
    return out


def _has_effect(stmts: list) -> bool:
    return any(is_effect(node) for stmt in stmts for node in gast.walk(stmt))


# On an `unreduce(g, like)` call (the adjoint of a full reduction, g the adjoint of its
# scalar result), or `unreduce(g, like, axis=k[, keepdims=...])` with literal k (g the
# adjoint of the reduced array): the names known to hold an array of like's shape. An
# elementwise operation of the call with an expression built on one of them broadcasts g
# anyway (optimize/algebra.py writes g there, with the reduced axis put back
# (np.expand_dims) where it was dropped: no np.broadcast_to).
SPREAD: NodeTable[frozenset] = NodeTable("spread", frozenset)


def spread_axis(call) -> tuple | None:
    """(axis, keepdims) of `unreduce(g, like, axis=k, keepdims=b)` with an integer literal
    k (possibly negative) and a literal or absent b; None for any other keywords."""
    words = {k.arg: k.value for k in call.keywords}
    if set(words) - {"axis", "keepdims"} or "axis" not in words:
        return None
    axis = words["axis"]
    sign = 1
    if isinstance(axis, gast.UnaryOp) and isinstance(axis.op, gast.USub):
        axis, sign = axis.operand, -1
    keep = words.get("keepdims")
    if not (isinstance(axis, gast.Constant) and type(axis.value) is int) or not (
            keep is None or (isinstance(keep, gast.Constant) and type(keep.value) is bool)):
        return None
    return sign * axis.value, keep is not None and keep.value

# On a `zeros_like(t)` call starting the adjoint of a name `t` that shape inference found
# bound only to plain tuples of this many items (analysis/shape_items.py): once every item
# of the adjoint is set by add_at, it is the tuple of those values
# (optimize/tuple_adjoints.py).
TUPLE_LENGTH: NodeTable[int] = NodeTable("tuple_length", int)

# On an `np.zeros_like(x)` call starting the adjoint of a name whose shape class is an
# array's, and on an `add_at(acc, index, g)` call whose acc is the adjoint of such a name
# and whose index is basic (ints, scalar names and slices of them: no index repeats an
# element): the plain NumPy forms are exact there (optimize/direct_numpy.py).
ARRAY_ZEROS: NodeTable[bool] = NodeTable("array_zeros", bool)
BASIC_ADD_AT: NodeTable[bool] = NodeTable("basic_add_at", bool)

# On an `np.sum(x, ...)` call whose operand the transform proved an ndarray or a NumPy
# scalar (transform/array_sums.py): `x.sum(...)` is the same call there, without np.sum's
# wrapper (optimize/direct_numpy.py).
ARRAY_SUM: NodeTable[bool] = NodeTable("array_sum", bool)
