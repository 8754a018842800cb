"""Functions for tests/test_pickling.py that multiprocessing workers import by name.

Transforms pickle as (the function by reference, wrt, options), so the functions they wrap
must be importable in a worker: under 'spawn' the worker imports this module afresh.
"""
from __future__ import annotations

import numpy as np

import tangent_src as ts

DECAY = 0.1
X_DATA = np.array([[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]])
Y_DATA = np.array([0.2, -0.4, 0.9])


def softplus(z):
    return np.log(1.0 + np.exp(z))


def mlp_loss(params, x, y):
    """A small network: a loop over (W, b) layers, tanh between them, squared error."""
    h = x
    for k, (W, b) in enumerate(params):
        h = np.dot(h, W) + b
        if k < len(params) - 1:
            h = np.tanh(h)
    err = h[:, 0] - y
    loss = np.mean(err ** 2)
    for W, _ in params:
        loss = loss + DECAY * np.sum(W * W)
    return loss


def wiggle(x):
    """A scalar function with a helper and a module global, nonzero in every derivative."""
    return softplus(x) * np.sin(2.0 * x) + DECAY * x ** 3


def two_args(a, w):
    return np.sum(np.tanh(a * w) ** 2) + np.sum(a) * w[0]


def with_aux(x):
    loss = np.sum(np.sin(x) ** 2)
    return loss, np.max(x)


def make_params(seed: int):
    rng = np.random.default_rng(seed)
    return [(rng.normal(size=(2, 3)), rng.normal(size=3)),
            (rng.normal(size=(3, 1)), rng.normal(size=1))]


@ts.grad
def dwiggle_decorated(x):
    """A transform bound to a module-level name (pickled as that name)."""
    return softplus(x) * np.sin(2.0 * x) + DECAY * x ** 3


def apply(transform, args):
    """Run a (pickled) transform in a worker (Pool.starmap)."""
    return transform(*args)


M = np.array([[1.0, -0.5, 0.25], [0.3, 0.8, -1.2]])


def layer(x):
    """A vector-valued function (for jacobian)."""
    return np.tanh(np.dot(M, x)) * x[0]
