"""np.add/subtract/multiply.outer and np.polyval, in the code people write with them:
pairwise squared distances of a kernel, a polynomial trend fitted by least squares.
Derivatives against central finite differences, both modes, second order."""
from __future__ import annotations

import numpy as np

import tangent_src

BOTH = ("fwd", "rev")
rng = np.random.default_rng(11)


def rbf_kernel_loglik(log_lengthscale, xs, ys):
    # pairwise squared distances the way GP tutorials write them
    sqdist = np.subtract.outer(xs, xs) ** 2
    K = np.exp(-0.5 * sqdist / np.exp(2.0 * log_lengthscale)) + 0.1 * np.eye(len(xs))
    return -0.5 * ys @ np.linalg.solve(K, ys) - 0.5 * np.linalg.slogdet(K)[1]


def test_a_kernel_from_subtract_outer():
    xs, ys = np.linspace(0.0, 2.0, 6), np.sin(np.linspace(0.0, 2.0, 6))
    tangent_src.check_grads(rbf_kernel_loglik, (0.3, xs, ys), order=2, modes=BOTH,
                            wrt=(0, 1, 2))


def pair_energy(positions, charges):
    grid = np.add.outer(positions, 0.5 * positions) + 2.0
    weights = np.multiply.outer(charges, charges[::-1])
    return np.sum(weights / grid ** 2)


def test_add_outer_and_multiply_outer_with_two_differentiated_operands():
    positions = rng.uniform(0.5, 1.5, size=4)
    charges = rng.normal(size=4)
    tangent_src.check_grads(pair_energy, (positions, charges), order=2, modes=BOTH,
                            wrt=(0, 1))


def test_outer_of_a_matrix_and_a_vector_keeps_the_axes_apart():
    def f(M, v):
        return np.sum(np.tanh(np.multiply.outer(M, v)) * np.subtract.outer(v, M.T)[0, 0])
    tangent_src.check_grads(f, (rng.normal(size=(2, 3)), rng.normal(size=2)), order=2,
                            modes=BOTH, wrt=(0, 1))


def trend_loss(coeffs, ts, observed):
    predicted = np.polyval(coeffs, ts)
    return np.mean((predicted - observed) ** 2)


def test_a_polynomial_trend_in_its_coefficients_and_its_times():
    ts = np.linspace(-1.0, 1.0, 7)
    observed = 0.3 * ts ** 3 - ts + 0.2
    coeffs = rng.normal(size=4)
    tangent_src.check_grads(trend_loss, (coeffs, ts, observed), order=2, modes=BOTH,
                            wrt=(0, 1))


def test_polyval_at_a_scalar_against_the_hand_derivative():
    p = np.array([2.0, -1.0, 0.5])  # 2 x^2 - x + 0.5
    x = 1.5
    assert np.isclose(tangent_src.grad(np.polyval, wrt=1)(p, x), 4.0 * x - 1.0)
    np.testing.assert_allclose(tangent_src.grad(np.polyval, wrt=0)(p, x), [x * x, x, 1.0])
