"""User code that forwards its arguments (`*args` wrappers, closure factories taking a
function) and nests derivatives (a grad inside a differentiated function, a transform held
in a variable, jacobian of jacobian): each differentiated as written, in both modes and to
second order, against central finite differences (tangent_src.check_grads, and
fdcheck.numerical_grad where a derivative is compared directly)."""
from __future__ import annotations

import functools

import numpy as np
import pytest
from fdcheck import numerical_grad
from scipy.stats import multivariate_normal

import tangent_src
from tangent_src.errors import UnsupportedSyntaxError

BOTH = ("fwd", "rev")
rng = np.random.default_rng(7)


# -- 1. a nested grad of a function returning an array of one element ---------------------

def column_energy(x):
    """x is a column (n, 1): the sum down the column is an array of shape (1,)."""
    return np.sum(np.sin(x) * x, axis=0)


def row_energy(x):
    """x is a row (1, n): summed along axis 1 with keepdims, shape (1, 1)."""
    return np.sum(np.tanh(x) ** 2, axis=1, keepdims=True)


def total_keepdims(x):
    return np.sum(np.cos(x), keepdims=True)


def column_keepdims(x):
    return np.sum(np.exp(0.3 * x), axis=0, keepdims=True)


def row_sum(x):
    return np.sum(x ** 3, axis=1)


@pytest.mark.parametrize("energy, shape", [
    (column_energy, (4, 1)), (row_energy, (1, 3)), (total_keepdims, (3, 2)),
    (column_keepdims, (3, 1)), (row_sum, (1, 4))])
def test_a_nested_grad_of_a_one_element_array_output(energy, shape):
    def gradient_penalty(x):
        g = tangent_src.grad(energy)(x)  # seeded with ones in the output's shape
        return np.sum(g ** 2) + 0.1 * np.sum(energy(x))

    x = rng.normal(size=shape)
    # the inner gradient itself, as grad computes it at top level, against differences
    np.testing.assert_allclose(tangent_src.grad(energy)(x),
                               numerical_grad(lambda v: float(np.sum(energy(v))), (x,)),
                               rtol=1e-6, atol=1e-8)
    tangent_src.check_grads(gradient_penalty, (x,), order=2, modes=BOTH)


def test_a_nested_value_and_grad_of_a_one_element_output_keeps_the_value_shape():
    def loss(x, w):
        value, g = tangent_src.value_and_grad(column_keepdims)(x * w)
        assert np.shape(value) == (1, 1)
        return np.sum(value) * np.sum(g * w)

    tangent_src.check_grads(loss, (rng.normal(size=(3, 1)), rng.normal(size=(3, 1))),
                            order=2, modes=BOTH)


def test_a_nested_grad_of_a_vector_output_is_refused_as_at_top_level():
    def vector(x):
        return np.sin(x)

    def loss(x):
        return np.sum(tangent_src.grad(vector)(x))

    # the error grad raises at top level: an OutputTypeError, which is a TypeError
    for transform in (tangent_src.grad, tangent_src.jacfwd):
        with pytest.raises(tangent_src.errors.OutputTypeError,
                           match="grad requires vector to return a scalar"):
            transform(loss)(rng.normal(size=3))
    with pytest.raises(TypeError):
        tangent_src.grad(loss)(rng.normal(size=3))


# -- 5. a transform held in a variable inside the differentiated function ---------------

def potential(x):
    return np.sum(np.tanh(x) ** 2) + 0.5 * np.sum(x ** 4)


def test_a_grad_held_in_a_variable_drives_an_unrolled_descent():
    def after_descent(x, lr):
        dV = tangent_src.grad(potential)
        for _ in range(3):
            x = x - lr * dV(x)
        return potential(x)

    tangent_src.check_grads(after_descent, (rng.normal(size=4), 0.05), order=2,
                            modes=BOTH)


def test_a_value_and_grad_and_a_closure_grad_held_in_variables():
    def objective(x, w):
        value_and_slope = tangent_src.value_and_grad(potential)
        v, g = value_and_slope(x)
        slope_of = tangent_src.grad(lambda y: np.sum(np.sin(y * w)))  # reads w
        return v * np.sum(g) + np.sum(slope_of(x) * x)

    tangent_src.check_grads(objective, (rng.normal(size=3), rng.normal(size=3)), order=2,
                            modes=BOTH)


# -- 2. forwarding *args of a length the call fixes ---------------------------------------

def symmetrize_arg(fun, position):
    """autograd-style test helper: call `fun` with one argument made symmetric."""
    def sym(A):
        return 0.5 * (A + np.swapaxes(A, -1, -2))

    def symmetrized(*args, **kwargs):
        args = list(args)
        args[position] = sym(args[position])
        return fun(*args, **kwargs)

    return symmetrized


def quadratic(A, v, scale=1.0):
    return scale * v @ A @ v + np.sum(A ** 2)


def with_symmetric_first(fun):
    def wrapped(*args):
        return fun(*((0.5 * (args[0] + args[0].T),) + args[1:]))
    return wrapped


@pytest.mark.parametrize("make", [
    lambda: symmetrize_arg(quadratic, 0),
    lambda: with_symmetric_first(quadratic),
    lambda: symmetrize_arg(functools.partial(quadratic, scale=2.0), 0)])
def test_forwarding_wrappers_differentiated_directly(make):
    args = (rng.normal(size=(3, 3)), rng.normal(size=3))
    tangent_src.check_grads(make(), args, order=2, modes=BOTH)


