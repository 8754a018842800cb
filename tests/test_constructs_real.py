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
