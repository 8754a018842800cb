"""The LSTM speed work (issue 14): the adjoints of joining arrays (np.concatenate,
np.stack) written as the pieces of the cotangent rather than added into zeros, and the
runtime's common cases (plain arrays) answered first. Every derivative is checked against
central finite differences, on LSTMs written the way users write them: parameters in a
list or a dict, the gates as slices of one concatenated vector, np.concatenate of the
hidden state and the input, the new state stacked from a list of rows."""
from __future__ import annotations

import re

import numpy as np
import pytest
from fdcheck import numerical_grad, tree_flat, tree_numerical_grad

import tangent_src
from tangent_src.runtime import pieces

RNG = np.random.default_rng(14)
B = 3  # hidden size


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def cell_from_list(params, h, c, x):
    """One LSTM cell; params = [W (4b, 2b), bias (4b,)]; the gates are slices of z."""
    W, bias = params
    z = W @ np.concatenate((h, x)) + bias
    n = h.shape[0]
    f = sigmoid(z[:n])
    i = sigmoid(z[n:2 * n])
    o = sigmoid(z[2 * n:3 * n])
    g = np.tanh(z[3 * n:])
    c2 = f * c + i * g
    return o * np.tanh(c2), c2


def lstm_list(params, xs):
    """A two-layer LSTM over a sequence; the states of each step stacked from a list."""
    states = np.zeros((4, B))
    loss = 0.0
    for x in xs:
        rows = []
        inp = x
        for layer in range(2):
            h, c = cell_from_list(params[layer], states[2 * layer], states[2 * layer + 1],
                                  inp)
            rows.append(h)
            rows.append(c)
            inp = h
        states = np.stack(rows)
        loss = loss + np.sum(inp ** 2) + 0.1 * np.sum(states[1] * states[3])
    return loss


def cell_from_dict(p, h, c, x):
    """The ADBench form: elementwise weights on (x, h, x, h), the state as (h, c)."""
    n = h.shape[0]
    g = np.concatenate((x, h, x, h)) * p["w"] + p["b"]
    forget = sigmoid(g[0:n])
    ingate = sigmoid(g[n:2 * n])
    outgate = sigmoid(g[2 * n:3 * n])
    change = np.tanh(g[3 * n:])
    c2 = c * forget + ingate * change
    return outgate * np.tanh(c2), c2


def lstm_dict(p, state, xs):
    """One layer over the sequence; a cross-entropy-like loss of each output."""
    total = 0.0
    for t in range(xs.shape[0] - 1):
        h, c = cell_from_dict(p, state[0], state[1], xs[t])
        state = np.stack([h, c])
        y = h * p["scale"]
        total = total + np.sum(xs[t + 1] * (y - np.log(np.sum(np.exp(y)) + 2)))
    return -total


def _params_list():
    return [[RNG.normal(scale=0.5, size=(4 * B, 2 * B)), RNG.normal(scale=0.1, size=4 * B)]
            for _ in range(2)]


def _params_dict():
    return {"w": RNG.normal(scale=0.5, size=4 * B), "b": RNG.normal(scale=0.1, size=4 * B),
            "scale": RNG.normal(size=B)}


def _check_tree(f, args, k, df):
    got = tree_flat(df(*args))
    np.testing.assert_allclose(got, tree_numerical_grad(f, args, k), rtol=1e-5, atol=1e-7)


def test_lstm_params_list_matches_finite_differences():
    params, xs = _params_list(), RNG.normal(size=(4, B))
    _check_tree(lstm_list, (params, xs), 0, tangent_src.grad(lstm_list))


def test_lstm_params_dict_matches_finite_differences():
    args = (_params_dict(), RNG.normal(scale=0.5, size=(2, B)), RNG.normal(size=(5, B)))
    _check_tree(lstm_dict, args, 0, tangent_src.grad(lstm_dict))
    df = tangent_src.grad(lstm_dict, wrt=(0, 1))
    dstate = df(*args)[1]
    np.testing.assert_allclose(dstate, numerical_grad(lstm_dict, args, 1), rtol=1e-5,
                               atol=1e-7)


def test_join_adjoint_is_the_pieces_not_a_sum_with_zeros():
    """The cell's concatenate adjoint and the step's stack adjoint are the pieces of the
    cotangent (no zeros_like of the joined sequence, no plus); the concatenate's, read
    item by item, as slices of it (optimize/concat_pieces.py)."""
    df = tangent_src.grad(lstm_dict, wrt=(0, 1))
    args = (_params_dict(), RNG.normal(size=(2, B)), RNG.normal(size=(3, B)))
    df(*args)
    source = df.source
    assert source.count("pieces(") == 1 and "'stack'" in source, source
    assert "'concatenate'" not in source and "_stop1 = len(" in source, source
    assert not re.search(r"plus\(\w+, pieces\(", source), source


def concat_twice(a, b):
    """A joined tuple read twice, one piece adjoint accumulated into another."""
    parts = (a, b, a)
    z = np.concatenate(parts) * np.arange(1.0, 1.0 + 2 * a.shape[0] + b.shape[0])
    return np.sum(np.sin(z))


