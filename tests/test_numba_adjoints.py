"""backend="numba" differentiates common loss pieces through backend/numba_adjoints.py:
np.clip, np.linalg.norm, np.trace, np.diag, np.cumsum and np.sort (their adjoint helpers
clip_part, norm_dual, undiagonal, diag_adjoint, cumsum_t and untake_along_axis). One user
function uses them all (one compile a mode), checked against central differences and the
Python back end; one jitted function runs the helpers' other cases against the NumPy
helpers, bit for bit."""
from __future__ import annotations

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src import runtime as rt

numba = pytest.importorskip("numba")

RNG = np.random.default_rng(7)
X = RNG.normal(size=(6, 3))
y = RNG.normal(size=6)
W = RNG.normal(size=3)


def tutorial_loss(w):
    z = X @ w
    C = np.outer(w, w) + X.T @ X
    return np.sum((np.clip(z, -0.8, 0.8) - y) ** 2) + 0.1 * np.linalg.norm(w) ** 2 + \
        np.trace(C) + 0.01 * np.sum(np.cumsum(z) ** 2) + np.sum(np.sort(z)[:3] ** 2) + \
        np.sum(np.diag(C, 1) ** 2) + 0.1 * np.linalg.norm(w, 3)


def test_tutorial_loss_differentiates_under_numba():
    z = X @ W
    assert np.any(np.abs(z) > 0.8) and np.min(np.abs(np.abs(z) - 0.8)) > 1e-3  # clipped, off kinks
    assert np.min(np.diff(np.sort(z))) > 1e-3  # no ties in the sort
    grad = tangent_src.grad(tutorial_loss, backend="numba")
    got = grad(W.copy())
    np.testing.assert_allclose(got, numerical_grad(tutorial_loss, (W.copy(),), 0), rtol=1e-6)
    np.testing.assert_allclose(got, tangent_src.grad(tutorial_loss)(W.copy()), rtol=1e-12)
    source = tangent_src.source(grad, W)
    for helper in ("clip_part", "norm_dual", "undiagonal", "diag_adjoint", "cumsum_t",
                   "untake_along_axis"):
        assert helper in source
    # forward mode writes np.trace(dC, 0, 0, 1) and np.take_along_axis without its axis
    direction = np.array([0.3, -0.2, 0.5])
    forward = tangent_src.autodiff(tutorial_loss, mode="forward", wrt=0, backend="numba")
    np.testing.assert_allclose(forward.call_with((W.copy(),), {0: direction}),
                               got @ direction, rtol=1e-12)


def helper_cases(a, m, g, v, idx):
    """Each helper's other forms: bounds left out or arrays, the parts, ord and zero
    norms (a tie: a[1:4] is -0.5, 0.1, 0.5), offsets and swapped axes, both axes of a
    matrix, repeated and negative indices."""
    return (rt.clip_part(a, -0.5, 0.5, "a"), rt.clip_part(a, -0.5, 0.5, "lo"),
            rt.clip_part(a, None, 0.5, "hi"), rt.clip_part(a, a[::-1].copy(), None, "lo"),
            rt.clip_part(0.7, -0.5, 0.5, "hi"), rt.clip_part(0.7, -0.5, None, "a"),
            rt.norm_dual(m, np.linalg.norm(m)), rt.norm_dual(v, np.linalg.norm(v), 2),
            rt.norm_dual(v, np.linalg.norm(v, 1), 1), rt.norm_dual(np.zeros(3), 0.0),
            rt.norm_dual(a[1:4], np.linalg.norm(a[1:4], np.inf), np.inf),
            rt.norm_dual(a[:3], np.linalg.norm(a[:3], -np.inf), -np.inf),
            rt.norm_dual(v, np.linalg.norm(v, 3), 3), rt.norm_dual(v, np.linalg.norm(v, 0), 0),
            rt.norm_dual(v, np.linalg.norm(v, 2.5), 2.5),
            rt.undiagonal(g[0, :3], m, 1, 0, 1), rt.undiagonal(g[1, :3], m, -1, 1, 0),
            rt.undiagonal(2.0, m, 0, 0, 1), np.diagonal(m, 1, 1, 0).copy(),
            np.trace(m, -1, 0, 1), np.take_along_axis(v, np.array([2, 0, 1])),
            rt.diag_adjoint(g[:, :3], v, 0), rt.diag_adjoint(g[:, 1:], v[:2], -1),
            rt.diag_adjoint(g[0, :3], m, 1), rt.diag_adjoint(g[0, :2], m, -1),
            rt.cumsum_t(g, m, None), rt.cumsum_t(g, m, 0), rt.cumsum_t(g, m, -1),
            rt.cumsum_t(v, v, 0),
            rt.untake_along_axis(g, m, idx, 0), rt.untake_along_axis(g, m, idx, 1),
            rt.untake_along_axis(v, v, np.array([2, 2, -1]), None))


def test_helpers_give_numpy_bits():
    from tangent_src.backend.numba import require_numba
    require_numba()
    a = np.array([-0.9, -0.5, 0.1, 0.5, 0.7, np.nan])
    m = RNG.normal(size=(3, 4))
    g = RNG.normal(size=(3, 4))
    g[2, 3] = g[1, 1] = -0.0  # cumsum_t starts from the last entry itself
    v = RNG.normal(size=3)
    idx = np.array([[0, 2, 2, 1], [1, 1, 0, 0], [2, 0, 1, -1]])
    want = helper_cases(a, m, g, v, idx)
    got = numba.njit(helper_cases)(a, m, g, v, idx)
    assert len(got) == len(want)
    for k, (x, e) in enumerate(zip(got, want)):
        np.testing.assert_array_equal(x, e, err_msg=f"case {k}")
        assert np.shape(x) == np.shape(e), k
        assert np.array_equal(np.signbit(x), np.signbit(e)), k  # -0.0 kept


def unsupported_norm(w):
    return np.linalg.norm(np.outer(w, w), 2)


def test_other_norms_are_refused_at_the_users_line():
    with pytest.raises(tangent_src.errors.UserCodeError) as info:
        tangent_src.grad(unsupported_norm, backend="numba")(W.copy())
    assert info.value.lineno == unsupported_norm.__code__.co_firstlineno + 1
