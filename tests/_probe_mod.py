"""Module-level functions for tests/test_probes_cache.py (picklable by reference: the
multiprocessing probes send them to spawn and fork workers)."""
import numpy as np

import tangent_src as ts


def wave(x):
    return np.sum(np.sin(x) * x + x ** 3 * 0.1)


def bump(x):
    return np.tanh(x) * 1.5 + x * x


def twice(x):
    return np.sum(bump(x) * 2.0)


def apply(transform, args):
    """Run a transform in a worker."""
    return transform(*args)


def grad_at(x):
    """What a worker computes when only the function (not a transform) is sent."""
    return ts.grad(wave)(x)
