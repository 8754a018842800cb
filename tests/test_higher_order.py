"""Higher-order derivatives: hvp, hessian, jacobian (both modes), vjp, autodiff, check_grads.

Every reference is computed here with plain NumPy, independently of tangent_src: Jacobians
by central differences, Hessians by a four-point second difference with one Richardson
extrapolation step (truncation error O(h**4), round-off ~1e-16 * |f| / h**2, both far below
the tolerances used), and a few second/third derivatives by hand.

The functions are module-level, since tangent_src differentiates source. Inputs are drawn
away from branch thresholds and loop-exit thresholds, so finite differences never cross one.
"""
from __future__ import annotations

import copy
import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from fdcheck import normal, uniform

import tangent_src

RTOL = 1e-5
ATOL = 1e-6

# --------------------------------------------------------------------------- references


def _with(args, wrt, value):
    new = [copy.deepcopy(a) for a in args]
    new[wrt] = value
    return new


def _plain(x):
    """A float for a Python-float argument, else a float64 copy of the array."""
    if isinstance(x, float):
        return x
    return np.array(x, dtype=np.float64)


def fd_jacobian(f, args, wrt=0, eps=1e-6):
    """Central-difference Jacobian of f(*args) with respect to args[wrt]: out.shape + x.shape."""
    args = list(args)
    x0 = args[wrt]
    out0 = np.asarray(f(*args), dtype=np.float64)
    if isinstance(x0, float):
        plus = np.asarray(f(*_with(args, wrt, x0 + eps)), dtype=np.float64)
        minus = np.asarray(f(*_with(args, wrt, x0 - eps)), dtype=np.float64)
        return (plus - minus) / (2.0 * eps)
    base = np.array(x0, dtype=np.float64)
    jac = np.zeros(out0.shape + base.shape)
    for idx in np.ndindex(base.shape):
        up, down = base.copy(), base.copy()
        up[idx] += eps
        down[idx] -= eps
        plus = np.asarray(f(*_with(args, wrt, up)), dtype=np.float64)
        minus = np.asarray(f(*_with(args, wrt, down)), dtype=np.float64)
        jac[(Ellipsis,) + idx] = (plus - minus) / (2.0 * eps)
    return jac


def _second_difference(f, args, wrt, h):
    x0 = args[wrt]

    def value(x):
        return float(f(*_with(args, wrt, x)))

    if isinstance(x0, float):
        return (value(x0 + h) - 2.0 * value(x0) + value(x0 - h)) / (h * h)
    base = np.array(x0, dtype=np.float64).ravel()
    n = base.size
    shape = np.shape(x0)
    hess = np.zeros((n, n))
    for i in range(n):
        for j in range(i, n):
            total = 0.0
            for si, sj, sign in ((1, 1, 1.0), (1, -1, -1.0), (-1, 1, -1.0), (-1, -1, 1.0)):
                x = base.copy()
                x[i] += si * h
                x[j] += sj * h
                total += sign * value(np.reshape(x, shape))
            hess[i, j] = hess[j, i] = total / (4.0 * h * h)
    return hess.reshape(shape + shape)


def fd_hessian(f, args, wrt=0, h=2e-3):
    """Hessian of scalar f(*args) in args[wrt] by second differences with Richardson steps."""
    args = list(args)
    coarse = _second_difference(f, args, wrt, h)
    fine = _second_difference(f, args, wrt, h / 2.0)
    return (4.0 * fine - coarse) / 3.0


def contract_hessian(hess, v):
    """H @ v for a Hessian of shape x.shape + x.shape and a direction v of shape x.shape."""
    if np.ndim(v) == 0:
        return hess * v
    return np.tensordot(hess, v, axes=np.ndim(v))


def assert_close(actual, expected, rtol=RTOL, atol=ATOL, label=""):
    assert np.shape(actual) == np.shape(expected), (
        f"{label}: shape {np.shape(actual)} != expected {np.shape(expected)}")
    np.testing.assert_allclose(np.asarray(actual, dtype=np.float64), expected, rtol=rtol,
                               atol=atol, err_msg=label)


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    name: str
    func: Callable
    make_args: Callable[[], tuple]
    wrt: int = 0






def const(value):
    def draw(rng):
        return float(value) if np.ndim(value) == 0 else np.array(value, dtype=np.float64)
    return draw


