"""Calls of module-level helpers with `*args` / `**kwargs` parameters: the helper's body is
expanded where it is called (its names renamed apart), `args` bound to a tuple of the
extra positional arguments and `kwargs` to a dict of the extra keywords, so the arity
of each call is fixed by its source.

Before:  `def total(*args): s = 0.0; for a in args: s = s + a; return s` ... `total(x, y)`
After:   `args = (x, y); s = 0.0; for a in args: ...; total_out = s`

A starred call `g(*f(x))` whose callee returns tuple (or list) displays of one length on
every path is given that length: the call is hoisted into a name before the statement
(Python evaluates it there too, once) and its items read by index.
Before:  `for m, s in zip(*unpack(params)):` with `def unpack(p): return p['m'], p['s']`
After:   `packed = unpack(params)`; `for m, s in zip(packed, ...)` -> `[(packed[0][0], ...`
"""
from __future__ import annotations

import inspect
import sys

import gast

from ...core import build
from ...core.libraries import root_module
from ...core.walk import clone, walk
from ...errors import TangentError
from ..bindings import CellRef, FunctionGuard, GlobalRef, LengthGuard
from ..source import is_user_function, parse_function
from .common import located
from .generators import own_nodes
from .lengths import fixed_lengths
from .recursion import substitute_integers


