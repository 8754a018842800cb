"""A function with `*args` / `**kwargs` parameters transformed directly: each call fixes
how many positional arguments and which keywords it passes, so the code is generated for a
wrapper of that arity, whose one call is the user's function (expanded in place by the
front end, its `args` bound to a tuple of known length, `kwargs` to a dict of known keys).

Before:  `grad(lambda *args: fun(sym(args[0]), *args[1:]))(W, v)`
After:   the gradient of `def fixed(args_0, args_1): return _variadic(args_0, args_1)`

The shape classes of a call name the wrapper's parameters (`values.arg_classes`: `args_0`,
`args_1` for the items of `*args`, each keyword of `**kwargs` by its own name), and the
wrapper is rebuilt from those names, so one wrapper serves every call of that arity.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable

from .core.libraries import is_library_object
from .generated_source import define

_WRAPPERS: dict = {}


def item_name(star: str, k: int) -> str:
    """The wrapper's parameter for item `k` of the `*star` parameter."""
    return f"{star}_{k}"


def is_variadic(func) -> bool:
    """A user function (not a library one: np.einsum has a rule) with a *args or
    **kwargs parameter."""
    code = getattr(func, "__code__", None)
    return code is not None and inspect.isfunction(func) and \
        not is_library_object(func) and bool(
            code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS))


def fixed_arity(func: Callable, classes: tuple) -> Callable:
    """`func` itself, or for a variadic `func` the wrapper taking the arguments `classes`
    (the (parameter, class) pairs of one call) names; () (no call known): `func`."""
    if not classes or not is_variadic(func):
        return func
    sig = inspect.signature(func)
    kind = inspect.Parameter
    params = list(sig.parameters.values())
    star = next((p.name for p in params if p.kind is kind.VAR_POSITIONAL), None)
    named = [p.name for p in params if p.kind in (kind.POSITIONAL_ONLY,
                                                  kind.POSITIONAL_OR_KEYWORD)]
    keyword_only = [p.name for p in params if p.kind is kind.KEYWORD_ONLY]
    given = [name for name, _ in classes]
    items = [] if star is None else [n for n in given if n.startswith(star + "_") and
                                     n not in named + keyword_only]
    extra = [n for n in given if n not in named + keyword_only + items]
    # a parameter left to its default keeps it (not before items: all were passed); the
    # key holds the defaults' identities (`f.__kwdefaults__[k] = v` makes another wrapper)
    defaults = {p.name: p.default for p in params if p.default is not p.empty and
                (p.kind is kind.KEYWORD_ONLY or not items)}
    key = (func, tuple(items), tuple(extra), tuple((k, id(v)) for k, v in defaults.items()))
    wrapper = _WRAPPERS.get(key)
    if wrapper is None:
        wrapper = _WRAPPERS[key] = _wrap(func, named, items, keyword_only + extra, defaults)
    return wrapper


def _wrap(func, named: list, items: list, keywords: list, defaults: dict):
    """`def name(named..., items..., *, keywords...): return _variadic(...)`, each
    parameter that has a default defaulting to the same object."""
    name = func.__name__ if func.__name__.isidentifier() else "f"

    def param(p: str) -> str:
        return f"{p}=_default_{p}" if p in defaults else p
    params = ", ".join([param(p) for p in named + items] +
                       (["*"] + [param(k) for k in keywords] if keywords else []))
    call = ", ".join(named + items + [f"{k}={k}" for k in keywords])
    source = f"def {name}({params}):\n    return _variadic({call})\n"
    namespace = {"_variadic": func, "__name__": getattr(func, "__module__", None) or
                 "tangent_src_arity_wrapper"}
    namespace.update({f"_default_{p}": value for p, value in defaults.items()})
    wrapper = define(source, name, namespace, f"fixed-arity wrapper: {name}")
    wrapper.__doc__ = f"Calls {name} with this many arguments (it has *args/**kwargs)."
    return wrapper
