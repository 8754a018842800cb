"""Functions whose results carry no derivative: shapes, counts, comparisons, constructors."""
from __future__ import annotations

import math

import numpy as np

from .registry import nondifferentiable

nondifferentiable(
    len, range, int, bool, round, isinstance,
    np.shape, np.size, np.ndim, np.sign, np.floor, np.ceil, np.round, np.rint, np.trunc,
    np.zeros, np.ones, np.zeros_like, np.ones_like, np.empty, np.empty_like, np.full,
    np.full_like, np.arange, np.linspace, np.eye, np.identity,
    np.argmax, np.argmin, np.argsort, np.isnan, np.isfinite, np.isinf,
    np.equal, np.not_equal, np.less, np.less_equal, np.greater, np.greater_equal,
    np.logical_and, np.logical_or, np.logical_not, np.all, np.any,
    math.floor, math.ceil, math.isnan, math.isfinite,
)
