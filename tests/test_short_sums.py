"""Sums over a short last axis by column additions (runtime `unbroadcast`,
`sum_keepdims`; optimize/short_sums.py): the same values, bit for bit, as NumPy's own
reduction, and gradients that use them against central finite differences."""
from __future__ import annotations

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.runtime import sum_keepdims, unbroadcast


def awkward(shape, dtype, rng):
    """Values of mixed magnitude and sign, with signed zeros, infinities and a NaN."""
    x = rng.standard_normal(shape) * 10.0 ** rng.integers(-8, 8, shape)
    flat = x.reshape(-1)
    specials = [0.0, -0.0, np.inf, -np.inf, np.nan, -0.0]
    flat[:len(specials)] = specials[:flat.size]
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16, np.longdouble])
@pytest.mark.parametrize("n", [2, 3, 5, 7, 8, 11])
@pytest.mark.parametrize("lead", [(400,), (20, 30), (1,)])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_same_bits_as_numpy(dtype, n, lead):
    rng = np.random.default_rng(n)
    x = awkward(lead + (n,), dtype, rng)
    expected = np.sum(x, axis=-1, keepdims=True)
    for got in (sum_keepdims(x, x.ndim - 1), sum_keepdims(x, -1),
                unbroadcast(x, np.zeros(lead + (1,), dtype))):
        assert got.dtype == expected.dtype and got.shape == expected.shape
        nan = np.isnan(expected)  # (a NaN's sign bit is not NumPy's to keep either)
        assert np.array_equal(np.isnan(got), nan)
        # equal values with equal sign bits: the same bits (longdouble's padding aside)
        assert np.array_equal(got[~nan], expected[~nan])
        assert np.array_equal(np.signbit(got[~nan]), np.signbit(expected[~nan]))


def test_other_axes_and_inputs_are_numpys():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 5))
    for axis in (0, 1, -2):
        np.testing.assert_array_equal(sum_keepdims(x, axis),
                                      np.expand_dims(np.sum(x, axis=axis), axis))
    ints = np.arange(12).reshape(4, 3)
    np.testing.assert_array_equal(sum_keepdims(ints, 1), np.sum(ints, axis=1, keepdims=True))
    column = x[:, :, 1:4]  # not contiguous
    np.testing.assert_array_equal(sum_keepdims(column, 2), np.sum(column, axis=2,
                                                                  keepdims=True))


def rotate_like(rot, X):
    """BA's pattern: per-row norms and dot products over 3 entries, broadcast back."""
    sq = np.sum(rot * rot, axis=1, keepdims=True)
    theta = np.sqrt(sq + 1.0)
    w = rot / theta
    dot = np.sum(w * X, axis=1, keepdims=True)
    return X * np.cos(theta) + w * (dot * (1.0 - np.cos(theta))) + np.sin(theta)


def test_gradient_through_short_sums():
    rng = np.random.default_rng(3)
    rot, X = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    weights = rng.standard_normal((6, 3))

    def loss(r, x):
        return np.sum(rotate_like(r, x) * weights)

    gradient = tangent_src.grad(loss, wrt=(0, 1))
    got = gradient(rot, X)
    assert "sum_keepdims(" in gradient.source
    expected = numerical_grad(loss, (rot, X), wrt=(0, 1))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-7)


def test_forward_keepdims_sums_are_rewritten_exactly():
    """The user's `np.sum(x, axis=k, keepdims=True)`, which the forward pass repeats,
    becomes sum_keepdims (same bits); other forms keep NumPy's call."""

    def norms(r, x):
        sq = np.sum(r * r, axis=1, keepdims=True)       # rewritten
        dot = np.sum(r * x, 1, keepdims=True)            # rewritten (positional axis)
        tot = np.sum(x, axis=0, keepdims=True)           # rewritten (a long axis: NumPy's)
        plain = np.sum(x * x, axis=1)                    # not kept: left alone
        wide = np.sum(r, axis=1, keepdims=True, dtype=np.float64)  # another keyword
        return np.sum(np.sqrt(sq + 1.0) * dot * tot) + np.sum(plain) + np.sum(wide ** 2)

    rng = np.random.default_rng(5)
    r, x = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    gradient = tangent_src.grad(norms, wrt=(0, 1))
    got = gradient(r, x)
    source = gradient.source
    assert "sum_keepdims(r * r, 1)" in source and "sum_keepdims(r * x, 1)" in source
    assert "sum_keepdims(x, 0)" in source
    assert "np.sum(x * x, axis=1)" in source and "dtype=np.float64" in source
    expected = numerical_grad(norms, (r, x), wrt=(0, 1))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)
