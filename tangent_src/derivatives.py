"""Derivatives built from the two generated modes: jvp, vjp, hvp, hessian, jacobian. Each
calls generated code; nothing here differentiates numerically. check_grads, which compares
them with finite differences, is a testing utility: it lives in testing.py (still importable
from here, its old home)."""
from __future__ import annotations

import numpy as np

from . import guards
from .api import Transform
from .dtypes import cast, narrow_dtype
from .errors import (
    InvalidArgumentError,
    InvalidArgumentTypeError,
    NotDifferentiableError,
    RequestError,
)
from .request import Params, make_request
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


def _fresh_args(args: tuple) -> tuple:
    """The arguments with every array (inside tuples, lists and dicts too) copied, for the
    few places that run the user's function itself to get its value: a function that
    writes into its arguments must not change the caller's arrays."""
    def fresh(value):
        if isinstance(value, np.ndarray):
            return value.copy()
        if isinstance(value, (tuple, list)):
            return type(value)(fresh(v) for v in value)
        if isinstance(value, dict):
            return {k: fresh(v) for k, v in value.items()}
        return value
    return tuple(fresh(a) for a in args)


def _zeros_like(value):
    return 0.0 if np.ndim(value) == 0 and not isinstance(value, np.ndarray) else \
        np.zeros(np.shape(value))


def _name(func) -> str:
    while isinstance(func, Transform):
        func = func.func
    return getattr(func, "__name__", "f")


def _transform(func, wrt: tuple, mode: str, return_value: bool = False,
               backend: str = "python") -> Transform:
    """autodiff(func) with these options (one result per entry of `wrt`, unwrapped when
    there is one)."""
    return Transform(make_request(func, wrt[0] if len(wrt) == 1 else wrt, kind=mode,
                                  mode=mode, return_value=return_value, backend=backend))


def _gradient(func, position: int) -> Transform:
    """grad(func, wrt=position): what hvp and hessian differentiate again."""
    return Transform(make_request(func, position))


def _argument(func, wrt, what: str, backend: str) -> int:
    """The position of the one argument hvp, hessian and jacobian differentiate with
    respect to (they take it from the positional arguments of their call), validated by
    the same rules as grad's `wrt`."""
    entry = make_request(func, wrt, backend=backend).one_argument(what)
    params = Params.of(func)
    if params is not None:
        position = params.position(entry)
    else:
        position = entry if isinstance(entry, int) and entry >= 0 else None
    if position is None:
        raise RequestError(f"wrt: {what} takes the argument it differentiates by position; "
                           f"{entry!r} cannot be given that way (keyword-only, or a negative "
                           "position of a function without a signature)", field="wrt")
    return position


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
                f"jvp: the tangent of argument {k} of {_name(func)} does not match it: "
                f"{found}")
    # a complex primal with a zero tangent is a constant (the call refuses any other)
    wrt = tuple(k for k, p in enumerate(primals) if _is_float_like(p) and
                not (guards.is_complex(p) and guards.all_zero(tangents[k])))
    if not wrt:
        value = func(*_fresh_args(primals))
        return value, _zeros_like(value)
    forward = _transform(func, wrt, "forward", return_value=True, backend=backend)
    return forward.call_with(primals, {k: tangents[k] for k in wrt})


def vjp(func, *primals, backend: str = "python"):
    """Reverse mode, JAX style: `(func(*primals), vjp_fun)`; `vjp_fun(cotangent)` returns one
    cotangent per primal (zeros for integer arguments)."""
    value = func(*_fresh_args(primals))
    wrt = tuple(k for k, p in enumerate(primals) if _is_float_like(p))
    reverse = _transform(func, wrt, "reverse", backend=backend) if wrt else None

    def vjp_fun(cotangent):
        found = _mismatch(value, cotangent)
        if found:
            raise NotDifferentiableError(
                f"vjp: the cotangent does not match what {_name(func)} returned: {found}")
        grads = reverse.call_with(primals, {"seed": cotangent}) if reverse else ()
        grads = grads if len(wrt) > 1 else (grads,)
        found = dict(zip(wrt, grads))
        # zeros only for a primal without a cotangent (a nested list of arrays has no
        # single shape: building its zeros eagerly, as a dict.get default, raised)
        return tuple(found[k] if k in found else _zeros_like(p) for k, p in enumerate(primals))

    return value, vjp_fun


def _rebuild(builder, args: tuple, kwargs: dict):
    return builder(*args, **kwargs)


