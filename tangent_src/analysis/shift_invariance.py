"""Stabilizing shifts whose derivative is exactly zero, proven from the code's structure.

`m = np.max(a, axis, keepdims=True)` used only as in logsumexp,
`np.log(np.sum(np.exp(a - m), axis, keepdims=True)) + m`, or in log-softmax,
`z = a - m; z - np.log(np.sum(np.exp(z), axis, keepdims=True))`, gives results that do not
change when m is replaced by m + c for any c of m's shape. Their partial derivative with
respect to m is then zero, so the derivative flowing through m is exactly zero in real
arithmetic, whatever m depends on: m may be treated as a constant (as JAX's logsumexp
stops its gradient), and its adjoint code (a sum and an extremum mask) disappears.

The proof follows the shift m -> m + c through the names computed from m. Each carries a
Change: its kind ("add": the value moves by k*c; "mul": it is multiplied by exp(k*c)), the
integer k, and where c lies in it (the shape form: "A" a's shape, "M" m's kept-axes shape,
"R" the reduced shape without them). The rules below are the only operations allowed on a
changing name; a result with k == 0 is invariant and may be used anywhere. Any other use
of a changing name (an output, another call, a comparison, a tape, a loop or branch, a
second assignment) and m keeps its derivative. np.min/np.amin shifts are the same.
"""
from __future__ import annotations

from collections import Counter
from typing import NamedTuple

import gast
import numpy as np

from ..core.dataflow import assigned, reads

EXTREMA = (np.max, np.amax, np.min, np.amin)


class Change(NamedTuple):
    """How a value changes when the shift m moves by c: by k*c ("add") or times
    exp(k*c) ("mul"), with c laid out as in shape form `form`."""
    kind: str
    k: int
    form: str


# Shapes of elementwise results: a's shape with m's (kept axes of length one) is a's.
_JOIN = {("A", "A"): "A", ("A", "M"): "A", ("M", "A"): "A", ("M", "M"): "M",
         ("R", "R"): "R"}


class Shift(NamedTuple):
    """One candidate: `name = extremum(arg, axis=..., keepdims=...)`."""
    name: str
    arg: str
    axis: tuple
    keepdims: bool


def invariant_shifts(body: list, resolve, outputs: frozenset) -> set[str]:
    """The names of top-level extrema in `body` that only shift values the function's
    `outputs` provably do not see (see the module docstring)."""
    counts = Counter()
    for stmt in body:
        for node in gast.walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                counts[node.id] += 1
    found = set()
    for i, stmt in enumerate(body):
        shift = _extremum(stmt, resolve)
        if shift is None or counts[shift.name] != 1 or shift.arg in assigned(body[i + 1:]):
            continue
        if shift.axis[0] == "name" and shift.axis[1] in assigned(body[i:]):
            continue
        if _invariant(shift, body[i + 1:], counts, resolve, outputs):
            found.add(shift.name)
    return found


def _axis_key(node) -> tuple | None:
    """A comparable form of an axis argument: a constant, or a name (checked unchanged)."""
    if node is None:
        return ("const", None)
    if isinstance(node, gast.Constant) and (node.value is None or type(node.value) is int):
        return ("const", node.value)
    if isinstance(node, gast.Tuple) and all(isinstance(e, gast.Constant) and
                                            type(e.value) is int for e in node.elts):
        return ("const", tuple(e.value for e in node.elts))
    if isinstance(node, gast.Name):
        return ("name", node.id)
    return None


def _arguments(call, names: tuple) -> dict | None:
    """The call's arguments by name (positional ones in `names`' order); None when it
    passes anything else."""
    if len(call.args) > len(names):
        return None
    out = dict(zip(names, call.args))
    for keyword in call.keywords:
        if keyword.arg not in names or keyword.arg in out:
            return None
        out[keyword.arg] = keyword.value
    return out


def _flag(node) -> bool | None:
    if node is None:
        return False
    if isinstance(node, gast.Constant) and type(node.value) is bool:
        return node.value
    return None


def _extremum(stmt, resolve) -> Shift | None:
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
            and isinstance(stmt.value, gast.Call)):
        return None
    call = stmt.value
    if not any(resolve(call.func) is f for f in EXTREMA):
        return None
    args = _arguments(call, ("a", "axis", "keepdims"))
    if args is None or len(call.args) > 2 or not isinstance(args.get("a"), gast.Name):
        return None
    axis, keepdims = _axis_key(args.get("axis")), _flag(args.get("keepdims"))
    if axis is None or keepdims is None:
        return None
    return Shift(stmt.targets[0].id, args["a"].id, axis, keepdims)


def _invariant(shift: Shift, rest: list, counts: Counter, resolve,
               outputs: frozenset) -> bool:
    """Whether every use of the names changing with `shift` in `rest` is a rule, and no
    output changes."""
    start = "M" if shift.keepdims or shift.axis == ("const", None) else "R"
    changing = {shift.name: Change("add", 1, start)}
    for stmt in rest:
        if not reads([stmt]) & changing.keys():
            continue
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
            return False
        target = stmt.targets[0].id
        change = _change_of(stmt.value, shift, changing, resolve)
        if change is None or counts[target] != 1:
            return False
        if change.k != 0:
            changing[target] = change
    return not changing.keys() & outputs


