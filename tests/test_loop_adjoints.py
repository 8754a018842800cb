"""Adjoints of values defined inside loops (issue 10, case 1).

A name assigned in a loop body holds a new value every iteration. In reverse mode the
adjoint of each value must start from zero: a contribution to the value of iteration
k must not leak into iteration k-1, and the zero must have the shape of the earlier
value (network layers of different widths). Every gradient here is compared with
central finite differences of the original function in float64.
"""
from __future__ import annotations

import numpy as np
import pytest

import tangent_src

EPS = 1e-6


# --- a finite-difference reference for arguments that are arrays or lists/tuples of them ----
def _leaves(tree):
    if isinstance(tree, (list, tuple)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [tree]


def _rebuild(tree, values):
    """`tree` with its leaves replaced, in order, by `values` (an iterator)."""
    if isinstance(tree, (list, tuple)):
        return type(tree)(_rebuild(item, values) for item in tree)
    return next(values)


def fd_grad(f, args, argnum=0):
    """Central differences of scalar f with respect to args[argnum], leaf by leaf."""
    tree = args[argnum]
    leaves = [np.array(leaf, dtype=np.float64) for leaf in _leaves(tree)]
    grads = []
    for k, leaf in enumerate(leaves):
        g = np.zeros_like(leaf)
        for idx in np.ndindex(leaf.shape):
            values = []
            for step in (EPS, -EPS):
                moved = [x.copy() for x in leaves]
                moved[k][idx] += step
                new = list(args)
                new[argnum] = _rebuild(tree, iter(
                    [float(m) if np.ndim(t) == 0 and not isinstance(t, np.ndarray) else m
                     for m, t in zip(moved, _leaves(tree))]))
                values.append(float(f(*new)))
            g[idx] = (values[0] - values[1]) / (2 * EPS)
        grads.append(g)
    return grads


def check(f, args, argnum=0, backend="python", rtol=1e-5, atol=1e-7):
    """grad(f) in reverse mode against finite differences, leaf by leaf."""
    df = tangent_src.grad(f, wrt=argnum, backend=backend)
    got = _leaves(df(*args))
    want = fd_grad(f, args, argnum)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g, dtype=float), w, rtol=rtol, atol=atol)


def rng():
    return np.random.default_rng(0)


def layers(*widths, seed=0):
    r = np.random.default_rng(seed)
    return [(0.5 * r.normal(size=(m, n)), 0.5 * r.normal(size=n))
            for m, n in zip(widths[:-1], widths[1:])]


# --- the issue's examples --------------------------------------------------------------------
def first_assigned_in_for(x):
    for _ in range(2):
        y = x * 2.0
        x = y * 3.0
    return y


def first_assigned_in_while(x):
    i = 0
    while i < 2:
        y = x * 2.0
        x = y * 3.0
        i = i + 1
    return y


def test_issue_example_for():
    assert tangent_src.grad(first_assigned_in_for)(1.0) == pytest.approx(12.0)
    check(first_assigned_in_for, (1.3,))


def test_issue_example_while():
    assert tangent_src.grad(first_assigned_in_while)(1.0) == pytest.approx(12.0)
    check(first_assigned_in_while, (1.3,))


def test_issue_example_matches_forward_mode():
    forward = tangent_src.autodiff(first_assigned_in_for, mode="forward")
    assert tangent_src.grad(first_assigned_in_for)(0.7) == pytest.approx(forward(0.7))


def predict(params, inputs):
    for W, b in params:
        outputs = inputs @ W + b
        inputs = np.tanh(outputs)
    return np.sum(outputs)


def predict_loss(params, inputs, targets):
    for W, b in params:
        outputs = inputs @ W + b
        inputs = np.tanh(outputs)
    return np.mean((outputs - targets) ** 2)


@pytest.mark.parametrize("widths", [(3, 3, 3), (3, 4, 2), (2, 5, 3, 1), (4, 4, 4, 4)])
def test_network_loop(widths):
    x = rng().normal(size=(5, widths[0]))
    check(predict, (layers(*widths), x))
    check(predict, (layers(*widths), x), argnum=1)


@pytest.mark.parametrize("widths", [(3, 3, 3), (3, 4, 2)])
def test_network_loss(widths):
    x = rng().normal(size=(5, widths[0]))
    t = rng().normal(size=(5, widths[-1]))
    check(predict_loss, (layers(*widths), x, t))


