"""A pytree argument passed on to user functions two calls deep.

The callee used to be specialized without knowing its parameter is a list, so it added
two adjoint contributions with `+`, which concatenates lists: the gradient came back
with twice as many layers (silently wrong where only the first ones were read)."""
import numpy as np
import pytest

import tangent_src

RS = np.random.RandomState(0)
X = RS.randn(3, 4)
T = RS.randn(3, 3)


def predict(params, inputs):
    for W, b in params:
        outputs = np.dot(inputs, W) + b
        inputs = np.tanh(outputs)
    return outputs


def l2_norm(params):
    return sum(np.sum(W ** 2) for W, b in params)


def log_posterior(params, inputs, L2_reg):
    return -L2_reg * l2_norm(params) + np.sum(predict(params, inputs) * T)


def objective(params):
    return -log_posterior(params, X, 0.1)


def dict_l2(layers):
    return np.sum(layers["W"] ** 2) + np.sum(layers["b"] ** 2)


def dict_fit(layers):
    return np.sum(np.tanh(X @ layers["W"] + layers["b"]))


def dict_loss(layers):
    return dict_fit(layers) + 0.5 * dict_l2(layers)


def dict_objective(layers):
    return 2.0 * dict_loss(layers)


def _leaves(tree):
    if isinstance(tree, dict):
        return [leaf for key in sorted(tree) for leaf in _leaves(tree[key])]
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [tree]


def _fd_gradient(f, tree, eps=1e-6):
    """Central differences of f, one element of one leaf at a time (leaves edited in place
    on a copy of the tree)."""
    grads = []
    for leaf in _leaves(tree):
        g = np.zeros_like(leaf)
        for idx in np.ndindex(leaf.shape):
            old = leaf[idx]
            leaf[idx] = old + eps
            up = f(tree)
            leaf[idx] = old - eps
            down = f(tree)
            leaf[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


def _params():
    rs = np.random.RandomState(1)
    return [(rs.randn(4, 5), rs.randn(5)), (rs.randn(5, 3), rs.randn(3))]


@pytest.mark.parametrize("func, make", [(objective, _params),
                                        (dict_objective,
                                         lambda: {"W": RS.randn(4, 3), "b": RS.randn(3)})])
def test_gradient_of_a_pytree_passed_two_calls_deep(func, make):
    tree = make()
    grad = tangent_src.grad(func)(tree)
    assert type(grad) is type(tree)
    got = _leaves(grad)
    expected = _fd_gradient(func, tree)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-6)


def test_forward_mode_agrees_two_calls_deep():
    params = _params()
    rs = np.random.RandomState(2)
    direction = [(rs.randn(*W.shape), rs.randn(*b.shape)) for W, b in params]
    _, tangent = tangent_src.jvp(objective, (params,), (direction,))
    expected = sum(np.sum(g * d) for g, d in zip(_fd_gradient(objective, params),
                                                _leaves(direction)))
    np.testing.assert_allclose(tangent, expected, rtol=1e-5, atol=1e-6)
