"""scipy.stats rules (rules/stats.py): every registered method checked in both modes against
central finite differences (tangent_src.check_grads), with respect to x and every continuous
parameter, at several parameter values and broadcasting shapes; second order for norm and
multivariate_normal; two user-style programs; frozen distributions."""
import numpy as np
import pytest
import scipy.special
import scipy.stats
from scipy.stats import multivariate_normal, norm

import tangent_src
from tangent_src.errors import (
    DerivativeNotImplementedError,
    DerivativeUndefinedError,
    UnsupportedSyntaxError,
)
from tangent_src.rules import REGISTRY
from tangent_src.rules import stats as stats_rules
from tests.fdcheck import numerical_grad

st = scipy.stats
RS = np.random.RandomState(13)


def _summed(method, arity):
    """sum(method(x, p1, ...)) with `arity` arguments in all: a scalar to differentiate with
    respect to every argument (written out: *args parameters are not supported)."""
    def f1(x):
        return np.sum(method(x))

    def f2(x, a):
        return np.sum(method(x, a))

    def f3(x, a, b):
        return np.sum(method(x, a, b))

    def f4(x, a, b, c):
        return np.sum(method(x, a, b, c))

    def f5(x, a, b, c, e):
        return np.sum(method(x, a, b, c, e))
    return (f1, f2, f3, f4, f5)[arity - 1]


def _check(method, args, order=1):
    tangent_src.check_grads(_summed(method, len(args)), args, order=order)


def _with_scale(method):
    def f(x, loc, scale):
        return np.sum(method(x, loc=loc, scale=scale))
    return f


# x inside each family's support, parameters at two settings with broadcasting
LOC_SCALE = {"norm": 0.0, "logistic": 0.0, "laplace": 0.0, "cauchy": 0.0, "expon": 1.0}
METHODS = ("logpdf", "pdf", "cdf", "logcdf", "sf", "logsf")


def _loc_scale_args(name, setting):
    low = LOC_SCALE[name]  # expon: x > loc
    if setting == 0:
        return (np.array([0.3, 1.7, -0.8]) + 2 * low, 0.25 * low - 0.2, 1.3)
    x = np.array([[0.4, 1.1, -0.6], [2.2, -1.3, 0.9]]) + 2.5 * low
    return (x, np.array([0.1, -0.3, 0.25]), np.array([[0.8], [2.1]]))


@pytest.mark.parametrize("setting", [0, 1])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", sorted(LOC_SCALE))
def test_location_scale_families(name, method, setting):
    _check(getattr(getattr(st, name), method), _loc_scale_args(name, setting))


@pytest.mark.parametrize("method", METHODS)
def test_norm_keywords_and_defaults(method):
    fn = getattr(norm, method)
    tangent_src.check_grads(_with_scale(fn), (np.array([0.2, -1.4, 3.0]), 0.7, 1.9))

    def standard(x):  # loc and scale left at their defaults
        return np.sum(fn(x)) + fn(x[0], scale=2.5)
    tangent_src.check_grads(standard, (np.array([0.2, -1.4, 3.0]),))


SHAPED = {  # name: x, shapes at two settings (the second broadcasting)
    "t": [(np.array([0.3, -1.2, 2.5]), (4.5,)),
          (np.array([[0.3, -1.2], [2.5, 0.1]]), (np.array([1.5, 9.0]),))],
    "gamma": [(np.array([0.3, 1.2, 2.5]), (2.5,)),
              (np.array([[0.7, 1.2], [3.5, 0.4]]), (np.array([[0.8], [4.0]]),))],
    "chi2": [(np.array([0.3, 1.2, 2.5]), (3.0,)),
             (np.array([[0.7, 1.2], [3.5, 0.4]]), (np.array([1.5, 5.0]),))],
    "beta": [(np.array([0.3, 0.62, 0.9]), (2.0, 3.5)),
             (np.array([[0.2, 0.5], [0.7, 0.45]]),
              (np.array([0.7, 2.0]), np.array([[3.0], [1.4]])))],
}


@pytest.mark.parametrize("setting", [0, 1])
@pytest.mark.parametrize("method", ["logpdf", "pdf"])
@pytest.mark.parametrize("name", sorted(SHAPED))
def test_shape_families(name, method, setting):
    """x, the shape parameters, loc and scale (x stays inside the support)."""
    x, shapes = SHAPED[name][setting]
    fn = getattr(getattr(st, name), method)
    _check(fn, (x, *shapes))
    loc, scale = (-0.1, 1.4) if name != "beta" else (-0.05, 1.2)
    _check(fn, (x, *shapes, loc, scale))


