"""Symbolic sizes in shape inference (analysis/shape_sizes.py): a slice whose bounds are
computed from the arguments' sizes (`g[0:b]` of `g = concatenate((x, h, x, h)) * w` with
`b = h.shape[0]`) has h's size, so the gate's adjoint needs no `unbroadcast`; where the
sizes cannot be proved (a slice that may have one element and broadcast, a bound from a
rebound name) it keeps one. Every gradient is checked against central finite differences
in both modes; the LSTM-like ones under the numba back end too."""
from __future__ import annotations

import textwrap

import gast
import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.analysis.shape_sizes import Least, const, never_one, slice_size
from tangent_src.analysis.shapes import ShapeInference

RNG = np.random.default_rng(1414)


def _resolve(expr):
    parts = []
    while isinstance(expr, gast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    obj = {"np": np}.get(expr.id) if isinstance(expr, gast.Name) else None
    for part in reversed(parts):
        obj = getattr(obj, part, None)
    return obj


def _classes(src: str, args: dict) -> dict:
    return ShapeInference(_resolve).run(gast.parse(textwrap.dedent(src)).body[0], args)


H = (0, (((("h", 0)), 1),))  # the symbol of h's first dimension
X = (0, (((("x", 0)), 1),))


def test_forms_slice_sizes_and_never_one():
    length = (0, ((("h", 0), 2), (("x", 0), 2)))  # 2 H + 2 X
    assert slice_size(length, None, H) == H
    assert slice_size(length, H, (0, ((("h", 0), 2),))) == H
    # 3H <= L is not known: the slice is clamped or not, so its size is min(H, 2X)
    least = slice_size(length, (0, ((("h", 0), 2),)), (0, ((("h", 0), 3),)))
    assert isinstance(least, Least) and set(least) == {H, (0, ((("x", 0), 2),))}
    assert never_one(least, {("h", 0), ("x", 0)}) and not never_one(least, {("h", 0)})
    assert slice_size(least, None, H) == least  # [0:H] of it: still min(H, 2X)
    assert slice_size(least, H, None) is None  # H <= 2X is not known
    assert slice_size(length, (0, ((("h", 0), 3),)), None) is None
    assert slice_size(X, const(-1), None) is None  # a negative bound counts from the end
    assert never_one(H, {("h", 0)}) and not never_one(H, set())
    assert never_one((0, ((("h", 0), 2), (("x", 0), 2))), {("h", 0), ("x", 0)})
    assert not never_one((1, ((("h", 0), 2),)), {("h", 0)})  # 2H + 1 is 1 at H = 0
    assert not never_one((0, ((("h", 0), 1), (("x", 0), -1))), {("h", 0), ("x", 0)})


CELL = """
def f(w, h, x):
    b = h.shape[0]
    t = x, h, x, h
    z = np.concatenate(t)
    g = z * w
    p = g[0:b]
    two = 2 * b
    q = g[b:two]
    three = 3 * b
    r = g[two:three]
    s = g[three:]
    return p
"""


def test_gate_slices_of_a_concatenation_have_the_hidden_size():
    classes = _classes(CELL, {"w": ("N",), "h": ("N",), "x": ("N",)})
    assert classes["p"] == ("N",) and classes["q"] == ("N",)
    # 3b <= 2 len(x) + 2b needs len(x) >= b / 2: not known, so r is clamped or not, and
    # has min(b, 2 len(x)) elements, never one; s has 2 len(x) - b or none: one at x 2, h 3
    assert classes["r"] == ("N",) and classes["s"] == ("?",)
    # h of size one: b is 1, and g[0:1] is not known to be anything but "?" from flags
    assert _classes(CELL, {"w": ("N",), "h": ("1",), "x": ("N",)})["q"] == ("?",)


def test_a_rebound_array_forgets_its_size():
    classes = _classes("""
    def f(h, w):
        for k in range(2):
            b = h.shape[0]
            z = np.concatenate((h, h))
            p = z[0:b]
            h = h[1:]
        return p
    """, {"h": ("N",), "w": ("N",)})
    assert classes["p"] == ("?",)


# ------------------------------------------------------------------ gradients, user style


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def cell(weight, bias, hidden, state, inp):
    """ADBench's cell, the state returned as a tuple."""
    n = hidden.shape[0]
    g = np.concatenate((inp, hidden, inp, hidden)) * weight + bias
    forget = sigmoid(g[0:n])
    ingate = sigmoid(g[n:2 * n])
    outgate = sigmoid(g[2 * n:3 * n])
    change = np.tanh(g[3 * n:])
    state2 = state * forget + ingate * change
    return outgate * np.tanh(state2), state2


def layers(main, hs, cs, x):
    """A loop over layers; each cell returns (h, c)."""
    total = 0.0
    for j in range(main.shape[0] // 2):
        h, c = cell(main[2 * j], main[2 * j + 1], hs[j], cs[j], x)
        total = total + np.sum(h * c)
        x = h
    return total + np.sum(x ** 2)


def _check(f, args, wrt, backend=None):
    kw = {} if backend is None else {"backend": backend}
    df = tangent_src.grad(f, wrt=wrt, **kw)
    got = df(*args)
    want = numerical_grad(f, args, wrt)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)
    return df


def _jvp_check(f, args, k):
    v = RNG.normal(size=np.shape(args[k]))
    tangents = tuple(v if i == k else np.zeros_like(a) for i, a in enumerate(args))
    _, got = tangent_src.jvp(f, args, tangents)
    want = np.sum(numerical_grad(f, args, k) * v)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


def _layer_args(b, n_in, layers_=2):
    main = RNG.normal(scale=0.5, size=(2 * layers_, 2 * n_in + 2 * b))
    return (main, RNG.normal(size=(layers_, b)), RNG.normal(size=(layers_, b)),
            RNG.normal(size=n_in))


@pytest.mark.parametrize("backend", [None, "numba"])
def test_lstm_cell_gates_match_finite_differences(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    args = _layer_args(3, 3)
    df = _check(layers, args, (0, 1, 2, 3), backend)
    if backend is None:
        source = df.source
        # the forget and input gates' adjoints: no unbroadcast left (the other two may
        # have one element here: see test_a_gate_of_one_element_still_broadcasts)
        assert "dforget = dstate2 * state" in source, source
        assert "dingate = dstate2 * change" in source, source
    for k in range(4):
        _jvp_check(layers, args, k)


def test_a_gate_of_one_element_still_broadcasts():
    """Hidden size 3, input size 2: g has 10 entries and g[3n:] one, which broadcasts
    against the other gates (size 3): its adjoint must sum."""
    args = _layer_args(3, 2, layers_=1)
    _check(layers, args[:3] + (args[3],), (0, 1, 2, 3))
    for k in range(4):
        _jvp_check(layers, args, k)


def first_rows(a, w):
    """A slice bounded by another array's size: a[0:n] has min(n, len(a)) entries."""
    n = w.shape[0]
    return np.sum(np.sin(a[0:n]) * w)


def shrinking(h, w):
    """b read from a name that shrinks in the loop: z[0:b] has one entry the second time
    and broadcasts against w."""
    total = 0.0
    for _ in range(2):
        b = h.shape[0]
        z = np.concatenate((h, h))
        total = total + np.sum(np.cos(z[0:b]) * w)
        h = h[1:]
    return total


@pytest.mark.parametrize("f, shapes", [
    (first_rows, [(1,), (4,)]),   # a[0:4] is all of a, one element: broadcasts against w
    (first_rows, [(5,), (3,)]),
    (shrinking, [(2,), (2,)]),
])
def test_slices_that_may_broadcast_keep_their_unbroadcast(f, shapes):
    args = tuple(RNG.normal(size=s) for s in shapes)
    _check(f, args, (0, 1))
    for k in range(2):
        _jvp_check(f, args, k)
