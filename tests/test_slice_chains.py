"""One elementwise chain over adjacent slices (transform/slice_chains.py): an LSTM's three
sigmoid gates `sigmoid(g[0:b])`, `sigmoid(g[b:2 * b])`, `sigmoid(g[2 * b:3 * b])` computed
as one `np.exp` over `g[0:3 * b]`, and their adjoints as one chain. Every gradient is
checked against central finite differences, where the rewrite fires (clamped slices, a
gate of one element that broadcasts, slices of rows, bounds not from zero) and where it
must not (slices not adjacent, different operations, a result written into or returned,
bounds that may be negative, an integer literal that repeats a list)."""
from __future__ import annotations

import gast
import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.naming import Namer
from tangent_src.transform.slice_chains import fuse_slice_chains

RNG = np.random.default_rng(1410)


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def gates(w, h, c, x):
    """ADBench's cell: hidden size b, input size len(x); g has 2 len(x) + 2 b entries."""
    b = h.shape[0]
    g = np.concatenate((x, h, x, h)) * w
    forget = sigmoid(g[0:b])
    ingate = sigmoid(g[b:2 * b])
    outgate = sigmoid(g[2 * b:3 * b])
    change = np.tanh(g[3 * b:])
    c2 = c * forget + ingate * change
    return np.sum(outgate * np.tanh(c2) + c2 ** 2)


def _check(f, args, wrt, backend=None):
    kw = {} if backend is None else {"backend": backend}
    df = tangent_src.grad(f, wrt=wrt, **kw)
    got = df(*args)
    want = numerical_grad(f, args, wrt)
    for g, w in zip(got if isinstance(wrt, tuple) else (got,),
                    want if isinstance(wrt, tuple) else (want,)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)
    return tangent_src.source(df, *args)


def _gate_args(b, n_in):
    return (RNG.normal(size=2 * n_in + 2 * b), RNG.normal(size=b), RNG.normal(size=b),
            RNG.normal(size=n_in))


@pytest.mark.parametrize("b, n_in", [(3, 3), (3, 2), (5, 5)])
def test_three_sigmoid_gates_are_one_exp(b, n_in):
    """(3, 2): g has 10 entries, so the last gate g[9:] has one, which broadcasts against
    the others (its adjoint sums)."""
    source = _check(gates, _gate_args(b, n_in), (0, 1, 2, 3))
    fwd = source[:source.index("# backward pass")] if "# backward pass" in source else source
    assert fwd.count("np.exp(") == 1, source
    assert "forget_ingate_outgate = " in source, source


def test_fused_gates_in_forward_mode():
    """The rewrite is of the core form, which forward mode differentiates too."""
    args = _gate_args(3, 2)
    for k in range(4):
        v = RNG.normal(size=np.shape(args[k]))
        tangents = tuple(v if i == k else np.zeros_like(a) for i, a in enumerate(args))
        _, got = tangent_src.jvp(gates, args, tangents)
        want = np.sum(numerical_grad(gates, args, k) * v)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def test_fused_gates_under_numba():
    pytest.importorskip("numba")
    _check(gates, _gate_args(3, 3), (0, 1, 2, 3), backend="numba")


def clamped(a, w):
    """The second slice runs past the end of `a` (3 entries): a[2:4] has one."""
    p = np.exp(a[0:2] * 0.5)
    q = np.exp(a[2:4] * 0.5)
    return np.sum(p * w) + np.sum(q * q)


def rows(m, v):
    """Slices of a matrix's rows, the bounds from its other argument's size."""
    n = v.shape[0]
    two_n = 2 * n
    top = np.tanh(m[0:n] * 2.0)
    bottom = np.tanh(m[n:two_n] * 2.0)
    return np.sum(top * bottom) + np.sum(bottom * np.expand_dims(v, 1))


def not_from_zero(g, h):
    """Gates from b on: the fused value is g[b:3b], each gate a slice of it from an
    offset."""
    b = h.shape[0]
    p = np.sin(-g[b:2 * b])
    q = np.sin(-g[2 * b:3 * b])
    return np.sum(p * h) + np.sum(q * h * h)


