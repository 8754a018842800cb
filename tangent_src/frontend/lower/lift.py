"""A nested function (or lambda) passed to a transform inside the differentiated function,
lifted to a function of its own: the outer function's variables it reads become trailing
parameters, passed at the call, so the derivative flows through them too.

Before:  `def inner(y): return y * x` ... `g = grad(inner)(2.0)` (x a variable of the
         outer function)
After:   `def inner(y, x): return y * x` compiled on its own (reading the outer function's
         globals), and `g = grad(inner)(2.0, x)` -- whose generated code is then
         differentiated again like any transform called inside (nested.py)
"""
from __future__ import annotations

import ast
import types

import gast

from ...core.walk import clone, walk
from ...errors import TangentError
from ...generated_source import remember
from ..source import is_user_function, parse_function


def free_names(node) -> list[str]:
    """The names a FunctionDef (or Lambda) reads but neither takes nor assigns, in order
    of first use."""
    args = node.args
    own = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs} | {
        a.id for a in (args.vararg, args.kwarg) if a is not None}
    own |= {n.id for n in walk(node) if isinstance(n, gast.Name) and
            not isinstance(n.ctx, gast.Load)}
    out: list[str] = []
    for n in walk(node):
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and n.id not in own \
                and n.id not in out:
            out.append(n.id)
    return out


def as_def(node, name: str):
    """A FunctionDef of `node` (a FunctionDef, or a Lambda: `def name(args): return
    body`), cloned."""
    if isinstance(node, gast.FunctionDef):
        return clone(node)
    return gast.FunctionDef(name=name, args=clone(node.args),
                            body=[gast.Return(value=clone(node.body))], decorator_list=[],
                            returns=None, type_comment=None, type_params=[])


def lifted_function(node, captured: list[str], scope: dict, owner: str):
    """The Python function `node` (a FunctionDef) with the `captured` names appended to its
    parameters, compiled in the globals `scope` of the function it was nested in; its
    source is kept in memory (linecache) so that it is parsed like any function."""
    node = clone(node)
    node.decorator_list = []
    node.args.args = list(node.args.args) + [
        gast.Name(id=c, ctx=gast.Param(), annotation=None, type_comment=None)
        for c in captured]
    module = gast.gast_to_ast(gast.Module(body=[node], type_ignores=[]))
    source = ast.unparse(ast.fix_missing_locations(module)) + "\n"
    code = compile(source, remember(source, f"lifted {node.name} of {owner}"), "exec")
    body = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    return types.FunctionType(body, scope, node.name)


def thin_transform_wrapper(func) -> bool:
    """Whether user function `func`'s body is only `return T(...)`, T a transform
    constructor (marked `__tangent_src_transform__`) read from its globals, applied to its
    own parameters and constants: calling it only builds a transform."""
    if not is_user_function(func) or getattr(func, "__closure__", None):
        return False
    try:
        node = parse_function(func).node
    except TangentError:
        return False
    body = [s for s in node.body if not (isinstance(s, gast.Expr) and
                                         isinstance(s.value, gast.Constant))]
    if len(body) != 1 or not isinstance(body[0], gast.Return) or \
            not isinstance(body[0].value, gast.Call):
        return False
    call, args = body[0].value, node.args
    params = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs}
    if args.vararg or args.kwarg or not all(
            isinstance(v, gast.Constant) or isinstance(v, gast.Name) and v.id in params
            for v in call.args + [k.value for k in call.keywords]) or \
            any(k.arg is None for k in call.keywords):
        return False
    target = dotted_value(call.func, func.__globals__)
    return bool(getattr(target, "__tangent_src_transform__", False))


def dotted_value(expr, scope: dict):
    """The object a name or dotted name refers to in `scope` (None if it does not)."""
    parts = []
    while isinstance(expr, gast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, gast.Name) or expr.id not in scope:
        return None
    value = scope[expr.id]
    for part in reversed(parts):
        value = getattr(value, part, None)
    return value
