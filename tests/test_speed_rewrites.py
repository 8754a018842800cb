"""The speed rewrites of the Python back end (issue 14), each checked against central finite
differences where it fires and where it must not: small user functions inlined into
first-order code, a scalar seed left to broadcast, `x * x` differentiated as one doubled
contribution, constants and negations moved to the small side of a reduction's adjoint,
and the compiled guard check that runs before every call."""
from __future__ import annotations

import numpy as np
import pytest
from fdcheck import assert_grad_matches, numerical_grad

import tangent_src

RNG = np.random.default_rng(7)
X = RNG.uniform(0.2, 1.5, size=(4, 3))
V = RNG.uniform(0.2, 1.5, size=3)
W = RNG.normal(size=3)


def _generated(f, args, wrt=0) -> str:
    """The source of the code that ran for these arguments (checked against FD too)."""
    assert_grad_matches(f, args, wrt, rtol=1e-5, atol=1e-7)
    return tangent_src.source(tangent_src.grad(f, wrt=wrt), *args)


# --- small user functions inlined -----------------------------------------------------

def sigmoid(z):
    return 0.5 * (np.tanh(z / 2) + 1)


def predict(W, b, inputs):
    return sigmoid(np.dot(inputs, W) + b)


def logistic(W, b, inputs, targets):
    preds = predict(W, b, inputs)
    probs = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(probs))


def test_small_functions_are_inlined_and_exact():
    targets = np.array([1.0, 0.0, 1.0, 1.0])
    src = _generated(logistic, (W, 0.1, X, targets), wrt=(0, 1))
    assert "_fwd" not in src and "_bwd" not in src
    assert "preds = 0.5 *" in src  # computed under the caller's name


def scaled_power(x, scale=1.0, power=2):
    return scale * x ** power


def keywords_and_defaults(x):
    return np.sum(scaled_power(x, power=3) + scaled_power(x, scale=0.5))


def cell(h, x):
    out = np.tanh(h * x)
    return out


def carried_through_a_loop(x):
    h = x
    for _ in range(3):
        h = cell(h, x)  # the target is an argument: not computed under its name
    return np.sum(h)


def twice_used(x):
    a = sigmoid(x)
    b = sigmoid(a * x)
    return np.sum(a * b)


def returns_its_parameter(x, y):
    return x


def returns_a_parameter(x):
    return np.sum(returns_its_parameter(x, 2.0) * x)


def reads_its_result_again(x):
    y = np.sin(x)
    z = y * y + x
    return z


def result_reused_in_callee(x):
    return np.sum(reads_its_result_again(x) * x)


@pytest.mark.parametrize("f", [keywords_and_defaults, carried_through_a_loop, twice_used,
                               returns_a_parameter, result_reused_in_callee])
def test_inlined_calls_keep_their_derivative(f):
    src = _generated(f, (V.copy(),))
    assert "_fwd(" not in src


def branchy(x):
    if np.sum(x) > 0:
        y = np.sin(x)
    else:
        y = np.cos(x)
    return y


def calls_branchy(x):
    return np.sum(branchy(x) * x)


def add_half(t):
    t += 0.5
    return t * t


def calls_an_updating_function(x):
    t = np.sin(x)
    y = add_half(t)
    return np.sum(y)


def many_steps(x):
    a = x * 2.0
    b = np.sin(a)
    c = b * a
    d = np.cos(c)
    e = d + a
    f = e * e
    g = np.tanh(f)
    h = g * b
    i = h + c
    j = i * 0.5
    k = j - a
    m = k * d
    n = m + b
    o = n * c
    p = o - d
    q = p * e
    return q


def calls_a_long_function(x):
    return np.sum(many_steps(x))


@pytest.mark.parametrize("f", [calls_branchy, calls_an_updating_function,
                               calls_a_long_function])
def test_functions_that_are_not_small_stay_pairs(f):
    src = _generated(f, (V.copy(),))
    assert "_fwd(" in src


# --- a scalar seed broadcast by the next operation ------------------------------------

def neg_log_sum(q):
    return -np.sum(np.log(q))


def mean_of_reciprocal(q):
    return np.mean(1.0 / q)


def sum_rows_then_log(q):
    return np.sum(np.log(np.sum(q, axis=0)))


def sum_broadcast_against_bigger(v, m):
    return np.sum(np.log(v)) * np.sum(m) + np.sum(np.log(v)[None, :] * m)


