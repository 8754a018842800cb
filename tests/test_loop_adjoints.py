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
