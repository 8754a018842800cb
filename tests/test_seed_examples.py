"""The seed examples: known derivatives, logistic regression, and training small models."""
from __future__ import annotations

import numpy as np
from fdcheck import assert_grad_matches, numerical_grad

import tangent_src


# --------------------------------------------------------------------------- (a), (b)
def tanh_fn(x):
    return np.tanh(x)


def test_tanh_derivative_at_two():
    """d/dx tanh(x) at 2.0 is 1 - tanh(2)**2 = 0.0706508..."""
    g = tangent_src.grad(tanh_fn)(2.0)
    assert abs(g - 0.070650816) < 1e-6
    assert abs(g - (1.0 - np.tanh(2.0) ** 2)) < 1e-12


def cubic(x):
    return x ** 3 + 2 * x ** 2 - 3 * x + 1


def test_cubic_derivative():
    """f(x) = x**3 + 2x**2 - 3x + 1 has f'(1) = 4 (and f'(x) = 3x**2 + 4x - 3 elsewhere)."""
    df = tangent_src.grad(cubic)
    assert abs(df(1.0) - 4.0) < 1e-12
    for x in (-2.0, 0.0, 0.5, 3.0):
        assert abs(df(x) - (3 * x ** 2 + 4 * x - 3)) < 1e-10


# ------------------------------------------------------------------- (c) logistic regression
inputs = np.array([[0.52, 1.12, 0.77],
                   [0.88, -1.08, 0.15],
                   [0.52, 0.06, -1.30],
                   [0.74, -2.49, 1.39]])
targets = np.array([True, True, False, True])


def sigmoid(x):
    return 0.5 * (np.tanh(x / 2) + 1)


def predict(W, b, inputs):
    return sigmoid(np.dot(inputs, W) + b)


def loss(W, b):
    preds = predict(W, b, inputs)
    return -np.sum(np.log(preds * targets + (1 - preds) * (1 - targets)))


def _logistic_params():
    rng = np.random.default_rng(0)
    return rng.normal(size=3), float(rng.normal())


def _logistic_analytic(W, b):
    residual = predict(W, b, inputs) - targets
    return np.dot(inputs.T, residual), float(np.sum(residual))


def test_logistic_regression_grad_wrt_W():
    """Gradient wrt the weights matches finite differences and the closed form."""
    W, b = _logistic_params()
    gW = assert_grad_matches(loss, (W, b), 0)
    np.testing.assert_allclose(gW, _logistic_analytic(W, b)[0], rtol=1e-10, atol=1e-12)


def test_logistic_regression_grad_wrt_b():
    """Gradient wrt the bias (a float) matches finite differences and the closed form."""
    W, b = _logistic_params()
    gb = assert_grad_matches(loss, (W, b), 1)
    np.testing.assert_allclose(gb, _logistic_analytic(W, b)[1], rtol=1e-10, atol=1e-12)


