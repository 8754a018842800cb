"""Desugar user Python into the statement forms of the core language.

Before:  `a, b = f(x); a += b` / `for row in X:` / early `return` / `break`
After:   single assignments, `for i in range(...)` loops, flags instead of
`break`/`continue`, one `return` at the end. Expressions stay nested; `anf.py`
flattens them. Anything else is rejected with a located error and a hint.
"""
from __future__ import annotations

import copy
import inspect
import re

import gast
import numpy

from ..naming import Namer
from .bindings import AttrRef, FunctionGuard, Guard
from .source import ParsedFunction, is_library_object, is_user_function, parse_function

# construct -> (what to call it, hint). One line per unsupported statement or expression.
UNSUPPORTED = {
    gast.Try: ("try/except", "move error handling outside the differentiated function"),
    gast.AsyncWith: ("async with", "differentiate a synchronous function"),
    gast.Yield: ("yield", "generators are not differentiable; return a value or a list"),
    gast.YieldFrom: ("yield from", "generators are not differentiable; return a value"),
    gast.Await: ("await", "differentiate a synchronous function"),
    gast.Global: ("global", "pass the value as an argument and return the new value"),
    gast.Nonlocal: ("nonlocal", "pass the value as an argument and return the new value"),
    gast.ClassDef: ("class definition", "define the class at module level"),
    gast.AsyncFunctionDef: ("nested async def", "define the helper at module level"),
    gast.Delete: ("del", "remove the 'del' statement"),
    gast.Raise: ("raise", "check inputs before calling the differentiated function"),
    gast.Import: ("import inside a function", "import at module level"),
    gast.ImportFrom: ("import inside a function", "import at module level"),
    gast.Starred: ("starred expression (*args)", "pass the arguments one by one"),
    gast.SetComp: ("set comprehension", "write an explicit loop"),
    gast.Set: ("set literal", "use a tuple"),
    gast.JoinedStr: ("f-string", "remove string formatting from the differentiated function"),
    gast.NamedExpr: ("assignment expression (:=)", "assign in a separate statement"),
    gast.Match: ("match statement", "use if/elif/else"),
    gast.Assert: ("assert", "check inputs before calling the differentiated function"),
    gast.AsyncFor: ("async for", "differentiate a synchronous function"),
}


# Nested scopes: a `return` (or `break`) inside a nested def belongs to that def, never to
# the function being lowered, so no search for the lowered function's own statements looks
# inside one.
_SCOPES = (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda)


def _contains(nodes, kinds, stop=()) -> bool:
    """Whether any node of `kinds` occurs in `nodes`, not looking inside `stop` kinds nor
    inside nested functions (their returns are their own)."""
    todo = list(nodes)
    while todo:
        node = todo.pop()
        if isinstance(node, kinds):
            return True
        if isinstance(node, stop + _SCOPES):
            continue
        todo.extend(gast.iter_child_nodes(node))
    return False


def _walk_scope(node):
    """gast.walk without descending into nested functions."""
    todo = [node]
    while todo:
        current = todo.pop(0)
        yield current
        todo.extend(child for child in gast.iter_child_nodes(current)
                    if not isinstance(child, _SCOPES))


def _name(id_, ctx=None):
    return gast.Name(id=id_, ctx=ctx or gast.Load(), annotation=None, type_comment=None)


def _assign(target: str, value):
    return gast.Assign(targets=[_name(target, gast.Store())], value=value, type_comment=None)


def _not(expr):
    return gast.UnaryOp(op=gast.Not(), operand=expr)


def _const(value):
    return gast.Constant(value=value, kind=None)


def _located(new, old):
    """Give a synthesized node (and its children) the source location of `old`."""
    for node in gast.walk(new):
        if getattr(node, "lineno", None) is None and hasattr(old, "lineno"):
            node.lineno = old.lineno
            node.col_offset = getattr(old, "col_offset", 0)
    return new


