"""Array writes that go into the array itself (optimize/inplace_writes.py, with the proof in
optimize/ownership.py): `set_at` / `zero_at` copy their array so that older versions stay
intact; where no one can read the old version any more the write goes in place.

Two kinds of test:
- the pass on its own, on code in the form the compiler generates: which writes go in
  place, and the code before and after run on the same inputs to the same values (and
  never change an argument) -- the cases where a copy must stay are the point;
- user programs (filling a matrix entry by entry, GMM's triangular Q, writes into a copy
  of an argument, into arrays another name read, in branches, in nested loops, arrays
  taped in a loop) differentiated by both back ends and checked against central finite
  differences, with the decision (in place or copy) read from the generated source.
"""
from __future__ import annotations

import copy
import textwrap

import astor
import gast
import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.optimize.inplace_writes import write_in_place
from tangent_src.runtime import (
    add_at,
    entry_copy,
    set_at,
    set_in_place,
    unbroadcast,
    zero_at,
    zero_in_place,
    zeros_like,
)

SCOPE = {"np": np, "add_at": add_at, "entry_copy": entry_copy, "set_at": set_at,
         "set_in_place": set_in_place, "unbroadcast": unbroadcast, "zero_at": zero_at,
         "zero_in_place": zero_in_place, "zeros_like": zeros_like, "G": np.arange(4.0)}
IN_PLACE = ("set_in_place", "zero_in_place")


def _func(src: str) -> gast.FunctionDef:
    return gast.parse(textwrap.dedent(src)).body[0]


def _text(func) -> str:
    return astor.to_source(gast.gast_to_ast(gast.Module(body=[func], type_ignores=[])))


def _load(text: str):
    scope = dict(SCOPE)
    exec(textwrap.dedent(text), scope)  # noqa: S102 (test code written here)
    return next(v for k, v in scope.items() if k not in SCOPE and k != "__builtins__")


def _in_place_calls(func) -> int:
    return sum(isinstance(n, gast.Call) and isinstance(n.func, gast.Name) and
               n.func.id in IN_PLACE for n in gast.walk(func))


def _same_results(before: str, after: str, args) -> None:
    """Both versions give the same values (dtype included) and leave the arguments be."""
    kept = copy.deepcopy(args)
    want = _load(before)(*copy.deepcopy(args))
    given = list(copy.deepcopy(args))
    got = _load(after)(*given)
    for a, b in zip(given, kept):
        np.testing.assert_array_equal(a, b)  # no argument written into
    np.testing.assert_array_equal(SCOPE["G"], np.arange(4.0))  # nor a global
    want, got = (want, got) if isinstance(want, tuple) else ((want,), (got,))
    for w, g in zip(want, got):
        np.testing.assert_array_equal(g, w)
        assert np.asarray(g).dtype == np.asarray(w).dtype


ARGS = (np.array([0.5, -1.25, 2.0, 0.75]), 3)

