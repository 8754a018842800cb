"""`fixed_point(f, a, x0, distance, tol)`: the fixed point x = f(a)(x) found by iteration
from x0 (autograd's `autograd.misc.fixed_points.fixed_point`, same signature), with
derivatives in `a` by implicit differentiation rather than through the iterations.

x* satisfies x* = S(a, x*) with S(a, x) = f(a)(x), so dx*/da = (I - S_x)^-1 S_a: reverse
mode solves w = g + S_x^T w and returns S_a^T w, forward mode solves v = S_a da + S_x v,
each by the same kind of iteration, stopped by the same `distance` and `tol`
(runtime/fixed_points.py). The derivative ignores x0 (the fixed point does not depend on
it) and is as accurate as `tol` lets the iterations be. First and second derivatives, both
modes; a third is refused when it runs.

    def newton_step(a):
        return lambda x: 0.5 * (x + a / x)

    def my_sqrt(a):
        return fixed_point(newton_step, a, 1.0, lambda x, y: np.abs(x - y), 1e-12)

    grad(my_sqrt)(2.0)          # 0.5 / sqrt(2)
    grad(grad(my_sqrt))(2.0)    # -0.25 * 2 ** -1.5
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import runtime as rt
from .errors import InvalidArgumentTypeError
from .rules.registry import REGISTRY, nondifferentiable, register_template


def fixed_point(f: Callable, a, x0, distance: Callable, tol: float):
    """Iterate x <- f(a)(x) from x0 until distance(x, previous x) <= tol; return x
    (autograd's `autograd.misc.fixed_points.fixed_point`, same signature).

    `f` is curried: `f(a)` returns the step function of x (a module-level function of `a`
    returning a lambda or nested function tangent_src can read); `a` may be a number, an
    array or a tuple/list/dict of them. `distance(x, y)` returns a scalar (np.abs(x - y)
    for numbers, a norm for arrays). Differentiable in `a` by implicit differentiation, not
    through the iterations: with S(a, x) = f(a)(x), dx/da = (I - S_x)^-1 S_a, solved by
    the same kind of iteration and stopped by the same `distance` and `tol` (so the
    derivative is about as accurate as `tol` makes x). First and second derivatives in
    both modes (grad, grad(grad), hvp, hessian, forward mode); a third derivative is
    refused when it runs. x0 gets no gradient (the fixed point does not depend on it).

        def newton_step(a):
            return lambda x: 0.5 * (x + a / x)

        def my_sqrt(a):
            return fixed_point(newton_step, a, 1.0, lambda x, y: np.abs(x - y), 1e-12)

        grad(my_sqrt)(2.0)          # 0.5 / sqrt(2)
        grad(grad(my_sqrt))(2.0)    # -0.25 * 2 ** -1.5
    """
    if not callable(f):
        raise InvalidArgumentTypeError(
            f"fixed_point: f must be a function of a returning the step function of x "
            f"(f(a)(x)), got {type(f).__name__}")
    if not callable(distance):
        raise InvalidArgumentTypeError(
            f"fixed_point: distance must be a function distance(x, y) returning a scalar, "
            f"got {type(distance).__name__}")
    step = f(a)
    if not callable(step):
        raise InvalidArgumentTypeError(
            f"fixed_point: f(a) must return the step function of x (f is curried: "
            f"f(a)(x)), but {getattr(f, '__name__', 'f')}(a) returned "
            f"{type(step).__name__}")
    previous, x = x0, step(x0)
    while _apart(distance(x, previous), tol):
        previous, x = x, step(x)
    return x


def _apart(gap, tol) -> bool:
    """Whether the iteration goes on: distance's value is a scalar above tol."""
    if np.ndim(gap) != 0:
        raise InvalidArgumentTypeError(
            f"fixed_point: distance(x, y) must return a scalar, got an array of shape "
            f"{np.shape(gap)} (use a norm: np.max(np.abs(x - y)))")
    return bool(gap > tol)


A, T = REGISTRY.adjoints, REGISTRY.tangents
_ARGS = "distance, tol"
register_template(A, fixed_point, "y, f, a, x0, distance, tol",
                  f"d[a] = fixed_point_vjp(d[y], y, f, a, {_ARGS})\n")
register_template(T, fixed_point, "y, f, a, x0, distance, tol",
                  f"d[y] = fixed_point_jvp(d[a], y, f, a, {_ARGS})\n")

# second derivatives: the derivatives of the first-derivative helpers
register_template(A, rt.fixed_point_vjp, "r, g, x, f, a, distance, tol",
                  f"h = fixed_point_vjp_back(d[r], g, x, f, a, {_ARGS})\n"
                  "d[g] = h[0]\nd[a] = h[1]\nd[x] = h[2]\n")
register_template(T, rt.fixed_point_vjp, "r, g, x, f, a, distance, tol",
                  f"d[r] = fixed_point_vjp_dot(d[g], d[x], d[a], g, x, f, a, {_ARGS})\n")
register_template(A, rt.fixed_point_jvp, "r, da, x, f, a, distance, tol",
                  f"h = fixed_point_jvp_back(d[r], da, x, f, a, {_ARGS})\n"
                  "d[da] = h[0]\nd[a] = h[1]\nd[x] = h[2]\n")
register_template(T, rt.fixed_point_jvp, "r, da, x, f, a, distance, tol",
                  f"d[r] = fixed_point_jvp_dot(d[da], d[x], d[a], da, x, f, a, {_ARGS})\n")

# third derivatives: refused when they run
_SECOND = {rt.fixed_point_vjp_back: ("c", "g"), rt.fixed_point_vjp_dot: ("dg", "dx", "da", "g"),
           rt.fixed_point_jvp_back: ("c", "da"), rt.fixed_point_jvp_dot: ("dda", "dx", "dav", "da")}
for _helper, _own in _SECOND.items():
    _params = ", ".join(_own + ("x", "f", "a", "distance", "tol"))
    _active = _own + ("x", "a")
    register_template(A, _helper, f"r, {_params}",
                      "".join(f"d[{p}] = fixed_point_third({p})\n" for p in _active))
    register_template(T, _helper, f"r, {_params}",
                      "".join(f"d[r] = fixed_point_third(d[{p}])\n" for p in _active))
nondifferentiable(rt.fixed_point_third)

# shown in docs/coverage.md (scripts/coverage.py reads a template's notes)
A[fixed_point].notes = (
    "with respect to a (a number, array or pytree; x0 gets none) by implicit "
    "differentiation: reverse mode iterates w = g + S_x^T w, forward mode v = S_a da + S_x v "
    "(S(a, x) = f(a)(x), differentiated by tangent_src), stopped by the call's distance and "
    "tol; second derivatives too; a third is refused")
