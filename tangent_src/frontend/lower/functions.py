"""Lowering of local functions: nested defs, lambdas bound to names and closure factories
(user functions returning one of their nested functions) are expanded where they are
called, their names renamed apart; using one as a value is refused.

Before:  `def sq(v): return v * v` ... `y = sq(x) + 1`
After:   `v = x; sq_out = v * v; y = sq_out + 1`
"""
from __future__ import annotations

import inspect

import gast

from ...core import build
from ...core.walk import clone, walk
from ...errors import TangentError
from ..bindings import FunctionGuard
from ..source import is_user_function, parse_function
from .common import located, walk_scope
from .variadic import rebound_names


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


def _signature(args) -> tuple:
    """(the inspect.Signature of a nested def's parameters, name -> its default's AST)."""
    kind = inspect.Parameter
    positional = [a.id for a in args.posonlyargs + args.args]
    defaults = dict(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    defaults.update({a.id: d for a, d in zip(args.kwonlyargs, args.kw_defaults)
                     if d is not None})
    params = [kind(p, kind.POSITIONAL_OR_KEYWORD) for p in positional]
    if args.vararg is not None:
        params.append(kind(args.vararg.id, kind.VAR_POSITIONAL))
    params += [kind(a.id, kind.KEYWORD_ONLY) for a in args.kwonlyargs]
    if args.kwarg is not None:
        params.append(kind(args.kwarg.id, kind.VAR_KEYWORD))
    return inspect.Signature(params), defaults


def _packed(param, arguments: dict):
    """The tuple display a *args parameter takes at a call (the dict display of a
    **kwargs one); None for any other parameter."""
    if param.kind is inspect.Parameter.VAR_POSITIONAL:
        return gast.Tuple(elts=list(arguments.get(param.name, ())), ctx=gast.Load())
    if param.kind is inspect.Parameter.VAR_KEYWORD:
        given = arguments.get(param.name, {})
        return gast.Dict(keys=[build.const(k) for k in given], values=list(given.values()))
    return None


class FunctionLowering:
    """Lowerer's part for local functions (see the module docstring)."""

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
            called = {id(n.func) for n in walk_scope(expr) if isinstance(n, gast.Call)} | {
                id(a) for n in walk_scope(expr) if self.passes_function(n)
                for a in n.args + [k.value for k in n.keywords]}
            for sub in walk_scope(expr):
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
                           for c in walk_scope(expr)):
                        continue  # make(c)(x): expanded by hoisting
                    raise self.parsed.unsupported(
                        sub, "a closure factory's result used as a value",
                        "assign it to a variable and call that: g = make(c); y = g(x)")

    def factory(self, call):
        """The parsed source of the user function `call` calls, when that function is a
        closure factory: its body ends with `return inner` (inner one of its nested defs
        or lambdas) or `return lambda ...`. None otherwise."""
        if not isinstance(call, gast.Call) or not build.dotted(call.func):
            return None
        head, *rest = build.dotted(call.func).split(".")
        if head in self.locals or head in self.local_functions:
            return None
        func = self.parsed.namespace.get(head)
        for part in rest:
            func = getattr(func, part, None)
        if not is_user_function(func):
            return None
        if rest:
            self.parsed.paths.add(build.dotted(call.func))
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
        body = clone(node.body)
        ret = body.pop()
        if isinstance(ret.value, gast.Lambda):
            inner = self.namer.fresh("lambda_fn")
            body.append(located(gast.Assign(targets=[build.name(inner, gast.Store())],
                                             value=ret.value, type_comment=None), ret))
            ret.value = build.name(inner)
        own = set(params) | {n.id for n in walk(node) if isinstance(n, gast.Name) and
                             not isinstance(n.ctx, gast.Load)} | {
            n.name for n in walk(node) if isinstance(n, gast.FunctionDef) and n is not node}
        own |= {n.id for s in body for n in walk(s) if isinstance(n, gast.Name)
                and isinstance(n.ctx, gast.Store)}
        mapping = {name: self.namer.fresh(name) for name in sorted(own)}
        free = sorted({n.id for s in body for n in walk(s) if isinstance(n, gast.Name)
                       and n.id not in own and n.id in callee.namespace} |
                      {d.id for d in defaults.values() if isinstance(d, gast.Name)})
        mapping.update(callee.adopt_into(self.parsed, free, self.locals, self.namer))
        self.locals |= set(mapping.values())
        stmts = []
        rebound = rebound_names(node.body)
        for p in params:
            value = bound.arguments.get(p)
            if value is None:
                value = _Relocate(mapping, call).visit(clone(defaults[p])) \
                    if p in defaults else None
            if value is None:
                raise self.parsed.unsupported(call, f"missing argument '{p}' of '{node.name}'",
                                              "pass every argument")
            stmts += self.bind_parameter(mapping[p], value, p in rebound, call)
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

    def stmt_FunctionDef(self, node):
        """A nested def is not emitted: each call to it is expanded in place."""
        if node.decorator_list:
            raise self.parsed.unsupported(node, "nested def with decorators",
                                          "define the helper function at module level")
        captured = []
        for defaults in (node.args.defaults, node.args.kw_defaults):
            for k, default in enumerate(defaults):
                if default is None or isinstance(default, gast.Constant):
                    continue
                # Python evaluates a default where the def runs, not where it is called
                name = self.namer.fresh(f"{node.name}_default")
                self.locals.add(name)
                captured += self.block([located(build.assign(name, default), default)])
                defaults[k] = located(build.name(name), default)
        self.local_functions[node.name] = node
        return captured

    def is_local_call(self, call) -> bool:
        """A call expanded in place: of a nested function, or of a factory's result."""
        func = call.func
        if isinstance(func, gast.Name) and func.id in self.branch_functions and \
                func.id not in self.local_functions:
            raise self.parsed.unsupported(
                call, f"calling '{func.id}' after the if that defines it in a branch",
                "define the nested function before the if (or call it inside the branch)")
        return (isinstance(func, gast.Name) and func.id in self.local_functions) or \
            self.factory(func) is not None or self.passes_function(call) or \
            self.variadic_callee(call) is not None or self.recursive_callee(call) is not None

    def expand_local_call(self, call):
        fn = self.local_functions[call.func.id]
        if fn.name in self.inlining:
            raise self.parsed.unsupported(call, f"recursive nested function '{fn.name}'",
                                          "write the recursion as a loop")
        signature, defaults = _signature(fn.args)
        params = list(signature.parameters)
        try:
            bound = signature.bind_partial(*self.unstarred(call),
                                           **{k.arg: k.value for k in call.keywords})
        except TypeError as exc:
            raise self.parsed.unsupported(call, f"this call of '{fn.name}' ({exc})",
                                          "match the nested function's parameters") from exc
        own = set(params) | {n.id for stmt in fn.body for n in walk(stmt)
                             if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        mapping = {name: self.namer.fresh(name) for name in sorted(own)}
        self.locals |= set(mapping.values())
        stmts = []
        rebound = rebound_names(fn.body)
        for p in params:
            value = _packed(signature.parameters[p], bound.arguments)
            if value is not None and p not in rebound:
                self.known_packs(mapping[p], value)  # `def inner(*args)`: f(*args) in it
            if value is None:
                value = bound.arguments.get(p, defaults.get(p))
            if value is None:
                raise self.parsed.unsupported(call, f"missing argument '{p}' of '{fn.name}'",
                                              "pass every argument")
            if isinstance(value, gast.Name) and value.id in self.local_functions:
                # a nested function (a lambda) passed in: the parameter names it
                self.local_functions[mapping[p]] = self.local_functions[value.id]
                continue
            stmts += self.bind_parameter(mapping[p], value, p in rebound, call)
        body = clone(fn.body)

        class Rename(gast.NodeTransformer):
            def visit_Name(self, node):
                node.id = mapping.get(node.id, node.id)
                return node

        body = [Rename().visit(b) for b in body]
        self.record_lengths(stmts + body)  # `args = list(args)`; `fun(*args)`
        if not any(isinstance(n, gast.Return) for b in body for n in walk_scope(b)):
            # a procedure (`def log(v): print(v)`): Python returns None at its end
            body.append(located(gast.Return(value=build.const(None)), body[-1]))
        lowered, result = self.expand_body(body, fn.name, fn.name, fn)
        return stmts + lowered, result

    def bind_parameter(self, name: str, value, rebound: bool, call) -> list:
        """The statements binding parameter `name` of an expanded call to `value`: none
        for a function the source fixes (`make(np.tanh)`, `make(partial(f, k=2))`: the
        parameter becomes its alias, unless the body rebinds it), a lowered assignment
        for a dict display (`**kwargs`), else the plain assignment."""
        if not rebound:
            found = self.alias_of(name, value, call)
            if found is not None:
                return found
        stmt = located(build.assign(name, clone(value)), call)
        return self.block([stmt]) if isinstance(value, gast.Dict) else [stmt]

    def unstarred(self, call) -> list:
        """The positional arguments of `call`, a starred one of known length
        (`inner(*args)`, args a *args bound at the call) passed item by item."""
        out = []
        for arg in call.args:
            items = self.known_items(arg.value) if isinstance(arg, gast.Starred) else [arg]
            if items is None:
                raise self.parsed.unsupported(arg, "a starred argument of unknown length",
                                              "pass the arguments one by one")
            out += items
        return out

    def expand_body(self, body: list, name: str, key, where) -> tuple[list, str]:
        """A callee's body (its parameters already bound) lowered where it is called:
        (statements, the name that holds its result). `key` marks it as being expanded
        (recursion check); `where` locates the error for a path without a return."""
        result = self.namer.fresh(f"{name}_out")
        self.locals.add(result)
        self.inlining.append(key)
        try:
            lowered = self.block(self.lift_loop_returns(body))
            lowered, always = self.returns(lowered, result)
        finally:
            self.inlining.pop()
        if not always:
            raise self.parsed.unsupported(where, f"a path through '{name}' without return",
                                          "return a value on every path")
        return lowered, result
