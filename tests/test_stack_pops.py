"""optimize/stack_pops.py (both back ends): the adjoint of np.stack of a list, popped row by
row, read as rows of the adjoint; and numba's add_at of a vector into a matrix row (a loop,
no views). Checked against central finite differences where the rewrite fires, under both
back ends, and where it must not (the list read otherwise, another axis, a pop with an
argument); the pass's before and after run on the same arrays give the same rows."""
from __future__ import annotations

import textwrap

import astor
import gast
import numpy as np
import pytest
from fdcheck import assert_grad_matches
from numba_checks import checked_source

import tangent_src
from tangent_src.optimize.stack_pops import stack_pops
from tangent_src.runtime import pieces

RNG = np.random.default_rng(12)


def stacked(W, x):
    rows = []
    h = x
    for i in range(W.shape[0]):
        h = np.tanh(W[i] * h)
        rows.append(h)
        rows.append(h * x)
    S = np.stack(rows)
    return np.sum(S * S * np.arange(1.0, S.shape[0] + 1)[:, None]) + np.sum(h)


def test_a_stacked_lists_adjoint_is_read_as_rows():
    W, x = RNG.normal(size=(3, 4)), RNG.normal(size=4)
    assert_grad_matches(stacked, (W, x), (0, 1), rtol=1e-6, atol=1e-8)
    src = tangent_src.source(tangent_src.grad(stacked, wrt=(0, 1)), W, x)
    assert "pieces(" not in src and "_left - 1" in src, src


def test_a_stacked_lists_adjoint_under_numba():
    """numba compiles the rows read by a counter (and add_at of W[i]'s adjoint, a vector
    into a matrix row): against differences and the Python back end's gradient."""
    pytest.importorskip("numba")
    W, x = RNG.normal(size=(3, 4)), RNG.normal(size=4)
    src = checked_source(stacked, (W, x), (0, 1), "numba")
    assert "pieces(" not in src and "_left - 1" in src, src
    got = tangent_src.grad(stacked, wrt=(0, 1), backend="numba")(W, x)
    want = tangent_src.grad(stacked, wrt=(0, 1))(W, x)
    for g, v in zip(got, want):
        np.testing.assert_allclose(g, v, rtol=1e-12, atol=1e-14)


def test_numba_add_at_of_a_row():
    """add_at(acc, k, g) for a matrix acc and a vector g, compiled by numba: NumPy's
    `acc[k] += g` (a negative k too, and a one-entry g that broadcasts)."""
    numba = pytest.importorskip("numba")
    from tangent_src import runtime as rt
    from tangent_src.backend.numba import require_numba
    require_numba()
    jitted = numba.njit(lambda acc, k, g: rt.add_at(acc, k, g))
    for k, g in ((1, RNG.normal(size=4)), (-1, RNG.normal(size=4)),
                 (0, RNG.normal(size=1))):
        acc = RNG.normal(size=(3, 4))
        want = acc.copy()
        want[k] += g
        np.testing.assert_array_equal(jitted(acc, k, g), want)


def test_pass_before_after_gives_the_same_rows():
    src = """
        def f(rows, g):
            d = pieces(g * 2.0, rows, 'stack', 0)
            out = []
            for _ in range(len(rows)):
                r = d.pop()
                out.append(r * 1.0)
            return out
        """
    func = gast.parse(textwrap.dedent(src)).body[0]
    assert stack_pops(func) == 1
    text = astor.to_source(gast.gast_to_ast(func))
    assert "pieces" not in text and "d[d_left]" in text, text
    rows = [RNG.normal(size=3) for _ in range(4)]
    g = RNG.normal(size=(4, 3))
    scope = {"np": np, "pieces": pieces}
    exec(textwrap.dedent(src), scope)  # noqa: S102 (test code written here)
    want = scope["f"](rows, g)
    exec(text, scope)  # noqa: S102
    got = scope["f"](rows, g)
    assert len(got) == len(want) == 4
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("change", [
    "d.append(g[0])",        # the list read otherwise: its length changes
    "x = d[0]",               # read by index
    "x = d.pop(0)",           # a pop from the front
    "x = len(d)",             # read whole
])
def test_pass_leaves_a_list_read_otherwise(change):
    src = f"""
        def f(rows, g):
            d = pieces(g, rows, 'stack', 0)
            {change}
            r = d.pop()
            return r
        """
    func = gast.parse(textwrap.dedent(src)).body[0]
    assert stack_pops(func) == 0


@pytest.mark.parametrize("call", ["pieces(g, rows, 'stack', 1)",
                                  "pieces(g, rows, 'concatenate', 0)"])
def test_pass_leaves_another_axis_or_a_concatenate(call):
    src = f"""
        def f(rows, g):
            d = {call}
            r = d.pop()
            return r
        """
    func = gast.parse(textwrap.dedent(src)).body[0]
    assert stack_pops(func) == 0


def along_axis_one(x):
    rows = []
    for k in range(3):
        rows.append(np.sin(x * (k + 1.0)))
    S = np.stack(rows, axis=1)
    return np.sum(S * S[:, :1])


def test_a_stack_along_another_axis_keeps_pieces():
    x = RNG.normal(size=4)
    assert_grad_matches(along_axis_one, (x,), 0, rtol=1e-6, atol=1e-8)
