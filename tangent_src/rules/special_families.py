"""scipy.special, more families: Bessel functions of every kind (j, y, i, k and the scaled
ie, ke; any order), the incomplete gamma and beta functions and their inverses in the last
argument, rgamma, poch, binom, powm1, cosm1, huber and pseudo_huber.

Bessel derivatives come from the recurrences (runtime `bessel`, `bessel_coef`: a closed
family, so every order of derivative has rules); the incomplete functions' derivatives
in x are their densities (with `lgamma_np`); in the shape parameters (gammainc's a,
betainc's a and b) integrals computed by runtime/incomplete.py. Derivatives with no rule
(a Bessel order, second derivatives in a shape parameter) are refused when they are needed,
never zero.
"""
from __future__ import annotations

import numpy as np

from .. import runtime as rt
from .optional import optional_module
from .registry import REGISTRY, nondifferentiable, register_template

sp = optional_module("scipy.special")  # SciPy is optional

A, T = REGISTRY.adjoints, REGISTRY.tangents
_EARLIER = {id(t) for t in A.values()}
_POLYGAMMA = "derivatives through polygamma_np (NumPy; ~1e-15 relative for x > 0)"

# f: derivative of y = f(x) with respect to x
UNARY = {sp.rgamma: "-y * polygamma_np(0, x)", sp.cosm1: "-np.sin(x)"}
for _f, _deriv in UNARY.items():
    register_template(A, _f, "y, x", f"d[x] = d[y] * ({_deriv})")
    register_template(T, _f, "y, x", f"d[y] = d[x] * ({_deriv})")

# f: (dy/da, dy/db) for y = f(a, b), broadcasting undone by unbroadcast
BINARY = {
    sp.poch: ("y * (polygamma_np(0, a + b) - polygamma_np(0, a))", "y * polygamma_np(0, a + b)"),
    sp.binom: ("y * (polygamma_np(0, a + 1.0) - polygamma_np(0, a - b + 1.0))",
               "y * (polygamma_np(0, a - b + 1.0) - polygamma_np(0, b + 1.0))"),
    sp.powm1: ("b * np.power(a, b - 1.0)", "(y + 1.0) * np.log(a)"),
    sp.huber: ("np.where(np.abs(b) <= a, 0.0, np.abs(b) - a)", "np.clip(b, -a, a)"),
    sp.pseudo_huber: ("2.0 * y / a - b * b / (a * np.sqrt(1.0 + (b / a) ** 2))",
                      "b / np.sqrt(1.0 + (b / a) ** 2)"),
}
for _f, (_da, _db) in BINARY.items():
    register_template(A, _f, "y, a, b",
                      f"d[a] = unbroadcast(d[y] * ({_da}), a)\n"
                      f"d[b] = unbroadcast(d[y] * ({_db}), b)\n")
    register_template(T, _f, "y, a, b", f"d[y] = d[a] * ({_da})\nd[y] = d[b] * ({_db})\n")

# Functions differentiable in their last argument only: (parameters, d/d(last argument),
# the parameters whose derivative has no closed form and is refused when it is needed).
_GAMMA_DENSITY = "np.exp((a - 1.0) * np.log(x) - x - lgamma_np(a))"   # d gammainc / dx
_BETA_DENSITY = ("np.exp((a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-x) + lgamma_np(a + b)"
                 " - lgamma_np(a) - lgamma_np(b))")                      # d betainc / dx
