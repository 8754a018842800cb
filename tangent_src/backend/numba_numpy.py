"""numba implementations of the NumPy call forms numba lacks, which generated code (and the
user functions it calls) use: reductions with `axis=`/`keepdims=` (`np.max`, `np.min`,
`np.mean`; `np.sum` with `keepdims=` or a tuple of axes), `np.squeeze(axis=)`, `np.stack`,
`np.concatenate`, `np.hstack` and `np.vstack` of a list, and `@` on stacks of matrices.

Each overload answers only the argument types numba's own implementation refuses (it
returns None otherwise), so code numba already compiles compiles as before. The reductions
are explicit loops over the input: the output's rank must be known when numba types the
call, so `keepdims` must be a literal (as generated code writes it).
"""
from __future__ import annotations

import operator

import numba
import numpy as np
from numba import types
from numba.extending import overload

from .numba_axis import axis_reduction

# -- overloads (copied into standalone numba modules from here on) ---------------------

_TO_TUPLE: dict = {}


def _to_tuple(m: int):
    """njit function turning an int array of length m into a tuple (a shape numba can
    reshape to; numba types a tuple by its length, so one function per length)."""
    if m not in _TO_TUPLE:
        namespace: dict = {}
        items = ", ".join(f"s[{k}]" for k in range(m))
        exec(f"def f(s):\n    return ({items}{',' if m == 1 else ''})", namespace)
        _TO_TUPLE[m] = numba.njit(namespace["f"])
    return _TO_TUPLE[m]


def _absent(t) -> bool:
    return t is None or isinstance(t, (types.NoneType, types.Omitted))


def _flags_function(axis):
    """njit: which dimensions a reduction over `axis` (typed as None, int or int tuple)
    removes, as a boolean array of length ndim."""
    if _absent(axis):
        def flags(ndim, axis):
            return np.ones(ndim, dtype=np.bool_)
    elif isinstance(axis, types.Integer):
        def flags(ndim, axis):
            out = np.zeros(ndim, dtype=np.bool_)
            out[axis % ndim] = True
            return out
    elif isinstance(axis, types.BaseTuple) and all(isinstance(a, types.Integer) for a in axis):
        def flags(ndim, axis):
            out = np.zeros(ndim, dtype=np.bool_)
            for a in axis:
                out[a % ndim] = True
            return out
    else:
        return None
    return numba.njit(flags)


def _keep(keepdims):
    """True/False for a literal (or absent) keepdims; None when it is only known at run
    time (the result's rank would be unknown to numba)."""
    if _absent(keepdims):
        return False
    if isinstance(keepdims, (bool, int)):  # an omitted argument arrives as its default
        return bool(keepdims)
    if isinstance(keepdims, types.BooleanLiteral):
        return bool(keepdims.literal_value)
    if isinstance(keepdims, types.IntegerLiteral):
        return bool(keepdims.literal_value)
    return None


def _out_rank(a, axis, keep: bool) -> int:
    if keep:
        return a.ndim
    if _absent(axis):
        return 0
    return a.ndim - (1 if isinstance(axis, types.Integer) else len(axis))


@numba.njit
def _add(acc, counts, k, v):
    acc[k] += v


@numba.njit
def _larger(acc, counts, k, v):
    if counts[k] == 0 or acc[k] == acc[k] and (v != v or v > acc[k]):
        acc[k] = v
    counts[k] += 1


@numba.njit
def _smaller(acc, counts, k, v):
    if counts[k] == 0 or acc[k] == acc[k] and (v != v or v < acc[k]):
        acc[k] = v
    counts[k] += 1


@numba.njit
def _count(acc, counts, k, v):
    acc[k] += v
    counts[k] += 1


@numba.njit
def _as_is(acc, counts):
    return acc


def _mean_of(dtype):
    def mean(acc, counts):
        return (acc / counts).astype(dtype)
    return numba.njit(mean)


_COMBINE = {"sum": _add, "mean": _count, "max": _larger, "min": _smaller}


def _reduction(kind: str, a, axis, keepdims):
    """The implementation of `np.<kind>(a, axis=, keepdims=)` for these types, or None."""
    keep = _keep(keepdims)
    flags = _flags_function(axis)
    if not isinstance(a, types.Array) or keep is None or flags is None:
        return None
    rank = _out_rank(a, axis, keep)
    if rank == 0 and not keep:
        return None  # a whole-array reduction: numba's own
    fast = axis_reduction(kind, a, axis, keep, _to_tuple(rank))
    if fast is not None:
        return fast
    is_float = isinstance(a.dtype, types.Float)
    if kind == "mean":
        dtype = np.float32 if a.dtype == types.float32 else np.float64
    elif kind == "sum" and not is_float:
        dtype = np.int64 if isinstance(a.dtype, types.Integer) else np.float64
    else:
        dtype = numba.np.numpy_support.as_dtype(a.dtype)
    to_tuple = _to_tuple(rank)

    combine = _COMBINE[kind]
    finish = _mean_of(dtype) if kind == "mean" else _as_is
    accumulate = np.float64 if kind == "mean" else dtype

    def impl(a, axis=None, keepdims=False):
        reduced = flags(a.ndim, axis)
        n_out = 1
        for d in range(a.ndim):
            if not reduced[d]:
                n_out *= a.shape[d]
        acc = np.zeros(n_out, dtype=accumulate)
        counts = np.zeros(n_out, dtype=np.int64)
        for pos in np.ndindex(a.shape):
            k = 0
            for d in range(a.ndim):
                if not reduced[d]:
                    k = k * a.shape[d] + pos[d]
            combine(acc, counts, k, a[pos])
        shape = np.empty(rank, dtype=np.int64)
        j = 0
        for d in range(a.ndim):
            if keep or not reduced[d]:
                shape[j] = 1 if reduced[d] else a.shape[d]
                j += 1
        return finish(acc, counts).reshape(to_tuple(shape))
    return impl


