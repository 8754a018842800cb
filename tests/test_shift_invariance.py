"""The exact activity rule for the stabilizing shift of logsumexp and log-softmax
(analysis/shift_invariance.py): where every use of `m = np.max(a, ...)` is in a pattern
whose value does not change when m does, m is a constant and its adjoint (an
`extremum_mask`) is gone; anywhere else the derivative through m is kept. Every case is
checked against central finite differences of the function itself: gradients (reverse
mode), directional derivatives (forward mode), Hessian-vector products (second
differences), and under the numba back end."""
from __future__ import annotations

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src

RNG = np.random.default_rng(1414)
W = RNG.normal(size=(3, 4))  # weights read as a global: a constant of every case


# --- the shift is invariant: m must become a constant ------------------------------------

def lse_keepdims(a):
    m = np.max(a, axis=1, keepdims=True)
    return np.sum(W[:, :1] * (np.log(np.sum(np.exp(a - m), axis=1, keepdims=True)) + m))


def _logsumexp(a, axis):
    mx = np.max(a, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(a - mx), axis=axis)) + np.squeeze(mx, axis=axis)


def lse_squeezed_twice(a):
    """ADBench GMM's helper, called twice (inlined twice) on different axes."""
    return np.sum(W[0] * _logsumexp(a, 0)) + np.sum(W[:, 0] * _logsumexp(a, 1))


def lse_whole(a):
    m = np.max(a)
    return np.log(np.sum(np.exp(a - m))) + m


def lse_whole_keepdims(a):
    m = np.amax(a, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(a - m), keepdims=True)) + m)


def log_softmax_keepdims(a):
    """The MLP workload's form."""
    zs = a - np.max(a, axis=1, keepdims=True)
    log_probs = zs - np.log(np.sum(np.exp(zs), axis=1, keepdims=True))
    return -np.mean(np.sum(W * log_probs, axis=1))


def log_softmax_indexed(a):
    m = a.max(axis=1)
    zs = a - m[:, None]
    return np.sum(W * (zs - np.log(np.exp(zs).sum(axis=1))[:, None]))


def log_softmax_axis0(a):
    m = np.max(a, axis=0)
    zs = a - m[None]
    return np.sum(W * (zs - np.expand_dims(np.log(np.sum(np.exp(zs), axis=0)), 0)))


def log_softmax_last(a):
    m = np.max(a, axis=-1)
    zs = a - m[..., None]
    return np.sum(W * (zs - np.log(np.sum(np.exp(zs), axis=-1))[..., None]))


def log_softmax_expand_dims(a):
    m = np.expand_dims(np.max(a, axis=1), 1)
    zs = a - m
    return np.sum(W * (zs - np.log(np.sum(np.exp(zs), axis=1, keepdims=True))))


def shared_shift(a):
    """One m used by a log-softmax and a logsumexp (and the softmax's ratio)."""
    m = np.max(a, axis=1, keepdims=True)
    zs = a - m
    e = np.exp(zs)
    s = np.sum(e, axis=1, keepdims=True)
    lse = np.log(s) + m
    softmax = e / s
    return np.sum(W * (zs - np.log(s))) + np.sum(lse * lse) + np.sum(W * softmax)


def min_shift(a):
    m = np.min(a, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(a - m), axis=1, keepdims=True)) + m)


INVARIANT = [lse_keepdims, lse_squeezed_twice, lse_whole, lse_whole_keepdims,
             log_softmax_keepdims, log_softmax_indexed, log_softmax_axis0, log_softmax_last,
             log_softmax_expand_dims, shared_shift, min_shift]


# --- the shift is seen (or not provably unseen): m keeps its derivative ------------------

def max_used_elsewhere(a):
    m = np.max(a, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(a - m), axis=1, keepdims=True)) + m) + np.sum(m * m)


def shifted_not_restored(a):
    """log(sum(exp(a - m))) without + m: the result sees the shift."""
    m = np.max(a, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(a - m), axis=1, keepdims=True)))


def other_axis_sum(a):
    m = np.max(a, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(a - m), axis=0, keepdims=True)) + np.sum(m))


def wrong_expansion(a):
    """m over axis 0 expanded at axis 1: broadcast along the wrong axis (a is square)."""
    m = np.max(a, axis=0)
    zs = a - m[:, None]
    return np.sum(W[:, :3] * (zs - np.log(np.sum(np.exp(zs), axis=0))[:, None]))


def unkept_broadcast(a):
    """a - m without keepdims: (3, 3) - (3,) broadcasts m along rows, not columns."""
    m = np.max(a, axis=1)
    return np.sum(np.log(np.sum(np.exp(a - m), axis=1)) + m)


def shifted_values_returned(a):
    zs = a - np.max(a, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(zs), axis=1, keepdims=True))
    return np.sum(zs * zs) + np.sum(lse)


def scaled_shift(a):
    m = np.max(a, axis=1, keepdims=True)
    return np.sum(np.log(np.sum(np.exp(2.0 * (a - m)), axis=1, keepdims=True)) + 2.0 * m)


def shift_in_loop(a):
    total = 0.0
    for _ in range(2):
        m = np.max(a, axis=1, keepdims=True)
        total = total + np.sum(np.log(np.sum(np.exp(a - m), axis=1, keepdims=True)) + m)
    return total


KEPT = [max_used_elsewhere, shifted_not_restored, other_axis_sum, wrong_expansion,
        unkept_broadcast, shifted_values_returned, scaled_shift, shift_in_loop]


def _point(f):
    shape = (3, 3) if f in (wrong_expansion, unkept_broadcast) else (3, 4)
    a = RNG.normal(size=shape)
    a[0, 1] = a[0, 2] + 0.3  # distinct entries near each other, away from ties
    return a


