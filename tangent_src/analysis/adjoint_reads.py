"""What the adjoint sweep reads, and so what the forward sweep must keep: names bound
whatever the path, names read at a block's top level, values a nested loop overwrites,
and which names have the shape of an argument (so an adjoint's shape is read from it)."""
from __future__ import annotations

import gast

from ..core.walk import walk


def read_at_top(stmts) -> set:
    """Names that a statement directly in `stmts` (not inside a loop or branch) reads: when
    the backward pass of `stmts` runs, each of them is bound, even one that only a loop
    assigns, so its adjoint can start as zeros of its shape (a float 0.0 cannot take
    add_at's element-wise contributions)."""
    names = set()
    for stmt in stmts:
        if isinstance(stmt, (gast.Assign, gast.Expr)):
            value = stmt.value
            names |= {n.id for n in walk(value)
                      if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
    return names


def is_hashable(obj) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def same_shape(stmts, resolve, classes: dict | None = None) -> dict:
    """name -> argument name, for single-definition results of shape-preserving
    elementwise operations (`log_q = np.log(q)`): a shape can be read from the argument.
    With shape `classes`, also `t = a * b` where t and a have one class, every dimension
    of size not 1 ("N"): a's sizes are t's (the others broadcast to them or equal them)."""
    classes = classes or {}
    from ..rules.elementwise import UNARY
    counts: dict = {}
    found: dict = {}
    for node in walk(gast.Module(body=stmts, type_ignores=[])):
        if isinstance(node, gast.Assign):
            name = node.targets[0].id
            counts[name] = counts.get(name, 0) + 1
            value = node.value
            if isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.USub) and \
                    isinstance(value.operand, gast.Name):
                found[name] = value.operand.id
            elif isinstance(value, gast.BinOp) and not isinstance(value.op, gast.MatMult):
                left, right = value.left, value.right
                if isinstance(left, gast.Name) and (
                        isinstance(right, gast.Constant) or
                        (isinstance(right, gast.Name) and right.id == left.id)):
                    found[name] = left.id
                elif isinstance(right, gast.Name) and isinstance(left, gast.Constant):
                    found[name] = right.id
                else:
                    sized = [a.id for a in (left, right)
                             if isinstance(a, gast.Name) and _sized_like(classes, a.id, name)]
                    if sized:
                        found[name] = sized[0]
            elif isinstance(value, gast.Call) and len(value.args) == 1 and \
                    not value.keywords and isinstance(value.args[0], gast.Name):
                func = resolve(value.func)
                if is_hashable(func) and func in UNARY:
                    found[name] = value.args[0].id
    return {k: v for k, v in found.items() if counts.get(k) == 1 and counts.get(v, 0) <= 1}


def _sized_like(classes: dict, operand: str, result: str) -> bool:
    cls = classes.get(operand)
    return isinstance(cls, tuple) and bool(cls) and all(f == "N" for f in cls) and \
        classes.get(result) == cls


def overwritten(stmt) -> set[str]:
    """Names a compound statement may leave with a new value: the copy-backs of its loops,
    every name assigned inside it (also one first assigned in a nested loop, `for j ...:
    v = ...`, which is no copy-back) and the targets of its for-loops."""
    names = {n.targets[0].id for n in walk(stmt) if isinstance(n, gast.Assign)}
    return names | {n.target.id for n in walk(stmt)
                    if isinstance(n, gast.For) and isinstance(n.target, gast.Name)}


def last_overwrites(stmts, taped: set) -> dict:
    """id(statement after S) -> names whose last overwrite in `stmts` is inside the
    compound statement S (a nested loop, or a branch holding one), except the `taped`
    names, which the block records at its end anyway. In a loop body, the
    statements after S read the value S leaves, not the one the iteration started with
    (nor the one the nested loop's own tapes restore only inside its adjoint, which runs
    after theirs), so that value is recorded where S ends (the id key is the next
    statement, or None)."""
    last: dict = {}
    for idx, stmt in enumerate(stmts):
        if isinstance(stmt, (gast.If, gast.For, gast.While)):
            for var in overwritten(stmt) - taped:
                last[var] = idx
    out: dict = {}
    for var, idx in sorted(last.items()):
        following = id(stmts[idx + 1]) if idx + 1 < len(stmts) else None
        out.setdefault(following, []).append(var)
    return out
