"""Hoisting out of expressions what the core language writes as statements: calls of
local functions, comprehensions and dict displays, each before the statement that uses it.

Before:  `y = sum([w * v for v in xs])`
After:   `items = []; for v2 in xs: items.append(w * v2)`; `y = sum(items)`
Before:  `p = {'W': W, 'b': b}`
After:   `mapping = {}; mapping = set_at(mapping, 'W', W); mapping = set_at(mapping, 'b', b)`
"""
from __future__ import annotations

import gast

from ...core import build
from ...core.walk import clone, walk
from .common import located


class HoistLowering:
    """Lowerer's part for hoisting (see the module docstring)."""

    def needs_hoisting(self, node) -> bool:
        """Whether a statement holds a nested-function call, a comprehension or a dict."""
        for sub in walk(node):
            if isinstance(sub, (gast.ListComp, gast.GeneratorExp, gast.DictComp, gast.Dict)):
                return True
            if isinstance(sub, gast.Call) and self.is_local_call(sub):
                return True
        return False

    def hoist_local_calls(self, expr):
        """Expand calls of nested functions in `expr` into statements placed before it."""
        pre = []
        lowerer = self

        class Hoist(gast.NodeTransformer):
            def visit_Lambda(self, node):
                raise lowerer.parsed.unsupported(node, "lambda outside an assignment",
                                                 "assign it to a name: f = lambda x: ...")

            def visit_Call(self, node):
                if lowerer.passes_function(node):  # (lambda z: ...)(x), apply(lambda ...)
                    node = lowerer.bind_lambdas(node, pre)
                if lowerer.factory(node.func) is not None:  # make(c)(x)
                    stmts, fn = lowerer.expand_factory(node.func)
                    node.func = located(build.name(fn.name), node.func)
                    lowerer.local_functions[fn.name] = fn
                    pre.extend(stmts)
                node = self.generic_visit(node)
                if isinstance(node.func, gast.Name) and node.func.id in lowerer.local_functions:
                    stmts, result = lowerer.expand_local_call(node)
                    pre.extend(stmts)
                    return build.name(result)
                if lowerer.variadic_callee(node) is not None:  # f(*args, **kwargs)
                    stmts, result = lowerer.expand_variadic(node)
                    pre.extend(stmts)
                    return build.name(result)
                if lowerer.recursive_callee(node) is not None:  # power(x, 3)
                    stmts, result = lowerer.expand_recursive(node)
                    pre.extend(stmts)
                    return build.name(result)
                return node

            def visit_ListComp(self, node):
                stmts, result = lowerer.expand_comprehension(node)
                pre.extend(stmts)
                return build.name(result)

            visit_GeneratorExp = visit_ListComp
            visit_DictComp = visit_ListComp

            def visit_Dict(self, node):
                node = self.generic_visit(node)
                if not node.keys:
                    return node
                stmts, result = lowerer.expand_dict(node)
                pre.extend(stmts)
                return build.name(result)

        for node in walk(expr):
            if isinstance(node, (gast.IfExp, gast.BoolOp)) and any(
                    (isinstance(n, gast.Call) and self.is_local_call(n)) or
                    isinstance(n, (gast.ListComp, gast.GeneratorExp, gast.DictComp))
                    for n in walk(node)):
                raise self.parsed.unsupported(
                    node, "a nested function called inside a conditional expression",
                    "call it in a separate statement")
        new = Hoist().visit(expr)
        return pre, new

    def expand_comprehension(self, node):
        """`[f(x) for x in xs if c]` -> `items = []; for x2 in xs: if c: items.append(f(x2))`
        (dicts: `mapping = set_at(mapping, k, v)`); returns (statements, result name)."""
        is_dict = isinstance(node, gast.DictComp)
        acc = self.namer.fresh("mapping" if is_dict else "items")
        self.locals.add(acc)
        mapping: dict = {}

        class Rename(gast.NodeTransformer):
            def visit_Name(self, name):
                name.id = mapping.get(name.id, name.id)
                return name

        loops = []
        for gen in node.generators:
            if gen.is_async:
                raise self.parsed.unsupported(node, "async comprehension", "use a loop")
            it = Rename().visit(clone(gen.iter))
            for target in walk(gen.target):
                if isinstance(target, gast.Name):
                    mapping[target.id] = self.namer.fresh(target.id)
                    self.locals.add(mapping[target.id])
            target = Rename().visit(clone(gen.target))
            conds = [Rename().visit(clone(c)) for c in gen.ifs]
            loops.append((target, it, conds))
        if is_dict:
            key, value = (Rename().visit(clone(e)) for e in (node.key, node.value))
            inner = [located(build.assign(acc, gast.Call(func=self.helper("set_at"),
                                                     args=[build.name(acc), key, value],
                                                     keywords=[])), node)]
            start = gast.Dict(keys=[], values=[])
        else:
            elt = Rename().visit(clone(node.elt))
            inner = [located(gast.Expr(value=gast.Call(
                func=gast.Attribute(value=build.name(acc), attr="append", ctx=gast.Load()),
                args=[elt], keywords=[])), node)]
            start = gast.List(elts=[], ctx=gast.Load())
        for target, it, conds in reversed(loops):
            for cond in reversed(conds):
                inner = [located(gast.If(test=cond, body=inner, orelse=[]), node)]
            inner = [located(gast.For(target=target, iter=it, body=inner, orelse=[],
                                       type_comment=None), node)]
        stmts = [located(build.assign(acc, start), node)] + inner
        return self.block(stmts), acc

    def expand_dict(self, node):
        """`{'W': W, 'b': b}` -> a dict built key by key (its adjoint is a dict too)."""
        acc = self.namer.fresh("mapping")
        self.locals.add(acc)
        stmts = [located(build.assign(acc, gast.Dict(keys=[], values=[])), node)]
        for key, value in zip(node.keys, node.values):
            if key is None:
                raise self.parsed.unsupported(node, "dict unpacking (**)", "list the keys")
            stmts.append(located(build.assign(acc, gast.Call(
                func=self.helper("set_at"), args=[build.name(acc), key, value], keywords=[])),
                node))
        return self.block(stmts), acc