class VariadicCalls:
    """Lowerer's part for calls of helpers with *args/**kwargs (see the module docstring)."""

    def variadic_callee(self, call):
        """The parsed source of the user function `call` calls when it has a *args or
        **kwargs parameter; else None."""
        if not isinstance(call, gast.Call) or not isinstance(
                call.func, (gast.Name, gast.Attribute)) or not build.dotted(call.func):
            return None
        head = build.dotted(call.func).split(".")[0]
        if head in self.locals or head in self.local_functions:
            return None
        func = self.resolve_dotted(call.func)
        if not is_user_function(func) or root_module(func) in sys.stdlib_module_names:
            return None  # logging.debug(msg, *args) is Python's own: a call, not a helper
        code = func.__code__
        if not code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS) and \
                not self.passes_known_pack(call, func):
            return None
        return self.parsed_callee(func)

    def passes_known_pack(self, call, func) -> bool:
        """Whether `call` passes a tuple display (or a tuple of known length) for a
        parameter that `func` stars (`def apply(args): return g(*args)`): then `func` is
        expanded at the call like a variadic helper, the length known there."""
        if not isinstance(call, gast.Call) or any(isinstance(a, gast.Starred)
                                                  for a in call.args):
            return False
        try:
            bound = inspect.signature(func).bind_partial(
                *call.args, **{k.arg: k.value for k in call.keywords if k.arg})
        except (TypeError, ValueError):
            return False
        packs = {p for p, v in bound.arguments.items() if isinstance(v, gast.AST) and
                 self.known_items(v) is not None}
        if not packs:
            return False
        try:
            node = parse_function(func).node
        except TangentError:
            return False
        return any(isinstance(n, gast.Starred) and isinstance(n.value, gast.Name) and
                   n.value.id in packs for n in walk(node))

    def hoist_starred_calls(self, node) -> list:
        """`packed = f(x)` statements for the starred calls of fixed result length in the
        expression(s) `node` evaluates itself (not in its body, a lambda or comprehension,
        nor where Python may skip them); each star then names the result instead."""
        fields = {gast.For: "iter", gast.If: "test"}.get(type(node), "value")
        if not isinstance(node, (gast.Assign, gast.AugAssign, gast.AnnAssign, gast.Return,
                                 gast.Expr, gast.For, gast.If)) or \
                getattr(node, fields, None) is None:
            return []
        pre: list = []
        for star in _starred_evaluated(getattr(node, fields)):
            length = self.returned_length(star.value)
            if length is None:
                continue
            name = self.namer.fresh("packed")
            self.locals.add(name)
            self.__dict__.setdefault("known_lengths", {})[name] = length
            pre.append(located(build.assign(name, star.value), star))
            star.value = located(build.name(name), star.value)
        return pre

    def returned_length(self, expr) -> int | None:
        """The length of what the call `expr` returns when its callee (a user function or
        a nested function) returns tuple or list displays of one length on every path."""
        if not isinstance(expr, gast.Call):
            return None
        if isinstance(expr.func, gast.Name) and expr.func.id in self.local_functions:
            node = self.local_functions[expr.func.id]
        else:
            callee = self.user_callee(expr)
            if callee is None or self.variadic_callee(expr) is not None:
                return None
            try:
                node = parse_function(callee).node
            except TangentError:
                return None  # reported where the call is differentiated
            self.parsed.guards.append(FunctionGuard(callee))  # its code changing: stale
        returns, lengths = [], set()
        for sub in own_nodes(node.body):
            if isinstance(sub, (gast.Yield, gast.YieldFrom)):
                return None
            if isinstance(sub, gast.Return):
                returns.append(sub)
                value = sub.value
                if not isinstance(value, (gast.Tuple, gast.List)) or any(
                        isinstance(e, gast.Starred) for e in value.elts):
                    return None
                lengths.add(len(value.elts))
        return lengths.pop() if returns and len(lengths) == 1 else None

    def expand_variadic(self, call, bounded: bool = False):
        """(statements, result name) of the callee's body expanded at `call`; `bounded`:
        a level of a bounded recursion (recursion.py), its integer literals substituted."""
        callee = self.variadic_callee(call) if not bounded else self.parsed_callee(
            self.recursive_callee(call))
        node = callee.node
        if callee.func in self.inlining and not bounded:
            raise self.parsed.unsupported(call, f"recursive function '{node.name}'",
                                          "write the recursion as a loop")
        if any(isinstance(a, gast.Starred) for a in call.args):
            raise self.parsed.unsupported(call, "a starred argument of unknown length",
                                          "pass the arguments one by one")
        sig = inspect.signature(callee.func)
        try:
            bound = sig.bind(*call.args, **{k.arg: k.value for k in call.keywords})
        except TypeError as exc:
            raise self.parsed.unsupported(call, f"this call of '{node.name}' ({exc})",
                                          "match the function's parameters") from exc
        args = node.args
        names = [a.id for a in args.posonlyargs + args.args + args.kwonlyargs] + [
            a.id for a in (args.vararg, args.kwarg) if a is not None]
        own = set(names) | {n.id for n in walk(node) if isinstance(n, gast.Name) and
                            isinstance(n.ctx, gast.Store)}
        mapping = {name: self.namer.fresh(name) for name in sorted(own)}
        free = sorted({n.id for n in walk(node) if isinstance(n, gast.Name)
                       and n.id not in own and n.id in callee.namespace})
        mapping.update(callee.adopt_into(self.parsed, free, self.locals, self.namer))
        self.locals |= set(mapping.values()) - ({mapping.get(node.name)} if bounded else set())
        defaults = _default_nodes(args)  # (bounded: the function's own name stays global)
        stmts, integers = [], {}
        rebound = rebound_names(node.body)
        for p, param in sig.parameters.items():
            value = self.bound_value(param, bound.arguments, defaults.get(p), call, mapping)
            if p not in rebound:  # *args, **kwargs, or a tuple display passed in
                self.known_packs(mapping[p], value)
            if bounded and isinstance(value, gast.Constant) and type(value.value) is int \
                    and p not in own - set(names):  # never rebound: the literal itself
                integers[mapping[p]] = value.value
                continue
            stmts.append(located(build.assign(mapping[p], value), call))
        body = [_Rename(mapping, call).visit(clone(s)) for s in node.body]
        self.record_lengths(stmts + body)  # `args = list(args)`; `fun(*args)`
        if integers:
            body = substitute_integers(body, integers)
        lowered, result = self.expand_body(body, node.name, callee.func, call)
        return self.block(stmts) + lowered, result

    def known_packs(self, name: str, value) -> None:
        """Record that `name` holds `value`, a tuple of known length (a display: `*args`)
        or a dict display (`**kwargs`: its keys), for the whole body, so that `f(*args)`
        and `f(**kwargs)` in it pass the items one by one."""
        items = self.known_items(value) if isinstance(value, gast.AST) and \
            not isinstance(value, gast.Dict) else None
        if items is not None:
            self.__dict__.setdefault("known_lengths", {})[name] = len(items)
        elif isinstance(value, gast.Dict):
            self.__dict__.setdefault("known_keys", {})[name] = [k.value for k in value.keys]

    def record_lengths(self, stmts: list) -> None:
        """Record the tuples and lists of `stmts` whose length the source fixes
        (lengths.py: `args = list(args)`, `(sym(args[0]),) + args[1:]`), so that starring
        them passes their items one by one."""
        def is_sequence_call(call) -> bool:
            func = call.func
            return isinstance(func, gast.Name) and func.id not in self.locals and \
                self.resolve_dotted(func) in (list, tuple, len)
        found = fixed_lengths(stmts, is_sequence_call, self.free_tuple_length)
        lengths = self.__dict__.setdefault("known_lengths", {})
        for name, length in found.items():
            lengths.setdefault(name, length)

    def free_tuple_length(self, name: str) -> int | None:
        """The length of the tuple a free name holds (a closure cell or global: `args` of
        a wrapper that fixes all arguments but one), read now; the code is then keyed on
        that length (a LengthGuard: a tuple of another length makes it stale, never
        reused). None for a local, a list (it can grow while the code runs) or no tuple."""
        if name in self.locals or name in self.local_functions:
            return None
        ref = self.parsed.ref(name)
        if not isinstance(ref, (GlobalRef, CellRef)) or not ref.available():
            return None
        value = ref.read()
        if not isinstance(value, tuple):
            return None
        self.parsed.guards.append(LengthGuard(ref, len(value)))
        return len(value)

    def parsed_callee(self, func):
        """The parsed source of user function `func` (cached; its code guarded)."""
        cache = self.__dict__.setdefault("_variadic", {})
        if func not in cache:
            cache[func] = parse_function(func)
            self.parsed.guards.append(FunctionGuard(func))  # its code changing: stale
        return cache[func]

    def bound_value(self, param, arguments: dict, default, call, mapping):
        """The expression parameter `param` takes at this call."""
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            return gast.Tuple(elts=list(arguments.get(param.name, ())), ctx=gast.Load())
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            given = arguments.get(param.name, {})
            return gast.Dict(keys=[build.const(k) for k in given],
                             values=list(given.values()))
        if param.name in arguments:
            return clone(arguments[param.name])
        if default is None:
            raise self.parsed.unsupported(call, f"missing argument '{param.name}'",
                                          "pass every argument")
        if not all(isinstance(n, (gast.Constant, gast.Name, gast.Attribute, gast.Load,
                                  gast.UnaryOp, gast.USub, gast.Tuple))
                   for n in walk(default)):
            raise self.parsed.unsupported(call, f"the computed default of '{param.name}'",
                                          "pass it at the call")
        return _Rename(mapping, call).visit(clone(default))


