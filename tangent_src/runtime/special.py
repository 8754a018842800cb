"""Special functions written in NumPy for the rules of np.sinc and scipy.special
(`sinc_derivative`, `polygamma_np`: digamma and its derivatives, `lgamma_np`), the Bessel
functions of every kind in one helper (`bessel`, `bessel_coef`: their derivatives by the
recurrences) and logsumexp's optional weights (`one_if_none`)."""
from __future__ import annotations

import numpy as np

from .refusals import real_values


def sinc_derivative(x, n):
    """The n-th derivative of np.sinc at x: a Maclaurin series near 0, Leibniz's rule for
    sin(u) * (1/u) elsewhere; exact at 0 to every order."""
    import math
    u = np.pi * real_values(x)
    small = np.abs(u) < 1.0
    us, ul = np.where(small, u, 0.0), np.where(small, 1.0, u)
    series = np.zeros(np.shape(u))
    for j in range((n + 1) // 2, (n + 1) // 2 + 20):
        coef = (-1) ** j * math.factorial(2 * j) / (
            math.factorial(2 * j - n) * math.factorial(2 * j + 1))
        series = series + coef * us ** (2 * j - n)
    leibniz = np.zeros(np.shape(u))
    for k in range(n + 1):
        m = n - k
        leibniz = leibniz + math.comb(n, k) * np.sin(ul + k * np.pi / 2) * (
            (-1) ** m * math.factorial(m) / ul ** (m + 1))
    out = np.where(small, series, leibniz) * np.pi ** n
    return out if np.ndim(x) else out[()]


def polygamma_np(n, x):
    """The polygamma function psi^(n)(x) (n = 0: digamma), in NumPy: shifted by the recurrence
    psi^(n)(x) = psi^(n)(x + 1) - (-1)^n n! / x^(n + 1) until x >= 12 + n, then the
    asymptotic series (relative error ~1e-16 for x > 0; poles at 0, -1, -2, ...)."""
    import math
    n = int(n)
    x = real_values(x)
    start = 12.0 + n
    shift = np.where(np.isfinite(x), np.maximum(np.ceil(start - x), 0.0), 0.0)
    total = np.zeros(np.shape(x))
    sign = -1.0 if n % 2 else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(int(np.max(shift, initial=0.0))):
            here = k < shift
            xk = np.where(here, x + k, 1.0)
            total = total - np.where(here, sign * math.factorial(n) / xk ** (n + 1), 0.0)
        z = x + shift
        bernoulli = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6,
                     -3617 / 510, 43867 / 798, -174611 / 330)
        if n == 0:
            series = np.log(z) - 0.5 / z
            for k, b in enumerate(bernoulli, start=1):
                series = series - b / (2 * k * z ** (2 * k))
        else:
            series = math.factorial(n - 1) / z ** n + math.factorial(n) / (2 * z ** (n + 1))
            for k, b in enumerate(bernoulli, start=1):
                series = series + b * math.factorial(2 * k + n - 1) / (
                    math.factorial(2 * k) * z ** (2 * k + n))
            series = series * (1.0 if n % 2 else -1.0)
    out = total + series
    return out if np.ndim(out) else out[()]


def one_if_none(b):
    """b, or 1.0 for None (logsumexp's optional weights)."""
    return 1.0 if b is None else b


def lgamma_np(x):
    """log |Gamma(x)| elementwise, from math.lgamma (no SciPy needed): the normalizing
    constants of the incomplete gamma and beta functions' slopes."""
    import math
    x = real_values(x)
    out = np.vectorize(math.lgamma, otypes=[float])(x)
    return out if np.ndim(out) else out[()]


# kind -> (scipy.special function, its coefficients in the recurrence for d/dx f_v(x):
# c0 f_{v-1} + c1 f_{v+1} + (c2 sign(x) + c3) f_v)
_BESSEL = {"j": ("jv", (0.5, -0.5, 0.0, 0.0)), "y": ("yv", (0.5, -0.5, 0.0, 0.0)),
           "i": ("iv", (0.5, 0.5, 0.0, 0.0)), "k": ("kv", (-0.5, -0.5, 0.0, 0.0)),
           "ie": ("ive", (0.5, 0.5, -1.0, 0.0)), "ke": ("kve", (-0.5, -0.5, 0.0, 1.0))}


def bessel(kind, v, x):
    """The Bessel function of `kind` ('j', 'y', 'i', 'k', and the exponentially scaled
    'ie' = iv(v, x) exp(-|x|), 'ke' = kv(v, x) exp(x)) of order v at x, from SciPy: the
    functions the derivatives of scipy.special.j0, ..., kve are written with."""
    import scipy.special
    return getattr(scipy.special, _BESSEL[kind][0])(v, x)


def bessel_coef(kind, k):
    """Coefficient k of d/dx bessel(kind, v, x) = c0 bessel(kind, v - 1, x) +
    c1 bessel(kind, v + 1, x) + (c2 sign(x) + c3) bessel(kind, v, x)."""
    return _BESSEL[kind][1][k]


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("sinc_derivative", "polygamma_np", "one_if_none", "lgamma_np", "bessel",
           "bessel_coef")
