"""Per-step outer products summed in a loop, hoisted into one matrix product after the loop
(optimize/outers.py): where the pass fires the gradient still matches central finite
differences, and where it must not fire (the accumulator read in the loop, a factor that
changes before the loop ends, an early exit) it leaves the loop alone. Both back ends."""
from __future__ import annotations

import textwrap

import astor
import gast
import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.optimize.outers import outers
from tangent_src.runtime import add_at, add_outers, zeros_like

BACKENDS = ["python", "numba"]


def _grad(f, wrt, backend):
    return tangent_src.grad(f, wrt=wrt, backend=backend)


def _check(f, args, wrt, backend, hoisted: bool, rtol=1e-6, atol=1e-8):
    """The gradient equals central differences, and the source hoists (or not)."""
    df = _grad(f, wrt, backend)
    got = df(*args)
    got = got if isinstance(got, tuple) else (got,)
    for k, w in enumerate(wrt):
        want = numerical_grad(f, args, wrt=w)
        assert np.shape(got[k]) == np.shape(want)
        np.testing.assert_allclose(got[k], want, rtol=rtol, atol=atol)
    source = tangent_src.source(df, *args)
    assert ("add_outers(" in source) == hoisted, source


# ------------------------------------------------------------ user code where it fires


def rnn(W, U, b, h0, xs):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t] + b)
    return np.sum(h * h)


