"""Each optimizer pass on its own: a before/after pair of source, and both versions run
on the same inputs to the same values (a pass may only change how code reads)."""
from __future__ import annotations

import textwrap
import warnings

import astor
import gast
import numpy as np
import pytest

from tangent_src import optimize as opt
from tangent_src.core.tables import ACCUMULATION
from tangent_src.errors import OptimizerWarning
from tangent_src.optimize.accumulate import accumulate_in_place, own_accumulators
from tangent_src.optimize.algebra import algebra
from tangent_src.optimize.coalesce import coalesce
from tangent_src.optimize.copies import copies
from tangent_src.optimize.dead_code import dead_code, live_before
from tangent_src.optimize.inline import inline
from tangent_src.optimize.markers import drop_empty_markers
from tangent_src.optimize.tiled_slices import tiled_slices
from tangent_src.optimize.zeros import zeros
from tangent_src.runtime import add_at, copy_of, zeros_like


def _func(src: str) -> gast.FunctionDef:
    return gast.parse(textwrap.dedent(src)).body[0]


def _text(func) -> str:
    return astor.to_source(gast.gast_to_ast(gast.Module(body=[func], type_ignores=[])))


def _run(src_or_func, *args):
    text = src_or_func if isinstance(src_or_func, str) else _text(src_or_func)
    scope = {"np": np, "add_at": add_at, "copy_of": copy_of, "zeros_like": zeros_like}
    exec(textwrap.dedent(text), scope)  # noqa: S102 (test code written here)
    name = next(k for k in scope if k not in ("np", "add_at", "copy_of", "zeros_like",
                                              "__builtins__"))
    return scope[name](*args)


RNG_PASSES = np.random.default_rng(7)

CASES = [
    # (pass, inplace, protected, before, after)
    (zeros, set(), set(), """
        def f(x, dy):
            dx = zeros_like(x)
            dx = dx + dy * 2.0
            return dx
        """, """
        def f(x, dy):
            dx = zeros_like(x)
            dx = dy * 2.0
            return dx
        """),
    (coalesce, set(), {"dW"}, """
        def f(dz, x):
            dW_predict = np.outer(dz, x)
            dW = dW_predict
            return dW
        """, """
        def f(dz, x):
            dW = np.outer(dz, x)
            return dW
        """),
    (copies, set(), set(), """
        def f(b):
            a = b
            y = a * 2.0
            return y
        """, """
        def f(b):
            a = b
            y = b * 2.0
            return y
        """),
    (dead_code, set(), set(), """
        def f(x):
            t = np.sin(x)
            u = t * 2.0
            _t = []
            _t.append(x)
            return t
        """, """
        def f(x):
            t = np.sin(x)
            return t
        """),
    (inline, set(), {"dx"}, """
        def f(x, dy):
            t = dy * 2.0
            dx = np.cos(x) * t
            return dx
        """, """
        def f(x, dy):
            dx = np.cos(x) * (dy * 2.0)
            return dx
        """),
    (algebra, set(), set(), """
        def f(dy):
            dx = dy * 1.0 + 0.0
            dz = -(-dx) * (2 - 1)
            return dz
        """, """
        def f(dy):
            dx = dy
            dz = dx
            return dz
        """),
    (tiled_slices, set(), set(), """
        def f(x, dy):
            t = x.shape
            n = t[0]
            two_n = 2 * n
            dx = np.zeros_like(np.concatenate((x, x, x)))
            dx = add_at(dx, slice(two_n, None), dy * 2.0)
            dx = add_at(dx, slice(n, two_n), np.cos(dy))
            dx = add_at(dx, slice(0, n), np.sin(dy))
            return dx
        """, """
        def f(x, dy):
            t = x.shape
            n = t[0]
            two_n = 2 * n
            dx = np.concatenate((np.sin(dy), np.cos(dy), dy * 2.0))
            return dx
        """),
]


@pytest.mark.parametrize("pass_, inplace, protected, before, after", CASES,
                         ids=[c[0].__name__ for c in CASES])
def test_pass_before_after(pass_, inplace, protected, before, after):
    func = _func(before)
    assert pass_(func.body, inplace, protected) is True
    assert _text(func).strip() == textwrap.dedent(after).strip()
    assert pass_(func.body, inplace, protected) is False  # settled: nothing left to do
    args = [np.array([0.3, -1.2, 2.0]), np.array([1.5, 0.25, -0.75])][
        :len(func.args.args)]
    np.testing.assert_allclose(_run(func, *args), _run(before, *args), rtol=0, atol=0)


def test_inplace_adjoints_are_left_alone():
    """An adjoint updated by add_at keeps its own array: no zero or copy propagation."""
    src = """
        def f(x, dy):
            dx = zeros_like(x)
            dx = dx + dy
            return dx
        """
    func = _func(src)
    assert zeros(func.body, {"dx"}, set()) is False
    func = _func("""
        def f(b):
            a = b
            y = a * 2.0
            return y
        """)
    assert copies(func.body, {"a"}, set()) is False


def test_inline_stops_at_a_write_of_what_it_reads():
    func = _func("""
        def f(x):
            t = x * 2.0
            x = x + 1.0
            y = t * x
            return y
        """)
    inline(func.body, set(), set())
    assert "t = x * 2.0" in _text(func)  # not moved past `x = x + 1.0`
    assert _run(func, 3.0) == 6.0 * 4.0


