"""tangent_src.fixed_point: autograd's fixed_point(f, a, x0, distance, tol) with implicit
derivatives in `a`, first and second order, both modes, checked against central finite
differences of the iteration itself (and of its finite-difference derivatives for second
order); misuse and third derivatives are refused with the argument or the order named."""
from __future__ import annotations

import numpy as np
import pytest

import tangent_src
from tangent_src import fixed_point
from tangent_src.errors import (
    DerivativeNotImplementedError,
    InvalidArgumentTypeError,
    UnsupportedSyntaxError,
)


def newton_sqrt_step(a):
    return lambda x: 0.5 * (x + a / x)


def damped_sqrt_step(a):
    return lambda x: x - 0.05 * (x * x - a)


def gap(x, y):
    return np.abs(x - y)


def max_gap(x, y):
    return np.max(np.abs(x - y))


def newton_sqrt(a):
    return fixed_point(newton_sqrt_step, a, 1.0, gap, 1e-14)


def damped_sqrt(a, guess=10.0):
    return fixed_point(damped_sqrt_step, a, guess, gap, 1e-13)


def deq_layer(params):
    """An equilibrium layer: h = tanh(W h + U x + b), its step curried on the parameters."""
    W, U, b, x = params
    return lambda h: np.tanh(np.dot(W, h) + np.dot(U, x) + b)


def deq_loss(W, U, b, x):
    h = fixed_point(deq_layer, (W, U, b, x), np.zeros(3), max_gap, 1e-14)
    scores = np.dot(h, np.arange(1.0, 4.0))
    return scores ** 2 + np.sum(h)


def fd(f, x, eps=1e-6):
    return (f(x + eps) - f(x - eps)) / (2 * eps)


def fd_vector(f, args, k, eps=1e-6):
    """Central differences of scalar f in every element of args[k]."""
    base = np.asarray(args[k], dtype=float)
    out = np.zeros(base.shape)
    for i in np.ndindex(base.shape):
        step = np.zeros(base.shape)
        step[i] = eps
        hi = list(args)
        lo = list(args)
        hi[k], lo[k] = base + step, base - step
        out[i] = (f(*hi) - f(*lo)) / (2 * eps)
    return out


def _deq_args():
    rs = np.random.RandomState(3)
    return 0.3 * rs.randn(3, 3), rs.randn(3, 2), rs.randn(3), rs.randn(2)


@pytest.mark.parametrize("sqrt_of", [newton_sqrt, damped_sqrt])
def test_first_derivative_both_modes(sqrt_of):
    a = 2.0
    assert abs(sqrt_of(a) - np.sqrt(a)) < 1e-10
    expected = fd(sqrt_of, a)
    assert abs(tangent_src.grad(sqrt_of)(a) - expected) < 1e-7
    forward = tangent_src.autodiff(sqrt_of, mode="forward")
    assert abs(forward(a, 1.0) - expected) < 1e-7
    assert abs(expected - 0.5 / np.sqrt(a)) < 1e-8  # and the reference is sqrt's own


@pytest.mark.parametrize("sqrt_of", [newton_sqrt, damped_sqrt])
def test_second_derivative_every_pair_of_modes(sqrt_of):
    a = 3.0
    first = tangent_src.grad(sqrt_of)
    expected = fd(lambda t: fd(sqrt_of, t, 1e-4), a, 1e-4)  # differences of differences
    forward = tangent_src.autodiff(sqrt_of, mode="forward")
    got = {
        "rev-rev": tangent_src.grad(first)(a),
        "fwd-rev": tangent_src.autodiff(first, mode="forward")(a, 1.0),
        "rev-fwd": tangent_src.grad(forward, wrt=0)(a, 1.0),
        "fwd-fwd": tangent_src.autodiff(forward, mode="forward", wrt=0)(a, 1.0, 1.0),
    }
    for label, value in got.items():
        assert abs(value - expected) < 1e-6, (label, value, expected)
    assert abs(expected + 0.25 * a ** -1.5) < 1e-6


def test_equilibrium_layer_gradients_and_hessian_against_differences():
    args = _deq_args()
    for k in range(4):
        computed = tangent_src.grad(deq_loss, wrt=k)(*args)
        np.testing.assert_allclose(computed, fd_vector(deq_loss, args, k), rtol=1e-6,
                                   atol=1e-8, err_msg=f"argument {k}")
    H = tangent_src.hessian(deq_loss, wrt=2)(*args)
    grad_b = tangent_src.grad(deq_loss, wrt=2)
    rows = np.array([fd_vector(lambda *a, i=i: grad_b(*a)[i], args, 2) for i in range(3)])
    np.testing.assert_allclose(H, rows, rtol=1e-5, atol=1e-7)
    v = np.array([0.3, -1.0, 0.5])
    np.testing.assert_allclose(tangent_src.hvp(deq_loss, wrt=2)(*args, v), rows @ v,
                               rtol=1e-5, atol=1e-7)


def test_check_grads_second_order_both_modes_with_tuple_parameters():
    tangent_src.check_grads(deq_loss, _deq_args(), order=2, modes=("fwd", "rev"))


def test_training_loop_through_an_equilibrium_layer():
    W, U, b, x = _deq_args()
    target = 0.7
    grad_b = tangent_src.grad(lambda b: (np.sum(fixed_point(
        deq_layer, (W, U, b, x), np.zeros(3), max_gap, 1e-13)) - target) ** 2)
    losses = []
    for step in range(30):
        h = fixed_point(deq_layer, (W, U, b, x), np.zeros(3), max_gap, 1e-13)
        losses.append((np.sum(h) - target) ** 2)
        if step % 10 == 0:
            print(f"step {step}: loss {losses[-1]:.6f}")
        b = b - 0.1 * grad_b(b)
    assert losses[-1] < 1e-3 * losses[0]


def test_third_derivative_is_refused_when_it_runs():
    with pytest.raises(DerivativeNotImplementedError, match="third derivatives"):
        tangent_src.grad(tangent_src.grad(tangent_src.grad(newton_sqrt)))(2.0)


def test_misuse_is_refused_with_the_argument_named():
    with pytest.raises(InvalidArgumentTypeError, match="f must be a function"):
        fixed_point(2.0, 1.0, 1.0, gap, 1e-6)
    with pytest.raises(InvalidArgumentTypeError, match="distance must be a function"):
        fixed_point(newton_sqrt_step, 1.0, 1.0, 1e-6, 1e-6)
    with pytest.raises(InvalidArgumentTypeError, match="f is curried"):
        fixed_point(lambda a: a, 2.0, 1.0, gap, 1e-6)
    with pytest.raises(InvalidArgumentTypeError, match="must return a scalar"):
        fixed_point(deq_layer, _deq_args(), np.zeros(3), gap, 1e-6)


def inline_step_sqrt(a):
    return fixed_point(lambda a: lambda x: 0.5 * (x + a / x), a, 1.0, gap, 1e-12)


def test_a_step_function_tangent_src_cannot_read_is_a_located_refusal():
    with pytest.raises(UnsupportedSyntaxError) as info:
        tangent_src.grad(inline_step_sqrt)(2.0)
    assert "test_fixed_point.py" in str(info.value)
