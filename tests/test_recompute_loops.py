"""Loop values the backward pass recomputes instead of taping (transform/recompute.py), and
the fused accumulation `add_outer_at` (optimize/fused_at.py, its numba loop nest) against
the add_at it stands for, including where its operands lie in the accumulator's memory.

Each user program is differentiated by both back ends and checked against central finite
differences of the original function; the generated source says whether the value was
recomputed (no tape of it) or had to stay taped. The programs where recomputing would be
wrong are the point: an array written in the loop after the read, an index carried by a
later loop, an index from an outer loop or a branch, an array written after the loop
(the write must stay a copy), and an array read through another name.
"""
from __future__ import annotations

import copy
import re
import textwrap

import astor
import gast
import numpy as np
import pytest
from numba_checks import assert_jitted_matches, checked_source

from tangent_src.optimize.fused_at import fused_at
from tangent_src.runtime import add_at, add_outer_at

RNG = np.random.default_rng(14)


# --------------------------------------------------------------------------- recomputed
def stack_maps(A, x):
    """A row of a parameter stack per iteration: `A_k = A[k]` is recomputed."""
    total = 0.0
    for k in range(A.shape[0]):
        y = A[k] @ x
        total = total + np.sum(np.tanh(y) * y)
    return total


def filled_then_read(icf, x):
    """GMM's shape: an array filled entry by entry in one loop, read by index in a nested
    loop after it (Q is not written after the loop), with a test on the loop target."""
    K, d = icf.shape
    Q = np.zeros((K, d))
    for k in range(K):
        for j in range(d):
            Q[k, j] = np.exp(icf[k, j])
    total = 0.0
    for i in range(x.shape[0]):
        acc = 0.0
        for k in range(K):
            v = np.sum((Q[k] * x[i]) ** 2) + icf[k, 0]
            if k == 0:
                acc = v
            else:
                acc = np.logaddexp(acc, v)
        total = total + acc
    return total


def carried_index(v, w):
    """A packed triangle: `v[pos]` reads the carried counter (restored from its tape)."""
    pos = 0
    total = 0.0
    for c in range(3):
        for r in range(c + 1, 4):
            total = total + np.sin(v[pos]) * w[r, c]
            pos += 1
    return total


def outer_target(A, x):
    """The index is the outer loop's target, read in the inner loop."""
    total = 0.0
    for k in range(A.shape[0]):
        for t in range(2):
            total = total + np.sum(np.cos(A[k] * x) * (t + 1.0))
    return total


# ---------------------------------------------------------------- must stay taped
def written_after_read(A, x):
    """The row read is written later in the same iteration (an own copy of A)."""
    B = A * 1.0
    total = 0.0
    for k in range(B.shape[0]):
        row = B[k]
        total = total + np.sum(np.sin(row) * x)
        B[(k + 1) % B.shape[0]] = row * 2.0
    return total + np.sum(B * B)


def index_reassigned(A, x):
    """The index is set twice in the iteration: A[j] reads the first value."""
    total = 0.0
    for k in range(A.shape[0]):
        j = k
        row = A[j]
        j = A.shape[0] - 1 - k
        total = total + np.sum(np.sin(row) * A[j] * x)
    return total


def index_set_by_later_loop(A, x):
    """A later loop at the top level sets the index: the backward pass of that loop runs
    first and leaves the name with a value of its own, so this loop keeps its tape."""
    m = 2
    total = 0.0
    for k in range(A.shape[0]):
        row = A[m]
        total = total + np.sum(np.sin(row) * x) * (k + 1.0)
    for k in range(2):
        m = k
        total = total + np.sum(np.cos(A[m]) * x)
    return total


def index_outer_reassigned(A, x):
    """The index comes from the outer loop's body and changes after the inner loop."""
    total = 0.0
    for i in range(3):
        j = i % A.shape[0]
        for t in range(2):
            total = total + np.sum(np.sin(A[j] * (t + 1.0)) * x)
        j = (j + 1) % A.shape[0]
        total = total + np.sum(A[j] * x)
    return total


