"""Closure factories in another module, used by tests/test_local_functions.py.

This module's global `scale` differs from the test module's: a factory expanded into the
caller must keep reading its own module's `scale`.
"""
from __future__ import annotations

import numpy as np

scale = 3.0


def make_scaled(c):
    """inner(z) = sin(z) * scale * c, with `scale` this module's global."""
    s = scale * c

    def inner(z):
        return np.sin(z) * s
    return inner


def outer_factory(k):
    """A factory that is itself a closure (over `k`)."""
    def make(c):
        def inner(z):
            return z * c * k
        return inner
    return make
