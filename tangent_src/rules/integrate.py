"""scipy.integrate.odeint with a user function as the dynamics: the adjoint-sensitivity
method in reverse mode and the sensitivity equations in forward mode (runtime/integrate.py),
with respect to the initial state y0, the time points t and the float values in `args`
(each entry a number, an array or a pytree of them: a list of (W, b) layers).

Both rules integrate with odeint itself, with the call's rtol/atol/mxstep/hmax/hmin, and
differentiate `func` with tangent_src (so it must be a function whose source tangent_src
can read, taking the values it is differentiated in through `args`; a nested function or an
inline lambda is refused by the front end). Second derivatives are refused when they run.
"""
from __future__ import annotations

from .. import runtime as rt
from .optional import optional_module
from .registry import REGISTRY, nondifferentiable, register_template

scipy = type("scipy", (), {"integrate": optional_module("scipy.integrate")})

A, T = REGISTRY.adjoints, REGISTRY.tangents
_EARLIER = {id(t) for t in A.values()}

_PARAMS = ("y, func, y0, t, args=(), Dfun=None, col_deriv=0, full_output=0, ml=None, "
           "mu=None, rtol=None, atol=None, tcrit=None, h0=0.0, hmax=0.0, hmin=0.0, ixpr=0, "
           "mxstep=0, mxhnil=0, mxordn=12, mxords=5, printmessg=0, tfirst=False")
_OPTIONS = ("tfirst=tfirst, full_output=full_output, rtol=rtol, atol=atol, mxstep=mxstep, "
            "hmax=hmax, hmin=hmin, mxordn=mxordn, mxords=mxords")
register_template(A, scipy.integrate.odeint, _PARAMS,
                  f"g = odeint_vjp(d[y], y, func, y0, t, args, {_OPTIONS})\n"
                  "d[y0] = g[0]\nd[t] = g[1]\nd[args] = g[2]\n")
register_template(T, scipy.integrate.odeint, _PARAMS,
                  f"d[y] = odeint_jvp(func, y0, t, args, d[y0], d[t], d[args], {_OPTIONS})\n")

# second derivatives: every derivative of the helpers is refused when it runs
_KW = ("tfirst=False, full_output=0, rtol=None, atol=None, mxstep=0, hmax=0.0, hmin=0.0, "
       "mxordn=12, mxords=5")
register_template(A, rt.odeint_vjp, f"r, g, y, func, y0, t, args=(), {_KW}",
                  "".join(f"d[{p}] = odeint_second({p})\n" for p in ("g", "y", "y0", "t", "args")))
register_template(T, rt.odeint_vjp, f"r, g, y, func, y0, t, args=(), {_KW}",
                  "".join(f"d[r] = odeint_second(d[{p}])\n" for p in ("g", "y", "y0", "t", "args")))
register_template(A, rt.odeint_jvp, f"r, func, y0, t, args, dy0, dt, dargs, {_KW}",
                  "".join(f"d[{p}] = odeint_second({p})\n"
                          for p in ("y0", "t", "args", "dy0", "dt", "dargs")))
register_template(T, rt.odeint_jvp, f"r, func, y0, t, args, dy0, dt, dargs, {_KW}",
                  "".join(f"d[r] = odeint_second(d[{p}])\n"
                          for p in ("y0", "t", "args", "dy0", "dt", "dargs")))
nondifferentiable(rt.odeint_second)

NOTES = {
    scipy.integrate.odeint: (
        "with respect to y0, t and the float values of `args`, each a number, an array or "
        "a tuple/list/dict of them such as a list of (W, b) layers (func a Python function "
        "tangent_src can differentiate, its active values passed through `args`): reverse "
        "mode solves the adjoint ODE backwards with odeint, forward mode the sensitivity "
        "equations; the call's rtol/atol apply to them; full_output=True and a y0 of more "
        "than one axis are refused; first derivatives only"),
}

# the callables this module registers (tests/test_rules_more.py checks each one)
CALLABLES = tuple(key for key, t in A.items() if id(t) not in _EARLIER)