def index_in_branch(A, x):
    """The index is set in a branch of the outer loop, the read in a loop inside it."""
    total = 0.0
    for i in range(3):
        if i > 0:
            j = i - 1
            for t in range(2):
                row = A[j]
                total = total + np.sum(np.sin(row) * x) * (t + 1.0)
        else:
            total = total + np.sum(A[0] * x)
    return total


def written_after_loop(A, x):
    """The array read by index in the loop is written after it: the write must copy (the
    backward pass reads the version the loop saw), not go in place."""
    B = A * 2.0
    total = 0.0
    for k in range(B.shape[0]):
        row = B[k]
        total = total + np.sum(np.sin(row) * x)
    B[0] = x * 5.0
    return total + np.sum(B * B)


def alias_of_filled(A, x):
    """Filled entry by entry (in place), then read through another name in a loop."""
    Q = np.zeros(A.shape)
    for k in range(A.shape[0]):
        for j in range(A.shape[1]):
            Q[k, j] = np.exp(A[k, j])
    R = Q
    total = 0.0
    for k in range(A.shape[0]):
        total = total + np.sum(np.sin(R[k]) * x)
    return total + np.sum(Q * Q)


A3 = RNG.normal(size=(3, 4)) * 0.7
X4 = RNG.normal(size=4)
CASES = [
    # (function, args, wrt, recomputed statements, tapes that must stay)
    (stack_maps, (RNG.normal(size=(3, 4, 4)) * 0.5, X4), (0, 1), ["A_k = A[k]"], []),
    (filled_then_read, (RNG.normal(size=(3, 4)) * 0.3, RNG.normal(size=(5, 4))), (0, 1),
     ["Q_k2 = Q[k2]", "cond = k2 == 0"], []),
    (carried_index, (RNG.normal(size=6), RNG.normal(size=(4, 3))), (0, 1),
     ["v_pos = v[pos]"], []),
    (outer_target, (A3, X4), (0, 1), ["A_k = A[k]"], []),
    (written_after_read, (A3, X4), (0, 1), [], []),
    (index_reassigned, (A3, X4), (0, 1), [], []),
    (index_set_by_later_loop, (A3, X4), (0, 1), [], ["_row_tape"]),
    (index_outer_reassigned, (A3, X4), (0, 1), [], []),
    (index_in_branch, (A3, X4), (0, 1), [], ["_row_tape"]),
    (written_after_loop, (A3, X4), (0, 1), ["row = B[k]"], ["set_at(B"]),
    (alias_of_filled, (A3, X4), (0, 1), [], []),
]


def _backward(text: str) -> str:
    return text[text.index("# backward pass"):]


@pytest.mark.parametrize("func, args, wrt, again, taped", CASES,
                         ids=[c[0].__name__ for c in CASES])
def test_python_back_end(func, args, wrt, again, taped):
    text = checked_source(func, args, wrt, "python")
    for stmt in again:
        var = stmt.split(" = ")[0]
        assert stmt in _backward(text) and not re.search(rf"\b_{var}_tape\b", text), text
    for kept in taped:
        assert kept in text, text


@pytest.mark.parametrize("func, args, wrt, again, taped", CASES,
                         ids=[c[0].__name__ for c in CASES])
def test_numba_back_end(func, args, wrt, again, taped):
    pytest.importorskip("numba")
    checked_source(func, args, wrt, "numba")


def test_gmm_shaped_program_recomputes_and_fuses():
    """GMM's point loop in small: Qs[k] recomputed, its outer-product adjoint fused."""
    args = (RNG.normal(size=(3, 4)) * 0.3, RNG.normal(size=(5, 4)))
    text = checked_source(filled_then_matvec, args, (0, 1), "python")
    assert "Q_k2 = Q[k2]" in _backward(text) and "add_outer_at(dQ, k2," in text, text


