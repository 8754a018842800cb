"""The analyses on their own, on small core functions written out as source: dataflow
facts (core/dataflow.py), activity (what varies with the inputs, what the result depends
on), shape classes, and what the adjoint sweep reads (analysis/adjoint_reads.py). Each
expected set is worked out by hand from the code shown."""
from __future__ import annotations

import textwrap

import gast
import numpy as np
import pytest

from tangent_src.analysis.activity import useful_names, varied_names
from tangent_src.analysis.adjoint_reads import last_overwrites, read_at_top, same_shape
from tangent_src.analysis.shapes import ARRAY0, DICT, SCALAR, TREE, ShapeInference, shape_class
from tangent_src.core.dataflow import (
    all_names,
    assigned,
    definitely_assigned,
    reads,
    reads_writes,
    upward_exposed,
)


def _body(src: str) -> list:
    return gast.parse(textwrap.dedent(src)).body[0].body


def _resolve(expr):
    """Resolve names against NumPy for these tests (`np.sin` -> numpy.sin)."""
    parts = []
    while isinstance(expr, gast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, gast.Name):
        return None
    obj = {"np": np, "len": len, "range": range}.get(expr.id)
    for part in reversed(parts):
        obj = getattr(obj, part, None)
    return obj


BRANCHY = """
def f(x, n):
    a = x * 2.0
    if n > 0:
        b = np.sin(a)
        c = b
    else:
        b = np.cos(a)
    for i in range(n):
        d = b + c
    return b
"""


def test_reads_and_writes():
    body = _body(BRANCHY)
    assert reads_writes(body[0]) == ({"x"}, {"a"})
    assert reads(body) == {"x", "n", "a", "np", "b", "c", "range"}
    assert assigned(body) == {"a", "b", "c", "i", "d"}
    assert all_names(body[0]) == {"a", "x"}


def test_definitely_assigned_takes_both_arms_and_no_loop():
    body = _body(BRANCHY)
    # c only on one arm of the if; i and d only in a loop that may run zero times
    assert definitely_assigned(body) == ["a", "b"]


def test_upward_exposed_are_the_names_read_before_they_are_assigned():
    body = _body(BRANCHY)
    # c is read in the loop but assigned only when n > 0: it may be read unassigned
    assert upward_exposed(body) == {"x", "n", "np", "range", "c"}
    assert upward_exposed(body, {"c"}) == {"x", "n", "np", "range"}


def test_activity_forward_and_backward():
    body = _body("""
    def f(x, w, n):
        t = x * w
        k = n + 1
        m = np.sin(t)
        s = np.floor(m)
        u = m > 0.0
        y = m * k
        return y
    """)
    varied = varied_names(body[:-1], {"x"}, _resolve)
    # k comes from n only; floor has zero derivative; a comparison is not a value
    assert varied == {"x", "t", "m", "y"}
    useful = useful_names(body[:-1], "y", _resolve)
    assert {"y", "m", "t", "x", "w"} <= useful
    assert "s" not in useful and "u" not in useful


@pytest.mark.parametrize("value, expected", [
    (2.0, SCALAR), (3, SCALAR), (np.float32(1.0), SCALAR), (np.array(1.5), ARRAY0),
    (np.ones((2, 3)), ("N", "N")), (np.ones((1, 4)), ("1", "N")), ({"W": 1.0}, DICT),
    ([np.ones(2), 1.0], TREE),
])
def test_shape_class_of_arguments(value, expected):
    assert shape_class(value) == expected


def test_shape_inference_broadcasts_and_reduces():
    func = gast.parse(textwrap.dedent("""
    def f(X, b, s):
        z = X + b
        t = np.sum(z)
        u = z * s
        r = np.sum(z, axis=0)
        return u
    """)).body[0]
    classes = ShapeInference(_resolve).run(func, {"X": ("N", "N"), "b": ("N",), "s": SCALAR})
    assert classes["z"] == ("N", "N")
    assert classes["t"] == SCALAR
    assert classes["u"] == ("N", "N")
    assert classes["r"] == ("N",)


def test_what_the_adjoint_sweep_reads():
    body = _body("""
    def f(x, xs):
        q = np.exp(x)
        log_q = np.log(q)
        for v in xs:
            h = v * q
        y = log_q + q
        return y
    """)
    # names read directly in the block (not inside its loop)
    assert read_at_top(body) == {"np", "x", "q", "log_q"}
    # log_q = np.log(q) keeps q's shape: its adjoint's shape can be read from q
    assert same_shape(body, _resolve).get("log_q") == "q"


def test_values_a_nested_loop_leaves_are_kept_where_it_ends():
    body = _body("""
    def f(x, xs):
        q = np.exp(x)
        for v in xs:
            q = q * v
            h = v * q
        y = q + 1.0
        return y
    """)
    after_loop = id(body[2])  # `y = q + 1.0` reads the q the loop leaves
    assert last_overwrites(body, set()) == {after_loop: ["h", "q", "v"]}
    assert last_overwrites(body, {"q"}) == {after_loop: ["h", "v"]}  # q is taped anyway
    assert last_overwrites(body[:1], set()) == {}