def test_a_forwarding_wrapper_built_inside_the_differentiated_function():
    def log_density(x, mean, cov):
        pdf = symmetrize_arg(functools.partial(multivariate_normal.logpdf,
                                               allow_singular=False), 2)
        return pdf(x, mean, cov) + symmetrize_arg(quadratic, 0)(cov, x, scale=0.5)

    a = rng.normal(size=(3, 3))
    cov = a @ a.T + 3.0 * np.eye(3)
    tangent_src.check_grads(log_density, (rng.normal(size=3), rng.normal(size=3), cov),
                            order=2, modes=BOTH)


def test_nested_defs_with_star_args_and_keyword_only_parameters():
    def loss(W, b, x):
        def layer_sum(*layers, scale=1.0):
            total = 0.0
            for layer in layers:
                total = total + np.sum(np.tanh(layer))
            return scale * total

        pair = (W @ x, b)
        hidden = layer_sum(*pair)
        print("hidden", hidden)
        return hidden + layer_sum(b * x, scale=0.5)

    tangent_src.check_grads(loss, (rng.normal(size=(3, 3)), rng.normal(size=3),
                                   rng.normal(size=3)), order=2, modes=BOTH)


def softplus(z, beta=1.0):
    return np.log1p(np.exp(beta * z)) / beta


def test_a_closure_factory_taking_a_function():
    def make_layer(activation):
        def layer(W, h):
            return activation(W @ h)
        return layer

    def net(params, x):
        h = x
        for W in params:
            h = make_layer(np.tanh)(W, h)
        return np.sum(make_layer(functools.partial(softplus, beta=2.0))(params[0], h))

    params = [rng.normal(size=(3, 3)) for _ in range(2)]
    tangent_src.check_grads(net, (params, rng.normal(size=3)), order=2, modes=BOTH)


def test_a_list_that_may_grow_is_never_given_a_fixed_length():
    def grows(x, y):
        args = [x, y]
        if np.sum(x) > 0:
            args.append(x)
        return np.sum(np.hypot(*args[:2])) + len(args) * np.sum(sum_all(*args))

    with pytest.raises(UnsupportedSyntaxError, match="starred argument of unknown"):
        tangent_src.grad(grows)(rng.normal(size=2), rng.normal(size=2))

    def loops(x, y):
        args = (x, y)
        for k in range(2):
            args = args + (args[k] * y,)  # its length changes each time round
        return np.sum(sum_all(*args))

    with pytest.raises(UnsupportedSyntaxError, match="starred argument of unknown"):
        tangent_src.grad(loops)(rng.normal(size=2), rng.normal(size=2))


def sum_all(*values):
    total = 0.0
    for v in values:
        total = total + v
    return total


# -- 3. dict arguments of nested gradients; an empty dict -----------------------------------

def weighted_energy(params):
    A = 0.0
    B = 0.0
    for i, name in enumerate(sorted(params)):
        A = A + np.sum(np.sin(params[name])) * (i + 1.0)
        B = B + np.sum(np.cos(params[name]))
    return A + B


def test_a_nested_grad_of_a_dict_function_that_iterates_over_its_keys():
    def sharpness(params):
        g = tangent_src.grad(weighted_energy)(params)
        return np.sum(g["w"]) + np.sum(np.sin(g["w"])) + np.sum(np.sin(g["b"]))

    params = {"w": rng.normal(size=(3, 2)), "b": rng.normal(size=2),
              "extra": rng.normal(size=2)}
    tangent_src.check_grads(sharpness, (params,), order=2, modes=BOTH)


def test_an_empty_dict_argument_has_an_empty_gradient():
    def fun(options, x):
        return options.get("gain", x) ** 2

    assert tangent_src.grad(fun, wrt=(0, 1))({}, 2.0) == ({}, 4.0)
    tangent_src.check_grads(fun, ({}, 2.0), wrt=(0, 1), order=2, modes=BOTH)
    tangent_src.check_grads(fun, ({"gain": 3.0}, 2.0), wrt=(0, 1), order=2, modes=BOTH)


# -- 4. jacobian of jacobian --------------------------------------------------------------

def field(x):
    return np.sin(np.outer(x, x)) + np.cos(np.dot(x, x))


def test_jacobian_of_jacobian_matches_differences_of_the_jacobian():
    x = rng.normal(size=3)
    J = tangent_src.jacobian(field)
    for outer in (tangent_src.jacobian, tangent_src.jacfwd, tangent_src.jacrev):
        second = outer(J)(x)
        assert second.shape == (3, 3, 3, 3)
        for i, j in [(0, 1), (2, 2), (1, 0)]:
            for k in range(3):
                numeric = numerical_grad(lambda v, at=(i, j, k): float(J(v)[at]), (x,))
                np.testing.assert_allclose(second[i, j, k], numeric, rtol=1e-6, atol=1e-8)


def test_jacobians_inside_a_differentiated_loss():
    def loss(x, w):
        J = tangent_src.jacobian(field)(x * w)
        H = tangent_src.jacfwd(tangent_src.jacrev(field))(x)
        return np.sum(np.sin(J)) + 0.1 * np.sum(H ** 2)

    tangent_src.check_grads(loss, (rng.normal(size=2), rng.normal(size=2)), order=1,
                            modes=BOTH)
    tangent_src.check_grads(lambda x: np.sum(np.tanh(tangent_src.jacobian(field)(x))),
                            (rng.normal(size=2),), order=2, modes=BOTH)


def test_a_jacobian_with_aux_inside_a_loss_is_refused_with_the_hint():
    def with_aux(x):
        return np.sin(x), np.sum(x)

    def loss(x):
        J, aux = tangent_src.jacobian(with_aux, has_aux=True)(x)
        return np.sum(J) * aux

    with pytest.raises(UnsupportedSyntaxError, match="has_aux=True.*hessian"):
        tangent_src.grad(loss)(rng.normal(size=2))