def _reduction_overload(kind: str):
    def reduce_(a, axis=None, keepdims=False):
        return _reduction(kind, a, axis, keepdims)
    return reduce_


# The reductions numba has only without axis=/keepdims=: one overload each, one table.
for _reduced, _kind in ((np.max, "max"), (np.amax, "max"), (np.min, "min"),
                         (np.amin, "min"), (np.mean, "mean")):
    overload(_reduced, prefer_literal=True)(_reduction_overload(_kind))


@overload(np.sum, prefer_literal=True)
def _np_sum(a, axis=None, keepdims=False):
    """np.sum over one axis of a float array: numba_axis's loops; with a literal keepdims
    or a tuple of axes: `_reduction`; numba's own otherwise. (An omitted keepdims arrives
    as False, not as Omitted.)"""
    if _keep(keepdims) is False and (_absent(axis) or isinstance(axis, types.Integer)):
        if isinstance(axis, types.Integer) and isinstance(a, types.Array) and a.ndim > 1:
            return axis_reduction("sum", a, axis, False, _to_tuple(a.ndim - 1))
        return None  # numba's own
    return _reduction("sum", a, axis, keepdims)


@overload(np.reshape)
def _np_reshape_scalar(a, newshape):
    """np.reshape of a number (the adjoint of a size-1 array squeezed to a number)."""
    if isinstance(a, (types.Number, types.Boolean)):
        return lambda a, newshape: np.full(newshape, a)
    return None


@overload(np.expand_dims)
def _np_expand_dims_scalar(a, axis):
    """np.expand_dims of a number: shape (1,) (under numba a full sum over axis 0 of a
    vector is a number where NumPy gives a 0-d array)."""
    if isinstance(a, (types.Number, types.Boolean)) and isinstance(axis, types.Integer):
        return lambda a, axis: np.full(1, a)
    return None


@overload(np.squeeze)
def _np_squeeze(a, axis=None):
    """np.squeeze(a, axis=k) (numba has only the form without axis)."""
    flags = _flags_function(axis)
    if not isinstance(a, types.Array) or _absent(axis) or flags is None:
        return None
    rank = _out_rank(a, axis, False)
    to_tuple = _to_tuple(rank)

    def impl(a, axis=None):
        removed = flags(a.ndim, axis)
        shape = np.empty(rank, dtype=np.int64)
        j = 0
        for d in range(a.ndim):
            if removed[d]:
                if a.shape[d] != 1:
                    raise ValueError("cannot select an axis to squeeze out which has "
                                     "size not equal to one")
            else:
                shape[j] = a.shape[d]
                j += 1
        return np.ascontiguousarray(a).reshape(to_tuple(shape))
    return impl


@overload(np.stack)
def _np_stack(arrays, axis=0):
    """np.stack of a list of equally shaped arrays along axis 0 (numba stacks only
    tuples)."""
    if not isinstance(arrays, (types.List, types.ListType)):
        return None
    item = arrays.dtype
    if not isinstance(item, types.Array) or not (
            _absent(axis) or isinstance(axis, (int, types.Integer))):
        return None
    to_tuple = _to_tuple(item.ndim + 1)
    dtype = numba.np.numpy_support.as_dtype(item.dtype)

    def impl(arrays, axis=0):
        if axis != 0:
            raise ValueError("np.stack of a list under numba: only axis=0")
        if len(arrays) == 0:
            raise ValueError("need at least one array to stack")
        first = arrays[0]
        shape = np.empty(first.ndim + 1, dtype=np.int64)
        shape[0] = len(arrays)
        for d in range(first.ndim):
            shape[d + 1] = first.shape[d]
        out = np.empty(to_tuple(shape), dtype=dtype)
        for k in range(len(arrays)):
            if arrays[k].shape != first.shape:
                raise ValueError("all input arrays must have the same shape")
            out[k] = arrays[k]
        return out
    return impl


_INTO: dict = {}


