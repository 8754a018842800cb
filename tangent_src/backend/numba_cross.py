"""numba implementations of np.cross's rule helpers: `cross3` (np.cross without its operand
copies), `cross_last` / `cross_back` when no axis keyword moves the vector axis (otherwise
no overload: numba reports the call, and the back end names the user's line), the
`cross_checked` guard, and `sum_to` (an adjoint summed back to a broadcast operand's shape).

numba compiles np.cross itself as a loop, so `cross3` is np.cross there. A standalone numba
module copies this source after numba_runtime's (backend/emit.py).
"""
from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload

from .. import runtime as rt


# -- overloads (copied into standalone numba modules from here on) ---------------------
def _default_axes(*axes) -> bool:
    """Whether every axis keyword of cross_last / cross_back is left at its default."""
    return all(a is None or (type(a) is int and a == -1) or isinstance(a, types.NoneType) or
               (isinstance(a, types.Omitted) and a.value in (-1, None)) or
               (isinstance(a, types.IntegerLiteral) and a.literal_value == -1) for a in axes)


@overload(rt.cross3)
def _cross3(a, b):
    if isinstance(a, types.Array) and isinstance(b, types.Array):
        return lambda a, b: np.cross(a, b)
    return None


@overload(rt.cross_last)
def _cross_last(x, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if isinstance(x, types.Array) and _default_axes(axisa, axisb, axisc, axis):
        return lambda x, axisa=-1, axisb=-1, axisc=-1, axis=None: x
    return None


@overload(rt.cross_back)
def _cross_back(x, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if isinstance(x, types.Array) and _default_axes(axisa, axisb, axisc, axis):
        return lambda x, axisa=-1, axisb=-1, axisc=-1, axis=None: x
    return None


@overload(rt.cross_checked)
def _cross_checked(x, a, b):
    if isinstance(a, types.Array) and isinstance(b, types.Array):
        def impl(x, a, b):
            if a.shape[-1] != 3 or b.shape[-1] != 3:
                raise ValueError("the derivative of np.cross of 2-vectors is not "
                                 "implemented; pad them with a zero third component")
            return x
        return impl
    return None


@overload(rt.sum_to)
def _sum_to(g, shape):
    """g summed over the axes broadcasting added (leading) or stretched (size 1 in
    `shape`): one pass over g, each entry added where it came from."""
    if not (isinstance(g, types.Array) and isinstance(shape, types.UniTuple) and
            g.ndim >= len(shape) >= 1):
        return None

    def impl(g, shape):
        out = np.zeros(shape)
        flat_out = out.reshape(-1)
        flat_g = np.ascontiguousarray(g).reshape(-1)
        extra = g.ndim - len(shape)
        for flat in range(flat_g.size):
            rest, at, stride = flat, 0, 1
            for k in range(g.ndim - 1, -1, -1):
                i = rest % g.shape[k]
                rest //= g.shape[k]
                if k >= extra:
                    if shape[k - extra] != 1:
                        at += i * stride
                    stride *= shape[k - extra]
            flat_out[at] += flat_g[flat]
        return out
    return impl