@pytest.mark.parametrize("f, args, fused", [
    (clamped, (RNG.normal(size=3), RNG.normal(size=2)), "np.exp(a[0:4] * 0.5)"),
    (rows, (RNG.normal(size=(6, 4)), RNG.normal(size=3)), "m[0:two_n]"),
    (not_from_zero, (RNG.normal(size=9), RNG.normal(size=3)), "p = p_q[0:b]"),
])
def test_fused_chains_match_finite_differences(f, args, fused):
    source = _check(f, args, (0, 1))
    assert fused in source, source


def gap(g, h):
    """Slices not adjacent (g[b + 1:...]): each keeps its own chain."""
    b = h.shape[0]
    p = np.exp(g[0:b] * 0.5)
    q = np.exp(g[b + 1:2 * b + 1] * 0.5)
    return np.sum(p * h + q)


def different_ops(g, h):
    b = h.shape[0]
    p = np.exp(g[0:b] * 0.5)
    q = np.exp(g[b:2 * b] * 0.25)
    return np.sum(p * h + q)


def written_into(g, h):
    """A result written into: as a view of the fused value it would change its
    neighbour's entries, so nothing is fused."""
    b = h.shape[0]
    p = np.exp(g[0:b] * 0.5)
    q = np.exp(g[b:2 * b] * 0.5)
    p[0] = 2.0
    return np.sum(p * h + q * q)


def returned(g, h):
    b = h.shape[0]
    p = np.exp(g[0:b] * 0.5)
    q = np.exp(g[b:2 * b] * 0.5)
    return p, q


def through_returned(g, h):
    p, q = returned(g, h)
    return np.sum(p * h) + np.sum(q * q)


def from_a_parameter(g, k):
    """A bound from an integer argument may be negative: g[-2:0] is empty, g[-2:2] not."""
    p = np.exp(g[k:k + 2] * 0.5)
    q = np.exp(g[k + 2:k + 4] * 0.5)
    return np.sum(p) + np.sum(q * q)


@pytest.mark.parametrize("f, args, wrt", [
    (gap, (RNG.normal(size=8), RNG.normal(size=3)), (0, 1)),
    (different_ops, (RNG.normal(size=6), RNG.normal(size=3)), (0, 1)),
    (written_into, (RNG.normal(size=6), RNG.normal(size=3)), (0, 1)),
    (through_returned, (RNG.normal(size=6), RNG.normal(size=3)), (0, 1)),
    (from_a_parameter, (RNG.normal(size=6), 1), 0),
    (from_a_parameter, (RNG.normal(size=6), -2), 0),
])
def test_chains_that_must_stay_apart(f, args, wrt):
    source = _check(f, args, wrt)
    assert source.count("np.exp(") >= 2, source


def test_a_list_repeated_by_an_integer_is_not_fused():
    """`lst[0:2] * 2` repeats a list; `lst[0:4] * 2` sliced would not be the same, so an
    operation on the slice itself needs a float literal (or a ufunc) to be fused."""
    src = ("def f(a):\n    p = a[0:2]\n    p2 = p * 2\n    p3 = p2 + 1.0\n"
           "    q = a[2:4]\n    q2 = q * 2\n    q3 = q2 + 1.0\n    r = p3 + q3\n"
           "    return r\n")
    func = gast.parse(src).body[0]
    before = gast.dump(func)
    fuse_slice_chains(func.body, lambda node: None, Namer({"f", "a"}))
    assert gast.dump(func) == before
    func = gast.parse(src.replace("* 2\n", "* 2.0\n")).body[0]
    fuse_slice_chains(func.body, lambda node: None, Namer({"f", "a"}))
    first = func.body[0]
    assert len(func.body) == 7 and first.value.slice.upper.value == 4  # a[0:4], 3 + 2 + 2


def two_exps(g):
    p = np.exp(g[0:2] * 0.5)
    q = np.exp(g[2:4] * 0.5)
    return np.sum(p * 2.0) + np.sum(q * q)


def test_fused_chains_differentiated_twice():
    """The Hessian (the generated gradient differentiated again) against the one derived
    by hand: diagonal, 0.5 exp(g / 2) on the first two entries, exp(g) on the others."""
    g = RNG.normal(size=4)
    got = tangent_src.hessian(two_exps)(g)
    want = np.diag(np.concatenate((0.5 * np.exp(0.5 * g[:2]), np.exp(g[2:]))))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    source = tangent_src.source(tangent_src.grad(two_exps), g)
    assert "np.exp(g[0:4] * 0.5)" in source, source
