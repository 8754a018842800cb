"""numba implementations of the runtime helpers that sum a matrix product's adjoint back
to a broadcast operand (`matmul_lhs_summed`, `matmul_rhs_summed`, see
optimize/sum_first.py): for stacks of matrices, one loop over the stack that sums each
step's factors before its product and adds it into the (possibly stack-summed) result;
other ranks go through the unfused helpers.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import overload

from .. import runtime as rt


def _function(source: str):
    namespace = {"np": np, "rt": rt, "_rows": _rows, "_cols": _cols}
    exec(source, namespace)
    return namespace["f"]


def _stacked(g, a, b, like) -> bool:
    return all(isinstance(t, types.Array) and isinstance(t.dtype, types.Float)
               for t in (g, a, b, like)) and g.ndim == like.ndim == 3 and \
        max(a.ndim, b.ndim) == 3 and min(a.ndim, b.ndim) >= 2


def _step(name: str, ndim: int) -> str:
    """Matrix k of a stacked operand (the only one when its stack has length one)."""
    return f"{name}[k if {name}.shape[0] > 1 else 0]" if ndim == 3 else name


@numba.njit(cache=False)
def _rows(m):
    """The column sums of a matrix, as one row."""
    out = np.empty((1, m.shape[1]))
    out[0, :] = m.sum(axis=0)
    return out


@numba.njit(cache=False)
def _cols(m):
    """The row sums of a matrix, as one column."""
    out = np.empty((m.shape[0], 1))
    out[:, 0] = m.sum(axis=1)
    return out


@overload(rt.matmul_lhs_summed)
def _matmul_lhs_summed(g, a, b, like):
    """sum over the stack of g[k] @ b[k].T, with g's rows summed first where `like` has one
    row and b's rows where it has one column."""
    if not _stacked(g, a, b, like):
        return lambda g, a, b, like: rt.unbroadcast(rt.matmul_lhs(g, a, b), like)
    return _function(f"""
def f(g, a, b, like):
    out = np.zeros(like.shape)
    for k in range(g.shape[0]):
        gk = np.ascontiguousarray(g[k])
        bk = np.ascontiguousarray({_step("b", b.ndim)})
        gs = _rows(gk) if like.shape[1] == 1 else gk
        bs = _rows(bk) if like.shape[2] == 1 else bk
        out[k if like.shape[0] > 1 else 0] += gs @ np.ascontiguousarray(bs.T)
    return out
""")


@overload(rt.matmul_rhs_summed)
def _matmul_rhs_summed(g, a, b, like):
    """sum over the stack of a[k].T @ g[k], with g's columns summed first where `like` has
    one column and a's columns where it has one row."""
    if not _stacked(g, a, b, like):
        return lambda g, a, b, like: rt.unbroadcast(rt.matmul_rhs(g, a, b), like)
    return _function(f"""
def f(g, a, b, like):
    out = np.zeros(like.shape)
    for k in range(g.shape[0]):
        gk = np.ascontiguousarray(g[k])
        ak = np.ascontiguousarray({_step("a", a.ndim)})
        gs = _cols(gk) if like.shape[2] == 1 else gk
        as_ = _cols(ak) if like.shape[1] == 1 else ak
        out[k if like.shape[0] > 1 else 0] += np.ascontiguousarray(as_.T) @ gs
    return out
""")
