"""scipy.special: elementwise special functions, logsumexp, softmax, log_softmax.

Derivatives are written with NumPy and the runtime helper `polygamma_np` (digamma and its
derivatives in pure NumPy), so generated code needs nothing from SciPy beyond the user's
own calls, and every derivative has derivatives again. Derivatives read the result `y`
where that is more accurate (erfinv, ndtri, expit, log_ndtr) or stable: logsumexp,
softmax and log_softmax use exp(a - logsumexp(a)) and stay finite for inputs of +-1000.
"""
from __future__ import annotations

from .optional import optional_module
from .registry import REGISTRY, register_template

sp = optional_module("scipy.special")  # SciPy is optional

A, T = REGISTRY.adjoints, REGISTRY.tangents
_EARLIER = {id(t) for t in A.values()}

TWO_OVER_SQRT_PI = "1.1283791670955126"
SQRT_PI_OVER_TWO = "0.886226925452758"
INV_SQRT_2PI = "0.3989422804014327"
SQRT_2PI = "2.5066282746310002"
DEGREE = "0.017453292519943295"

# f: derivative of y = f(x) with respect to x
UNARY = {
    sp.expit: "y * (1.0 - y)",
    sp.logit: "1.0 / (x * (1.0 - x))",
    sp.log_expit: "np.exp(y - x)",
    sp.softplus: "np.exp(x - y)",
    sp.erf: f"{TWO_OVER_SQRT_PI} * np.exp(-x * x)",
    sp.erfc: f"-{TWO_OVER_SQRT_PI} * np.exp(-x * x)",
    sp.erfcx: f"2.0 * x * y - {TWO_OVER_SQRT_PI}",
    sp.erfinv: f"{SQRT_PI_OVER_TWO} * np.exp(y * y)",
    sp.erfcinv: f"-{SQRT_PI_OVER_TWO} * np.exp(y * y)",
    sp.ndtr: f"{INV_SQRT_2PI} * np.exp(-0.5 * x * x)",
    sp.log_ndtr: f"{INV_SQRT_2PI} * np.exp(-0.5 * x * x - y)",
    sp.ndtri: f"{SQRT_2PI} * np.exp(0.5 * y * y)",
    sp.gammaln: "polygamma_np(0, x)",
    sp.loggamma: "polygamma_np(0, x)",
    sp.gamma: "y * polygamma_np(0, x)",
    sp.digamma: "polygamma_np(1, x)",
    sp.entr: "-(np.log(x) + 1.0)",
    sp.expm1: "y + 1.0",
    sp.log1p: "1.0 / (1.0 + x)",
    sp.exp2: "0.6931471805599453 * y",
    sp.exp10: "2.302585092994046 * y",
    sp.cbrt: "1.0 / (3.0 * y * y)",
    sp.sindg: f"{DEGREE} * np.cos({DEGREE} * x)",
    sp.cosdg: f"-{DEGREE} * np.sin({DEGREE} * x)",
    sp.tandg: f"{DEGREE} * (1.0 + y * y)",
    sp.cotdg: f"-{DEGREE} * (1.0 + y * y)",
    sp.erfi: f"{TWO_OVER_SQRT_PI} * np.exp(x * x)",
    sp.dawsn: "1.0 - 2.0 * x * y",
    sp.exp1: "-np.exp(-x) / x",
    sp.expi: "np.exp(x) / x",
}

for _f, _deriv in UNARY.items():
    register_template(A, _f, "y, x", f"d[x] = d[y] * ({_deriv})")
    register_template(T, _f, "y, x", f"d[y] = d[x] * ({_deriv})")

# f: (dy/da, dy/db) for y = f(a, b), broadcasting undone by unbroadcast
BINARY = {
    sp.xlogy: ("np.log(b)", "a / b"),
    sp.xlog1py: ("np.log1p(b)", "a / (1.0 + b)"),
    sp.betaln: ("polygamma_np(0, a) - polygamma_np(0, a + b)",
                "polygamma_np(0, b) - polygamma_np(0, a + b)"),
    sp.beta: ("y * (polygamma_np(0, a) - polygamma_np(0, a + b))",
              "y * (polygamma_np(0, b) - polygamma_np(0, a + b))"),
    sp.rel_entr: ("np.log(a / b) + 1.0", "-a / b"),
    sp.kl_div: ("np.log(a / b)", "1.0 - a / b"),
}

