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
import itertools
import linecache
import types

import gast

from ...core.walk import clone, walk

_COUNTER = itertools.count()


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
    filename = f"<tangent_src lifted {node.name} of {owner} {next(_COUNTER)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    code = compile(source, filename, "exec")
    body = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    return types.FunctionType(body, scope, node.name)
