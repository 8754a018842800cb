"""Lowering of side-effect statements: `print(...)`, logging and warnings calls, plotting,
`assert`, and bare calls of user functions that only print or plot. Each stays one
expression statement of the core language, marked in `EFFECT` (core/tables.py): the
transforms run it on the primal values, once per primal execution, and never
differentiate it. Its expression is kept as written (f-strings, method calls of strings),
since it only ever runs on values.

Before:  `print(f"loss {loss:.3f}")`; `assert y > 0, "negative"`
After:   the same call, marked EFFECT; `check_assert(y > 0, "negative")`, marked EFFECT

A call whose result is unused is accepted only when it cannot change a value the
derivative reads: a function known to only report (print, logging, warnings, matplotlib)
or a user function whose source writes into none of its arguments.
"""
from __future__ import annotations

import builtins
import inspect
import logging
import textwrap

import gast

from ...core import build
from ...core.tables import EFFECT
from ..source import is_user_function
from .common import located

# modules whose functions only report: their calls never change the caller's values
REPORTING_MODULES = ("logging", "warnings", "_warnings", "matplotlib", "pprint")

# methods that change their object in place (a user function calling one of these on an
# argument writes into the caller's value)
MUTATING_METHODS = {"append", "extend", "insert", "pop", "remove", "clear", "update",
                    "fill", "sort", "resize", "put", "itemset", "setdefault", "setflags",
                    "__setitem__", "__iadd__", "popitem", "discard", "add"}


class EffectLowering:
    """Lowerer's part for side-effect statements (see the module docstring)."""

    def effect(self, node, call) -> list:
        """`call` as a side-effect statement at `node`'s location."""
        stmt = located(gast.Expr(value=call), node)
        EFFECT[stmt] = True
        return [stmt]

    def stmt_Assert(self, node):
        args = [node.test] + ([node.msg] if node.msg is not None else [])
        call = located(gast.Call(func=self.helper("check_assert"), args=args, keywords=[]),
                       node)
        return self.effect(node, call)

    def effect_call(self, node) -> list | None:
        """The side-effect statement for the expression statement `node`, or None when its
        call may change a value (then it is refused)."""
        call = node.value
        target = self.called_object(call)
        if target is None or not reports_only(target):
            return None
        return self.effect(node, call)

    def reporting_assign(self, node) -> list | None:
        """`r = print(...)` (a lambda or nested function whose body is a print, expanded
        where it is called): the call as a side-effect statement, then `r = None`. Only for
        library functions that report and return None (print, logging, warnings.warn)."""
        call = node.value
        if isinstance(node, gast.Assign) and (
                len(node.targets) != 1 or not isinstance(node.targets[0], gast.Name)):
            return None
        target = self.called_object(call)
        if target is None or not returns_none(target):
            return None
        if isinstance(node, gast.Return):  # `lambda v: print(v)`, expanded
            return self.effect(node, call) + [located(gast.Return(
                value=build.const(None)), node)]
        none = located(build.assign(node.targets[0].id, build.const(None)), node)
        return self.effect(node, call) + [none]

    def called_object(self, call):
        """The module-level object a call's target (a name or dotted name that is not a
        local variable) refers to; None for anything else."""
        if not isinstance(call, gast.Call):
            return None
        dotted = build.dotted(call.func)
        if dotted is None or dotted.split(".")[0] in self.locals:
            return None
        return self.resolve_dotted(call.func)


def returns_none(func) -> bool:
    """Whether `func` is a library function that reports and always returns None (print,
    a logging function or logger method, warnings.warn); matplotlib's return objects."""
    if func is builtins.print or isinstance(getattr(func, "__self__", None), logging.Logger):
        return True
    module = (getattr(func, "__module__", None) or "").split(".")[0]
    return module in ("logging", "warnings", "_warnings") and not isinstance(func, type) \
        and getattr(func, "__name__", "") not in ("getLogger", "getLevelName", "catch_warnings")


def reports_only(func, depth: int = 0) -> bool:
    """Whether calling `func` can only report (print, log, warn, plot): it changes no value
    it is passed. A user function qualifies when its source (and that of the user functions
    it calls, a few levels deep) writes into none of its parameters."""
    if func is builtins.print or getattr(func, "__tangent_src_effect__", False):
        return True  # print; an assert of generated code differentiated again
    if isinstance(func, logging.Logger) or isinstance(
            getattr(func, "__self__", None), logging.Logger):
        return True
    module = getattr(func, "__module__", None) or ""
    if module.split(".")[0] in REPORTING_MODULES:
        return True
    if is_user_function(func) and depth < 4:
        return _writes_no_parameter(func, depth)
    return False


def _writes_no_parameter(func, depth: int) -> bool:
    try:
        tree = gast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return False
    params = {a.id for n in gast.walk(tree) if isinstance(n, gast.arguments)
              for a in n.posonlyargs + n.args + n.kwonlyargs} | {
        a.id for n in gast.walk(tree) if isinstance(n, gast.arguments)
        for a in (n.vararg, n.kwarg) if a is not None}
    for node in gast.walk(tree):
        if isinstance(node, (gast.Global, gast.Nonlocal)):
            return False
        if isinstance(node, (gast.Subscript, gast.Attribute)) and \
                isinstance(node.ctx, (gast.Store, gast.Del)):
            return False
        if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name) and \
                node.target.id in params:
            return False
        if isinstance(node, gast.Call) and not _call_reports_only(node, func, params, depth):
            return False
    return True


def _call_reports_only(call, func, params: set, depth: int) -> bool:
    """A call inside a reporting user function: no `out=`, no mutating method of a
    parameter, and a user function it calls reports only as well."""
    if any(k.arg == "out" for k in call.keywords):
        return False
    callee = call.func
    if isinstance(callee, gast.Attribute) and callee.attr in MUTATING_METHODS:
        root = callee.value
        while isinstance(root, (gast.Attribute, gast.Subscript)):
            root = root.value
        if isinstance(root, gast.Name) and root.id in params:
            return False
    if isinstance(callee, gast.Name):
        target = func.__globals__.get(callee.id)
        if is_user_function(target) and target is not func:
            return reports_only(target, depth + 1)
    return True
