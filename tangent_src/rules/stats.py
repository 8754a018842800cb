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

from .. import runtime as rt
from .optional import optional_module
from .registry import REGISTRY, nondifferentiable, register_template

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


def _register(key, params: str, helpers: list, slopes: dict, refused=(), raw=None) -> None:
    """Both modes of an elementwise rule: y's slope with respect to each parameter, the
    adjoint undoing broadcasting (unbroadcast), the tangent a sum of terms. `helpers` are
    (name, expression) pairs: local statements of the adjoint, inlined in the tangent
    (whose templates are single expressions). `refused`: (parameter, message) pairs whose
    derivative raises when it is needed (never a silent zero); `raw`: slopes not weighted
    by w (the cdf family's in its shape parameters)."""
    raw = raw or {}
    adj = "".join(f"{n} = {e}\n" for n, e in helpers) + "".join(
        f"d[{p}] = unbroadcast(d[y] * w * ({s}), {p})\n" for p, s in slopes.items()) + "".join(
        f"d[{p}] = unbroadcast(d[y] * ({s}), {p})\n" for p, s in raw.items())
    tan = "".join(f"d[y] = d[{p}] * w * ({s})\n" for p, s in slopes.items()) + "".join(
        f"d[y] = d[{p}] * ({s})\n" for p, s in raw.items())
    for name, expr in reversed(helpers):
        tan = re.sub(rf"\b{name}\b", f"({expr})", tan)
    for p, (message, undefined) in refused:
        adj += f"d[{p}] = derivative_refused({message!r}, d[y], undefined={undefined})\n"
        tan += f"d[y] = derivative_refused({message!r}, d[{p}], undefined={undefined})\n"
    register_template(A, key, params, adj)
    register_template(T, key, params, tan)


# the cdf's derivative in each shape parameter, at z (runtime/incomplete.py: integrals
# certified by quad; first order in the shape parameters): t's cdf is
# 1/2 + sign(z) (1/2 - I_u(df/2, 1/2) / 2) with u = df / (df + z^2)
_U = "df / (df + z * z)"
# the chain-rule term dI_u/du du/ddf, the density of Beta(df/2, 1/2) at u times z^2 / (df + z^2)^2,
# simplified to u^(df/2 - 1) |z| / ((df + z^2)^(3/2) B(df/2, 1/2)): finite at z = 0
_T_CHAIN = ("np.exp((0.5 * df - 1.0) * np.log(df / (df + z * z)) + lgamma_np(0.5 * df + 0.5) - "
            "lgamma_np(0.5 * df) - lgamma_np(0.5)) * np.abs(z) / (df + z * z) ** 1.5")
SHAPE_CDF = {
    st.norm: {}, st.logistic: {}, st.laplace: {}, st.cauchy: {}, st.expon: {},
    st.t: {"df": (f"-0.5 * np.sign(z) * (0.5 * betainc_dab(0.5 * df, 0.5, {_U}, 'a') + "
                  f"{_T_CHAIN})")},
    st.gamma: {"a": "gammainc_da(a, np.maximum(z, 0.0))"},
    st.chi2: {"df": "0.5 * gammainc_da(0.5 * df, np.maximum(0.5 * z, 0.0))"},
    st.beta: {"a": "betainc_dab(a, b, np.clip(z, 0.0, 1.0), 'a')",
              "b": "betainc_dab(a, b, np.clip(z, 0.0, 1.0), 'b')"},
}
# d method / d F for the cdf family
_CDF_FACTOR = {"cdf": "1.0", "logcdf": "np.exp(-y)", "sf": "-1.0", "logsf": "-np.exp(-y)"}

# shape families: the runtime helper giving their log density (for the cdf family's rules)
_LOGPDF_HELPERS = {st.t: rt.t_logpdf, st.gamma: rt.gamma_logpdf, st.chi2: rt.chi2_logpdf,
                   st.beta: rt.beta_logpdf}


def _location_scale(dist, shapes, logf, g, shape_slopes) -> None:
    params = "y, x" + "".join(f", {s}" for s in shapes) + ", loc=0.0, scale=1.0"
    z = ("z", "(x - loc) / scale")
    slopes = {"x": f"({g}) / scale", "loc": f"-({g}) / scale",
              "scale": f"-(({g}) * z + 1.0) / scale", **shape_slopes}
    for method, weight in _DENSITY_METHODS.items():
        _register(getattr(dist, method), params, [z, ("w", weight)], slopes)
    if logf is None:
        helper = _LOGPDF_HELPERS[dist]
        _register(helper, params.replace("=0.0", "").replace("=1.0", ""),
                  [z, ("w", "1.0")], slopes)
        lp = f"{helper.__name__}(x{''.join(', ' + s for s in shapes)}, loc, scale)"
    else:
        lp = f"{logf} - np.log(scale)"
    for method, weight in _CDF_METHODS.items():
        raw = {s: f"{_CDF_FACTOR[method]} * ({e})" for s, e in SHAPE_CDF[dist].items()}
        _register(getattr(dist, method), params, [z, ("w", weight.format(lp=lp))],
                  {"x": "1.0", "loc": "-1.0", "scale": "-z"}, raw=raw)


