"""What a transform reads for `jacobian(f)` when it differentiates it (jacobian(jacobian(f)),
jacfwd(jacrev(f)), grad of a loss of `jacobian(f)(x)` written inside a differentiated
function): the Jacobian written as source, its columns the forward-mode derivatives of
f along the unit vectors, taken by f's generated tangent code (a nested transform, so it
is differentiated again like grad(grad(f))):

    def jacobian_f(a0, a1):
        n = np.size(a0)
        directions = np.eye(n)
        columns = []
        for c in range(n):
            column = jvp_f(a0, a1, np.reshape(directions[c], np.shape(a0)))
            columns.append(np.ravel(column))
        return np.reshape(np.stack(columns, axis=-1), np.shape(column) + np.shape(a0))

It computes what `jacobian(f)(*args)` computes for one float or array argument and an
array (or float) output; other forms (several `wrt`, has_aux, pytree arguments, keyword
parameters) are refused with a hint, since the matrix they assemble has another layout.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from .errors import NotDifferentiableError
from .generated_source import define

_CACHE: dict = {}


def _refuse(what: str) -> NotDifferentiableError:
    return NotDifferentiableError(
        f"cannot differentiate what jacobian() returns here ({what}): it is differentiated "
        "for one argument (wrt an int), no has_aux, positional parameters and array "
        "arguments; for second derivatives of a scalar function use hessian(f)")


def _positional(func) -> int:
    """How many positional parameters `func` has (all of them plain)."""
    inner = func
    while hasattr(inner, "request") and hasattr(inner, "func"):  # a transform: its function
        inner = inner.func
    if getattr(inner, "source_form", None) is not None:  # jacobian(jacobian(f))
        inner = inner.source_form()
    try:
        params = list(inspect.signature(inner).parameters.values())
    except (TypeError, ValueError):
        raise _refuse("its function has no signature") from None
    kind = inspect.Parameter
    if any(p.kind not in (kind.POSITIONAL_ONLY, kind.POSITIONAL_OR_KEYWORD) or
           p.default is not p.empty for p in params):
        raise _refuse("its function has *args, keyword-only or defaulted parameters")
    return len(params)


def jacobian_source(func: Callable, where: tuple, has_aux: bool) -> Callable:
    """The Jacobian of `func` with respect to argument `where[0]`, as generated source
    (module docstring); cached per (func, position)."""
    from .derivative_support import make_transform  # the transforms need this module
    if len(where) != 1 or has_aux:
        raise _refuse("several wrt arguments" if len(where) != 1 else "has_aux=True")
    k = where[0]
    key = (func, k)
    if key not in _CACHE:
        n_args = _positional(func)
        name = getattr(func, "__name__", "f")
        name = name if name.isidentifier() else "f"
        args = [f"a{i}" for i in range(n_args)]
        x = args[k]
        call = ", ".join(args + [f"np.reshape(directions[c], np.shape({x}))"])
        source = (
            f"def jacobian_{name}({', '.join(args)}):\n"
            f"    assert not isinstance({x}, (dict, list, tuple)), "
            f"'jacobian differentiated: argument {k} must be an array or a float'\n"
            f"    n = np.size({x})\n"
            f"    directions = np.eye(n)\n"
            f"    columns = []\n"
            f"    for c in range(n):\n"
            f"        column = jvp_{name}({call})\n"
            f"        columns.append(np.ravel(column))\n"
            f"    return np.reshape(np.stack(columns, axis=-1), "
            f"np.shape(column) + np.shape({x}))\n")
        namespace = {"np": np, f"jvp_{name}": make_transform(func, (k,), "forward"),
                     "__name__": "tangent_src_generated_jacobian"}
        built = define(source, f"jacobian_{name}", namespace, f"jacobian: {name}")
        built.__doc__ = f"The Jacobian of {name} (tangent_src.jacobian) as source."
        _CACHE[key] = built
    return _CACHE[key]
