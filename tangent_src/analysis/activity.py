"""Which values vary with the differentiated inputs (the only ones that get adjoints).

The rule: nothing is constant unless a rule says so. A value varies when an operation
reads a varying value -- whatever the operation is: a call (its arguments), a subscript
(the subscripted object *or* its index: `np.r_[x, x]` varies with x), an attribute
(`x.flat` varies with x), an `and`/`or` (which returns one of its operands). The only
exceptions are results that are constant by declaration:

- calls of functions registered with `tangent_src.nondifferentiable` (rules/nondiff.py:
  shapes, counts, comparisons, constructors, roundings such as int and round);
- comparisons and `not` (booleans);
- the integer metadata attributes of arrays (METADATA_ATTRIBUTES: x.shape, x.ndim, ...);
- the stabilizing max (or min) shift of a logsumexp or log-softmax when the function's
  outputs provably do not see it (analysis/shift_invariance.py): its derivative is
  exactly zero.

Every varying operation must then find a derivative rule in the transforms (reverse.py,
forward.py): a registered rule, a user function differentiated from its source, or one of
the core forms they handle (names, tuples, subscripts of a varying array, `.T`, attributes of
parameter-holder objects). When there is none, they raise NoDerivativeRuleError located at
the construct -- they never treat it as a constant.
"""
from __future__ import annotations

import gast
import numpy as np

from ..core.tables import is_effect
from ..core.walk import walk
from ..rules.registry import REGISTRY
from .shift_invariance import invariant_shifts

# Integer-valued metadata of arrays: explicitly zero derivative.
METADATA_ATTRIBUTES = frozenset({"shape", "ndim", "size", "dtype", "itemsize", "nbytes",
                                 "strides"})
SHAPE_ATTRIBUTES = METADATA_ATTRIBUTES  # the older name
# Attributes of arrays and NumPy scalars. Of these only `.T` (a transpose) and the metadata
# have rules (`.real` is lowered to np.real); the others (x.flat, x.imag, x.base, x.data,
# x.ctypes, ...) of a varying array are refused, not differentiated as object fields.
ARRAY_ATTRIBUTES = frozenset(a for a in set(dir(np.ndarray)) | set(dir(np.generic))
                             if not a.startswith("_"))


def _is_metadata(expr, objects) -> bool:
    """`x.shape`, `x.size`, ... of an array; not of a parameter-holder object (`m.size`)."""
    return expr.attr in METADATA_ATTRIBUTES and not (
        isinstance(expr.value, gast.Name) and expr.value.id in objects)


def array_attribute_without_rule(attr: str) -> bool:
    """Whether `x.attr` of a varying array has no derivative rule."""
    return attr in ARRAY_ATTRIBUTES and attr not in METADATA_ATTRIBUTES and attr != "T"


def _atoms(expr) -> list[str]:
    return [n.id for n in walk(expr) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load)]


def varied_names(body: list, inputs: set[str], resolve,
                 objects: frozenset = frozenset(),
                 outputs: frozenset | None = None) -> set[str]:
    """Forward dataflow to a fixed point: a name varies if it is computed from a varying one.
    `objects` names parameter-holder objects, whose `.size` (etc.) is a field, not metadata.
    Given the names the caller sees (`outputs`), shifts they are invariant to are
    constant."""
    varied = set(inputs)
    constant = invariant_shifts(body, resolve, outputs) if outputs is not None else set()
    changed = True

    def visit(stmts):
        nonlocal changed
        for stmt in stmts:
            if isinstance(stmt, gast.Assign):
                target = stmt.targets[0].id
                if target not in varied and target not in constant and \
                        _value_varies(stmt.value, varied, resolve, objects):
                    varied.add(target)
                    changed = True
            elif is_effect(stmt):  # print(...): varies nothing
                continue
            elif isinstance(stmt, gast.Expr):  # tape.append(x): the tape varies with x
                call = stmt.value
                tape, item = call.func.value.id, call.args[0]
                if tape not in varied and isinstance(item, gast.Name) and item.id in varied:
                    varied.add(tape)
                    changed = True
            elif isinstance(stmt, (gast.If, gast.For, gast.While)):
                visit(stmt.body)
                visit(stmt.orelse)

    while changed:
        changed = False
        visit(body)
    return varied


def _value_varies(expr, varied: set[str], resolve, objects=frozenset()) -> bool:
    if isinstance(expr, (gast.Compare, gast.Constant)):
        return False
    if isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.Not):
        return False
    if isinstance(expr, gast.Attribute):
        if _is_metadata(expr, objects):
            return False
        return isinstance(expr.value, gast.Name) and expr.value.id in varied
    if isinstance(expr, gast.Subscript):  # the object or the index: np.r_[x], table[x]
        return any(name in varied for name in _atoms(expr))
    if isinstance(expr, gast.Call) and isinstance(expr.func, gast.Attribute) and \
            expr.func.attr == "pop" and isinstance(expr.func.value, gast.Name):
        return expr.func.value.id in varied
    if isinstance(expr, gast.Call):
        func = resolve(expr.func)
        if is_nondifferentiable(func):
            return False
        args = expr.args + [k.value for k in expr.keywords]
        return any(name in varied for a in args for name in _atoms(a))
    return any(name in varied for name in _atoms(expr))


def is_nondifferentiable(func) -> bool:
    """Whether the registry declares `func` to have zero derivative."""
    try:
        return func in REGISTRY.nondifferentiable
    except TypeError:
        return False


def useful_names(body: list, result: str, resolve, objects: frozenset = frozenset()) -> set[str]:
    """Backward dataflow to a fixed point: a name is useful if the result depends on it
    through differentiable operations (a value that only feeds a comparison is not).
    Flow-insensitive, hence conservative for the few names loops reassign."""
    useful = {result}
    changed = True

    def visit(stmts):
        nonlocal changed
        for stmt in reversed(stmts):
            if isinstance(stmt, gast.Assign):
                targets = [n.id for n in walk(stmt.targets[0]) if isinstance(n, gast.Name)]
                if any(t in useful for t in targets) and _propagates(stmt.value, resolve, objects):
                    for name in _atoms(stmt.value):
                        if name not in useful:
                            useful.add(name)
                            changed = True
            elif is_effect(stmt):  # print(...): makes nothing useful
                continue
            elif isinstance(stmt, gast.Expr):  # tape.append(x): x is useful if the tape is
                call = stmt.value
                tape, item = call.func.value.id, call.args[0]
                if tape in useful and isinstance(item, gast.Name) and item.id not in useful:
                    useful.add(item.id)
                    changed = True
            elif isinstance(stmt, (gast.If, gast.For, gast.While)):
                visit(stmt.body)
                visit(stmt.orelse)

    while changed:
        changed = False
        visit(body)
    return useful


def _propagates(expr, resolve, objects=frozenset()) -> bool:
    """Whether derivatives flow from this operation's result back to its operands."""
    if isinstance(expr, (gast.Compare, gast.Constant)):
        return False
    if isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.Not):
        return False
    if isinstance(expr, gast.Attribute) and _is_metadata(expr, objects):
        return False
    if isinstance(expr, gast.Call) and not (isinstance(expr.func, gast.Attribute) and
                                            expr.func.attr == "pop"):
        return not is_nondifferentiable(resolve(expr.func))
    return True