def stack_matrix_rows(X):
    """np.stack of a whole array along axis 1: the adjoint of an array, not of a tuple."""
    Y = np.stack(X, axis=1)
    return np.sum(Y * Y * np.arange(1.0, 1.0 + Y.size).reshape(Y.shape))


def stack_list_popped(a, b):
    """A list joined by np.stack, its adjoint taken apart again from the end (pop)."""
    rows = [a * 2.0, b]
    rows.append(a * b)
    S = np.stack(rows)
    return np.sum(np.cos(S) * S[::-1])


@pytest.mark.parametrize("f, shapes", [
    (concat_twice, [(2,), (3,)]),
    (stack_matrix_rows, [(3, 2)]),
    (stack_list_popped, [(4,), (4,)]),
])
def test_join_adjoints_match_finite_differences(f, shapes):
    args = tuple(RNG.normal(size=s) for s in shapes)
    wrt = tuple(range(len(args)))
    got = tangent_src.grad(f, wrt=wrt)(*args)
    for g, w in zip(got, numerical_grad(f, args, wrt)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)


def test_pieces_keeps_the_kind_of_the_joined_sequence():
    """pieces() returns the container zeros_like(arrays) has: a list for a list, a tuple
    for a tuple, an array for an array (its rows), so it can stand for zeros + pieces."""
    g = np.arange(12.0).reshape(3, 4)
    rows = [np.zeros(4), np.zeros(4), np.zeros(4)]
    assert isinstance(pieces(g, rows, "stack", 0), list)
    assert isinstance(pieces(g, tuple(rows), "stack", 0), tuple)
    got = pieces(g.T, np.zeros((3, 4)), "stack", 1)
    assert isinstance(got, np.ndarray)
    np.testing.assert_array_equal(got, g)
    parts = pieces(np.arange(7.0), [np.zeros(2), np.zeros(5)], "concatenate", 0)
    assert isinstance(parts, list)
    np.testing.assert_array_equal(parts[1], np.arange(2.0, 7.0))


# ------------------------------------------------------------ shapes through tuples and lists


def cell_rows(weight, bias, hidden, cell, inp):
    """ADBench's cell: elementwise weights on (x, h, x, h), gates sliced from g."""
    n = hidden.shape[0]
    g = np.concatenate((inp, hidden, inp, hidden)) * weight + bias
    forget = sigmoid(g[0:n])
    ingate = sigmoid(g[n:2 * n])
    outgate = sigmoid(g[2 * n:3 * n])
    change = np.tanh(g[3 * n:])
    cell2 = cell * forget + ingate * change
    return outgate * np.tanh(cell2), cell2


def predict_rows(main, extra, state, x):
    """Every layer once; the new state stacked from the list of (h, c) rows."""
    x = x * extra[0]
    rows = []
    for j in range(state.shape[0] // 2):
        h, c = cell_rows(main[2 * j], main[2 * j + 1], state[2 * j], state[2 * j + 1], x)
        rows.append(h)
        rows.append(c)
        x = h
    return x * extra[1] + extra[2], np.stack(rows)


def lstm_rows(main, extra, state, seq):
    total = 0.0
    for t in range(seq.shape[0] - 1):
        y, state = predict_rows(main, extra, state, seq[t])
        total = total + np.sum(seq[t + 1] * (y - np.log(np.sum(np.exp(y)) + 2)))
    return -total / (seq.shape[0] - 1)


def test_shapes_flow_through_tuple_results_and_stacked_lists():
    """`h, c = cell(...)` and `state = np.stack(rows)` keep their shapes, so the cell is
    specialized to arrays of its inputs' classes: the adjoints of g's terms and of the
    concatenation need no unbroadcast (checked against finite differences)."""
    main = RNG.normal(scale=0.5, size=(4, 4 * B))
    extra = RNG.normal(size=(3, B))
    args = (main, extra, RNG.normal(size=(4, B)), RNG.normal(size=(4, B)))
    df = tangent_src.grad(lstm_rows, wrt=(0, 1, 2))
    got = df(*args)
    for g, w in zip(got, numerical_grad(lstm_rows, args, (0, 1, 2))):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)
    source = df.source
    assert "unbroadcast(dg" not in source, source
    assert "pieces(unbroadcast" not in source, source


def scaled_pair(a, w):
    return a * w, w


def pair_broadcast(a, w):
    """Items of a returned tuple broadcast against each other: w of size 1 stretched."""
    p, q = scaled_pair(a, w)
    return np.sum(np.sin(p) * q + p * q)


def stacked_mixed(a, b):
    """A list appended with arrays of different sizes, joined: the sizes stay unknown."""
    parts = []
    parts.append(a * 2.0)
    parts.append(b)
    z = np.concatenate(parts)
    return np.sum(z * np.cos(z[0]))


def append_more(rows, v):
    out = list(rows)
    out.append(v)
    return out


