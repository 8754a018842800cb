"""More constructs real programs (and other autodiff libraries' test suites) use:
`*args`/`**kwargs` wrappers and lambdas, starred calls of a packed tuple, nested functions
and lambdas passed to a transform inside the differentiated function (the derivative
flowing through the variables they capture), loops over lists of functions, dicts built
with `dict(...)` and read with `.get`/`.items()`/`.values()`/`sorted(...)`, asserts under
second order, `astype`, `np.int64` casts used as indices, `operator.*` transformed
directly, and outputs of one element (shape (1,) or (1, 1)).

Every derivative is checked against float64 central finite differences of the program
itself (tests/fdcheck.py, and a small pytree helper below), in reverse mode (grad) and in
forward mode (jvp along a random direction); second order with hessian/hvp against
differences of the first-order gradient, and with tangent_src.check_grads(order=2).
"""
from __future__ import annotations

import operator

import numpy as np
import pytest

import tangent_src
from tests.fdcheck import numerical_grad, tree_flat, tree_numerical_grad, tree_rebuild

RTOL, ATOL = 1e-5, 1e-6
RNG = np.random.default_rng(7)
X3 = np.array([0.3, -0.7, 1.1])
A = np.array([[2.0, 0.5, 0.1], [0.3, 1.5, -0.2], [0.1, 0.4, 3.0]])


# ============================================================ pytree finite differences
def check_both_modes(f, args, wrt=0):
    """grad (reverse) and jvp (forward, along a random direction) of `f` against central
    differences, for argument `wrt`; returns the gradient."""
    g = tangent_src.grad(f, wrt=wrt)(*args)
    expected = tree_numerical_grad(f, args, wrt)
    np.testing.assert_allclose(tree_flat(g), expected, rtol=RTOL, atol=ATOL)
    direction = RNG.normal(size=expected.size)
    tangents = tuple(tree_rebuild(a, direction) if k == wrt else tree_rebuild(a, 0.0 * tree_flat(a))
                     for k, a in enumerate(args))
    _, tangent = tangent_src.jvp(f, args, tangents)
    np.testing.assert_allclose(float(np.sum(tangent)), expected @ direction,
                               rtol=RTOL, atol=ATOL)
    return g


def check_hessian(f, x):
    """hessian(f)(x) against central differences of the (checked) gradient."""
    h = tangent_src.hessian(f)(x)
    df = tangent_src.grad(f)
    eps = 1e-6
    expected = np.zeros((x.size, x.size))
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = eps
        expected[:, i] = (df(x + step.reshape(x.shape)) - df(x - step.reshape(x.shape))
                          ).ravel() / (2 * eps)
    np.testing.assert_allclose(np.reshape(h, expected.shape), expected, rtol=1e-5,
                               atol=1e-6)


# ============================================================ models the tests use
def mvn_logpdf(x, mean, cov):
    """A stats-style function taking a covariance matrix."""
    diff = x - mean
    return -0.5 * diff @ np.linalg.solve(cov, diff) - 0.5 * np.log(np.linalg.det(cov))


def symmetrize(m):
    return 0.5 * (m + m.T)


def energy(W, v):
    return np.sum(np.tanh(W @ v))


SPD = A @ A.T + 3.0 * np.eye(3)


# ============================================================ 1, 2: *args / **kwargs
def test_lambda_star_args_symmetrizes_then_calls_stats_function():
    new_fun = lambda *args: mvn_logpdf(args[0], args[1], symmetrize(args[2]))  # noqa: E731
    for k in range(3):
        check_both_modes(new_fun, (X3, 0.1 * X3, SPD), wrt=k)


def test_lambda_star_args_sliced_into_a_starred_call():
    new_fun = lambda *args: energy(symmetrize(args[0]), *args[1:])  # noqa: E731
    check_both_modes(new_fun, (A, X3), wrt=0)
    check_both_modes(new_fun, (A, X3), wrt=1)


def symmetrized(*args, **kwargs):
    """The wrapper style of test suites: forward everything to the wrapped function."""
    return mvn_logpdf(*args, **kwargs)