@pytest.mark.parametrize("method", ["cdf", "logcdf", "sf", "logsf"])
@pytest.mark.parametrize("name", sorted(SHAPED))
def test_shape_families_cdf_wrt_x_loc_scale(name, method):
    """The cdf family of t, gamma, chi2, beta: x, loc and scale (shape parameters fixed)."""
    x, shapes = SHAPED[name][1]
    fn = getattr(getattr(st, name), method)
    loc, scale = (-0.1, 1.4) if name != "beta" else (-0.05, 1.2)
    if name == "beta":
        def f(x, loc, scale):
            return np.sum(fn(x, 0.7, 2.5, loc, scale))
    else:
        def f(x, loc, scale):
            return np.sum(fn(x, 2.5, loc=loc, scale=scale))
    tangent_src.check_grads(f, (x, loc, scale))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_missing_derivatives_are_refused_not_zero(mode):
    """A cdf's second derivative in its shape parameter (not implemented; the first is an
    integral, tests/test_rules_more.py) and poisson's integer k (undefined) raise when
    their derivative is asked for."""
    def cdf_in_shape(x, a):
        return np.sum(st.gamma.cdf(x, a))

    def pmf_in_k(k, mu):
        return np.sum(st.poisson.logpmf(k, mu))
    inner = tangent_src.autodiff(cdf_in_shape, mode=mode, wrt=1)
    with pytest.raises(DerivativeNotImplementedError, match="second derivative"):
        tangent_src.grad(inner, wrt=1)(np.array([0.5, 1.5]), 2.0)
    with pytest.raises(DerivativeUndefinedError, match="with respect to k"):
        tangent_src.autodiff(pmf_in_k, mode=mode, wrt=0)(np.array([1.0, 3.0]), 2.0)


logpdf = norm.logpdf  # a library method held in a module global under another name


def test_library_method_held_in_a_global():
    """Generated code imports it from the user's module (its own module has no `logpdf`)."""
    def f(x, loc):
        return np.sum(logpdf(x, loc, 2.0))
    tangent_src.check_grads(f, (np.array([0.3, -0.4]), 0.2))


@pytest.mark.parametrize("method", ["logpmf", "pmf", "cdf", "logcdf", "sf", "logsf"])
def test_poisson_wrt_mu(method):
    fn = getattr(st.poisson, method)
    k = np.array([0, 2, 5, 1])
    for mu in (0.7, 3.2, np.array([1.5, 0.4, 6.0, 2.0])):
        _check(fn, (k, mu))


def _mvn_cases():
    x, mean = RS.randn(4, 3), RS.randn(3)
    a = 0.5 * RS.randn(3, 3)
    cov = a @ a.T + np.eye(3)
    lopsided = cov.copy()
    lopsided[0, 2] += 0.4  # not symmetric: SciPy reads the lower triangle, so do the rules
    return [(x, mean, cov), (x[1], mean, cov), (x, mean, lopsided), (RS.randn(2, 2, 3), mean, cov),
            (x[2], mean, np.array([0.5, 1.5, 2.0])), (x, mean, 1.7),
            (np.array([0.3, -1.0, 2.0]), np.array([0.2]), np.array([[1.4]]))]


@pytest.mark.parametrize("case", range(7))
@pytest.mark.parametrize("method", ["logpdf", "pdf"])
def test_multivariate_normal(method, case):
    """x (d,), (n, d) or (m, n, d), mean (d,), cov a matrix, a diagonal or a scalar; a
    1-dimensional distribution reads a vector x as samples."""
    _check(getattr(multivariate_normal, method), _mvn_cases()[case])


def test_multivariate_normal_cov_only_and_factor():
    def loglik(x, cov):
        return np.sum(multivariate_normal.logpdf(x, cov=cov))

    def factor(x, mean, chol):
        cov = chol @ chol.T + 0.5 * np.eye(3)
        return np.sum(multivariate_normal.logpdf(x, mean=mean, cov=cov))
    x, mean, cov = _mvn_cases()[0]
    tangent_src.check_grads(loglik, (x, cov))
    tangent_src.check_grads(factor, (x, mean, 0.6 * RS.randn(3, 3)))


@pytest.mark.parametrize("method", ["logpdf", "pdf"])
def test_dirichlet(method):
    """x on the simplex (softmax of free parameters, as users parametrize it), one point or
    several as columns."""
    fn = getattr(st.dirichlet, method)

    def one(u, alpha):
        return fn(scipy.special.softmax(u), alpha)

    def columns(u, alpha):
        return np.sum(fn(scipy.special.softmax(u, axis=0), alpha))
    alpha = np.array([1.5, 2.0, 3.2, 0.8])
    tangent_src.check_grads(one, (RS.randn(4), alpha))
    tangent_src.check_grads(columns, (RS.randn(4, 3), alpha))


def test_second_order_norm_logpdf():
    _check(norm.logpdf, (np.array([0.4, -1.1]), 0.3, 1.6), order=2)
    _check(norm.cdf, (np.array([0.4, -1.1]), 0.3, 1.6), order=2)


def test_second_order_multivariate_normal_logpdf():
    x, mean, cov = _mvn_cases()[0]
    _check(multivariate_normal.logpdf, (x[:2], mean, cov), order=2)


