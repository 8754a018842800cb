"""Desugar user Python into the statement forms of the core language.

Before:  `a, b = f(x); a += b` / `for row in X:` / early `return` / `break`
After:   single assignments, `for i in range(...)` loops, flags instead of
`break`/`continue`, one `return` at the end. Expressions stay nested; `anf.py`
flattens them. Anything else is rejected with a located error and a hint.

`Lowerer` dispatches each statement to its part: statements.py (assignments, if,
return), loops.py (loops, break, continue), returns.py (early returns), functions.py
(nested functions, lambdas, closure factories), lambdas.py (lambdas called where written
or passed to user functions), effects.py (print, logging, assert: side effects run on
the values), hoist.py (what expressions hold that becomes statements), with_blocks.py
(gradient surgery), methods.py (methods and subscripts as functions), computed.py
(functions held in variables, tables, map, operator.*), partials.py (functools.partial
written or held as calls), variadic.py (helpers with *args/**kwargs expanded at the call),
lengths.py (tuples and lists whose length the source fixes, so starring them passes their
items), generators.py (generators consumed whole, as
the list they yield), nested.py (transforms called inside: their generated code),
recursion.py (recursion bounded by an integer literal, expanded), kind_tests.py
(`isinstance` tests of parameters that the specialization decides); common.py and
ranges.py hold what they share.
"""
from __future__ import annotations

import gast
import numpy

from ...core import build
from ...core.helpers import CORE_HELPERS
from ...core.walk import clone, walk
from ...naming import Namer
from ..resolve import lookup
from ..source import ParsedFunction
from .common import (
    INTROSPECTION,
    INTROSPECTION_HINT,
    UNSUPPORTED,
    is_dotted_name,
    is_list_method,
    located,
)
from .computed import ComputedCalls
from .effects import EffectLowering
from .functions import FunctionLowering
from .generators import GeneratorCalls, generator_as_list, is_generator
from .hoist import HoistLowering
from .kind_tests import fold_kind_tests
from .lambdas import LambdaLowering
from .loops import LoopLowering
from .methods import Methods
from .nested import NestedTransforms
from .recursion import BoundedRecursion
from .returns import ReturnLowering
from .snapshots import snapshot_joined_lists
from .statements import StatementLowering
from .variadic import VariadicCalls
from .with_blocks import BlockLowering

__all__ = ["Lowerer", "is_list_method", "lower"]