# --- values defined in the loop body, read after it -----------------------------------------
def read_after_loop_only(x):
    for i in range(3):
        h = np.sin(x) * (i + 1.0)
        x = x + h
    return h * h


def read_after_loop_sum(x):
    for i in range(3):
        h = np.sin(x) * (i + 1.0)
        x = x + h
    return np.sum(h * h)


def accumulate_layers(params, x):
    total = 0.0
    for W, b in params:
        z = x @ W + b
        x = np.tanh(z)
        total = total + np.sum(z * z)
    return total + np.sum(z)


def zip_layers(Ws, bs, x):
    for W, b in zip(Ws, bs):
        out = x @ W + b
        x = np.tanh(out)
    return np.sum(out * out)


def enumerate_layers(params, x):
    for i, (W, b) in enumerate(params):
        scale = 1.0 / (i + 1.0)
        out = scale * (x @ W) + b
        x = np.tanh(out)
    return np.sum(out)


def while_layers(params, x):
    i = 0
    while i < len(params):
        W, b = params[i]
        out = x @ W + b
        x = np.tanh(out)
        i = i + 1
    return np.sum(out ** 2)


def constant_pairs(x):
    pairs = [(1.0, 2.0), (0.5, -1.0), (3.0, 0.2)]
    for a, c in pairs:
        y = a * x + c
        x = np.sin(y)
    return y * y


def only_inside_loop(x):
    """Temporaries read only in their own iteration, and one read after the loop."""
    for i in range(4):
        t = np.sin(x) * (i + 1.0)
        u = t * t
        x = x + 0.1 * u
    return x + u


def test_read_after_loop_only():
    check(read_after_loop_only, (0.4,))
    check(read_after_loop_sum, (np.array([0.4, -1.2, 2.0]),))


def test_only_inside_loop():
    check(only_inside_loop, (0.4,))


@pytest.mark.parametrize("argnum", [0, 1])
def test_accumulator(argnum):
    check(accumulate_layers, (layers(3, 4, 2), rng().normal(size=(5, 3))), argnum)


@pytest.mark.parametrize("argnum", [0, 1, 2])
def test_zip(argnum):
    params = layers(3, 4, 2)
    args = ([W for W, _ in params], [b for _, b in params], rng().normal(size=(5, 3)))
    check(zip_layers, args, argnum)


def test_enumerate():
    check(enumerate_layers, (layers(3, 4, 2), rng().normal(size=(5, 3))))


def test_while_layers():
    check(while_layers, (layers(3, 4, 2), rng().normal(size=(5, 3))))
    check(while_layers, (layers(2, 2, 2), rng().normal(size=(5, 2))))


def test_list_of_constant_tuples():
    check(constant_pairs, (0.3,))


# --- control flow inside the loop ------------------------------------------------------------
def break_out(x):
    for _i in range(6):
        y = x * x
        if y > 3.0:
            break
        x = y + 0.5
    return y


def continue_past(x):
    total = 0.0
    for i in range(5):
        y = np.sin(x * (i + 1.0))
        if i == 2:
            continue
        z = y * y
        total = total + z
    return total + z + y


def while_break(x):
    i = 0
    while i < 10:
        y = x * 1.5
        if y > 4.0:
            break
        x = y
        i = i + 1
    return y


def branch_defined(x):
    for i in range(4):
        if i % 2 == 0:
            y = x * 2.0
        else:
            y = np.sin(x)
        x = y + x
    return y


def activation_per_layer(params, x):
    for i, (W, b) in enumerate(params):
        out = x @ W + b
        if i % 2 == 0:
            h = np.tanh(out)
        else:
            h = np.sin(out)
        x = h
    return np.sum(h * h)


def one_arm_read_after_loop(x):
    for i in range(4):
        x = np.sin(x) + 1.0
        if i < 2:
            s = x * x
    return s


@pytest.mark.parametrize("x", [0.9, 1.1, 1.6])  # the loop breaks in different iterations
def test_break(x):
    check(break_out, (x,))


def test_continue():
    check(continue_past, (0.3,))


@pytest.mark.parametrize("x", [0.5, 2.0])
def test_while_break(x):
    check(while_break, (x,))


def test_value_defined_in_branches():
    check(branch_defined, (0.3,))
    check(activation_per_layer, (layers(3, 4, 2, 3), rng().normal(size=(5, 3))))


def test_value_defined_in_one_arm_read_after_loop():
    check(one_arm_read_after_loop, (0.3,))


