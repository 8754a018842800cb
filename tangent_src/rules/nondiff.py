"""Functions whose results carry no derivative: shapes, counts, comparisons, constructors
from shapes alone, and the piecewise-constant roundings (sign, floor, ceil, round, rint,
trunc, fix), whose derivative is zero wherever it exists (JAX's convention, also at the
jumps).

A registration here is the only way (with comparisons and array metadata, see
analysis/activity.py) that a value computed from a differentiated one becomes a constant,
so an entry must have zero derivative in *every* argument: a constructor that takes a
value (np.full's fill_value, np.linspace's start) has rules instead (constructors.py)."""
from __future__ import annotations

import math

import numpy as np

from .registry import nondifferentiable

nondifferentiable(
    len, range, int, bool, round, isinstance,
    np.shape, np.size, np.ndim, np.sign, np.floor, np.ceil, np.round, np.around, np.rint,
    np.trunc, np.fix, np.floor_divide, np.signbit,
    np.zeros, np.ones, np.zeros_like, np.ones_like, np.empty, np.empty_like,
    np.eye, np.identity,  # np.full, np.full_like, np.arange, np.linspace: ranges.py
    np.argmax, np.argmin, np.argsort, np.nanargmax, np.nanargmin, np.argpartition,
    np.nonzero, np.flatnonzero, np.argwhere, np.count_nonzero, np.searchsorted, np.digitize,
    np.isnan, np.isfinite, np.isinf, np.isposinf, np.isneginf, np.isclose, np.allclose,
    np.array_equal,
    np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
    np.logical_and, np.logical_or, np.logical_not, np.logical_xor, np.all, np.any,
    math.floor, math.ceil, math.trunc, math.isnan, math.isfinite, math.isinf, math.isclose,
)
