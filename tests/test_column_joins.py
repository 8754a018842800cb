"""Adjoints built from zeros by adding into column blocks (optimize/tiled_slices.py's
runtime `join_slices`): an adjoint that starts as runtime `zeros_like` (float64 zeros of an
array a callee returned) is joined too, told so (`float_zeros=True`), two such adjoints in
a row are both joined, and a short last axis is copied column by column. Checked against
zeros plus the values (the definition) and gradients against central finite differences."""
from __future__ import annotations

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.runtime import join_slices, zeros_like

RNG = np.random.default_rng(1411)


def _zeros_plus(like, axis, bounds, values, float_zeros):
    out = zeros_like(like) if float_zeros else np.zeros_like(like)
    for (start, stop), v in zip(bounds, values):
        index = (slice(None),) * axis + (slice(start, stop),)
        out[index] = out[index] + v
    return out


@pytest.mark.parametrize("float_zeros", [False, True])
@pytest.mark.parametrize("like, axis, bounds, values", [
    # the column copies: a short last axis of a large array
    (np.ones((700, 3)), 1, ((0, 2), (2, 3)), (RNG.normal(size=(700, 2)),
                                              RNG.normal(size=(700, 1)))),
    (np.ones((400, 11)), 1, ((0, 3), (3, 6), (6, 7), (7, 9), (9, 10), (10, 11)),
     tuple(RNG.normal(size=(400, k)) for k in (3, 3, 1, 2, 1, 1))),
    (np.ones((50, 20, 3)), 2, ((0, 1), (1, 3)), (RNG.normal(size=(50, 20, 1)),
                                                 RNG.normal(size=(50, 20, 2)))),
    # the zeros and sums: float32 like, a float32 value, a broadcast value, a scalar
    (np.ones((700, 3), np.float32), 1, ((0, 1), (1, 3)), (RNG.normal(size=(700, 1)),
                                                          RNG.normal(size=(700, 2)))),
    (np.ones((700, 3)), 1, ((0, 1), (1, 3)), (RNG.normal(size=(700, 1)).astype(np.float32),
                                              RNG.normal(size=(700, 2)))),
    (np.ones((700, 3)), 1, ((0, 1), (1, 3)), (RNG.normal(size=(1, 1)), 2.5)),
    (np.ones((700, 4)), 1, ((0, 1), (1, 3)), (RNG.normal(size=(700, 1)),  # not to the end
                                              RNG.normal(size=(700, 2)))),
    (np.arange(12).reshape(4, 3), 1, ((0, 1), (1, 3)), (RNG.normal(size=(4, 1)),
                                                        RNG.normal(size=(4, 2)))),
])
def test_join_is_zeros_plus_values(like, axis, bounds, values, float_zeros):
    if like.dtype.kind == "i" and not float_zeros:
        values = tuple(np.round(v).astype(like.dtype) if isinstance(v, np.ndarray) else v
                       for v in values)
    got = join_slices(like, axis, bounds, *values, float_zeros=float_zeros)
    want = _zeros_plus(like, axis, bounds, values, float_zeros)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)
    assert got.flags.c_contiguous and got.flags.writeable and got.flags.owndata


def turn(rot, X):
    """A rotation-like map that is not inlined into its caller (its adjoint is the
    runtime zeros_like of a callee's result in the caller)."""
    sq = np.sum(rot * rot, axis=1, keepdims=True)
    theta = np.sqrt(sq + 1.0)
    c = np.cos(theta)
    s = np.sin(theta)
    w = rot / theta
    d = np.sum(w * X, axis=1, keepdims=True)
    return X * c + np.cross(w, X) * s + w * (d * (1.0 - c))


def project_like(cams, X):
    Y = turn(cams[:, 0:3], X - cams[:, 3:6])
    u = Y[:, 0:2] / (3.0 + Y[:, 2:3] ** 2)
    return np.sum(np.tanh(u * cams[:, 6:7] + cams[:, 7:9]))


@pytest.mark.parametrize("p", [5, 400])  # 400: the column copies
def test_two_joins_in_a_row_against_finite_differences(p):
    cams, X = RNG.normal(size=(p, 9)), RNG.normal(size=(p, 3))
    gradient = tangent_src.grad(project_like, wrt=(0, 1))
    got = gradient(cams, X)
    assert "float_zeros=True" in gradient.source
    assert gradient.source.count("join_slices(") == 2  # both adjoints joined
    want = numerical_grad(project_like, (cams, X), wrt=(0, 1))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)


def test_vjp_pullback_against_finite_differences():
    """vjp's pullback (split halves) through the joins, called twice."""
    p = 400
    cams, X = RNG.normal(size=(p, 9)), RNG.normal(size=(p, 3))

    def residuals(cams, X):
        Y = turn(cams[:, 0:3], X - cams[:, 3:6])
        return Y[:, 0:2] / (3.0 + Y[:, 2:3] ** 2) * cams[:, 6:7] + cams[:, 7:9]

    _, pullback = tangent_src.vjp(residuals, cams, X)
    for _ in range(2):
        seed = RNG.normal(size=(p, 2))
        dc, dx = pullback(seed)
        vc, vx = RNG.normal(size=cams.shape), RNG.normal(size=X.shape)
        eps = 1e-6
        fd = np.sum(seed * (residuals(cams + eps * vc, X + eps * vx) -
                            residuals(cams - eps * vc, X - eps * vx))) / (2 * eps)
        np.testing.assert_allclose(np.sum(dc * vc) + np.sum(dx * vx), fd, rtol=1e-6)