for _dist, (_shapes, _logf, _g, _slopes) in FAMILIES.items():
    _location_scale(_dist, _shapes, _logf, _g, _slopes)

# poisson.cdf(k, mu, loc=0) = gammaincc(floor(k - loc) + 1, mu): d/dmu = -pmf(floor(k - loc))
_POISSON_PMF = ("np.where(k - loc >= 0.0, np.exp(np.floor(k - loc) * np.log(mu) - mu - "
                "lgamma_np(np.floor(k - loc) + 1.0)), 0.0)")
for _method, _factor in _CDF_FACTOR.items():
    _register(getattr(st.poisson, _method), "y, k, mu, loc=0", [],
              {}, [(p, (f"poisson.{_method} with respect to {p} (an integer)", True))
                   for p in ("k", "loc")],
              raw={"mu": f"{_factor} * (-{_POISSON_PMF})"})

# poisson.logpmf(k, mu, loc=0): d/dmu = (k - loc) / mu - 1; k and loc are integers
for _method, _weight in (("logpmf", "1.0"), ("pmf", "y")):
    _register(getattr(st.poisson, _method), "y, k, mu, loc=0", [("w", _weight)],
              {"mu": "(k - loc) / mu - 1.0"},
              [(p, (f"poisson.{_method} with respect to {p} (an integer)", True))
               for p in ("k", "loc")])

# -- the shape helpers' own rules (linear; read runtime/stats.py) ------------------------------
nondifferentiable(rt.derivative_refused)
register_template(A, rt.mvn_residual, "y, x, mean, cov",
                  "d[x] = np.reshape(d[y], np.shape(x))\nd[mean] = unbroadcast(-d[y], mean)\n")
register_template(T, rt.mvn_residual, "y, x, mean, cov",
                  "d[y] = np.reshape(d[x], np.shape(y))\nd[y] = np.zeros_like(y) - d[mean]\n")
register_template(A, rt.mvn_cov, "y, cov, r", "d[cov] = mvn_cov_t(d[y], cov)")
register_template(T, rt.mvn_cov, "y, cov, r", "d[y] = mvn_cov(d[cov], r)")
register_template(A, rt.mvn_cov_t, "y, g, cov", "d[g] = mvn_cov(d[y], g)")
register_template(T, rt.mvn_cov_t, "y, g, cov", "d[y] = mvn_cov_t(d[g], cov)")
nondifferentiable(rt.mvn_zeros)
register_template(A, rt.mvn_precision, "y, c, allow_singular",  # the inverse's derivative
                  "d[c] = -(y @ d[y] @ y)")
register_template(T, rt.mvn_precision, "y, c, allow_singular", "d[y] = -(y @ d[c] @ y)")
register_template(A, rt.mvn_in_support, "y, g, logp", "d[g] = mvn_in_support(d[y], logp)")
register_template(T, rt.mvn_in_support, "y, g, logp", "d[y] = mvn_in_support(d[g], logp)")
register_template(A, rt.dirichlet_alpha, "y, alpha, x",
                  "d[alpha] = np.reshape(d[y], np.shape(alpha))")
register_template(T, rt.dirichlet_alpha, "y, alpha, x", "d[y] = dirichlet_alpha(d[alpha], x)")

# -- multivariate_normal.logpdf/pdf(x, mean, cov): r = x - mean, s = r P ----------------------
# P = C^-1, or with allow_singular SciPy's pseudo-inverse (mvn_precision); d/dx = -s,
# d/dmean = s, d/dC = (s s^T - P) / 2, read back into cov's form by mvn_cov_t; for a singular
# C these are the derivatives along the perturbations that keep its structure (x - mean and
# C's changes on C's range: the density jumps along the others); a logpdf of -inf (x - mean
# off the support) has none (mvn_in_support refuses)
_MVN = "y, x, mean=None, cov=1, allow_singular=False"
_MVN_HELPERS = [("r", "mvn_residual(x, mean, cov)"), ("c", "mvn_cov(cov, r)"),
                ("p", "mvn_precision(c, allow_singular)"), ("s", "r @ p")]


def _mvn(key, weight: str, log: bool) -> None:
    seed = "mvn_in_support(d[y], y)" if log else "d[y]"
    adj = "".join(f"{n} = {e}\n" for n, e in _MVN_HELPERS) + (
        f"v = np.expand_dims(np.reshape({seed} * {weight}, np.shape(r)[:-1]), -1)\n"
        "k = np.shape(r)[-1]\n"
        "d[x] = np.reshape(-v * s, np.shape(x))\n"
        "d[mean] = unbroadcast(v * s, mean)\n"
        "d[cov] = mvn_cov_t(0.5 * (np.transpose(np.reshape(v * s, (-1, k))) @ "
        "np.reshape(s, (-1, k)) - np.sum(v) * p), cov)\n")
    dc = "mvn_cov(d[cov], r)"
    lines = [f"np.reshape(-{weight} * np.sum(s * np.reshape(d[x], np.shape(r)), axis=-1),"
             " np.shape(y))",
             f"np.reshape({weight} * np.sum(s * d[mean], axis=-1), np.shape(y))",
             f"np.reshape({weight} * 0.5 * (np.sum((s @ {dc}) * s, axis=-1) - "
             f"np.sum(p * {dc})), np.shape(y))"]
    tan = "".join(f"d[y] = mvn_in_support({e}, y)\n" if log else f"d[y] = {e}\n"
                  for e in lines)
    for name, expr in reversed(_MVN_HELPERS):
        tan = re.sub(rf"\b{name}\b", f"({expr})", tan)
    register_template(A, key, _MVN, adj)
    register_template(T, key, _MVN, tan)


