"""Writes through an integer-array index that repeats an entry.

NumPy keeps the last of repeated writes: after `y[[0, 0, 1]] = v`, y[0] is v[1] and v[0]
reaches nothing. The adjoint of the write must give v[0] no cotangent (it used to give it
y[0]'s, a silently wrong gradient); `y[idx] += w` with a repeated idx is the same write of
`y[idx] + w`, the well-known gotcha that np.add.at exists for. Checked against central
finite differences in both modes, to second order, and on the numba back end."""
from __future__ import annotations

import numpy as np
import pytest

import tangent_src

BOTH = ("fwd", "rev")
rng = np.random.default_rng(7)


def assign_repeated(x):
    y = x * 1.0
    y[[0, 0, 1]] = x[:3] * 2.0
    return np.sum(y ** 2)


def test_the_overwritten_value_gets_no_gradient():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    # y = [2 x1, 2 x2, x2, x3]: x0 is overwritten twice over and reaches nothing
    expected = np.array([0.0, 8.0 * x[1], 10.0 * x[2], 2.0 * x[3]])
    np.testing.assert_allclose(tangent_src.grad(assign_repeated)(x), expected, rtol=1e-12)
    tangent_src.check_grads(assign_repeated, (x,), order=2, modes=BOTH)


def scatter_weights(weights, labels, n_bins):
    # a histogram written the way people first write it (the last weight per bin wins)
    counts = np.zeros(n_bins)
    counts[labels] += weights
    return np.sum(np.log1p(counts ** 2))


def test_a_histogram_with_plus_equals_keeps_numpys_last_write():
    labels = np.array([2, 0, 2, 1, 0, 2])
    weights = rng.normal(size=6)
    tangent_src.check_grads(lambda w: scatter_weights(w, labels, 3), (weights,), order=2,
                            modes=BOTH)
    g = tangent_src.grad(scatter_weights)(weights, labels, 3)
    assert g[0] == 0.0 and g[2] == 0.0 and g[1] == 0.0 and g[4] != 0.0


def write_pairs(vals, M):
    out = M.copy()
    out[[0, 1, 0], [2, 2, 2]] = vals  # (0, 2) written twice
    return np.sum(np.tanh(out) * M)


def test_two_index_arrays_with_a_repeated_pair():
    M = rng.normal(size=(3, 3))
    vals = rng.normal(size=3)
    tangent_src.check_grads(write_pairs, (vals, M), order=2, modes=BOTH, wrt=(0, 1))
    assert tangent_src.grad(write_pairs)(vals, M)[0] == 0.0


def write_rows(params, rows):
    W = params["W"] * 1.0
    W[rows] = np.tanh(params["V"])  # row 1 written twice, row 3 never
    return np.sum(W ** 2) + np.sum(W[:, 0])


def test_rows_written_through_a_repeated_row_index_in_a_params_dict():
    params = {"W": rng.normal(size=(4, 2)), "V": rng.normal(size=(3, 2))}
    rows = np.array([1, 0, 1])
    tangent_src.check_grads(lambda p: write_rows(p, rows), (params,), order=2, modes=BOTH)
    g = tangent_src.grad(write_rows)(params, rows)
    np.testing.assert_array_equal(g["V"][0], 0.0)


def write_negative(x):
    y = np.zeros(4)
    y[np.array([-1, 3, 0])] = x  # -1 and 3 are the same entry
    return np.sum(y * np.arange(1.0, 5.0))


def test_negative_and_positive_spellings_of_one_entry():
    tangent_src.check_grads(write_negative, (rng.normal(size=3),), modes=BOTH)
    np.testing.assert_allclose(tangent_src.grad(write_negative)(np.ones(3)), [0.0, 4.0, 1.0])


def masked_and_looped(x):
    y = x.copy()
    y[y > 0] = np.sqrt(y[y > 0])
    for i in range(1, len(x)):
        y[i] = y[i] * y[i - 1]
    return np.sum(y)


def test_masks_and_loop_indexes_are_unchanged():
    x = np.abs(rng.normal(size=5)) + 0.1
    tangent_src.check_grads(masked_and_looped, (x,), order=2, modes=BOTH)


def assign_repeated_array(x):
    y = x * 1.0
    y[np.array([0, 0, 1])] = x[:3] * 2.0
    return np.sum(y ** 2)


@pytest.mark.parametrize("func, x, expected", [
    # y = [2 x1, 2 x2, x2, x3]
    (assign_repeated_array, np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 16.0, 30.0, 8.0])),
    # y[3] = x1 (x0 wrote there first), y[0] = x2
    (write_negative, np.array([0.5, -1.0, 2.0]), np.array([0.0, 4.0, 1.0])),
])
def test_numba_back_end_keeps_the_last_write(func, x, expected):
    pytest.importorskip("numba")
    got = tangent_src.grad(func, backend="numba")(x)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def fill_rows(x, idx):
    out = np.zeros((3, 2))
    for i in range(3):
        out[i] = x[i] * 2.0          # a loop index: one entry each
    out[idx] = out[idx] + x[3]       # an index passed in: it may repeat
    return np.sum(out ** 2)


def test_only_indexes_that_may_repeat_keep_the_masked_read():
    x, idx = rng.normal(size=(4, 2)), np.array([2, 2])
    text = tangent_src.source(tangent_src.grad(fill_rows), x, idx)
    assert text.count("written_at(") == 1, text      # the write through idx only
    tangent_src.check_grads(lambda v: fill_rows(v, idx), (x,), order=2, modes=BOTH)
