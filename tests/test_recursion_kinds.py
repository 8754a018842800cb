"""Recursion bounded by the kinds of the arguments (issue 13, autograd's hmm_em.py): a
function that calls itself on the items of a list (`if isinstance(data, list): return
sum(f(w, d) for d in data)`) is, for a list, a function calling its specialization for the
items, and for an array one without the call; the `isinstance` tests that the argument
classes decide are folded where the function is specialized. A recursion whose kinds repeat
is still refused where it is written.

Every derivative is checked against central finite differences of the program itself."""
from __future__ import annotations

from functools import partial

import numpy as np
import numpy.random as npr
import pytest
from fdcheck import numerical_grad, tree_flat, tree_numerical_grad
from scipy.special import logsumexp

import tangent_src
from tangent_src.errors import UnsupportedSyntaxError

RTOL, ATOL = 1e-5, 1e-7


# ---------------------------------------------------------------- an HMM on sequences
def log_partition_function(natural_params, data):
    if isinstance(data, list):
        return sum(map(partial(log_partition_function, natural_params), data))

    log_pi, log_A, log_B = natural_params

    log_alpha = log_pi
    for y in data:
        log_alpha = logsumexp(log_alpha[:, None] + log_A, axis=0) + log_B[:, y]

    return logsumexp(log_alpha)


def _hmm(seed=0, states=3, outputs=4):
    rng = npr.RandomState(seed)
    params = [np.log(rng.rand(states)), np.log(rng.rand(states, states)),
              np.log(rng.rand(states, outputs))]
    data = [rng.randint(outputs, size=n) for n in (5, 3, 7)]
    return params, data


def test_list_of_sequences_likelihood_reverse():
    params, data = _hmm()
    value, grads = tangent_src.value_and_grad(log_partition_function)(params, data)
    assert np.isclose(value, log_partition_function(params, data))
    expected = tree_numerical_grad(log_partition_function, (params, data), 0)
    assert np.allclose(tree_flat(grads), expected, rtol=RTOL, atol=ATOL)


def test_one_sequence_is_the_same_function_without_the_call():
    params, data = _hmm(1)
    grads = tangent_src.grad(log_partition_function)(params, data[2])
    expected = tree_numerical_grad(log_partition_function, (params, data[2]), 0)
    assert np.allclose(tree_flat(grads), expected, rtol=RTOL, atol=ATOL)


def test_list_of_sequences_likelihood_forward():
    params, data = _hmm(2)
    direction = [np.cos(np.arange(p.size)).reshape(p.shape) for p in params]
    tangent = tangent_src.autodiff(log_partition_function, mode="forward")(
        params, data, direction)
    expected = tree_numerical_grad(log_partition_function, (params, data), 0)
    assert np.isclose(tangent, expected @ tree_flat(direction), rtol=RTOL, atol=ATOL)


# ---------------------------------------------------- batches of batches (tree-shaped)
def loss(w, batch):
    """Squared error of a linear model, summed over a list of lists of examples."""
    if isinstance(batch, list):
        total = 0.0
        for part in batch:
            total = total + loss(w, part)
        return total
    return np.sum((np.tanh(batch @ w) - 1.0) ** 2)


def test_nested_lists_recurse_one_level_per_list():
    rng = npr.RandomState(3)
    w = rng.randn(3)
    batches = [[rng.randn(4, 3), rng.randn(2, 3)], [rng.randn(5, 3)]]
    grad = tangent_src.grad(loss)(w, batches)
    assert np.allclose(grad, numerical_grad(loss, (w, batches)), rtol=RTOL, atol=ATOL)
    # the same transform, called on a flat list, then on one array: each its own code
    flat = [rng.randn(3, 3), rng.randn(1, 3)]
    for data in (flat, flat[0], batches):
        grad = tangent_src.grad(loss)(w, data)
        assert np.allclose(grad, numerical_grad(loss, (w, data)), rtol=RTOL, atol=ATOL)