def sum_kept(q):
    return np.sum(np.sum(np.log(q), keepdims=True) * q)


@pytest.mark.parametrize("f,args", [
    (neg_log_sum, (X,)), (mean_of_reciprocal, (X,)), (sum_rows_then_log, (X,)),
    (sum_broadcast_against_bigger, (V, X)), (sum_kept, (X,))])
def test_scalar_seed_spread(f, args):
    src = _generated(f, args)
    if f is neg_log_sum:
        assert "unreduce" not in src  # fires: no np.broadcast_to of the seed


def test_scalar_seed_spread_matches_hand_derivative():
    got = tangent_src.grad(neg_log_sum)(X)
    np.testing.assert_allclose(got, -1.0 / X, rtol=1e-12)


# --- x * x as one doubled contribution --------------------------------------------------

def square_sum(x):
    return np.sum(x * x)


def aliased_square(x):
    y = x
    return np.sum(y * x)


def outer_square(x):
    return np.sum(x[:, None] * x[None, :])


def cube(x):
    s = x * x
    return np.sum(s * x)


def squares_in_a_loop(x):
    total = 0.0
    for k in range(3):
        total = total + np.sum(x * x) * k
    return total


def broadcast_square(x, m):
    return np.sum((x * x) * m)


def squared_norm_rows(m):
    return np.sum(np.log(np.sum(m * m, axis=1)))


@pytest.mark.parametrize("f,args", [
    (square_sum, (V,)), (aliased_square, (V,)), (outer_square, (V,)), (cube, (V,)),
    (squares_in_a_loop, (V,)), (broadcast_square, (V, X)), (squared_norm_rows, (X,)),
    (square_sum, (2.5,))])
def test_square_adjoint(f, args):
    _generated(f, args)
    if f is square_sum and np.ndim(args[0]):
        src = tangent_src.grad(f).source
        assert src.count("dx = ") == 1 and "2.0" in src


def test_square_of_a_scalar_argument_matches_hand_derivative():
    assert tangent_src.grad(square_sum)(3.0) == pytest.approx(6.0, rel=1e-15)


# --- constants and negations on the small side ------------------------------------------

def stacked_centered(x, means):
    xc = np.reshape(x.T, (1, 3, 4)) - np.reshape(means, (2, 3, 1))
    return np.sum(np.log(np.sum(xc * xc, axis=1) + 1.0))


def test_unreduce_scaled_first_and_negation_after_summing():
    means = RNG.normal(size=(2, 3))
    src = _generated(stacked_centered, (X, means), wrt=(0, 1))
    assert "* 2.0, " in src  # unreduce(g * 2.0, ...)


# --- the compiled guard check --------------------------------------------------------------

def inner(x):
    return np.sin(x)


def uses_inner(x):
    return np.sum(inner(x) * x)


def test_guards_still_see_a_rebound_callee():
    global inner
    df = tangent_src.grad(uses_inner)
    df(V)
    df(V)  # the fast path
    saved = inner
    try:
        inner = np.cos  # noqa: F811 - rebinding is what is tested
        np.testing.assert_allclose(df(V), numerical_grad(uses_inner, (V,)), rtol=1e-5)
    finally:
        inner = saved
    np.testing.assert_allclose(df(V), numerical_grad(uses_inner, (V,)), rtol=1e-5)


def shifted(x, c=1.0, *, k=2.0):
    return np.sum((x + c) ** 2) * k


def test_guards_still_see_code_and_defaults_replaced():
    df = tangent_src.grad(shifted)
    df(V)
    df(V)
    old_code, old_defaults, old_kw = shifted.__code__, shifted.__defaults__, \
        shifted.__kwdefaults__
    try:
        shifted.__defaults__ = (3.0,)
        np.testing.assert_allclose(df(V), numerical_grad(shifted, (V,)), rtol=1e-5)
        shifted.__kwdefaults__ = {"k": 5.0}
        np.testing.assert_allclose(df(V), numerical_grad(shifted, (V,)), rtol=1e-5)
        shifted.__code__ = square_sum.__code__
        np.testing.assert_allclose(df(V), 2 * V, rtol=1e-12)
    finally:
        shifted.__code__, shifted.__defaults__, shifted.__kwdefaults__ = \
            old_code, old_defaults, old_kw
    np.testing.assert_allclose(df(V), numerical_grad(shifted, (V,)), rtol=1e-5)


def _steeper_sigmoid(z):
    return 1.0 / (1.0 + np.exp(-2.0 * z))


