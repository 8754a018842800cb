"""Slice adjoints that tile an array become one np.concatenate (optimize/tiled_slices.py),
and only then: slices that overlap, leave a gap, have bounds not known to be in order, or
whose values or accumulator something else touches in between keep their add_at. Each
case runs before and after the pass; the LSTM-like gradients are checked against central
finite differences."""
from __future__ import annotations

import textwrap

import astor
import gast
import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.optimize.tiled_slices import tiled_slices
from tangent_src.runtime import add_at

RNG = np.random.default_rng(2814)


def _apply(src: str) -> tuple[bool, str]:
    func = gast.parse(textwrap.dedent(src)).body[0]
    changed = tiled_slices(func.body, set(), set())
    return changed, astor.to_source(gast.gast_to_ast(gast.Module(body=[func],
                                                                 type_ignores=[])))


def _call(text: str, *args):
    scope = {"np": np, "add_at": add_at}
    exec(textwrap.dedent(text), scope)  # noqa: S102 (test code written here)
    return scope["f"](*args)


UNCHANGED = {
    "overlap": """
        def f(x, dy):
            n = x.shape[0]
            dx = np.zeros_like(np.concatenate((x, x)))
            dx = add_at(dx, slice(0, n), dy)
            dx = add_at(dx, slice(0, None), np.concatenate((dy, dy)))
            return dx
        """,
    "gap": """
        def f(x, dy):
            n = x.shape[0]
            two_n = 2 * n
            dx = np.zeros_like(np.concatenate((x, x, x)))
            dx = add_at(dx, slice(0, n), dy)
            dx = add_at(dx, slice(two_n, None), dy)
            return dx
        """,
    "bound maybe negative": """
        def f(x, dy):
            n = x.shape[0]
            m = n - 1
            dx = np.zeros_like(x)
            dx = add_at(dx, slice(0, m), dy[0:m])
            dx = add_at(dx, slice(m, None), dy[m:])
            return dx
        """,
    "bound rebound": """
        def f(x, dy):
            n = x.shape[0]
            for k in range(1):
                n = x.shape[0]
            dx = np.zeros_like(np.concatenate((x, x)))
            dx = add_at(dx, slice(n, None), dy)
            dx = add_at(dx, slice(0, n), dy * 2.0)
            return dx
        """,
    "accumulator read between": """
        def f(x, dy):
            n = x.shape[0]
            dx = np.zeros_like(np.concatenate((x, x)))
            dx = add_at(dx, slice(n, None), dy)
            s = np.sum(dx)
            dx = add_at(dx, slice(0, n), dy * s)
            return dx
        """,
    "value rebound between": """
        def f(x, dy):
            n = x.shape[0]
            dx = np.zeros_like(np.concatenate((x, x)))
            dx = add_at(dx, slice(n, None), dy)
            dy = dy * 3.0
            dx = add_at(dx, slice(0, n), dy)
            return dx
        """,
}


@pytest.mark.parametrize("name", list(UNCHANGED))
def test_pieces_that_do_not_tile_keep_their_adds(name):
    changed, _ = _apply(UNCHANGED[name])
    assert not changed
    x, dy = RNG.normal(size=3), RNG.normal(size=3)
    _call(UNCHANGED[name], x, dy)  # (runs)


def test_tiling_pieces_in_a_loop_body_give_the_same_values():
    src = """
        def f(x, dy):
            n = x.shape[0]
            two_n = n + n
            total = np.zeros(3 * n)
            for k in range(3):
                dx = np.zeros_like(np.concatenate((x, x, x)))
                dx = add_at(dx, slice(n, two_n), dy * k)
                dx = add_at(dx, slice(two_n, None), np.cos(dy))
                dx = add_at(dx, slice(None, n), np.sin(dy))
                total = total + dx * (k + 1.0)
            return total
        """
    changed, after = _apply(src)
    assert changed and "np.concatenate((np.sin(dy), dy * k, np.cos(dy)))" in after, after
    x, dy = RNG.normal(size=4), RNG.normal(size=4)
    np.testing.assert_array_equal(_call(after, x, dy), _call(src, x, dy))


def sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def gates(w, h, x):
    """Gates read as slices of one vector, of unequal sizes (two of n, one the rest)."""
    n = h.shape[0]
    g = np.concatenate((x, h)) * w
    a = sigmoid(g[0:n])
    b = np.tanh(g[n:2 * n])
    c = g[2 * n:]
    return np.sum(a * b * h) + np.sum(c ** 2)


@pytest.mark.parametrize("n_h, n_x", [(3, 4), (3, 3), (2, 1), (1, 5)])
def test_gate_adjoints_match_finite_differences(n_h, n_x):
    args = (RNG.normal(size=n_h + n_x), RNG.normal(size=n_h), RNG.normal(size=n_x))
    df = tangent_src.grad(gates, wrt=(0, 1, 2))
    for got, want in zip(df(*args), numerical_grad(gates, args, (0, 1, 2))):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    if n_h > 1:
        assert "dg = np.concatenate((" in df.source, df.source


def row_blocks(W, v):
    """Blocks of rows of a matrix (the first axis), bounds from another array's size."""
    n = v.shape[0]
    top = np.tanh(W[0:n] @ v)
    rest = W[n:] * 2.0
    return np.sum(top ** 2) + np.sum(np.sin(rest))


@pytest.mark.parametrize("rows", [5, 3, 2])
def test_row_blocks_of_a_matrix_match_finite_differences(rows):
    """rows == 2 < n: W[0:n] is all of W and W[n:] is empty; they still tile."""
    args = (RNG.normal(size=(rows, 3)), RNG.normal(size=3))
    df = tangent_src.grad(row_blocks, wrt=(0, 1))
    for got, want in zip(df(*args), numerical_grad(row_blocks, args, (0, 1))):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)
    assert "np.concatenate((" in df.source, df.source
