"""The derivatives of `tangent_src.fixed_point` by implicit differentiation.

Notation: x = fixed_point(f, a, x0, distance, tol) satisfies x = S(a, x) with the step
S(a, x) = f(a)(x); S_a and S_x are its Jacobians at (a, x). Differentiating x = S(a, x):
- forward: dx = S_x dx + S_a da, solved by iterating v <- S_a da + S_x v (`_solve_tangent`);
- reverse: da = S_a^T w with w = g + S_x^T w, iterated the same way (`_solve_adjoint`).
Both iterations converge where the fixed point is attracting (the spectral radius of S_x
below 1), as the primal iteration does; they stop by the user's `distance` and `tol`.

The second derivatives differentiate these formulas once more (the rules in
tangent_src/fixed_points.py): each needs a mixed second derivative of S, which tangent_src
builds by transforming its own first derivatives of S (`_Step`). Third derivatives are
refused when they run. S is differentiated by tangent_src itself (imported when first
needed, as the odeint helpers do), so `f(a)` must be a function tangent_src can read.
"""
from __future__ import annotations

import numpy as np

_MAX_ITERATIONS = 100000  # a solve that has not converged by then is refused
_STEPS: dict = {}         # f -> _Step, so that a training loop generates S's code once


def _refusal(message: str):
    """Raise the refusal of a fixed_point derivative case (DerivativeNotImplementedError)."""
    from .refusals import refuse
    refuse(message)


def _zeros(like):
    from .accumulation import zeros_like
    return zeros_like(like)


class _Step:
    """S(a, x) = f(a)(x) as a function with source (f its global), and the transforms of
    it each derivative needs, built when first asked for."""

    def __init__(self, f):
        try:
            from ..derivative_support import make_transform
            from ..generated_source import define
        except ImportError:  # a standalone module: no tangent_src to differentiate f
            _refusal("the derivative of tangent_src.fixed_point needs tangent_src to "
                     "differentiate its step function (not available in a standalone module)")
        self._make = make_transform
        source = "def fixed_point_step(a, x):\n    return f(a)(x)\n"
        name = getattr(f, "__name__", "f")
        self.step = define(source, "fixed_point_step",
                           {"np": np, "f": f, "__name__": "tangent_src_fixed_point"},
                           f"fixed_point: the step of {name}")
        self._built: dict = {}

    def _transform(self, key: str):
        if key not in self._built:
            inner, mode = {"jvp": ("step", "forward"), "vjp": ("step", "reverse"),
                           "jvp_jvp": ("jvp", "forward"), "vjp_jvp": ("jvp", "reverse"),
                           "jvp_vjp": ("vjp", "forward")}[key]
            func = self.step if inner == "step" else self._transform(inner)
            self._built[key] = self._make(func, (0, 1), mode)
        return self._built[key]

    def jvp(self, a, x, da, dx):
        """S_a da + S_x dx (None: a zero tangent)."""
        da = _zeros(a) if da is None else da
        dx = np.zeros_like(np.asarray(x, dtype=float)) if dx is None else dx
        return self._transform("jvp").call_with((a, x), {0: da, 1: dx})

    def vjp(self, a, x, w) -> tuple:
        """(S_a^T w, S_x^T w)."""
        return tuple(self._transform("vjp").call_with((a, x), {"seed": w}))

    def jvp_jvp(self, a, x, da, dx, ea, ex):
        """The derivative of S_a da + S_x dx along (ea, ex), da and dx held fixed."""
        ea = _zeros(a) if ea is None else ea
        ex = np.zeros_like(np.asarray(x, dtype=float)) if ex is None else ex
        return self._transform("jvp_jvp").call_with((a, x, da, dx), {0: ea, 1: ex})

    def vjp_jvp(self, a, x, da, dx, z) -> tuple:
        """The gradient in (a, x) of z . (S_a da + S_x dx), da and dx held fixed."""
        return tuple(self._transform("vjp_jvp").call_with((a, x, da, dx), {"seed": z}))

    def jvp_vjp(self, a, x, w, ea, ex) -> tuple:
        """The derivative of (S_a^T w, S_x^T w) along (ea, ex), w held fixed."""
        ea = _zeros(a) if ea is None else ea
        ex = np.zeros_like(np.asarray(x, dtype=float)) if ex is None else ex
        return tuple(self._transform("jvp_vjp").call_with((a, x, w), {0: ea, 1: ex}))


def _step(f) -> _Step:
    if f not in _STEPS:
        if len(_STEPS) > 64:
            _STEPS.clear()
        _STEPS[f] = _Step(f)
    return _STEPS[f]