def _second_differences(f, a, v, h=1e-3):
    """(H v)_i from four evaluations of f each: independent of any generated code."""
    out = np.zeros(a.size)
    for i in range(a.size):
        e = np.zeros(a.size)
        e[i] = h
        e = e.reshape(a.shape)
        out[i] = (f(a + e + h * v) - f(a + e - h * v) - f(a - e + h * v)
                  + f(a - e - h * v)) / (4 * h * h)
    return out.reshape(a.shape)


@pytest.mark.parametrize("f", INVARIANT + KEPT, ids=lambda f: f.__name__)
def test_gradient_jvp_and_hvp_match_finite_differences(f):
    a = _point(f)
    want = numerical_grad(f, (a,), 0)
    df = tangent_src.grad(f)
    np.testing.assert_allclose(df(a), want, rtol=1e-6, atol=1e-8)
    source = df.source
    if f in INVARIANT:
        assert "extremum_mask" not in source, source
    else:
        assert "extremum_mask" in source, source
    v = RNG.normal(size=a.shape)
    _, dv = tangent_src.jvp(f, (a,), (v,))
    np.testing.assert_allclose(dv, np.sum(want * v), rtol=1e-6, atol=1e-8)
    hv = tangent_src.hvp(f)(a, v)
    np.testing.assert_allclose(hv, _second_differences(f, a, v), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("f", INVARIANT, ids=lambda f: f.__name__)
def test_forward_mode_drops_the_shift_tangent(f):
    """The forward-mode code has no tangent of m: no derivative of the extremum."""
    source = tangent_src.autodiff(f, mode="forward").source
    assert "extremum_mask" not in source and "extremum_tangent" not in source, source


@pytest.mark.parametrize("f", [log_softmax_keepdims, lse_squeezed_twice, log_softmax_indexed,
                               max_used_elsewhere], ids=lambda f: f.__name__)
def test_numba_back_end(f):
    pytest.importorskip("numba")
    a = _point(f)
    got = tangent_src.grad(f, backend="numba")(a)
    np.testing.assert_allclose(got, numerical_grad(f, (a,), 0), rtol=1e-6, atol=1e-8)


def test_mlp_workload_gradient_without_the_shift():
    """The seed MLP (its log-softmax is the keepdims form) against finite differences."""
    from benchmarks.workloads import mlp_loss

    rng = np.random.default_rng(3)
    W1, b1 = rng.normal(size=(5, 4)) / 2, rng.normal(size=4)
    W2, b2 = rng.normal(size=(4, 3)) / 2, rng.normal(size=3)
    X, Y = rng.normal(size=(6, 5)), np.eye(3)[rng.integers(0, 3, size=6)]
    args = (W1, b1, W2, b2, X, Y)
    df = tangent_src.grad(mlp_loss, wrt=(0, 1, 2, 3))
    for got, want in zip(df(*args), numerical_grad(mlp_loss, args, (0, 1, 2, 3))):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-9)
    assert "extremum_mask" not in df.source


@pytest.mark.parametrize("f", [lse_keepdims, log_softmax_keepdims, lse_whole, shared_shift],
                         ids=lambda f: f.__name__)
def test_ties_of_the_maximum(f):
    """Tied maxima: these functions are smooth there, and the gradient is their derivative
    (the dropped term was zero times a mask that shares among the ties)."""
    a = _point(f)
    a[1, 3] = a[1, 0] = np.max(a) + 0.5
    a[2, 1] = a[2, 2] = np.max(a[2])
    want = numerical_grad(f, (a,), 0)
    np.testing.assert_allclose(tangent_src.grad(f)(a), want, rtol=1e-6, atol=1e-8)


def log_softmax_rows(a):
    """A vector (matrix) output: every entry is invariant to the shift."""
    zs = a - np.max(a, axis=1, keepdims=True)
    return zs - np.log(np.sum(np.exp(zs), axis=1, keepdims=True))


def shifted_rows(a):
    """The output is the shifted array itself: it sees the shift."""
    zs = a - np.max(a, axis=1, keepdims=True)
    return zs + 0.0 * np.log(np.sum(np.exp(zs), axis=1, keepdims=True))


def _numerical_jacobian(f, a, h=1e-6):
    cols = []
    for i in range(a.size):
        e = np.zeros(a.size)
        e[i] = h
        e = e.reshape(a.shape)
        cols.append(((f(a + e) - f(a - e)) / (2 * h)).ravel())
    return np.stack(cols, axis=1)


@pytest.mark.parametrize("f", [log_softmax_rows, shifted_rows], ids=lambda f: f.__name__)
@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_of_array_outputs(f, mode):
    a = _point(f)
    got = np.reshape(tangent_src.jacobian(f, mode=mode)(a), (a.size, a.size))
    np.testing.assert_allclose(got, _numerical_jacobian(f, a), rtol=1e-6, atol=1e-8)


def test_has_aux_returning_the_shift_keeps_it():
    """An auxiliary output that is the max itself: the loss is invariant, the aux is not
    differentiated, and the gradient is still the loss's."""
    def loss_and_max(a):
        m = np.max(a, axis=1, keepdims=True)
        return np.sum(np.log(np.sum(np.exp(a - m), axis=1, keepdims=True)) + m), m

    a = _point(lse_keepdims)
    g, aux = tangent_src.grad(loss_and_max, has_aux=True)(a)
    np.testing.assert_allclose(aux, np.max(a, axis=1, keepdims=True))
    np.testing.assert_allclose(g, numerical_grad(lambda x: loss_and_max(x)[0], (a,), 0),
                               rtol=1e-6, atol=1e-8)
