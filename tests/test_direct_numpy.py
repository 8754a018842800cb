"""optimize/direct_numpy.py (Python back end): an array adjoint's np.zeros_like as np.zeros,
add_at with a basic index as `dW[i] += g`, np.sum of a proven array as `x.sum()`. Each
gradient is checked
against central finite differences where the rewrite fires and where it must not (repeated
indices, lists, float32, a caller's adjoint read after the call, broadcasting)."""
from __future__ import annotations

import textwrap

import astor
import gast
import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.core.tables import ARRAY_SUM, ARRAY_ZEROS, BASIC_ADD_AT
from tangent_src.optimize.direct_numpy import direct_numpy
from tangent_src.runtime import add_at

RNG = np.random.default_rng(11)


def _checked(f, args, wrt=0, rtol=1e-6) -> str:
    """The gradient matches finite differences; the source that ran."""
    df = tangent_src.grad(f, wrt=wrt)
    got = df(*args)
    want = numerical_grad(f, args, wrt)
    for g, w in zip(got if isinstance(wrt, tuple) else (got,),
                    want if isinstance(wrt, tuple) else (want,)):
        np.testing.assert_allclose(g, w, rtol=rtol, atol=1e-8)
    return df.source


# --- the pass on its own ---------------------------------------------------------------

def _marked(src: str) -> gast.FunctionDef:
    """Parse `src`, marking its np.zeros_like, add_at and np.sum calls (of names other than
    `s`) as the transform would."""
    func = gast.parse(textwrap.dedent(src)).body[0]
    for node in gast.walk(func):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
                node.func.attr == "zeros_like":
            ARRAY_ZEROS[node] = True
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
                node.func.attr == "sum" and getattr(node.args[0], "id", None) != "s":
            ARRAY_SUM[node] = True
        elif isinstance(node, gast.Call) and getattr(node.func, "id", None) == "add_at":
            BASIC_ADD_AT[node] = True
    return func


def test_pass_before_after_gives_the_same_bits():
    before = """
        def f(x, g, i, h):
            dx = np.zeros_like(x)
            dx = add_at(dx, i, g)
            dx = add_at(dx, (slice(1, 3), slice(None, None, 2)), h)
            s = np.sum(dx) + np.sum(dx, 0)[1] + np.sum(dx, axis=1, keepdims=True)[0, 0]
            s = s + np.sum(-dx, axis=None) + np.sum(s)
            return dx, s
        """
    func = _marked(before)
    assert direct_numpy(func.body) == 7
    text = astor.to_source(gast.gast_to_ast(func))
    assert "dx = np.zeros(x.shape, x.dtype)" in text and "dx[i] += g" in text, text
    assert "dx[1:3, ::2] += h" in text and "add_at" not in text, text
    assert "dx.sum() + dx.sum(axis=0)[1]" in text, text
    assert "dx.sum(axis=1, keepdims=True)" in text, text
    assert "(-dx).sum() + np.sum(s)" in text, text  # np.sum(s): not marked, kept
    args = (RNG.normal(size=(4, 5)), RNG.normal(size=5), 2, RNG.normal(size=(2, 3)))
    scope = {"np": np, "add_at": add_at}
    exec(textwrap.dedent(before), scope)  # noqa: S102 (test code written here)
    want = scope["f"](*args)
    exec(text, scope)  # noqa: S102
    got = scope["f"](*args)
    np.testing.assert_array_equal(got[0], want[0])
    assert got[1] == want[1]


@pytest.mark.parametrize("src", [
    # not marked: a user's np.zeros_like (of a list, say) and add_at
    "def f(x, g):\n    dx = np.zeros_like(x)\n    dx = add_at(dx, 0, g)\n    return dx\n",
    # another accumulator than the name assigned
    "def f(x, g):\n    dy = add_at(x, 0, g)\n    return dy\n",
    # np.sum with a dtype, and of a generator
    "def f(x):\n    return np.sum(x, dtype=np.float32) + np.sum(v for v in x)\n",
])
def test_pass_leaves_other_forms(src):
    func = gast.parse(src).body[0]
    if "dy" in src:
        func = _marked(src)
    before = astor.to_source(gast.gast_to_ast(func))
    assert direct_numpy(func.body) == 0
    assert astor.to_source(gast.gast_to_ast(func)) == before


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_sum_method_is_np_sum_for_every_array_kind():
    """`x.sum(...)` and np.sum(x, ...) agree in type and bits on ndarrays of every kind,
    NumPy scalars, 0-d arrays, matrices and masked arrays (np.sum calls the method of a
    non-ndarray; np.add.reduce would have summed a masked array's hidden entries)."""
    values = (np.float64(2.5), np.float32(1.5), np.array(4.0), np.array([1, 2], np.int8),
              np.array([1 + 2j, 3.0]), RNG.normal(size=(3, 4)), RNG.normal(size=5),
              np.asmatrix(RNG.normal(size=(3, 4))),
              np.ma.array([1.0, 2.0, 3.0, 4.5], mask=[0, 1, 0, 0]))
    for value in values:
        for words in ({}, {"axis": 0}, {"axis": -1, "keepdims": True}):
            if np.ndim(value) == 0 and words or isinstance(value, np.matrix) and \
                    "keepdims" in words:
                continue
            a, b = np.sum(value, **words), value.sum(**words)
            assert type(a) is type(b), (value, words)
            np.testing.assert_array_equal(a, b)
    masked = values[-1]
    assert masked.sum() == np.sum(masked) == 8.5 != np.add.reduce(masked, axis=None)
    for number in (2.0, 3, [1.0, 2.0]):  # why an unproven np.sum stays np.sum
        assert not hasattr(number, "sum")