def test_logistic_regression_grad_wrt_W_and_b():
    """wrt=(W, b) by index and by name give both gradients."""
    W, b = _logistic_params()
    gW, gb = assert_grad_matches(loss, (W, b), (0, 1))
    aW, ab = _logistic_analytic(W, b)
    np.testing.assert_allclose(gW, aW, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(gb, ab, rtol=1e-10, atol=1e-12)
    nW, nb = tangent_src.grad(loss, wrt=("W", "b"))(W, b)
    np.testing.assert_allclose(nW, aW, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(nb, ab, rtol=1e-10, atol=1e-12)


def test_logistic_regression_training_decreases_loss():
    """A few gradient steps with the generated gradient decrease the loss."""
    W, b = _logistic_params()
    dloss = tangent_src.grad(loss, wrt=(0, 1))
    start = loss(W, b)
    for _ in range(50):
        gW, gb = dloss(W, b)
        W, b = W - 0.1 * gW, b - 0.1 * gb
    assert loss(W, b) < 0.5 * start


# --------------------------------------------------------------------------- (d) linear regression
def mse_linear(w, b, x, y):
    return np.mean((w * x + b - y) ** 2)


def test_linear_regression_sgd():
    """Fitting y = 2x with 100 gradient steps reduces the loss at least tenfold."""
    x = np.linspace(-1.0, 1.0, 20)
    y = 2.0 * x
    w, b = 0.0, 0.5
    residual = w * x + b - y
    g_start = tangent_src.grad(mse_linear, wrt=(0, 1))(w, b, x, y)
    np.testing.assert_allclose(g_start, (np.mean(2 * residual * x), np.mean(2 * residual)),
                               rtol=1e-10, atol=1e-12)
    assert_grad_matches(mse_linear, (w, b, x, y), (0, 1))

    dloss = tangent_src.grad(mse_linear, wrt=(0, 1))
    start = mse_linear(w, b, x, y)
    for _ in range(100):
        gw, gb = dloss(w, b, x, y)
        w, b = w - 0.1 * gw, b - 0.1 * gb
    end = mse_linear(w, b, x, y)
    assert end * 10 <= start
    assert abs(w - 2.0) < 0.05 and abs(b) < 0.05


# --------------------------------------------------------------------------- (e) two-layer MLP
def mlp_loss(W1, b1, W2, b2, X, y):
    h = np.maximum(0.0, np.dot(X, W1) + b1)
    out = np.dot(h, W2) + b2
    return np.mean((out - y) ** 2)


def _mlp_problem():
    rng = np.random.default_rng(4)
    X = rng.uniform(-1.0, 1.0, size=(64, 2))
    y = np.sin(2.0 * X[:, 0]) + 0.5 * X[:, 1] ** 2 + X[:, 1]
    W1 = rng.normal(size=(2, 16)) * 0.8
    b1 = rng.normal(size=16) * 0.1
    W2 = rng.normal(size=16) * 0.3
    b2 = 0.0
    return W1, b1, W2, b2, X, y


def test_mlp_gradient_matches_finite_differences_at_start():
    """The MLP gradient wrt every parameter matches finite differences at initialization."""
    W1, b1, W2, b2, X, y = _mlp_problem()
    # No pre-activation is close enough to the ReLU kink for the FD step to cross it.
    assert np.min(np.abs(np.dot(X, W1) + b1)) > 1e-4
    assert_grad_matches(mlp_loss, (W1, b1, W2, b2, X, y), (0, 1, 2, 3))


def test_mlp_training_reduces_loss_tenfold():
    """100 full-batch SGD steps with the generated gradients reduce the MSE at least tenfold."""
    W1, b1, W2, b2, X, y = _mlp_problem()
    dloss = tangent_src.grad(mlp_loss, wrt=("W1", "b1", "W2", "b2"))
    start = mlp_loss(W1, b1, W2, b2, X, y)
    lr = 0.1
    for _ in range(100):
        gW1, gb1, gW2, gb2 = dloss(W1, b1, W2, b2, X, y)
        W1 = W1 - lr * gW1
        b1 = b1 - lr * gb1
        W2 = W2 - lr * gW2
        b2 = b2 - lr * gb2
    end = mlp_loss(W1, b1, W2, b2, X, y)
    assert np.isfinite(end)
    assert end * 10 <= start, f"loss went from {start} to {end}"


def test_mlp_fd_helper_agrees_with_manual_backprop():
    """Sanity check of the test itself: FD agrees with hand-written backprop for the MLP."""
    W1, b1, W2, b2, X, y = _mlp_problem()
    z = np.dot(X, W1) + b1
    h = np.maximum(0.0, z)
    dout = 2.0 * (np.dot(h, W2) + b2 - y) / y.size
    dz = np.outer(dout, W2) * (z > 0)
    np.testing.assert_allclose(numerical_grad(mlp_loss, (W1, b1, W2, b2, X, y), 0),
                               np.dot(X.T, dz), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(numerical_grad(mlp_loss, (W1, b1, W2, b2, X, y), 2),
                               np.dot(h.T, dout), rtol=1e-5, atol=1e-7)