def make_case(func, *specs, wrt=0, name=None):
    name = name or func.__name__
    seed = zlib.crc32(name.encode())

    def make_args():
        rng = np.random.default_rng(seed)
        return tuple(spec(rng) for spec in specs)

    return Case(name, func, make_args, wrt)


_RNG = np.random.default_rng(20240611)
SYM4 = _RNG.normal(size=(4, 4))
SYM4 = 0.5 * (SYM4 + SYM4.T)
MAT34 = _RNG.normal(size=(3, 4))
MAT32 = _RNG.normal(size=(3, 2))
VEC4 = _RNG.normal(size=4)
WEIGHTS3 = np.array([0.5, -1.25, 2.0])
EYE4 = np.eye(4)


# Scalar-valued functions (for hvp, hessian and check_grads).
def s_quadratic_sin(x):
    return x @ SYM4 @ x + np.sum(np.sin(x))


def s_rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def s_logsumexp(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def s_softplus(x):
    return np.sum(np.log(1.0 + np.exp(x)))


def s_for_loop(x):
    s = 0.0
    for i in range(len(x)):
        s = s * np.tanh(x[i]) + x[i] ** 2
    return s


def s_while_loop(x):
    i = 0
    s = 1.0
    while i < 3:
        s = 0.5 * s * np.sum(np.sin(x * (i + 1.0))) + np.dot(x, x)
        i += 1
    return s


def s_while_data(x):
    s = np.dot(x, x)
    while s < 8.0:
        s = s * 1.5 + np.sum(np.cos(x))
    return s * np.sum(x)


def s_branch(x):
    if np.sum(x) > 0.0:
        r = np.sum(np.exp(0.5 * x) * x)
    else:
        r = np.sum(np.cos(x)) * np.dot(x, x)
    return r


def s_matrix(X):
    return np.sum(np.tanh(X @ VEC4)) + 0.1 * np.sum(X * X * X)


def s_two_args(W, x):
    return np.sum(np.tanh(W @ x) ** 2) + np.sum(W * W) * np.dot(x, x)


def s_norm(x):
    return np.sqrt(1.0 + np.dot(x, x))


def s_scalar(x):
    return math.exp(0.3 * x) * math.sin(x) + x ** 4


def s_rational(x):
    return np.sum(x / (1.0 + x * x)) + x[0] * x[1] * x[2]


SCALAR_CASES = [
    make_case(s_quadratic_sin, normal(4)),
    make_case(s_rosenbrock, uniform(-1.0, 1.0, 4)),
    make_case(s_logsumexp, normal(5)),
    make_case(s_softplus, normal(5)),
    make_case(s_for_loop, normal(4)),
    make_case(s_while_loop, normal(3, scale=0.7)),
    make_case(s_while_data, const([0.6, -0.4, 0.9])),
    make_case(s_branch, uniform(0.2, 1.0, 4)),
    make_case(s_branch, uniform(-1.0, -0.2, 4), name="s_branch_else"),
    make_case(s_matrix, normal(3, 4)),
    make_case(s_two_args, normal(3, 4, scale=0.5), normal(4), wrt=1),
    make_case(s_two_args, normal(3, 4, scale=0.5), normal(4), wrt=0, name="s_two_args_wrt_W"),
    make_case(s_norm, normal(5)),
    make_case(s_scalar, uniform(-1.0, 1.0)),
    make_case(s_rational, normal(4)),
]
SCALAR_IDS = [c.name for c in SCALAR_CASES]


# Array-valued functions (for jacobian, vjp, jvp and autodiff).
def v_tanh_affine(x):
    return np.tanh(MAT34 @ x)


def v_tanh_A_x(A, x):
    return np.tanh(A @ x)


def v_elementwise(x):
    return np.sin(x) * np.exp(0.5 * x)


def v_cumulative_for(x):
    out = 0.0 * x
    s = 0.0
    for i in range(len(x)):
        s = s + np.sin(x[i]) * (i + 1.0)
        out = out + s * EYE4[i]
    return out


def v_while(x):
    h = x * 1.0
    i = 0
    while i < 4:
        h = h - 0.2 * np.tanh(h) + 0.1 * x
        i += 1
    return h


def v_branch(x):
    if np.sum(x) > 0.0:
        y = 0.5 * x * x
    else:
        y = np.exp(x) - x
    return y


def v_softmax(x):
    e = np.exp(x - np.max(x))
    return e / np.sum(e)


def v_outer(x):
    return np.reshape(x, (3, 1)) * np.reshape(np.sin(x), (1, 3))


def v_scalar_in(t):
    return np.sin(t * WEIGHTS3) + t * t * WEIGHTS3


def v_matrix_in_out(X):
    return np.tanh(X) @ MAT32


def v_row_norms(X):
    return np.sqrt(np.sum(X * X, axis=1))


def v_scalar_out(x):
    return np.sum(x ** 3) * np.sum(np.cos(x))


def v_normalize(x):
    return x / np.sqrt(np.dot(x, x))


def v_two_args(x, y):
    return x * np.exp(y) + y * y


VECTOR_CASES = [
    make_case(v_tanh_affine, normal(4)),
    make_case(v_tanh_A_x, normal(3, 4, scale=0.5), normal(4), wrt=0),
    make_case(v_tanh_A_x, normal(3, 4, scale=0.5), normal(4), wrt=1, name="v_tanh_A_x_wrt_x"),
    make_case(v_elementwise, normal(5)),
    make_case(v_cumulative_for, normal(4)),
    make_case(v_while, normal(3)),
    make_case(v_branch, uniform(0.2, 1.0, 4)),
    make_case(v_branch, uniform(-1.0, -0.2, 4), name="v_branch_else"),
    make_case(v_softmax, normal(5)),
    make_case(v_outer, normal(3)),
    make_case(v_scalar_in, normal()),
    make_case(v_matrix_in_out, normal(2, 3)),
    make_case(v_row_norms, uniform(0.5, 1.5, 3, 4)),
    make_case(v_scalar_out, normal(4)),
    make_case(v_normalize, normal(4)),
    make_case(v_two_args, normal(3), normal(3), wrt=1),
]
VECTOR_IDS = [c.name for c in VECTOR_CASES]


def test_case_lists_are_large_enough():
    """At least 10 functions each, with the required constructs and a matrix input."""
    for cases in (SCALAR_CASES, VECTOR_CASES):
        funcs = {c.func for c in cases}
        assert len(funcs) >= 10
        names = " ".join(c.name for c in cases)
        assert "for" in names and "while" in names and "branch" in names
        assert any(np.ndim(c.make_args()[c.wrt]) == 2 for c in cases)


@pytest.mark.parametrize("c", SCALAR_CASES + VECTOR_CASES, ids=SCALAR_IDS + VECTOR_IDS)
def test_reference_functions_are_away_from_thresholds(c):
    """Sanity check of the references: the inputs are plain floats and the function is
    smooth nearby (the central-difference Jacobian is the same at two step sizes)."""
    args = c.make_args()
    for a in args:
        assert isinstance(a, float) or a.dtype == np.float64
    np.testing.assert_allclose(fd_jacobian(c.func, args, c.wrt, 1e-6),
                               fd_jacobian(c.func, args, c.wrt, 1e-4), rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- hessian / hvp


@pytest.mark.parametrize("c", SCALAR_CASES, ids=SCALAR_IDS)
def test_hessian_matches_finite_differences(c):
    args = c.make_args()
    x = args[c.wrt]
    expected = fd_hessian(c.func, args, c.wrt)
    before = copy.deepcopy(args)
    hess = tangent_src.hessian(c.func, wrt=c.wrt)(*args)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b, err_msg="hessian modified its input")
    assert np.shape(hess) == np.shape(x) + np.shape(x)
    assert_close(hess, expected, label=f"hessian of {c.name}")
    if np.ndim(x) > 0:
        n = np.size(x)
        flat = np.reshape(np.asarray(hess), (n, n))
        np.testing.assert_allclose(flat, flat.T, rtol=1e-9, atol=1e-9)


def test_hessian_of_scalar_argument_is_a_float():
    hess = tangent_src.hessian(s_scalar)(0.4)
    assert np.ndim(hess) == 0
    assert isinstance(float(hess), float)
    expected = (math.exp(0.12) * (0.09 * math.sin(0.4) + 0.6 * math.cos(0.4) - math.sin(0.4))
                + 12.0 * 0.4 ** 2)
    assert abs(float(hess) - expected) < 1e-9


@pytest.mark.parametrize("c", SCALAR_CASES, ids=SCALAR_IDS)
def test_hvp_matches_finite_differences(c):
    args = c.make_args()
    x = args[c.wrt]
    rng = np.random.default_rng(zlib.crc32(c.name.encode()) + 1)
    v = float(rng.normal()) if isinstance(x, float) else rng.normal(size=np.shape(x))
    expected = contract_hessian(fd_hessian(c.func, args, c.wrt), v)
    got = tangent_src.hvp(c.func, wrt=c.wrt)(*args, v)
    assert_close(got, expected, label=f"hvp of {c.name}")


ARRAY_INPUT = [c for c in SCALAR_CASES if not isinstance(c.make_args()[c.wrt], float)]


@pytest.mark.parametrize("c", ARRAY_INPUT, ids=[c.name for c in ARRAY_INPUT])
def test_hvp_with_basis_vectors_gives_hessian_columns(c):
    args = c.make_args()
    x = args[c.wrt]
    expected = fd_hessian(c.func, args, c.wrt)
    h = tangent_src.hvp(c.func, wrt=c.wrt)
    for idx in np.ndindex(np.shape(x)):
        e = np.zeros(np.shape(x))
        e[idx] = 1.0
        assert_close(h(*args, e), expected[(Ellipsis,) + idx], label=f"H[..., {idx}]")


# --------------------------------------------------------------------------- jacobian


JAC_MODES = ["rev", "fwd", "jacrev", "jacfwd"]


def _jacobian_fn(func, wrt, mode):
    if mode == "jacrev":
        return tangent_src.jacrev(func, wrt=wrt)
    if mode == "jacfwd":
        return tangent_src.jacfwd(func, wrt=wrt)
    return tangent_src.jacobian(func, wrt=wrt, mode=mode)


@pytest.mark.parametrize("mode", JAC_MODES)
@pytest.mark.parametrize("c", VECTOR_CASES, ids=VECTOR_IDS)
def test_jacobian_matches_finite_differences(c, mode):
    args = c.make_args()
    out = np.asarray(c.func(*args))
    expected = fd_jacobian(c.func, args, c.wrt)
    before = copy.deepcopy(args)
    jac = _jacobian_fn(c.func, c.wrt, mode)(*args)
    for a, b in zip(args, before):
        np.testing.assert_array_equal(a, b, err_msg="jacobian modified its input")
    assert np.shape(jac) == out.shape + np.shape(args[c.wrt])
    assert_close(jac, expected, rtol=RTOL, atol=1e-7, label=f"{mode} jacobian of {c.name}")


@pytest.mark.parametrize("mode", JAC_MODES)
@pytest.mark.parametrize("c", SCALAR_CASES, ids=SCALAR_IDS)
def test_jacobian_of_scalar_function_is_its_gradient(c, mode):
    args = c.make_args()
    expected = fd_jacobian(c.func, args, c.wrt)
    jac = _jacobian_fn(c.func, c.wrt, mode)(*args)
    assert_close(jac, expected, rtol=RTOL, atol=1e-7, label=f"{mode} jacobian of {c.name}")


@pytest.mark.parametrize("c", VECTOR_CASES, ids=VECTOR_IDS)
def test_forward_and_reverse_jacobians_agree_tightly(c):
    args = c.make_args()
    fwd = tangent_src.jacobian(c.func, wrt=c.wrt, mode="fwd")(*args)
    rev = tangent_src.jacobian(c.func, wrt=c.wrt, mode="rev")(*args)
    np.testing.assert_allclose(fwd, rev, rtol=1e-9, atol=1e-12)


# --------------------------------------------------------------------------- jvp, vjp, autodiff


def _random_like(rng, x):
    return float(rng.normal()) if isinstance(x, float) else rng.normal(size=np.shape(x))


def _zero_like(x):
    return 0.0 if isinstance(x, float) else np.zeros(np.shape(x))


def _apply_jacobian(jac, t):
    return jac * t if np.ndim(t) == 0 else np.tensordot(jac, t, axes=np.ndim(t))


def _apply_transpose(jac, ct, out_ndim):
    if out_ndim == 0:
        return jac * ct
    return np.tensordot(ct, jac, axes=out_ndim)


@pytest.mark.parametrize("c", VECTOR_CASES + SCALAR_CASES, ids=VECTOR_IDS + SCALAR_IDS)
def test_jvp_all_arguments(c):
    args = c.make_args()
    rng = np.random.default_rng(zlib.crc32(c.name.encode()) + 2)
    tangents = tuple(_random_like(rng, a) for a in args)
    expected = sum(_apply_jacobian(fd_jacobian(c.func, args, i), t)
                   for i, t in enumerate(tangents))
    value, tangent = tangent_src.jvp(c.func, args, tangents)
    assert_close(value, np.asarray(c.func(*args), dtype=np.float64), rtol=1e-12, atol=1e-12,
                 label="jvp value")
    assert_close(tangent, np.asarray(expected), rtol=RTOL, atol=1e-7, label="jvp tangent")


@pytest.mark.parametrize("c", VECTOR_CASES + SCALAR_CASES, ids=VECTOR_IDS + SCALAR_IDS)
def test_vjp_gives_one_cotangent_per_primal(c):
    args = c.make_args()
    out = np.asarray(c.func(*args), dtype=np.float64)
    rng = np.random.default_rng(zlib.crc32(c.name.encode()) + 3)
    ct = float(rng.normal()) if out.ndim == 0 else rng.normal(size=out.shape)
    value, vjp_fun = tangent_src.vjp(c.func, *args)
    assert_close(value, out, rtol=1e-12, atol=1e-12, label="vjp value")
    cotangents = vjp_fun(ct)
    assert isinstance(cotangents, tuple) and len(cotangents) == len(args)
    for i, (a, got) in enumerate(zip(args, cotangents)):
        expected = _apply_transpose(fd_jacobian(c.func, args, i), ct, out.ndim)
        assert np.shape(got) == np.shape(a)
        assert_close(got, np.asarray(expected), rtol=RTOL, atol=1e-7, label=f"cotangent {i}")


@pytest.mark.parametrize("c", VECTOR_CASES + SCALAR_CASES, ids=VECTOR_IDS + SCALAR_IDS)
def test_autodiff_forward_is_jacobian_times_tangent(c):
    args = c.make_args()
    rng = np.random.default_rng(zlib.crc32(c.name.encode()) + 4)
    t = _random_like(rng, args[c.wrt])
    expected = _apply_jacobian(fd_jacobian(c.func, args, c.wrt), t)
    got = tangent_src.autodiff(c.func, mode="forward", wrt=c.wrt)(*args, t)
    assert_close(got, np.asarray(expected), rtol=RTOL, atol=1e-7, label="forward tangent")


@pytest.mark.parametrize("c", VECTOR_CASES + SCALAR_CASES, ids=VECTOR_IDS + SCALAR_IDS)
def test_autodiff_reverse_is_transposed_jacobian_times_seed(c):
    args = c.make_args()
    out = np.asarray(c.func(*args), dtype=np.float64)
    rng = np.random.default_rng(zlib.crc32(c.name.encode()) + 5)
    seed = float(rng.normal()) if out.ndim == 0 else rng.normal(size=out.shape)
    expected = _apply_transpose(fd_jacobian(c.func, args, c.wrt), seed, out.ndim)
    got = tangent_src.autodiff(c.func, mode="reverse", wrt=c.wrt)(*args, seed)
    assert np.shape(got) == np.shape(args[c.wrt])
    assert_close(got, np.asarray(expected), rtol=RTOL, atol=1e-7, label="reverse adjoint")


# --------------------------------------------------------------------------- nested compositions
def loop_poly(x):
    s = 0.0
    for i in range(1, 5):
        s = s + x ** i / i
    return s


def loop_poly_d2(x):
    return 1.0 + 2.0 * x + 3.0 * x ** 2


def loop_poly_d3(x):
    return 2.0 + 6.0 * x


def branchy(x):
    if x > 0.0:
        y = np.sin(x) * x
    else:
        y = x ** 3 - x
    return y


def branchy_d2(x):
    return 2.0 * math.cos(x) - x * math.sin(x) if x > 0.0 else 6.0 * x


def branchy_d3(x):
    return -3.0 * math.sin(x) - x * math.cos(x) if x > 0.0 else 6.0


def while_scalar(x):
    s = 1.0
    i = 0
    while i < 3:
        s = s * x + np.sin(x)
        i += 1
    return s


def while_scalar_d2(x):
    # s3 = x**3 + x**2 sin x + x sin x + sin x
    sx, cx = math.sin(x), math.cos(x)
    d2_x2_sin = 2.0 * sx + 4.0 * x * cx - x * x * sx
    d2_x_sin = 2.0 * cx - x * sx
    return 6.0 * x + d2_x2_sin + d2_x_sin - sx


SCALAR_NESTED = [
    pytest.param(loop_poly, loop_poly_d2, 0.7, id="for_loop"),
    pytest.param(loop_poly, loop_poly_d2, -1.3, id="for_loop_negative"),
    pytest.param(branchy, branchy_d2, 0.9, id="branch_if"),
    pytest.param(branchy, branchy_d2, -0.6, id="branch_else"),
    pytest.param(while_scalar, while_scalar_d2, 0.8, id="while_loop"),
]


def test_hand_second_derivatives_are_right():
    """The analytic references agree with second differences."""
    for func, d2, x in ((loop_poly, loop_poly_d2, 0.7), (branchy, branchy_d2, 0.9),
                        (branchy, branchy_d2, -0.6), (while_scalar, while_scalar_d2, 0.8)):
        np.testing.assert_allclose(fd_hessian(func, (x,)), d2(x), rtol=1e-7)


@pytest.mark.parametrize(("func", "d2", "x"), SCALAR_NESTED)
def test_grad_of_grad(func, d2, x):
    assert abs(tangent_src.grad(tangent_src.grad(func))(x) - d2(x)) < 1e-9


@pytest.mark.parametrize(("func", "d3", "x"), [
    pytest.param(loop_poly, loop_poly_d3, 0.7, id="for_loop"),
    pytest.param(branchy, branchy_d3, 0.9, id="branch_if"),
    pytest.param(branchy, branchy_d3, -0.6, id="branch_else"),
])
def test_grad_of_grad_of_grad(func, d3, x):
    g3 = tangent_src.grad(tangent_src.grad(tangent_src.grad(func)))
    assert abs(g3(x) - d3(x)) < 1e-9


@pytest.mark.parametrize(("func", "d2", "x"), SCALAR_NESTED)
def test_forward_over_forward_scalar(func, d2, x):
    ff = tangent_src.autodiff(tangent_src.autodiff(func, mode="forward"), mode="forward")
    assert abs(ff(x, 1.0, 1.0) - d2(x)) < 1e-9
    # the inner tangent and the outer one both scale the result
    assert abs(ff(x, 2.0, -0.5) - (-1.0) * d2(x)) < 1e-9


def test_forward_over_forward_over_forward_scalar():
    fff = tangent_src.autodiff(
        tangent_src.autodiff(tangent_src.autodiff(loop_poly, mode="forward"), mode="forward"),
        mode="forward")
    assert abs(fff(0.7, 1.0, 1.0, 1.0) - loop_poly_d3(0.7)) < 1e-9


@pytest.mark.parametrize(("func", "d2", "x"), SCALAR_NESTED)
def test_reverse_over_forward_scalar(func, d2, x):
    rf = tangent_src.grad(tangent_src.autodiff(func, mode="forward"), wrt=0)
    assert abs(rf(x, 1.0) - d2(x)) < 1e-9


@pytest.mark.parametrize(("func", "d2", "x"), SCALAR_NESTED)
def test_forward_over_reverse_scalar(func, d2, x):
    value, tangent = tangent_src.jvp(tangent_src.grad(func), (x, 1.0), (1.0, 0.0))
    assert abs(value - tangent_src.grad(func)(x)) < 1e-12
    assert abs(tangent - d2(x)) < 1e-9
    fr = tangent_src.autodiff(tangent_src.grad(func), mode="forward", wrt=0)
    assert abs(fr(x, 1.0, 1.0) - d2(x)) < 1e-9
    assert abs(tangent_src.hvp(func)(x, 1.0) - d2(x)) < 1e-9
    assert abs(tangent_src.hessian(func)(x) - d2(x)) < 1e-9


NESTED_VECTOR = [c for c in SCALAR_CASES
                 if c.func in (s_for_loop, s_while_loop, s_branch, s_matrix, s_quadratic_sin)
                 and c.wrt == 0]
NESTED_IDS = [c.name for c in NESTED_VECTOR]


def _directions(c, args):
    rng = np.random.default_rng(zlib.crc32(c.name.encode()) + 6)
    x = args[c.wrt]
    return rng.normal(size=np.shape(x)), rng.normal(size=np.shape(x))


@pytest.mark.parametrize("c", NESTED_VECTOR, ids=NESTED_IDS)
def test_forward_over_forward_vector(c):
    """Differentiating x -> grad f(x) . u along v gives u^T H v."""
    args = c.make_args()
    u, v = _directions(c, args)
    expected = float(np.sum(u * contract_hessian(fd_hessian(c.func, args), v)))
    ff = tangent_src.autodiff(tangent_src.autodiff(c.func, mode="forward"), mode="forward")
    assert_close(ff(*args, u, v), expected, label="autodiff(autodiff(f))")
    value, tangent = tangent_src.jvp(tangent_src.autodiff(c.func, mode="forward"),
                                     (*args, u), (v, np.zeros_like(u)))
    assert_close(value, float(np.sum(fd_jacobian(c.func, args) * u)), label="jvp value")
    assert_close(tangent, expected, label="jvp(autodiff(f))")


@pytest.mark.parametrize("c", NESTED_VECTOR, ids=NESTED_IDS)
def test_reverse_over_forward_vector(c):
    """The gradient of x -> grad f(x) . u is H u."""
    args = c.make_args()
    u, _ = _directions(c, args)
    expected = contract_hessian(fd_hessian(c.func, args), u)
    got = tangent_src.grad(tangent_src.autodiff(c.func, mode="forward"), wrt=0)(*args, u)
    assert_close(got, expected, label="grad(autodiff(f))")


@pytest.mark.parametrize("c", NESTED_VECTOR, ids=NESTED_IDS)
def test_forward_over_reverse_vector(c):
    """The derivative of x -> grad f(x) along v is H v."""
    args = c.make_args()
    _, v = _directions(c, args)
    expected = contract_hessian(fd_hessian(c.func, args), v)
    value, tangent = tangent_src.jvp(tangent_src.grad(c.func), (*args, 1.0), (v, 0.0))
    assert_close(value, fd_jacobian(c.func, args), label="jvp(grad(f)) value")
    assert_close(tangent, expected, label="jvp(grad(f))")
    fr = tangent_src.autodiff(tangent_src.grad(c.func), mode="forward", wrt=0)
    assert_close(fr(*args, 1.0, v), expected, label="autodiff(grad(f))")


# --------------------------------------------------------------------------- check_grads


@pytest.mark.parametrize("c", SCALAR_CASES, ids=SCALAR_IDS)
def test_check_grads_passes_on_correct_functions(c):
    args = c.make_args()
    tangent_src.check_grads(c.func, args, order=1)
    tangent_src.check_grads(c.func, args, order=2, modes=("fwd", "rev"))


def test_check_grads_passes_per_mode():
    x = np.array([0.3, -0.8, 1.1, 0.5])
    tangent_src.check_grads(s_for_loop, (x,), order=2, modes=("fwd",))
    tangent_src.check_grads(s_for_loop, (x,), order=2, modes=("rev",))


def stiff(theta):
    return np.sum(np.exp(3.0 * theta) * np.sin(5.0 * theta))


def stiff_scalar(theta):
    return math.exp(3.0 * theta) * math.sin(5.0 * theta)


def _names_first_argument(message):
    return "theta" in message or re.search(r"arg\w*\W{0,3}0\b", message) is not None


@pytest.mark.parametrize("x", [np.array([0.5, -0.2, 0.8]), 0.7], ids=["array", "float"])
def test_check_grads_raises_when_finite_differences_are_inaccurate(x):
    """With eps=1.0 on a strongly nonlinear function, the (correct) gradient disagrees with
    the (wrong) finite differences; check_grads must report it, naming what it compared."""
    func = stiff if isinstance(x, np.ndarray) else stiff_scalar
    with pytest.raises(AssertionError) as info:
        tangent_src.check_grads(func, (x,), order=1, modes=("rev",), eps=1.0, rtol=1e-10,
                                atol=1e-12)
    message = str(info.value)
    assert "rev" in message, message
    assert "order" in message, message
    assert _names_first_argument(message), message


def test_check_grads_raises_in_forward_mode_too():
    with pytest.raises(AssertionError) as info:
        tangent_src.check_grads(stiff, (np.array([0.5, -0.2, 0.8]),), order=1, modes=("fwd",),
                                eps=1.0, rtol=1e-10, atol=1e-12)
    message = str(info.value)
    assert "fwd" in message or "forward" in message, message
    assert "order" in message, message
    assert _names_first_argument(message), message