_GAMMA_INVERSE = "np.exp(y - (a - 1.0) * np.log(y) + lgamma_np(a))"     # 1 / density at y
LAST_ONLY = {
    sp.gammainc: ("y, a, x", _GAMMA_DENSITY),
    sp.gammaincc: ("y, a, x", f"-{_GAMMA_DENSITY}"),
    sp.gammaincinv: ("y, a, x", _GAMMA_INVERSE),
    sp.gammainccinv: ("y, a, x", f"-{_GAMMA_INVERSE}"),
    sp.betainc: ("y, a, b, x", _BETA_DENSITY),
}
# the shape parameters' derivatives: integrals (runtime/incomplete.py, certified by quad's
# error estimate); an inverse's by the implicit function theorem, -P_a / P_x at the result
_P_A = "gammainc_da(a, y)"
SHAPE_SLOPES = {
    sp.gammainc: {"a": "gammainc_da(a, x)"}, sp.gammaincc: {"a": "-gammainc_da(a, x)"},
    sp.gammaincinv: {"a": f"-{_P_A} * {_GAMMA_INVERSE}"},
    sp.gammainccinv: {"a": f"-{_P_A} * {_GAMMA_INVERSE}"},
    sp.betainc: {"a": "betainc_dab(a, b, x, 'a')", "b": "betainc_dab(a, b, x, 'b')"},
}
for _f, (_params, _slope) in LAST_ONLY.items():
    _shapes = SHAPE_SLOPES[_f]
    register_template(A, _f, _params,
                      f"d[x] = unbroadcast(d[y] * ({_slope}), x)\n" + "".join(
                          f"d[{p}] = unbroadcast(d[y] * ({e}), {p})\n" for p, e in _shapes.items()))
    register_template(T, _f, _params, f"d[y] = d[x] * ({_slope})\n" + "".join(
        f"d[y] = d[{p}] * ({e})\n" for p, e in _shapes.items()))

# their derivatives in x are closed forms (the density times the log term); in the shape
# parameters again (a second derivative in a or b) they are refused when needed
_SECOND = "a second derivative of the incomplete gamma / beta function in its shape parameters"
_DX_GAMMA = f"{_GAMMA_DENSITY} * (np.log(x) - polygamma_np(0, a))"
register_template(A, rt.gammainc_da, "y, a, x",
                  f"d[x] = unbroadcast(d[y] * ({_DX_GAMMA}), x)\n"
                  f"d[a] = derivative_refused({_SECOND!r}, d[y])\n")
register_template(T, rt.gammainc_da, "y, a, x",
                  f"d[y] = d[x] * ({_DX_GAMMA})\nd[y] = derivative_refused({_SECOND!r}, d[a])\n")
_DX_BETA = (f"{_BETA_DENSITY} * (np.where(wrt == 'a', np.log(x), np.log1p(-x)) - "
            "polygamma_np(0, np.where(wrt == 'a', a, b)) + polygamma_np(0, a + b))")
register_template(A, rt.betainc_dab, "y, a, b, x, wrt='a'",
                  f"d[x] = unbroadcast(d[y] * ({_DX_BETA}), x)\n"
                  f"d[a] = derivative_refused({_SECOND!r}, d[y])\n"
                  f"d[b] = derivative_refused({_SECOND!r}, d[y])\n")
register_template(T, rt.betainc_dab, "y, a, b, x, wrt='a'",
                  f"d[y] = d[x] * ({_DX_BETA})\n"
                  f"d[y] = derivative_refused({_SECOND!r}, d[a])\n"
                  f"d[y] = derivative_refused({_SECOND!r}, d[b])\n")
nondifferentiable(sp.gammasgn)


# Bessel functions f_v(x): d/dx by the recurrences (runtime `bessel`, `bessel_coef`).
def _bessel_slope(kind: str, v: str) -> str:
    c0, c1, c2, c3 = (rt.bessel_coef(kind, k) for k in range(4))
    own = f" + ({c2} * np.sign(x) + {c3}) * y" if (c2, c3) != (0.0, 0.0) else ""
    return f"{c0} * bessel('{kind}', {v} - 1, x) + {c1} * bessel('{kind}', {v} + 1, x){own}"


BESSEL_FIXED = {sp.j0: ("j", 0), sp.j1: ("j", 1), sp.y0: ("y", 0), sp.y1: ("y", 1),
                sp.i0: ("i", 0), sp.i1: ("i", 1), sp.i0e: ("ie", 0), sp.i1e: ("ie", 1),
                sp.k0: ("k", 0), sp.k1: ("k", 1), sp.k0e: ("ke", 0), sp.k1e: ("ke", 1),
                np.i0: ("i", 0)}
