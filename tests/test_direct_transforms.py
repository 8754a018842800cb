"""Transforming a distribution's method directly (`grad(scipy.stats.norm.logpdf)`,
`check_grads(stats.gamma.pdf, ...)`), as another library's test suite does: the bound
method has a rule of its own and must not be unbound into SciPy's generic
`rv_continuous.pdf` (which has none). Checked against central finite differences."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.stats as stats

import tangent_src

X = np.array([0.3, 1.7, 2.2])
LOC = np.array([0.1, -0.2, 0.4])
SCALE = np.array([1.3, 0.8, 2.1])


@pytest.mark.parametrize("method, args", [
    (stats.norm.pdf, (X, LOC, SCALE)),
    (stats.norm.logcdf, (X, LOC, SCALE)),
    (stats.norm.sf, (X, LOC, SCALE)),
    (stats.t.logpdf, (X, np.array([2.5, 4.0, 7.0]))),
    (stats.gamma.pdf, (X, np.array([1.5, 2.5, 3.0]))),
    (stats.beta.logpdf, (np.array([0.2, 0.5, 0.7]), np.array([1.5, 2.0, 3.0]), 2.5)),
    (stats.chi2.cdf, (X, 3)),  # df an integer: not differentiated (its cdf slope is refused)
    (stats.poisson.logpmf, (np.array([0, 2, 5]), np.array([1.3, 2.2, 4.1]))),
], ids=["norm.pdf", "norm.logcdf", "norm.sf", "t.logpdf", "gamma.pdf", "beta.logpdf",
        "chi2.cdf", "poisson.logpmf"])
def test_distribution_methods_transformed_directly(method, args):
    tangent_src.check_grads(method, args, order=1)


def test_grad_of_a_distribution_method_matches_finite_differences():
    d = tangent_src.grad(stats.norm.logpdf, wrt=(0, 2))
    dx, dscale = d(0.7, 0.2, 1.5)
    h = 1e-6
    fd_x = (stats.norm.logpdf(0.7 + h, 0.2, 1.5) - stats.norm.logpdf(0.7 - h, 0.2, 1.5)) / (2 * h)
    fd_s = (stats.norm.logpdf(0.7, 0.2, 1.5 + h) - stats.norm.logpdf(0.7, 0.2, 1.5 - h)) / (2 * h)
    np.testing.assert_allclose([dx, dscale], [fd_x, fd_s], rtol=1e-7)


@pytest.mark.parametrize("func", [np.sum, np.max, np.mean, np.prod, np.var])
def test_second_order_check_of_a_numpy_reduction_transformed_directly(func):
    """At second order the seed is appended after every positional parameter of the
    rule's wrapper (np.sum(a, axis=None, dtype=None, keepdims=False)): it used to land in
    `axis` and crash."""
    x = np.array([[0.3, -1.2, 0.5], [1.0, 2.0, -0.4]])
    tangent_src.check_grads(func, (x,), order=2)
    tangent_src.check_grads(func, (3.5,), order=2)


@pytest.mark.parametrize("subscripts, shapes", [("ij->ji", [(3, 4)]),
                                               ("ij,jk->ik", [(3, 4), (4, 2)]),
                                               ("ij,jk,k->i", [(3, 4), (4, 2), (2,)]),
                                               ("...i,...i->...", [(2, 3), (2, 3)])])
def test_einsum_transformed_directly_with_any_number_of_operands(subscripts, shapes):
    """np.einsum takes `*operands`; its rule names them z1..z8 (None when absent), and the
    wrapper used to pass `z2=None` by keyword (a TypeError on every direct transform)."""
    rng = np.random.default_rng(len(shapes))
    operands = tuple(rng.normal(size=s) for s in shapes)
    tangent_src.check_grads(np.einsum, (subscripts, *operands), order=2)


def test_a_jacobian_of_a_jacobian_agrees_with_the_alternatives():
    """jacfwd(jacrev(f)) raised a misleading SourceUnavailableError, then a refusal; it
    is the Hessian, as hessian(f) and jacfwd(grad(f)) compute it (jacobian_source.py)."""
    def f(x):
        return np.sum(np.tanh(x) ** 2)

    x = np.array([0.3, -0.2, 0.5])
    t = np.tanh(x)
    exact = np.diag(2 * (1 - t ** 2) ** 2 - 4 * t ** 2 * (1 - t ** 2))
    np.testing.assert_allclose(tangent_src.jacfwd(tangent_src.jacrev(f))(x), exact,
                               atol=1e-12)
    np.testing.assert_allclose(tangent_src.jacfwd(tangent_src.grad(f))(x), exact, atol=1e-12)
    np.testing.assert_allclose(tangent_src.hessian(f)(x), exact, atol=1e-12)
