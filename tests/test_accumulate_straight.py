"""optimize/accumulate.py's accumulate_straight: an adjoint's `dx = dx + g` becomes
`dx += g` where dx's array was built fresh in the same block and nothing since could have
kept it; never where dx may share its array. The pass on marked statements before/after,
and gradients against central finite differences."""
from __future__ import annotations

import textwrap

import astor
import gast
import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.core.tables import ACCUMULATION
from tangent_src.optimize.accumulate import accumulate_straight


def _run(src: str) -> str:
    """The pass on `src`, every `x = x + ...` / `x = x - ...` marked as an accumulation."""
    func = gast.parse(textwrap.dedent(src)).body[0]
    for node in gast.walk(func):
        if isinstance(node, gast.Assign) and isinstance(node.value, gast.BinOp) and \
                isinstance(node.value.left, gast.Name) and isinstance(node.targets[0], gast.Name) \
                and node.value.left.id == node.targets[0].id:
            ACCUMULATION[node] = True
    accumulate_straight(func.body)
    return astor.to_source(gast.gast_to_ast(func))


def test_fires_after_a_fresh_value():
    out = _run("""
        def f(a, b, g):
            dx = unbroadcast(a * b, g)
            dx = dx + a * 2.0
            dy = sum_keepdims(dx * b, 1)
            dx = dx - dy
            dz = cross_back(sum_to(cross3(a, b), (3,)))
            dz = dz + g
            return dx, dz
        """)
    assert "dx += a * 2.0" in out and "dx -= dy" in out and "dz += g" in out


@pytest.mark.parametrize("between", [
    "keep = dx",                       # another name holds the array
    "view = dx[0]",                    # a view of it
    "_tape.append(dx)",                # a tape keeps it
    "other = unbroadcast(dx, g)",      # may be returned as is
    "pair = dx, g",                    # a tuple keeps it
    "if g:\n                dx2 = dx",  # a compound statement reads it
])
def test_must_not_fire_where_the_array_may_be_shared(between):
    out = _run(f"""
        def f(a, b, g, _tape):
            dx = a * b
            {between}
            dx = dx + g
            return dx
        """)
    assert "dx += g" not in out and "dx = dx + g" in out


@pytest.mark.parametrize("start", ["dx = a", "dx = unbroadcast(a, g)", "dx = a[0:2]",
                                   "dx = f(a)", "dx = unreduce(g, a)"])
def test_must_not_fire_after_a_value_it_does_not_own(start):
    out = _run(f"""
        def f(a, g):
            {start}
            dx = dx + g
            return dx
        """)
    assert "dx += g" not in out


def test_must_not_fire_without_a_definition_in_the_block():
    out = _run("""
        def f(a, g, n):
            dx = a * 2.0
            for i in range(n):
                dx = dx + g
            dx = dx + a
            return dx
        """)
    # (the loop's own accumulation is accumulate_in_place's: it knows the loop)
    assert "dx = dx + g" in out and "dx = dx + a" in out


def rotation_energy(rot, X):
    """BA's pattern: several contributions to each adjoint, views and sums between."""
    sq = np.sum(rot * rot, axis=1, keepdims=True)
    theta = np.sqrt(sq + 1.0)
    w = rot / theta
    d = np.sum(w * X, axis=1, keepdims=True)
    Y = X * np.cos(theta) + np.cross(w, X) * np.sin(theta) + w * (d * (1.0 - np.cos(theta)))
    return np.sum(np.tanh(Y[:, 0:2] / (3.0 + Y[:, 2:3] ** 2)) * w[:, 0:2])


def shared_adjoints(x, y):
    """The adjoint of y starts as the adjoint of z (z = y): y's accumulations must not
    write into z's."""
    z = y
    s = np.sin(x) * z
    t = x * x + y * 3.0
    return np.sum(s * t) + np.sum(z * x)


@pytest.mark.parametrize("f, shapes", [(rotation_energy, ((7, 3), (7, 3))),
                                       (shared_adjoints, ((5,), (5,)))])
def test_gradients_against_finite_differences(f, shapes):
    rng = np.random.default_rng(11)
    args = tuple(rng.standard_normal(s) for s in shapes)
    gradient = tangent_src.grad(f, wrt=(0, 1))
    got = gradient(*args)
    if f is rotation_energy:
        assert "+= " in gradient.source
    want = numerical_grad(f, args, wrt=(0, 1))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)


def test_vjp_reuses_saved_arrays_after_in_place_accumulations():
    """The pullback copies every saved array per call ("deep") only when the backward
    half may write into one it did not build; accumulate_straight's `dx += g` writes into
    arrays built fresh in the same block, so the plan stays "containers"."""
    from tangent_src.pullback import reuse_plan
    from tangent_src.values import arg_classes
    rng = np.random.default_rng(3)
    args = (rng.standard_normal((6, 3)), rng.standard_normal((6, 3)))
    t = tangent_src.autodiff(rotation_energy, mode="reverse", wrt=(0, 1))
    source = t._split(arg_classes(t._sig, args, {}, t._items)).source
    assert "+= " in source
    assert reuse_plan(source) == "containers"
    foreign = textwrap.dedent("""
        def f_bwd(saved, dout):
            x, y = saved
            dx = x
            dx += dout * y
            return dx
        """)
    assert reuse_plan(foreign) == "deep"
    _, pullback = tangent_src.vjp(rotation_energy, *args)
    for _ in range(2):
        got = pullback(1.0)
        for g, w in zip(got, numerical_grad(rotation_energy, args, wrt=(0, 1))):
            np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("body, plan", [
    # direct_numpy's add into a slice of an array the half allocated: no copies needed
    ("dx = np.zeros(x.shape, x.dtype)\ndx[:, 0:2] += dout * y", "containers"),
    # the same add into a saved array: every call must get its own copy
    ("dx = x\ndx[:, 0:2] += dout * y", "deep"),
    ("dx = x[0]\ndx[0:2] += dout", "deep"),
    # a ufunc's reduce builds a new array; a NumPy function rooted at np may still write
    ("dx = np.add.reduce(x, axis=None) + y", "containers"),
    ("dx = (-x).sum(axis=0) + y.sum()", "containers"),  # direct_numpy's method sums read
    ("np.random.shuffle(x)\ndx = x + y", "deep"),
])
def test_reuse_plan_of_element_adds(body, plan):
    from tangent_src.pullback import reuse_plan
    source = "def f_bwd(saved, dout):\n    x, y = saved\n" + textwrap.indent(body, "    ") + \
        "\n    return dx\n"
    assert reuse_plan(source) == plan