for _f, (_kind, _v) in BESSEL_FIXED.items():
    register_template(A, _f, "y, x", f"d[x] = d[y] * ({_bessel_slope(_kind, str(_v))})")
    register_template(T, _f, "y, x", f"d[y] = d[x] * ({_bessel_slope(_kind, str(_v))})")
# any order v: d/dv has no rule (jn and yn take an integer order; a varying one is refused
# too, never a silent zero)
BESSEL_ORDER = {sp.jn: "j", sp.yn: "y", sp.jv: "j", sp.yv: "y", sp.iv: "i", sp.kv: "k",
                sp.ive: "ie", sp.kve: "ke"}
for _f, _kind in BESSEL_ORDER.items():
    _msg = f"scipy.special.{_f.__name__}: no derivative rule with respect to the order v"
    _adj = (f"d[x] = unbroadcast(d[y] * ({_bessel_slope(_kind, 'v')}), x)\n"
            f"d[v] = derivative_refused({_msg!r}, d[y])\n")
    _tan = (f"d[y] = d[x] * ({_bessel_slope(_kind, 'v')})\n"
            f"d[y] = derivative_refused({_msg!r}, d[v])\n")
    register_template(A, _f, "y, v, x", _adj)
    register_template(T, _f, "y, v, x", _tan)

# the runtime helpers above, so that generated derivatives have derivatives again
_ORDER_MSG = "bessel: no derivative rule with respect to the order v"
register_template(A, rt.bessel, "y, kind, v, x",
                  "d[x] = unbroadcast(d[y] * (bessel_coef(kind, 0) * bessel(kind, v - 1, x) + "
                  "bessel_coef(kind, 1) * bessel(kind, v + 1, x) + (bessel_coef(kind, 2) * "
                  "np.sign(x) + bessel_coef(kind, 3)) * y), x)\n"
                  f"d[v] = derivative_refused({_ORDER_MSG!r}, d[y])\n")
register_template(T, rt.bessel, "y, kind, v, x",
                  "d[y] = d[x] * (bessel_coef(kind, 0) * bessel(kind, v - 1, x) + "
                  "bessel_coef(kind, 1) * bessel(kind, v + 1, x) + (bessel_coef(kind, 2) * "
                  "np.sign(x) + bessel_coef(kind, 3)) * y)\n"
                  f"d[y] = derivative_refused({_ORDER_MSG!r}, d[v])\n")
register_template(A, rt.lgamma_np, "y, x", "d[x] = d[y] * polygamma_np(0, x)")
register_template(T, rt.lgamma_np, "y, x", "d[y] = d[x] * polygamma_np(0, x)")
nondifferentiable(rt.bessel_coef)

# conventions shown in docs/coverage.md (scripts/coverage.py reads NOTES of rule modules)
_SHAPES = ("; a, b: an integral by scipy.integrate.quad, certified to 1e-9 by its error "
           "estimate (else refused); second derivatives in a, b refused")
NOTES = {
    sp.gammainc: "wrt x and a" + _SHAPES, sp.gammaincc: "wrt x and a" + _SHAPES,
    sp.gammaincinv: "wrt y and a (implicit)" + _SHAPES,
    sp.gammainccinv: "wrt y and a (implicit)" + _SHAPES,
    sp.betainc: "wrt x, a and b" + _SHAPES, sp.rgamma: _POLYGAMMA, sp.poch: _POLYGAMMA,
    sp.binom: _POLYGAMMA + "; real n, k",
    **{_f: "wrt x (recurrences in the order); the order refused" for _f in BESSEL_ORDER},
    sp.huber: "wrt delta and r (piecewise)", sp.pseudo_huber: "wrt delta and r",
}

# the callables this module registers (tests/test_rules_gap.py checks each one)
CALLABLES = tuple(key for key, t in A.items() if id(t) not in _EARLIER)
