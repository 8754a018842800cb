"""Builders for the nodes of the core language, used by every stage that writes code
(`build.assign("y", build.call("f", [build.name("x")]))` is `y = f(x)`), and the one
reader of dotted names (`np.linalg.norm` -> "np.linalg.norm")."""
from __future__ import annotations

import gast

from .walk import clone, walk


def name(id_: str, ctx=None) -> gast.Name:
    """A Name node; a read unless `ctx` (gast.Store(), gast.Del()) says otherwise."""
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def assign(target: str, value) -> gast.Assign:
    """`target = value`."""
    return gast.Assign(targets=[name(target, gast.Store())], value=value, type_comment=None)


def const(value) -> gast.Constant:
    """A literal."""
    return gast.Constant(value=value, kind=None)


def call(func, args, keywords=()) -> gast.Call:
    """`func(*args, **keywords)`; `func` a name (str) or an expression node."""
    return gast.Call(func=name(func) if isinstance(func, str) else func, args=list(args),
                     keywords=list(keywords))


def attr_call(obj: str, method: str, args) -> gast.Call:
    """`obj.method(*args)`."""
    func = gast.Attribute(value=name(obj), attr=method, ctx=gast.Load())
    return gast.Call(func=func, args=list(args), keywords=[])


def expr(value) -> gast.Expr:
    """An expression statement (a call whose result is not kept)."""
    return gast.Expr(value=value)


def add(a, b) -> gast.BinOp:
    """`a + b`."""
    return gast.BinOp(left=a, op=gast.Add(), right=b)


def not_(operand) -> gast.UnaryOp:
    """`not operand`."""
    return gast.UnaryOp(op=gast.Not(), operand=operand)


def dotted(node) -> str | None:
    """"a.b.c" for the expression `a.b.c` (or a bare name); None for anything else."""
    parts = []
    while isinstance(node, gast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, gast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def located(stmt, loc):
    """Give every node of `stmt` without a line number `loc`'s position (where the
    generated code came from, for comments and error messages)."""
    for node in walk(stmt):
        if getattr(node, "lineno", None) is None:
            node.lineno = getattr(loc, "lineno", None)
            node.col_offset = getattr(loc, "col_offset", 0)
    return stmt


def index_value(index):
    """An index as a runtime value: `1:3` -> `slice(1, 3)`, `i, :` -> `(i, slice(None,
    None))`; other indices copied."""
    if isinstance(index, gast.Slice):
        parts = [clone(index.lower) if index.lower is not None else const(None),
                 clone(index.upper) if index.upper is not None else const(None)]
        if index.step is not None:
            parts.append(clone(index.step))
        return call("slice", parts)
    if isinstance(index, gast.Tuple):
        return gast.Tuple(elts=[index_value(e) for e in index.elts], ctx=gast.Load())
    return clone(index)