# --- nested loops ----------------------------------------------------------------------------
def nested_scalar(x):
    for _i in range(3):
        for j in range(2):
            z = x * 1.5 + j
            x = np.sin(z)
        w = z * x
    return w + z


def refine_then_layer(params, x):
    """An inner loop updates x; the layer after it must see the updated x."""
    for W, b in params:
        for _k in range(2):
            x = np.tanh(x * 1.5)
        out = x @ W + b
        x = np.tanh(out)
    return np.sum(out)


def test_nested_scalar():
    check(nested_scalar, (0.3,))


@pytest.mark.parametrize("widths", [(3, 3, 3), (3, 3, 2)])
def test_value_left_by_inner_loop(widths):
    check(refine_then_layer, (layers(*widths), rng().normal(size=(5, 3))))
    check(refine_then_layer, (layers(*widths), rng().normal(size=(5, 3))), argnum=1)


# --- user functions, lambdas, closures, checkpoint -------------------------------------------
def dense(x, W, b):
    return np.tanh(x @ W + b)


def call_per_layer(params, x):
    for W, b in params:
        h = dense(x, W, b)
        x = h
    return np.sum(h)


def iterate(x, n):
    for _i in range(n):
        y = x * 2.0
        x = np.sin(y)
    return y


def calls_a_loop(x):
    a = iterate(x, 2)
    b = iterate(a, 3)
    return a * b


def lambda_in_loop(x):
    square = lambda v: v * v  # noqa: E731 - user code style
    for _i in range(3):
        y = square(x) * 0.5
        x = x + y
    return y


def closure_in_loop(x, scale):
    def shift(v):
        return v * scale + 0.1
    for _i in range(3):
        y = shift(x)
        x = np.sin(y)
    return y


def checkpointed(x, n):
    with tangent_src.checkpoint():
        for _i in range(n):
            y = np.sin(x) * 1.5
            x = x + y
    return y * x


def checkpointed_sum(x, n):
    with tangent_src.checkpoint():
        for _i in range(n):
            y = np.sin(x) * 1.5
            x = x + y
    return np.sum(y * x)


def checkpointed_nested(Q, x):
    """The state (x) is assigned only by the inner loop: the checkpoints must save it
    (they saved only names the outer body copies back, so each segment was recomputed
    from the final x; rel. error ~1e-3)."""
    with tangent_src.checkpoint(every=2):
        for k in range(Q.shape[0]):
            for m in range(2):
                x = np.tanh(Q[(k + m) % 5] @ x)
    return np.sum(x ** 2)


def checkpointed_nested_state(Q, x):
    """Two values carried by the inner loop only, one read by the outer body too."""
    s = 0.0
    j = 0
    with tangent_src.checkpoint(every=3):
        for _k in range(Q.shape[0]):
            for _m in range(2):
                x = np.tanh(Q[j] @ x) + 0.1 * s
                j = (j + 3) % 5
                s = s + np.sum(x) * 0.5
            x = x * 0.9
    return np.sum(x ** 2) + s


def test_user_function_per_layer():
    check(call_per_layer, (layers(3, 4, 2), rng().normal(size=(5, 3))))


def test_loop_inside_called_function():
    check(calls_a_loop, (0.3,))


def test_lambda_and_closure():
    check(lambda_in_loop, (0.3,))
    check(closure_in_loop, (0.3, 0.8))
    check(closure_in_loop, (0.3, 0.8), argnum=1)


@pytest.mark.parametrize("n", [1, 5, 7])
def test_checkpointed(n):
    check(checkpointed, (0.3, n))
    check(checkpointed_sum, (np.array([0.3, -0.7]), n))


def loop_in_a_branch(Q, x, flag):
    """A loop inside an if: the names it carries that only code after the if reads (y)
    kept no copy-back at the end of the body, so y2 = y in the branch where the inner if
    is not taken read the value from before the loop (the gradient in Q was 0)."""
    j = 0
    y = x * 0.0
    if flag:
        for _k in range(3):
            if j % 2 == 0:
                y = x[::-1] * 0.5
                z = Q[j] @ x
                j = (j + 1) % 5
    else:
        z = x
    return np.sum(x ** 2) + np.sum(y * z)


@pytest.mark.parametrize("argnum", [0, 1])
def test_loop_in_a_branch_carries_what_is_read_after_the_branch(argnum):
    r = rng()
    check(loop_in_a_branch, (np.eye(3) + 0.3 * r.normal(size=(5, 3, 3)), r.normal(size=3),
                             True), argnum=argnum)


