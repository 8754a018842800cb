"""Derivatives built from the two generated modes: jvp, vjp, hvp (hessian and jacobian are
in matrices.py, importable from here). Each calls generated code; nothing here
differentiates numerically. check_grads, which compares them with finite
differences, is a testing utility: it lives in testing.py (still importable from here,
its old home)."""
from __future__ import annotations

import numpy as np

from . import guards, pullback
from .derivative_support import (
    check_count,
    fresh_args,
    gradient,
    make_transform,
    name_of,
    positions,
    require_scalar,
    with_dtypes,
)
from .errors import InvalidArgumentTypeError, NotDifferentiableError
from .matrices import Rebuildable, hessian, jacfwd, jacobian, jacrev
from .testing import check_grads  # noqa: F401  (its old home: importable from here too)

__all__ = ["hessian", "hvp", "jacfwd", "jacobian", "jacrev", "jvp", "vjp"]


def _mismatch(a, b, where: str = ""):
    """Where two pytrees (nested tuples/lists/dicts of arrays) differ in structure or shape,
    or None when they match."""
    if hasattr(a, "__dict__") and not isinstance(a, np.ndarray) and isinstance(b, dict):
        a = {key: value for key, value in vars(a).items() if key in b}  # an object's tangent
    if isinstance(a, dict) or isinstance(b, dict):
        if not (isinstance(a, dict) and isinstance(b, dict)) or set(a) != set(b):
            return f"{where or 'the value'} has keys {sorted(b) if isinstance(b, dict) else b}"
        for key in a:
            found = _mismatch(a[key], b[key], f"{where}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
        if not (isinstance(a, (tuple, list)) and isinstance(b, (tuple, list))) or \
                len(a) != len(b):
            return f"{where or 'the value'} has a different structure"
        for k, (x, y) in enumerate(zip(a, b)):
            found = _mismatch(x, y, f"{where}[{k}]")
            if found:
                return found
        return None
    if np.shape(a) != np.shape(b):
        return f"{where or 'the value'} has shape {np.shape(b)}, expected {np.shape(a)}"
    return None


def _is_float_like(value) -> bool:
    if callable(value) or isinstance(value, str):
        return False
    dtype = getattr(value, "dtype", None)
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return False
    return dtype is None or dtype.kind in "fc"


def _zeros_like(value):
    return 0.0 if np.ndim(value) == 0 and not isinstance(value, np.ndarray) else \
        np.zeros(np.shape(value))


def _sequence(values, what: str) -> tuple:
    """jvp's `primals` or `tangents` as a tuple: one entry per argument of the function."""
    try:
        return tuple(values)
    except TypeError:
        raise InvalidArgumentTypeError(
            f"jvp: {what} is a tuple with one entry per argument, got "
            f"{type(values).__name__} (write jvp(f, (x,), (v,)) for a function of one "
            "argument)") from None


def jvp(func, primals, tangents, *, backend: str = "python"):
    """Forward mode, JAX style: `(func(*primals), derivative along tangents)`."""
    primals, tangents = _sequence(primals, "primals"), _sequence(tangents, "tangents")
    if len(primals) != len(tangents):
        raise NotDifferentiableError(
            f"jvp: {len(primals)} primals but {len(tangents)} tangents; give one tangent per "
            "argument")
    for k, (p, t) in enumerate(zip(primals, tangents)):
        found = _mismatch(p, t)
        if found:
            raise NotDifferentiableError(
                f"jvp: the tangent of argument {k} of {name_of(func)} does not match it: "
                f"{found}")
    # a complex primal with a zero tangent is a constant (the call refuses any other)
    wrt = tuple(k for k, p in enumerate(primals) if _is_float_like(p) and
                not (guards.is_complex(p) and guards.all_zero(tangents[k])))
    if not wrt:
        value = func(*fresh_args(primals))
        return value, _zeros_like(value)
    forward = make_transform(func, wrt, "forward", return_value=True, backend=backend)
    return forward.call_with(primals, {k: tangents[k] for k in wrt})


def _vjp_positions(func, primals: tuple, wrt, argnums, argnum=None) -> tuple[tuple, bool]:
    """The primals vjp differentiates: every float one by default (JAX's vjp, which has no
    argnums), or those `wrt`/`argnums` select (an extension: `vjp_fun` then returns one
    cotangent per selected primal, a tuple unless one int was given)."""
    if wrt is None and argnums is None and argnum is None:
        return tuple(k for k, p in enumerate(primals) if _is_float_like(p)), False
    where, single = positions(func, wrt, argnums, "vjp", argnum=argnum)
    check_count(primals, where, "vjp", func)
    return where, single


def vjp(func, *primals, wrt=None, argnums=None, argnum=None, has_aux: bool = False,
        backend: str = "python"):
    """Reverse mode, JAX style: `(func(*primals), vjp_fun)`; `vjp_fun(cotangent)` returns one
    cotangent per primal (zeros for integer arguments). With has_aux=True, `func` returns
    (output, aux) and vjp returns `(output, vjp_fun, aux)` as JAX's. `wrt`/`argnums` (not in
    JAX; `argnum` is autograd's name) restrict the cotangents to those arguments.
    The forward pass runs once, here; each `vjp_fun` call runs the backward pass only, at
    the primals as they were (Python back end; numba's runs the whole gradient per call)."""
    chosen = wrt is not None or argnums is not None or argnum is not None
    wrt, single = _vjp_positions(func, primals, wrt, argnums, argnum)  # refused before any call
    reverse = make_transform(func, wrt, "reverse", backend=backend, has_aux=has_aux) \
        if wrt else None
    # the forward pass once, each vjp_fun call the backward pass only (pullback.py),
    # detached from the primals (what it keeps of them copied): the pullback stays the
    # one at this point if the caller writes into them later
    started = pullback.start(reverse, primals, primals, detach=True) \
        if reverse and backend == "python" else None
    value = started[0] if started else func(*fresh_args(primals))
    aux = None
    if has_aux:
        if not (isinstance(value, tuple) and len(value) == 2):
            raise NotDifferentiableError(f"vjp: has_aux=True requires {name_of(func)} to "
                                         "return a pair (output, aux)")
        value, aux = value

    def vjp_fun(cotangent):
        found = _mismatch(value, cotangent)
        if found:
            raise NotDifferentiableError(
                f"vjp: the cotangent does not match what {name_of(func)} returned: {found}")
        grads = started[1](cotangent) if started else \
            reverse.call_with(primals, {"seed": cotangent}) if reverse else ()
        if has_aux and reverse:
            grads = grads[0]
        grads = grads if len(wrt) > 1 else (grads,)
        if chosen:
            return grads[0] if single else tuple(grads)
        found = dict(zip(wrt, grads))
        # zeros only for a primal without a cotangent (a nested list of arrays has no
        # single shape: building its zeros eagerly, as a dict.get default, raised)
        return tuple(found[k] if k in found else _zeros_like(p) for k, p in enumerate(primals))

    return (value, vjp_fun, aux) if has_aux else (value, vjp_fun)


def hvp(func, wrt=0, *, argnums=None, argnum=None, backend: str = "python"):
    """`h(*args, v)`: the Hessian of scalar `func` with respect to argument `wrt`, times v
    (forward mode over the generated reverse-mode gradient). For a tuple `wrt`, v is a
    tuple with one direction per argument and h returns a tuple, entry i being
    sum_j H[i][j] v[j]. `argnums`/`argnum` are aliases of `wrt` (JAX's, autograd's)."""
    where, single = positions(func, wrt, argnums, "hvp", backend, argnum)
    grad = gradient(func, where)
    forward = make_transform(grad, where, "forward", backend=backend)

    def h(*args):
        *args, v = args
        check_count(args, where, "hvp", func)
        require_scalar(grad, args, "hvp")
        directions = (v,) if single else tuple(v) if isinstance(v, (tuple, list)) else None
        if directions is None or len(directions) != len(where):
            raise NotDifferentiableError(
                f"hvp: with wrt={tuple(where)}, v is a tuple with one direction per "
                f"argument ({len(where)}), got {type(v).__name__}"
                + (f" of {len(directions)}" if directions is not None else ""))
        for p, d in zip(where, directions):
            found = _mismatch(args[p], d)
            if found:
                raise NotDifferentiableError(
                    f"hvp: v does not match argument {p}: {found}")
        result = forward.call_with(tuple(args), dict(zip(where, directions)))
        result = (result,) if len(where) == 1 else tuple(result)
        # forward mode keeps NumPy's promotion: float32 arguments, float32 products (JAX's)
        result = [with_dtypes(r, args[p]) for r, p in zip(result, where)]
        return result[0] if single else tuple(result)

    return Rebuildable(h, hvp, func, wrt, argnums=argnums, argnum=argnum, backend=backend)
