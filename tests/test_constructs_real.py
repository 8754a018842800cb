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

HERE = os.path.abspath(__file__)
RTOL, ATOL = 1e-5, 1e-6


# ============================================================ pytree finite differences
def flat(tree) -> np.ndarray:
    """The float64 leaves of a pytree (dicts in sorted key order) as one vector."""
    if isinstance(tree, dict):
        return flat([tree[key] for key in sorted(tree)])
    if isinstance(tree, (list, tuple)):
        return np.concatenate([flat(x) for x in tree]) if tree else np.zeros(0)
    return np.ravel(np.asarray(tree, dtype=np.float64))


def rebuild(like, vec):
    """A pytree shaped like `like` holding the floats of `vec`."""
    if isinstance(like, dict):
        keys = sorted(like)
        return dict(zip(keys, rebuild([like[key] for key in keys], vec)))
    if isinstance(like, (list, tuple)):
        out, start = [], 0
        for item in like:
            size = flat(item).size
            out.append(rebuild(item, vec[start:start + size]))
            start += size
        return type(like)(out)
    if isinstance(like, np.ndarray):
        return np.array(vec, dtype=np.float64).reshape(like.shape)
    return float(vec[0])


def _moved(args, k, vec):
    new = list(args)
    new[k] = rebuild(args[k], vec)
    return new


def fd_gradient(f, args, k, eps=1e-6) -> np.ndarray:
    """Central differences of scalar `f` with respect to every float in `args[k]`."""
    vec = flat(args[k])
    grad = np.zeros_like(vec)
    for i in range(vec.size):
        step = np.zeros_like(vec)
        step[i] = eps
        grad[i] = (float(f(*_moved(args, k, vec + step))) -
                   float(f(*_moved(args, k, vec - step)))) / (2 * eps)
    return grad


def _zero_like(value):
    if isinstance(value, (dict, list, tuple, np.ndarray, float)):
        return rebuild(value, np.zeros(flat(value).size))
    return None  # an int, a string: no tangent


def check_both_modes(f, args, wrt=0):
    """grad(f) and jvp(f) against central finite differences of f (args are not changed)."""
    expected = fd_gradient(f, args, wrt)
    grad = tangent_src.grad(f, wrt=wrt)(*args)
    np.testing.assert_allclose(flat(grad), expected, rtol=RTOL, atol=ATOL,
                               err_msg=f"{f.__name__}: reverse mode")
    direction = rebuild(args[wrt], np.random.RandomState(7).randn(expected.size))
    tangents = tuple(direction if k == wrt else _zero_like(a) for k, a in enumerate(args))
    value, tangent = tangent_src.jvp(f, tuple(args), tangents)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(tangent, expected @ flat(direction), rtol=RTOL, atol=ATOL,
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