def loop_in_a_branch_in_a_loop(x):
    """The same inside a loop (main refused it in reverse mode and its jvp was 0)."""
    y = x * 0.0
    t = 0
    for i in range(3):
        if i > 0:
            for k in range(2):
                if t % 2 == 0:
                    y = np.sin(x) * (i + k)
                t = t + 1
        x = x * 0.9
    return np.sum(y * x)


def test_loop_in_a_branch_in_a_loop_both_modes():
    x = np.array([0.3, -0.7, 0.2])
    check(loop_in_a_branch_in_a_loop, (x,))
    v = np.array([1.0, -0.5, 2.0])
    _, tangent = tangent_src.jvp(loop_in_a_branch_in_a_loop, (x,), (v,))
    want = (loop_in_a_branch_in_a_loop(x + EPS * v) -
            loop_in_a_branch_in_a_loop(x - EPS * v)) / (2 * EPS)
    np.testing.assert_allclose(tangent, want, rtol=1e-6)


def checkpointed_appends(x):
    """A list only appended to in the checkpointed loop: the recomputed segments need not
    see it (the adjoint pops its own list)."""
    hs = []
    with tangent_src.checkpoint(every=2):
        for k in range(4):
            for _m in range(2):
                x = np.tanh(x * 1.3 + 0.1 * k)
                hs.append(x)
    return np.sum(hs[1] * hs[5]) + np.sum(hs[-1] ** 2)


def checkpointed_reads_its_list(x):
    hs = [x]
    with tangent_src.checkpoint(every=2):
        for k in range(4):
            hs.append(np.tanh(hs[-1] * 1.3 + 0.1 * k))
    return np.sum(hs[1] * hs[3]) + np.sum(hs[-1] ** 2)


def test_checkpointed_list_appends():
    check(checkpointed_appends, (np.array([0.3, -0.7, 0.1]),))


def test_checkpointed_loop_reading_a_list_it_appends_to_is_refused():
    """A segment reran from a checkpoint would append to the list again and read the
    wrong items (rel. error 0.3): refused where the loop is."""
    with pytest.raises(tangent_src.errors.UnsupportedSyntaxError, match="hs"):
        tangent_src.grad(checkpointed_reads_its_list)(np.array([0.3, -0.7, 0.1]))


@pytest.mark.parametrize("f", [checkpointed_nested, checkpointed_nested_state])
def test_checkpointed_nested_loop_state(f):
    r = rng()
    args = (0.6 * r.normal(size=(5, 3, 3)), r.normal(size=3))
    check(f, args, argnum=0)
    check(f, args, argnum=1)


# --- a list built in the loop ----------------------------------------------------------------
def collect_outputs(params, x):
    outs = []
    for W, b in params:
        out = x @ W + b
        outs.append(np.sum(out))
        x = np.tanh(out)
    return sum(outs) + np.sum(out)


def test_list_built_in_loop():
    check(collect_outputs, (layers(3, 4, 2), rng().normal(size=(5, 3))))


# --- numba back end --------------------------------------------------------------------------
def scalar_net(x):
    for i in range(3):
        out = np.tanh(x * 0.5 + i)
        x = out * out
    return out


def vector_net(x):
    for i in range(3):
        out = np.tanh(x * 0.5 + i)
        x = out * out
    return np.sum(out)


def test_numba():
    pytest.importorskip("numba")
    check(first_assigned_in_for, (1.3,), backend="numba")
    check(scalar_net, (0.3,), backend="numba")
    check(vector_net, (np.array([0.3, -0.5, 1.0]),), backend="numba")
    check(while_break, (0.5,), backend="numba")


# --- second order ----------------------------------------------------------------------------
@pytest.mark.parametrize("f, x", [
    (first_assigned_in_for, 0.7), (read_after_loop_only, 0.4), (scalar_net, 0.3),
    (break_out, 1.1), (nested_scalar, 0.3), (while_break, 0.5), (one_arm_read_after_loop, 0.3),
])
def test_second_order(f, x):
    tangent_src.check_grads(f, (x,), order=2)
    dd = tangent_src.grad(tangent_src.grad(f))(x)
    np.testing.assert_allclose(dd, fd_grad(tangent_src.grad(f), (x,))[0], rtol=1e-5, atol=1e-6)