def filled_then_matvec(icf, x):
    K, d = icf.shape
    Q = np.zeros((K, d, d))
    for k in range(K):
        for j in range(d):
            Q[k, j, j] = np.exp(icf[k, j])
            Q[k, j, 0] = Q[k, j, 0] + icf[k, 0]
    total = 0.0
    for i in range(x.shape[0]):
        for k in range(K):
            y = Q[k] @ (x[i] - icf[k])
            total = total + np.tanh(np.dot(y, y))
    return total


def test_filled_then_matvec_numba_back_end():
    pytest.importorskip("numba")
    args = (RNG.normal(size=(3, 4)) * 0.3, RNG.normal(size=(5, 4)))
    checked_source(filled_then_matvec, args, (0, 1), "numba")


# --------------------------------------------------------------------------- add_outer_at
def _outer_cases():
    """Makers of (acc, k, u, v): the fused shape; a negative index; a float32 accumulator;
    a strided u; a block u and v only fit by broadcasting; u and v views into the very
    block written (the composed form reads them before writing) or another block."""
    base = RNG.normal(size=(3, 4, 5))
    u4, v5, u8, u3, v14 = (RNG.normal(size=n) for n in (4, 5, 8, 3, 4))
    return [
        lambda: (base.copy(), 1, u4, v5),
        lambda: (base.copy(), -1, u4, v5),
        lambda: (base.astype(np.float32), 2, u4, v5),
        lambda: (base.copy(), 0, u8[::2], v5),
        lambda: (np.zeros((2, 3, 4)), 0, u3, v14.reshape(1, 4)[0]),
        lambda: (np.zeros((2, 3, 4)), 1, u3[:1], v14),
        lambda: (lambda a: (a, 1, a[1, :, 0], a[1, 0, :]))(base.copy()),
        lambda: (lambda a: (a, 0, a[2, :, 1], a[0, 3, :]))(base.copy()),
    ]


def _composed(acc, k, u, v):
    return add_at(acc, k, np.outer(u, v))


def test_add_outer_at_is_add_at_of_the_outer_product():
    for make in _outer_cases():
        acc, k, u, v = make()
        want = _composed(*make())
        got = add_outer_at(acc, k, u, v)
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype


def test_add_outer_at_numba_matches_numpy():
    pytest.importorskip("numba")
    assert_jitted_matches(add_outer_at, _outer_cases(), _composed)  # to the bit


def test_fused_at_pass_rewrites_and_keeps_the_value():
    """The pass on generated-style code: only `add_at(acc, k, np.outer(u, v))`, and both
    versions give the same arrays."""
    code = textwrap.dedent("""
        def f(dQ, dm, g, x, k):
            dQ = add_at(dQ, k, np.outer(g, x))
            dm = add_at(dm, k, np.outer(g, x) * 2.0)
            dQ = add_at(dQ, k + 1, np.outer(-g, x[::-1]))
            dm = add_at(dm, k, -(g[:, None] * x))
            return dQ, dm
    """)
    node = gast.parse(code)
    assert fused_at(node.body[0].body, set(), set())
    after = astor.to_source(gast.gast_to_ast(node))
    assert after.count("add_outer_at(") == 2 and "np.outer(g, x) * 2.0" in after, after
    assert "add_at(dm, k, -(g[:, None] * x))" in after, after
    scope = {"np": np, "add_at": add_at, "add_outer_at": add_outer_at}
    before_ns, after_ns = dict(scope), dict(scope)
    exec(code, before_ns)
    exec(after, after_ns)
    args = (RNG.normal(size=(3, 4, 5)), RNG.normal(size=(3, 4, 5)), RNG.normal(size=4),
            RNG.normal(size=5), 1)
    want = before_ns["f"](*copy.deepcopy(args))
    got = after_ns["f"](*copy.deepcopy(args))
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert not fused_at(node.body[0].body, set(), set())  # nothing left to rewrite