def test_star_args_kwargs_wrapper_forwards_everything():
    def loss(x, cov):
        return symmetrized(x, 0.5 * x, cov=symmetrize(cov))
    check_both_modes(loss, (X3, SPD), wrt=0)
    check_both_modes(loss, (X3, SPD), wrt=1)


def apply_packed(f_args):
    """A helper that unpacks a parameter tuple into a call."""
    return mvn_logpdf(*f_args)


def test_starred_parameter_tuple_of_known_length_at_the_call():
    def loss(x, cov):
        packed = (x, 0.5 * x, symmetrize(cov))
        return apply_packed(packed) + apply_packed((x, -x, cov))
    check_both_modes(loss, (X3, SPD), wrt=0)
    check_both_modes(loss, (X3, SPD), wrt=1)
    tangent_src.check_grads(loss, (X3, SPD), order=2)


def test_grad_of_star_args_function_of_any_arity():
    def total(*xs):
        s = 0.0
        for x in xs:
            print("term", np.shape(x))
            s = s + np.sum(np.sin(x) * x)
        return s
    for n in (1, 2, 3):
        args = tuple(X3 * (k + 1) for k in range(n))
        for k in range(n):
            check_both_modes(total, args, wrt=k)


def test_root_function_with_keyword_arguments_by_name():
    def model(W, *inputs, scale=1.0, **extra):
        return scale * energy(W, inputs[0]) + np.sum(extra["bias"] ** 2)
    bias = np.array([0.2, -0.4, 0.6])
    g = tangent_src.grad(model, wrt=(0, 1))(A, X3, scale=2.0, bias=bias)
    np.testing.assert_allclose(
        g[0], numerical_grad(lambda W: model(W, X3, scale=2.0, bias=bias), (A,)),
        rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        g[1], numerical_grad(lambda v: model(A, v, scale=2.0, bias=bias), (X3,)),
        rtol=RTOL, atol=ATOL)
    db = tangent_src.grad(model, wrt="bias")(A, X3, scale=2.0, bias=bias)
    np.testing.assert_allclose(
        db, numerical_grad(lambda b: model(A, X3, scale=2.0, bias=b), (bias,)),
        rtol=RTOL, atol=ATOL)


def test_star_args_function_with_defaults_left_out():
    def model(W, *inputs, scale=1.0, **extra):
        return scale * energy(W, inputs[0])
    g = tangent_src.grad(model)
    np.testing.assert_allclose(g(A, X3), numerical_grad(lambda W: model(W, X3), (A,)),
                               rtol=RTOL, atol=ATOL)
    model.__kwdefaults__ = {"scale": 3.0}  # the new default is used
    np.testing.assert_allclose(g(A, X3), numerical_grad(lambda W: model(W, X3), (A,)),
                               rtol=RTOL, atol=ATOL)

    def shifted(a, b=2.0, *rest):
        return a * b + np.sum(np.array(rest) ** 2) if rest else a * b
    for args in ((1.0,), (1.0, 3.0), (1.0, 3.0, 4.0)):
        check_both_modes(shifted, args)


def test_star_args_second_order():
    f = lambda *a: np.sum(np.sin(a[0]) * a[1] ** 2)  # noqa: E731
    tangent_src.check_grads(f, (X3, 2.0 * X3), order=2)
    check_hessian(lambda x: f(x, 2.0 * X3), X3)


# ============================================================ 3: transforms of closures
def test_grad_of_nested_def_closing_over_the_variable():
    def outer(x):
        def inner(y):
            return y * x
        return x * tangent_src.grad(inner)(2.0)
    assert tangent_src.grad(outer)(1.5) == pytest.approx(3.0)  # d/dx x**2 = 2x
    check_both_modes(outer, (1.5,))
    tangent_src.check_grads(outer, (1.5,), order=2)