def _starred_evaluated(expr):
    """The starred calls an expression evaluates exactly once when it is evaluated (not
    those under a lambda, comprehension, conditional expression or and/or), in source
    order."""
    if isinstance(expr, (gast.Lambda, gast.ListComp, gast.SetComp, gast.DictComp,
                         gast.GeneratorExp, gast.IfExp, gast.BoolOp)):
        return
    if isinstance(expr, gast.Starred) and isinstance(expr.value, gast.Call):
        yield expr
    for child in gast.iter_child_nodes(expr):
        yield from _starred_evaluated(child)


def rebound_names(body) -> set:
    """Names the body assigns, writes into or calls a method of (`args = args[1:]`,
    `kwargs.pop("k")`): their packed contents are not known from the call."""
    out = set()
    for n in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(n, gast.Name) and not isinstance(n.ctx, gast.Load):
            out.add(n.id)
        if isinstance(n, (gast.Subscript, gast.Attribute)) and \
                isinstance(n.value, gast.Name) and (not isinstance(n.ctx, gast.Load) or
                                                    isinstance(n, gast.Attribute)):
            out.add(n.value.id)
    return out


def _default_nodes(args) -> dict:
    """Parameter name -> the AST of its default."""
    positional = args.posonlyargs + args.args
    out = {a.id: d for a, d in zip(positional[len(positional) - len(args.defaults):],
                                   args.defaults)}
    out.update({a.id: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    return out


class _Rename(gast.NodeTransformer):
    """Rename names by `mapping`, every node moved to the call's location."""

    def __init__(self, mapping: dict, where):
        self.mapping, self.where = mapping, where

    def generic_visit(self, node):
        if hasattr(node, "lineno"):
            node.lineno = self.where.lineno
            node.col_offset = getattr(self.where, "col_offset", 0)
        return super().generic_visit(node)

    def visit_Name(self, node):
        node.id = self.mapping.get(node.id, node.id)
        return self.generic_visit(node)
