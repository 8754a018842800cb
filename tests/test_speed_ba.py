"""The BA speed rewrites of the Python back end (issue 14): np.cross computed by runtime
cross3 (the same products without np.cross's copies of both operands) in the forward pass,
in the adjoints of np.cross and in tangents, checked bit for bit against np.cross and, in
user-style code, against central finite differences in reverse mode, forward mode and to
second order."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.runtime import cross3

RNG = np.random.default_rng(1414)


@pytest.mark.parametrize("shapes", [((5, 3), (5, 3)), ((3,), (4, 3)), ((2, 1, 3), (4, 3)),
                                    ((3,), (3,))])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_cross3_is_np_cross_bit_for_bit(shapes, dtype):
    a, b = (RNG.normal(size=s).astype(dtype) for s in shapes)
    if np.issubdtype(dtype, np.complexfloating):
        a = a + 1j * RNG.normal(size=a.shape)
        b = b - 2j * RNG.normal(size=b.shape)
    want = np.cross(a, b)
    got = cross3(a, b)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)


@pytest.mark.parametrize("a, b", [
    (np.arange(6.0).reshape(3, 2), np.ones((3, 2))),  # 2-vectors: np.cross's own (a scalar)
    (np.arange(9).reshape(3, 3), np.ones((3, 3))),  # integers
    (np.ones((2, 3), np.float32), np.arange(6.0).reshape(2, 3)),  # mixed dtypes
    ([1.0, 2.0, 3.0], [0.5, -1.0, 2.0]),  # lists
])
def test_cross3_hands_other_cases_to_np_cross(a, b):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # 2-vectors: deprecated in NumPy 2
        want = np.cross(a, b)
        got = cross3(a, b)
    assert got.dtype == want.dtype and np.array_equal(got, want)


def rotate(rot, X):
    """Rodrigues rotation of each row of X by the row of rot, as BA writes it."""
    sqtheta = np.sum(rot * rot, axis=1, keepdims=True)
    theta = np.sqrt(sqtheta)
    w = rot / theta
    w_dot_X = np.sum(w * X, axis=1, keepdims=True)
    costheta = np.cos(theta)
    return X * costheta + np.cross(w, X) * np.sin(theta) + w * (w_dot_X * (1.0 - costheta))


def rotated_energy(rot, X):
    Y = rotate(rot, X)
    return np.sum(np.tanh(Y[:, 0:2] / (2.0 + Y[:, 2:3])))


def torque(r, f, axis0):
    """A fixed axis against rows (broadcast: its adjoint is summed) and rows against rows."""
    return np.sum(np.cross(axis0, r) ** 2) + np.sum(np.cross(r, f) * r)


def _calls_np_cross(src: str) -> bool:
    """Whether generated code (not its line comments) calls np.cross."""
    return any("np.cross(" in line.split("#")[0] for line in src.splitlines())


ROT = RNG.normal(size=(6, 3))
PTS = RNG.normal(size=(6, 3))


def test_cross_in_user_code_reverse_mode():
    df = tangent_src.grad(rotated_energy, wrt=(0, 1))
    got = df(ROT, PTS)
    want = numerical_grad(rotated_energy, (ROT, PTS), (0, 1))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)
    src = df.source
    assert "cross3(w, X)" in src and not _calls_np_cross(src), src


def test_cross_broadcast_operand_reverse_mode():
    axis0 = np.array([0.3, -1.2, 0.7])
    args = (ROT, PTS, axis0)
    df = tangent_src.grad(torque, wrt=(0, 1, 2))
    got = df(*args)
    want = numerical_grad(torque, args, (0, 1, 2))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)
    assert got[2].shape == (3,)
    assert not _calls_np_cross(df.source), df.source


def test_cross_in_user_code_forward_mode():
    for wrt in (0, 1):
        df = tangent_src.autodiff(rotated_energy, mode="forward", wrt=wrt)
        direction = RNG.normal(size=(6, 3))
        got = df(ROT, PTS, direction)
        want = np.sum(numerical_grad(rotated_energy, (ROT, PTS), wrt) * direction)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)
        assert not _calls_np_cross(df.source), df.source


def test_cross_second_order():
    """The Hessian of code whose gradient calls cross3 (cross3's own rules), by finite
    differences of the gradient computed independently (central differences of f)."""
    rot, X = ROT[:3], PTS[:3]

    def grad_fd(r):
        return numerical_grad(rotated_energy, (r, X), 0, eps=1e-5)

    H = tangent_src.hessian(rotated_energy, wrt=0)(rot, X)
    eps = 1e-4
    for i, j in [(0, 0), (1, 2), (2, 1)]:
        e = np.zeros_like(rot)
        e[i, j] = eps
        want = (grad_fd(rot + e) - grad_fd(rot - e)) / (2 * eps)
        np.testing.assert_allclose(H[:, :, i, j], want, rtol=1e-4, atol=1e-5)


def test_cross3_transformed_directly():
    """cross3's rules, in both modes and to second order, against finite differences."""
    tangent_src.check_grads(cross3, (RNG.normal(size=(4, 3)), RNG.normal(size=(4, 3))),
                            order=2, argnums=(0, 1))
    tangent_src.check_grads(cross3, (RNG.normal(size=3), RNG.normal(size=(2, 3))),
                            order=2, argnums=(0, 1))


# --- under numba: np.cross's helpers compile, and BA's reverse passes with them -----------

def test_cross_under_numba_against_finite_differences():
    pytest.importorskip("numba")
    axis0 = np.array([0.3, -1.2, 0.7])
    for f, args, wrt in [(rotated_energy, (ROT, PTS), (0, 1)),
                         (torque, (ROT, PTS, axis0), (0, 1, 2))]:  # (3,) summed: sum_to
        got = tangent_src.grad(f, wrt=wrt, backend="numba")(*args)
        want = numerical_grad(f, args, wrt)
        for g, w in zip(got, want):
            assert np.shape(g) == np.shape(w)
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)


