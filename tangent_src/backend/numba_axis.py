"""Reductions of a float array over one axis under numba, as three nested loops.

`np.sum`/`np.max`/`np.min`/`np.mean` over one integer axis (`keepdims` or not) view the
array, made C-contiguous (free when it already is), as (outer, reduced, inner) and walk it
in memory order: the innermost loop runs over contiguous elements into a contiguous row of
the result, which LLVM vectorizes. Each result element still combines its inputs in the
order of the reduced axis, as the per-element loop over `np.ndindex` in `numba_numpy` did
(issue 14: that loop took ~10x numba's own `np.sum(q * q, axis=1)` on GMM's (K, d, n)
products, and was what every `np.sum(a, axis=k)` compiled to once tangent_src was loaded).
"""
from __future__ import annotations

import numba
import numpy as np
from numba import types


@numba.njit(cache=False)
def _sum(a3, out):
    for o in range(a3.shape[0]):
        for i in range(a3.shape[2]):
            out[o, i] = 0.0
        for r in range(a3.shape[1]):
            for i in range(a3.shape[2]):
                out[o, i] += a3[o, r, i]


@numba.njit(cache=False)
def _max(a3, out):
    """NaN wins (the first one met), as in NumPy."""
    if a3.shape[1] == 0:
        raise ValueError("zero-size array to reduction operation maximum which has no "
                         "identity")
    for o in range(a3.shape[0]):
        for i in range(a3.shape[2]):
            out[o, i] = a3[o, 0, i]
        for r in range(1, a3.shape[1]):
            for i in range(a3.shape[2]):
                v = a3[o, r, i]
                acc = out[o, i]
                if acc == acc and (v != v or v > acc):
                    out[o, i] = v


@numba.njit(cache=False)
def _min(a3, out):
    """NaN wins (the first one met), as in NumPy."""
    if a3.shape[1] == 0:
        raise ValueError("zero-size array to reduction operation minimum which has no "
                         "identity")
    for o in range(a3.shape[0]):
        for i in range(a3.shape[2]):
            out[o, i] = a3[o, 0, i]
        for r in range(1, a3.shape[1]):
            for i in range(a3.shape[2]):
                v = a3[o, r, i]
                acc = out[o, i]
                if acc == acc and (v != v or v < acc):
                    out[o, i] = v


@numba.njit(cache=False)
def _mean(a3, out):
    """The sum (accumulated in `out`'s float64), divided by the count (0/0: NaN)."""
    _sum(a3, out)
    count = a3.shape[1]
    for o in range(out.shape[0]):
        for i in range(out.shape[1]):
            out[o, i] = out[o, i] / count if count else np.nan


@numba.njit(cache=False)
def _as_is(out):
    return out


def _as_float(dtype):
    def finish(out):
        return out.astype(dtype)
    return numba.njit(finish)


KERNELS = {"sum": _sum, "max": _max, "min": _min, "mean": _mean}


def axis_reduction(kind: str, a, axis, keep: bool, to_tuple):
    """The implementation of `np.<kind>(a, axis=k, keepdims=keep)` for a float array `a`
    and an integer `axis` (typing-time types), or None for anything else. `to_tuple`
    turns an int array of the result's rank into a shape."""
    if not (isinstance(a, types.Array) and isinstance(a.dtype, types.Float)
            and isinstance(axis, types.Integer) and a.ndim >= 1):
        return None
    rank = a.ndim if keep else a.ndim - 1
    dtype = numba.np.numpy_support.as_dtype(a.dtype)
    accumulate = np.float64 if kind == "mean" else dtype
    kernel = KERNELS[kind]
    finish = _as_float(dtype) if kind == "mean" else _as_is

    def impl(a, axis=None, keepdims=False):
        nd = a.ndim
        if axis < -nd or axis >= nd:
            raise ValueError("axis is out of bounds for the array's dimension")
        k = axis % nd
        outer, inner = 1, 1
        shape = np.empty(rank, dtype=np.int64)
        j = 0
        for d in range(nd):
            if d < k:
                outer *= a.shape[d]
            elif d > k:
                inner *= a.shape[d]
            if d != k or keep:
                shape[j] = 1 if d == k else a.shape[d]
                j += 1
        flat = np.ascontiguousarray(a).reshape((outer, a.shape[k], inner))
        out = np.empty((outer, inner), dtype=accumulate)
        kernel(flat, out)
        return finish(out).reshape(to_tuple(shape))
    return impl
