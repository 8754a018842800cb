"""User code as people write it: prints, logging, warnings and asserts in the
differentiated function (run on the values, once per call, never differentiated), lambdas
in every position, and NumPy functions differentiated directly.

Every derivative is checked against central finite differences (tests/fdcheck.py) in
reverse and forward mode; the output of the side effects is counted with capsys.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.errors import UnsupportedSyntaxError

RS = np.random.RandomState(0)
X = RS.randn(6, 3)
Y = X @ np.array([0.5, -1.0, 2.0]) + 0.1 * RS.randn(6)
LOG = logging.getLogger("user_code_lambdas")


def forward_grad(f, args, wrt=0):
    """The gradient with respect to argument `wrt`, one jvp per component (forward mode)."""
    x = np.asarray(args[wrt], dtype=float)
    out = np.zeros(x.shape)
    for idx in np.ndindex(x.shape):
        tangent = np.zeros(x.shape)
        tangent[idx] = 1.0
        tangents = tuple(tangent if k == wrt else np.zeros_like(np.asarray(a, dtype=float))
                         for k, a in enumerate(args))
        out[idx] = tangent_src.jvp(f, args, tangents)[1]
    return out if np.ndim(args[wrt]) else float(out)


def check_both_modes(f, args, wrt=0, rtol=1e-5, atol=1e-7):
    """Reverse and forward mode against finite differences."""
    expected = numerical_grad(f, args, wrt)
    np.testing.assert_allclose(tangent_src.grad(f, wrt=wrt)(*args), expected,
                               rtol=rtol, atol=atol)
    np.testing.assert_allclose(forward_grad(f, args, wrt), expected, rtol=rtol, atol=atol)


# -- side effects --------------------------------------------------------------------


def sgd_fit(lr, w0):
    """A few SGD steps on least squares, printing the loss as training scripts do."""
    w = w0
    for step in range(4):
        residual = X @ w - Y
        loss = np.mean(residual ** 2)
        print(f"step {step} loss {loss:.3f}")
        w = w - lr * 2.0 * X.T @ residual / len(Y)
    final = np.mean((X @ w - Y) ** 2)
    print("final", final)
    return final


def test_print_in_training_loop_runs_once_per_iteration_in_both_modes(capsys):
    args = (0.1, np.zeros(3))
    for wrt in (0, 1):
        expected = numerical_grad(sgd_fit, args, wrt)
        capsys.readouterr()
        for _ in range(2):  # on every call, not only the one that compiles
            np.testing.assert_allclose(tangent_src.grad(sgd_fit, wrt=wrt)(*args), expected,
                                       rtol=1e-5, atol=1e-7)
            lines = capsys.readouterr().out.splitlines()
            assert [line.split()[1] for line in lines[:4]] == ["0", "1", "2", "3"]
            assert len(lines) == 5 and lines[4].startswith("final")
    tangent = (1.0, np.zeros(3))
    value, derivative = tangent_src.jvp(sgd_fit, args, tangent)
    assert len(capsys.readouterr().out.splitlines()) == 5
    np.testing.assert_allclose(derivative, numerical_grad(sgd_fit, args, 0), rtol=1e-5)
    np.testing.assert_allclose(value, sgd_fit(*args))


def test_printed_values_are_the_primal_values(capsys):
    def f(x):
        y = np.sin(x) * x
        print("y =", y)
        return y * 2.0

    tangent_src.grad(f)(0.7)
    tangent_src.jvp(f, (0.7,), (1.0,))
    assert capsys.readouterr().out.splitlines() == [f"y = {np.sin(0.7) * 0.7}"] * 2


def test_checkpointed_loop_prints_each_iteration_once(capsys):
    def rollout(w):
        s = w
        with tangent_src.checkpoint(2):
            for i in range(6):
                s = np.sin(s) + w
                print("iteration", i)
        return s

    expected = numerical_grad(rollout, (0.3,))
    capsys.readouterr()
    np.testing.assert_allclose(tangent_src.grad(rollout)(0.3), expected, rtol=1e-6)
    assert capsys.readouterr().out.splitlines() == [f"iteration {i}" for i in range(6)]


def layer(W, h):
    """A module-level layer that reports its activations (called from the loss)."""
    out = np.tanh(W @ h)
    print("activation energy", np.sum(out ** 2))
    return out


def two_layers(W, h):
    return np.sum(layer(W, layer(W, h)))


def test_print_inside_called_user_function_once_per_call(capsys):
    W = RS.randn(3, 3) * 0.5
    h = np.ones(3)
    expected = numerical_grad(two_layers, (W, h), 0)
    capsys.readouterr()
    np.testing.assert_allclose(tangent_src.grad(two_layers)(W, h), expected, rtol=1e-5)
    assert len(capsys.readouterr().out.splitlines()) == 2
    check_both_modes(two_layers, (W, h), 1)


def test_second_order_prints_once_per_call(capsys):
    def f(x):
        print("evaluating at", x)
        return np.sin(x) * x ** 2

    d2 = tangent_src.grad(tangent_src.grad(f))
    capsys.readouterr()
    value = d2(0.4)
    assert len(capsys.readouterr().out.splitlines()) == 1
    d1 = tangent_src.grad(f)
    np.testing.assert_allclose(value, numerical_grad(lambda t: d1(t), (0.4,)), rtol=1e-5)


def test_value_and_grad_of_a_function_not_provably_scalar_prints_once(capsys):
    def mean_loss(w, X):
        print("batch of", len(X))
        return np.mean((X @ w) ** 2)

    w = np.array([0.3, -0.2, 0.1])
    capsys.readouterr()
    value, g = tangent_src.value_and_grad(mean_loss)(w, X)
    assert len(capsys.readouterr().out.splitlines()) == 1
    np.testing.assert_allclose(value, mean_loss(w, X))
    np.testing.assert_allclose(g, numerical_grad(mean_loss, (w, X)), rtol=1e-5)


def test_logging_warnings_and_assert_run_on_primal_values(caplog):
    def objective(w):
        loss = np.sum(np.log1p(w ** 2))
        LOG.info("loss %.4f", loss)
        logging.debug("weights %s", w)
        if loss > 100.0:
            warnings.warn("loss diverged", stacklevel=2)
        assert np.all(np.isfinite(w)), f"bad weights {w}"
        return loss

    w = np.array([0.5, -1.5, 2.0])
    with caplog.at_level(logging.INFO, logger="user_code_lambdas"):
        check_both_modes(objective, (w,))
    assert sum("loss" in r.getMessage() for r in caplog.records) >= 2
    with pytest.warns(UserWarning, match="diverged"):
        tangent_src.grad(objective)(np.full(3, 1e20))
    with pytest.raises(AssertionError, match="bad weights"):
        tangent_src.grad(objective)(np.array([np.nan, 1.0, 2.0]))
    with pytest.raises(AssertionError, match="bad weights"):
        tangent_src.jvp(objective, (np.array([np.nan, 1.0, 2.0]),), (np.ones(3),))


def report(epoch, loss):
    """Prints only: a bare call of it in a differentiated function is a side effect."""
    print(f"epoch {epoch}: {loss:.4f}")


def sgd_inplace(w, g):
    w -= 0.1 * g


def test_bare_call_of_user_function_that_only_prints(capsys):
    def train(w):
        total = 0.0
        for epoch in range(3):
            total = total + np.sum(np.cos(w * (epoch + 1)))
            report(epoch, total)
        return total

    w = np.array([0.2, 0.4])
    check_both_modes(train, (w,))
    capsys.readouterr()
    tangent_src.grad(train)(w)
    assert [line.split(":")[0] for line in capsys.readouterr().out.splitlines()] == \
        ["epoch 0", "epoch 1", "epoch 2"]


def test_bare_call_of_user_function_that_writes_into_an_argument_is_refused():
    def loss(w):
        g = 2.0 * w
        sgd_inplace(w, g)
        return np.sum(w ** 2)

    with pytest.raises(UnsupportedSyntaxError, match="expression statement") as info:
        tangent_src.grad(loss)(np.ones(2))
    assert "sgd_inplace" in str(info.value) and "only report" in str(info.value)


# -- lambdas -------------------------------------------------------------------------

softplus = lambda z: np.log1p(np.exp(z))  # noqa: E731
square, cube = (lambda z: z * z), (lambda z: z ** 3)  # noqa: E731
damped = (lambda t:  # noqa: E731
          np.exp(-0.5 * t)
          * np.sin(3.0 * t))


def mlp_loss(params, x, y):
    """An MLP whose activation is a module-level lambda."""
    h = x
    for W, b in params[:-1]:
        h = softplus(h @ W + b)
    W, b = params[-1]
    return np.mean((h @ W + b - y) ** 2)


def test_grad_of_lambda_literals_and_assigned_lambdas():
    check_both_modes(lambda x: np.sin(x) * x, (0.5,))
    check_both_modes(softplus, (0.3,))
    check_both_modes(square, (1.7,))
    check_both_modes(cube, (1.7,))
    check_both_modes(damped, (0.8,))
    second = tangent_src.grad(tangent_src.grad(lambda x: np.sin(x) * x))(0.5)
    np.testing.assert_allclose(second, 2 * np.cos(0.5) - 0.5 * np.sin(0.5), rtol=1e-10)


def test_lambda_closing_over_data_and_multiple_parameters():
    w = np.array([0.5, -0.2, 0.1])
    objective = lambda w, lam: np.mean((X @ w - Y) ** 2) + lam * np.sum(w ** 2)  # noqa: E731
    check_both_modes(lambda v: objective(v, 0.3), (w,))
    check_both_modes(objective, (w, 0.3), 1)
    hvp = tangent_src.hvp(lambda v: objective(v, 0.3))(w, np.ones(3))
    expected = (2.0 * X.T @ X / len(Y) + 0.6 * np.eye(3)) @ np.ones(3)
    np.testing.assert_allclose(hvp, expected, rtol=1e-8)


def test_module_level_lambda_as_activation_in_a_layer_loop():
    params = [(RS.randn(3, 4) * 0.5, RS.randn(4) * 0.1), (RS.randn(4, 1) * 0.5, np.zeros(1))]
    y = Y[:, None]
    expected = numerical_grad(lambda W: mlp_loss([(W, params[0][1]), params[1]], X, y),
                              (params[0][0],))
    got = tangent_src.grad(mlp_loss)(params, X, y)
    np.testing.assert_allclose(got[0][0], expected, rtol=1e-5, atol=1e-8)
    check_both_modes(lambda W: mlp_loss([(W, params[0][1]), params[1]], X, y),
                     (params[0][0],))


def apply_twice(f, x):
    return f(f(x))


def dense(W, x, activation):
    return activation(W @ x)


def test_lambda_passed_to_a_user_function():
    def f(x):
        return apply_twice(lambda t: np.sin(t) * t, x) + apply_twice(square, x)

    check_both_modes(f, (0.6,))
    W = RS.randn(2, 3)

    def net(x):
        h = dense(W, x, activation=lambda z: np.maximum(z, 0.1 * z))
        return np.sum(dense(W.T, h, lambda z: np.tanh(z)) ** 2)

    check_both_modes(net, (np.array([0.3, -0.4, 0.9]),))

    def with_local(x):
        act = lambda z: np.exp(-z * z)  # noqa: E731
        return np.sum(apply_twice(act, x))

    check_both_modes(with_local, (np.array([0.2, 0.7]),))


def test_immediately_called_and_tuple_bound_lambdas():
    def f(x):
        g, h = lambda z: 2.0 * z, lambda z: np.sin(z)
        return (lambda z: z * z)(x) + g(h(x)) + (lambda a, b: a * b)(x, np.cos(x))

    check_both_modes(f, (0.9,))
    second = tangent_src.grad(tangent_src.grad(f))(0.9)
    first = tangent_src.grad(f)
    np.testing.assert_allclose(second, numerical_grad(lambda t: first(t), (0.9,)), rtol=1e-5)


def test_lambda_that_prints(capsys):
    def f(x):
        show = lambda v: print("value", v)  # noqa: E731
        show(x)
        return x * np.exp(x)

    check_both_modes(f, (0.4,))
    capsys.readouterr()
    tangent_src.grad(f)(0.4)
    assert capsys.readouterr().out.splitlines() == ["value 0.4"]


# -- registered functions differentiated directly ------------------------------------


def test_numpy_functions_differentiated_directly():
    for func, x in ((np.tanh, 2.0), (np.sin, 2.0), (np.exp, 0.5), (np.log1p, 0.3)):
        check_both_modes(func, (x,))
    value, g = tangent_src.value_and_grad(np.exp)(2.0)
    np.testing.assert_allclose((value, g), (np.exp(2.0), np.exp(2.0)))
    np.testing.assert_allclose(tangent_src.grad(tangent_src.grad(np.tanh))(2.0),
                               -2 * np.tanh(2.0) / np.cosh(2.0) ** 2, rtol=1e-10)
    x = np.array([0.1, 0.5, -0.3])
    np.testing.assert_allclose(tangent_src.jacobian(np.sin)(x), np.diag(np.cos(x)))
    np.testing.assert_allclose(tangent_src.grad(np.linalg.norm)(x), x / np.linalg.norm(x))


def test_prints_in_branches_and_while_loops(capsys):
    def f(w):
        s = 0.0
        for i in range(4):
            s = s + np.sin(w * i)
            if i % 2 == 0:
                print("even", i, s)
            else:
                print("odd {:.3f}".format(s))  # noqa: UP032
        k = 0
        while k < 2:
            s = np.cos(s)
            print("k", k)
            k = k + 1
        return s

    check_both_modes(f, (0.3,))
    capsys.readouterr()
    tangent_src.grad(f)(0.3)
    tangent_src.grad(tangent_src.grad(f))(0.3)
    assert len(capsys.readouterr().out.splitlines()) == 12


def test_nested_procedures_without_return(capsys):
    def f(x):
        outs = []

        def log(v):
            print("v", v)

        def push(v):
            outs.append(np.sin(v))

        for k in range(3):
            push(x * k)
            log(k)
        return sum(outs)

    check_both_modes(f, (0.3,))
    capsys.readouterr()
    tangent_src.grad(f)(0.3)
    assert capsys.readouterr().out.splitlines() == ["v 0", "v 1", "v 2"]


def test_nested_def_passed_to_a_user_function():
    """Was refused ("using the nested function as a value"); now the callee is expanded
    with its parameter bound to the nested function."""
    from test_local_functions import nested_def_passed

    check_both_modes(nested_def_passed, (np.array([0.3, 0.7]),))
