"""float32 in, float32 out (issue 15): gradients come back in the dtype of the argument
they differentiate, as in JAX, whatever widening NumPy's promotion did inside the
generated code; values are checked against float64 finite differences at float32
accuracy. Integer inputs are refused the same way whatever was called before."""
from __future__ import annotations

import numpy as np
import pytest

import tangent_src
from tangent_src.errors import NotDifferentiableError


def mlp_loss(params, X, y):
    h = X
    for W, b in params[:-1]:
        h = np.tanh(h @ W + b)
    W, b = params[-1]
    logits = h @ W + b
    return np.mean((logits[:, 0] - y) ** 2) + 1e-3 * sum(np.sum(W * W) for W, _ in params)


def loss(W, b, x):
    h = np.tanh(W @ x + b)
    return np.mean(h ** 2) + 0.5 * np.sum(W * W)


def fd_grad(f, args, index, h=1e-6):
    """Central differences in float64 with respect to args[index]."""
    args = [np.asarray(a, dtype=np.float64) for a in args]
    x = args[index]
    out = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        plus = [a.copy() for a in args]
        minus = [a.copy() for a in args]
        plus[index][idx] += h
        minus[index][idx] -= h
        out[idx] = (f(*plus) - f(*minus)) / (2 * h)
    return out


RNG = np.random.default_rng(3)
W = RNG.normal(size=(2, 3)) * 0.5
B = RNG.normal(size=2) * 0.1
X = RNG.normal(size=3)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 2e-5), (np.float16, 2e-2)])
def test_grad_and_value_and_grad_keep_the_dtype(dtype, rtol):
    args = [a.astype(dtype) for a in (W, B, X)]
    gW, gb = tangent_src.grad(loss, wrt=(0, 1))(*args)
    value, (vW, vb) = tangent_src.value_and_grad(loss, wrt=(0, 1))(*args)
    assert gW.dtype == gb.dtype == vW.dtype == vb.dtype == dtype
    assert np.asarray(value).dtype == dtype
    np.testing.assert_allclose(gW, fd_grad(loss, args, 0), rtol=rtol, atol=rtol)
    np.testing.assert_allclose(gb, fd_grad(loss, args, 1), rtol=rtol, atol=rtol)
    # only the wrt argument's dtype matters: a float64 argument keeps a float64 gradient
    gW64, gb32 = tangent_src.grad(loss, wrt=(0, 1))(W, B.astype(np.float32), X)
    assert gW64.dtype == np.float64 and gb32.dtype == np.float32


def test_float32_scalar_and_pytree_of_layers():
    assert type(tangent_src.grad(lambda s: s * 2.0)(np.float32(3.0))) is np.float32
    sizes = [(3, 4), (4, 1)]
    params = [(RNG.normal(size=s).astype(np.float32) * 0.5, np.zeros(s[1], np.float32))
              for s in sizes]
    Xs = RNG.normal(size=(5, 3)).astype(np.float32)
    ys = RNG.normal(size=5).astype(np.float32)
    grads = tangent_src.grad(mlp_loss)(params, Xs, ys)
    for (gW, gb), (W_, b_) in zip(grads, params):
        assert gW.dtype == gb.dtype == np.float32 and gW.shape == W_.shape == gW.shape
        assert gb.shape == b_.shape
    # against float64 finite differences on the first weight matrix
    def first(W0):
        return mlp_loss([(W0, params[0][1].astype(float)),
                         tuple(a.astype(float) for a in params[1])],
                        Xs.astype(float), ys.astype(float))
    np.testing.assert_allclose(grads[0][0], fd_grad(first, [params[0][0]], 0),
                               rtol=1e-4, atol=1e-5)


def test_hessian_jacobian_vjp_keep_float32():
    x = np.array([0.3, -0.7, 1.1], dtype=np.float32)

    def f(v):
        return np.sum(np.sin(v) * v ** 2)

    H = tangent_src.hessian(f)(x)
    J = tangent_src.jacobian(lambda v: np.tanh(v) * 2.0)(x)
    assert H.dtype == np.float32 and J.dtype == np.float32
    x64 = x.astype(float)
    np.testing.assert_allclose(H, np.diag(2 * np.sin(x64) + 4 * x64 * np.cos(x64)
                                          - x64 ** 2 * np.sin(x64)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(J, np.diag(2 / np.cosh(x64) ** 2), rtol=1e-5, atol=1e-6)


def test_integer_inputs_are_refused_before_and_after_a_float_call():
    def f(s):
        return s * 2.0

    fresh = tangent_src.grad(f)
    with pytest.raises(NotDifferentiableError, match="integer"):
        fresh(3)
    used = tangent_src.grad(f)
    assert used(3.0) == 2.0
    with pytest.raises(NotDifferentiableError, match="integer"):
        used(3)
    with pytest.raises(NotDifferentiableError, match="integer"):
        used(np.arange(3))


def rnn_loss(Wh, Wx, xs, h0):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(Wh @ h + Wx @ xs[t])
    return np.sum(h * h)


def test_numba_backend_takes_float32_and_gives_float32():
    """numba did not compile float32 loops (a float32 matrix times the float64 that the
    seed brings in: `Cannot unify`); float32 arguments are now computed in float64 and the
    results cast back, as the Python back end returns them."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(11)
    Wh = (rng.normal(size=(4, 4)) * 0.3).astype(np.float32)
    Wx = (rng.normal(size=(4, 3)) * 0.3).astype(np.float32)
    xs = rng.normal(size=(5, 3)).astype(np.float32)
    h0 = np.zeros(4, np.float32)
    value, (gWh, gWx) = tangent_src.value_and_grad(rnn_loss, wrt=(0, 1),
                                                   backend="numba")(Wh, Wx, xs, h0)
    assert np.asarray(value).dtype == gWh.dtype == gWx.dtype == np.float32
    args = [Wh, Wx, xs, h0]
    np.testing.assert_allclose(gWh, fd_grad(rnn_loss, args, 0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(gWx, fd_grad(rnn_loss, args, 1), rtol=1e-4, atol=1e-5)
