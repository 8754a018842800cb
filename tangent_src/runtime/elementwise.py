"""Factors of elementwise derivatives that need care at the edges of their domain: np.clip's
masks (`clip_part`), 1 / x and log(x) taken as 0 at 0 (`reciprocal_or_zero`, `log_or_zero`),
and the derivatives of a ** b of every order (`pow_term`, `falling`, `power_slope`). 0-d
results stay NumPy scalars."""
from __future__ import annotations

import numpy as np


def clip_part(a, a_min, a_max, part, min=None, max=None):
    """Where np.clip(a, a_min, a_max) takes its value from `part` ("a", "lo" or "hi"), as
    0/1 floats of the result's shape; `a` wins ties. `min`/`max` are NumPy 2's spellings."""
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    a = np.asarray(a)
    low = a if lo is None else np.maximum(a, lo)
    from_hi = np.zeros(np.shape(low), dtype=bool) if hi is None else low > hi
    from_lo = np.zeros(np.shape(low), dtype=bool) if lo is None else (lo > a) & ~from_hi
    mask = {"a": ~(from_hi | from_lo), "lo": from_lo, "hi": from_hi}[part]
    shape = np.broadcast_shapes(np.shape(a), np.shape(lo), np.shape(hi))
    out = np.broadcast_to(mask, shape).astype(float)
    return out if shape else out[()]


def _elementwise(out):
    """A 0-d result as a NumPy scalar (the helpers below keep scalars scalar)."""
    return out[()] if np.ndim(out) == 0 else out


def reciprocal_or_zero(x):
    """1 / x, taken as 0 where x == 0: the factor 1 / |v| of the derivative v / |v| of a norm,
    std or hypot, whose numerator is 0 there too (the subgradient of least norm, 0)."""
    x = np.asarray(x) + 0.0
    zero = x == 0
    return _elementwise(np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, x)))


def log_or_zero(x):
    """log(x), taken as 0 where x == 0: the factor of d/db a**b = a**b log(a), which JAX
    takes as 0 at a = 0 (a**b is 0 there for every b > 0)."""
    x = np.asarray(x) + 0.0
    zero = x == 0
    return _elementwise(np.where(zero, 0.0, np.log(np.where(zero, 1.0, x))))


def pow_term(a, e):
    """a ** e in floating point without warnings or ZeroDivisionError (0 ** -1 is inf)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _elementwise(np.power(np.asarray(a) + 0.0, e))


def falling(b, n, m=0):
    """The m-th derivative in b of the falling factorial b (b - 1) ... (b - n + 1) (n
    factors): the coefficient of the n-th derivative of a ** b."""
    coefficients = np.polyder(np.poly(np.arange(int(n), dtype=float)), int(m)) \
        if int(m) else np.poly(np.arange(int(n), dtype=float))
    return _elementwise(np.polyval(np.atleast_1d(coefficients), np.asarray(b) + 0.0))


def power_slope(a, b, n=1):
    """The n-th derivative of a ** b in a: falling(b, n) * a ** (b - n), taken as 0 where
    falling(b, n) is 0 (b = 0, 1, ..., n - 1: a ** b is then a polynomial of degree below
    n, also at a = 0, where the formula reads 0 * inf)."""
    coefficient = np.asarray(falling(b, n))
    zero = coefficient == 0
    exponent = np.where(zero, 1.0, np.asarray(b) - n)
    return _elementwise(np.where(zero, 0.0, coefficient * pow_term(a, exponent)))


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("clip_part", "reciprocal_or_zero", "log_or_zero", "pow_term", "falling", "power_slope")
