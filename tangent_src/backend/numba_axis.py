"""Reductions of a float array over one axis under numba, as three nested loops.

`np.sum`/`np.max`/`np.min`/`np.mean` over one integer axis (`keepdims` or not) view the
array, made C-contiguous (free when it already is), as (outer, reduced, inner) and walk it
in memory order: the innermost loop runs over contiguous elements into a contiguous row of
the result, which LLVM vectorizes. Each result element combines its inputs in the order of
the reduced axis, as NumPy does (and the per-element loop over `np.ndindex` in
`numba_numpy` did), except a float64 sum over the last axis: NumPy's pairwise order there,
so the same bits as NumPy and no long chain of dependent additions. Issue 14: that loop
took ~10x numba's own `np.sum(q * q, axis=1)` on GMM's (K, d, n) products, and every
`np.sum(a, axis=k)` compiled to it once tangent_src was loaded.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import types

# -- overloads (copied into standalone numba modules from here on) ---------------------

@numba.njit(cache=False)
def _sum(a3, out):
    for o in range(a3.shape[0]):
        for i in range(a3.shape[2]):
            out[o, i] = 0.0
        for r in range(a3.shape[1]):
            for i in range(a3.shape[2]):
                out[o, i] += a3[o, r, i]


def _extremum(larger: bool, name: str):
    """The max (larger) or min kernel: NaN wins (the first one met), as in NumPy. `larger`
    is a constant of the compiled closure, so each kernel has no branch on it."""
    message = f"zero-size array to reduction operation {name} which has no identity"

    @numba.njit(cache=False)
    def kernel(a3, out):
        if a3.shape[1] == 0:
            raise ValueError(message)
        for o in range(a3.shape[0]):
            for i in range(a3.shape[2]):
                out[o, i] = a3[o, 0, i]
            for r in range(1, a3.shape[1]):
                for i in range(a3.shape[2]):
                    v = a3[o, r, i]
                    acc = out[o, i]
                    if acc == acc and (v != v or (v > acc if larger else v < acc)):
                        out[o, i] = v
    return kernel


_max = _extremum(True, "maximum")
_min = _extremum(False, "minimum")


def _axis_mean_of(total):
    """The kernel of a mean: `total`'s sum (into `out`'s float64), divided by the count
    (0/0: NaN)."""
    def mean(a3, out):
        total(a3, out)
        count = a3.shape[1]
        for o in range(out.shape[0]):
            for i in range(out.shape[1]):
                out[o, i] = out[o, i] / count if count else np.nan
    return numba.njit(cache=False)(mean)


@numba.njit(cache=False)
def _block(a, start, n):
    """NumPy's pairwise sum of a[start:start + n] for n <= 128: eight running sums."""
    if n < 8:
        res = 0.0
        for i in range(start, start + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[start], a[start + 1], a[start + 2], a[start + 3]
    r4, r5, r6, r7 = a[start + 4], a[start + 5], a[start + 6], a[start + 7]
    i = 8
    while i < n - n % 8:
        j = start + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for j in range(start + i, start + n):
        res += a[j]
    return res


@numba.njit(cache=False)
def pairwise(a, start, n, frames, values):
    """The sum of a[start:start + n] (a contiguous float64 vector) in NumPy's pairwise
    order (numpy/_core/src/umath/loops_utils.h.src: `_block` up to 128 elements, else the
    sum of the two halves, the first a multiple of 8 long), so that a sum over the last
    axis has NumPy's bits and is not one chain of dependent additions. The recursion runs
    on explicit stacks (`frames` (128, 3) ints, `values` (128,)): numba's disk cache of
    a recursive function crashes when it is loaded."""
    if n <= 128:
        return _block(a, start, n)
    top, count = 0, 0
    frames[0, 0], frames[0, 1], frames[0, 2] = start, n, 0
    while top >= 0:
        s, m, stage = frames[top, 0], frames[top, 1], frames[top, 2]
        if m <= 128:
            values[count] = _block(a, s, m)
            count += 1
            top -= 1
            continue
        half = m // 2
        half -= half % 8
        if stage == 2:  # both halves done: first + second
            count -= 1
            values[count - 1] = values[count - 1] + values[count]
            top -= 1
            continue
        frames[top, 2] = stage + 1
        top += 1
        frames[top, 0] = s if stage == 0 else s + half
        frames[top, 1] = half if stage == 0 else m - half
        frames[top, 2] = 0
    return values[0]


@numba.njit(cache=False)
def _sum64(a3, out):
    """`_sum` of a float64 array; over the last axis (inner length 1) pairwise, as NumPy."""
    if a3.shape[2] != 1:
        _sum(a3, out)
        return
    rows = a3.reshape((a3.shape[0], a3.shape[1]))
    frames = np.empty((128, 3), dtype=np.int64)
    values = np.empty(128)
    for o in range(rows.shape[0]):
        out[o, 0] = pairwise(rows[o], 0, rows.shape[1], frames, values)


@numba.njit(cache=False)
def _axis_as_is(out):
    return out


def _as_float(dtype):
    def finish(out):
        return out.astype(dtype)
    return numba.njit(finish)


KERNELS = {"sum": _sum, "max": _max, "min": _min, "mean": _axis_mean_of(_sum)}
KERNELS64 = {**KERNELS, "sum": _sum64, "mean": _axis_mean_of(_sum64)}


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
    kernel = (KERNELS64 if a.dtype == types.float64 else KERNELS)[kind]
    finish = _as_float(dtype) if kind == "mean" else _axis_as_is

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