def test_inlined_callee_code_replaced_regenerates():
    df = tangent_src.grad(logistic, wrt=(0, 1))
    targets = np.array([1.0, 0.0, 1.0, 1.0])
    df(W, 0.1, X, targets)
    old = sigmoid.__code__
    try:
        sigmoid.__code__ = _steeper_sigmoid.__code__
        got = df(W, 0.1, X, targets)
        want = numerical_grad(logistic, (W, 0.1, X, targets), (0, 1))
        np.testing.assert_allclose(got[0], want[0], rtol=1e-5)
        assert got[1] == pytest.approx(want[1], rel=1e-5)
    finally:
        sigmoid.__code__ = old


def test_fd_helper_agrees_for_the_logistic_workload():
    targets = np.array([1.0, 0.0, 1.0, 1.0])
    assert_grad_matches(logistic, (W, 0.1, X, targets), wrt=(0, 1))


# --- reassociations that are exact -------------------------------------------------------

def reciprocal_chain(x):
    return np.sum(np.log(x) * x)


def halves(x, y):
    z = 0.5 * (np.tanh(x / 2) + 1)  # adjoint: g * 0.5 * (1 - t * t) * 0.5
    return np.sum(z * y)


def scaled_by_three(x):
    return np.sum(3.0 * (x * 0.5) * x * 0.5)  # 3.0 is not a power of two: kept


def negated_product(x):
    return np.sum(x * -np.sin(x))


@pytest.mark.parametrize("f,args", [
    (reciprocal_chain, (V,)), (halves, (V, X)), (scaled_by_three, (V,)),
    (negated_product, (V,)), (halves, (0.3, V))])
def test_reassociated_adjoints(f, args):
    src = _generated(f, args)
    assert "(1.0 /" not in src and "-(-" not in src


def test_power_of_two_factors_merge_exactly():
    t = np.tanh(V / 2)
    got = tangent_src.grad(halves)(V, W)
    np.testing.assert_array_equal(got, W * (1.0 - t * t) * 0.25)  # bit for bit
    assert "* 0.25" in tangent_src.grad(halves).source


# --- the numba back end inlines small callees too ----------------------------------------

def test_numba_back_end_inlines_small_callees():
    df = tangent_src.grad(twice_used, backend="numba")
    np.testing.assert_allclose(df(V), numerical_grad(twice_used, (V,)), rtol=1e-5)
    assert "sigmoid_fwd" not in df.source


# --- inlining keeps names apart ------------------------------------------------------------

y = np.array([0.3, -0.7, 1.1])  # a global that callers shadow


def reads_global_y(x):
    return x * y


def shadows_the_global(y):
    return np.sum(reads_global_y(y) * y)  # the argument is named like the callee's global


def shadows_the_result(x):
    y = reads_global_y(x)  # the result is named like the callee's global
    return np.sum(y * np.sin(x))


def make_scaled(scale):
    def scaled(v):
        return v * scale

    def loss(x):
        return np.sum(np.tanh(scaled(x)) * scaled(x * x))
    return loss


@pytest.mark.parametrize("f", [shadows_the_global, shadows_the_result, make_scaled(1.7)])
def test_inlined_names_stay_apart(f):
    src = _generated(f, (V.copy(),))
    assert "_fwd(" not in src


# --- one name for one shape in a mean's adjoint -----------------------------------------

def mean_of_square(x):
    return np.mean(np.sin(x) * 2.0)


def mean_in_loop(x, w):
    s = 0.0
    for i in range(3):
        s = s + np.mean(np.tanh(x * w[i]) ** 2)
    return s


def var_of_sin(x):
    return np.var(np.sin(x))


def test_mean_reads_its_size_from_the_name_its_unreduce_reads():
    """`unreduce(g, x) / reduced_size(t)` with t of x's shape reads both from x, so t (the
    mean's operand) is neither computed for the backward pass nor taped in a loop."""
    source = _generated(mean_of_square, (X,))
    assert "unreduce(dout, x) / reduced_size(x)" in source
    assert "= np.sin(x)" not in source  # the mean's operand: dead
    source = _generated(mean_in_loop, (V, W))
    assert "unreduce(dout, x) / reduced_size(x)" in source
    assert source.count("_tape = []") == 1  # tanh's result only


def test_a_size_read_from_a_value_the_rule_reads_anyway_stays():
    source = _generated(var_of_sin, (V,))
    assert "reduced_size(sin_x)" in source