def test_lambda_calling_grad_of_a_local_def():
    def outer(x):
        def fun(y):
            return np.sin(y) * y
        d_fun = lambda z: tangent_src.grad(fun)(z)  # noqa: E731
        return d_fun(x)
    check_both_modes(outer, (0.7,))
    tangent_src.check_grads(outer, (0.7,), order=2)


def test_grad_of_lambda_capturing_array_items():
    def vector_entry(x):
        return tangent_src.grad(lambda y: np.exp(y) * np.tanh(x[0]))(x[1])
    check_both_modes(vector_entry, (np.array([0.3, -0.5]),))


def test_value_and_grad_of_closure_in_a_training_loop():
    def outer(w):
        total = 0.0
        for step in range(3):
            def loss(p):
                return np.sum((p * w - 1.0) ** 2)
            value, g = tangent_src.value_and_grad(loss)(w + step)
            print("step", step, value)
            total = total + value + np.sum(g * w)
        return total
    check_both_modes(outer, (X3,))


# ============================================================ 4: lists of functions
SCALAR_FUNS = [np.sin, lambda z: z * z, np.exp]


def test_comprehension_over_global_list_of_functions():
    def stacked(x):
        return np.sum(np.array([f(x) for f in SCALAR_FUNS]) * np.array([1.0, 2.0, 3.0]))
    check_both_modes(stacked, (0.4,))


def test_loop_over_closure_list_of_functions_and_growing_it():
    funs = [lambda x: np.sum(x ** 3), lambda x: np.prod(np.sin(x) + np.sin(x))]

    def vector_fun(x):
        return np.array([f(x) for f in funs])
    def entry(k):
        return lambda x: vector_fun(x)[k]
    for k in range(2):
        check_both_modes(entry(k), (X3,))
    jac = tangent_src.jacobian(vector_fun)(X3)
    for k in range(2):
        np.testing.assert_allclose(jac[k], numerical_grad(entry(k), (X3,)),
                                   rtol=RTOL, atol=ATOL)
    funs.append(lambda x: np.sum(np.cos(x)))  # the code generated for two is stale
    jac = tangent_src.jacobian(vector_fun)(X3)
    np.testing.assert_allclose(jac[2], numerical_grad(lambda x: np.sum(np.cos(x)), (X3,)),
                               rtol=RTOL, atol=ATOL)


# ============================================================ 5: dicts
PARAMS = {"w": np.array([0.5, -0.3, 0.8]), "b": 0.25, "a": np.array([1.0, -2.0])}


def test_dict_built_with_dict_call():
    def f(x):
        d = dict([("a", x)], b=2.0 * x)
        e = dict({"c": d["a"] * d["b"]})
        return e["c"] + d.get("a", 0.0)
    check_both_modes(f, (0.4,))


def test_dict_get_with_missing_key_default_and_present_key():
    def f(params, x):
        return params.get("w", x) ** 2 + params.get("missing", x) * 3.0
    for k in (0, 1):
        check_both_modes(f, ({"w": 1.5}, 2.0), wrt=k)
    tangent_src.check_grads(f, ({"w": 1.5}, 2.0), order=2)


def test_sorted_items_values_keys_of_params():
    def model(params):
        total = 0.0
        for i, (name, value) in enumerate(sorted(params.items(),
                                                 key=operator.itemgetter(0))):
            print("param", i, name)
            total = total + (i + 1.0) * np.sum(np.sin(value))
        for value in params.values():
            total = total + np.sum(value ** 2)
        for name in sorted(params.keys()):
            total = total + np.sum(np.cos(params[name]))
        return total
    check_both_modes(model, (PARAMS,))


def test_local_dict_items_as_a_list():
    def model(x):
        layers = {"first": x, "second": 2.0 * x}
        pairs = sorted(layers.items(), key=lambda kv: kv[0])
        values = list(layers.values())
        return np.sum(pairs[0][1] * values[1])
    check_both_modes(model, (X3,))


def test_dict_valued_function_second_order():
    def f(x):
        return {"a": x, "b": np.sin(x)}
    tangent_src.check_grads(f, (0.3,), order=2)


