"""numba implementations of the in-place array writes (`set_in_place`, `zero_in_place`) and
of `entry_copy`, which optimize/inplace_writes.py writes where it proved the old version of
an array dead.

numba's `set_at` already writes the value converted to the array's dtype (it copies with
`a.copy()`), so writing into `a` itself gives the same array: the NumPy helpers' dtype
fallback (a complex value into a real array) has nothing to decide here. A standalone
numba module copies this source after numba_runtime's (backend/emit.py).
"""
from __future__ import annotations

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
