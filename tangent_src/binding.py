"""What a transform's target is called with: its signature (a rule's generated wrapper's,
whose parameter names key complex arguments) and a bound method split into its function
and the object passed first."""
from __future__ import annotations

import inspect

from . import guards


def signature(inner):
    """The signature of the function the transform parses: for a function with a rule,
    its generated wrapper's (the rule's parameter names, which key the complex arguments)."""
    try:
        return inspect.signature(guards.rule_wrapper(inner) or inner)
    except (TypeError, ValueError):
        return None


def shifted(wrt: tuple, count: int) -> tuple:
    """`wrt` past `count` arguments passed first (the bound object)."""
    return tuple(w + count if isinstance(w, int) and w >= 0 else w for w in wrt)


def unbind_method(func, wrt: tuple) -> tuple:
    """A bound method `obj.loss` is differentiated as `type(obj).loss` with `obj` passed
    first (never differentiated): (function, wrt shifted past it, the bound arguments).
    A bound method with a derivative rule of its own (`scipy.stats.norm.pdf`) stays bound."""
    if inspect.ismethod(func) and inspect.isfunction(func.__func__) and \
            guards.rule_wrapper(func) is None:
        return func.__func__, shifted(wrt, 1), (func.__self__,)
    return func, wrt, ()
