"""backend="numba" on the workloads of issue 14 (the MLP, ADBench's vectorized GMM and
LSTM, float32 inputs) and on the NumPy forms their generated code uses that numba lacks
(reductions with axis=/keepdims=, np.stack of a list, integer-array indices, `@` on
stacks of matrices).

Every gradient is checked against an independent reference: ADBench's reference values,
a hand-written gradient verified by finite differences, or central finite differences.
No timing here (benchmarks/run.py times them).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from fdcheck import numerical_grad

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import tangent_src  # noqa: E402
from benchmarks import workloads  # noqa: E402
from benchmarks.adbench import gmm, lstm  # noqa: E402
from benchmarks.adbench.io import data_path, read_gmm, read_lstm, reference_values  # noqa: E402
from benchmarks.adbench.suite import adbench_error, fd_check  # noqa: E402

ADBENCH_TOL = 1e-8


def numba_grad(f, wrt):
    return tangent_src.grad(f, wrt=wrt, backend="numba")


def assert_all_close(got, want, rtol=1e-9, atol=1e-12):
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for k, (a, b) in enumerate(zip(got, want)):
        assert np.shape(a) == np.shape(b), f"gradient {k}: shape {np.shape(a)} != {np.shape(b)}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=f"gradient {k}")


# --------------------------------------------------------------------------- the workloads


def test_mlp_softmax_keepdims_compiles_and_matches_hand_gradient():
    """The issue's MLP (np.max/np.sum with axis= and keepdims=, np.mean): numba's gradient
    equals the hand-written one, which finite differences confirm."""
    args = workloads.mlp_args()
    wrt = (0, 1, 2, 3)
    got = numba_grad(workloads.mlp_loss, wrt)(*args)
    hand = workloads.mlp_loss_grad(*args)
    assert fd_check(workloads.mlp_loss, args, wrt, hand) < 1e-6
    assert_all_close(got, hand, rtol=1e-8, atol=1e-12)


def test_mlp_float32_gives_float32_gradients():
    """float32 inputs (the issue: `Cannot unify array(float32) and array(float64)`):
    float32 gradients, equal to the float64 gradient rounded."""
    args64 = workloads.mlp_args(seed=1)
    args32 = tuple(a.astype(np.float32) for a in args64)
    got = numba_grad(workloads.mlp_loss, (0, 1, 2, 3))(*args32)
    want = workloads.mlp_loss_grad(*args64)
    for g, w in zip(got, want):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=2e-3, atol=2e-6)


def test_gmm_vectorized_matches_adbench_reference():
    """ADBench's vectorized GMM (np.concatenate's adjoint, `rows[:, q_index(d)]` with a
    2-d index array, batched `@`, logsumexp with keepdims) on ADBench's test input."""
    ref = reference_values()["gmm_test_txt"]
    args = read_gmm(data_path("gmm/test.txt"), replicate_point=False).args
    objective = gmm.numba_form(gmm.gmm_objective)
    got = numba_grad(objective, (0, 1, 2))(*args)
    assert adbench_error(gmm.flat_gradient(got), ref["gradient"]) <= ADBENCH_TOL


def test_gmm_vectorized_d10_k5_matches_hand_gradient():
    """The benchmark's size (1k points, d=10, K=5) against the hand-written gradient,
    itself checked by finite differences."""
    args = read_gmm(data_path("gmm/1k/gmm_d10_K5.txt")).args
    hand = gmm.gmm_objective_grad_hand(*args)
    assert fd_check(gmm.gmm_objective, args, (0, 1, 2), hand) < 1e-6
    got = numba_grad(gmm.numba_form(gmm.gmm_objective), (0, 1, 2))(*args)
    assert adbench_error(np.concatenate([np.ravel(g) for g in got]),
                         np.concatenate([np.ravel(h) for h in hand])) <= ADBENCH_TOL


def test_lstm_l2_c1024_matches_adbench_reference():
    """ADBench's LSTM (np.stack of a list built in a loop, its adjoint popped in the
    backward loop, np.concatenate's adjoint in each cell)."""
    ref = reference_values()["lstm_l2_c1024"]
    args = read_lstm(data_path("lstm/lstm_l2_c1024.txt")).args
    d_main, d_extra = numba_grad(lstm.lstm_objective, (0, 1))(*args)
    flat = np.concatenate([d_main.ravel(), d_extra.ravel()])
    assert adbench_error(flat, ref["gradient"]) <= ADBENCH_TOL


# --------------------------------------------------------------------------- the forms


TOKENS = np.array([0, 2, 2, 1, 2])  # token 2 three times: its gradient adds up
COLUMNS = np.array([[0, 1], [1, 1], [2, 0]])


def embedding_loss(table, weights):
    total = 0.0
    vectors = table[TOKENS]
    for w in weights:
        total = total + np.sum(np.tanh(vectors @ w))
    return total


def test_repeated_index_adds_up():
    """`table[TOKENS]` with a repeated token: its rows' adjoints add up (numba's
    `acc[index] += g` kept one of them: a silently wrong gradient before)."""
    rng = np.random.default_rng(3)
    table = rng.standard_normal((4, 3))
    weights = [rng.standard_normal(3) for _ in range(2)]
    got = numba_grad(embedding_loss, 0)(table, weights)
    want = numerical_grad(embedding_loss, (table, weights), 0)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def gather_columns(rows, scale):
    picked = rows[:, COLUMNS] * scale  # (n, 3, 2), columns repeated
    return np.sum(np.sin(picked)) + np.sum(picked[:, 0] ** 2)