def test_frozen_in_the_call_is_the_module_method():
    def loglik(mu, sigma, data):
        return np.sum(norm(mu, sigma).logpdf(data)) + st.gamma(2.0, scale=sigma).logpdf(1.5)
    tangent_src.check_grads(loglik, (0.3, 1.7, np.array([0.2, 1.9, -0.4])))


RV = norm(0.0, 2.0)
PRIOR = st.gamma(2.0, scale=1.5)
MVN = multivariate_normal(np.zeros(2), np.eye(2))


def test_frozen_distribution_in_a_global():
    """`RV.logpdf(x)` reads the frozen parameters from the object; its `.dist` is a copy of
    the module's distribution, whose rules the registry finds (same class and support)."""
    def f(x):
        return np.sum(RV.logpdf(x)) + np.sum(PRIOR.logpdf(x)) + PRIOR.cdf(x[0])
    x = np.array([0.3, 1.2])
    tangent_src.check_grads(f, (x,))
    assert RV.dist is not norm and RV.dist.logpdf in REGISTRY.adjoints


def test_frozen_global_rebound_is_read_again():
    global RV

    def f(x):
        return RV.logpdf(x)
    df = tangent_src.grad(f)
    saved = RV
    try:
        assert np.isclose(df(1.0), -1.0 / 4.0)
        RV = norm(0.5, 1.0)
        assert np.isclose(df(1.0), -0.5)
    finally:
        RV = saved


def test_frozen_distribution_refused_where_not_supported():
    def multivariate_global(x):
        return MVN.logpdf(x)

    def local_frozen(mu):
        d = norm(mu, 1.0)
        return d.logpdf(0.3)
    for f, line in ((multivariate_global, "MVN.logpdf"), (local_frozen, "d.logpdf")):
        with pytest.raises(UnsupportedSyntaxError, match="frozen") as info:
            tangent_src.grad(f)(np.array([0.5, 0.1]))
        assert line in str(info.value) and "scipy.stats.norm.logpdf" in str(info.value)


# --------------------------------------------------------------------- user-style programs

def gaussian_nll(params, data):
    """Negative log-likelihood of a Gaussian fit with a log-scale parameter."""
    loc, log_scale = params[0], params[1]
    scale = np.exp(log_scale)
    total = 0.0
    for batch in data:
        total = total - np.sum(scipy.stats.norm.logpdf(batch, loc, scale))
    return total / len(data)


def log_posterior(w, X, y):
    """Bayesian logistic regression: a Gaussian prior on the weights plus the likelihood."""
    prior = np.sum(norm.logpdf(w, 0.0, 2.0))
    logits = X @ w
    loglik = np.sum(y * logits - np.logaddexp(0.0, logits))
    return prior + loglik


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_gaussian_fit_program(mode):
    data = [RS.randn(5) * 1.5 + 0.7 for _ in range(3)]
    params = np.array([0.2, 0.1])
    want = numerical_grad(gaussian_nll, (params, data))
    if mode == "reverse":
        got = tangent_src.grad(gaussian_nll)(params, data)
    else:
        df = tangent_src.autodiff(gaussian_nll, mode="forward")
        got = np.array([df(params, data, e) for e in np.eye(2)])
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_logistic_regression_program():
    X = RS.randn(8, 3)
    y = (RS.rand(8) < 0.5).astype(float)
    w = RS.randn(3)
    got = tangent_src.grad(log_posterior)(w, X, y)
    np.testing.assert_allclose(got, numerical_grad(log_posterior, (w, X, y)),
                               rtol=1e-6, atol=1e-8)
    tangent_src.check_grads(lambda w: log_posterior(w, X, y), (w,), order=2)


# ------------------------------------------------------------------------------ coverage

def test_every_rule_of_the_module_is_exercised_in_both_modes():
    """Every distribution method rules/stats.py registers is one the tests above call (the
    runtime shape helpers are exercised through them, second order included)."""
    exercised = {getattr(getattr(st, n), m) for n in LOC_SCALE for m in METHODS}
    exercised |= {getattr(getattr(st, n), m) for n in SHAPED for m in ("logpdf", "pdf")}
    exercised |= {getattr(st.poisson, m) for m in METHODS[2:]}  # the cdf family, in mu
    exercised |= {st.poisson.logpmf, st.poisson.pmf, multivariate_normal.logpdf,
                  multivariate_normal.entropy,
                  multivariate_normal.pdf, st.dirichlet.logpdf, st.dirichlet.pdf}
    exercised |= {getattr(getattr(st, n), m) for n in SHAPED for m in METHODS[2:]}
    keys = set(stats_rules.CALLABLES)
    assert len(keys) >= 60
    for key in keys:
        assert key in REGISTRY.adjoints and key in REGISTRY.tangents, key
    distributions = {k for k in keys if not getattr(k, "__module__", "").startswith("tangent")}
    assert distributions == exercised