class Lowerer(StatementLowering, LoopLowering, ReturnLowering, FunctionLowering,
              HoistLowering, BlockLowering, EffectLowering, LambdaLowering, ComputedCalls,
              VariadicCalls, GeneratorCalls, NestedTransforms, BoundedRecursion):
    """Rewrites one function body into core-language statement forms."""

    def __init__(self, parsed: ParsedFunction, namer: Namer):
        self.parsed = parsed
        self.namer = namer
        self.result_name: str | None = None
        node = parsed.node
        self.locals = {a.id for a in node.args.posonlyargs + node.args.args +
                       node.args.kwonlyargs} | {n.id for n in walk(node)
                                               if isinstance(n, gast.Name)
                                               and isinstance(n.ctx, gast.Store)}
        self.methods = Methods(self)
        self.local_functions: dict = {}   # nested def / lambda name -> FunctionDef
        self.dicts: set = set()           # parameters known (at this call) to be dicts
        self.objects: dict = {}           # parameter -> its class (for method calls)
        self.functions: dict = {}         # parameter -> the function passed in it
        self.strings: dict = {}           # parameter -> the string passed in it
        self.inlining: list = []          # the local functions being expanded (no recursion)
        self.branch_functions: dict = {}  # nested function defined in an if-branch -> the if
        self.factories: dict = {}         # user function -> its ParsedFunction, or None
        self._stored_once = None          # names assigned once (computed.py)
        self.aliases: dict = {}           # name -> the function (spec) it holds

    def numpy_name(self) -> str:
        """The name lowered code reads NumPy by: `np`, which the front end binds to NumPy in
        every parsed function (a user's own `np` is renamed apart: reserved.py)."""
        assert self.parsed.namespace.get("np") is numpy
        return "np"

    def helper(self, name: str) -> gast.Name:
        """A call target for one of the core language's helpers (core/helpers.py); the
        name is reserved so that no temporary shadows it."""
        assert name in CORE_HELPERS, name
        self.namer.reserve(name)
        return build.name(name)

    def resolve_dotted(self, func):
        """The object a name or dotted name of the user's code refers to (None: not a
        name, or unbound); recorded as resolved, so rebinding it makes the code stale."""
        return lookup(self.parsed, func)

    def check_expr(self, expr):
        """Lower array methods in `expr` and reject unsupported constructs; returns `expr`."""
        expr = self.methods.visit(expr)
        for node in walk(expr):
            kind = type(node)
            if kind in UNSUPPORTED:
                construct, hint = UNSUPPORTED[kind]
                raise self.parsed.unsupported(node, construct, hint)
            if isinstance(node, gast.Call) and any(k.arg is None for k in node.keywords):
                raise self.parsed.unsupported(node, "**kwargs in a call",
                                              "pass keyword arguments by name")
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
                    not is_dotted_name(node.func):
                raise self.parsed.unsupported(
                    node, f"method call '.{node.func.attr}()'",
                    f"call the function form instead, e.g. np.{node.func.attr}(x, ...)")
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Name):
                self.check_introspection(node)
        return expr

    def check_introspection(self, call) -> None:
        """Refuse locals(), globals(), vars(), eval and exec (see INTROSPECTION)."""
        if call.func.id not in {f.__name__ for f in INTROSPECTION}:
            return  # (resolving records the name: only these few are looked up)
        func = self.resolve_dotted(call.func)
        for builtin, bare in INTROSPECTION.items():
            if func is builtin and not (bare and (call.args or call.keywords)):
                raise self.parsed.unsupported(call, f"{call.func.id}() in a differentiated "
                                              "function", INTROSPECTION_HINT)

    def block(self, stmts) -> list:
        """Lower a list of statements."""
        out = []
        for stmt in stmts:
            out.extend(self.stmt(stmt))
        return out

    def stmt(self, node) -> list:
        """Lower one statement: bind or expand local functions, hoist what the statement's
        expression holds, then dispatch to the stmt_<Kind> method of its part."""
        if isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda):
            return self._stmt(node)
        self.methods.dict_views(node)
        self.check_generator_calls(node)
        split = self.split_lambda_tuple(node)
        if split is not None:
            return split
        computed = self.computed_stmt(node)
        if computed is not None:
            return computed
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
                isinstance(n, gast.Call) and self.is_local_call(n) for n in walk(node.test)):
            raise self.parsed.unsupported(node.test, "a call to a nested function in a "
                                          "while condition",
                                          "compute the condition in a variable at the end of "
                                          "the loop body")
        return self._stmt(node)

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


def lower(parsed: ParsedFunction, namer: Namer, dicts=frozenset(),
          consumed_whole: bool = False) -> gast.FunctionDef:
    """Return a copy of the user's function in core statement forms (expressions still nested).
    With `consumed_whole`, a generator becomes the function returning the list it
    yields (its callers consume it whole: generators.py); otherwise its yield is refused."""
    node = clone(parsed.node)
    args = node.args
    if args.vararg is not None or args.kwarg is not None:
        bad = args.vararg or args.kwarg
        raise parsed.unsupported(bad, "*args/**kwargs parameters", "list the parameters by name")
    if node.decorator_list:
        node.decorator_list = []
    if consumed_whole and is_generator(node):  # its callers consume it whole
        generator_as_list(parsed, node, namer)
    lowerer = Lowerer(parsed, namer)
    fold_kind_tests(parsed, node, {p: cls[1] for p, cls in dicts
                                   if isinstance(cls, tuple) and cls[0] == "kind"})
    for param, cls in dicts:
        if isinstance(cls, tuple) and cls[0] == "kind":
            continue
        if cls == "dict":
            lowerer.dicts.add(param)
        elif cls[0] == "object":
            lowerer.objects[param] = cls[1]
        elif cls[0] == "string":
            lowerer.strings[param] = cls[1]
        else:
            lowerer.functions[param] = cls[1]
    snapshot_joined_lists(parsed, node)  # before anything reads the joins
    lowerer.record_lengths(node.body)
    body = lowerer.block(lowerer.lift_loop_returns(node.body))
    returns = [n for n in walk(gast.Module(body=body, type_ignores=[]))
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
    node.body = body + [located(gast.Return(value=build.name(result)), returns[-1])]
    return node