def test_ba_jacobian_under_numba_matches_adbench_reference():
    pytest.importorskip("numba")
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.adbench import ba
    from benchmarks.adbench.io import data_dir, data_path, read_ba, reference_values
    if not (data_dir() / "reference_values.json").exists():
        pytest.skip(f"ADBench data not found at {data_dir()} (set ADBENCH_DATA)")
    args = read_ba(data_path("ba/test.txt")).args
    J = ba.make_vectorized_jacobian(tangent_src, "rev", backend="numba")(*args)
    want = reference_values()["ba_test_txt"]["raw_expressions"]["expected_J_values"]
    np.testing.assert_allclose(J.values, want, rtol=1e-9, atol=1e-9)


# --- column blocks of one array: the adjoint joined, not added into zeros -----------------

def camera_residual(cams, X):
    """Column blocks of each camera row, as BA's projection reads them."""
    rot, centre, f, k = cams[:, 0:3], cams[:, 3:6], cams[:, 6:7], cams[:, 7:9]
    Y = (X - centre) * np.tanh(rot)
    u = Y[:, 0:2] / (2.0 + Y[:, 2:3] ** 2)
    return np.sum(np.sin(u * f + k))


def gap_residual(cams):
    """Blocks 0:3 and 4:6: column 3 is never read (its gradient is zero), no join."""
    return np.sum(np.cos(cams[:, 0:3]) * 2.0) + np.sum(cams[:, 4:6] ** 3)


def short_residual(cams):
    """Blocks 0:2 and 2:4 of a wider array: they tile only part of the axis, so
    join_slices adds them into zeros."""
    return np.sum(np.sin(cams[:, 0:2])) + np.sum(cams[:, 2:4] ** 2)


@pytest.mark.parametrize("f, args, joined", [
    (camera_residual, (RNG.normal(size=(5, 9)), RNG.normal(size=(5, 3))), True),
    (gap_residual, (RNG.normal(size=(4, 6)),), False),
    (short_residual, (RNG.normal(size=(4, 6)),), True),
])
def test_column_blocks_reverse_mode(f, args, joined):
    wrt = tuple(range(len(args)))
    df = tangent_src.grad(f, wrt=wrt)
    got = df(*args)
    got = got if isinstance(got, tuple) else (got,)
    want = numerical_grad(f, args, wrt)
    want = want if isinstance(want, tuple) else (want,)
    for g, w in zip(got, want):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)
    assert ("join_slices(" in df.source) == joined, df.source


def test_column_blocks_forward_mode_and_second_order():
    """No join in forward mode; the Hessian (generated code differentiated again) does
    not use join_slices either, and matches differences of an independent gradient."""
    cams, X = RNG.normal(size=(3, 9)), RNG.normal(size=(3, 3))
    direction = RNG.normal(size=cams.shape)
    jvp = tangent_src.autodiff(camera_residual, mode="forward", wrt=0)(cams, X, direction)
    np.testing.assert_allclose(jvp, np.sum(numerical_grad(camera_residual, (cams, X), 0) *
                                           direction), rtol=1e-6, atol=1e-8)
    H = tangent_src.hessian(camera_residual, wrt=0)(cams, X)
    eps = 1e-4
    for i, j in [(0, 0), (1, 6), (2, 8)]:
        e = np.zeros_like(cams)
        e[i, j] = eps
        want = (numerical_grad(camera_residual, (cams + e, X), 0, eps=1e-5) -
                numerical_grad(camera_residual, (cams - e, X), 0, eps=1e-5)) / (2 * eps)
        np.testing.assert_allclose(H[:, :, i, j], want, rtol=1e-4, atol=1e-5)


def _zeros_plus(like, axis, bounds, values):
    """The reference: zeros of like's dtype with each value added into its slice."""
    out = np.zeros_like(like)
    for (start, stop), v in zip(bounds, values):
        index = (slice(None),) * axis + (slice(start, stop),)
        out[index] = out[index] + v
    return out


@pytest.mark.parametrize("like, axis, bounds, values", [
    (np.ones((4, 5)), 1, ((0, 2), (2, 5)), (RNG.normal(size=(4, 2)), RNG.normal(size=(4, 3)))),
    (np.ones((4, 5)), 0, ((0, 1), (1, 4)), (RNG.normal(size=(1, 5)), RNG.normal(size=(3, 5)))),
    (np.ones((4, 5)), 1, ((0, 2), (2, 3)), (RNG.normal(size=(4, 2)), RNG.normal(size=(4, 1)))),
    (np.ones((4, 5)), 1, ((0, 2), (2, 5)), (RNG.normal(size=(4, 2)), 1.5)),  # a scalar
    (np.ones((4, 5)), 1, ((0, 2), (2, 5)), (RNG.normal(size=(4, 2)), RNG.normal(size=(1, 3)))),
    (np.ones((4, 3), np.float32), 1, ((0, 1), (1, 3)),
     (np.ones((4, 1), np.float32), RNG.normal(size=(4, 2)))),  # a float64 piece
    (np.ones((2, 3, 4)), 2, ((0, 1), (1, 4)), (RNG.normal(size=(2, 3, 1)),
                                               RNG.normal(size=(2, 3, 3)))),
])
def test_join_slices_is_zeros_plus_values(like, axis, bounds, values):
    from tangent_src.runtime import join_slices
    got = join_slices(like, axis, bounds, *values)
    want = _zeros_plus(like, axis, bounds, values)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
