"""Code generated for arguments of any shape (the CLI's standalone modules) must not add
adjoints with `+` where the argument may be a list or tuple: `+` concatenates lists, and
the gradient came back with the layers repeated once per loop iteration (a silently wrong
gradient found in review). A parameter the function (or a function it calls) iterates
over or unpacks has its adjoint added with plus()."""
from __future__ import annotations

import numpy as np
import pytest

import tangent_src


def net(params, x):
    for W, b in params:
        x = np.tanh(x @ W + b)
    return x


def loss_loop(params, batches):
    total = 0.0
    for x in batches:
        total = total + np.sum(net(params, x) ** 2)
    return total


def affine(wb, x):
    W, b = wb
    return x @ W + b


def loss_tuple(wb, xs):
    total = 0.0
    for k in range(len(xs)):
        total = total + np.sum(np.sin(affine(wb, xs[k])))
    return total


def loss_enumerate(layers, x):
    out = 0.0
    for i, W in enumerate(layers):
        out = out + (i + 1.0) * np.sum(np.tanh(x @ W))
    return out


RNG = np.random.default_rng(7)
PARAMS = [(RNG.normal(size=(3, 4)) * 0.5, RNG.normal(size=4) * 0.1),
          (RNG.normal(size=(4, 2)) * 0.5, RNG.normal(size=2) * 0.1)]
BATCHES = [RNG.normal(size=(5, 3)) for _ in range(3)]
WB = (RNG.normal(size=(3, 2)), RNG.normal(size=2))
LAYERS = [RNG.normal(size=(3, 3)) * 0.4 for _ in range(3)]


def flat(tree):
    if isinstance(tree, (list, tuple)):
        return np.concatenate([flat(t) for t in tree]) if tree else np.zeros(0)
    return np.ravel(np.asarray(tree, dtype=float))


def unflat(vec, like):
    if isinstance(like, (list, tuple)):
        out, k = [], 0
        for item in like:
            n = flat(item).size
            out.append(unflat(vec[k:k + n], item))
            k += n
        return type(like)(out)
    return vec.reshape(np.shape(like))


def fd(f, tree, rest, h=1e-6):
    x0 = flat(tree)
    grad = np.zeros_like(x0)
    for i in range(x0.size):
        e = np.zeros_like(x0)
        e[i] = h
        grad[i] = (f(unflat(x0 + e, tree), *rest) - f(unflat(x0 - e, tree), *rest)) / (2 * h)
    return grad


@pytest.mark.parametrize("f, tree, rest", [(loss_loop, PARAMS, (BATCHES,)),
                                           (loss_tuple, WB, ([BATCHES[0], BATCHES[1]],)),
                                           (loss_enumerate, LAYERS, (BATCHES[2],))],
                         ids=["list_of_layers_in_callee", "tuple_unpacked_in_callee",
                              "enumerate"])
def test_standalone_gradient_of_a_container_argument(f, tree, rest):
    namespace: dict = {}
    exec(tangent_src.standalone_source(f), namespace)
    generated = namespace["d" + f.__name__](tree, *rest)
    assert len(generated) == len(tree)  # not concatenated once per iteration
    np.testing.assert_allclose(flat(generated), fd(f, tree, rest), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(flat(tangent_src.grad(f)(tree, *rest)), flat(generated),
                               rtol=1e-10, atol=1e-12)