class Lowerer:
    """Rewrites one function body into core-language statement forms."""

    def __init__(self, parsed: ParsedFunction, namer: Namer):
        self.parsed = parsed
        self.namer = namer
        self.result_name: str | None = None
        node = parsed.node
        self.locals = {a.id for a in node.args.posonlyargs + node.args.args +
                       node.args.kwonlyargs} | {n.id for n in gast.walk(node)
                                               if isinstance(n, gast.Name)
                                               and isinstance(n.ctx, gast.Store)}
        self.methods = _Methods(self)
        self.local_functions: dict = {}   # nested def / lambda name -> FunctionDef
        self.dicts: set = set()           # parameters known (at this call) to be dicts
        self.objects: dict = {}           # parameter -> its class (for method calls)
        self.functions: dict = {}         # parameter -> the function passed in it
        self.inlining: list = []          # the local functions being expanded (no recursion)
        self.branch_functions: dict = {}  # nested function defined in an if-branch -> the if
        self.factories: dict = {}         # user function -> its ParsedFunction, or None

    def numpy_name(self) -> str:
        """The name the user's module binds NumPy to (bound as `np` if it has none)."""
        import numpy
        for name in ("np", "numpy"):
            if self.parsed.namespace.get(name) is numpy:
                return name
        for name, value in sorted(self.parsed.namespace.items()):
            if value is numpy:
                return name
        if "np" in self.parsed.namespace or "np" in self.locals:
            raise self.parsed.unsupported(self.parsed.node, "array methods without numpy",
                                          "import numpy as np in the module")
        self.parsed.namespace["np"] = numpy
        return "np"

    # -- checks -----------------------------------------------------------------
    def check_expr(self, expr):
        """Lower array methods in `expr` and reject unsupported constructs; returns `expr`."""
        expr = self.methods.visit(expr)
        for node in gast.walk(expr):
            kind = type(node)
            if kind in UNSUPPORTED:
                construct, hint = UNSUPPORTED[kind]
                raise self.parsed.unsupported(node, construct, hint)
            if isinstance(node, gast.Call) and any(k.arg is None for k in node.keywords):
                raise self.parsed.unsupported(node, "**kwargs in a call",
                                              "pass keyword arguments by name")
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
                    not _is_dotted_name(node.func):
                raise self.parsed.unsupported(
                    node, f"method call '.{node.func.attr}()'",
                    f"call the function form instead, e.g. np.{node.func.attr}(x, ...)")
        return expr

    # -- statements -------------------------------------------------------------
    def block(self, stmts) -> list:
        out = []
        for stmt in stmts:
            out.extend(self.stmt(stmt))
        return out

    def stmt(self, node) -> list:
        if isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda):
            return self._stmt(node)
        bound = self.bind_local_function(node)
        if bound is not None:
            return bound
        self.check_function_values(node)
        if isinstance(node, gast.Assign) and isinstance(node.value, (gast.Dict, gast.DictComp)):
            self.dicts |= {t.id for t in node.targets if isinstance(t, gast.Name)}
        if isinstance(node, (gast.Assign, gast.AugAssign, gast.AnnAssign, gast.Return,
                             gast.If, gast.For, gast.Expr)) and self.needs_hoisting(node):
            field = "test" if isinstance(node, gast.If) else \
                "iter" if isinstance(node, gast.For) else "value"
            expr = getattr(node, field)
            if expr is not None:
                pre, new = self.hoist_local_calls(expr)
                setattr(node, field, new)
                return pre + self._stmt(node)
        if isinstance(node, gast.While) and any(
                isinstance(n, gast.Call) and self.is_local_call(n) for n in gast.walk(node.test)):
            raise self.parsed.unsupported(node.test, "a call to a nested function in a "
                                          "while condition",
                                          "compute the condition in a variable at the end of "
                                          "the loop body")
        return self._stmt(node)

    # -- nested functions as values ----------------------------------------------
    def bind_local_function(self, node) -> list | None:
        """`h = g` (g a nested function) and `g = make(c)` (make a closure factory: a user
        function returning one of its nested functions) bind `h`/`g` to a nested function
        whose calls are expanded in place like any nested def; returns the statements
        that replace `node`, or None when `node` binds no function. Any other assignment
        to a nested function's name makes it a plain variable again."""
        if not isinstance(node, gast.Assign):
            return None
        if len(node.targets) != 1 or not isinstance(node.targets[0], gast.Name):
            return None
        target, value = node.targets[0].id, node.value
        if isinstance(value, gast.Name) and value.id in self.local_functions:
            self.local_functions[target] = self.local_functions[value.id]
            return []
        if self.factory(value) is not None:
            stmts, fn = self.expand_factory(value)
            self.local_functions[target] = fn
            return stmts
        self.local_functions.pop(target, None)
        self.branch_functions.pop(target, None)
        return None

    def check_function_values(self, node) -> None:
        """Refuse a nested function used as a value (passed, returned, stored): its calls
        are expanded in place, so no function object exists at run time to pass."""
        exprs = [getattr(node, f, None) for f in ("value", "test", "iter")]
        for expr in exprs:
            if expr is None:
                continue
            called = {id(n.func) for n in _walk_scope(expr) if isinstance(n, gast.Call)}
            for sub in _walk_scope(expr):
                if isinstance(sub, gast.Name) and id(sub) not in called and \
                        isinstance(sub.ctx, gast.Load) and (
                            sub.id in self.local_functions or sub.id in self.branch_functions):
                    raise self.parsed.unsupported(
                        sub, f"using the nested function '{sub.id}' as a value",
                        "call it directly here (nested functions are expanded where they "
                        "are called), or define it at module level and pass that")
                if isinstance(sub, gast.Call) and self.factory(sub) is not None and \
                        not (isinstance(node, gast.Assign) and sub is expr):
                    if any(isinstance(c, gast.Call) and c.func is sub
                           for c in _walk_scope(expr)):
                        continue  # make(c)(x): expanded by hoisting
                    raise self.parsed.unsupported(
                        sub, "a closure factory's result used as a value",
                        "assign it to a variable and call that: g = make(c); y = g(x)")

    def factory(self, call):
        """The parsed source of the user function `call` calls, when that function is a
        closure factory: its body ends with `return inner` (inner one of its nested defs
        or lambdas) or `return lambda ...`. None otherwise."""
        if not isinstance(call, gast.Call) or not _dotted(call.func):
            return None
        head, *rest = _dotted(call.func).split(".")
        if head in self.locals or head in self.local_functions:
            return None
        func = self.parsed.namespace.get(head)
        for part in rest:
            func = getattr(func, part, None)
        if not is_user_function(func):
            return None
        if rest:
            self.parsed.paths.add(_dotted(call.func))
        if func not in self.factories:
            self.factories[func] = _parse_factory(func)
        found = self.factories[func]
        if found is not None:  # rebinding the factory, or its code, makes the code stale
            self.parsed.resolved.add(head)
            self.parsed.guards.append(FunctionGuard(func))
        return found

    def expand_factory(self, call):
        """`make(c)` -> the factory's parameters assigned (renamed apart), then its body:
        its nested defs become the caller's nested functions; returns (statements, the
        FunctionDef of the function it returns). Every node takes the call's location."""
        callee = self.factory(call)
        if callee.func in self.inlining:
            raise self.parsed.unsupported(call, f"recursive closure factory "
                                          f"'{callee.node.name}'", "write it without recursion")
        node = callee.node
        if node.args.vararg or node.args.kwarg or node.args.kwonlyargs:
            raise self.parsed.unsupported(call, f"a closure factory ('{node.name}') with "
                                          "*args, **kwargs or keyword-only parameters",
                                          "list its parameters by name")
        params = [a.id for a in node.args.posonlyargs + node.args.args]
        defaults = dict(zip(params[len(params) - len(node.args.defaults):], node.args.defaults))
        try:
            bound = inspect.Signature([inspect.Parameter(
                p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params]).bind(
                    *call.args, **{k.arg: k.value for k in call.keywords})
        except TypeError as exc:
            raise self.parsed.unsupported(call, f"this call of '{node.name}' ({exc})",
                                          "match the factory's parameters") from exc
        body = copy.deepcopy(node.body)
        ret = body.pop()
        if isinstance(ret.value, gast.Lambda):
            inner = self.namer.fresh("lambda_fn")
            body.append(_located(gast.Assign(targets=[_name(inner, gast.Store())],
                                             value=ret.value, type_comment=None), ret))
            ret.value = _name(inner)
        own = set(params) | {n.id for n in gast.walk(node) if isinstance(n, gast.Name) and
                             not isinstance(n.ctx, gast.Load)} | {
            n.name for n in gast.walk(node) if isinstance(n, gast.FunctionDef) and n is not node}
        own |= {n.id for s in body for n in gast.walk(s) if isinstance(n, gast.Name)
                and isinstance(n.ctx, gast.Store)}
        mapping = {name: self.namer.fresh(name) for name in sorted(own)}
        free = sorted({n.id for s in body for n in gast.walk(s) if isinstance(n, gast.Name)
                       and n.id not in own and n.id in callee.namespace} |
                      {d.id for d in defaults.values() if isinstance(d, gast.Name)})
        mapping.update(callee.adopt_into(self.parsed, free, self.locals, self.namer))
        self.locals |= set(mapping.values())
        stmts = []
        for p in params:
            value = bound.arguments.get(p)
            if value is None:
                value = _Relocate(mapping, call).visit(copy.deepcopy(defaults[p])) \
                    if p in defaults else None
            if value is None:
                raise self.parsed.unsupported(call, f"missing argument '{p}' of '{node.name}'",
                                              "pass every argument")
            stmts.append(_located(_assign(mapping[p], copy.deepcopy(value)), call))
        body = [_Relocate(mapping, call).visit(b) for b in body]
        self.inlining.append(callee.func)
        try:
            stmts += self.block(self.lift_loop_returns(body))
        finally:
            self.inlining.pop()
        returned = mapping.get(ret.value.id, ret.value.id)
        if returned not in self.local_functions:
            raise self.parsed.unsupported(call, f"the closure factory '{node.name}' "
                                          "(its result is not a nested function on every path)",
                                          "return the nested function at the end only")
        return stmts, self.local_functions[returned]

    def _stmt(self, node) -> list:
        kind = type(node)
        if kind in UNSUPPORTED:
            construct, hint = UNSUPPORTED[kind]
            raise self.parsed.unsupported(node, construct, hint)
        method = getattr(self, "stmt_" + kind.__name__, None)
        if method is None:
            raise self.parsed.unsupported(node, f"'{kind.__name__}' statement",
                                          "rewrite it with assignments, if, for or while")
        return method(node)

    def stmt_Pass(self, node):
        return []

    def stmt_With(self, node):
        """Only the gradient-surgery blocks: insert_grad_of(x) as dx, and checkpoint()."""
        from .. import surgery
        hint = ("only 'with tangent_src.insert_grad_of(x) as dx:' and "
                "'with tangent_src.checkpoint():' are supported; move this block out")
        if len(node.items) != 1 or not isinstance(node.items[0].context_expr, gast.Call):
            raise self.parsed.unsupported(node, "with", hint)
        item = node.items[0]
        call = item.context_expr
        kind = self._resolve_dotted(call.func)
        if kind is surgery.insert_grad_of:
            if len(call.args) != 1 or not isinstance(call.args[0], gast.Name) or \
                    not isinstance(item.optional_vars, gast.Name) or call.keywords:
                raise self.parsed.unsupported(node, "insert_grad_of without 'as'",
                                              "write: with insert_grad_of(x) as dx:")
            hook = gast.With(items=[], body=node.body, type_comment=None)
            hook.hook = (call.args[0].id, item.optional_vars.id)
            return [_located(hook, node)]
        if kind is surgery.checkpoint:
            every = call.args[0] if call.args else next(
                (k.value for k in call.keywords if k.arg == "every"), None)
            body = self.block(node.body)
            loops = [s for s in body if isinstance(s, gast.For)]
            if not loops:
                raise self.parsed.unsupported(node, "checkpoint() without a for-loop",
                                              "put a 'for i in range(n):' loop inside it")
            for loop in loops:
                loop.checkpoint = every if every is not None else _const(0)
            return body
        raise self.parsed.unsupported(node, "with", hint)

    def _resolve_dotted(self, func):
        name = _dotted(func)
        if not name:
            return None
        head, *rest = name.split(".")
        self.parsed.resolved.add(head)
        if rest:
            self.parsed.paths.add(name)
        obj = self.parsed.namespace.get(head)
        for part in rest:
            obj = getattr(obj, part, None)
        return obj

    def stmt_FunctionDef(self, node):
        """A nested def is not emitted: each call to it is expanded in place."""
        if node.decorator_list or node.args.vararg or node.args.kwarg or node.args.kwonlyargs:
            raise self.parsed.unsupported(node, "nested def with decorators, *args or "
                                          "keyword-only parameters",
                                          "define the helper function at module level")
        captured = []
        for k, default in enumerate(node.args.defaults):
            if isinstance(default, gast.Constant):
                continue
            # Python evaluates a default where the def runs, not where it is called
            name = self.namer.fresh(f"{node.name}_default")
            self.locals.add(name)
            captured += self.block([_located(_assign(name, default), default)])
            node.args.defaults[k] = _located(_name(name), default)
        self.local_functions[node.name] = node
        return captured

    def needs_hoisting(self, node) -> bool:
        """Whether a statement holds a nested-function call, a comprehension or a dict."""
        for sub in gast.walk(node):
            if isinstance(sub, (gast.ListComp, gast.GeneratorExp, gast.DictComp, gast.Dict)):
                return True
            if isinstance(sub, gast.Call) and self.is_local_call(sub):
                return True
        return False

    def is_local_call(self, call) -> bool:
        """A call expanded in place: of a nested function, or of a factory's result."""
        func = call.func
        if isinstance(func, gast.Name) and func.id in self.branch_functions and \
                func.id not in self.local_functions:
            raise self.parsed.unsupported(
                call, f"calling '{func.id}' after the if that defines it in a branch",
                "define the nested function before the if (or call it inside the branch)")
        return (isinstance(func, gast.Name) and func.id in self.local_functions) or \
            self.factory(func) is not None

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
            it = Rename().visit(copy.deepcopy(gen.iter))
            for target in gast.walk(gen.target):
                if isinstance(target, gast.Name):
                    mapping[target.id] = self.namer.fresh(target.id)
                    self.locals.add(mapping[target.id])
            target = Rename().visit(copy.deepcopy(gen.target))
            conds = [Rename().visit(copy.deepcopy(c)) for c in gen.ifs]
            loops.append((target, it, conds))
        if is_dict:
            from .. import runtime
            self.parsed.namespace.setdefault("set_at", runtime.set_at)
            key, value = (Rename().visit(copy.deepcopy(e)) for e in (node.key, node.value))
            inner = [_located(_assign(acc, gast.Call(func=_name("set_at"),
                                                     args=[_name(acc), key, value],
                                                     keywords=[])), node)]
            start = gast.Dict(keys=[], values=[])
        else:
            elt = Rename().visit(copy.deepcopy(node.elt))
            inner = [_located(gast.Expr(value=gast.Call(
                func=gast.Attribute(value=_name(acc), attr="append", ctx=gast.Load()),
                args=[elt], keywords=[])), node)]
            start = gast.List(elts=[], ctx=gast.Load())
        for target, it, conds in reversed(loops):
            for cond in reversed(conds):
                inner = [_located(gast.If(test=cond, body=inner, orelse=[]), node)]
            inner = [_located(gast.For(target=target, iter=it, body=inner, orelse=[],
                                       type_comment=None), node)]
        stmts = [_located(_assign(acc, start), node)] + inner
        return self.block(stmts), acc

    def expand_dict(self, node):
        """`{'W': W, 'b': b}` -> a dict built key by key (its adjoint is a dict too)."""
        from .. import runtime
        self.parsed.namespace.setdefault("set_at", runtime.set_at)
        acc = self.namer.fresh("mapping")
        self.locals.add(acc)
        stmts = [_located(_assign(acc, gast.Dict(keys=[], values=[])), node)]
        for key, value in zip(node.keys, node.values):
            if key is None:
                raise self.parsed.unsupported(node, "dict unpacking (**)", "list the keys")
            stmts.append(_located(_assign(acc, gast.Call(
                func=_name("set_at"), args=[_name(acc), key, value], keywords=[])), node))
        return self.block(stmts), acc

    def hoist_local_calls(self, expr):
        """Expand calls of nested functions in `expr` into statements placed before it."""
        pre = []
        lowerer = self

        class Hoist(gast.NodeTransformer):
            def visit_Lambda(self, node):
                raise lowerer.parsed.unsupported(node, "lambda outside an assignment",
                                                 "assign it to a name: f = lambda x: ...")

            def visit_Call(self, node):
                if lowerer.factory(node.func) is not None:  # make(c)(x)
                    stmts, fn = lowerer.expand_factory(node.func)
                    node.func = _located(_name(fn.name), node.func)
                    lowerer.local_functions[fn.name] = fn
                    pre.extend(stmts)
                node = self.generic_visit(node)
                if isinstance(node.func, gast.Name) and node.func.id in lowerer.local_functions:
                    stmts, result = lowerer.expand_local_call(node)
                    pre.extend(stmts)
                    return _name(result)
                return node

            def visit_ListComp(self, node):
                stmts, result = lowerer.expand_comprehension(node)
                pre.extend(stmts)
                return _name(result)

            visit_GeneratorExp = visit_ListComp
            visit_DictComp = visit_ListComp

            def visit_Dict(self, node):
                node = self.generic_visit(node)
                if not node.keys:
                    return node
                stmts, result = lowerer.expand_dict(node)
                pre.extend(stmts)
                return _name(result)

        for node in gast.walk(expr):
            if isinstance(node, (gast.IfExp, gast.BoolOp)) and any(
                    (isinstance(n, gast.Call) and self.is_local_call(n)) or
                    isinstance(n, (gast.ListComp, gast.GeneratorExp, gast.DictComp))
                    for n in gast.walk(node)):
                raise self.parsed.unsupported(
                    node, "a nested function called inside a conditional expression",
                    "call it in a separate statement")
        new = Hoist().visit(expr)
        return pre, new

    def expand_local_call(self, call):
        fn = self.local_functions[call.func.id]
        if fn.name in self.inlining:
            raise self.parsed.unsupported(call, f"recursive nested function '{fn.name}'",
                                          "write the recursion as a loop")
        params = [a.id for a in fn.args.posonlyargs + fn.args.args]
        defaults = dict(zip(params[len(params) - len(fn.args.defaults):], fn.args.defaults))
        import inspect
        signature = inspect.Signature([inspect.Parameter(
            p, inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in params])
        try:
            bound = signature.bind_partial(*call.args,
                                           **{k.arg: k.value for k in call.keywords})
        except TypeError as exc:
            raise self.parsed.unsupported(call, f"this call of '{fn.name}' ({exc})",
                                          "match the nested function's parameters") from exc
        own = set(params) | {n.id for stmt in fn.body for n in gast.walk(stmt)
                             if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        mapping = {name: self.namer.fresh(name) for name in sorted(own)}
        self.locals |= set(mapping.values())
        stmts = []
        for p in params:
            value = bound.arguments.get(p, defaults.get(p))
            if value is None:
                raise self.parsed.unsupported(call, f"missing argument '{p}' of '{fn.name}'",
                                              "pass every argument")
            stmts.append(_located(_assign(mapping[p], copy.deepcopy(value)), call))
        body = copy.deepcopy(fn.body)

        class Rename(gast.NodeTransformer):
            def visit_Name(self, node):
                node.id = mapping.get(node.id, node.id)
                return node

        body = [Rename().visit(b) for b in body]
        result = self.namer.fresh(f"{fn.name}_out")
        self.locals.add(result)
        self.inlining.append(fn.name)
        try:
            lowered = self.block(self.lift_loop_returns(body))
            lowered, always = self.returns(lowered, result)
        finally:
            self.inlining.pop()
        if not always:
            raise self.parsed.unsupported(fn, f"a path through '{fn.name}' without return",
                                          "return a value on every path")
        return stmts + lowered, result

    def stmt_Break(self, node):
        return [node]  # lowered with the enclosing loop

    def stmt_Continue(self, node):
        return [node]

    def stmt_Expr(self, node):
        if isinstance(node.value, gast.Constant) and isinstance(node.value.value, str):
            return []  # docstring
        if is_list_method(node.value, "append"):
            node.value = self.check_expr(node.value)
            return [node]
        raise self.parsed.unsupported(
            node, "expression statement",
            "a call whose result is unused has no effect on the gradient; remove it or assign it")

    def stmt_Assign(self, node):
        if isinstance(node.value, gast.Lambda) and len(node.targets) == 1 and \
                isinstance(node.targets[0], gast.Name):
            lam = node.value
            fn = gast.FunctionDef(name=node.targets[0].id, args=lam.args,
                                  body=[_located(gast.Return(value=lam.body), lam)],
                                  decorator_list=[], returns=None, type_comment=None,
                                  type_params=[])
            return self.stmt_FunctionDef(_located(fn, node))
        node.value = self.check_expr(node.value)
        if len(node.targets) > 1:  # a = b = value
            first, *rest = node.targets
            out = self.stmt_Assign(_located(gast.Assign(targets=[first], value=node.value,
                                                        type_comment=None), node))
            source = first
            for target in rest:
                out += self.stmt_Assign(_located(gast.Assign(
                    targets=[target], value=_to_load(source), type_comment=None), node))
            return out
        return self.assign(node.targets[0], node.value, node)

    def stmt_AnnAssign(self, node):
        if node.value is None:
            return []
        node.value = self.check_expr(node.value)
        return self.assign(node.target, node.value, node)

    def stmt_AugAssign(self, node):
        node.value = self.check_expr(node.value)
        current = _to_load(node.target)
        value = gast.BinOp(left=current, op=node.op, right=node.value)
        return self.assign(node.target, _located(value, node), node)

    def assign(self, target, value, node) -> list:
        if isinstance(target, gast.Name):
            return [_located(_assign(target.id, value), node)]
        if isinstance(target, (gast.Tuple, gast.List)):
            return self.unpack(target, value, node)
        if isinstance(target, gast.Subscript):
            return self.write(target, value, node)
        if isinstance(target, gast.Attribute):
            raise self.parsed.unsupported(target, "assignment to an attribute",
                                          "use a local variable")
        raise self.parsed.unsupported(target, f"assignment to {type(target).__name__}",
                                      "assign to a plain name")

    def write(self, target, value, node) -> list:
        """`w[i] = v` -> `w = set_at(w, i, v)`: each write makes a new version of the
        array, so earlier versions stay intact for the backward pass (it costs a copy)."""
        if not isinstance(target.value, gast.Name):
            raise self.parsed.unsupported(target, "assignment into a nested element",
                                          "assign to a local array: a[i, j] = v")
        from .. import runtime
        self.parsed.namespace.setdefault("set_at", runtime.set_at)
        if self.parsed.namespace["set_at"] is not runtime.set_at:
            raise self.parsed.unsupported(target, "array writes in a module that defines "
                                          "'set_at'", "rename your 'set_at'")
        call = gast.Call(func=_name("set_at"),
                         args=[_name(target.value.id), _index_value(target.slice), value],
                         keywords=[])
        return [_located(_assign(target.value.id, _located(call, node)), node)]

    def unpack(self, target, value, node) -> list:
        elts = target.elts
        if any(isinstance(e, gast.Starred) for e in elts):
            raise self.parsed.unsupported(target, "starred assignment",
                                          "unpack a fixed number of names")
        if isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(elts):
            # Parallel assignment: evaluate every value before binding any name.
            temps, out = [], []
            for elt, val in zip(elts, value.elts):
                base = elt.id if isinstance(elt, gast.Name) else "t"
                tmp = self.namer.fresh(base + "_new")
                temps.append(tmp)
                out.append(_located(_assign(tmp, val), node))
            for elt, tmp in zip(elts, temps):
                out += self.assign(elt, _name(tmp), node)
            return out
        base = "_".join(e.id for e in elts if isinstance(e, gast.Name)) or "packed"
        packed = self.namer.fresh(base)
        out = [_located(_assign(packed, value), node)]
        for k, elt in enumerate(elts):
            item = gast.Subscript(value=_name(packed), slice=_const(k), ctx=gast.Load())
            out += self.assign(elt, _located(item, node), node)
        return out

    def stmt_Return(self, node):
        if node.value is None:
            raise self.parsed.unsupported(node, "return without a value",
                                          "return the value to differentiate")
        node.value = self.check_expr(node.value)
        return [node]

    def stmt_If(self, node):
        node.test = self.check_expr(node.test)
        before = dict(self.local_functions)
        node.body = self.block(node.body)
        after_body, self.local_functions = self.local_functions, dict(before)
        node.orelse = self.block(node.orelse)
        self.local_functions = self.merge_branches(node, before, after_body,
                                                   self.local_functions)
        return [node]

    def merge_branches(self, node, before: dict, body: dict, orelse: dict) -> dict:
        """The nested functions visible after an if: those both branches leave as they were.
        One (re)defined in a branch depends on the branch taken, which lowering (that
        expands each call in place) cannot know: calling it after the if is refused."""
        merged = {}
        for name in set(before) | set(body) | set(orelse):
            if before.get(name) is body.get(name) is orelse.get(name):
                merged[name] = before[name]
            else:
                self.branch_functions[name] = node
        for name in merged:
            self.branch_functions.pop(name, None)
        return merged

    def stmt_While(self, node):
        if node.orelse:
            raise self.parsed.unsupported(node, "while ... else",
                                          "move the else-branch after the loop")
        node.test = self.check_expr(node.test)
        body = self.block(node.body)
        return self.loop_exits(node, node.test, body, prologue=[], step=[])

    def stmt_For(self, node):
        if node.orelse:
            raise self.parsed.unsupported(node, "for ... else",
                                          "move the else-branch after the loop")
        self.dict_iteration(node)
        node.iter = self.check_expr(node.iter)
        pre, target, iter_call, body_head = self.for_header(node)
        body = body_head + self.block(node.body)
        if not _contains(body, gast.Break, stop=(gast.For, gast.While)):
            if _contains(body, gast.Continue, stop=(gast.For, gast.While)):
                body = self.guard_exits(body, None, self.namer.fresh("skip"))
            loop = gast.For(target=_name(target, gast.Store()), iter=iter_call, body=body,
                            orelse=[], type_comment=None)
            return pre + [_located(loop, node)]
        # A for-loop with break becomes a counted while-loop.
        args = iter_call.args
        start, stop = (args[0], args[1]) if len(args) > 1 else (_const(0), args[0])
        step = args[2] if len(args) > 2 else _const(1)
        if not (isinstance(step, gast.Constant) and isinstance(step.value, int)) and not (
                isinstance(step, gast.UnaryOp) and isinstance(step.operand, gast.Constant)):
            raise self.parsed.unsupported(node, "break in a for-loop with a computed step",
                                          "use a constant step or a while-loop")
        negative = isinstance(step, gast.UnaryOp) or step.value < 0
        stop_name = self.namer.fresh("stop")
        cmp = gast.Gt() if negative else gast.Lt()
        test = gast.Compare(left=_name(target), ops=[cmp], comparators=[_name(stop_name)])
        prologue = [_located(_assign(stop_name, stop), node),
                    _located(_assign(target, start), node)]
        increment = [_located(_assign(target, gast.BinOp(left=_name(target), op=gast.Add(),
                                                        right=copy.deepcopy(step))), node)]
        return pre + self.loop_exits(node, _located(test, node), body, prologue, increment)

    def dict_iteration(self, node) -> None:
        """`for k, v in d.items()` / `d.values()` / `d.keys()` -> a loop over the keys, the
        value read as `d[k]` at the top of the body; `for k in d` for a dict parameter too."""
        it = node.iter
        if isinstance(it, gast.Name) and it.id in self.dicts:
            from .. import runtime
            self.parsed.namespace.setdefault("dict_keys", runtime.dict_keys)
            node.iter = _located(gast.Call(func=_name("dict_keys"), args=[it], keywords=[]), it)
            return
        if not (isinstance(it, gast.Call) and isinstance(it.func, gast.Attribute) and
                it.func.attr in ("items", "values", "keys") and not it.args and
                isinstance(it.func.value, gast.Name) and it.func.value.id in self.locals):
            return
        from .. import runtime
        self.parsed.namespace.setdefault("dict_keys", runtime.dict_keys)
        mapping = it.func.value
        keys = gast.Call(func=_name("dict_keys"), args=[mapping], keywords=[])
        kind, target = it.func.attr, node.target
        if kind == "keys":
            node.iter = _located(keys, it)
            return
        if kind == "items":
            if not (isinstance(target, gast.Tuple) and len(target.elts) == 2 and
                    isinstance(target.elts[0], gast.Name)):
                raise self.parsed.unsupported(target, "this target for .items()",
                                              "write: for key, value in d.items():")
            key, value_target = target.elts
        else:
            key, value_target = _name(self.namer.fresh("key"), gast.Store()), target
            self.locals.add(key.id)
        read = gast.Subscript(value=_name(mapping.id), slice=_name(key.id), ctx=gast.Load())
        head = gast.Assign(targets=[value_target], value=read, type_comment=None)
        node.target = _name(key.id, gast.Store())
        node.iter = _located(keys, it)
        node.body = [_located(head, node)] + node.body

    def for_header(self, node):
        """(statements before the loop, index name, range call, statements opening the body)."""
        it = node.iter
        tgt = node.target
        if _is_call_to(it, "reversed") and len(it.args) == 1 and _is_call_to(it.args[0], "range"):
            it = node.iter = _located(_reversed_range_call(it.args[0]), it)
        if _is_call_to(it, "range"):
            if not isinstance(tgt, gast.Name):
                raise self.parsed.unsupported(tgt, "unpacking a range index", "use one name")
            if it.keywords or not 1 <= len(it.args) <= 3:
                raise self.parsed.unsupported(it, "range() with these arguments",
                                              "call range(stop), range(start, stop[, step])")
            return [], tgt.id, it, []
        if _is_call_to(it, "enumerate") and 1 <= len(it.args) <= 2 and \
                isinstance(tgt, gast.Tuple) and len(tgt.elts) == 2 and \
                isinstance(tgt.elts[0], gast.Name):
            pre, seq = self.sequence(it.args[0], node)
            start = it.args[1] if len(it.args) > 1 else next(
                (k.value for k in it.keywords if k.arg == "start"), None)
            if start is None:
                index = tgt.elts[0].id
                head = []
            else:  # enumerate(xs, start=k): the count is the position plus k
                index = self.namer.fresh("i_" + tgt.elts[0].id)
                self.locals.add(index)
                head = [_located(_assign(tgt.elts[0].id, gast.BinOp(
                    left=_name(index), op=gast.Add(), right=start)), node)]
            head += self.assign(tgt.elts[1], _item(seq, index), node)
            return pre, index, _range_len(seq), head
        if _is_call_to(it, "zip") and isinstance(tgt, gast.Tuple) and \
                len(tgt.elts) == len(it.args) and not it.keywords:
            pre, seqs = [], []
            for arg in it.args:
                p, seq = self.sequence(arg, node)
                pre += p
                seqs.append(seq)
            index = self.namer.fresh("i")
            head = []
            for elt, seq in zip(tgt.elts, seqs):
                head += self.assign(elt, _item(seq, index), node)
            length = gast.Call(func=_name("min"), args=[_len(s) for s in seqs], keywords=[]) \
                if len(seqs) > 1 else _len(seqs[0])
            rng = gast.Call(func=_name("range"), args=[length], keywords=[])
            return pre, index, _located(rng, node), head
        if isinstance(it, gast.Call) and not _is_call_to(it, "dict_keys"):
            name = _dotted(it.func) or "this call"
            head, dot, rest = name.partition(".")
            name = self.parsed.renamed.get(head, head) + dot + rest  # the user's spelling
            raise self.parsed.unsupported(it, f"iterating over {name}(...)",
                                          "loop over range(...), an array, enumerate or zip")
        pre, seq = self.sequence(it, node)
        base = tgt.id if isinstance(tgt, gast.Name) else "item"
        index = self.namer.fresh("i_" + base)
        head = self.assign(tgt, _item(seq, index), node)
        return pre, index, _located(_range_len(seq), node), head

    def sequence(self, expr, node):
        """Name the iterated value so it is evaluated once."""
        if isinstance(expr, gast.Name):
            return [], expr.id
        seq = self.namer.fresh("seq")
        return [_located(_assign(seq, expr), node)], seq

    def loop_exits(self, node, test, body, prologue, step):
        """Lower break/continue in a while-loop body to flags; returns the new statements."""
        has_break = _contains(body, gast.Break, stop=(gast.For, gast.While))
        has_continue = _contains(body, gast.Continue, stop=(gast.For, gast.While))
        stop_flag = self.namer.fresh("stop_loop") if has_break else None
        skip_flag = self.namer.fresh("skip") if has_continue else None
        if has_break or has_continue:
            body = self.guard_exits(body, stop_flag, skip_flag)
        body = body + step
        if stop_flag:
            prologue = prologue + [_located(_assign(stop_flag, _const(False)), node)]
            test = gast.BoolOp(op=gast.And(), values=[_not(_name(stop_flag)), test])
        loop = gast.While(test=_located(test, node), body=body, orelse=[])
        return prologue + [_located(loop, node)]

    def guard_exits(self, stmts, stop_flag, skip_flag) -> list:
        """Replace break/continue by flag writes and guard what follows them."""
        out = []
        if skip_flag is not None and stmts is not None:
            out.append(_located(_assign(skip_flag, _const(False)), stmts[0]) if stmts else None)
            out = [s for s in out if s is not None]
        out += self._guard(stmts, stop_flag, skip_flag)
        return out

    def _guard(self, stmts, stop_flag, skip_flag) -> list:
        out = []
        for idx, stmt in enumerate(stmts):
            if isinstance(stmt, gast.Break):
                out.append(_located(_assign(stop_flag, _const(True)), stmt))
                return out
            if isinstance(stmt, gast.Continue):
                out.append(_located(_assign(skip_flag, _const(True)), stmt))
                return out
            exits = _contains([stmt], (gast.Break, gast.Continue), stop=(gast.For, gast.While))
            if isinstance(stmt, gast.If) and exits:
                stmt.body = self._guard(stmt.body, stop_flag, skip_flag)
                stmt.orelse = self._guard(stmt.orelse, stop_flag, skip_flag)
                out.append(stmt)
                rest = self._guard(stmts[idx + 1:], stop_flag, skip_flag)
                if rest:
                    flags = [_name(f) for f in (stop_flag, skip_flag) if f is not None]
                    cond = flags[0] if len(flags) == 1 else gast.BoolOp(op=gast.Or(), values=flags)
                    out.append(_located(gast.If(test=_not(cond), body=rest, orelse=[]), stmt))
                return out
            out.append(stmt)
        return out

    # -- returns ----------------------------------------------------------------
    def lift_loop_returns(self, stmts) -> list:
        """`return v` inside a loop -> `result_k = v; returned_k = True; break` (leaving each
        enclosing loop), then `if returned_k: return result_k` after the outermost loop.

        Each return site gets its own value and flag: one shared `result` would be assigned
        in one branch and copied in the others (`else: result2 = result`), a read of a name
        that is unbound until some iteration returns."""
        out = []
        for stmt in stmts:
            if isinstance(stmt, (gast.For, gast.While)) and _contains([stmt], gast.Return):
                sites: list = []
                endless = _endless(stmt)
                stmt.body = self._replace_returns(stmt.body, sites)
                out += [_located(_assign(flag, _const(False)), stmt) for flag, _, _ in sites]
                out.append(stmt)
                exits = [_located(gast.If(test=_name(flag), body=[_located(
                    gast.Return(value=_name(value)), ret)], orelse=[]), ret)
                    for flag, value, ret in sites]
                if endless:  # only a return leaves it: the last site needs no flag
                    exits[-1] = exits[-1].body[0]
                out += exits
            elif isinstance(stmt, gast.If):
                stmt.body = self.lift_loop_returns(stmt.body)
                stmt.orelse = self.lift_loop_returns(stmt.orelse)
                out.append(stmt)
            else:
                out.append(stmt)
        return out

    def _replace_returns(self, stmts, sites: list) -> list:
        """Replace the returns in a loop body, appending (flag, value, return) per site to
        `sites`; a nested loop that returns is followed by `if <any of its flags>: break`."""
        out = []
        for stmt in stmts:
            if isinstance(stmt, gast.Return):
                flag, value = self.namer.fresh("returned"), self.namer.fresh("result")
                self.locals.update((flag, value))
                sites.append((flag, value, stmt))
                out += [_located(_assign(value, stmt.value), stmt),
                        _located(_assign(flag, _const(True)), stmt), _located(gast.Break(), stmt)]
                return out
            if isinstance(stmt, gast.If):
                stmt.body = self._replace_returns(stmt.body, sites)
                stmt.orelse = self._replace_returns(stmt.orelse, sites)
            elif isinstance(stmt, (gast.For, gast.While)) and _contains([stmt], gast.Return):
                inner: list = []
                stmt.body = self._replace_returns(stmt.body, inner)
                sites += inner
                out.append(stmt)
                flags = [_name(flag) for flag, _, _ in inner]
                test = flags[0] if len(flags) == 1 else gast.BoolOp(op=gast.Or(), values=flags)
                stmt = _located(gast.If(test=test, body=[_located(gast.Break(), stmt)],
                                        orelse=[]), stmt)
            out.append(stmt)
        return out

    def returns(self, stmts, result: str):
        """Move every return to the end: returns (statements, whether every path returns)."""
        out = []
        for idx, stmt in enumerate(stmts):
            if isinstance(stmt, gast.Return):
                out.append(_located(_assign(result, stmt.value), stmt))
                return out, True
            if isinstance(stmt, (gast.For, gast.While)) and _contains(stmt.body, gast.Return):
                node = next(n for n in _walk_scope(stmt) if isinstance(n, gast.Return))
                raise self.parsed.unsupported(
                    node, "return inside a loop",
                    "store the result in a variable, break, and return after the loop")
            if isinstance(stmt, gast.If) and _contains([stmt], gast.Return):
                rest = stmts[idx + 1:]
                body, body_returns = self.returns(stmt.body + copy.deepcopy(rest), result)
                orelse, else_returns = self.returns(stmt.orelse + copy.deepcopy(rest), result)
                stmt.body, stmt.orelse = body, orelse
                out.append(stmt)
                return out, body_returns and else_returns
            out.append(stmt)
        return out, False


# NumPy's class of np.r_ and np.c_ (named here by its instance: its module moved in NumPy 2)
_AXIS_CONCATENATOR = type(numpy.r_).__mro__[1]

# array method -> how to call the NumPy function: (function, how the arguments pack)
ARRAY_METHODS = {
    "sum": ("sum", "same"), "mean": ("mean", "same"), "max": ("max", "same"),
    "min": ("min", "same"), "prod": ("prod", "same"), "std": ("std", "same"),
    "var": ("var", "same"), "cumsum": ("cumsum", "same"), "cumprod": ("cumprod", "same"),
    "all": ("all", "same"), "any": ("any", "same"), "argmax": ("argmax", "same"),
    "argmin": ("argmin", "same"), "ptp": ("ptp", "same"), "clip": ("clip", "same"),
    "dot": ("dot", "same"), "squeeze": ("squeeze", "same"), "round": ("round", "same"),
    "reshape": ("reshape", "shape"), "transpose": ("transpose", "shape"),
    "ravel": ("ravel", "flat"), "flatten": ("ravel", "flat"),
    "trace": ("trace", "same"), "diagonal": ("diagonal", "same"), "repeat": ("repeat", "same"),
    "take": ("take", "same"), "swapaxes": ("swapaxes", "same"), "conj": ("conjugate", "same"),
    "conjugate": ("conjugate", "same"), "nonzero": ("nonzero", "same"),
    "argsort": ("argsort", "same"),
}


class _Methods(gast.NodeTransformer):
    """`x.sum(axis=0)` -> `np.sum(x, axis=0)`, `x.reshape(2, 3)` -> `np.reshape(x, (2, 3))`,
    `x.astype(float)` -> `1.0 * x`, `x.copy()` -> `x`: methods become the functions the
    rule tables know."""

    def __init__(self, lowerer):
        self.lowerer = lowerer

    def global_method(self, node):
        """`model.predict(x)` on a module-level object -> `Model_predict(model, x)`, so the
        method is differentiated like any user function (self.W reads the object)."""
        import inspect
        method = self.lowerer._resolve_dotted(node.func)
        if not (inspect.ismethod(method) and inspect.isfunction(method.__func__)):
            return node
        if is_library_object(method.__func__):  # a library method: needs a rule
            return node
        owner = type(method.__self__).__name__
        alias = f"{owner}_{method.__func__.__name__}"
        namespace = self.lowerer.parsed.namespace
        if namespace.setdefault(alias, method.__func__) is not method.__func__:
            return node
        call = gast.Call(func=_name(alias), args=[node.func.value, *node.args],
                         keywords=node.keywords)
        return _located(call, node)

    def is_method(self, func) -> bool:
        if not isinstance(func, gast.Attribute):
            return False
        base = func.value
        while isinstance(base, gast.Attribute):
            base = base.value
        return not isinstance(base, gast.Name) or base.id in self.lowerer.locals

    def bind(self, alias: str, value, node):
        namespace = self.lowerer.parsed.namespace
        if namespace.setdefault(alias, value) is not value:
            raise self.lowerer.parsed.unsupported(node, f"a call that needs the name '{alias}'",
                                                  f"rename the module's '{alias}'")
        self.lowerer.namer.reserve(alias)  # no temporary may shadow it
        return _name(alias)

    def bind_function(self, target, node):
        """A name for a function passed as an argument (or a parameter's default): its own
        name unless a local variable or another global already has that name."""
        base = re.sub(r"\W", "_", getattr(target, "__name__", "") or "fn").strip("_") or "fn"
        if base in self.lowerer.locals or \
                self.lowerer.parsed.namespace.get(base, target) is not target:
            base = self.lowerer.namer.fresh(base)
        return self.bind(base, target, node)

    def visit_Subscript(self, node):
        """`np.r_[a, 1:3, b]` / `np.c_[...]` -> `index_concat(np.r_, (a, slice(1, 3), b))`:
        a call with rules, not a subscript of an object the transforms know nothing of."""
        node = self.generic_visit(node)
        if not isinstance(node.value, (gast.Name, gast.Attribute)) or \
                self.is_method(node.value) or (isinstance(node.value, gast.Name) and
                                               node.value.id in self.lowerer.locals):
            return node
        maker = self.lowerer._resolve_dotted(node.value)
        if not isinstance(maker, _AXIS_CONCATENATOR):
            return node
        items = _index_value(node.slice)
        if not isinstance(items, gast.Tuple):
            items = gast.Tuple(elts=[items], ctx=gast.Load())
        for item in items.elts:
            if isinstance(item, gast.Constant) and item.value in ("r", "c"):
                raise self.lowerer.parsed.unsupported(
                    item, f"'{item.value}' in {_dotted(node.value)}[...] (it builds np.matrix)",
                    "use a directive such as '0,2' or '-1,2,0', which builds an ndarray")
        from .. import runtime
        func = self.bind("index_concat", runtime.index_concat, node)
        return _located(gast.Call(func=func, args=[node.value, items], keywords=[]), node)

    def visit_Attribute(self, node):
        """`x.real` of a local value -> `np.real(x)` (np.real(obj) is obj.real for any obj),
        so the attribute goes through a rule like every other operation."""
        node = self.generic_visit(node)
        if node.attr != "real" or not isinstance(node.ctx, gast.Load) or \
                not self.is_method(node):
            return node
        np_name = self.lowerer.numpy_name()
        call = gast.Call(func=gast.Attribute(value=_name(np_name), attr="real",
                                             ctx=gast.Load()), args=[node.value], keywords=[])
        return _located(call, node)

    def visit_Call(self, node):
        node = self.generic_visit(node)
        func = node.func
        if isinstance(func, gast.Name) and func.id in self.lowerer.functions:
            target = self.lowerer.functions[func.id]  # a function passed as an argument
            call = gast.Call(func=self.bind_function(target, node), args=node.args,
                             keywords=node.keywords)
            return _located(call, node)
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and \
                func.value.id in self.lowerer.objects:
            import inspect
            cls = self.lowerer.objects[func.value.id]
            method = inspect.getattr_static(cls, func.attr, None)
            if inspect.isfunction(method):  # model.predict(x) -> Model_predict(model, x)
                alias = self.bind(f"{cls.__name__}_{func.attr}", method, node)
                # `Model.predict = ...` later makes the generated code stale
                self.lowerer.parsed.guards.append(Guard(AttrRef(cls, func.attr), method))
                call = gast.Call(func=alias, args=[func.value, *node.args],
                                 keywords=node.keywords)
                return _located(call, node)
        if isinstance(func, gast.Attribute) and not self.is_method(func):
            return self.global_method(node)
        if not self.is_method(func) or (isinstance(func.value, gast.Name) and func.attr in (
                "append", "pop")):
            return node
        obj, method = func.value, func.attr
        np_name = None
        if method == "copy" and not node.args:
            return obj
        if method == "astype" and len(node.args) == 1 and _dotted(node.args[0]) in (
                "float", "np.float64", "numpy.float64"):
            return gast.BinOp(left=_const(1.0), op=gast.Mult(), right=obj)
        if method not in ARRAY_METHODS:
            raise self.lowerer.parsed.unsupported(
                node, f"method call '.{method}()' on a local value",
                f"for an array call the NumPy function (np.{method}(x, ...)); for an object "
                f"call the class's function with it: ClassName.{method}(obj, ...)")
        np_name = self.lowerer.numpy_name()
        target, packing = ARRAY_METHODS[method]
        args = list(node.args)
        if packing == "shape" and len(args) > 1:
            args = [gast.Tuple(elts=args, ctx=gast.Load())]
        elif packing == "flat":
            target, args = "reshape", [gast.Tuple(elts=[_const(-1)], ctx=gast.Load())]
        call = gast.Call(func=gast.Attribute(value=_name(np_name), attr=target,
                                             ctx=gast.Load()),
                         args=[obj, *args], keywords=node.keywords)
        return _located(call, node)


class _Relocate(gast.NodeTransformer):
    """Rename names by `mapping` (also nested defs' names) and move every node to the
    location of `where` (a factory's body, expanded at its call)."""

    def __init__(self, mapping: dict, where):
        self.mapping, self.where = mapping, where

    def generic_visit(self, node):
        if hasattr(node, "lineno"):
            node.lineno = self.where.lineno
            node.col_offset = getattr(self.where, "col_offset", 0)
        if isinstance(node, gast.FunctionDef):
            node.name = self.mapping.get(node.name, node.name)
        return super().generic_visit(node)

    def visit_Name(self, node):
        node.id = self.mapping.get(node.id, node.id)
        return self.generic_visit(node)


def _parse_factory(func):
    """`func`'s parsed source when its body ends by returning a nested function of its
    own (`def inner...; return inner`, `inner = lambda ...; return inner`, or
    `return lambda ...`); else None."""
    from ..errors import TangentError
    try:
        parsed = parse_function(func)
    except TangentError:
        return None  # not expanded; the call is differentiated (or refused) as usual
    body = parsed.node.body
    last = body[-1] if body else None
    if not isinstance(last, gast.Return) or last.value is None:
        return None
    if isinstance(last.value, gast.Lambda):
        return parsed
    if not isinstance(last.value, gast.Name):
        return None
    name = last.value.id
    for stmt in body:
        if isinstance(stmt, gast.FunctionDef) and stmt.name == name:
            return parsed
        if isinstance(stmt, gast.Assign) and isinstance(stmt.value, gast.Lambda) and \
                [t.id for t in stmt.targets if isinstance(t, gast.Name)] == [name]:
            return parsed
    return None


def _endless(loop) -> bool:
    """`while True:` with no break of its own: only a return leaves it."""
    return isinstance(loop, gast.While) and isinstance(loop.test, gast.Constant) and \
        bool(loop.test.value) and not _contains(loop.body, gast.Break, stop=(gast.For, gast.While))


def _reversed_range_call(rng):
    """reversed(range(...)) as a range: from the last element back to the first."""
    args = rng.args
    if len(args) == 1:
        return gast.Call(func=_name("range"), args=[
            gast.BinOp(left=copy.deepcopy(args[0]), op=gast.Sub(), right=_const(1)),
            _const(-1), _const(-1)], keywords=[])
    start, stop = args[0], args[1]
    step = args[2] if len(args) > 2 else _const(1)
    step_value = step.value if isinstance(step, gast.Constant) else (
        -step.operand.value if isinstance(step, gast.UnaryOp) and
        isinstance(step.operand, gast.Constant) else None)
    if step_value == 1:
        return gast.Call(func=_name("range"), args=[
            gast.BinOp(left=copy.deepcopy(stop), op=gast.Sub(), right=_const(1)),
            gast.BinOp(left=copy.deepcopy(start), op=gast.Sub(), right=_const(1)),
            _const(-1)], keywords=[])
    if step_value == -1:
        return gast.Call(func=_name("range"), args=[
            gast.BinOp(left=copy.deepcopy(stop), op=gast.Add(), right=_const(1)),
            gast.BinOp(left=copy.deepcopy(start), op=gast.Add(), right=_const(1))],
            keywords=[])
    count = gast.Call(func=_name("len"), args=[copy.deepcopy(rng)], keywords=[])
    last = gast.BinOp(left=copy.deepcopy(start), op=gast.Add(), right=gast.BinOp(
        left=gast.BinOp(left=count, op=gast.Sub(), right=_const(1)), op=gast.Mult(),
        right=copy.deepcopy(step)))
    end = gast.BinOp(left=copy.deepcopy(start), op=gast.Sub(), right=copy.deepcopy(step))
    return gast.Call(func=_name("range"), args=[last, end, gast.UnaryOp(
        op=gast.USub(), operand=copy.deepcopy(step))], keywords=[])


def _index_value(index):
    """An index as a value: `1:3` -> `slice(1, 3)`, `i, :` -> `(i, slice(None))`."""
    if isinstance(index, gast.Slice):
        parts = [index.lower or _const(None), index.upper or _const(None)]
        if index.step is not None:
            parts.append(index.step)
        return gast.Call(func=_name("slice"), args=parts, keywords=[])
    if isinstance(index, gast.Tuple):
        return gast.Tuple(elts=[_index_value(e) for e in index.elts], ctx=gast.Load())
    return copy.deepcopy(index)


def is_list_method(expr, method: str) -> bool:
    """`name.append(x)` / `name.pop()` on a local list (the tapes of generated code)."""
    return isinstance(expr, gast.Call) and isinstance(expr.func, gast.Attribute) and \
        expr.func.attr == method and isinstance(expr.func.value, gast.Name) and \
        len(expr.args) == (1 if method == "append" else 0) and not expr.keywords


def _to_load(target):
    node = copy.deepcopy(target)
    for sub in gast.walk(node):
        if hasattr(sub, "ctx"):
            sub.ctx = gast.Load()
    return node


def _is_dotted_name(node) -> bool:
    while isinstance(node, gast.Attribute):
        node = node.value
    return isinstance(node, gast.Name)


def _dotted(node) -> str | None:
    parts = []
    while isinstance(node, gast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, gast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _is_call_to(node, name: str) -> bool:
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
        node.func.id == name


def _len(seq: str):
    return gast.Call(func=_name("len"), args=[_name(seq)], keywords=[])


def _range_len(seq: str):
    return gast.Call(func=_name("range"), args=[_len(seq)], keywords=[])


def _item(seq: str, index: str):
    return gast.Subscript(value=_name(seq), slice=_name(index), ctx=gast.Load())


def lower(parsed: ParsedFunction, namer: Namer, dicts=frozenset()) -> gast.FunctionDef:
    """Return a copy of the user's function in core statement forms (expressions still nested)."""
    node = copy.deepcopy(parsed.node)
    args = node.args
    if args.vararg is not None or args.kwarg is not None:
        bad = args.vararg or args.kwarg
        raise parsed.unsupported(bad, "*args/**kwargs parameters", "list the parameters by name")
    if node.decorator_list:
        node.decorator_list = []
    lowerer = Lowerer(parsed, namer)
    for param, cls in dicts:
        if cls == "dict":
            lowerer.dicts.add(param)
        elif cls[0] == "object":
            lowerer.objects[param] = cls[1]
        else:
            lowerer.functions[param] = cls[1]
    body = lowerer.block(lowerer.lift_loop_returns(node.body))
    returns = [n for n in gast.walk(gast.Module(body=body, type_ignores=[]))
               if isinstance(n, gast.Return)]
    if not returns:
        raise parsed.unsupported(node, "function without a return value",
                                 "return the value to differentiate")
    if len(returns) == 1 and body and body[-1] is returns[0]:
        node.body = body
        return node
    result = namer.fresh("out")
    body, always = lowerer.returns(body, result)
    if not always:
        raise parsed.unsupported(node, "a path that ends without return",
                                 "return a value on every path")
    node.body = body + [_located(gast.Return(value=_name(result)), returns[-1])]
    return node