def test_one_transform_called_with_lists_of_other_items():
    """The fast path of a transform keys a list by its items' classes once the code
    tests types: a list of lists after a list of arrays gets its own code."""
    rng = npr.RandomState(4)
    w = rng.randn(3)
    dloss = tangent_src.grad(loss)
    flat = [rng.randn(2, 3), rng.randn(3, 3)]
    nested = [[rng.randn(2, 3)], [rng.randn(3, 3), rng.randn(1, 3)]]
    for data in (flat, flat, nested, nested, flat):
        assert np.allclose(dloss(w, data), numerical_grad(loss, (w, data)),
                           rtol=RTOL, atol=ATOL)


def tree_sum(params):
    """Sum of squares of the leaves of a tuple of parameter lists, recursing on kind."""
    if isinstance(params, (list, tuple)):
        return sum([tree_sum(p) for p in params])
    return np.sum(params ** 2) + np.sum(np.sin(params))


def test_tuple_of_lists_of_arrays():
    rng = npr.RandomState(5)
    # (items whose classes differ in rank join to an unknown class: not decided)
    params = ([rng.randn(2, 3), rng.randn(3, 1)], [rng.randn(1, 3), rng.randn(1, 1)])
    grads = tangent_src.grad(tree_sum)(params)
    expected = tree_numerical_grad(tree_sum, (params,), 0)
    assert np.allclose(tree_flat(grads), expected, rtol=RTOL, atol=ATOL)


def test_kind_of_a_tuple_is_not_a_list():
    def pick(w, data):
        if isinstance(data, tuple):
            return np.sum(w * data[0])
        if isinstance(data, list):
            return sum([pick(w, d) for d in data])
        return np.sum(w * data)
    rng = npr.RandomState(6)
    w = rng.randn(3)
    for data in ((rng.randn(3), rng.randn(3)), [(rng.randn(3),), (rng.randn(3),)],
                 [rng.randn(3), rng.randn(3)]):
        got = tangent_src.grad(pick)(w, data)
        assert np.allclose(got, numerical_grad(pick, (w, data)), rtol=RTOL, atol=ATOL)


# ------------------------------------------------------------- still refused, located
def endless(w, data):
    if isinstance(data, np.ndarray):
        return endless(w, data) + 1.0
    return np.sum(w)


def test_recursion_whose_kinds_repeat_is_refused_where_written():
    with pytest.raises(UnsupportedSyntaxError, match="recursion") as info:
        tangent_src.grad(endless)(np.ones(2), np.ones(2))
    assert "test_recursion_kinds.py" in str(info.value)


def rebinding(w, data):
    if isinstance(data, list):
        data = data[0]  # rebound: its type test is not decided by the argument's kind
        return rebinding(w, data)
    return np.sum(w * data)


def test_a_rebound_parameter_is_not_folded():
    with pytest.raises(UnsupportedSyntaxError, match="recursion"):
        tangent_src.grad(rebinding)(np.ones(2), [np.ones(2)])


# ------------------------------------------------------ reached through another function
def penalized_likelihood(natural_params, data, weight=0.1):
    """A caller that tests no types itself: its callee's kinds decide."""
    penalty = sum(np.sum(p ** 2) for p in natural_params)
    return log_partition_function(natural_params, data) - weight * penalty


def test_a_caller_of_the_recursive_function():
    params, data = _hmm(7)
    grads = tangent_src.grad(penalized_likelihood)(params, data)
    expected = tree_numerical_grad(penalized_likelihood, (params, data), 0)
    assert np.allclose(tree_flat(grads), expected, rtol=RTOL, atol=ATOL)


def test_second_order_is_refused_where_written():
    """Second derivatives inline the user's functions before their kinds are known: the
    recursion is refused, located, rather than differentiated wrongly."""
    rng = npr.RandomState(8)
    w, v = rng.randn(3), rng.randn(3)
    with pytest.raises(UnsupportedSyntaxError, match="recursion") as info:
        tangent_src.hvp(loss)(w, [rng.randn(2, 3), rng.randn(4, 3)], v)
    assert "test_recursion_kinds.py" in str(info.value)