def test_dead_code_keeps_pops_of_peeked_tapes_and_live_loops():
    func = _func("""
        def f(n):
            s = 0.0
            k = 0.0
            for i in range(n):
                s = s + k
                k = k + 1.0
            return s
        """)
    assert dead_code(func.body, set(), set()) is False
    assert _run(func, 4) == 0.0 + 1.0 + 2.0 + 3.0
    assert live_before(func.body[2:], {"unused"}) >= {"n", "s", "k"}


def test_accumulate_in_place_only_for_owned_arrays():
    func = _func("""
        def f(xs):
            acc = np.zeros(3)
            for x in xs:
                acc = acc + x
            return acc
        """)
    loop = func.body[1]
    ACCUMULATION[loop.body[0]] = True  # an adjoint's accumulation: only those become +=
    accumulate_in_place(func.body, set())
    assert "acc += x" in _text(func)
    xs = [np.arange(3.0), np.ones(3)]
    np.testing.assert_array_equal(_run(func, xs), np.arange(3.0) + 1.0)
    shared = _func("""
        def f(xs, acc):
            for x in xs:
                acc = acc + x
            return acc
        """)
    ACCUMULATION[shared.body[0].body[0]] = True
    accumulate_in_place(shared.body, {"acc"})
    assert "+=" not in _text(shared)


def test_own_accumulators_copies_a_parameter_before_add_at():
    func = _func("""
        def f(g, i):
            acc = add_at(g, i, 1.0)
            return acc
        """)
    own_accumulators(func)
    assert "copy_of(g)" in _text(func)
    g = np.zeros(3)
    out = _run(func, g, 1)
    np.testing.assert_array_equal(out, [0.0, 1.0, 0.0])
    np.testing.assert_array_equal(g, np.zeros(3))  # the caller's array is untouched


def test_drop_empty_markers():
    marker = lambda v: gast.Expr(value=gast.Constant(value=("__line__", v), kind=None))  # noqa: E731
    func = _func("""
        def f(x):
            y = x
            return y
        """)
    func.body = [marker(3), marker(4), func.body[0], marker(4), marker(5), func.body[1]]
    drop_empty_markers(func.body)
    kept = [s.value.value[1] for s in func.body if isinstance(s, gast.Expr)]
    assert kept == [4]


def test_reaching_the_round_limit_is_reported(monkeypatch):
    calls = []

    def restless(body, inplace, protected):
        calls.append(1)
        return True

    monkeypatch.setattr(opt, "PASSES", (restless,))
    func = _func("""
        def f(x):
            return x
        """)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rounds = opt.optimize(func, set(), set())
    assert rounds == opt.MAX_ROUNDS == len(calls)
    assert [w.category for w in caught] == [OptimizerWarning]


def test_a_settled_function_takes_one_round_and_no_warning():
    func = _func("""
        def f(x):
            return np.sin(x)
        """)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert opt.optimize(func, set(), set()) == 1


def test_join_slices_and_exact_calls_before_after():
    """join_slices: column blocks added into zeros become one join (values held where they
    were added); exact_calls: np.cross becomes runtime cross3. Both versions agree."""
    from tangent_src.optimize.exact_calls import exact_calls
    from tangent_src.optimize.tiled_slices import join_slices
    from tangent_src.runtime import cross3
    from tangent_src.runtime import join_slices as join_rt
    before = """
        def f(x, g, h, a, b):
            dx = np.zeros_like(x)
            dx = add_at(dx, (slice(None, None), slice(2, 5)), g * 2.0)
            t = np.cross(a, b)
            dx = add_at(dx, (slice(None, None), slice(0, 2)), h + t[:, 0:2])
            return dx
        """
    func = _func(before)
    assert join_slices(func.body) and exact_calls(func.body)
    text = _text(func)
    assert "dx_2_5 = g * 2.0" in text and "cross3(a, b)" in text, text
    assert "join_slices(x, 1, ((0, 2), (2, 5)), h + t[:, 0:2], dx_2_5)" in text, text
    args = (np.ones((4, 5)), RNG_PASSES.normal(size=(4, 3)), RNG_PASSES.normal(size=(4, 2)),
            RNG_PASSES.normal(size=(4, 3)), RNG_PASSES.normal(size=(4, 3)))
    scope = {"np": np, "add_at": add_at, "join_slices": join_rt, "cross3": cross3}
    exec(textwrap.dedent(before), scope)  # noqa: S102 (test code written here)
    want = scope["f"](*args)
    exec(text, scope)  # noqa: S102
    np.testing.assert_array_equal(scope["f"](*args), want)


@pytest.mark.parametrize("src", [
    # a gap (column 2 never added): no join
    """
    def f(x, g, h):
        dx = np.zeros_like(x)
        dx = add_at(dx, (slice(None, None), slice(0, 2)), g)
        dx = add_at(dx, (slice(None, None), slice(3, 5)), h)
        return dx
    """,
    # dx read between the additions
    """
    def f(x, g, h):
        dx = np.zeros_like(x)
        dx = add_at(dx, (slice(None, None), slice(0, 2)), g)
        s = np.sum(dx)
        dx = add_at(dx, (slice(None, None), slice(2, 5)), h * s)
        return dx
    """,
    # a held value's array added into before the join
    """
    def f(x, g, h):
        dx = np.zeros_like(x)
        dx = add_at(dx, (slice(None, None), slice(0, 2)), g)
        g = add_at(g, 0, h[:, 0:2])
        dx = add_at(dx, (slice(None, None), slice(2, 5)), h)
        return dx
    """,
])
def test_join_slices_leaves_what_it_cannot_prove(src):
    from tangent_src.optimize.tiled_slices import join_slices
    assert join_slices(_func(src).body) is False
