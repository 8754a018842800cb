"""scipy.stats: the module-level distributions' logpdf/pdf/cdf/logcdf/sf/logsf (logpmf/pmf).

The distributions are instances (`scipy.stats.norm` is an `rv_continuous`), so a rule's key
is the bound method `scipy.stats.norm.logpdf`; bound methods compare equal when their
instance and function are the same, so the registry finds `norm.logpdf` however the user
spells it (`from scipy.stats import norm`, `scipy.stats.norm`, `st.norm`).

Location-scale families are written through z = (x - loc) / scale and g = d log f / dz of
the standard density f: d/dx = g / scale, d/dloc = -g / scale, d/dscale = -(g z + 1) / scale.
The cdf family's derivatives are the density, exp(log f(z) - log(scale)), divided by the
result for logcdf/logsf (exp(log pdf - y): finite deep in the tails). Derivatives use only
NumPy and `polygamma_np`, so they have derivatives again. Frozen distributions
(`norm(0, 1).logpdf(x)`) are refused by the front end (a method call on a local value).
"""
from __future__ import annotations

import re

from .optional import optional_module
from .registry import REGISTRY, register_template

st = optional_module("scipy.stats")  # SciPy is optional

A, T = REGISTRY.adjoints, REGISTRY.tangents
_EARLIER = {id(t) for t in A.values()}
_LOG_SQRT_2PI = "0.9189385332046727"
_LOG_PI = "1.1447298858494002"
_LOG_2 = "0.6931471805599453"
_PSI = "polygamma_np(0, {})"

# distribution: (shape parameters, log f(z) of the standard density or None, g = dlogf/dz,
#                {shape parameter: d log f / d shape})
FAMILIES = {
    st.norm: ((), f"-0.5 * z * z - {_LOG_SQRT_2PI}", "-z", {}),
    st.logistic: ((), "-np.abs(z) - 2.0 * np.log1p(np.exp(-np.abs(z)))",
                  "-np.tanh(0.5 * z)", {}),
    st.laplace: ((), f"-np.abs(z) - {_LOG_2}", "-np.sign(z)", {}),
    st.cauchy: ((), f"-np.log1p(z * z) - {_LOG_PI}", "-2.0 * z / (1.0 + z * z)", {}),
    st.expon: ((), "np.where(z >= 0.0, -z, -np.inf)", "np.where(z >= 0.0, -1.0, 0.0)", {}),
    st.t: (("df",), None, "-(df + 1.0) * z / (df + z * z)",
           {"df": ("0.5 * polygamma_np(0, 0.5 * (df + 1.0)) - 0.5 * polygamma_np(0, 0.5 * df)"
                   " - 0.5 / df - 0.5 * np.log1p(z * z / df)"
                   " + 0.5 * (df + 1.0) * z * z / (df * (df + z * z))")}),
    st.gamma: (("a",), None, "(a - 1.0) / z - 1.0",
               {"a": "np.log(z) - polygamma_np(0, a)"}),
    st.chi2: (("df",), None, "(0.5 * df - 1.0) / z - 0.5",
              {"df": "0.5 * np.log(0.5 * z) - 0.5 * polygamma_np(0, 0.5 * df)"}),
    st.beta: (("a", "b"), None, "(a - 1.0) / z - (b - 1.0) / (1.0 - z)",
              {"a": "np.log(z) - polygamma_np(0, a) + polygamma_np(0, a + b)",
               "b": "np.log1p(-z) - polygamma_np(0, b) + polygamma_np(0, a + b)"}),
}

# method: (weight of the derivatives, whether they are the density's (cdf family))
_DENSITY_METHODS = {"logpdf": "1.0", "pdf": "y"}
_CDF_METHODS = {"cdf": "np.exp({lp})", "logcdf": "np.exp({lp} - y)",
                "sf": "-np.exp({lp})", "logsf": "-np.exp({lp} - y)"}


def _register(key, params: str, helpers: list, slopes: dict) -> None:
    """Both modes of an elementwise rule: y's slope with respect to each parameter, the
    adjoint undoing broadcasting (unbroadcast), the tangent a sum of terms. `helpers` are
    (name, expression) pairs: local statements of the adjoint, inlined in the tangent
    (whose templates are single expressions)."""
    adj = "".join(f"{n} = {e}\n" for n, e in helpers) + "".join(
        f"d[{p}] = unbroadcast(d[y] * w * ({s}), {p})\n" for p, s in slopes.items())
    tan = "".join(f"d[y] = d[{p}] * w * ({s})\n" for p, s in slopes.items())
    for name, expr in reversed(helpers):
        tan = re.sub(rf"\b{name}\b", f"({expr})", tan)
    register_template(A, key, params, adj)
    register_template(T, key, params, tan)


def _location_scale(dist, shapes, logf, g, shape_slopes) -> None:
    params = "y, x" + "".join(f", {s}" for s in shapes) + ", loc=0.0, scale=1.0"
    z = ("z", "(x - loc) / scale")
    slopes = {"x": f"({g}) / scale", "loc": f"-({g}) / scale",
              "scale": f"-(({g}) * z + 1.0) / scale", **shape_slopes}
    for method, weight in _DENSITY_METHODS.items():
        _register(getattr(dist, method), params, [z, ("w", weight)], slopes)
    if logf is None:
        return
    lp = f"{logf} - np.log(scale)"
    for method, weight in _CDF_METHODS.items():
        _register(getattr(dist, method), params, [z, ("w", weight.format(lp=lp))],
                  {"x": "1.0", "loc": "-1.0", "scale": "-z"})


for _dist, (_shapes, _logf, _g, _slopes) in FAMILIES.items():
    _location_scale(_dist, _shapes, _logf, _g, _slopes)

# poisson.logpmf(k, mu, loc=0): d/dmu = (k - loc) / mu - 1; k and loc are integers
for _method, _weight in (("logpmf", "1.0"), ("pmf", "y")):
    _register(getattr(st.poisson, _method), "y, k, mu, loc=0", [("w", _weight)],
              {"mu": "(k - loc) / mu - 1.0"})
