"""Factories of closures, imported by tests/test_closures_live.py from another module.

The module also binds globals with the same names as the closure variables (`c`,
`scale`), with other values: a gradient that reads the global instead of the cell is wrong.
"""
from __future__ import annotations

import numpy as np

c = np.array([100.0, -200.0, 300.0])
scale = 7.5


def make_weighted(c):
    """f(w) = sum(w * c), reading `c` from the closure."""
    def weighted(w):
        return np.sum(w * c)
    return weighted


def make_scaled_tanh(scale):
    def scaled(w):
        return np.sum(np.tanh(w) * scale) + scale * w[0]
    return scaled


def make_with_default(num):
    """The default names the enclosing function's local."""
    def fun(x, num=num):
        return np.sum(np.sin(x) * num)
    return fun


def make_adjustable():
    """A loss whose weight a setter rebinds (`nonlocal`)."""
    c = 1.5

    def loss(x):
        return np.sum(np.sin(x) * c)

    def set_weight(value):
        nonlocal c
        c = value
    return loss, set_weight