_mvn(st.multivariate_normal.logpdf, "1.0", log=True)
_mvn(st.multivariate_normal.pdf, "y", log=False)

# multivariate_normal.entropy(mean, cov) = (k (log 2 pi + 1) + log det C) / 2: d/dC = C^-1 / 2
# (SciPy allows a singular C here, with its pseudo-determinant: P its pseudo-inverse, the
# derivative along the changes of C on its range)
_C0 = "mvn_cov(cov, mvn_zeros(mean, cov))"
register_template(A, st.multivariate_normal.entropy, "y, mean=None, cov=1",
                  f"c = {_C0}\n"
                  "d[cov] = mvn_cov_t(0.5 * d[y] * mvn_precision(c, True), cov)\n")
register_template(T, st.multivariate_normal.entropy, "y, mean=None, cov=1",
                  f"d[y] = 0.5 * np.sum(mvn_precision({_C0}, True) * "
                  "mvn_cov(d[cov], mvn_zeros(mean, cov)))\n")

# -- dirichlet.logpdf/pdf(x, alpha): x (k,) or (k, n), components first ------------------------
# d/dx = (alpha - 1) / x, d/dalpha = psi(sum alpha) - psi(alpha) + log x
_DIR_SLOPE = "polygamma_np(0, np.sum(alpha)) - polygamma_np(0, alpha)"
for _method, _weight in (("logpdf", "1.0"), ("pdf", "y")):
    register_template(A, getattr(st.dirichlet, _method), "y, x, alpha",
                      f"v = d[y] * {_weight}\n"
                      "d[x] = v * (dirichlet_alpha(alpha, x) - 1.0) / x\n"
                      f"d[alpha] = ({_DIR_SLOPE}) * np.sum(v) + "
                      "np.reshape(np.log(x), (np.shape(x)[0], -1)) @ np.reshape(v, (-1,))\n")
    register_template(T, getattr(st.dirichlet, _method), "y, x, alpha",
                      f"d[y] = {_weight} * np.sum(d[x] * (dirichlet_alpha(alpha, x) - 1.0) / x,"
                      " axis=0)\n"
                      f"d[y] = {_weight} * (np.sum(d[alpha] * ({_DIR_SLOPE})) + "
                      "np.sum(dirichlet_alpha(d[alpha], x) * np.log(x), axis=0))\n")

# the callables this module registers (tests/test_rules_stats.py checks each one)
CALLABLES = tuple(key for key, t in A.items() if id(t) not in _EARLIER)

# conventions shown in docs/coverage.md (scripts/coverage.py reads NOTES of rule modules)
_LS = "wrt x, loc, scale"
_SHAPES = "wrt x, loc, scale and the shape parameters"
_CDF = ("wrt x, loc, scale and the shape parameters (those by integrals certified to 1e-9, "
        "first order; second derivatives in them refused)")
NOTES = {**{getattr(_d, _m): _LS for _d in FAMILIES if not FAMILIES[_d][0]
            for _m in ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")},
         **{getattr(_d, _m): _SHAPES for _d in FAMILIES if FAMILIES[_d][0]
            for _m in ("logpdf", "pdf")},
         **{getattr(_d, _m): _CDF for _d in FAMILIES if FAMILIES[_d][0]
            for _m in ("cdf", "logcdf", "sf", "logsf")},
         **{getattr(st.poisson, _m): "wrt mu (-pmf); k and loc (integers) refused"
            for _m in _CDF_FACTOR},
         st.poisson.logpmf: "wrt mu; k and loc (integers) refused", st.poisson.pmf:
         "wrt mu; k and loc (integers) refused",
         st.multivariate_normal.logpdf: "wrt x, mean, cov (scalar, diagonal or matrix; a "
         "matrix's lower triangle, as SciPy reads it); allow_singular: a singular cov's "
         "pseudo-inverse, the derivatives along the support (x - mean in cov's range, cov "
         "changed on it); logpdf = -inf refused",
         st.multivariate_normal.pdf: "as multivariate_normal.logpdf",
         st.multivariate_normal.entropy: "wrt cov (as logpdf; zero wrt mean; a singular cov "
         "along its range)",
         st.dirichlet.logpdf: "wrt x (all k components) and alpha",
         st.dirichlet.pdf: "wrt x (all k components) and alpha"}
