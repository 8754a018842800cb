"""numba implementations of the adjoint helpers of common loss-function pieces: `clip_part`
(np.clip), `norm_dual` (np.linalg.norm: the 2-norm / Frobenius norm of a whole float
array, the vector p-norms), `undiagonal` and `diag_adjoint` (np.diagonal, np.trace and
np.diag of a matrix; np.diagonal and np.trace with axes themselves, which numba lacks),
`cumsum_t` (np.cumsum) and `untake_along_axis` (np.sort, np.take_along_axis).

Each overload answers the argument types it handles and returns None otherwise (numba
reports the call, and the back end names the user's line). They give the NumPy helpers'
values bit for bit: 0/1 masks, one division, sums in NumPy's order (cumsum and add.at
add sequentially). A standalone numba module copies this source (backend/emit.py).
"""
from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload

from .. import runtime as rt


# -- overloads (copied into standalone numba modules from here on) ---------------------
def _left_none(t) -> bool:
    """An argument left at None (given or defaulted)."""
    return t is None or isinstance(t, types.NoneType) or (
        isinstance(t, types.Omitted) and t.value is None)


def _constant_of(t):
    """The value of a constant argument (a literal or a defaulted one), else None."""
    if isinstance(t, types.Omitted):
        return t.value
    if isinstance(t, (str, int, bool)):
        return t
    return getattr(t, "literal_value", None)


def _real_scalar(t) -> bool:
    return isinstance(t, (types.Float, types.Integer, types.Boolean))


def _floats(t) -> bool:
    return isinstance(t, types.Array) and isinstance(t.dtype, types.Float)


# np.clip's mask parts: (scalar form, array form) of each part given its two flags
_CLIP_PARTS = {"a": ("not (from_hi or from_lo)", "~(from_hi | from_lo)"),
               "lo": ("from_lo", "from_lo"), "hi": ("from_hi", "from_hi")}


@overload(rt.clip_part, prefer_literal=True)
def _clip_part_mask(a, a_min, a_max, part, min=None, max=None):
    """0/1 floats: where np.clip(a, a_min, a_max) takes its value from `part` (scalar or
    absent bounds of a scalar or array; array bounds broadcast like NumPy's)."""
    which = _constant_of(part)
    operands = (a, a_min, a_max)
    if which not in _CLIP_PARTS or not (_left_none(min) and _left_none(max)) or not all(
            _real_scalar(t) or isinstance(t, types.Array) or _left_none(t) for t in operands):
        return None
    scalar = all(_real_scalar(t) or _left_none(t) for t in operands)
    no_lo, no_hi = _left_none(a_min), _left_none(a_max)
    lines = ["def f(a, a_min, a_max, part, min=None, max=None):",
             "    low = a" if no_lo else "    low = np.maximum(a, a_min)"]
    if scalar:
        lines += ["    from_hi = False" if no_hi else "    from_hi = low > a_max",
                  "    from_lo = False" if no_lo else "    from_lo = a_min > a and not from_hi",
                  f"    return 1.0 if {_CLIP_PARTS[which][0]} else 0.0"]
    else:  # from_hi has the result's shape (NumPy's broadcast of the three)
        lines += ["    from_hi = np.zeros(np.shape(low), dtype=np.bool_)" if no_hi else
                  "    from_hi = low > a_max",
                  "    from_lo = np.zeros(np.shape(from_hi), dtype=np.bool_)" if no_lo else
                  "    from_lo = (a_min > a) & ~from_hi",
                  f"    return ({_CLIP_PARTS[which][1]}).astype(np.float64)"]
    namespace = {"np": np}
    exec("\n".join(lines) + "\n", namespace)
    return namespace["f"]