def test_hvp_through_loop():
    x = np.array([0.3, -0.5, 1.0])
    v = np.array([1.0, 0.5, -2.0])
    got = tangent_src.hvp(vector_net)(x, v)
    step = 1e-4  # differences of finite-difference gradients: the reference is independent

    def numeric_grad(x):
        return fd_grad(vector_net, (x,))[0]
    want = (numeric_grad(x + step * v) - numeric_grad(x - step * v)) / (2 * step)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


# --- a clear refusal where tapes cannot restore the value ------------------------------------
def stale_branch_value(x):
    total = 0.0
    for i in range(4):
        if i % 2 == 0:
            s = x * (i + 1.0)
        total = total + s * s
    return total


def test_value_from_an_earlier_iteration_is_refused():
    with pytest.raises(tangent_src.errors.UnsupportedSyntaxError, match="'s'"):
        tangent_src.grad(stale_branch_value)(0.7)


# --- shapes that change from one iteration to the next ---------------------------------------
def shrinking(x):
    for _i in range(3):
        y = x[1:] * 2.0
        x = np.sin(y)
    return np.sum(y)


def nested_vector(x):
    for _i in range(3):
        for j in range(2):
            z = x * 1.5 + j
            x = np.sin(z)
        w = z * x
    return np.sum(w + z)


def two_layer(x, W1, W2):
    h = x
    for W in [W1, W2]:
        out = h @ W
        h = np.tanh(out)
    return out


def calls_two_layer(x, W1, W2):
    total = 0.0
    for k in range(2):
        o = two_layer(x * (k + 1.0), W1, W2)
        total = total + np.sum(o * o)
    return total + np.sum(o)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_shrinking_values(backend):
    if backend == "numba":
        pytest.importorskip("numba")
    check(shrinking, (np.array([0.3, 0.6, 0.9, 1.2]),), backend=backend)
    check(nested_vector, (np.array([0.3, 0.6]),), backend=backend)


def test_shrinking_second_order():
    tangent_src.check_grads(shrinking, (np.array([0.3, 0.6, 0.9, 1.2]),), order=2)
    tangent_src.check_grads(nested_vector, (np.array([0.3, 0.6]),), order=2)


@pytest.mark.parametrize("argnum", [1, 2])
def test_network_function_called_in_loop(argnum):
    r = rng()
    args = (r.normal(size=(5, 3)), r.normal(size=(3, 4)), r.normal(size=(4, 2)))
    check(calls_two_layer, args, argnum)


def refine_window(x):
    """A value defined in the body, then updated by an inner loop; its shape shrinks."""
    for i in range(3):
        t = x[i:] * 2.0
        for _j in range(2):
            t = np.sin(t) + 0.5
        x = x * np.sum(t)
    return np.sum(t)


def test_value_updated_by_inner_loop_changes_shape():
    check(refine_window, (np.array([0.1, 0.2, 0.3, 0.4]),))
    tangent_src.check_grads(refine_window, (np.array([0.1, 0.2, 0.3, 0.4]),), order=2)


# --- other iterables -------------------------------------------------------------------------
def over_rows(X, w):
    for row in X:
        z = np.dot(row, w)
        w = w * np.tanh(z)
    return z * z


def rnn_preactivation(W, xs, h):
    for x_t in xs:
        pre = W @ h + x_t
        h = np.tanh(pre)
    return np.sum(pre * pre)


def over_dict(p, x):
    for k in p:
        out = x * p[k]
        x = np.sin(out)
    return out


@pytest.mark.parametrize("argnum", [0, 1])
def test_loop_over_array_rows(argnum):
    r = np.random.default_rng(1)
    check(over_rows, (r.normal(size=(4, 3)), r.normal(size=3)), argnum)


@pytest.mark.parametrize("argnum", [0, 2])
def test_rnn_preactivation_read_after_loop(argnum):
    r = np.random.default_rng(1)
    check(rnn_preactivation, (0.5 * r.normal(size=(3, 3)), r.normal(size=(4, 3)),
                              r.normal(size=3)), argnum)


def test_loop_over_dict():
    p = {"a": 0.5, "b": 2.0}
    want = (over_dict(p, 0.3 + EPS) - over_dict(p, 0.3 - EPS)) / (2 * EPS)
    assert tangent_src.grad(over_dict, wrt=1)(p, 0.3) == pytest.approx(want, rel=1e-6)