# (name, source, how many writes must go in place)
PASS_CASES = [
    ("fill loop", """
        def f(x, n):
            w = np.zeros(n)
            for i in range(n):
                t = x[i] * 2.0
                w = set_at(w, i, t)
            return w
        """, 1),
    ("adjoint of a write: old entry read after zeroing", """
        def f(x, n):
            dQ = x * 3.0
            t = slice(1, 3)
            dQ2 = dQ
            dQ = zero_at(dQ2, t)
            de = unbroadcast(dQ2[t], x[:2])
            dQ = add_at(dQ, 0, de[0])
            return dQ, de
        """, 1),
    ("adjoint of a write: old version read later, so the moved read goes back", """
        def f(x, n):
            dQ = x * 3.0
            t = slice(1, 3)
            dQ2 = dQ
            dQ = zero_at(dQ2, t)
            de = unbroadcast(dQ2[t], x[:2])
            return dQ, de, np.sum(dQ2)
        """, 0),
    ("the argument itself (the caller's array)", """
        def f(x, n):
            x2 = set_at(x, 0, 1.0)
            return x2
        """, 0),
    ("a global array", """
        def f(x, n):
            g = G
            g2 = set_at(g, 1, x[0])
            return g2
        """, 0),
    ("a view kept and read after the write", """
        def f(x, n):
            w = x * 1.0
            v = w[1:]
            w2 = set_at(w, 2, 10.0)
            return v * 2.0, w2
        """, 0),
    ("a view taken after the write only", """
        def f(x, n):
            w = x * 1.0
            w2 = set_at(w, 2, 10.0)
            v = w2[1:]
            return v * 2.0
        """, 1),
    ("a second name read after the write", """
        def f(x, n):
            w = x + 1.0
            old = w
            w2 = set_at(w, 0, -4.0)
            return old + w2
        """, 0),
    ("a second name not read after the write", """
        def f(x, n):
            w = x + 1.0
            old = w
            s = np.sum(old)
            w2 = set_at(w, 0, -4.0)
            return s + w2
        """, 1),
    ("each version taped in the loop", """
        def f(x, n):
            _w_tape = []
            w = np.zeros(4)
            for i in range(n):
                w = set_at(w, i, x[i])
                _w_tape.append(w)
            a = _w_tape.pop()
            b = _w_tape.pop()
            return a - b
        """, 0),
    ("taped before the loop writes it", """
        def f(x, n):
            _w_tape = []
            w = x * 2.0
            _w_tape.append(w)
            for i in range(n):
                w = set_at(w, i, x[i])
            a = _w_tape.pop()
            return a - w
        """, 0),
    ("taped after the last write", """
        def f(x, n):
            _w_tape = []
            w = x * 2.0
            for i in range(n):
                w = set_at(w, i, x[i] * 5.0)
            _w_tape.append(w)
            a = _w_tape.pop()
            return a - x
        """, 1),
    ("kept in a tuple", """
        def f(x, n):
            w = x * 1.0
            pair = (w, n)
            w2 = set_at(w, 0, 7.0)
            return pair[0] + w2
        """, 0),
    ("through a function that may return a view", """
        def f(x, n):
            w = x * 1.0
            v = np.reshape(w, (2, 2))
            w2 = set_at(w, 0, 7.0)
            return v + 1.0, w2
        """, 0),
    ("the previous iteration's version read before the write", """
        def f(x, n):
            w = x * 1.0
            prev = w * 0.0
            total = 0.0
            for i in range(n):
                total = total + np.sum(prev)
                w = set_at(w, i, x[i] * 3.0)
                prev = w
            return total
        """, 1),
    ("the previous iteration's version read after the write", """
        def f(x, n):
            w = x * 1.0
            prev = w * 0.0
            total = 0.0
            for i in range(n):
                w = set_at(w, i, x[i] * 3.0)
                total = total + np.sum(prev * w)
                prev = w
            return total
        """, 0),
    ("a view in one branch, read after the write", """
        def f(x, n):
            w = x * 1.0
            if n > 2:
                v = w[0:2]
            else:
                v = x[0:2]
            w2 = set_at(w, 0, 9.0)
            return v + w2[:2]
        """, 0),
    ("writes in both branches", """
        def f(x, n):
            w = np.zeros(4)
            if n > 2:
                w = set_at(w, 0, x[1])
            else:
                w = set_at(w, 1, x[2])
            w = set_at(w, 3, x[0])
            return w
        """, 3),
    ("the written value is a view of the same array", """
        def f(x, n):
            w = x * 1.0
            w2 = set_at(w, slice(1, None), w[:-1])
            return w2
        """, 0),
    ("the old version returned beside the new one", """
        def f(x, n):
            w = x * 1.0
            w2 = set_at(w, 0, 1.0)
            return w, w2
        """, 0),
    ("a value of another dtype (int array, float value)", """
        def f(x, n):
            w = np.zeros(4, dtype=np.int64)
            w2 = set_at(w, 1, x[0])
            return w2
        """, 1),
    ("a complex value into a real array", """
        def f(x, n):
            w = np.zeros(4)
            w2 = set_at(w, 1, x[0] * 1j)
            return w2
        """, 1),
    ("nested loops: a triangle", """
        def f(x, n):
            Q = np.zeros((n, n))
            pos = 0
            for c in range(n):
                for r in range(c + 1, n):
                    t = r, c
                    Q2 = set_at(Q, t, x[pos])
                    pos = pos + 1
                    Q = Q2
            return Q
        """, 1),
    ("writes into the argument one after another: only the first copies", """
        def f(x, n):
            x2 = set_at(x, 0, 1.0)
            x3 = set_at(x2, 1, 2.0)
            x4 = set_at(x3, 2, x[0])
            return x4
        """, 2),
    ("the argument under a second name written in a loop (its first version is the "
     "caller's)", """
        def f(x, n):
            w = x
            for i in range(n):
                w = set_at(w, i, x[i] * 2.0)
            return w
        """, 0),
    ("a taped version copied once, the copy's own writes in place", """
        def f(x, n):
            _a_tape = []
            a = x * 1.0
            _a_tape.append(a)
            b = set_at(a, 0, 1.0)
            c = set_at(b, 1, 2.0)
            return c, _a_tape.pop()
        """, 1),
    ("a loop variable's array", """
        def f(x, n):
            rows = [x * 1.0, x * 2.0]
            out = 0.0
            for row in rows:
                row2 = set_at(row, 0, 0.0)
                out = out + np.sum(row2)
            return out, rows[0], rows[1]
        """, 0),
    ("unpacked from a tuple", """
        def f(x, n):
            pair = (x * 1.0, n)
            w, m = pair
            w2 = set_at(w, 0, 0.0)
            return w2, pair[0]
        """, 0),
]


