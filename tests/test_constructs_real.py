"""Constructs real programs write, differentiated as written: `map(lambda ...)`, starred calls
(`zip(*unpack(params))`), generator functions iterated by a loop, nested `grad` inside a
differentiated function, tables of functions keyed by an argument string, and bounded
recursion.

Every program is written the way users write them (layer loops over `params`, `print` in
loops, closures) and checked in both modes -- reverse (`grad`) and forward (`jvp`) --
against central finite differences of the program itself (the small pytree helper below,
independent of tangent_src). Programs that stay refused assert a located
UnsupportedSyntaxError pointing into this file.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import tangent_src
from tangent_src.errors import UnsupportedSyntaxError
from tests.fdcheck import tree_flat, tree_numerical_grad, tree_rebuild

HERE = os.path.abspath(__file__)
RTOL, ATOL = 1e-5, 1e-6


# ============================================================ pytree finite differences
def _zero_like(value):
    if isinstance(value, (dict, list, tuple, np.ndarray, float)):
        return tree_rebuild(value, np.zeros(tree_flat(value).size))
    return None  # an int, a string: no tangent


def check_both_modes(f, args, wrt=0):
    """grad(f) and jvp(f) against central finite differences of f (args are not changed)."""
    expected = tree_numerical_grad(f, args, wrt)
    grad = tangent_src.grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(tree_flat(grad), expected, rtol=RTOL, atol=ATOL,
                               err_msg=f"{f.__name__}: reverse mode")
    direction = tree_rebuild(args[wrt], np.random.RandomState(7).randn(expected.size))
    tangents = tuple(direction if k == wrt else _zero_like(a) for k, a in enumerate(args))
    value, tangent = tangent_src.jvp(f, tuple(args), tangents)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tangent, expected @ tree_flat(direction), rtol=RTOL, atol=ATOL,
                               err_msg=f"{f.__name__}: forward mode")


def assert_located_refusal(run, fragment):
    """`run()` raises an UnsupportedSyntaxError naming `fragment`, located in this file."""
    with pytest.raises(UnsupportedSyntaxError) as info:
        run()
    assert fragment in str(info.value)
    assert os.path.abspath(info.value.filename) == HERE and info.value.lineno > 0


rs = np.random.RandomState(0)
PARAMS = [(rs.randn(3, 4), rs.randn(4)), (rs.randn(4, 2), rs.randn(2))]
BATCHES = [rs.randn(5, 3), rs.randn(2, 3)]


def net(params, x):
    for W, b in params:
        x = np.tanh(x @ W + b)
    return x


# ============================================================ 1. map(lambda ...)
def loss_sum_map_lambda(params, batches):
    return sum(map(lambda x: np.sum(net(params, x) ** 2), batches))


def loss_list_map_lambda_print(params, batches):
    outs = list(map(lambda x: net(params, x), batches))
    total = 0.0
    for i, out in enumerate(outs):
        print("batch", i)
        total = total + np.mean(out)
    return total


def loss_map_lambda_two_sequences(params, batches):
    Ws = [W for W, b in params]
    return sum(map(lambda W, x: np.sum(np.sin(x @ W)), Ws, [batches[0], batches[0] @ Ws[0]]))


def loss_map_lambda_shadows_argument(x, scale):
    ys = list(map(lambda x: x * scale, [x, 2.0 * x]))
    return np.sum(ys[0] * ys[1]) + np.sum(x)


def loss_tuple_map_lambda(params, batches):
    t = tuple(map(lambda x: np.sum(net(params, x)), batches))
    return t[0] * t[1]


def loss_map_lambda_reads_loop_variable(params, batches):
    total = 0.0
    for k in range(2):
        total = total + sum(map(lambda x: np.sum(net(params, x)) * (k + 1), batches))
    return total


MAP_LAMBDA = [loss_sum_map_lambda, loss_list_map_lambda_print, loss_map_lambda_two_sequences,
              loss_tuple_map_lambda, loss_map_lambda_reads_loop_variable]


@pytest.mark.parametrize("f", MAP_LAMBDA, ids=lambda f: f.__name__)
def test_map_lambda(f):
    check_both_modes(f, (PARAMS, BATCHES))


def test_map_lambda_whose_parameter_shadows_an_argument():
    check_both_modes(loss_map_lambda_shadows_argument, (rs.randn(3), 1.5))
    check_both_modes(loss_map_lambda_shadows_argument, (rs.randn(3), 1.5), wrt=1)


# ============================================================ 2. starred calls: zip(*unpack(...))
MIXTURE = {"logits": rs.randn(3), "means": rs.randn(3, 2), "log_scales": 0.3 * rs.randn(3, 2)}
DATA = rs.randn(4, 2)


def unpack_mixture(params):
    log_weights = params["logits"] - np.log(np.sum(np.exp(params["logits"])))
    return log_weights, params["means"], np.exp(params["log_scales"])


def unpack_mixture_list(params):
    """A list display on both paths of an if: the length is still fixed."""
    if params["logits"][0] > 100.0:
        return [params["logits"], params["means"], params["log_scales"]]
    return [params["logits"] * 1.0, params["means"], np.exp(params["log_scales"])]


def component_ll(log_weight, mean, scale, x):
    return log_weight + np.sum(-0.5 * ((x - mean) / scale) ** 2 - np.log(scale), axis=-1)


def mixture_zip_star(params, data):
    lls = []
    for log_weight, mean, scale in zip(*unpack_mixture(params)):
        print("component weight", log_weight)
        lls.append(component_ll(log_weight, mean, scale, data))
    return np.sum(np.log(np.sum(np.exp(np.stack(lls)), axis=0)))


def mixture_zip_star_list(params, data):
    total = 0.0
    for log_weight, mean, scale in zip(*unpack_mixture_list(params)):
        total = total + np.sum(component_ll(log_weight, mean, scale, data))
    return total


def mixture_star_into_user_function(params, data):
    w, m, s = unpack_mixture(params)
    return np.sum(component_ll(*unpack_mixture(params), data[:, None, :])) + np.sum(w * m[:, 0])


def sin_cos(x):
    return np.sin(x), np.cos(x)


def sum_of_squares(*arrays):
    s = 0.0
    for a in arrays:
        s = s + np.sum(a * a)
    return s


def star_into_variadic_helper(x):
    return sum_of_squares(*sin_cos(x)) + sum_of_squares(x, *sin_cos(2.0 * x))


def star_nested_function_and_display(x):
    def halves(v):
        return v[:2], v[2:]
    joined = np.concatenate([*halves(x)])
    return np.sum(np.maximum(*halves(x * x))) + np.sum(joined ** 3) + \
        np.sum(np.stack([*sin_cos(x), x]))


@pytest.mark.parametrize("f", [mixture_zip_star, mixture_zip_star_list,
                               mixture_star_into_user_function], ids=lambda f: f.__name__)
def test_starred_call_of_a_function_returning_a_tuple(f):
    check_both_modes(f, (MIXTURE, DATA))


@pytest.mark.parametrize("f", [star_into_variadic_helper, star_nested_function_and_display],
                         ids=lambda f: f.__name__)
def test_starred_call_into_helpers_and_displays(f):
    check_both_modes(f, (rs.randn(4),))


def returns_two_or_three(x):
    if x[0] > 0:
        return x, x
    return x, x, x


def star_of_varying_length(x):
    return np.sum(np.maximum(*returns_two_or_three(x)))


def star_of_argument(xs):
    return np.sum(np.maximum(*xs))


@pytest.mark.parametrize("f, arg", [(star_of_varying_length, np.ones(3)),
                                    (star_of_argument, [np.ones(3), np.zeros(3)])],
                         ids=["varying_length", "argument"])
def test_starred_value_of_unknown_length_is_a_located_refusal(f, arg):
    assert_located_refusal(lambda: tangent_src.grad(f)(arg), "starred argument of unknown")
    assert_located_refusal(lambda: tangent_src.jvp(f, (arg,), (arg,)),
                           "starred argument of unknown")


# ============================================================ 3. generators consumed by a loop
SHAPES = [(3, 4), (4, 2)]
FLAT = rs.randn(3 * 4 + 4 + 4 * 2 + 2)
INPUTS = rs.randn(5, 3)


def unpack_layers(flat, shapes):
    start = 0
    for m, n in shapes:
        yield flat[start:start + m * n].reshape((m, n)), flat[start + m * n:start + m * n + n]
        start += m * n + n


def mlp_generator_loop(flat, x):
    h = x
    for W, b in unpack_layers(flat, SHAPES):
        h = np.tanh(h @ W + b)
    return np.sum(h ** 2)


def mlp_generator_enumerate_print(flat, x):
    h = x
    for i, (W, b) in enumerate(unpack_layers(flat, SHAPES)):
        print("layer", i, W.shape)
        h = np.tanh(h @ W + b)
    return np.sum(h ** 2)


def mlp_generator_listed(flat, x):
    layers = list(unpack_layers(flat, SHAPES))
    h = x
    for W, b in layers:
        h = np.tanh(h @ W + b)
    return np.sum(h) + np.sum(layers[0][0])


def layer_norms_generator(flat, shapes):
    for W, b in unpack_layers(flat, shapes):
        yield np.sum(W ** 2) + np.sum(b ** 2)


def mlp_generator_summed(flat, x):
    """sum(...) and tuple(...) of generators, one generator iterating another."""
    layers = tuple(unpack_layers(flat, SHAPES))
    h = np.tanh(x @ layers[0][0] + layers[0][1])
    return np.sum(h) + 0.1 * sum(layer_norms_generator(flat, SHAPES))


def make_bnn(shapes):
    """The autograd bayesian_neural_net style: the generator is a closure of a factory."""
    def unpack(weights):
        for m, n in shapes:
            yield weights[:m * n].reshape((m, n)), weights[m * n:m * n + n]
            weights = weights[(m + 1) * n:]

    def predict(weights, inputs):
        for W, b in unpack(weights):
            outputs = inputs @ W + b
            inputs = np.tanh(outputs)
        return outputs
    return predict


bnn_predict = make_bnn(SHAPES)


def bnn_loss(flat, x):
    return np.mean((bnn_predict(flat, x) - 1.0) ** 2) + 0.01 * np.sum(flat ** 2)


def scaled_layers(params, c):
    seen = []
    for W, b in params:
        seen.append(W)
        yield c * W, b


def net_over_scaled_layers(params, x):
    h = x
    for W, b in scaled_layers(params, 0.5):
        h = np.sin(h @ W + b)
    return np.sum(h)


@pytest.mark.parametrize("f", [mlp_generator_loop, mlp_generator_enumerate_print,
                               mlp_generator_listed, mlp_generator_summed, bnn_loss],
                         ids=lambda f: f.__name__)
def test_generator_consumed_by_a_loop(f):
    check_both_modes(f, (FLAT, INPUTS))


def test_generator_over_a_params_list():
    check_both_modes(net_over_scaled_layers, (PARAMS, BATCHES[0]))


def noisy_layers(flat, shapes):
    for m, n in shapes:
        print("unpacking", m, n)
        yield flat[:m * n].reshape((m, n))
        flat = flat[m * n + n:]


def loss_noisy_generator(flat):
    total = 0.0
    for W in noisy_layers(flat, SHAPES):
        total = total + np.sum(W ** 2)
    return total


def endless(flat):
    k = 0
    while True:
        yield flat * k
        k += 1


def loss_endless_generator(flat):
    total = 0.0
    for v in endless(flat):
        total = total + np.sum(v)
        if total > 10.0:
            break
    return total


def loss_generator_stepped_by_next(flat):
    layers = unpack_layers(flat, SHAPES)
    W, b = next(layers)
    return np.sum(W)


def loss_loop_writes_what_the_generator_reads(flat):
    w = flat * 1.0
    total = 0.0
    for W, b in unpack_layers(w, SHAPES):
        w[-1] = 0.0
        total = total + np.sum(W) + np.sum(b)
    return total


@pytest.mark.parametrize("f, fragment", [
    (loss_noisy_generator, "effect"), (loss_endless_generator, "while loop in a generator"),
    (loss_generator_stepped_by_next, "calling the generator function"),
    (loss_loop_writes_what_the_generator_reads, "changing 'w' in a loop over a generator")],
    ids=["print", "while", "next", "writes"])
def test_generator_that_is_not_its_list_is_a_located_refusal(f, fragment):
    assert_located_refusal(lambda: tangent_src.grad(f)(FLAT), fragment)
    assert_located_refusal(lambda: tangent_src.jvp(f, (FLAT,), (FLAT,)), fragment)


# ============================================================ 4. derivatives taken inside
def energy(x):
    return np.sum(np.sin(x) * x ** 2)


def loss_gradient_norm_penalty(x):
    g = tangent_src.grad(energy)(x)
    return energy(x) + 0.1 * np.sum(g ** 2)


d_energy = tangent_src.grad(energy)


def loss_named_gradient(x):
    return energy(x) + 0.1 * np.sum(d_energy(x) ** 2)


def mse(params, x, y):
    for W, b in params:
        x = np.tanh(x @ W + b)
    return np.mean((x - y) ** 2)


TARGETS = rs.randn(5, 2)


def meta_loss_one_sgd_step(params, lr):
    """Loss after one inner gradient step: differentiate it w.r.t. the learning rate and the
    initial parameters."""
    grads = tangent_src.grad(mse)(params, BATCHES[0], TARGETS)
    stepped = []
    for (W, b), (dW, db) in zip(params, grads):
        stepped.append((W - lr * dW, b - lr * db))
    print("inner loss", mse(stepped, BATCHES[0], TARGETS))
    return mse(stepped, BATCHES[0], TARGETS)


def input_gradient_penalty(params, x):
    gx = tangent_src.grad(mse, wrt=1)(params, x, TARGETS)
    return mse(params, x, TARGETS) + np.sum(gx ** 2)


def quartic(x, a):
    return 0.25 * x ** 4 - a * x


def newton_root(a):
    """Three Newton steps on quartic'(x) = 0 inside the function: value_and_grad and a
    second derivative grad(grad(...)), all differentiated again."""
    x = 1.0
    for i in range(3):
        value, slope = tangent_src.value_and_grad(quartic)(x, a)
        curvature = tangent_src.grad(tangent_src.grad(quartic))(x, a)
        x = x - slope / curvature
        print("newton step", i, value)
    return x


@pytest.mark.parametrize("f", [loss_gradient_norm_penalty, loss_named_gradient],
                         ids=lambda f: f.__name__)
def test_gradient_inside_a_differentiated_function(f):
    check_both_modes(f, (rs.randn(3),))


def test_meta_learning_through_an_inner_gradient_step():
    check_both_modes(meta_loss_one_sgd_step, (PARAMS, 0.3), wrt=1)
    check_both_modes(meta_loss_one_sgd_step, (PARAMS, 0.3), wrt=0)


def test_penalty_on_the_input_gradient():
    check_both_modes(input_gradient_penalty, (PARAMS, BATCHES[0]), wrt=0)
    check_both_modes(input_gradient_penalty, (PARAMS, BATCHES[0]), wrt=1)


def test_newton_steps_with_value_and_grad_and_second_derivative():
    check_both_modes(newton_root, (2.0,))


def squares(x):
    return x ** 2


def sum_of_vector_gradient(x):
    return np.sum(tangent_src.grad(squares)(x))


def test_inner_gradient_of_a_vector_function_fails_as_calling_it_does():
    x = np.ones(3)
    with pytest.raises(tangent_src.errors.NotDifferentiableError):
        sum_of_vector_gradient(x)
    with pytest.raises(tangent_src.errors.OutputTypeError,
                       match="requires squares to return a scalar"):
        tangent_src.grad(sum_of_vector_gradient)(x)


def gradient_of_a_local_function(x):
    def cube_sum(z):
        return np.sum(z ** 3)
    return np.sum(tangent_src.grad(cube_sum)(x))


def test_gradient_of_a_function_made_inside():
    """A nested def passed to grad inside: lifted to a function of its own (the outer
    variables it reads, none here, passed in); second derivatives of sum(z ** 3)."""
    x = rs.randn(3)
    g = tangent_src.grad(gradient_of_a_local_function)(x)
    np.testing.assert_allclose(g, tree_numerical_grad(gradient_of_a_local_function, (x,), 0),
                               rtol=RTOL, atol=ATOL)


# ============================================================ 5. tables of functions, run-time key
def relu(z):
    return np.maximum(z, 0.0)


def softplus(z):
    return np.log1p(np.exp(z))


ACTIVATIONS = {"tanh": np.tanh, "softplus": softplus, "sin": np.sin}


def net_local_table(params, x, activation):
    acts = {"tanh": np.tanh, "softplus": softplus, "sin": np.sin}
    for W, b in params:
        x = acts[activation](x @ W + b)
    return np.sum(x ** 2)


def net_module_table(params, x, activation):
    for i, (W, b) in enumerate(params):
        print("layer", i, activation)
        x = ACTIVATIONS[activation](x @ W + b)
    return np.sum(x ** 2)


def dense(W, b, x, activation="tanh"):
    acts = {"tanh": np.tanh, "sin": np.sin}
    return acts[activation](x @ W + b)


def net_string_passed_to_helper(params, x):
    h = dense(params[0][0], params[0][1], x, "sin")
    return np.sum(dense(params[1][0], params[1][1], h) ** 2)


@pytest.mark.parametrize("f", [net_local_table, net_module_table], ids=lambda f: f.__name__)
@pytest.mark.parametrize("activation", ["tanh", "softplus", "sin"])
def test_table_of_functions_keyed_by_an_argument_string(f, activation):
    check_both_modes(f, (PARAMS, BATCHES[0], activation))


def test_one_transform_called_with_different_strings_specializes_on_each():
    df = tangent_src.grad(net_local_table)
    for activation in ["tanh", "sin", "tanh", "softplus"]:
        np.testing.assert_allclose(
            tree_flat(df(PARAMS, BATCHES[0], activation)),
            tree_numerical_grad(net_local_table, (PARAMS, BATCHES[0], activation), 0),
            rtol=RTOL, atol=ATOL, err_msg=activation)


def test_string_key_passed_to_a_helper():
    check_both_modes(net_string_passed_to_helper, (PARAMS, BATCHES[0]))


def test_module_table_changed_after_differentiating():
    df = tangent_src.grad(net_module_table)
    df(PARAMS, BATCHES[0], "sin")
    old = ACTIVATIONS["sin"]
    ACTIVATIONS["sin"] = np.cos
    try:
        np.testing.assert_allclose(
            tree_flat(df(PARAMS, BATCHES[0], "sin")),
            tree_numerical_grad(net_module_table, (PARAMS, BATCHES[0], "sin"), 0),
            rtol=RTOL, atol=ATOL)
    finally:
        ACTIVATIONS["sin"] = old


def test_key_the_table_does_not_hold_is_a_located_refusal():
    for f in [net_local_table, net_module_table]:
        assert_located_refusal(lambda f=f: tangent_src.grad(f)(PARAMS, BATCHES[0], "elu"),
                               "elu" if f is net_module_table else "key of a table")


# ============================================================ standalone modules (the CLI's output)
@pytest.mark.parametrize("f, args", [
    (loss_gradient_norm_penalty, (np.array([0.3, -1.2, 0.8]),)), (newton_root, (2.0,)),
    (mixture_zip_star, (MIXTURE, DATA)), (mlp_generator_loop, (FLAT, INPUTS))],
    ids=lambda v: getattr(v, "__name__", ""))
def test_standalone_module_runs_without_tangent_src_state(f, args):
    namespace: dict = {}
    exec(compile(tangent_src.standalone_source(f), "<standalone>", "exec"), namespace)
    np.testing.assert_allclose(tree_flat(namespace["d" + f.__name__](*args)),
                               tree_numerical_grad(f, args, 0), rtol=RTOL, atol=ATOL)


# ============================================================ 6. recursion bounded by a literal
def power(x, n):
    return 1.0 if n == 0 else x * power(x, n - 1)


def smooth(x, depth):
    """Recursion written with if statements and a print on the way down."""
    if depth == 0:
        return np.sum(x)
    print("depth", depth)
    return smooth(np.tanh(x) + 0.1 * x, depth - 1) + np.mean(x ** 2)


def fib_mix(x, n):
    """Two recursive calls per level: f(n - 1) and f(n - 2)."""
    if n < 2:
        return np.sin(x) if n == 1 else x
    return fib_mix(x, n - 1) * 0.5 + np.cos(fib_mix(x, n - 2))


def loss_power(x):
    return np.sum(power(x, 3)) + np.sum(power(x, n=1))


def loss_smooth(x):
    return smooth(x, 3)


def loss_fib(x):
    return np.sum(fib_mix(x, 5))


@pytest.mark.parametrize("f", [loss_power, loss_smooth, loss_fib], ids=lambda f: f.__name__)
def test_recursion_bounded_by_an_integer_literal(f):
    check_both_modes(f, (rs.randn(3),))


def loss_power_of_argument(x, k):
    return np.sum(power(x, k))


def count_up(x, n):
    if n > 100000:
        return x
    return count_up(x, n + 1)


def loss_recursion_that_does_not_end_soon(x):
    return np.sum(count_up(x, 0))


def test_recursion_not_bounded_by_the_source_is_a_located_refusal():
    x = rs.randn(3)
    for run in [lambda: tangent_src.grad(loss_power_of_argument)(x, 3),
                lambda: tangent_src.jvp(loss_power_of_argument, (x, 3), (x, None))]:
        with pytest.raises(UnsupportedSyntaxError, match="recursion"):
            run()
    assert_located_refusal(lambda: tangent_src.grad(loss_recursion_that_does_not_end_soon)(x),
                           "recursion deeper than")