# ============================================================ 6: assert, second order
def test_hessian_and_hvp_of_function_with_assert():
    def f(x):
        assert len(x) == 3, "three coordinates"
        return np.sum(np.sin(x) * x)
    check_hessian(f, X3)
    v = np.array([1.0, -1.0, 0.5])
    np.testing.assert_allclose(tangent_src.hvp(f)(X3, v), tangent_src.hessian(f)(X3) @ v,
                               rtol=1e-10)
    with pytest.raises(AssertionError, match="three coordinates"):
        tangent_src.hessian(f)(np.ones(4))


# ============================================================ 7: astype and int casts
def test_astype_float64_string_and_integer():
    def f(x):
        return np.sum(x.astype("float64") ** 2) + np.sum(np.sin(x.astype(float))) + \
            np.sum(x.astype("int64") * x)
    check_both_modes(f, (X3,))
    tangent_src.check_grads(f, (X3,), order=2)


def test_astype_float64_of_float32_keeps_gradient_dtype():
    x = np.arange(3, dtype="float32")
    g = tangent_src.grad(lambda x: np.sum(np.sin(x.astype("float64"))))(x)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-6)


def test_np_int64_cast_used_as_index():
    def f(W):
        glued = np.concatenate((W, np.ones((4, 1))), axis=1)
        new_W = W[:, :-1]
        rows = np.int64(W[:, -1])
        assert rows.dtype == np.int64
        return np.sum(new_W[rows] ** 2) + np.sum(glued)
    W = RNG.normal(size=(4, 5))
    W[:, -1] = [0.5, 2.5, 1.5, 3.5]
    check_both_modes(f, (W,))


# ============================================================ 8: operator.*
@pytest.mark.parametrize("op", [operator.add, operator.sub, operator.mul,
                                operator.truediv, operator.mod, operator.pow])
def test_operator_functions_transformed_directly(op):
    a, b = 1.3, 0.7
    g = tangent_src.grad(op, wrt=(0, 1))(a, b)
    expected = numerical_grad(op, (a, b), wrt=(0, 1))
    np.testing.assert_allclose(g, expected, rtol=RTOL, atol=ATOL)
    _, t = tangent_src.jvp(op, (a, b), (1.0, -2.0))
    np.testing.assert_allclose(t, expected[0] - 2.0 * expected[1], rtol=RTOL, atol=ATOL)
    tangent_src.check_grads(op, (a, b), order=2)


def test_operator_neg_and_matmul_directly():
    np.testing.assert_allclose(tangent_src.grad(operator.neg)(0.4), -1.0)
    g = tangent_src.grad(lambda v: operator.matmul(v, A @ v))(X3)
    np.testing.assert_allclose(g, numerical_grad(lambda v: v @ A @ v, (X3,)), rtol=RTOL)


# ============================================================ 9: outputs of one element
def test_grad_of_size_one_outputs():
    col = X3.reshape(3, 1)
    quad = lambda x: np.dot(x.T, A @ x)  # noqa: E731  (shape (1, 1))
    g = tangent_src.grad(quad)(col)
    assert g.shape == (3, 1)
    np.testing.assert_allclose(g, numerical_grad(lambda x: float(quad(x)[0, 0]), (col,)),
                               rtol=RTOL, atol=ATOL)
    summed = lambda x: np.sum(np.sin(x), axis=0, keepdims=True)  # noqa: E731  (shape (1,))
    value, g = tangent_src.value_and_grad(summed)(col)
    assert np.shape(value) == (1, 1)
    np.testing.assert_allclose(g, np.cos(col), rtol=1e-12)
    g = tangent_src.grad(lambda x: np.sin(x[1:2]) * 3.0)(X3)
    np.testing.assert_allclose(g, [0.0, 3.0 * np.cos(X3[1]), 0.0], rtol=1e-12)
    # more than one element: still refused (use vjp), as before
    with pytest.raises(tangent_src.errors.NotDifferentiableError, match="shape \\(2,\\)"):
        tangent_src.grad(lambda x: x[1:3])(X3)