def _iterate(update, start, distance, tol, what: str):
    """The fixed point of the linear map `update` from `start`, stopped as the primal is."""
    current = start
    for _ in range(_MAX_ITERATIONS):
        new = update(current)
        if not distance(new, current) > tol:
            return new
        current = new
    _refusal(f"tangent_src.fixed_point: the {what} of the fixed point did not converge in "
             f"{_MAX_ITERATIONS} iterations (is the fixed point attracting?)")
    return current


def _solve_adjoint(step: _Step, a, x, rhs, distance, tol):
    """w = rhs + S_x^T w."""
    rhs = np.asarray(rhs, dtype=float)
    return _iterate(lambda w: rhs + step.vjp(a, x, w)[1], rhs, distance, tol, "adjoint")


def _solve_tangent(step: _Step, a, x, rhs, distance, tol):
    """v = rhs + S_x v."""
    rhs = np.asarray(rhs, dtype=float)
    return _iterate(lambda v: rhs + step.jvp(a, x, None, v), rhs, distance, tol,
                    "tangent")


def fixed_point_vjp(g, x, f, a, distance, tol):
    """The adjoint of `a` for the cotangent `g` of x = fixed_point(f, a, ...): S_a^T w."""
    step = _step(f)
    w = _solve_adjoint(step, a, x, g, distance, tol)
    return step.vjp(a, x, w)[0]


def fixed_point_jvp(da, x, f, a, distance, tol):
    """The tangent of x = fixed_point(f, a, ...) along the tangent `da` of `a`."""
    if da is None:
        return np.zeros_like(np.asarray(x, dtype=float))
    step = _step(f)
    return _solve_tangent(step, a, x, step.jvp(a, x, da, None), distance, tol)


def fixed_point_vjp_back(c, g, x, f, a, distance, tol) -> tuple:
    """(d g, d a, d x) of r = fixed_point_vjp(g, x, f, a, ...) for the cotangent c of r:
    d g = (I - S_x)^-1 S_a c, and (d a, d x) the gradient of w . (S_a c + S_x dg)."""
    step = _step(f)
    w = _solve_adjoint(step, a, x, g, distance, tol)
    u = fixed_point_jvp(c, x, f, a, distance, tol)
    da, dx = step.vjp_jvp(a, x, c, u, w)
    return u, da, dx


def fixed_point_vjp_dot(dg, dx, da, g, x, f, a, distance, tol):
    """The tangent of r = fixed_point_vjp(g, x, f, a, ...) along (dg, dx, da):
    S_a^T dw + r_a with (r_a, r_x) the derivative of (S_a^T w, S_x^T w) along (da, dx) and
    dw = (I - S_x^T)^-1 (dg + r_x)."""
    from .accumulation import plus
    step = _step(f)
    w = _solve_adjoint(step, a, x, g, distance, tol)
    r_a, r_x = step.jvp_vjp(a, x, w, da, dx)
    rhs = r_x if dg is None else plus(dg, r_x)
    dw = _solve_adjoint(step, a, x, rhs, distance, tol)
    return plus(step.vjp(a, x, dw)[0], r_a)


def fixed_point_jvp_back(c, da, x, f, a, distance, tol) -> tuple:
    """(d da, d a, d x) of v = fixed_point_jvp(da, x, f, a, ...) for the cotangent c of v:
    with z = (I - S_x^T)^-1 c, d da = S_a^T z and (d a, d x) the gradient of
    z . (S_a da + S_x v)."""
    step = _step(f)
    z = _solve_adjoint(step, a, x, c, distance, tol)
    v = fixed_point_jvp(da, x, f, a, distance, tol)
    ga, gx = step.vjp_jvp(a, x, da, v, z)
    return step.vjp(a, x, z)[0], ga, gx


def fixed_point_jvp_dot(dda, dx, dav, da, x, f, a, distance, tol):
    """The tangent of v = fixed_point_jvp(da, x, f, a, ...) along (dda, dx, dav) (the
    tangents of da, x and a): (I - S_x)^-1 (S_a dda + q), q the derivative of
    S_a da + S_x v along (dav, dx)."""
    step = _step(f)
    if da is None:
        v = np.zeros_like(np.asarray(x, dtype=float))
        da = _zeros(a)
    else:
        v = fixed_point_jvp(da, x, f, a, distance, tol)
    rhs = step.jvp_jvp(a, x, da, v, dav, dx)
    if dda is not None:
        rhs = rhs + step.jvp(a, x, dda, None)
    return _solve_tangent(step, a, x, rhs, distance, tol)


def fixed_point_third(x):
    """The derivative of a second-derivative helper of fixed_point: refused."""
    _refusal("third derivatives of tangent_src.fixed_point (its rules give first and "
             "second derivatives)")
    return x


HELPERS = ("fixed_point_vjp", "fixed_point_jvp", "fixed_point_vjp_back",
           "fixed_point_vjp_dot", "fixed_point_jvp_back", "fixed_point_jvp_dot",
           "fixed_point_third")