def _into(ndim: int):
    """njit `f(out, a, axis, start)`: `a` written into out's slice start:start+len along
    `axis` (numba indexes with slices written out: one function per rank)."""
    if ndim not in _INTO:
        lines = ["def f(out, a, axis, start):", "    stop = start + a.shape[axis]"]
        for k in range(ndim):
            index = ", ".join([":"] * k + ["start:stop"] + [":"] * (ndim - k - 1))
            lines += [f"    if axis == {k}:", f"        out[{index}] = a"]
        namespace: dict = {}
        exec("\n".join(lines) + "\n", namespace)
        _INTO[ndim] = numba.njit(namespace["f"])
    return _INTO[ndim]


@overload(np.concatenate)
def _np_concatenate(arrays, axis=0):
    """np.concatenate of a list of arrays along an integer axis (numba joins only
    tuples): the joined shape checked as NumPy checks it, then one copy per array."""
    if not isinstance(arrays, (types.List, types.ListType)):
        return None
    item = arrays.dtype
    if not isinstance(item, types.Array) or item.ndim == 0 or not (
            isinstance(axis, (types.Omitted, types.Integer)) or axis == 0):
        return None  # (axis=None, which flattens first, is left to numba's refusal)
    ndim, into = item.ndim, _into(item.ndim)
    to_tuple = _to_tuple(ndim)
    dtype = numba.np.numpy_support.as_dtype(item.dtype)

    def impl(arrays, axis=0):
        if len(arrays) == 0:
            raise ValueError("need at least one array to concatenate")
        ax = axis + ndim if axis < 0 else axis
        if ax < 0 or ax >= ndim:
            raise ValueError("axis is out of bounds for the arrays joined")
        shape = np.empty(ndim, dtype=np.int64)
        for d in range(ndim):
            shape[d] = arrays[0].shape[d]
        shape[ax] = 0
        for k in range(len(arrays)):
            for d in range(ndim):
                if d != ax and arrays[k].shape[d] != shape[d]:
                    raise ValueError("all the input array dimensions except for the "
                                     "concatenation axis must match exactly")
            shape[ax] += arrays[k].shape[ax]
        out = np.empty(to_tuple(shape), dtype=dtype)
        start = 0
        for k in range(len(arrays)):
            into(out, arrays[k], ax, start)
            start += arrays[k].shape[ax]
        return out
    return impl


@overload(np.hstack)
def _np_hstack(tup):
    """np.hstack of a list: along axis 0 for 1-D arrays, else axis 1 (NumPy's rule)."""
    if not isinstance(tup, (types.List, types.ListType)) or \
            not isinstance(tup.dtype, types.Array) or tup.dtype.ndim == 0:
        return None
    along = 0 if tup.dtype.ndim == 1 else 1
    return lambda tup: np.concatenate(tup, along)


@overload(np.vstack)
def _np_vstack(tup):
    """np.vstack of a list: 1-D arrays stacked as rows, others joined along axis 0."""
    if not isinstance(tup, (types.List, types.ListType)) or \
            not isinstance(tup.dtype, types.Array) or tup.dtype.ndim == 0:
        return None
    if tup.dtype.ndim == 1:
        return lambda tup: np.stack(tup)
    return lambda tup: np.concatenate(tup, 0)


@overload(operator.matmul)
def _batched_matmul(a, b):
    """`a @ b` on stacks of matrices (3-d operands, or one 3-d and one 2-d): one matrix
    product per leading index (numba's `@` takes 1-d and 2-d operands only)."""
    if not (isinstance(a, types.Array) and isinstance(b, types.Array)):
        return None
    if max(a.ndim, b.ndim) != 3 or min(a.ndim, b.ndim) < 2:
        return None
    if not (isinstance(a.dtype, types.Float) and isinstance(b.dtype, types.Float)):
        return None
    dtype = np.float32 if a.dtype == b.dtype == types.float32 else np.float64
    left, right = _matrix_of(a, dtype), _matrix_of(b, dtype)

    def impl(a, b):
        n = max(a.shape[0] if a.ndim == 3 else 1, b.shape[0] if b.ndim == 3 else 1)
        if (a.ndim == 3 and a.shape[0] not in (1, n)) or (
                b.ndim == 3 and b.shape[0] not in (1, n)):
            raise ValueError("matmul: the stacks of matrices do not broadcast")
        out = np.empty((n, a.shape[-2], b.shape[-1]), dtype=dtype)
        for k in range(n):
            np.dot(left(a, k), right(b, k), out[k])  # straight into the result
        return out
    return impl


def _matrix_of(x, dtype):
    """njit: matrix k of a stack (a stack of one broadcasts), or the matrix itself, C
    contiguous (no copy when it is already) and of `dtype` (converted only when not)."""
    convert = ".astype(dtype)" if numba.np.numpy_support.as_dtype(x.dtype) != dtype else ""
    step = "x[k if x.shape[0] > 1 else 0]" if x.ndim == 3 else "x"
    namespace = {"np": np, "dtype": dtype}
    exec(f"def take(x, k):\n    return np.ascontiguousarray({step}){convert}\n", namespace)
    return numba.njit(namespace["take"])
