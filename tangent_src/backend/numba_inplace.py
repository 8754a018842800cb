"""numba implementations of the in-place array writes (`set_in_place`, `zero_in_place`) and
of `entry_copy`, which optimize/inplace_writes.py writes where it proved the old version of
an array dead; and of `add_outer_at` / `add_matvec_at` / `sub_matvec_at`
(optimize/fused_at.py): loop nests that add u[i] * v[j], or M @ v, into acc[k] without
the product's temporary (and, for M @ v, without a BLAS call per small row).

numba's `set_at` already writes the value converted to the array's dtype (it copies with
`a.copy()`), so writing into `a` itself gives the same array: the NumPy helpers' dtype
fallback (a complex value into a real array) has nothing to decide here. A standalone
numba module copies this source after numba_runtime's (backend/emit.py).
"""
from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import overload

from .. import runtime as rt


# -- overloads (copied into standalone numba modules from here on) ---------------------
def _whole_entry(a, index) -> bool:
    """Whether `a[index]` is one number: an integer per dimension."""
    if isinstance(index, types.Integer):
        return a.ndim == 1
    return isinstance(index, types.BaseTuple) and len(index) == a.ndim and all(
        isinstance(i, types.Integer) for i in index)


@overload(rt.set_in_place)
def _set_in_place(a, index, value):
    if isinstance(a, types.Array):
        def put(a, index, value):
            a[index] = value
            return a
        return put
    return None


@overload(rt.zero_in_place)
def _zero_in_place(g, index):
    if isinstance(g, types.Array):
        def clear(g, index):
            g[index] = 0.0
            return g
        return clear
    return None


@overload(rt.entry_copy)
def _entry_copy(a, index):
    if isinstance(a, types.Array):
        if _whole_entry(a, index):
            return lambda a, index: a[index]
        return lambda a, index: a[index].copy()
    return None


@overload(rt.add_outer_at)
def _add_outer_at(acc, index, u, v):
    """acc[k] += np.outer(u, v) for a C-contiguous stack of float matrices and float
    vectors, entry by entry (each entry is the same product and sum as NumPy's); other
    shapes, a broadcast, or u or v in acc's memory go through add_at of the product."""
    floats = all(isinstance(t, types.Array) and isinstance(t.dtype, types.Float)
                 for t in (acc, u, v))
    if not (floats and acc.layout == "C" and acc.ndim == 3 and u.ndim == 1 and
            v.ndim == 1 and isinstance(index, types.Integer)):
        return lambda acc, index, u, v: rt.add_at(acc, index, np.outer(u, v))

    def fused(acc, index, u, v):
        m, n = u.shape[0], v.shape[0]
        if acc.shape[1] != m or acc.shape[2] != n or _overlaps(acc, u) or _overlaps(acc, v):
            return rt.add_at(acc, index, np.outer(u, v))
        block = acc[index]
        for i in range(m):
            ui = u[i]
            for j in range(n):
                block[i, j] += ui * v[j]
        return acc
    return fused


@overload(rt.add_matvec_at)
def _add_matvec_at(acc, index, M, v):
    return _matvec_at(1.0, acc, index, M, v)


@overload(rt.sub_matvec_at)
def _sub_matvec_at(acc, index, M, v):
    return _matvec_at(-1.0, acc, index, M, v)


def _matvec_at(sign: float, acc, index, M, v):
    """The implementation of acc[k] += sign * (M @ v) for these types: for a C-contiguous
    float64 matrix acc, an integer k, a float64 matrix M (any strides, a transposed view
    too) and vector v, the value of acc[k] + sign * (M @ v) in real arithmetic, without a
    temporary: M's rows summed in order and each added once (rows contiguous), or M's
    columns times sign * v[i] added into acc[k] in turn (columns contiguous: the product
    of a transposed matrix); the rounding differs from BLAS's product added once. Other
    types, shapes, or M or v in acc's memory go through add_at of the product."""
    fits = all(isinstance(t, types.Array) and t.dtype == types.float64
               for t in (acc, M, v)) and acc.layout == "C" and acc.ndim == 2 and \
        M.ndim == 2 and v.ndim == 1 and isinstance(index, types.Integer)
    if not fits:
        return lambda acc, index, M, v: rt.add_at(acc, index, sign * (M @ v))

    def fused(acc, index, M, v):
        m, n = M.shape
        if acc.shape[1] != m or v.shape[0] != n or _overlaps(acc, M) or _overlaps(acc, v):
            return rt.add_at(acc, index, sign * (M @ v))
        row = acc[index]
        if M.strides[0] < M.strides[1]:  # columns contiguous: add them in turn
            for i in range(n):
                vi = sign * v[i]
                for j in range(m):
                    row[j] += M[j, i] * vi
            return acc
        for j in range(m):
            total = 0.0
            for i in range(n):
                total += M[j, i] * v[i]
            row[j] += sign * total
        return acc
    return fused


@numba.njit
def _overlaps(acc, x):
    """Whether the bytes x spans (any strides) may meet the C-contiguous acc's."""
    if x.size == 0 or acc.size == 0:
        return False
    low = high = x.ctypes.data
    for axis in range(x.ndim):
        span = (x.shape[axis] - 1) * x.strides[axis]
        low, high = low + min(span, 0), high + max(span, 0)
    return low < acc.ctypes.data + acc.nbytes and acc.ctypes.data < high + x.itemsize
