"""`functools.partial` as calls: a partial written in the function (`partial(f, k=b)`, its
arguments evaluated where Python evaluates them), or a partial object a global or closure
name holds (`fun` in a helper made by `wrap(partial(f, k=2.0))`), called as its function
with the bound arguments first.

Before:  `sq = functools.partial(power, k=2.0); sq(x)`
After:   `bound = 2.0; power(x, k=bound)`
"""
from __future__ import annotations

import functools
import inspect

import gast

from ...core import build
from ...core.libraries import is_library_object
from ..bindings import FixedRef
from ..source import is_user_function
from .common import located


def is_function(value) -> bool:
    """A value whose calls can go to it by name: a NumPy/builtin function or ufunc, a
    user function (differentiated from its source), or a library's bound method (called
    by its dotted name as if written there: its rule, or its refusal, applies)."""
    from ...analysis.shapes import is_function_value
    return is_function_value(value) or is_user_function(value) or (
        inspect.ismethod(value) and is_library_object(value))  # scipy.stats.norm.pdf


class PartialCalls:
    """Lowerer's part for partials (see the module docstring)."""

    def partial_spec(self, expr, node):
        """`functools.partial(f, a, k=b)`: its arguments assigned to fresh names here (where
        Python evaluates them), and the spec of a call of f with them bound first."""
        if not (isinstance(expr, gast.Call) and expr.args and
                self.resolve_dotted(expr.func) is functools.partial and
                not any(k.arg is None for k in expr.keywords)):
            return None
        inner = self.function_spec(expr.args[0])
        if inner is None or inner[0] != "call":
            return None
        pre, args, keywords = [], [], []
        for value in expr.args[1:] + [k.value for k in expr.keywords]:
            temp = self.namer.fresh("bound")
            self.locals.add(temp)
            pre.append(located(build.assign(temp, value), node))
            (args if len(pre) <= len(expr.args) - 1 else keywords).append(build.name(temp))
        keywords = [gast.keyword(arg=k.arg, value=v) for k, v in zip(expr.keywords, keywords)]
        return pre, ("call", inner[1], inner[2] + args, inner[3] + keywords)

    def partial_value_spec(self, expr, found):
        """A global or closure `functools.partial` object (`fun` in a helper made by
        `wrap(partial(f, k=2.0))`): a call of its function, bound to a fixed name, with its
        arguments as constants, when they are numbers, strings or None; else None. The
        object is read once, here: rebinding the name makes the code stale."""
        constants = (bool, int, float, str, type(None))
        values = list(found.args) + list(found.keywords.values())
        if not is_function(found.func) or not all(type(v) in constants for v in values):
            return None
        name = self.namer.fresh(getattr(found.func, "__name__", "partial_func"))
        self.namer.reserve(name)
        self.parsed.fixed[name] = FixedRef(found.func, f"the function of {build.dotted(expr)}")
        self.parsed.namespace[name] = found.func
        keywords = [gast.keyword(arg=k, value=build.const(v))
                    for k, v in found.keywords.items()]
        return ("call", located(build.name(name), expr),
                [build.const(v) for v in found.args], keywords)
