"""optimize/concat_pieces.py (both back ends): the adjoint of np.concatenate along axis 0,
read item by item, as slices of the adjoint. Checked against central finite differences
where it fires and where it must not (another axis, operands rebound in a loop, the adjoint
read whole), and under numba against differences and the Python back end."""
from __future__ import annotations

import textwrap

import astor
import gast
import numpy as np
import pytest
from fdcheck import assert_grad_matches
from numba_checks import checked_source

import tangent_src
from tangent_src.optimize.concat_pieces import concat_pieces
from tangent_src.runtime import pieces

RNG = np.random.default_rng(5)


def _checked(f, args, wrt=0) -> str:
    """The source of the gradient that ran on `args`, checked against finite differences."""
    assert_grad_matches(f, args, wrt, rtol=1e-6, atol=1e-8)
    return tangent_src.source(tangent_src.grad(f, wrt=wrt), *args)


def cell(w, x, h):
    g = np.concatenate((x, h, x, h)) * w
    return np.sum(np.tanh(g) * g)


def test_a_cells_join_is_cut_by_slices():
    w, x, h = RNG.normal(size=10), RNG.normal(size=2), RNG.normal(size=3)
    src = _checked(cell, (w, x, h), wrt=(0, 1, 2))
    assert "pieces(" not in src and "len(x)" in src, src


def test_a_cells_join_under_numba():
    """numba compiles the slices (len of the operands, views of the adjoint): its gradient
    against differences and against the Python back end's."""
    pytest.importorskip("numba")
    w, x, h = RNG.normal(size=10), RNG.normal(size=2), RNG.normal(size=3)
    src = checked_source(cell, (w, x, h), (0, 1, 2), "numba")
    assert "pieces(" not in src and "len(x)" in src, src
    got = tangent_src.grad(cell, wrt=(0, 1, 2), backend="numba")(w, x, h)
    want = tangent_src.grad(cell, wrt=(0, 1, 2))(w, x, h)
    for g, v in zip(got, want):
        np.testing.assert_allclose(g, v, rtol=1e-12, atol=1e-14)


def rows(A, B):
    C = np.concatenate((A, B, A)) * 2.0
    return np.sum(np.sin(C) * C[:, :1])


def test_matrices_of_different_row_counts():
    A, B = RNG.normal(size=(2, 3)), RNG.normal(size=(4, 3))
    src = _checked(rows, (A, B), wrt=(0, 1))
    assert "pieces(" not in src, src


def columns(A, B):
    C = np.concatenate((A, B), axis=1)
    return np.sum(np.sin(C) * C)


def test_another_axis_keeps_pieces():
    A, B = RNG.normal(size=(2, 3)), RNG.normal(size=(2, 1))
    src = _checked(columns, (A, B), wrt=(0, 1))
    assert "pieces(" in src, src


def in_a_loop(x, h):
    total = 0.0
    for _ in range(3):
        g = np.concatenate((x, h))
        h = np.tanh(g[:2] * g[2:4])
        total = total + np.sum(g * g)
    return total


def test_operands_rebound_in_a_loop_keep_pieces():
    """h takes a new array each iteration: the join's lengths must come from the taped
    values, so the rewrite must not fire."""
    x, h = RNG.normal(size=2), RNG.normal(size=2)
    src = _checked(in_a_loop, (x, h), wrt=(0, 1))
    assert "pieces(" in src, src


def with_constants(x):
    g = np.concatenate(([1.0, -2.0], x, x)) * x[0]
    return np.sum(g * g)


def test_a_constant_list_operand():
    x = RNG.normal(size=3)
    _checked(with_constants, (x,))


def test_pass_leaves_an_adjoint_read_whole():
    src = """
        def f(a, b, g):
            t = a, b
            d = pieces(g, t, 'concatenate', 0)
            da = d[0]
            return da, d
        """
    func = gast.parse(textwrap.dedent(src)).body[0]
    assert concat_pieces(func) == 0


def test_pass_before_after_gives_the_same_views():
    src = """
        def f(a, b, g):
            t = a, b, a
            d = pieces(g * 2.0, t, 'concatenate', 0)
            da = d[0] + d[2]
            db = d[1]
            return da, db
        """
    func = gast.parse(textwrap.dedent(src)).body[0]
    assert concat_pieces(func) == 1
    text = astor.to_source(gast.gast_to_ast(func))
    assert "pieces" not in text and "d[d_stop1:d_stop2]" in text, text
    args = (RNG.normal(size=(2, 3)), RNG.normal(size=(1, 3)), RNG.normal(size=(5, 3)))
    scope = {"np": np, "pieces": pieces}
    exec(textwrap.dedent(src), scope)  # noqa: S102 (test code written here)
    want = scope["f"](*args)
    exec(text, scope)  # noqa: S102
    for got, w in zip(scope["f"](*args), want):
        np.testing.assert_array_equal(got, w)


def rebound(x, h):
    for _ in range(2):
        h = np.tanh(h * x[:2])
    g = np.concatenate((x, h)) * 2.0
    return np.sum(g * g) + np.sum(h)


def test_an_operand_rebound_before_the_join():
    x, h = RNG.normal(size=3), RNG.normal(size=2)
    _checked(rebound, (x, h), wrt=(0, 1))



def test_pass_leaves_a_list_that_may_grow():
    """rows may grow after the join (append, or a call that may append): len(rows) read
    later would not be the length joined, so the rewrite must not fire. (Such code fails
    in `pieces` itself today: it reads the grown list too.)"""
    for change in ("rows.append(b)", "grow(rows)"):
        src = f"""
            def f(rows, b, g):
                t = rows, b
                {change}
                d = pieces(g, t, 'concatenate', 0)
                return d[0], d[1]
            """
        func = gast.parse(textwrap.dedent(src)).body[0]
        assert concat_pieces(func) == 0


def joined_lists(x, h, A, B):
    """Lists joined as people write them, `np.concatenate([x, h])` rather than a tuple, and
    a list built by append: numba joins only tuples of arrays (numba_numpy's overloads)."""
    parts = []
    for k in range(3):
        parts.append(x * (k + 1.0))
    z = np.concatenate([x, h]) * np.concatenate(parts)[:5]
    wide = np.concatenate([A, B], axis=-1)
    return np.sum(z * z) + np.sum(wide * np.hstack([A, B])) + np.sum(np.vstack([x, h[:2]]) * A)


def test_lists_joined_under_numba():
    """The joins of lists compile under numba (before: 'No implementation of function
    concatenate'), their adjoints too (`pieces` of a list); against differences."""
    pytest.importorskip("numba")
    args = (RNG.normal(size=2), RNG.normal(size=3), RNG.normal(size=(2, 2)),
            RNG.normal(size=(2, 1)))
    src = checked_source(joined_lists, args, (0, 1, 2, 3), "numba")
    assert "pieces(dconcatenate_parts, parts, 'concatenate', 0)" in src, src