@pytest.mark.parametrize("name, source, expected", PASS_CASES, ids=[c[0] for c in PASS_CASES])
def test_pass_writes_in_place_only_where_the_old_version_is_dead(name, source, expected):
    func = _func(source)
    changed = write_in_place(func)
    assert _in_place_calls(func) == expected, _text(func)
    assert changed == bool(expected)
    if not expected:
        assert "entry_copy" not in _text(func)  # a moved read went back
    _same_results(textwrap.dedent(source), _text(func), ARGS)


def test_moved_read_of_a_slice_is_a_copy_the_zeroing_does_not_reach():
    """The adjoint's read of the old entries comes before the zeroing; as a view it would
    read zeros."""
    func = _func(PASS_CASES[1][1])
    write_in_place(func)
    text = _text(func)
    assert text.index("entry_copy(dQ2, t)") < text.index("zero_in_place(dQ2, t)")
    dQ, de = _load(text)(*copy.deepcopy(ARGS))
    np.testing.assert_array_equal(de, ARGS[0][1:3] * 3.0)
    np.testing.assert_array_equal(dQ, [ARGS[0][1] * 3.0 + 1.5, 0.0, 0.0, ARGS[0][3] * 3.0])


def test_unmodelled_code_is_left_alone():
    func = _func("""
        def f(x, n):
            w = x * 1.0
            g = lambda: w
            w2 = set_at(w, 0, 5.0)
            return g(), w2
        """)
    assert not write_in_place(func)
    assert _in_place_calls(func) == 0


def test_in_place_helpers_copy_what_set_at_would_not_write_as_is():
    w = np.zeros(3)
    assert set_in_place(w, 1, 2.0) is w and w[1] == 2.0
    ints = np.zeros(3, dtype=np.int64)
    out = set_in_place(ints, 0, 0.5)
    assert out is not ints and out.dtype == np.float64 and ints[0] == 0 and out[0] == 0.5
    frozen = np.zeros(3)
    frozen.flags.writeable = False
    assert set_in_place(frozen, 0, 1.0) is not frozen and frozen[0] == 0.0
    lst = [1.0, 2.0]
    assert set_in_place(lst, 0, 5.0) == [5.0, 2.0] and lst == [1.0, 2.0]
    m = np.arange(6.0).reshape(2, 3)
    row = entry_copy(m, 0)
    zero_in_place(m, 0)
    np.testing.assert_array_equal(row, [0.0, 1.0, 2.0])
    assert entry_copy(m, (1, 2)) == 5.0


