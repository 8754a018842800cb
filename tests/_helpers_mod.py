"""Helper functions imported by tests/test_python_corpus.py from another module.

tangent_src must read these from this module's source (and this module's globals), both
when they are imported by name (`from _helpers_mod import softplus`) and when they are
reached through the module (`import _helpers_mod as hm; hm.dense_tanh(...)`).
"""
from __future__ import annotations

import numpy as np

SCALE = 0.75
SHIFT = np.array([0.1, -0.2, 0.3])


def softplus(x):
    """log(1 + exp(x)), written the plain way."""
    return np.log(1.0 + np.exp(x))


def dense_tanh(W, x):
    """tanh(W x + SHIFT[:rows]) for a weight matrix with at most three rows."""
    return np.tanh(np.dot(W, x) + SHIFT[:W.shape[0]])


def _stage_one(x):
    return np.sin(x) * SCALE + x


def _stage_two(u):
    return softplus(u) * u


def two_stage(x):
    """Helpers of this module calling each other, reading a module constant."""
    return np.sum(_stage_two(_stage_one(x)) ** 2)


def mlp_loss(params, x):
    """A loss over a dict of parameters whose "layers" entry is a list of (W, b) pairs."""
    h = x
    for W, b in params["layers"]:
        h = np.tanh(h @ W + b)
    return np.sum(h ** 2) * params["scale"]