# --- through the compiler, against finite differences -----------------------------------

def rows(W, x):
    total = 0.0
    for j in range(W.shape[0]):
        total = total + np.sum(np.tanh(W[j] * x))
    return total + np.sum(W[1:3] * W[0:2]) + W[-1, 0] * x[0]


def test_rows_and_slices_are_added_in_place():
    W, x = RNG.normal(size=(4, 3)), RNG.normal(size=3)
    src = _checked(rows, (W, x), wrt=(0, 1))
    assert "dW[j] +=" in src and "np.zeros(W.shape, W.dtype)" in src, src
    assert "dW[-1, 0] +=" in src and "dW[1:3] +=" in src, src


def gather(x, idx):
    y = x[idx]
    return np.sum(np.sin(y) * y)


def test_repeated_indices_keep_add_at():
    """x[idx] with an index array that repeats an entry: the adjoint must add both
    contributions (np.add.at), so the rewrite must not fire."""
    x = RNG.normal(size=5)
    idx = np.array([0, 3, 0, 0])
    src = _checked(gather, (x, idx))
    assert "add_at(dx, idx" in src, src


def pick(x, k):
    return np.sum(x[k] * x[k]) + np.sum(x[1:] * 2.0)


def test_an_index_of_unknown_class_keeps_add_at():
    """An index passed as a list: not a scalar, so no `+=` (repeats possible)."""
    x = RNG.normal(size=(5, 2))
    src = _checked(pick, (x, [1, 1]))
    assert "add_at(" in src, src


def first_items(xs):
    return np.sum(xs[0] * xs[1]) + np.sum(xs[2])


def test_list_adjoints_keep_add_at():
    xs = [RNG.normal(size=3) for _ in range(3)]
    df = tangent_src.grad(first_items)
    got = df(xs)
    want = [xs[1], xs[0], np.ones(3)]  # hand-derived
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    assert "[0] +=" not in df.source, df.source


def single(x):
    total = 0.0
    for i in range(x.shape[0] - 1):
        total = total + x[i] * x[i + 1]
    return total


def test_float32_adjoints_stay_float32():
    """np.zeros(x.shape, x.dtype): a float32 argument's adjoint accumulates in float32,
    as np.zeros_like did; the values are the hand-derived ones."""
    x = np.array([0.5, -1.25, 2.0, 0.75], dtype=np.float32)
    df = tangent_src.grad(single)
    got = df(x)
    assert got.dtype == np.float32
    want = np.zeros(4, np.float32)
    want[:-1] += x[1:]
    want[1:] += x[:-1]
    np.testing.assert_array_equal(got, want)
    assert "np.zeros(x.shape, x.dtype)" in df.source


def shifted(x):
    total = x * 1.0
    for i in range(3):
        total = total + x[i] * np.tanh(x)
    return total


def caller(x):
    y = shifted(x)
    z = shifted(y)
    return np.sum(z * y) + np.sum(y[1:] * 2.0)


def test_callee_accumulates_into_its_own_arrays():
    """The callee's adjoint starts from the caller's seed (`dx = dout` then rows added):
    its first array is copied, so the caller's adjoint, read again after the call, is
    intact; the result matches finite differences."""
    x = RNG.uniform(0.2, 0.9, size=5)
    _checked(caller, (x,))


def broadcast_row(X, w):
    y = X[1]
    return np.sum(np.exp(y * w)) + np.sum(X[2]) * 3.0 + X[0, 1]


def test_broadcast_row_adjoints():
    """A row read once broadcast against a matrix, once summed whole (its adjoint a
    read-only spread), once as one element."""
    X, w = RNG.normal(size=(3, 4)), RNG.normal(size=(2, 4))
    src = _checked(broadcast_row, (X, w), wrt=(0, 1))
    assert "dX[2] +=" in src or "dX[1] +=" in src, src


