"""Arrays filled from values (rules/constructors.py): np.linspace is affine in start and
stop with weights `linspace_ramp` / `linspace_weights`; np.arange(start, stop, step) is
start + k * step (`arange_count`, `arange_unit`; its length is piecewise constant in the
arguments, so it has no derivative)."""
from __future__ import annotations

import numpy as np


def linspace_ramp(num, endpoint=True, like=0.0):
    """The weights t_k of np.linspace(start, stop, num) = (1 - t) * start + t * stop, shaped
    to broadcast against start/stop arrays shaped like `like` (axis 0)."""
    ramp = np.linspace(0.0, 1.0, num, endpoint=endpoint)
    return np.reshape(ramp, (-1,) + (1,) * np.ndim(like))


def arange_count(y, stop):
    """k for each element of y = np.arange(start, stop, step); with one argument (stop is
    None: the argument was the stop) zeros, since then no argument moves the values."""
    if stop is None:
        return np.zeros(np.shape(y))
    return np.arange(float(np.shape(y)[0]))


def arange_unit(y, stop):
    """d(element)/d(start) of y = np.arange(start, stop, step): ones, or zeros when the one
    argument was the stop (stop is None)."""
    return np.zeros(np.shape(y)) if stop is None else np.ones(np.shape(y))


def linspace_weights(start, stop, num=50, endpoint=True, axis=0):
    """The weights t of np.linspace(start, stop, num, endpoint, axis) = (1 - t) start + t stop,
    with the result's shape (they do not depend on start and stop)."""
    shape = np.broadcast_shapes(np.shape(start), np.shape(stop))
    return np.linspace(np.zeros(shape), np.ones(shape), num, endpoint=endpoint, axis=axis)


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("linspace_ramp", "arange_count", "arange_unit", "linspace_weights")
