"""One array passed as two arguments of a function that writes into one of them in place.

The derivative is that of f on fresh copies of its arguments, so `df(B, B, w)` for an f
that writes into its first parameter and reads its second afterwards was silently wrong
(Python's f sees the write through both names; audit: 0.97 against -0.67 by finite
differences). Such calls are refused with a clear error, on the general path and on the
fast entry, in every mode; distinct arrays, disjoint views, and the same array given to a
function that writes into no parameter keep working, checked against central finite
differences of f run on fresh copies of its arguments.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

import tangent_src
from tangent_src.errors import NotDifferentiableError, TangentError

B = np.array([0.3, -0.7, 0.5])
W = np.array([0.7, -1.1, 0.4])


def scale_first(a, b, w):
    a[0] = a[0] * w[0]  # writes into the caller's array
    return np.sum(b ** 2) * w[1] + np.sum(a) * w[2] + np.sum(b) * w[0]


def bump(p, w):
    p += w
    return np.sum(p)


def bump_then_read(a, b, w):
    s = bump(a, w)  # a callee updates its parameter, the caller's argument
    return np.sum(b * w) * s


def list_write(ps, w):
    a = ps[0]
    b = ps[1]
    a[0] = a[0] * w[0]
    return np.sum(b ** 2) * w[1] + np.sum(a) * w[2]


def read_only(a, b):
    return np.sum(a * np.sin(b)) + np.sum(a ** 2 * b)


def fd(f, args, k, eps=1e-6):
    """Central differences of f with respect to args[k], each evaluation on fresh copies
    of the arguments (f writes into them)."""
    x0 = np.asarray(args[k], dtype=float)
    out = np.zeros_like(x0)
    for i in np.ndindex(x0.shape):
        def at(step, i=i):
            fresh = copy.deepcopy(list(args))
            x = x0.copy()
            x[i] += step
            fresh[k] = x
            return float(f(*fresh))
        out[i] = (at(eps) - at(-eps)) / (2 * eps)
    return out


def refused(call, *names):
    with pytest.raises(NotDifferentiableError) as info:
        call()
    text = str(info.value)
    assert isinstance(info.value, TangentError)
    for name in names:
        assert name in text, text
    assert ".copy()" in text
    return text


def test_same_array_twice_is_refused_naming_the_function_and_parameters():
    B2 = B.copy()
    text = refused(lambda: tangent_src.grad(scale_first, wrt=2)(B2, B2, W),
                   "scale_first", "'a'", "'b'")
    assert "writes into 'a'" in text
    np.testing.assert_array_equal(B2, B)  # nothing ran


def test_distinct_arrays_match_finite_differences():
    df = tangent_src.grad(scale_first, wrt=(0, 1, 2))
    args = (B.copy(), B.copy() * 2.0, W)
    got = df(*copy.deepcopy(args))
    for k in range(3):
        np.testing.assert_allclose(got[k], fd(scale_first, args, k), rtol=1e-6, atol=1e-8)


def test_read_only_function_takes_the_same_array_twice():
    df = tangent_src.grad(read_only, wrt=0)
    B2 = B.copy()
    expected = fd(lambda a: read_only(a, B), (B,), 0)
    np.testing.assert_allclose(df(B2, B2), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(df(B2, B2), expected, rtol=1e-6, atol=1e-8)  # the entry
    assert df._last.written == ()  # checks nothing per call


def test_overlapping_views_refused_disjoint_views_work():
    df = tangent_src.grad(scale_first, wrt=2)
    A = np.array([0.3, -0.7, 0.5, 0.9])
    refused(lambda: df(A, A[0:2], W), "'a'", "'b'")
    refused(lambda: df(A[1:3], A[2:], W), "'a'", "'b'")
    for sa, sb in ((slice(2, None), slice(None, 2)), (slice(None, None, 2), slice(1, None, 2))):
        base = A.copy()  # disjoint views of one array: f sees no write through b
        expected = fd(scale_first, (A[sa].copy(), A[sb].copy(), W), 2)
        np.testing.assert_allclose(df(base[sa], base[sb], W), expected, rtol=1e-6, atol=1e-8)


def test_aliased_second_call_after_distinct_first_call_is_refused():
    df = tangent_src.grad(scale_first, wrt=2)
    a, b = B.copy(), B.copy()
    expected = fd(scale_first, (a, b, W), 2)
    np.testing.assert_allclose(df(a.copy(), b.copy(), W), expected, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(df(a.copy(), b.copy(), W), expected, rtol=1e-6, atol=1e-8)
    refused(lambda: df(a, a, W), "'a'", "'b'")  # same key: the fast entry checks too
    np.testing.assert_allclose(df(a.copy(), b.copy(), W), expected, rtol=1e-6, atol=1e-8)
    refused(lambda: df(a, a, W), "'a'", "'b'")


def test_keyword_arguments_are_checked():
    df = tangent_src.grad(scale_first, wrt=2)
    B2 = B.copy()
    refused(lambda: df(B2, b=B2, w=W), "'a'", "'b'")


def test_value_and_grad_and_forward_mode_refuse():
    B2 = B.copy()
    refused(lambda: tangent_src.value_and_grad(scale_first, wrt=2)(B2, B2, W), "'a'")
    refused(lambda: tangent_src.autodiff(scale_first, mode="forward", wrt=2)(B2, B2, W, W),
            "'a'")
    refused(lambda: tangent_src.jvp(scale_first, (B2, B2, W), (B, B, W)), "'a'")
    refused(lambda: tangent_src.vjp(scale_first, B2, B2, W), "'a'")


def test_forward_mode_on_distinct_arrays_matches_finite_differences():
    args = (B.copy(), B.copy() * 2.0, W)
    direction = np.array([0.2, 0.5, -0.3])
    jvp = tangent_src.autodiff(scale_first, mode="forward", wrt=2)
    for _ in range(2):
        got = jvp(*copy.deepcopy(args), direction)
        assert np.isclose(got, fd(scale_first, args, 2) @ direction, rtol=1e-6, atol=1e-8)


def test_a_callee_updating_its_parameter():
    df = tangent_src.grad(bump_then_read, wrt=2)
    B2 = B.copy()
    refused(lambda: df(B2, B2, W), "bump_then_read", "'a'", "'b'")
    args = (B.copy(), B.copy() * 2.0, W)
    np.testing.assert_allclose(df(*copy.deepcopy(args)), fd(bump_then_read, args, 2),
                               rtol=1e-6, atol=1e-8)


def test_arrays_inside_a_list():
    df = tangent_src.grad(list_write, wrt=1)
    B2 = B.copy()
    refused(lambda: df([B2, B2], W), "ps[0]", "ps[1]")
    args = ([B.copy(), B.copy() * 2.0], W)
    for _ in range(2):
        np.testing.assert_allclose(df(*copy.deepcopy(args)), fd(list_write, args, 1),
                                   rtol=1e-6, atol=1e-8)
    refused(lambda: df([B2, B2[1:]], W), "ps[0]", "ps[1]")  # same key: the entry looks in
    refused(lambda: df([B2, B2.copy()], B2), "'ps[0]'", "'w'")


def test_numba_backend_refuses():
    pytest.importorskip("numba")
    df = tangent_src.grad(scale_first, wrt=2, backend="numba")
    args = (B.copy(), B.copy() * 2.0, W)
    np.testing.assert_allclose(df(*copy.deepcopy(args)), fd(scale_first, args, 2),
                               rtol=1e-6, atol=1e-8)
    B2 = B.copy()
    refused(lambda: df(B2, B2, W), "'a'", "'b'")


def out_vector(a, b, w):
    a[0] = a[0] * w[0]
    return b * w + a


def test_jacobian_refuses():
    B2 = B.copy()
    refused(lambda: tangent_src.jacobian(out_vector, wrt=2)(B2, B2, W), "out_vector", "'a'")
    refused(lambda: tangent_src.jacobian(out_vector, wrt=2, mode="forward")(B2, B2, W),
            "'a'")


def test_second_derivatives_refuse_and_match_the_hand_derived_hessian():
    B2 = B.copy()
    refused(lambda: tangent_src.hvp(scale_first, wrt=2)(B2, B2, W, W), "scale_first", "'a'")
    refused(lambda: tangent_src.hessian(scale_first, wrt=2)(B2, B2, W), "scale_first", "'a'")
    a, b = B.copy(), B.copy() * 2.0
    # on fresh copies f = sum(b**2) w1 + (a0 w0 + a1 + a2) w2 + sum(b) w0: only w0, w2 mix
    expected = np.zeros((3, 3))
    expected[0, 2] = expected[2, 0] = a[0]
    np.testing.assert_allclose(tangent_src.hessian(scale_first, wrt=2)(a.copy(), b, W),
                               expected, atol=1e-12)
    v = np.array([0.2, 0.5, -0.3])
    np.testing.assert_allclose(tangent_src.hvp(scale_first, wrt=2)(a.copy(), b, W, v),
                               expected @ v, atol=1e-12)


def counted(a, b, n):
    m = n
    m += 1  # a number: rebinds, writes into nothing
    return np.sum(a * np.sin(b)) * m


def test_a_number_parameter_updated_takes_the_same_array_twice():
    df = tangent_src.grad(counted, wrt=0)
    B2 = B.copy()
    expected = fd(lambda a: counted(a, B, 2), (B,), 0)
    for _ in range(2):
        np.testing.assert_allclose(df(B2, B2, 2), expected, rtol=1e-6, atol=1e-8)