def sums(x, s):
    a = np.sum(x, axis=0)
    b = np.sum(x, 1, keepdims=True)
    c = np.sum(x, axis=(0, 1))
    return np.sum(a * a) + np.sum(b * x) + c * s + np.sum(s * s)


def test_sum_forms_through_the_compiler():
    x, s = RNG.normal(size=(3, 4)), 0.7
    src = _checked(sums, (x, s), wrt=(0, 1))
    assert "a = x.sum(axis=0)" in src and "c = x.sum(axis=(0, 1))" in src, src
    both = tangent_src.value_and_grad(sums)
    value, _ = both(x, s)
    assert value == sums(x, s)  # the same bits as NumPy's np.sum
    # s is a Python float: np.sum(s * s) stays (a float has no .sum); the others are arrays
    assert "out = (a * a).sum() + (b * x).sum() + c * s + np.sum(s * s)" in both.source, \
        both.source


def test_numba_and_second_order_keep_the_rule_forms():
    """Code differentiated again (hessian) keeps np.sum/add_at, which have rules."""
    W, x = RNG.normal(size=(3, 2)), RNG.normal(size=2)
    h = tangent_src.hessian(rows, wrt=1)(W, x)
    eps = 1e-5
    g = tangent_src.grad(rows, wrt=1)
    want = np.stack([(g(W, x + eps * e) - g(W, x - eps * e)) / (2 * eps)
                     for e in np.eye(2)])
    np.testing.assert_allclose(h, want, rtol=1e-5, atol=1e-7)


def lead(x):
    out = x * 1.0
    for _ in range(2):
        out = x + out[0]
    return out


def lead_caller(x):
    y = lead(x)
    return np.sum(lead(y) * y)


def test_an_accumulator_starting_from_the_seed_is_copied():
    """The callee's adjoint starts as the caller's array (`dx = dout`) before a row is
    added in place: the caller's `dy` is read after the call, so it must not change."""
    x = RNG.uniform(0.2, 0.9, size=4)
    _checked(lead_caller, (x,))


def loss_over_time(x, seq):
    total = 0.0
    for t in range(seq.shape[0] - 1):
        y = x * 2.0
        ynorm = y - np.log(np.sum(np.exp(y)) + 2)
        total = total + np.sum(seq[t + 1] * ynorm)
    return -total / 3.0


def test_temporaries_of_a_users_t_are_not_kept_as_user_names():
    """ANF temporaries t2, t3 share the stem of a loop variable `t` but are not its
    versions: they are inlined (the loss's spread seed then multiplies directly)."""
    x, seq = RNG.normal(size=3), RNG.normal(size=(4, 3))
    src = _checked(loss_over_time, (x, seq))
    assert "unreduce" not in src and "dtotal * seq[t + 1]" in src, src


def test_stack_rows_is_np_stack():
    """runtime stack_rows against np.stack: the same shape, dtype and values for lists and
    tuples of arrays of every float dtype pairing and rank; ValueError for rows of
    different shapes and for no rows; other inputs handed to np.stack."""
    from tangent_src.runtime import stack_rows
    kinds = (np.float16, np.float32, np.float64, np.complex64, np.int8, np.bool_)
    for a in kinds:
        for b in kinds:
            for shape in ((), (3,), (2, 3)):
                rows = [np.ones(shape, a) * 1.5, np.arange(np.prod(shape)).reshape(shape).astype(b)]
                for seq in (rows, tuple(rows)):
                    want, got = np.stack(seq), stack_rows(seq)
                    assert got.dtype == want.dtype and got.shape == want.shape
                    np.testing.assert_array_equal(got, want)
    for bad in ([np.ones(2), np.ones(3)], []):
        with pytest.raises(ValueError):
            stack_rows(bad)
    X = RNG.normal(size=(3, 2))
    np.testing.assert_array_equal(stack_rows(X), np.stack(X))
    np.testing.assert_array_equal(stack_rows([1.0, 2.5]), np.stack([1.0, 2.5]))
    class Sub(np.ndarray):
        pass
    s = X.view(Sub)
    assert type(stack_rows([s, s])) is type(np.stack([s, s]))
    rows = [RNG.normal(size=3), RNG.normal(size=3)]
    assert not np.shares_memory(stack_rows(rows), rows[0])


def layers(W, x):
    rows = []
    for j in range(W.shape[0]):
        x = np.tanh(W[j] * x)
        rows.append(x)
    S = np.stack(rows)
    return np.sum(S * S[::-1]) + np.sum(np.stack((x, W[0])) ** 2)


def test_stack_through_the_compiler():
    W, x = RNG.normal(size=(3, 4)), RNG.normal(size=4)
    src = _checked(layers, (W, x), wrt=(0, 1))
    assert "stack_rows(rows)" in src, src