for _f, (_da, _db) in BINARY.items():
    register_template(A, _f, "y, a, b",
                      f"d[a] = unbroadcast(d[y] * ({_da}), a)\n"
                      f"d[b] = unbroadcast(d[y] * ({_db}), b)\n")
    register_template(T, _f, "y, a, b", f"d[y] = d[a] * ({_da})\nd[y] = d[b] * ({_db})\n")

_MULTI = "np.sum(polygamma_np(0, np.expand_dims(a, -1) - 0.5 * np.arange(d)), axis=-1)"
register_template(A, sp.multigammaln, "y, a, d", f"d[a] = d[y] * {_MULTI}")
register_template(T, sp.multigammaln, "y, a, d", f"d[y] = d[a] * {_MULTI}")
register_template(A, sp.polygamma, "y, n, x", "d[x] = d[y] * polygamma_np(n + 1, x)")
register_template(T, sp.polygamma, "y, n, x", "d[y] = d[x] * polygamma_np(n + 1, x)")

# logsumexp(a, axis, b, keepdims) = log(sum(b * exp(a))): its gradient is the softmax weights
_WEIGHTS = "np.exp(a - unreduce(y, a, axis=axis, keepdims=keepdims))"
_LSE = "y, a, axis=None, b=None, keepdims=False"
register_template(A, sp.logsumexp, _LSE,
                  f"w = {_WEIGHTS}\n"
                  "g = unreduce(d[y], a, axis=axis, keepdims=keepdims)\n"
                  "d[a] = g * w * one_if_none(b)\n"
                  "d[b] = unbroadcast(g * w, b)\n")
register_template(T, sp.logsumexp, _LSE,
                  f"d[y] = np.sum(d[a] * one_if_none(b) * {_WEIGHTS}, axis=axis, "
                  "keepdims=keepdims)\n"
                  f"d[y] = np.sum(d[b] * {_WEIGHTS}, axis=axis, keepdims=keepdims)\n")
register_template(A, sp.softmax, "y, x, axis=None",
                  "d[x] = y * (d[y] - np.sum(d[y] * y, axis=axis, keepdims=True))")
register_template(T, sp.softmax, "y, x, axis=None",
                  "d[y] = y * (d[x] - np.sum(d[x] * y, axis=axis, keepdims=True))")
register_template(A, sp.log_softmax, "y, x, axis=None",
                  "d[x] = d[y] - np.exp(y) * np.sum(d[y], axis=axis, keepdims=True)")
register_template(T, sp.log_softmax, "y, x, axis=None",
                  "d[y] = d[x] - np.sum(np.exp(y) * d[x], axis=axis, keepdims=True)")

# conventions shown in docs/coverage.md (scripts/coverage.py reads NOTES of rule modules)
_STABLE = "stable (exp(a - logsumexp(a))): finite for inputs of +-1000"
_POLYGAMMA = "derivatives through polygamma_np (NumPy; ~1e-15 relative for x > 0)"
NOTES = {
    sp.logsumexp: _STABLE + "; weights b >= 0; return_sign not supported",
    sp.softmax: _STABLE, sp.log_softmax: _STABLE,
    sp.xlogy: "d/dx = log(y) (-inf at y = 0), d/dy = x / y",
    sp.xlog1py: "d/dx = log1p(y), d/dy = x / (1 + y)",
    sp.gammaln: _POLYGAMMA, sp.loggamma: _POLYGAMMA + "; real arguments",
    sp.gamma: _POLYGAMMA, sp.digamma: _POLYGAMMA, sp.polygamma: _POLYGAMMA + "; n constant",
    sp.betaln: _POLYGAMMA, sp.beta: _POLYGAMMA, sp.multigammaln: _POLYGAMMA + "; d constant",
    sp.entr: "x > 0", sp.rel_entr: "x, y > 0", sp.kl_div: "x, y > 0",
}

# the callables this module registers (tests/test_rules_linalg.py checks each one)
CALLABLES = tuple(key for key, t in A.items() if id(t) not in _EARLIER)
