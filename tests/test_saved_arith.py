"""transform/saved_arith.py (the numba back end): a split callee's cheap elementwise saved
value computed again by its backward half instead of saved; saved_lengths.py: the length
of an array the backward half reads only the length of, saved instead of the array. The
passes on their own, where they fire and where they must not (a name rebound or written
into, an operand aliased, passed on, a parameter or not saved, not elementwise arithmetic,
a chain; a name read as a value, assigned, maybe unbound); under numba against central
differences in test_saved_views.py (one compile for all three passes)."""
from __future__ import annotations

import textwrap

import gast
import numpy as np
import pytest

from tangent_src.transform.saved_arith import saved_arith
from tangent_src.transform.saved_lengths import length_only, read_lengths

FORWARD = textwrap.dedent("""
    e = np.exp(x)
    t = 1.0 + e
    s = 1.0 / t
    """)
BACKWARD = textwrap.dedent("""
    dx = g * (s / t) * e
    """)
SAVED = ["e", "s", "t"]


def _run(forward: str, backward: str, saved=SAVED, params=frozenset({"x", "g"})):
    return saved_arith(gast.parse(textwrap.dedent(forward)).body,
                       gast.parse(textwrap.dedent(backward)).body, list(saved), set(params))


def test_pass_computes_the_sum_again():
    again, kept = _run(FORWARD, BACKWARD)
    assert kept == ["e", "s"]
    assert [gast.unparse(s).strip() for s in again] == ["t = 1.0 + e"]


def test_computed_again_gives_the_same_bits():
    # what the backward half computes again equals, bit for bit, what it would have saved
    x = np.random.default_rng(3).normal(size=1000)
    e = np.exp(x)
    t = 1.0 + e
    (stmt,), _ = _run(FORWARD, BACKWARD)
    scope = {"e": e, "np": np}
    exec(compile(gast.gast_to_ast(gast.Module(body=[stmt], type_ignores=[])), "<t>", "exec"),
         scope)
    assert np.array_equal(scope["t"], t)


@pytest.mark.parametrize("forward, backward, saved", [
    (FORWARD + "t = t * 2.0\n", BACKWARD, SAVED),                 # t rebound
    (FORWARD + "e = e * 2.0\n", BACKWARD, SAVED),                 # an operand rebound
    (FORWARD + "e[0] = 2.0\n", BACKWARD, SAVED),                  # an operand written into
    (FORWARD + "t[0] = 2.0\n", BACKWARD, SAVED),                  # t written into
    (FORWARD + "y = e\n", BACKWARD, SAVED),                       # an operand aliased
    (FORWARD + "y = (e, s)\n", BACKWARD, SAVED),                  # put in a container
    (FORWARD + "f(e)\n", BACKWARD, SAVED),                        # passed elsewhere
    (FORWARD, BACKWARD + "e = g\n", SAVED),                       # rebound in the backward
    (FORWARD, BACKWARD + "add_at(e, 0, g)\n", SAVED),             # written by a helper
    (FORWARD, BACKWARD, ["s", "t"]),                              # operand not saved
    (FORWARD.replace("1.0 + e", "1.0 + x"), BACKWARD.replace("* e", "* x"),
     ["s", "t", "x"]),                                            # operand a parameter
    (FORWARD.replace("1.0 + e", "np.exp(e)"), BACKWARD, SAVED),   # not elementwise
    (FORWARD.replace("1.0 + e", "e ** 2"), BACKWARD, SAVED),      # not + - * /
    (FORWARD.replace("e = np.exp(x)", "e = x[0:3]"), BACKWARD, SAVED),  # a view
    (FORWARD.replace("e = np.exp(x)", "e = f(x)"), BACKWARD, SAVED),    # maybe not fresh
])
def test_pass_leaves_what_it_cannot_compute_again(forward, backward, saved):
    again, kept = _run(forward, backward, saved)
    # (s = 1.0 / t may be computed again from a saved t: exact, and not what is tested)
    assert "t" not in [stmt.targets[0].id for stmt in again]
    assert set(kept) | {stmt.targets[0].id for stmt in again} == set(saved)


def test_a_chain_is_computed_again_from_its_first_link_only():
    forward = FORWARD + "u = t * 2.0\n"
    again, kept = _run(forward, BACKWARD + "dy = g * u\n", SAVED + ["u"])
    assert [gast.unparse(s).strip() for s in again] == ["t = 1.0 + e"]
    assert kept == ["e", "s", "u"]


LENGTHS = textwrap.dedent("""
    stop1 = len(x)
    stop2 = stop1 + len(y)
    dx = g[:stop1] * z
    """)


def test_lengths_read_instead_of_the_arrays():
    statements = gast.parse(LENGTHS).body
    names = length_only(statements, ["x", "y", "z"], {"x", "y", "z"})
    assert names == ["x", "y"]  # z is read as a value
    rewritten = read_lengths(statements, {n: n + "_len" for n in names})
    assert [gast.unparse(s).strip() for s in rewritten[:2]] == [
        "stop1 = x_len", "stop2 = stop1 + y_len"]


@pytest.mark.parametrize("extra, bound", [
    ("w = x * 2.0\n", {"x", "y"}),            # read as a value too
    ("x = g\n", {"x", "y"}),                  # assigned in the backward half
    ("n = len(x[0])\n", {"x", "y"}),          # a part's length
    ("", {"y"}),                              # maybe unbound in the forward half
])
def test_lengths_left_where_not_only_lengths(extra, bound):
    statements = gast.parse(LENGTHS + extra).body
    assert length_only(statements, ["x", "y"], bound) == ["y"]
