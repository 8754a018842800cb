"""Complex literals in real code: `x - 2 + 0j` makes the operand complex, so np.sqrt of a
negative number is an imaginary number rather than nan. The optimizer used to drop the
`+ 0j` (and `* (1 + 0j)`-style unit factors) as if they were the real 0 and 1, which gave
nan gradients with only a RuntimeWarning. Checked against central finite differences of
the (real-valued) function and against hand-derived values."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src


def real_sqrt_shifted(x):
    """0 for x < 2, sqrt(x - 2) above: the complex square root keeps it finite."""
    return np.sum(np.real(np.sqrt(x - 2 + 0j)))


def magnitude_of_root(x):
    """|sqrt(x)| = sqrt(|x|) through a complex cast by a unit factor."""
    return np.sum(np.abs(np.sqrt(x * (1 + 0j))))


def shifted_by_zero_imaginary(x):
    """0j added on the left, then a product: still complex, still finite."""
    z = 0j + x - 1.5
    return np.sum(np.real(z * np.sqrt(z)))


X = np.array([1.0, 3.5, 0.25, 4.0])
CASES = [real_sqrt_shifted, magnitude_of_root, shifted_by_zero_imaginary]


@pytest.mark.parametrize("func", CASES, ids=[f.__name__ for f in CASES])
def test_reverse_mode_against_finite_differences(func):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no nan from a real sqrt
        got = tangent_src.grad(func)(X)
    np.testing.assert_allclose(got, numerical_grad(func, (X,)), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("func", CASES, ids=[f.__name__ for f in CASES])
def test_forward_mode_against_finite_differences(func):
    v = np.array([0.3, -1.0, 2.0, 0.5])
    _, got = tangent_src.jvp(func, (X,), (v,))
    expected = numerical_grad(func, (X,)) @ v
    np.testing.assert_allclose(np.real(got), expected, rtol=1e-6, atol=1e-8)


def test_hand_derived_values():
    """d/dx Re sqrt(x - 2) = 0 below 2 (the root is imaginary) and 1 / (2 sqrt(x - 2))
    above; d/dx sqrt(|x|) = sign(x) / (2 sqrt(|x|))."""
    np.testing.assert_allclose(tangent_src.grad(real_sqrt_shifted)(X),
                               [0.0, 0.5 / np.sqrt(1.5), 0.0, 0.5 / np.sqrt(2.0)])
    x = np.array([-4.0, 1.0])
    np.testing.assert_allclose(tangent_src.grad(magnitude_of_root)(x), [-0.25, 0.5])