# --------------------------------------------------------------------------- user programs


def fill_entries(x, W):
    """A matrix filled entry by entry in nested loops, then used whole."""
    n = x.shape[0]
    M = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            M[i, j] = x[i] * x[j] + np.sin(x[j])
    return np.sum(np.tanh(M) * W)


def triangular_q(icf, points):
    """GMM's Q: exp of the first d entries on the diagonal, the rest below it column by
    column; then a loop over the points reads Q whole."""
    d = points.shape[1]
    Q = np.zeros((d, d))
    for j in range(d):
        Q[j, j] = np.exp(icf[j])
    pos = d
    for c in range(d):
        for r in range(c + 1, d):
            Q[r, c] = icf[pos]
            pos += 1
    total = 0.0
    for i in range(points.shape[0]):
        Qx = Q @ points[i]
        total = total - 0.5 * np.dot(Qx, Qx)
    return total + np.sum(icf[:d])


def running_products(x):
    """Writes into a copy of the argument, each entry read before it is written."""
    y = x.copy()
    for i in range(1, x.shape[0]):
        y[i] = y[i] * y[i - 1] * 0.9
    return np.sum(y * y)


def snapshot_then_write(x):
    """A copy taken before the writes and read after them (under another name)."""
    w = np.cos(x)
    before = w.copy()
    for i in range(x.shape[0]):
        w[i] = w[i] * x[i]
    return np.sum(before * w) + np.sum(before)


def branchy_writes(x):
    """Writes in both branches of an `if` inside a loop, and a slice write after."""
    act = lambda v: np.tanh(v)  # noqa: E731 (user code)
    w = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        if x[i] > 0:
            w[i] = act(x[i]) * 2.0
        else:
            w[i] = x[i] * x[i]
    w[1:3] = w[1:3] * x[:2]
    return np.sum(w * x)


def taped_versions(x):
    """The array written is read whole in the same loop: each version is needed."""
    w = np.zeros(x.shape[0])
    total = 0.0
    for i in range(x.shape[0]):
        w[i] = np.sin(x[i])
        total = total + np.sum(w * w) * x[i]
    return total


def layer_rows(params, x):
    """A layer loop over `params` writing one row of a fresh buffer per layer."""
    h = x
    out = np.zeros((len(params), x.shape[0]))
    for k, W in enumerate(params):
        h = np.tanh(W @ h)
        out[k] = h
    return np.sum(out * out)


RNG = np.random.default_rng(7)
X5 = RNG.normal(size=5)
USER_CASES = [
    # (function, args, wrt, writes that must stay copies (set_at( prefixes), in place?)
    (fill_entries, (X5[:3].copy(), RNG.normal(size=(3, 3))), (0,), (), True),
    (triangular_q, (RNG.normal(size=6) * 0.3, RNG.normal(size=(4, 3))), (0,), (), True),
    (running_products, (X5.copy(),), (0,), ("set_at(y",), True),
    (snapshot_then_write, (X5.copy(),), (0,), ("set_at(w",), True),
    (branchy_writes, (X5.copy(),), (0,), (), True),
    (taped_versions, (X5.copy(),), (0,), ("set_at(w",), True),
]


def _check_against_differences(func, args, wrt, backend):
    kept = copy.deepcopy(args)
    grad = tangent_src.grad(func, wrt=wrt if len(wrt) > 1 else wrt[0], backend=backend)
    got = grad(*args)
    got = got if isinstance(got, tuple) else (got,)
    for k, w in enumerate(wrt):
        np.testing.assert_allclose(got[k], numerical_grad(func, kept, w), rtol=1e-6,
                                   atol=1e-8, err_msg=f"{func.__name__} d/d arg {w}")
    for a, b in zip(args, kept):
        np.testing.assert_array_equal(a, b)  # the arguments are untouched
    return tangent_src.source(grad, *args)


@pytest.mark.parametrize("func, args, wrt, copies, in_place", USER_CASES,
                         ids=[c[0].__name__ for c in USER_CASES])