@overload(rt.norm_dual, prefer_literal=True)
def _norm_dual_whole(x, y, ord=None, axis=None, keepdims=False, kind="norm"):
    """The norm's derivative, as norms.py's `_dual`, for the 2-norm / Frobenius norm of a
    whole float array and the vector p-norms (1, inf, -inf, 0 and any other p) of a
    vector; matrix norms and norms along axes: no overload."""
    order, whole = _constant_of(ord), _left_none(axis) and not _constant_of(keepdims)
    if not (_floats(x) and _real_scalar(y) and whole and _constant_of(kind) == "norm"):
        return None
    if _left_none(ord) or order == "fro" or (order == 2 and x.ndim == 1):
        return lambda x, y, ord=None, axis=None, keepdims=False, kind="norm": \
            x / (1.0 if y == 0 else y)
    numeric = isinstance(ord, (types.Float, types.Integer)) and not isinstance(
        ord, types.Boolean) and not isinstance(order, bool)
    if not (numeric and x.ndim == 1):
        return None

    def vector(x, y, ord=None, axis=None, keepdims=False, kind="norm"):
        """The vector p-norms, p known at run time (a float ord: np.inf)."""
        if ord == 1:
            return np.sign(x)
        if ord == np.inf or ord == -np.inf:  # ties share equally
            hit = np.abs(x) == y
            return np.sign(x) * hit / np.sum(hit)
        if ord == 0:  # the number of nonzero entries: piecewise constant
            return np.zeros(x.shape)
        scale = 1.0 if y == 0 else y
        if ord == 2:
            return x / scale
        return np.sign(x) * (np.abs(x) / scale) ** (ord - 1)
    return vector


@overload(np.diagonal)
def _diagonal_of_matrix(a, offset=0, axis1=0, axis2=1):
    """np.diagonal of a matrix, as a copy (NumPy's is a read-only view: the same values);
    numba has no np.diagonal (the adjoint of np.trace reads the diagonal's shape)."""
    if not (isinstance(a, types.Array) and a.ndim == 2):
        return None

    def impl(a, offset=0, axis1=0, axis2=1):
        first, second = axis1 % 2, axis2 % 2
        if first == second:
            raise ValueError("diagonal: axis1 and axis2 cannot be the same")
        r0, c0 = max(-offset, 0), max(offset, 0)
        n = max(0, min(a.shape[first] - r0, a.shape[second] - c0))
        out = np.empty(n, dtype=a.dtype)
        for i in range(n):
            out[i] = a[r0 + i, c0 + i] if first == 0 else a[c0 + i, r0 + i]
        return out
    return impl


