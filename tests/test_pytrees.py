"""ravel_pytree and elementwise_grad, as autograd/JAX users use them: a dict of layer
parameters fitted with scipy.optimize.minimize(jac=True) through a flat vector, and the
derivative of an activation plotted over a grid. References: finite differences and
hand-derived derivatives."""
from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
import scipy.optimize

import tangent_src
from tangent_src.errors import InvalidArgumentTypeError

Layer = namedtuple("Layer", ["W", "b"])


def test_ravel_pytree_round_trips_structure_shapes_and_dtypes():
    params = {"hidden": Layer(np.arange(6.0).reshape(2, 3), np.array([0.5, -1.0, 2.0])),
              "scale": 3.0, "steps": [np.float32(1.5), np.ones((2, 1), dtype=np.float32)]}
    flat, unravel = tangent_src.ravel_pytree(params)
    assert flat.dtype == np.float64 and flat.shape == (6 + 3 + 1 + 1 + 2,)
    # dict keys in sorted order: hidden (W then b), scale, steps
    np.testing.assert_array_equal(flat[:6], np.arange(6.0))
    np.testing.assert_array_equal(flat[6:9], [0.5, -1.0, 2.0])
    assert flat[9] == 3.0
    back = unravel(flat + 1.0)
    assert isinstance(back["hidden"], Layer)
    np.testing.assert_array_equal(back["hidden"].W, np.arange(6.0).reshape(2, 3) + 1.0)
    assert back["scale"] == 4.0 and isinstance(back["scale"], float)
    assert back["steps"][1].dtype == np.float32 and back["steps"][1].shape == (2, 1)
    flat[:] = 0.0  # the rebuilt tree owns its arrays
    assert back["hidden"].W[0, 0] == 1.0


def test_ravel_pytree_keeps_the_imaginary_parts_of_complex_leaves():
    # it cast complex leaves to float64 before, dropping their imaginary parts
    params = {"phase": np.array([1.0 + 2.0j, -3.0j]), "gain": 0.5, "z": 1.0 - 1.0j}
    flat, unravel = tangent_src.ravel_pytree(params)
    assert flat.dtype == np.float64
    np.testing.assert_array_equal(flat, [0.5, 1.0, 0.0, 2.0, -3.0, 1.0, -1.0])
    back = unravel(flat)
    np.testing.assert_array_equal(back["phase"], params["phase"])
    assert back["phase"].dtype == np.complex128 and back["z"] == 1.0 - 1.0j


def test_ravel_pytree_refuses_what_is_not_a_number():
    with pytest.raises(InvalidArgumentTypeError, match="str"):
        tangent_src.ravel_pytree({"name": "layer"})


def loss(params, X, y):
    """A one-hidden-layer regression network over a params dict, as people write it."""
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    pred = hidden @ params["w2"] + params["b2"]
    return np.mean((pred - y) ** 2) + 1e-3 * np.sum(params["W1"] ** 2)


def test_scipy_minimize_with_value_and_grad_through_a_flat_vector():
    rs = np.random.RandomState(0)
    X = rs.randn(20, 3)
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1]
    params = {"W1": 0.3 * rs.randn(3, 4), "b1": np.zeros(4), "w2": 0.3 * rs.randn(4),
              "b2": 0.0}
    flat0, unravel = tangent_src.ravel_pytree(params)
    value_and_grad = tangent_src.value_and_grad(loss)

    def fun(flat):
        value, grads = value_and_grad(unravel(flat), X, y)
        return value, tangent_src.ravel_pytree(grads)[0]

    value, g = fun(flat0)  # the flat gradient against finite differences of the flat loss
    eps = 1e-6
    fd = np.array([(loss(unravel(flat0 + eps * e), X, y) - loss(unravel(flat0 - eps * e), X, y))
                   / (2 * eps) for e in np.eye(flat0.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-8)
    result = scipy.optimize.minimize(fun, flat0, jac=True, method="L-BFGS-B",
                                     options={"maxiter": 200})
    assert result.fun < 0.5 * value
    assert result.success or result.nit >= 200


def softplus(x):
    return np.log1p(np.exp(x))


@pytest.mark.parametrize("func, derivative", [
    (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    (softplus, lambda x: 1.0 / (1.0 + np.exp(-x))),
])
def test_elementwise_grad_is_the_pointwise_derivative(func, derivative):
    x = np.linspace(-3.0, 3.0, 13)
    np.testing.assert_allclose(tangent_src.elementwise_grad(func)(x), derivative(x),
                               rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(tangent_src.elementwise_grad(func)(0.7), derivative(0.7))


def test_elementwise_grad_second_argument():
    def scaled(x, a):
        return a * np.sin(x)

    x, a = np.array([0.1, 0.5, 1.0]), np.array([2.0, -1.0, 0.5])
    np.testing.assert_allclose(tangent_src.elementwise_grad(scaled, wrt=1)(x, a), np.sin(x))
    np.testing.assert_allclose(tangent_src.elementwise_grad(scaled)(x, a), a * np.cos(x))


def test_elementwise_grad_nests_to_higher_derivatives():
    """egrad(egrad(tanh)) as autograd's tanh example plots it: an elementwise_grad is a
    transform, so it can be differentiated again (it was a closure, refused)."""
    def tanh(x):
        y = np.exp(-2.0 * x)
        return (1.0 - y) / (1.0 + y)

    x = np.linspace(-2.0, 2.0, 9)
    first = tangent_src.elementwise_grad(tanh)
    second = tangent_src.elementwise_grad(first)
    t = np.tanh(x)
    np.testing.assert_allclose(first(x), 1.0 - t ** 2, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(second(x), -2.0 * t * (1.0 - t ** 2), rtol=1e-10, atol=1e-12)
