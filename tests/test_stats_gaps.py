"""scipy.stats.multivariate_normal: entropy(mean, cov), and logpdf/pdf with
allow_singular=True on a singular covariance (SciPy's pseudo-inverse and
pseudo-determinant). Derivatives are checked against central finite differences; for a
singular covariance along the perturbations that keep its structure (x - mean and the
covariance's changes on its range), the only ones along which the density is continuous."""
import numpy as np
import pytest
from scipy.stats import multivariate_normal

import tangent_src as ts
from tangent_src.errors import DerivativeUndefinedError
from tests.fdcheck import assert_close, numerical_grad

RNG = np.random.default_rng(11)


def _spd(k):
    a = RNG.normal(size=(k, k))
    return a @ a.T + np.eye(k)


def _directional(f, at, direction, eps=1e-6):
    return (f(at + eps * direction) - f(at - eps * direction)) / (2 * eps)


# -- entropy ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cov", [_spd(4), np.array([0.5, 1.5, 2.0, 0.7]), 1.7],
                         ids=["matrix", "diagonal", "scalar"])
def test_entropy_in_both_modes_and_second_order(cov):
    mean = 10 * RNG.normal(size=4)

    def entropy(mean, cov):
        return multivariate_normal.entropy(mean, cov)
    ts.check_grads(entropy, (mean, cov), order=2)
    got_mean, got_cov = ts.grad(entropy, wrt=(0, 1))(mean, cov)
    assert np.all(got_mean == 0.0)
    assert_close(got_cov, numerical_grad(entropy, (mean, cov), wrt=1))


def test_entropy_of_a_learned_cholesky_factor():
    """A variational family's entropy term, the covariance built from a free factor (only
    its lower triangle read, as SciPy reads cov)."""
    def neg_entropy(chol, jitter):
        cov = chol @ chol.T + jitter * np.eye(3)
        return -multivariate_normal.entropy(cov=cov)
    chol = np.tril(RNG.normal(size=(3, 3)))
    for mode in ("reverse", "forward"):
        ts.check_grads(neg_entropy, (chol, 0.3), modes=(mode,))
    assert_close(ts.grad(neg_entropy)(chol, 0.3), numerical_grad(neg_entropy, (chol, 0.3)))


# -- allow_singular --------------------------------------------------------------------------
def _degenerate(k=4, rank=2):
    """A covariance of rank `rank` in a random basis U of its range, and a point whose
    offset from the mean lies in that range."""
    basis = np.linalg.qr(RNG.normal(size=(k, k)))[0][:, :rank]
    a = RNG.normal(size=(rank, rank))
    cov = basis @ (a @ a.T + np.eye(rank)) @ basis.T
    mean = RNG.normal(size=k)
    return basis, cov, mean, mean + basis @ RNG.normal(size=rank)


@pytest.mark.parametrize("method", ["logpdf", "pdf"])
def test_singular_cov_x_and_mean_derivatives_on_the_support(method):
    """Points move on the support: x = mean + U z. Each derivative (both modes, second
    order) against finite differences in z and in the mean."""
    basis, cov, mean, x = _degenerate()
    fn = getattr(multivariate_normal, method)
    z = basis.T @ (x - mean)

    def on_support(z, mean):
        point = mean + basis @ z
        return fn(point, mean, cov, allow_singular=True)
    assert np.isfinite(on_support(z, mean))
    ts.check_grads(on_support, (z, mean), order=2)
    dz, dmean = ts.grad(on_support, wrt=(0, 1))(z, mean)
    assert_close(dz, numerical_grad(on_support, (z, mean), wrt=0))
    assert_close(dmean, numerical_grad(on_support, (z, mean), wrt=1))


def test_singular_cov_axis_aligned_like_a_pinned_coordinate():
    """Two coordinates pinned to the mean (zero variance), the others free."""
    cov = np.diag([1.0, 2.0, 0.0, 0.0])

    def loglik(x, mean):
        x = np.concatenate([x[:2], mean[2:]])
        return multivariate_normal.logpdf(x, mean, cov, allow_singular=True)
    x, mean = RNG.normal(size=4), RNG.normal(size=4)
    for mode in ("reverse", "forward"):
        ts.check_grads(loglik, (x, mean), modes=(mode,), order=2)
    gx, gmean = ts.grad(loglik, wrt=(0, 1))(x, mean)
    assert_close(gx, numerical_grad(loglik, (x, mean), wrt=0))
    assert_close(gmean, numerical_grad(loglik, (x, mean), wrt=1))


@pytest.mark.parametrize("method", ["logpdf", "pdf", "entropy"])
def test_singular_cov_derivative_along_its_range(method):
    """The covariance's derivative along changes on its range (U B U^T, B symmetric),
    reverse and forward mode, against a directional finite difference."""
    basis, cov, mean, x = _degenerate()
    if method == "entropy":
        def f(c):
            return multivariate_normal.entropy(mean, c)
    else:
        fn = getattr(multivariate_normal, method)

        def f(c):
            return fn(x, mean, c, allow_singular=True)
    grad = ts.grad(f)(cov)
    for _ in range(3):
        b = RNG.normal(size=(2, 2))
        direction = basis @ (b + b.T) @ basis.T
        expected = _directional(f, cov, direction)
        assert_close(np.sum(grad * direction), expected)
        assert_close(ts.autodiff(f, mode="forward")(cov, direction), expected)


def test_allow_singular_on_a_regular_cov_is_the_ordinary_rule():
    cov, mean, x = _spd(3), RNG.normal(size=3), RNG.normal(size=(5, 3))

    def loglik(x, mean, cov):
        return np.sum(multivariate_normal.logpdf(x, mean, cov, allow_singular=True))

    def plain(x, mean, cov):
        return np.sum(multivariate_normal.logpdf(x, mean, cov))
    ts.check_grads(loglik, (x, mean, cov), order=2)
    for got, want in zip(ts.grad(loglik, wrt=(0, 1, 2))(x, mean, cov),
                         ts.grad(plain, wrt=(0, 1, 2))(x, mean, cov)):
        assert_close(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_logpdf_off_the_support_is_refused(mode):
    """x - mean outside the range: SciPy's logpdf is -inf, no derivative (pdf is 0 near
    there: its derivative is zero)."""
    cov, mean = np.diag([1.0, 1.0, 0.0]), np.zeros(3)
    x = np.array([0.3, -0.2, 0.5])

    def loglik(x):
        return multivariate_normal.logpdf(x, mean, cov, allow_singular=True)
    assert loglik(x) == -np.inf
    with pytest.raises(DerivativeUndefinedError, match="outside the singular"):
        if mode == "reverse":
            ts.grad(loglik)(x)
        else:
            ts.autodiff(loglik, mode="forward")(x, np.ones(3))

    def density(x):
        return multivariate_normal.pdf(x, mean, cov, allow_singular=True)
    assert np.all(ts.grad(density)(x) == 0.0)
    assert np.all(numerical_grad(density, (x,)) == 0.0)