def _rnn_args(T=7, H=4, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((H, H)) * 0.5, rng.standard_normal((H, H)) * 0.5,
            rng.standard_normal(H) * 0.1, rng.standard_normal(H) * 0.1,
            rng.standard_normal((T, H)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_rnn_weight_gradients_are_one_product_after_the_loop(backend):
    _check(rnn, _rnn_args(), (0, 1, 2, 3, 4), backend, hoisted=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_empty_sequence_leaves_zero_gradients_of_the_weights_shape(backend):
    args = _rnn_args(T=0)
    got = _grad(rnn, (0, 1), backend)(*args)
    for g, w in zip(got, args[:2]):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_array_equal(g, 0.0)


def layered(Ws, x):
    """A stack of layers, each applied over a short sequence (nested loops), with a print."""
    h = x
    for layer in range(Ws.shape[0]):
        W = Ws[layer]
        for _ in range(3):
            h = np.sin(W @ h)
        print("layer", layer, "norm", np.sqrt(np.sum(h * h)))
    return np.sum(h)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_loops_over_layers_and_steps(backend):
    rng = np.random.default_rng(1)
    _check(layered, (rng.standard_normal((2, 3, 3)) * 0.5, rng.standard_normal(3)), (0, 1),
           backend, hoisted=True)


def row_broadcast(w, b, h0, steps):
    """w is one row: `w @ h` has shape (1,) and is stretched over h by `+ b`."""
    h = h0
    for _ in range(steps):
        h = np.tanh(w @ h + b)
    return np.sum(h ** 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_broadcast_product_still_matches(backend):
    rng = np.random.default_rng(2)
    args = (rng.standard_normal((1, 4)) * 0.5, rng.standard_normal(4) * 0.3,
            rng.standard_normal(4), 5)
    df = _grad(row_broadcast, (0, 1, 2), backend)
    got = df(*args)
    for k in range(3):
        np.testing.assert_allclose(got[k], numerical_grad(row_broadcast, args, wrt=k),
                                   rtol=1e-6, atol=1e-8)


# ------------------------------------------------------- user code where it must not fire


def decayed(W, h0, steps):
    """The weights change inside the loop: their adjoint is read on every step."""
    h = h0
    for _ in range(steps):
        h = np.tanh(W @ h)
        W = W * 0.9
    return np.sum(h)


@pytest.mark.parametrize("backend", BACKENDS)
def test_adjoint_read_in_the_loop_is_not_hoisted(backend):
    rng = np.random.default_rng(3)
    args = (rng.standard_normal((3, 3)) * 0.5, rng.standard_normal(3), 4)
    _check(decayed, args, (0, 1), backend, hoisted=False)


def stop_early(W, h0, steps):
    h = h0
    for _ in range(steps):
        h = np.tanh(W @ h)
        if np.sum(h) > 1.5:
            break
    return np.sum(h * h)


@pytest.mark.parametrize("backend", ["python"])
@pytest.mark.parametrize("scale", [0.3, 3.0])
def test_early_break_matches(backend, scale):
    """Either way the loop stops (early or after every step) the gradient is right."""
    rng = np.random.default_rng(4)
    args = (rng.standard_normal((3, 3)) * scale, np.abs(rng.standard_normal(3)), 6)
    df = _grad(stop_early, (0, 1), backend)
    got = df(*args)
    for k in range(2):
        np.testing.assert_allclose(got[k], numerical_grad(stop_early, args, wrt=k),
                                   rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------- the pass on its own


def _func(src: str) -> gast.FunctionDef:
    return gast.parse(textwrap.dedent(src)).body[0]


def _run(func, *args):
    text = astor.to_source(gast.gast_to_ast(gast.Module(body=[func], type_ignores=[])))
    scope = {"np": np, "add_at": add_at, "add_outers": add_outers, "zeros_like": zeros_like}
    exec(text, scope)  # noqa: S102 (test code written here)
    return scope[func.name](*args)


def _pass(src: str, inplace=frozenset()):
    func = _func(src)
    changed = outers(func.body, set(inplace), set())
    return func, changed


HOISTS = """
    def f(W, hs, dhs):
        dW = zeros_like(W)
        for t in range(len(hs) - 1, -1, -1):
            h = hs[t]
            dz = dhs[t] * (1.0 - np.sum(h * h))
            dW = dW + np.outer(dz, h)
        return dW
    """


def test_pass_fires_and_keeps_the_value():
    rng = np.random.default_rng(5)
    args = (np.zeros((3, 2)), list(rng.standard_normal((4, 2))),
            list(rng.standard_normal((4, 3))))
    before = _run(_func(HOISTS), *args)
    func, changed = _pass(HOISTS)
    assert changed
    np.testing.assert_allclose(_run(func, *args), before, rtol=1e-13)
    assert not any(isinstance(n, gast.Call) and getattr(n.func, "attr", "") == "outer"
                   for n in gast.walk(func))
    assert _run(func, np.zeros((3, 2)), [], []).shape == (3, 2)  # no steps


@pytest.mark.parametrize("src", [
    # the partial sum is read inside the loop
    """
    def f(W, hs, dhs):
        dW = zeros_like(W)
        s = 0.0
        for t in range(len(hs)):
            dW = dW + np.outer(dhs[t], hs[t])
            s = s + np.sum(dW)
        return dW, s
    """,
    # a factor is updated in place by add_at later in the same step
    """
    def f(W, hs, dhs):
        dW = zeros_like(W)
        g = zeros_like(dhs[0])
        for t in range(len(hs)):
            dW = dW + np.outer(g, hs[t])
            g = add_at(g, 0, 1.0)
        return dW
    """,
    # a view of an array add_at updates
    """
    def f(W, hs, dhs):
        dW = zeros_like(W)
        G = zeros_like(np.array(dhs))
        for t in range(len(hs)):
            g = G[0]
            dW = dW + np.outer(g, hs[t])
            G = add_at(G, 0, 1.0)
        return dW
    """,
    # the accumulator's first array is updated in place through a copy of the name
    """
    def f(W, hs, dhs):
        dW = zeros_like(W)
        dW2 = dW
        for t in range(len(hs)):
            dW = dW + np.outer(dhs[t], hs[t])
            dW2 = add_at(dW2, (0, 0), 1.0)
        return dW
    """,
    # an early exit: steps after it are not summed
    """
    def f(W, hs, dhs):
        dW = zeros_like(W)
        for t in range(len(hs)):
            dW = dW + np.outer(dhs[t], hs[t])
            if t == 1:
                break
        return dW
    """,
])
def test_pass_leaves_unsafe_loops_alone(src):
    rng = np.random.default_rng(6)
    args = (np.zeros((3, 2)), list(rng.standard_normal((4, 2))),
            list(rng.standard_normal((4, 3))))
    before = _run(_func(src), *args)
    func, changed = _pass(src)
    assert not changed
    np.testing.assert_allclose(_run(func, *args)[0] if isinstance(before, tuple) else
                               _run(func, *args), before[0] if isinstance(before, tuple)
                               else before)


def test_factor_read_twice_between_writes_goes_on_one_list():
    src = """
    def f(W, V, hs, dhs):
        dW = zeros_like(W)
        dV = zeros_like(V)
        for t in range(len(hs)):
            dz = dhs[t] * 2.0
            dW = dW + np.outer(dz, hs[t])
            dV = dV + np.outer(dz, hs[t] + 1.0)
            dz = dz * 3.0
        return dW, dV
    """
    rng = np.random.default_rng(7)
    args = (np.zeros((3, 2)), np.zeros((3, 2)), list(rng.standard_normal((4, 2))),
            list(rng.standard_normal((4, 3))))
    before = _run(_func(src), *args)
    func, changed = _pass(src)
    assert changed
    text = astor.to_source(gast.gast_to_ast(gast.Module(body=[func], type_ignores=[])))
    assert text.count("_dz_steps.append") == 1, text
    for a, b in zip(_run(func, *args), before):
        np.testing.assert_allclose(a, b, rtol=1e-13)


# ------------------------------------------- shape facts inside loops, writes into arrays


def banded(theta, x):
    """Fill a (K, d, d) array entry by entry (as ADBench's GMM loop form builds Q), then
    use each slice in a loop over points: sizes come from x.shape and a tuple."""
    n = x.shape[0]
    d = x.shape[1]
    K = theta.shape[0]
    dims = (K, d, d)
    Q = np.zeros(dims)
    for k in range(K):
        for j in range(d):
            Q[k, j, j] = np.exp(theta[k, j])
        Q[k, d - 1, 0] = theta[k, 0] * theta[k, 1]
    total = 0.0
    for i in range(n):
        for k in range(K):
            r = Q[k] @ x[i]
            total = total + np.logaddexp(total * 0.1, -0.5 * np.dot(r, r))
    return total + np.sum(Q * Q)


@pytest.mark.parametrize("backend", BACKENDS)
def test_array_filled_in_a_loop_then_used_per_point(backend):
    rng = np.random.default_rng(8)
    args = (rng.standard_normal((2, 3)) * 0.3, rng.standard_normal((4, 3)))
    df = _grad(banded, (0, 1), backend)
    got = df(*args)
    for k in range(2):
        np.testing.assert_allclose(got[k], numerical_grad(banded, args, wrt=k),
                                   rtol=1e-6, atol=1e-8)
    source = tangent_src.source(df, *args)
    # the sizes are known to be numbers and Q to have three axes: no run-time shape helpers
    assert "dot_lhs(" not in source and "matmul_lhs(" not in source, source
    assert "zeros_like(Q)" not in source, source  # no zeros per entry written
