"""The examples of JAX's autodiff tutorial, written for tangent_src.

Derivatives of tanh at 2.0 (orders 1-3) and of a cubic at 1.0 (orders 1-4), composed every
way the API allows; then the tutorial's logistic regression: check_grads to second order,
value_and_grad, jvp, vjp and the Hessian, against finite differences.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src

TOL = 1e-6

# --------------------------------------------------------------------------- tanh at 2.0
TANH_D1 = 0.070650816
TANH_D2 = -0.13621868
TANH_D3 = 0.25265405


def tanh_fn(x):
    return np.tanh(x)


def test_tanh_references_by_formula():
    """The tutorial's numbers agree with tanh' = 1 - t**2, tanh'' = -2 t (1 - t**2), ..."""
    t = math.tanh(2.0)
    d1 = 1.0 - t * t
    assert abs(d1 - TANH_D1) < TOL
    assert abs(-2.0 * t * d1 - TANH_D2) < TOL
    assert abs(-2.0 * d1 * d1 + 4.0 * t * t * d1 - TANH_D3) < TOL


def test_tanh_reverse_over_reverse():
    grad = tangent_src.grad
    assert abs(grad(tanh_fn)(2.0) - TANH_D1) < TOL
    assert abs(grad(grad(tanh_fn))(2.0) - TANH_D2) < TOL
    assert abs(grad(grad(grad(tanh_fn)))(2.0) - TANH_D3) < TOL


def test_tanh_forward_over_forward():
    d1 = tangent_src.autodiff(tanh_fn, mode="forward")
    d2 = tangent_src.autodiff(d1, mode="forward")
    d3 = tangent_src.autodiff(d2, mode="forward")
    assert abs(d1(2.0, 1.0) - TANH_D1) < TOL
    assert abs(d2(2.0, 1.0, 1.0) - TANH_D2) < TOL
    assert abs(d3(2.0, 1.0, 1.0, 1.0) - TANH_D3) < TOL


def test_tanh_jvp():
    value, tangent = tangent_src.jvp(tanh_fn, (2.0,), (1.0,))
    assert abs(value - math.tanh(2.0)) < 1e-12
    assert abs(tangent - TANH_D1) < TOL


def test_tanh_forward_over_reverse():
    """jvp of grad(f) (arguments x and the output seed) along x gives f''."""
    g = tangent_src.grad(tanh_fn)
    value, tangent = tangent_src.jvp(g, (2.0, 1.0), (1.0, 0.0))
    assert abs(value - TANH_D1) < TOL
    assert abs(tangent - TANH_D2) < TOL
    assert abs(tangent_src.autodiff(g, mode="forward")(2.0, 1.0, 1.0) - TANH_D2) < TOL
    assert abs(tangent_src.hvp(tanh_fn)(2.0, 1.0) - TANH_D2) < TOL
    assert abs(tangent_src.hessian(tanh_fn)(2.0) - TANH_D2) < TOL
    gg = tangent_src.grad(g)
    value, tangent = tangent_src.jvp(gg, (2.0, 1.0, 1.0), (1.0, 0.0, 0.0))
    assert abs(value - TANH_D2) < TOL
    assert abs(tangent - TANH_D3) < TOL


def test_tanh_reverse_over_forward():
    d1 = tangent_src.autodiff(tanh_fn, mode="forward")
    assert abs(tangent_src.grad(d1, wrt=0)(2.0, 1.0) - TANH_D2) < TOL
    assert abs(tangent_src.grad(tangent_src.grad(d1, wrt=0), wrt=0)(2.0, 1.0) - TANH_D3) < TOL


# --------------------------------------------------------------------------- a cubic at 1.0
def cubic(x):
    return x ** 3 + 2 * x ** 2 - 3 * x + 1


CUBIC_DERIVATIVES = (4.0, 10.0, 6.0, 0.0)


def test_cubic_references():
    x = 1.0
    assert (3 * x ** 2 + 4 * x - 3, 6 * x + 4, 6.0, 0.0) == CUBIC_DERIVATIVES


def test_cubic_grad_nested_four_deep():
    f = cubic
    for order, expected in enumerate(CUBIC_DERIVATIVES, start=1):
        f = tangent_src.grad(f)
        got = f(1.0)
        assert np.ndim(got) == 0
        assert abs(got - expected) < TOL, f"order {order}: {got} != {expected}"


def test_cubic_forward_nested_four_deep():
    f = cubic
    for order, expected in enumerate(CUBIC_DERIVATIVES, start=1):
        f = tangent_src.autodiff(f, mode="forward")
        got = f(1.0, *([1.0] * order))
        assert abs(got - expected) < TOL, f"order {order}: {got} != {expected}"


def test_cubic_forward_over_reverse():
    g = tangent_src.grad(cubic)
    _, tangent = tangent_src.jvp(g, (1.0, 1.0), (1.0, 0.0))
    assert abs(tangent - 10.0) < TOL
    assert abs(tangent_src.hessian(cubic)(1.0) - 10.0) < TOL
    assert abs(tangent_src.hvp(cubic)(1.0, 0.5) - 5.0) < TOL


# --------------------------------------------------------------------------- logistic regression
inputs = np.array([[0.52, 1.12, 0.77],
                   [0.88, -1.08, 0.15],
                   [0.52, 0.06, -1.30],
                   [0.74, -2.49, 1.39]])
targets = np.array([True, True, False, True])


def sigmoid(x):
    return 0.5 * (np.tanh(x / 2) + 1)


def predict(W, b):
    return sigmoid(np.dot(inputs, W) + b)


def loss(W, b):
    preds = predict(W, b)
    label_probs = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(label_probs))


def _params():
    rng = np.random.default_rng(0)
    return rng.normal(size=3), 0.1


def test_check_grads_on_logistic_loss_to_second_order():
    W, b = _params()
    tangent_src.check_grads(loss, (W, b), order=2)


def test_value_and_grad_of_logistic_loss():
    W, b = _params()
    value, (dW, db) = tangent_src.value_and_grad(loss, wrt=(0, 1))(W, b)
    assert abs(value - loss(W, b)) < 1e-12
    expected_W, expected_b = numerical_grad(loss, (W, b), wrt=(0, 1))
    assert np.shape(dW) == (3,)
    assert np.ndim(db) == 0
    np.testing.assert_allclose(dW, expected_W, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(db, expected_b, rtol=1e-6, atol=1e-8)


def test_jvp_of_logistic_loss_is_the_directional_derivative():
    W, b = _params()
    rng = np.random.default_rng(1)
    vW, vb = rng.normal(size=3), float(rng.normal())
    eps = 1e-6
    expected = (loss(W + eps * vW, b + eps * vb) - loss(W - eps * vW, b - eps * vb)) / (2 * eps)
    value, tangent = tangent_src.jvp(loss, (W, b), (vW, vb))
    assert abs(value - loss(W, b)) < 1e-12
    assert abs(tangent - expected) < 1e-6 * max(1.0, abs(expected))


def test_jvp_of_predict_is_a_vector():
    """Forward mode through an array-valued function: one tangent per prediction."""
    W, b = _params()
    rng = np.random.default_rng(2)
    vW, vb = rng.normal(size=3), float(rng.normal())
    eps = 1e-6
    expected = (predict(W + eps * vW, b + eps * vb) - predict(W - eps * vW, b - eps * vb)) / (
        2 * eps)
    value, tangent = tangent_src.jvp(predict, (W, b), (vW, vb))
    np.testing.assert_allclose(value, predict(W, b), rtol=1e-12)
    assert np.shape(tangent) == (4,)
    np.testing.assert_allclose(tangent, expected, rtol=1e-6, atol=1e-9)


def test_vjp_of_predict():
    """vjp of the array-valued predict: the cotangents of W and b."""
    W, b = _params()
    ct = np.array([0.3, -1.2, 0.5, 0.8])
    value, vjp_fun = tangent_src.vjp(predict, W, b)
    np.testing.assert_allclose(value, predict(W, b), rtol=1e-12)
    ct_W, ct_b = vjp_fun(ct)

    def weighted(W, b):
        return float(np.dot(ct, predict(W, b)))

    expected_W, expected_b = numerical_grad(weighted, (W, b), wrt=(0, 1))
    np.testing.assert_allclose(ct_W, expected_W, rtol=1e-6, atol=1e-9)
    assert np.ndim(ct_b) == 0
    assert abs(ct_b - expected_b) < 1e-6


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_of_predict(mode):
    W, b = _params()
    jac = tangent_src.jacobian(predict, wrt=0, mode=mode)(W, b)
    assert np.shape(jac) == (4, 3)
    p = predict(W, b)
    # d sigmoid(z)/dz = p (1 - p); dz/dW = inputs
    np.testing.assert_allclose(jac, (p * (1 - p))[:, None] * inputs, rtol=1e-9, atol=1e-12)


def test_hessian_of_logistic_loss():
    """The Hessian in W is X^T diag(p (1 - p)) X (the loss is a sum of log-sigmoids)."""
    W, b = _params()
    hess = tangent_src.hessian(loss, wrt=0)(W, b)
    p = predict(W, b)
    expected = inputs.T @ ((p * (1 - p))[:, None] * inputs)
    assert np.shape(hess) == (3, 3)
    np.testing.assert_allclose(hess, expected, rtol=1e-9, atol=1e-12)
    v = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(tangent_src.hvp(loss, wrt=0)(W, b, v), expected @ v, rtol=1e-9,
                               atol=1e-12)
