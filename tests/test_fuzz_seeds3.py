"""Regressions from the differential fuzzer (issue 10), written as user code and checked
against central finite differences (reverse, value, forward and hvp where relevant).

Class 1 -- a value a nested loop leaves (fuzz seed 22380): in a loop body, a name that
an inner for/while loop first assigns (so it is not a loop-carried copy-back), or the
inner loop's target, is read by the rest of the outer body. The adjoint of the rest runs
before the inner loop's adjoint restores the name, so it read the value of a later outer
iteration: reverse mode was silently off while jvp was right.
"""
import numpy as np
from fdcheck import numerical_grad

import tangent_src

RTOL, ATOL = 1e-6, 1e-8


def _grad_and_hvp_match(f, args, v):
    """grad, value_and_grad and hvp of f at args against finite differences."""
    expected = numerical_grad(f, args)
    np.testing.assert_allclose(tangent_src.grad(f)(*args), expected, rtol=RTOL, atol=ATOL)
    value, g = tangent_src.value_and_grad(f)(*args)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    np.testing.assert_allclose(g, expected, rtol=RTOL, atol=ATOL)
    # hvp: central differences of the (checked) gradient along v
    eps = 1e-5
    grad = tangent_src.grad(f)
    plus = (args[0] + eps * v,) + tuple(args[1:])
    minus = (args[0] - eps * v,) + tuple(args[1:])
    hv = (grad(*plus) - grad(*minus)) / (2 * eps)
    np.testing.assert_allclose(tangent_src.hvp(f)(*args, v), hv, rtol=1e-5, atol=1e-7)


# -- class 1: values a nested loop leaves ----------------------------------------------

def refine(h, params):
    """An MLP encoder, then a few refinement steps, each with an inner fixed-point loop
    whose result `v` the rest of the step reads (the shape of fuzz seed 22380)."""
    for W, b in params:
        h = np.tanh(W @ h + b)
    for step in range(3):
        for _ in range(2):
            v = np.outer(np.array([0.3, -0.7]), h) ** 2
        k = np.mean(np.sin(v)) * (0.3 * step)
        h = h + 0.5 * np.tanh(h + k)
        out = v @ h
    return np.sum(out ** 2)


def newton_inside_a_loop(x):
    """Each outer step runs a short while loop (a few Newton-like updates of t from the
    current x), then uses the t it left."""
    total = 0.0
    for i in range(3):
        n = 0
        while n < 2:
            t = np.sin(x) * (n + 1.0)
            n += 1
        total = total + np.sum(np.cos(t) * x)
        x = 0.9 * x + 0.1
    return total


def scale_by_last_index(x):
    """The inner loop's index is read after it (the last value it took)."""
    for layer in range(3):
        for j in range(1, layer + 2):
            x = x * 1.1
        x = np.sin(x) * j
    return np.sum(x ** 2)


def _params(rng):
    return [(rng.normal(size=(3, 3)) * 0.5, rng.normal(size=3) * 0.5) for _ in range(2)]


def test_value_first_assigned_in_a_nested_loop_is_restored_for_the_rest_of_the_body():
    rng = np.random.default_rng(0)
    params = _params(rng)
    h = rng.normal(size=3)

    def loss(h):
        return refine(h, params)

    _grad_and_hvp_match(loss, (h,), rng.normal(size=3))


def test_value_first_assigned_in_a_nested_while_loop_is_restored():
    rng = np.random.default_rng(1)
    _grad_and_hvp_match(newton_inside_a_loop, (rng.normal(size=3),), rng.normal(size=3))


def test_inner_loop_index_read_after_the_loop():
    rng = np.random.default_rng(2)
    _grad_and_hvp_match(scale_by_last_index, (rng.normal(size=3),), rng.normal(size=3))


def test_params_loop_value_read_after_nested_loop_gradient_wrt_params():
    # the gradient with respect to the parameters goes through the same tapes
    rng = np.random.default_rng(3)
    params = _params(rng)
    h = rng.normal(size=3)
    W0 = params[0][0]

    def loss(W0):
        return refine(h, [(W0, params[0][1])] + params[1:])

    np.testing.assert_allclose(tangent_src.grad(loss)(W0), numerical_grad(loss, (W0,)),
                               rtol=RTOL, atol=ATOL)