class _Rebuildable:
    """What hvp/hessian/jacobian return: their function, pickled as the call that built
    it (the function by reference and the options), so that it runs in another process
    (multiprocessing) where it generates its code again."""

    def __init__(self, call, builder, *args, **kwargs):
        self._call = call
        self._recipe = (builder, args, kwargs)
        self.__name__ = call.__name__
        self.__qualname__ = call.__qualname__
        self.__doc__ = call.__doc__

    def __call__(self, *args):
        return self._call(*args)

    def __reduce__(self):
        return (_rebuild, self._recipe)


def _require_scalar(gradient: Transform, args, what: str) -> None:
    """Refuse a function that does not return a scalar, judged from its source or from the
    value its generated gradient computes (never by running the function itself)."""
    out = gradient.output_value(tuple(args))
    if isinstance(out, tuple) or np.ndim(out) != 0:
        raise NotDifferentiableError(
            f"{what} requires {_name(gradient)} to return a scalar, but it returned "
            f"{'a tuple' if isinstance(out, tuple) else f'shape {np.shape(out)}'}; use "
            "jacobian for vector-valued functions")


def hvp(func, wrt=0, *, backend: str = "python"):
    """`h(*args, v)`: the Hessian of scalar `func` with respect to argument `wrt`, times v
    (forward mode over the generated reverse-mode gradient)."""
    position = _argument(func, wrt, "hvp", backend)
    gradient = _gradient(func, position)
    forward = _transform(gradient, (position,), "forward", backend=backend)

    def h(*args):
        *args, v = args
        _require_scalar(gradient, args, "hvp")
        if np.shape(v) != np.shape(args[position]):
            raise NotDifferentiableError(
                f"hvp: v has shape {np.shape(v)}, but argument {position} has shape "
                f"{np.shape(args[position])}")
        return forward.call_with(tuple(args), {position: v})

    return _Rebuildable(h, hvp, func, wrt, backend=backend)


def hessian(func, wrt=0, *, backend: str = "python"):
    """`H(*args)`: second derivatives of scalar `func` with respect to argument `wrt`,
    shape x.shape + x.shape (a float for a scalar x)."""
    position = _argument(func, wrt, "hessian", backend)
    product = hvp(func, position, backend=backend)
    gradient = _gradient(func, position)

    def H(*args):
        _require_scalar(gradient, args, "hessian")
        x = args[position]
        if np.ndim(x) == 0:
            return cast(product(*args, 1.0), narrow_dtype(x))
        shape = np.shape(x)
        n = int(np.prod(shape))
        out = np.zeros((n, n))
        for j in range(n):
            e = np.zeros(n)
            e[j] = 1.0
            out[:, j] = np.ravel(product(*args, e.reshape(shape)))
        return cast(out.reshape(shape + shape), narrow_dtype(x))  # float32 in, float32 out

    return _Rebuildable(H, hessian, func, wrt, backend=backend)


def jacobian(func, wrt=0, mode: str = "rev", *, backend: str = "python"):
    """`J(*args)`: d func / d argument `wrt`, shape out.shape + x.shape; mode "rev" builds
    it a row at a time (vjp), "fwd" a column at a time (jvp)."""
    position = _argument(func, wrt, "jacobian", backend)
    if mode not in ("rev", "fwd", "reverse", "forward"):
        raise InvalidArgumentError(f"mode must be 'rev' or 'fwd', not {mode!r}")
    forward_mode = mode in ("fwd", "forward")
    transform = _transform(func, (position,), "reverse", backend=backend)
    with_value = _transform(func, (position,), "forward", return_value=True, backend=backend)

    def J(*args):
        x = args[position]
        x_shape = np.shape(x)
        if forward_mode and np.size(x):  # each column comes with the value: its shape
            columns = {}
            for idx in np.ndindex(*x_shape):
                e = np.zeros(x_shape)
                e[idx] = 1.0
                value, columns[idx] = with_value.call_with(args, {position: e if x_shape
                                                                     else 1.0})
            jac = np.zeros(np.shape(value) + x_shape)
            for idx, col in columns.items():
                jac[(Ellipsis,) + idx] = col
        else:
            out_shape = np.shape(func(*_fresh_args(args)))
            jac = np.zeros(out_shape + x_shape)
            for idx in np.ndindex(*out_shape):
                e = np.zeros(out_shape)
                e[idx] = 1.0
                row = transform.call_with(args, {"seed": e if out_shape else 1.0})
                jac[idx] = row
        return cast(jac if jac.shape else float(jac), narrow_dtype(x))

    return _Rebuildable(J, jacobian, func, wrt, mode, backend=backend)


def jacfwd(func, wrt=0, *, backend: str = "python"):
    return jacobian(func, wrt, mode="fwd", backend=backend)


def jacrev(func, wrt=0, *, backend: str = "python"):
    return jacobian(func, wrt, mode="rev", backend=backend)
