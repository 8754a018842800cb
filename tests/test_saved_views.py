"""transform/saved_views.py (the numba back end): a split callee's slices of a saved array
taken again by its backward half instead of saved (and, in the same compile,
saved_arith.py's `1.0 + exp(...)` computed again and saved_lengths.py's `len(h)` saved;
their unit tests: test_saved_arith.py).
Checked under numba against central finite differences and the Python back end where it
fires, and where it must not (the sliced name a parameter or not an array's arithmetic,
not saved anyway, rebound; a bound rebound later; the view assigned in the backward half)."""
from __future__ import annotations

import textwrap

import gast
import numpy as np
import pytest
from numba_checks import checked_source

import tangent_src
from tangent_src.transform.saved_views import saved_views

RNG = np.random.default_rng(14)


def gates(w, h):
    s = 1.0 / (1.0 + np.exp(-w * np.concatenate((h, h))))
    n = h.shape[0]
    a = s[0:n]
    c = s[n:2 * n]
    return a * c * s[0:n] + h


def model(w, h):
    total = 0.0
    for _ in range(3):
        h = gates(w, h)
        total = total + np.sum(h * h)
    return total


def test_gate_slices_are_taken_again_under_numba():
    pytest.importorskip("numba")
    w, h = RNG.normal(size=6), RNG.normal(size=3)
    src = checked_source(model, (w, h), (0, 1), "numba")
    bwd = src[src.index("def gates_bwd"):]
    assert "a = s[0:n]" in bwd and "c = s[n:2 * n]" in bwd, src
    # and 1 + exp(...) computed again (saved_arith.py), not saved
    saved = src[src.index("def gates_fwd"):src.index("def gates_bwd")].split("return")[-1]
    assert "one_plus_exp_t2 = 1.0 + exp_t2" in bwd and "one_plus" not in saved, src
    # and h, read only for its length, saved as len(h) (saved_lengths.py)
    assert "len(h)" in saved and "dt_stop1 = h_len" in bwd, src
    got = tangent_src.grad(model, wrt=(0, 1), backend="numba")(w, h)
    want = tangent_src.grad(model, wrt=(0, 1))(w, h)
    for g, v in zip(got, want):
        np.testing.assert_allclose(g, v, rtol=1e-12, atol=1e-14)


def _parts(forward: str, backward: str):
    return gast.parse(forward).body, gast.parse(backward).body


FORWARD = textwrap.dedent("""
    s = 1.0 / t
    b = t.shape[0] // 2
    a = s[0:b]
    c = s[b:2 * b]
    """)
BACKWARD = textwrap.dedent("""
    da = g * c * s
    dc = g * a
    """)


def test_pass_takes_the_slices_again():
    forward, backward = _parts(FORWARD, BACKWARD)
    retaken, saved = saved_views(forward, backward, ["a", "c", "s"], {"t", "g"})
    assert saved == ["b", "s"]
    assert [stmt.targets[0].id for stmt in retaken] == ["a", "c"]


@pytest.mark.parametrize("forward, saved", [
    (FORWARD.replace("s = 1.0 / t", "s = f(t)"), ["a", "c", "s"]),  # maybe a list
    (FORWARD, ["a", "c"]),                                          # s not saved anyway
    (FORWARD + "s = s * 2.0\n", ["a", "c", "s"]),               # s rebound
    (FORWARD + "b = b + 1\n", ["a", "c", "s"]),                 # a bound rebound
    (FORWARD.replace("s[0:b]", "s[b]").replace("s[b:2 * b]", "s[b + 1]"),
     ["a", "c", "s"]),                                              # not slices
])
def test_pass_leaves_what_it_cannot_take_again(forward, saved):
    forward, backward = _parts(forward, BACKWARD)
    retaken, kept = saved_views(forward, backward, saved, {"t", "g"})
    assert retaken == [] and kept == saved


def test_pass_leaves_a_parameters_slice_and_a_view_written_back():
    forward, backward = _parts("a = t[0:2]\n", "da = g * a\n")
    assert saved_views(forward, backward, ["a", "t"], {"t", "g"}) == ([], ["a", "t"])
    forward, backward = _parts(FORWARD, BACKWARD + "a = g\n")
    retaken, kept = saved_views(forward, backward, ["a", "c", "s"], {"t", "g"})
    assert [stmt.targets[0].id for stmt in retaken] == ["c"] and "a" in kept
