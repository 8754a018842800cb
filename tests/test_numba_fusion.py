"""Elementwise runs as one loop under numba (backend/numba_fusion.py, numba_elementwise.py).

The rewrite moves a run of elementwise statements into a function of its own (a kernel),
which numba runs entry by entry only for 1-D float64 arrays of one length; a run whose
arguments the shape classes do not prove 1-D arrays gets no kernel. Checked: the
loop gives the same bits as the whole-array kernel under numba; the gradients against
central finite differences where it fires, and where it must not (broadcasting, the same
array passed twice, a name reassigned in the run, a run in a loop whose output the next
iteration reads); the source pass on its own. Each numba function here is small (the CI
budget)."""
from __future__ import annotations

import gast
import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.backend.numba_fusion import fuse_elementwise

numba = pytest.importorskip("numba")
RNG = np.random.default_rng(1411)


def cell(x, y):
    """Elementwise chains between non-elementwise steps (a slice, a sum)."""
    t = np.tanh(x * y)
    u = 1.0 / (1.0 + np.exp(-t))
    v = u * x - y
    w = v[0:2]
    return np.sum(w * w) + np.sum(u * np.tanh(v))


def looped(x, n):
    """A run inside a loop: `h` (an output) is read at the top of the next iteration. The
    user's names `i` and `n` are also names the kernel's loop would take (an LSTM's input
    gate is `i`)."""
    h = x
    total = 0.0
    for _ in range(3):
        i = h * n
        h = np.tanh(i) + 0.5 * i
        total = total + np.sum(h * h)
    return total


def _check(f, args, wrt=(0, 1)):
    df = tangent_src.grad(f, wrt=wrt, backend="numba")
    got = df(*args)
    want = numerical_grad(f, args, wrt)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)
    python = tangent_src.grad(f, wrt=wrt)(*args)
    for g, p in zip(got, python):  # numba's exp/tanh and NumPy's may differ in the last bit
        np.testing.assert_allclose(g, p, rtol=1e-13, atol=1e-15)
    return df


@pytest.mark.parametrize("args, kernel", [
    ((RNG.normal(size=4), RNG.normal(size=4)), True),  # fires: 1-D float64 of one length
    ((RNG.normal(size=4), RNG.normal(size=1)), True),  # broadcasts: the run on the arrays
    ((RNG.normal(size=(3, 2)), RNG.normal(size=(3, 2))), False),  # 2-D: not proven 1-D
])
def test_runs_against_finite_differences(args, kernel):
    df = _check(cell, args)
    assert ("_elementwise(" in df.source) == kernel, df.source


def test_same_array_twice():
    x = RNG.normal(size=4)  # the shape of the first case: its compiled code
    df = tangent_src.grad(cell, wrt=(0, 1), backend="numba")
    want = numerical_grad(lambda a: cell(a, a), (x,), 0)
    got = df(x, x)
    np.testing.assert_allclose(got[0] + got[1], want, rtol=1e-6, atol=1e-8)


def test_run_in_a_loop():
    _check(looped, (RNG.normal(size=3), RNG.normal(size=3)))


def _kernel(i, n):
    """Parameters named as the loop's own index and length would be (the user's names)."""
    c = np.exp(-i) * n
    d = 1.0 / (1.0 + c) - np.tanh(i) / n
    return c, d


def test_loop_has_the_bits_of_the_arrays():
    """Entry by entry (1-D, one length) and whole-array (2-D views of the same numbers)
    give the same bits, division by zero included (inf, not an error); lengths that
    differ broadcast as NumPy does, and 2-D arrays run whole."""
    from tangent_src.backend.numba_elementwise import register_kernel
    kernel = _copy_of(_kernel)
    register_kernel(kernel)
    whole_kernel = numba.njit(_kernel)

    @numba.njit
    def fused(a, b):
        return kernel(a, b)

    @numba.njit
    def whole(a, b):
        return whole_kernel(a.reshape((1, a.size)), b.reshape((1, b.size)))

    a, b = RNG.normal(size=9), RNG.normal(size=9)
    b[3] = 0.0
    for got, want in zip(fused(a, b), whole(a, b)):
        np.testing.assert_array_equal(got, want[0])
    for got, want in zip(fused(a, b[:1]), _kernel(a, b[:1])):  # broadcasts
        np.testing.assert_allclose(got, want, rtol=1e-14)
    a2, b2 = a.reshape((3, 3)), b.reshape((3, 3))  # 2-D: whole-array
    for got, want in zip(fused(a2, b2), whole_kernel(a2, b2)):
        np.testing.assert_array_equal(got, want)


def _copy_of(func):
    """A fresh function object (an overload is registered per function object)."""
    import types
    return types.FunctionType(func.__code__, func.__globals__, func.__name__)


def _pass(source: str, classes: dict | None = None) -> list[str]:
    func = gast.parse(source).body[0]
    taken = {n.id for n in gast.walk(func) if isinstance(n, gast.Name)}
    names = iter(f"k{i}" for i in range(10))
    out = fuse_elementwise([func], lambda base: next(n for n in names if n not in taken),
                           classes={"x": ("N",)} if classes is None else classes)
    return [node.name for node in out]


def test_pass_leaves_index_arithmetic_copies_and_dead_runs():
    assert _pass("def f(x):\n    n = x.shape[0]\n    a = 2 * n\n    b = a + 1\n    return x[b]"
                 ) == ["f"]
    assert _pass("def f(x):\n    a = x\n    b = a\n    return b") == ["f"]
    assert _pass("def f(x):\n    a = x * x\n    b = a + x\n    return x") == ["f"]
    assert _pass("def f(x):\n    a = x * x\n    b = np.exp(a)\n    return b") == ["k0", "f"]


def test_pass_fuses_only_proven_vectors():
    """Every argument of a run must be proven a 1-D array: by its class, or as a
    temporary bound only to elementwise arithmetic of such names and numbers."""
    run = "def f(x):\n    a = x * x\n    b = np.exp(a)\n    return b"
    for classes in [{}, {"x": ("N", "N")}, {"x": ()}, {"x": None}]:
        assert _pass(run, classes) == ["f"], classes
    assert _pass(run, {"x": ("?",)}) == ["k0", "f"]
    scaled = run.replace("a = x * x", "a = x * s")  # a number: the loop would not run
    assert _pass(scaled) == _pass(scaled, {"x": ("N",), "s": ()}) == ["f"]
    temporary = "def f(x):\n    t = 2.0 * x\n    y = g(t)\n    a = t * t\n    b = np.exp(a)" \
        "\n    return b + y"
    assert _pass(temporary) == ["k0", "f"]  # t: 1-D (2.0 * x)
    assert _pass(temporary.replace("2.0 * x", "g(x)")) == ["f"]  # t: unknown
    assert _pass(temporary.replace("y = g(t)", "t = g(t)")) == ["f"]  # t bound twice