def test_two_dimensional_index_array_beside_a_slice():
    rng = np.random.default_rng(4)
    rows, scale = rng.standard_normal((5, 3)), 0.7
    got = numba_grad(gather_columns, (0, 1))(rows, scale)
    want = numerical_grad(gather_columns, (rows, scale), (0, 1))
    assert_all_close(got, want, rtol=1e-6, atol=1e-8)


def normalized_scores(params, x):
    h = x
    for W in params:
        h = np.tanh(h @ W)
    centered = h - np.mean(h, axis=1, keepdims=True)
    peak = np.max(centered, axis=0)
    low = np.min(centered, axis=(0, 1), keepdims=True)
    spread = np.sum(centered * centered, axis=(0, 1))
    return np.sum(peak) - np.sum(low) + spread + np.mean(np.mean(h, axis=0))


def test_reductions_with_axis_and_keepdims():
    rng = np.random.default_rng(5)
    params = [rng.standard_normal((3, 4)) * 0.8, rng.standard_normal((4, 4)) * 0.8]
    x = rng.standard_normal((6, 3))

    def loss(W1, W2, x):
        return normalized_scores([W1, W2], x)
    args = (params[0], params[1], x)
    got = numba_grad(loss, (0, 1))(*args)
    want = numerical_grad(loss, args, (0, 1))
    assert_all_close(got, want, rtol=1e-6, atol=1e-8)


def stacked_states(Ws, x, steps):
    states = []
    h = x
    for _ in range(steps):
        h = np.tanh(Ws @ h)  # (k, n, n) @ (k, n, 1): one matrix product per k
        states.append(h)
    history = np.stack(states)
    squeezed = np.squeeze(history[-1], axis=2)
    return np.sum(history ** 2) + np.sum(np.max(squeezed, axis=1, keepdims=True))


def test_stack_of_a_list_and_stacked_matmul():
    rng = np.random.default_rng(6)
    Ws = rng.standard_normal((2, 3, 3)) * 0.5
    x = rng.standard_normal((2, 3, 1))
    got = numba_grad(stacked_states, (0, 1))(Ws, x, 3)
    want = numerical_grad(stacked_states, (Ws, x, 3), (0, 1))
    assert_all_close(got, want, rtol=1e-6, atol=1e-8)


def layers_then_decay(params, x):
    """A layer loop over a slice of `params` (a list of (W, b) tuples) as tutorials write
    it, then an L2 term summed by a generator."""
    h = x
    for W, b in params[:-1]:
        h = np.tanh(h @ W + b)
    W, b = params[-1]
    return np.sum((h @ W + b) ** 2) + 0.1 * sum(np.sum(W ** 2) for W, _ in params)


def test_layers_over_a_slice_of_params():
    """add_at of a list slice and `replicate` (the adjoint of sum over a generator) under
    numba (before: no implementation of add_at(list, slice, list); untyped replicate)."""
    rng = np.random.default_rng(7)
    params = [(rng.standard_normal((3, 2)), rng.standard_normal(2)),
              (rng.standard_normal((2, 1)), rng.standard_normal(1))]
    x = rng.standard_normal((4, 3))
    got = numba_grad(layers_then_decay, 0)(params, x)
    flat = [a for layer in params for a in layer]

    def on_flat(*arrays):
        return layers_then_decay([(arrays[0], arrays[1]), (arrays[2], arrays[3])], x)
    want = numerical_grad(on_flat, tuple(flat), (0, 1, 2, 3))
    assert_all_close(tuple(a for layer in got for a in layer), want, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_reduction_overloads_agree_with_numpy(dtype):
    """The NumPy forms the numba back end adds (what numba compiles for these calls),
    against NumPy itself: values, shapes and dtypes."""
    import numba

    from tangent_src.backend import numba as numba_backend
    numba_backend.require_numba()
    a = np.array([[1.0, -5.0, 3.0], [4.0, 2.0, np.nan], [0.5, 7.0, -1.0]], dtype=dtype)
    a[1, 2] = 6.0
    cases = [
        lambda a: np.max(a, axis=1, keepdims=True),
        lambda a: np.max(a, axis=0),
        lambda a: np.min(a, axis=(0, 1), keepdims=True),
        lambda a: np.sum(a, axis=1, keepdims=True),
        lambda a: np.sum(a, axis=(0,)),
        lambda a: np.mean(a, axis=1),
        lambda a: np.mean(a, axis=0, keepdims=True),
        lambda a: np.squeeze(a[:1], axis=0),
        lambda a: np.stack([a[0], a[2]]),
        lambda a: np.stack((a, a)) @ np.stack((a.T, a)),
    ]
    for k, f in enumerate(cases):
        got, want = numba.njit(f)(a), f(a)
        assert np.shape(got) == np.shape(want), k
        assert np.asarray(got).dtype == np.asarray(want).dtype, k
        np.testing.assert_allclose(got, want, rtol=1e-6, err_msg=str(k))


def test_max_propagates_nan_like_numpy():
    import numba

    from tangent_src.backend import numba as numba_backend
    numba_backend.require_numba()
    a = np.array([[1.0, np.nan, 3.0], [4.0, 2.0, 0.0]])
    got = numba.njit(lambda a: np.max(a, axis=1, keepdims=True))(a)
    np.testing.assert_array_equal(got, np.max(a, axis=1, keepdims=True))
