"""Accumulations outside loops written in place (optimize/accumulate.py with
`straight`): `dx = dx + g` becomes `dx += g` where dx's array is its own. Each case
checks the gradient against central finite differences, including where the accumulated
adjoint starts from a value another adjoint also reads (it must not be written into)."""
from __future__ import annotations

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src

RNG = np.random.default_rng(7)
A = RNG.standard_normal((5, 3))
B = RNG.standard_normal((5, 3))
C = RNG.standard_normal((5, 1))


def many_uses(a, b, c):
    """a is read five times: five contributions to its adjoint."""
    s = np.sum(a * a, axis=1, keepdims=True)
    t = a * c + np.sin(a) * s
    u = np.cross(a, b) * c
    return np.sum(t * u + a * b)


def shared_start(a, b, c):
    """`y = x + x`-like reads: one adjoint value feeding two adjoints."""
    y = a + b
    z = y * c + a
    return np.sum(np.tanh(z) * y)


def broadcast_back(a, b, c):
    """Contributions summed back over a broadcast axis into a (5, 1) adjoint."""
    k = c * np.sum(a, axis=1, keepdims=True)
    m = k * b + c * a
    return np.sum(m * m) + np.sum(c * b)


@pytest.mark.parametrize("f", [many_uses, shared_start, broadcast_back])
def test_gradients_match_finite_differences(f):
    gradient = tangent_src.grad(f, wrt=(0, 1, 2))
    got = gradient(A, B, C)
    expected = numerical_grad(f, (A, B, C), wrt=(0, 1, 2))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-7)


def test_accumulations_are_in_place_and_arguments_untouched():
    a, b, c = A.copy(), B.copy(), C.copy()
    gradient = tangent_src.grad(many_uses, wrt=(0, 1, 2))
    first = gradient(a, b, c)
    assert "+=" in gradient.source
    second = gradient(a, b, c)
    assert np.array_equal(a, A) and np.array_equal(b, B) and np.array_equal(c, C)
    for x, y in zip(first, second):
        np.testing.assert_array_equal(x, y)