@overload(np.trace)
def _trace_with_axes(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """np.trace of a matrix with its axes given (forward mode writes np.trace(dC, 0, 0, 1));
    numba's own np.trace takes (a, offset) only, which this leaves to it."""
    if not (isinstance(a, types.Array) and a.ndim == 2) or \
            all(isinstance(t, (int, types.Omitted)) for t in (axis1, axis2)) or \
            not (_left_none(dtype) and _left_none(out)):
        return None

    def impl(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
        return np.sum(np.diagonal(a, offset, axis1, axis2))
    return impl


@overload(rt.undiagonal)
def _undiagonal_matrix(g, like, offset=0, axis1=0, axis2=1):
    """A matrix shaped like `like`, zero but for its offset diagonal, which holds g."""
    if not (isinstance(like, types.Array) and like.ndim == 2 and
            ((_floats(g) and g.ndim == 1) or _real_scalar(g))):
        return None

    def impl(g, like, offset=0, axis1=0, axis2=1):
        first, second = axis1 % 2, axis2 % 2
        if first == second:
            raise ValueError("undiagonal: axis1 and axis2 cannot be the same")
        out = np.zeros(like.shape)
        r0, c0 = max(-offset, 0), max(offset, 0)
        n = max(0, min(like.shape[first] - r0, like.shape[second] - c0))
        values = np.broadcast_to(np.asarray(g, dtype=np.float64), (n,))
        for i in range(n):
            if first == 0:
                out[r0 + i, c0 + i] = values[i]
            else:
                out[c0 + i, r0 + i] = values[i]
        return out
    return impl


@overload(rt.diag_adjoint)
def _diag_adjoint_loop(g, v, k=0):
    """The adjoint of np.diag(v, k): g's k-th diagonal for a vector v, and for a matrix v a
    matrix shaped like it holding g on its k-th diagonal."""
    if not (_floats(g) and isinstance(v, types.Array) and g.ndim + v.ndim == 3):
        return None
    if v.ndim == 1:
        return lambda g, v, k=0: np.diagonal(g, k, 0, 1)

    def matrix(g, v, k=0):
        out = np.zeros(v.shape)
        r0, c0 = max(-k, 0), max(k, 0)
        for i in range(g.size):
            out[r0 + i, c0 + i] = g[i]
        return out
    return matrix


@overload(rt.cumsum_t)
def _cumsum_t_loop(g, like, axis=None):
    """Sums from each position to the end along `axis` (the flattened g for None), in
    like's shape: a 1-D g or the flattened array for None, a matrix along either axis."""
    if not (_floats(g) and isinstance(like, types.Array)):
        return None
    if _left_none(axis) or (g.ndim == 1 and isinstance(axis, types.Integer)):
        def flat(g, like, axis=None):
            src = np.ascontiguousarray(g).reshape(-1)
            out = np.empty(src.size)
            acc = 0.0
            for k in range(src.size - 1, -1, -1):  # NumPy's first sum is the entry itself
                acc = src[k] if k == src.size - 1 else acc + src[k]
                out[k] = acc
            return out.reshape(like.shape)
        return flat
    if g.ndim == 2 and isinstance(axis, types.Integer):
        def matrix(g, like, axis=None):
            out = np.empty(g.shape)
            along = axis % 2
            n, m = g.shape[along], g.shape[1 - along]
            for j in range(m):
                acc = 0.0
                for k in range(n - 1, -1, -1):
                    entry = g[k, j] if along == 0 else g[j, k]
                    acc = entry if k == n - 1 else acc + entry
                    if along == 0:
                        out[k, j] = acc
                    else:
                        out[j, k] = acc
            return out.reshape(like.shape)
        return matrix
    return None


@overload(np.take_along_axis)
def _take_along_last_axis(arr, indices, axis=-1):
    """np.take_along_axis with its axis left out (NumPy 2's default -1; forward mode of
    np.sort writes it so); numba's own wants the axis, which this leaves to it."""
    left_out = isinstance(axis, types.Omitted) or (type(axis) is int and axis == -1)
    if not (left_out and isinstance(arr, types.Array) and isinstance(indices, types.Array)):
        return None
    return lambda arr, indices, axis=-1: np.take_along_axis(arr, indices, -1)


@overload(rt.untake_along_axis)
def _untake_along_axis_loop(g, arr, indices, axis=-1):
    """g added at the taken places of an array shaped like arr, in NumPy's np.add.at order
    (C order over g): a 1-D arr (any axis) or the flattened arr for axis None, a matrix
    along either axis (indices shaped like g)."""
    if not (_floats(g) and isinstance(arr, types.Array) and
            isinstance(indices, types.Array) and isinstance(indices.dtype, types.Integer)):
        return None
    if _left_none(axis) or (arr.ndim == 1 and isinstance(axis, types.Integer)):
        def flat(g, arr, indices, axis=-1):
            src, at = np.ascontiguousarray(g).reshape(-1), np.ascontiguousarray(indices).reshape(-1)
            if src.size != at.size:
                raise ValueError("untake_along_axis: g and indices differ in size")
            out = np.zeros(arr.size)
            for k in range(src.size):
                i = at[k] + arr.size if at[k] < 0 else at[k]
                if i < 0 or i >= arr.size:
                    raise IndexError("untake_along_axis: index out of bounds")
                out[i] += src[k]
            return out.reshape(arr.shape)
        return flat
    if arr.ndim == 2 and g.ndim == 2 and indices.ndim == 2 and \
            isinstance(axis, types.Integer):
        def matrix(g, arr, indices, axis=-1):
            if g.shape != indices.shape:
                raise ValueError("untake_along_axis: g and indices differ in shape")
            along = axis % 2
            n = arr.shape[along]
            if g.shape[1 - along] != arr.shape[1 - along]:
                raise ValueError("untake_along_axis: g does not match arr")
            out = np.zeros(arr.shape)
            for r in range(g.shape[0]):
                for c in range(g.shape[1]):
                    i = indices[r, c] + n if indices[r, c] < 0 else indices[r, c]
                    if i < 0 or i >= n:
                        raise IndexError("untake_along_axis: index out of bounds")
                    if along == 0:
                        out[i, c] += g[r, c]
                    else:
                        out[r, i] += g[r, c]
            return out
        return matrix
    return None
