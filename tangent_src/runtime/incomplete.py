"""The derivatives of the regularized incomplete gamma and beta functions with respect to
their shape parameters (scipy.special.gammainc's a, betainc's a and b), which have no
closed form: each is one integral of the density times a log term, computed with
scipy.integrate.quad over the shorter tail and checked against quad's own error estimate
(a result that does not meet it is refused, never returned).

    d/da P(a, x)     =  integral_0^x f(t) (log t - psi(a)) dt,  f the Gamma(a) density
                     = -integral_x^inf f(t) (log t - psi(a)) dt (the same number)
    d/da I_x(a, b)   =  integral_0^x g(t) (log t - psi(a) + psi(a + b)) dt, g the Beta density
    d/db I_x(a, b)   =  integral_0^x g(t) (log(1 - t) - psi(b) + psi(a + b)) dt
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .refusals import refuse

_TOL = 1e-9  # the absolute error quad must certify


def _quad(func, lo, hi, name: str, **weight) -> float:
    """quad's value, refused unless its error estimate is within _TOL."""
    from scipy.integrate import quad

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quad's warnings: its error estimate decides
        value, err = quad(func, lo, hi, epsabs=1e-13, epsrel=1e-12, limit=200, **weight)
    if not np.isfinite(value) or err > _TOL:
        refuse(f"the derivative of {name}: the integral did not converge to 1e-9 "
               f"(estimated error {err:.2g})")
    return value


def _gamma_da(a: float, x: float) -> float:
    from scipy.special import digamma, gammaln

    if not (a > 0) or np.isnan(x):
        return float("nan")
    if x <= 0 or np.isinf(x):  # P(a, x) is 0 (the cdf below its support) or 1 there
        return 0.0
    shift = digamma(a)
    lg = gammaln(a)

    def integrand(t):
        return math.exp((a - 1.0) * math.log(t) - t - lg) * (math.log(t) - shift) if t > 0 \
            else 0.0

    if x <= a:
        return _quad(integrand, 0.0, x, "scipy.special.gammainc in a")
    return -_quad(integrand, x, np.inf, "scipy.special.gammainc in a")


def _beta_dab(a: float, b: float, x: float, wrt_a: bool) -> float:
    from scipy.special import betaln, digamma

    if not (a > 0 and b > 0) or np.isnan(x):
        return float("nan")
    if x <= 0.0 or x >= 1.0:  # the cdf outside the support: constant 0 or 1
        return 0.0
    shift = (digamma(a) if wrt_a else digamma(b)) - digamma(a + b)
    lb = betaln(a, b)

    def integrand(t):
        if t <= 0.0 or t >= 1.0:
            return 0.0
        log_t, log_1t = math.log(t), math.log1p(-t)
        weight = math.exp((a - 1.0) * log_t + (b - 1.0) * log_1t - lb)
        return weight * ((log_t if wrt_a else log_1t) - shift)

    name = f"scipy.special.betainc in {'a' if wrt_a else 'b'}"
    lower = x <= a / (a + b)
    if (lower and a < 1.0) or (not lower and b < 1.0):  # a singular end: quad's weights
        return _beta_singular(a, b, x, wrt_a, lower, shift, lb, name)
    if lower:
        return _quad(integrand, 0.0, x, name)
    return -_quad(integrand, x, 1.0, name)


def _beta_singular(a, b, x, wrt_a, lower, shift, lb, name) -> float:
    """The betainc shape derivative over the tail [0, x] with a < 1 (the factor t^(a - 1)
    and log t as quad's algebraic and log weights) or [x, 1] with b < 1 ((1 - t)^(b - 1),
    log(1 - t))."""
    scale = math.exp(-lb)
    if lower:
        def smooth(t):
            return scale * math.exp((b - 1.0) * math.log1p(-t))
        alg = dict(weight="alg", wvar=(a - 1.0, 0.0))
        logs = dict(weight="alg-loga", wvar=(a - 1.0, 0.0))
        if wrt_a:  # integral of t^(a-1) s(t) (log t - shift)
            return _quad(smooth, 0.0, x, name, **logs) - shift * _quad(smooth, 0.0, x, name,
                                                                       **alg)
        return _quad(lambda t: smooth(t) * (math.log1p(-t) - shift), 0.0, x, name, **alg)

    def smooth_hi(t):
        return scale * math.exp((a - 1.0) * math.log(t))
    alg = dict(weight="alg", wvar=(0.0, b - 1.0))
    logs = dict(weight="alg-logb", wvar=(0.0, b - 1.0))
    if wrt_a:
        return -_quad(lambda t: smooth_hi(t) * (math.log(t) - shift), x, 1.0, name, **alg)
    return -(_quad(smooth_hi, x, 1.0, name, **logs) - shift * _quad(smooth_hi, x, 1.0, name,
                                                                    **alg))


def gammainc_da(a, x):
    """d/da of scipy.special.gammainc(a, x), elementwise over the broadcast arguments."""
    a_b, x_b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(x, dtype=float))
    out = np.array([_gamma_da(float(p), float(q)) for p, q in zip(a_b.ravel(), x_b.ravel())])
    return out.reshape(a_b.shape)


def betainc_dab(a, b, x, wrt="a"):
    """d/da (wrt="a") or d/db (wrt="b") of scipy.special.betainc(a, b, x), elementwise."""
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, x)))
    out = np.array([_beta_dab(float(p), float(q), float(r), wrt == "a")
                    for p, q, r in zip(*(v.ravel() for v in arrays))])
    return out.reshape(arrays[0].shape)


HELPERS = ("gammainc_da", "betainc_dab")