def test_user_program_python_back_end(func, args, wrt, copies, in_place):
    text = _check_against_differences(func, args, wrt, "python")
    assert ("_in_place(" in text) == in_place, text
    for prefix in copies:
        assert prefix in text, text


@pytest.mark.parametrize("func, args, wrt, copies, in_place", USER_CASES,
                         ids=[c[0].__name__ for c in USER_CASES])
def test_user_program_numba_back_end(func, args, wrt, copies, in_place):
    text = _check_against_differences(func, args, wrt, "numba")
    assert ("_in_place(" in text) == in_place, text
    for prefix in copies:
        assert prefix in text, text


def test_layer_loop_writing_rows():
    params = [RNG.normal(size=(4, 4)) * 0.5 for _ in range(3)]
    x = RNG.normal(size=4)
    kept = copy.deepcopy(params)
    grad = tangent_src.grad(layer_rows, wrt=(0, 1))
    dparams, dx = grad(params, x)
    for k in range(3):
        def loss_k(Wk, k=k):
            ps = list(kept)
            ps[k] = Wk
            return layer_rows(ps, x)
        np.testing.assert_allclose(dparams[k], numerical_grad(loss_k, (kept[k],)),
                                   rtol=1e-6, atol=1e-8)
        np.testing.assert_array_equal(params[k], kept[k])
    np.testing.assert_allclose(dx, numerical_grad(layer_rows, (kept, x), 1), rtol=1e-6,
                               atol=1e-8)


def stacked_maps(W, xs):
    """Each point through each matrix of a stack: the adjoint adds an outer product into
    one matrix of dW per step (numba: add_at of a row of a contiguous array)."""
    total = 0.0
    for i in range(xs.shape[0]):
        for k in range(W.shape[0]):
            y = W[k] @ xs[i]
            total = total + np.sum(np.tanh(y)) * (k + 1.0)
    return total


def test_stacked_accumulation_numba_back_end():
    args = (RNG.normal(size=(3, 2, 4)) * 0.5, RNG.normal(size=(5, 4)))
    _check_against_differences(stacked_maps, args, (0, 1), "numba")


def test_numba_add_at_rows_match_numpy():
    """The numba add_at of a row: same shape (one flat loop), a row that broadcasts, a
    negative index, a float32 accumulator, a 1-d row of a matrix."""
    import numba

    from tangent_src.backend.numba import require_numba
    require_numba()
    jitted = numba.njit(lambda acc, k, g: add_at(acc, k, g))
    cases = [
        (np.arange(24.0).reshape(2, 3, 4), 1, RNG.normal(size=(3, 4))),
        (np.arange(24.0).reshape(2, 3, 4), -1, RNG.normal(size=(3, 4))),
        (np.arange(24.0).reshape(2, 3, 4), 0, RNG.normal(size=(1, 4))),
        (np.arange(12.0, dtype=np.float32).reshape(3, 4), 2, RNG.normal(size=4)),
        (np.arange(12.0).reshape(3, 4), 0, RNG.normal(size=4)),
    ]
    for acc, k, g in cases:
        want = acc.copy()
        want[k] += g
        got = jitted(acc.copy(), k, g)
        np.testing.assert_allclose(got, want, rtol=1e-6)
        assert got.dtype == acc.dtype


def test_gmm_loop_form_numba_matches_adbench_reference():
    """ADBench's GMM in loop form (Q filled entry by entry, written in place both ways)
    under numba against ADBench's reference gradient."""
    import json
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from benchmarks.adbench import gmm
    from benchmarks.adbench.io import data_path, read_gmm

    data = read_gmm(data_path("gmm/test.txt"))
    ref = json.loads(data_path("reference_values.json").read_text())["gmm_test_txt"]
    grad = tangent_src.grad(gmm.gmm_objective_loop, wrt=(0, 1, 2), backend="numba")
    got = gmm.flat_gradient(grad(*data.args))
    np.testing.assert_allclose(got, ref["gradient"], rtol=1e-8, atol=1e-10)
    text = tangent_src.source(grad, *data.args)
    assert "set_at(" not in text and "zero_at(" not in text, text
