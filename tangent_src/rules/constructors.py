"""Arrays filled from (possibly differentiated) values: np.full, np.full_like, np.linspace,
np.arange. Their shapes and lengths come from integer arguments (no derivative); the
values are linear in the fill value, affine in linspace's start and stop, and
start + k * step for arange. With one argument np.arange(stop) moves no value (arange_count
is zero then). These were once declared nondifferentiable as a whole, which silently
dropped the derivative of `np.full(n, x)` or `np.linspace(0.0, x, n)`.
"""
from __future__ import annotations

import numpy as np

from .. import runtime as rt
from .registry import REGISTRY, nondifferentiable, register_template

A, T = REGISTRY.adjoints, REGISTRY.tangents

register_template(A, np.full, "y, shape, fill_value, dtype=None",
                  "d[fill_value] = sum_to(d[y], np.shape(fill_value))")
register_template(T, np.full, "y, shape, fill_value, dtype=None",
                  "d[y] = d[fill_value] * np.ones(np.shape(y))")
register_template(A, np.full_like, "y, a, fill_value, dtype=None",
                  "d[fill_value] = sum_to(d[y], np.shape(fill_value))")
register_template(T, np.full_like, "y, a, fill_value, dtype=None",
                  "d[y] = d[fill_value] * np.ones(np.shape(y))")

# np.linspace (with axis=, and np.logspace, np.geomspace): ranges.py

_ARANGE = "y, start, stop=None, step=None, dtype=None"
register_template(A, np.arange, _ARANGE,
                  "d[start] = np.sum(d[y] * arange_unit(y, stop))\n"
                  "d[step] = np.sum(d[y] * arange_count(y, stop))\n")
register_template(T, np.arange, _ARANGE,
                  "d[y] = d[start] * arange_unit(y, stop)\n"
                  "d[y] = d[step] * arange_count(y, stop)\n")

nondifferentiable(rt.linspace_ramp, rt.arange_count, rt.arange_unit)

NOTES = {
    np.full: "linear in fill_value (an array fill_value is broadcast); shape has no derivative",
    np.full_like: "linear in fill_value; the shape and dtype of `a` have no derivative",
    np.arange: ("start + k step; stop and the length have no derivative; np.arange(stop) "
                "with one argument moves no value"),
}