def stacked_after_helper(a, b):
    """A list passed to a function (that returns it longer): not an append-only list."""
    rows = []
    rows.append(a)
    rows = append_more(rows, b)
    return np.sum(np.stack(rows) * a)


def rebound_tuple(a, b):
    """A name bound to a tuple, then to an array: its items say nothing after."""
    t = (a, b)
    s = t[0] * t[1]
    t = np.outer(a, b)
    return np.sum(t[0] * s) + np.sum(s)


def listed_state(h, c):
    """np.stack of a list display never changed (the items of a tuple)."""
    state = np.stack([h * c, c])
    return np.sum(np.tanh(state[0]) * state[1])


@pytest.mark.parametrize("f, shapes", [
    (pair_broadcast, [(3,), (1,)]),
    (pair_broadcast, [(3, 1), (4,)]),
    (pair_broadcast, [(1,), (3,)]),
    (stacked_mixed, [(3,), (1,)]),
    (stacked_mixed, [(1,), (1,)]),
    (stacked_after_helper, [(3,), (3,)]),
    (rebound_tuple, [(1,), (3,)]),
    (rebound_tuple, [(3,), (3,)]),
    (listed_state, [(1,), (3,)]),
    (listed_state, [(3,), (3,)]),
])
def test_item_shapes_where_sizes_may_be_one(f, shapes):
    """Shape facts of items are exact where a size of one broadcasts."""
    args = tuple(RNG.normal(size=s) for s in shapes)
    wrt = tuple(range(len(args)))
    got = tangent_src.grad(f, wrt=wrt)(*args)
    for g, w in zip(got, numerical_grad(f, args, wrt)):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)


def rebind_param(t, a):
    """A tuple parameter rebound in a loop to a tuple of other shapes: on the first pass
    t[0] is the caller's (size 3), on the second the size-1 sum (the items of the rebound
    tuple say nothing of the parameter)."""
    total = 0.0
    for _ in range(2):
        x = t[0] * a
        total = total + np.sum(x * x)
        t = (np.sum(a, keepdims=True), a)
    return total


def call_rebind_param(u, a):
    return rebind_param((u, a), a)


def test_parameter_tuple_items_are_unknown():
    args = (RNG.normal(size=3), RNG.normal(size=3))
    got = tangent_src.grad(call_rebind_param, wrt=(0, 1))(*args)
    for g, w in zip(got, numerical_grad(call_rebind_param, args, (0, 1))):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)


def test_pieces_of_a_stack_along_any_axis():
    """The stack adjoint's entries along `axis` (views), for tuples and lists."""
    g = np.arange(24.0).reshape(2, 3, 4)
    for axis in (0, 1, 2, -1, -3):
        for kind in (tuple, list):
            got = pieces(g, kind([np.zeros(1)] * g.shape[axis]), "stack", axis)
            assert isinstance(got, kind) and len(got) == g.shape[axis]
            for k, p in enumerate(got):
                np.testing.assert_array_equal(p, np.take(g, k, axis=axis))


@pytest.mark.parametrize("shapes", [[(2,), (3,), (2,)], [(2, 3), (1, 3)], [(0,), (4,)]])
def test_pieces_of_a_concatenation_along_the_first_axis(shapes):
    """The first-axis fast path gives np.split's pieces, shaped like the arrays."""
    arrays = [RNG.normal(size=s) for s in shapes]
    g = np.concatenate(arrays) * 2.0
    for kind in (tuple, list):
        got = pieces(g, kind(arrays), "concatenate", 0)
        assert isinstance(got, kind)
        want = np.split(g, np.cumsum([a.shape[0] for a in arrays])[:-1])
        for p, w, a in zip(got, want, arrays):
            assert p.shape == a.shape
            np.testing.assert_array_equal(p, w)


def test_pieces_of_a_concatenation_with_a_nested_list_among_arrays():
    """An item that is not an array leaves the fast path after it has started: the
    general path answers, each piece shaped like its item."""
    arrays = (RNG.normal(size=(2, 3)), [[1.0, 2.0, 3.0]], RNG.normal(size=(1, 3)))
    g = np.concatenate(arrays) * 3.0
    got = pieces(g, arrays, "concatenate", 0)
    assert [np.shape(p) for p in got] == [(2, 3), (1, 3), (1, 3)]
    for p, w in zip(got, np.split(g, [2, 3])):
        np.testing.assert_array_equal(p, w)


@pytest.mark.parametrize("g", [0.25, np.float64(-1.5), np.float32(2.0), 3, np.ones(3)])
def test_unreduce_of_a_number_is_broadcast_to(g):
    """A float spread over an array is np.broadcast_to's read-only view; other values go
    through np.broadcast_to itself."""
    from tangent_src.runtime import unreduce
    like = RNG.normal(size=(4, 3))
    got = unreduce(g, like)
    want = np.broadcast_to(g, like.shape)
    assert got.shape == like.shape and got.dtype == want.dtype
    assert not got.flags.writeable
    np.testing.assert_array_equal(got, want)
