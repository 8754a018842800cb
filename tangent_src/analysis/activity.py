"""Which values vary with the differentiated inputs (the only ones that get adjoints)."""
from __future__ import annotations

import gast

from ..rules.registry import REGISTRY

SHAPE_ATTRIBUTES = {"shape", "ndim", "size", "dtype"}


def _atoms(expr) -> list[str]:
    return [n.id for n in gast.walk(expr) if isinstance(n, gast.Name)
            and isinstance(n.ctx, gast.Load)]


def varied_names(body: list, inputs: set[str], resolve) -> set[str]:
    """Forward dataflow to a fixed point: a name varies if it is computed from a varying one."""
    varied = set(inputs)
    changed = True

    def visit(stmts):
        nonlocal changed
        for stmt in stmts:
            if isinstance(stmt, gast.Assign):
                target = stmt.targets[0].id
                if target not in varied and _value_varies(stmt.value, varied, resolve):
                    varied.add(target)
                    changed = True
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


def _value_varies(expr, varied: set[str], resolve) -> bool:
    if isinstance(expr, (gast.Compare, gast.BoolOp, gast.Constant)):
        return False
    if isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.Not):
        return False
    if isinstance(expr, gast.Attribute):
        if expr.attr in SHAPE_ATTRIBUTES:
            return False
        return isinstance(expr.value, gast.Name) and expr.value.id in varied
    if isinstance(expr, gast.Subscript):
        return isinstance(expr.value, gast.Name) and expr.value.id in varied
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


def useful_names(body: list, result: str, resolve) -> set[str]:
    """Backward dataflow to a fixed point: a name is useful if the result depends on it
    through differentiable operations (a value that only feeds a comparison is not).
    Flow-insensitive, hence conservative for the few names loops reassign."""
    useful = {result}
    changed = True

    def visit(stmts):
        nonlocal changed
        for stmt in reversed(stmts):
            if isinstance(stmt, gast.Assign):
                targets = [n.id for n in gast.walk(stmt.targets[0]) if isinstance(n, gast.Name)]
                if any(t in useful for t in targets) and _propagates(stmt.value, resolve):
                    for name in _atoms(stmt.value):
                        if name not in useful:
                            useful.add(name)
                            changed = True
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


def _propagates(expr, resolve) -> bool:
    """Whether derivatives flow from this operation's result back to its operands."""
    if isinstance(expr, (gast.Compare, gast.BoolOp, gast.Constant)):
        return False
    if isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.Not):
        return False
    if isinstance(expr, gast.Attribute) and expr.attr in SHAPE_ATTRIBUTES:
        return False
    if isinstance(expr, gast.Call) and not (isinstance(expr.func, gast.Attribute) and
                                            expr.func.attr == "pop"):
        return not is_nondifferentiable(resolve(expr.func))
    return True
