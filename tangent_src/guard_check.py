"""The staleness check that runs before every call of a transform, made cheap.

A generated module carries guards (frontend/bindings.py): facts it was built on, such as
"the global `sigmoid` is still this function" or "`predict.__code__` is still this code
object". Checking them one `holds()` method call at a time cost about as much as running a
small gradient. `quick_check` compiles the common guards into one boolean expression of
identity tests, built once per generated module:

    lambda: s0.get('np', MISSING) is v0 and f1.__code__ is c1 and ... and h5()

It answers True only when every guard certainly holds (each term implies its guard's
`holds()`); False means "ask the guards one by one", which gives the exact answer
(a bound method that is a new but equal object, a guard the expression does not know).
So it can only make the check faster, never weaker.
"""
from __future__ import annotations

import types
from collections.abc import Callable

from .frontend.bindings import FixedRef, FunctionGuard, GlobalRef, Guard
from .generated_source import define

_MISSING = object()


def _term(k: str, guard, namespace: dict) -> str | None:
    """The expression for one guard (None: it always holds), binding what it reads in
    `namespace` under names ending in `k`."""
    kind, ref = type(guard), guard.ref
    if kind is Guard and type(ref) is FixedRef:
        return None  # reads the value it was made with: always the same object
    if kind is Guard and type(ref) is GlobalRef and \
            not isinstance(guard.value, types.MethodType):
        namespace[f"s{k}"], namespace[f"k{k}"], namespace[f"v{k}"] = \
            ref.scope, ref.key, guard.value
        return f"s{k}.get(k{k}, MISSING) is v{k}"
    if kind is FunctionGuard and guard.kwdefaults is None:
        namespace[f"f{k}"], namespace[f"c{k}"], namespace[f"d{k}"] = \
            guard.value, guard.code, guard.defaults
        return (f"f{k}.__code__ is c{k} and f{k}.__defaults__ is d{k} and "
                f"f{k}.__kwdefaults__ is None")
    namespace[f"h{k}"] = guard.holds
    return f"h{k}()"


def holds_expression(guards, namespace: dict, tag: str = "", joint: str = " and ") -> str:
    """The expression that is True when every guard in `guards` certainly holds, binding
    what it reads in `namespace` (names made of a letter, `tag` and a number)."""
    namespace["MISSING"] = _MISSING
    terms = [t for k, g in enumerate(guards)
             if (t := _term(f"{tag}{k}", g, namespace)) is not None]
    return joint.join(terms) or "True"


def quick_check(guards) -> Callable[[], bool]:
    """A function of no arguments: True when every guard in `guards` certainly holds."""
    namespace: dict = {}
    source = "def holds():\n    return " + holds_expression(guards, namespace) + "\n"
    return define(source, "holds", namespace, "guards")
