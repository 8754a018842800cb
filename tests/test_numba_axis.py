"""backend="numba" reduces float arrays over one axis with the loops of
backend/numba_axis.py and writes stacked matrix products straight into their result:
values and shapes agree with NumPy's (float64 sums to the bit, NaN and empty axes as
NumPy), and gradients through them agree with central finite differences.

No timing here (the speed-up is measured by benchmarks/run.py --only gmm).
"""
from __future__ import annotations

import numpy as np
import pytest
from fdcheck import numerical_grad
from numba_checks import run_twice

numba = pytest.importorskip("numba")

import tangent_src as ts  # noqa: E402
from tangent_src.backend.numba import require_numba  # noqa: E402

require_numba()


@numba.njit
def _reduced(a, axis):
    return (np.sum(a, axis=axis), np.sum(a, axis=axis, keepdims=True),
            np.max(a, axis=axis), np.min(a, axis=axis, keepdims=True),
            np.mean(a, axis=axis))


@numba.njit
def _row_sums(a):
    return np.sum(a, axis=1)


def _numpy_reduced(a, axis):
    return (np.sum(a, axis=axis), np.sum(a, axis=axis, keepdims=True),
            np.max(a, axis=axis), np.min(a, axis=axis, keepdims=True),
            np.mean(a, axis=axis))


@pytest.mark.parametrize("make", [
    lambda a: a,  # C order
    lambda a: a[:, ::-1],  # a strided view
    lambda a: a.astype(np.float32),
], ids=["c", "strided", "float32"])
def test_reductions_over_each_axis_agree_with_numpy(make):
    rng = np.random.default_rng(0)
    base = rng.standard_normal((3, 140, 2)) * 10.0 ** rng.uniform(-3, 3, (3, 140, 2))
    a = make(base)
    for axis in (0, 1, 2, -1):
        for got, want in zip(_reduced(a, axis), _numpy_reduced(a, axis)):
            assert got.shape == want.shape and got.dtype == want.dtype
            if a.dtype == np.float64 and a.flags.c_contiguous:
                np.testing.assert_array_equal(got, want)  # NumPy's order: its bits
            else:
                np.testing.assert_allclose(got, want, rtol=1e-5 if a.dtype == np.float32
                                           else 1e-12)


def test_sum_of_rows_of_any_length_has_numpys_bits():
    """The pairwise order's branches: fewer than 8, up to 128, and halves above."""
    rng = np.random.default_rng(1)
    for n in (0, 1, 7, 8, 9, 127, 128, 129, 255, 1000, 1037):
        a = rng.standard_normal((2, n)) * 10.0 ** rng.uniform(-6, 6, (2, n))
        np.testing.assert_array_equal(_row_sums(a), np.sum(a, axis=1))


def test_nan_wins_and_an_empty_axis_raises_as_in_numpy():
    a = np.arange(24.0).reshape(2, 3, 4)
    a[1, 1, 2] = np.nan
    got = _reduced(a, 1)
    assert np.isnan(got[2][1, 2]) and np.isnan(got[3][1, 0, 2]) and got[2][1, 3] == 23.0
    with pytest.raises(ValueError):
        _reduced(np.zeros((2, 0, 1)), 1)


def mixture(W, X, b):
    """A stack of products (W (K, d, d) @ X (1, d, n): a stack of one broadcast), sums
    over the middle axis, a max-shifted log-sum-exp over the stack, a mean."""
    P = W @ X  # (K, d, n)
    s = np.sum(P * P, axis=1)  # (K, n)
    m = np.max(s, axis=0, keepdims=True)
    lse = np.log(np.sum(np.exp(s - m), axis=0)) + np.squeeze(m, axis=0)
    return np.sum(lse) + np.sum(np.mean(W, axis=2) * b)


def test_mixture_gradient_matches_finite_differences():
    rng = np.random.default_rng(2)
    W = 0.3 * rng.standard_normal((3, 4, 4))
    X = rng.standard_normal((1, 4, 9))
    b = rng.standard_normal(4)
    got = ts.grad(mixture, wrt=(0, 1, 2), backend="numba")(W, X, b)
    for g, want in zip(got, numerical_grad(mixture, (W, X, b), wrt=(0, 1, 2))):
        np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-7)


_PROCESS = """
import numba
import numpy as np
from tangent_src.backend.numba import require_numba
require_numba()
import probe_nbaxis as model
f = numba.njit(cache=True)(model.f)
a = np.linspace(-1.0, 1.0, 3 * 1000).reshape(3, 1000)
difference = float(np.sum(f(a) - np.sum(a, axis=1)))
print(sum(f.stats.cache_hits.values()), repr(difference))
"""


def test_disk_cache_of_a_long_row_sum_is_read_by_a_second_process(tmp_path):
    """Rows longer than 128 take the pairwise sum's halving path; a second process loads
    the code numba cached in the first."""
    runs = run_twice(tmp_path, "probe_nbaxis",
                     "import numpy as np\n\n\ndef f(a):\n    return np.sum(a, axis=1)\n",
                     _PROCESS, "NUMBA_CACHE_DIR")
    assert [hits for hits, _ in runs] == [0, 1]
    assert all(difference == 0.0 for _, difference in runs)  # NumPy's bits