def _operand(node, shift: Shift, changing: dict) -> Change | None:
    if isinstance(node, gast.Name):
        if node.id in changing:
            return changing[node.id]
        if node.id == shift.arg:  # a itself: unchanged, of a's shape
            return Change("add", 0, "A")
    return None


def _change_of(value, shift: Shift, changing: dict, resolve) -> Change | None:
    """The change of `value` (one core-language operation), or None when no rule
    applies."""
    if isinstance(value, gast.Name):  # a copy
        return _operand(value, shift, changing)
    if isinstance(value, gast.BinOp):
        return _binary(value, shift, changing)
    if isinstance(value, gast.UnaryOp) and isinstance(value.op, (gast.USub, gast.UAdd)):
        x = _operand(value.operand, shift, changing)
        if x is None or x.kind != "add":
            return None
        return x._replace(k=-x.k) if isinstance(value.op, gast.USub) else x
    if isinstance(value, gast.Subscript):
        return _expanded_by_index(value, shift, changing)
    if isinstance(value, gast.Call):
        func = resolve(value.func)
        for functions, rule in _CALL_RULES:
            if any(func is f for f in functions):
                return rule(value, shift, changing)
    return None


def _binary(value, shift: Shift, changing: dict) -> Change | None:
    x, y = (_operand(v, shift, changing) for v in (value.left, value.right))
    if x is None or y is None:
        return None
    form = _JOIN.get((x.form, y.form))
    if form is None:
        return None
    kinds = {side.kind for side in (x, y) if side.k != 0} or {"add"}
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    sign = {gast.Add: 1, gast.Sub: -1, gast.Mult: 1, gast.Div: -1}.get(type(value.op))
    additive = isinstance(value.op, (gast.Add, gast.Sub))
    if sign is None or additive != (kind == "add"):
        return None
    return Change(kind, x.k + sign * y.k, form)


def _unary_call(kind_in: str, kind_out: str):
    def rule(call, shift: Shift, changing: dict) -> Change | None:
        args = _arguments(call, ("x",))
        x = _operand(args.get("x"), shift, changing) if args else None
        if x is None or x.kind != kind_in:
            return None
        return Change(kind_out, x.k, x.form)
    return rule


def _summed(call, shift: Shift, changing: dict) -> Change | None:
    """np.sum of a's shape over the shift's axes: exp(k*c) factors out of the sum."""
    args = _arguments(call, ("a", "axis", "dtype", "out", "keepdims"))
    if args is None or args.keys() - {"a", "axis", "keepdims"}:
        return None
    x = _operand(args.get("a"), shift, changing)
    keepdims = _flag(args.get("keepdims"))
    if x is None or x.kind != "mul" or x.form != "A" or keepdims is None or \
            _axis_key(args.get("axis")) != shift.axis:
        return None
    return x._replace(form="M" if keepdims or shift.axis == ("const", None) else "R")


def _reshaped(names: tuple, before: str, after: str):
    """np.squeeze / np.expand_dims over exactly the shift's axes."""
    def rule(call, shift: Shift, changing: dict) -> Change | None:
        args = _arguments(call, names)
        if args is None or shift.axis == ("const", None):
            return None
        x = _operand(args.get(names[0]), shift, changing)
        if x is None or x.form != before or _axis_key(args.get("axis")) != shift.axis:
            return None
        return x._replace(form=after)
    return rule


def _expanded_by_index(value, shift: Shift, changing: dict) -> Change | None:
    """`r[:, None]`, `r[None]`, `r[..., None]`: np.expand_dims(r, axis) written as an
    index, for an integer axis written the same way (non-negative: the number of full
    slices before the None; negative: counted from the end after an Ellipsis)."""
    x = _operand(value.value, shift, changing)
    if x is None or x.form != "R" or shift.axis[0] != "const" or \
            type(shift.axis[1]) is not int:
        return None
    items = value.slice.elts if isinstance(value.slice, gast.Tuple) else [value.slice]
    nones = [i for i, e in enumerate(items) if isinstance(e, gast.Constant) and
             e.value is None]
    ellipses = [i for i, e in enumerate(items) if isinstance(e, gast.Constant) and
                e.value is Ellipsis]
    full = all(isinstance(e, gast.Slice) and e.lower is None and e.upper is None and
               e.step is None for i, e in enumerate(items) if i not in nones + ellipses)
    if len(nones) != 1 or len(ellipses) > 1 or not full:
        return None
    position = nones[0]
    if ellipses:
        if ellipses[0] > position:
            return None
        at = position - len(items)  # -1 for `r[..., None]`
    else:
        at = position
    return x._replace(form="M") if at == shift.axis[1] else None


_CALL_RULES = (
    ((np.exp,), _unary_call("add", "mul")),
    ((np.log,), _unary_call("mul", "add")),
    ((np.sum,), _summed),
    ((np.squeeze,), _reshaped(("a", "axis"), "M", "R")),
    ((np.expand_dims,), _reshaped(("a", "axis"), "R", "M")),
)

