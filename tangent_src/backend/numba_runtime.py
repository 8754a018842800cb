"""numba implementations of the runtime helpers that generated code calls.

Generated code calls the plain NumPy helpers of `tangent_src.runtime`; under
`backend="numba"` each call is compiled through these `numba.extending.overload`
implementations, chosen by the argument types (scalar or array, ndim). Helpers without
an overload here make numba report the call, which the back end turns into a located
error naming the helper and the user's line.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import overload

from .. import runtime as rt
from .numba_sums import (
    add_into_row,
    add_into_slice,
    kept_strides,
    nested_sum,
    spread_loops,
    vector_slice,
)


# -- overloads (copied into standalone numba modules from here on) ---------------------
def _is_scalar(t) -> bool:
    return isinstance(t, (types.Float, types.Integer, types.Boolean))


def _tuple_function(arity: int, expression: str, args: str):
    """`lambda args: (expression for each position k)` for tuples of one arity (numba types
    tuples by length: pytree helpers are generated per length)."""
    items = ", ".join(expression.format(k=k) for k in range(arity))
    namespace = {"np": np, "rt": rt}
    exec(f"def f({args}):\n    return ({items}{',' if arity == 1 else ''})", namespace)
    return namespace["f"]


@overload(rt.zeros_like)
def _zeros_like(x):
    if _is_scalar(x):
        return lambda x: 0.0
    if isinstance(x, types.Array):
        return lambda x: np.zeros(x.shape)
    if isinstance(x, types.BaseTuple):
        return _tuple_function(len(x), "rt.zeros_like(x[{k}])", "x")
    return None


@overload(rt.plus)
def _plus(a, b):
    if isinstance(a, types.BaseTuple) and isinstance(b, types.BaseTuple):
        return _tuple_function(len(a), "rt.plus(a[{k}], b[{k}])", "a, b")
    if isinstance(a, types.BaseTuple):  # a zero stands for the other side
        return lambda a, b: a
    return lambda a, b: a + b


@overload(rt.shape_stub)
def _shape_stub(x):
    """x itself: what the backward half reads of it (its shape) is the same."""
    return lambda x: x


@overload(rt.unbroadcast)
def _unbroadcast(g, like):
    """Sum g over the axes broadcasting added or stretched (any number of added leading
    axes: one loop over g); a 0-d `like` gets a scalar, as NumPy's `g[()]`."""
    if _is_scalar(like) or (isinstance(like, types.Array) and like.ndim == 0):
        if _is_scalar(g):
            return lambda g, like: g
        return lambda g, like: np.sum(g)
    if isinstance(like, types.Array) and _is_scalar(g):
        return lambda g, like: np.full(like.shape, g)
    if not (isinstance(like, types.Array) and isinstance(g, types.Array)) or \
            g.ndim < like.ndim:
        return None
    extra = g.ndim - like.ndim
    if extra == 1 and like.ndim == 1:
        def rows(g, like):
            s = np.sum(g, axis=0)
            return s if s.shape == like.shape else np.full(like.shape, np.sum(s))
        return rows

    summed = nested_sum(g.ndim, like.ndim)  # one loop nest for these ranks
    if extra:
        return summed
    summed_jit = numba.njit(summed)
    return lambda g, like: g if g.shape == like.shape else summed_jit(g, like)


@overload(rt.broadcast_like)
def _broadcast_like(t, like):
    if _is_scalar(like):
        return lambda t, like: t
    if isinstance(like, types.Array):
        if _is_scalar(t):
            return lambda t, like: np.full(like.shape, t)
        return lambda t, like: t if t.shape == like.shape else t + np.zeros(like.shape)
    return None


def _axis_flags_impl(axis):
    """njit-able: which dimensions a reduction over `axis` removes (by type of `axis`)."""
    if axis is None or isinstance(axis, (types.NoneType, types.Omitted)):
        def flags(ndim, axis):
            return np.ones(ndim, dtype=np.bool_)
    elif isinstance(axis, types.Integer):
        def flags(ndim, axis):
            out = np.zeros(ndim, dtype=np.bool_)
            out[axis % ndim] = True
            return out
    else:  # a tuple of ints
        def flags(ndim, axis):
            out = np.zeros(ndim, dtype=np.bool_)
            for a in axis:
                out[a % ndim] = True
            return out
    return flags


def _flat_of(g):
    if _is_scalar(g):
        return lambda g: np.array([g], dtype=np.float64)
    return lambda g: np.ascontiguousarray(g).reshape(-1)


strides = numba.njit(kept_strides)


@overload(rt.unreduce)
def _unreduce(g, like, axis=None, keepdims=False):
    if _is_scalar(like):
        return lambda g, like, axis=None, keepdims=False: g
    if not isinstance(like, types.Array):
        return None
    flags = numba.njit(_axis_flags_impl(axis))
    flat = numba.njit(_flat_of(g))

    loops = spread_loops(like.ndim, "spread")  # one loop nest for like's rank

    def spread(g, like, axis=None, keepdims=False):
        out = np.empty(like.shape)
        loops(out, flat(g), strides(like.shape, flags(like.ndim, axis)), out)
        return out
    return spread


@overload(rt.reduced_size)
def _reduced_size(a, axis=None):
    if not isinstance(a, types.Array):
        return lambda a, axis=None: 1
    flags = numba.njit(_axis_flags_impl(axis))

    def size(a, axis=None):
        reduced = flags(a.ndim, axis)
        n = 1
        for d in range(a.ndim):
            if reduced[d]:
                n *= a.shape[d]
        return n
    return size


@overload(rt.extremum_mask)
def _extremum_mask(a, y, axis=None, keepdims=False):
    if _is_scalar(a):
        return lambda a, y, axis=None, keepdims=False: 1.0
    if not isinstance(a, types.Array):
        return None
    flags = numba.njit(_axis_flags_impl(axis))
    flat = numba.njit(_flat_of(y))

    hits, share = spread_loops(a.ndim, "hits"), spread_loops(a.ndim, "share")

    def mask(a, y, axis=None, keepdims=False):
        m = strides(a.shape, flags(a.ndim, axis))
        yf = flat(y)
        counts = np.zeros(yf.size)
        hit = np.zeros(a.shape)
        hits(hit, yf, m, a, counts)
        share(hit, counts, m, a)
        return hit
    return mask


@overload(rt.inverse_permutation)
def _inverse_permutation(axes):
    if isinstance(axes, (types.NoneType, types.Omitted)):
        return lambda axes: None
    return None


@overload(rt.product)
def _product(a, b):
    if _is_scalar(a) or _is_scalar(b):
        return lambda a, b: a * b
    return lambda a, b: a @ b


@overload(rt.matmul_lhs)
def _matmul_lhs(g, a, b):
    if isinstance(a, types.Array) and isinstance(b, types.Array):
        if a.ndim == 2 and b.ndim == 2:
            return lambda g, a, b: g @ b.T
        if a.ndim == 2 and b.ndim == 1:
            return lambda g, a, b: np.outer(g, b)
        if a.ndim == 1 and b.ndim == 2:
            return lambda g, a, b: b @ g
        if a.ndim == 1 and b.ndim == 1:
            return lambda g, a, b: g * b
    return None


@overload(rt.matmul_rhs)
def _matmul_rhs(g, a, b):
    if isinstance(a, types.Array) and isinstance(b, types.Array):
        if a.ndim == 2 and b.ndim == 2:
            return lambda g, a, b: a.T @ g
        if a.ndim == 2 and b.ndim == 1:
            return lambda g, a, b: a.T @ g
        if a.ndim == 1 and b.ndim == 2:
            return lambda g, a, b: np.outer(a, g)
        if a.ndim == 1 and b.ndim == 1:
            return lambda g, a, b: g * a
    return None


def _row_writer(item):
    """njit: write one list item (a scalar or an array, flattened) into a row."""
    if _is_scalar(item):
        def put_scalar(row, x):
            row[0] = x
        return numba.njit(put_scalar)

    def put_array(row, x):
        row[:] = x.ravel()
    return numba.njit(put_array)


@overload(rt.add_outers)
def _add_outers(acc, us, vs):
    """Stack the two lists into (steps, m) and (steps, n) arrays, then one product."""
    if not (isinstance(us, types.List) and isinstance(vs, types.List)):
        return None
    put_u, put_v = _row_writer(us.dtype), _row_writer(vs.dtype)

    def impl(acc, us, vs):
        if len(us) == 0:
            return acc + np.zeros((1, 1))
        a = np.empty((len(us), np.asarray(us[0]).size))
        b = np.empty((len(vs), np.asarray(vs[0]).size))
        for k in range(len(us)):
            put_u(a[k], us[k])
            put_v(b[k], vs[k])
        return acc + np.ascontiguousarray(a.T) @ b
    return impl


@overload(rt.dot_lhs)
def _dot_lhs(g, a, b):
    return lambda g, a, b: rt.matmul_lhs(g, a, b)


@overload(rt.dot_rhs)
def _dot_rhs(g, a, b):
    return lambda g, a, b: rt.matmul_rhs(g, a, b)


@overload(rt.add_at)
def _add_at(acc, index, g):
    if isinstance(acc, types.BaseTuple) and isinstance(index, types.IntegerLiteral):
        position = index.literal_value % len(acc)
        items = ", ".join(f"rt.plus(acc[{k}], g)" if k == position else f"acc[{k}]"
                          for k in range(len(acc)))
        namespace = {"rt": rt}
        exec(f"def f(acc, index, g):\n    return ({items}{',' if len(acc) == 1 else ''})",
             namespace)
        return namespace["f"]
    if _row_of_contiguous(acc, index, g):
        return lambda acc, index, g: add_into_row(acc, index, g)
    if vector_slice(acc, index, g):
        return lambda acc, index, g: add_into_slice(acc, index, g)
    if isinstance(acc, types.Array) and not _integer_array_typed(index):
        def add(acc, index, g):
            acc[index] += g
            return acc
        return add
    return None


def _row_of_contiguous(acc, index, g) -> bool:
    """`add_at(acc, k, g)`: integer k, C-contiguous acc and g, g a row or stacked matrix."""
    return isinstance(acc, types.Array) and acc.layout == "C" and \
        isinstance(index, types.Integer) and isinstance(g, types.Array) and \
        g.layout == "C" and g.ndim == acc.ndim - 1 >= 1


def _integer_array_typed(index) -> bool:
    """Whether an index holds an integer array (numba_containers' add_at adds repeated
    entries; `acc[index] += g` would keep one of them)."""
    items = tuple(index) if isinstance(index, types.BaseTuple) else (index,)
    return any(isinstance(t, types.Array) and isinstance(t.dtype, types.Integer)
               for t in items)


@overload(rt.copy_of)
def _copy_of(x):
    if isinstance(x, types.Array):
        return lambda x: x.copy()
    return lambda x: x


@overload(rt.set_at)
def _set_at(a, index, value):
    if isinstance(a, types.Array):
        def put(a, index, value):
            out = a.copy()
            out[index] = value
            return out
        return put
    return None


@overload(rt.written_at)
def _written_at(g, index):
    """g[index]; for one integer array index on the first axis, an entry a later
    duplicate overwrote gets zero (the runtime helper's rule; other integer-array
    indexes are left unsupported, so numba reports them)."""
    if not isinstance(g, types.Array):
        return None
    if not _integer_array_typed(index):
        return lambda g, index: g[index]
    if isinstance(index, types.Array) and index.ndim == 1:
        def kept(g, index):
            part = g[index].copy()
            last = np.full(g.shape[0], -1, dtype=np.intp)
            for k in range(index.shape[0]):
                last[index[k] % g.shape[0]] = k
            for k in range(index.shape[0]):
                if last[index[k] % g.shape[0]] != k:
                    part[k] = 0.0
            return part
        return kept
    return None


@overload(rt.zero_at)
def _zero_at(g, index):
    if isinstance(g, types.Array):
        def clear(g, index):
            out = g.copy()
            out[index] = 0.0
            return out
        return clear
    return None


@overload(rt.zeros_like_last)
def _zeros_like_last(tape, like):
    def last(tape, like):
        if len(tape):
            return rt.zeros_like(tape[-1])
        return rt.zeros_like(like)
    return last


@overload(rt.checkpoint_every)
def _checkpoint_every(count, every):
    def pick(count, every):
        if every:
            return int(every)
        return max(1, int(round(max(count, 1) ** 0.5)))
    return pick


# -- boundary-safe factors (docs/conventions.md) -------------------------------------------
@overload(rt.real_only)
def _real_only(t):
    if _is_scalar(t) or (isinstance(t, types.Array) and isinstance(t.dtype, types.Float)):
        return lambda t: t
    return None


@overload(rt.reciprocal_or_zero)
def _reciprocal_or_zero(x):
    if _is_scalar(x):
        return lambda x: 0.0 if x == 0 else 1.0 / x
    if isinstance(x, types.Array):
        return lambda x: np.where(x == 0, 0.0, 1.0 / np.where(x == 0, 1.0, x))
    return None


@overload(rt.log_or_zero)
def _log_or_zero(x):
    if _is_scalar(x):
        return lambda x: 0.0 if x == 0 else np.log(x)
    if isinstance(x, types.Array):
        return lambda x: np.where(x == 0, 0.0, np.log(np.where(x == 0, 1.0, x)))
    return None


@overload(rt.pow_term)
def _pow_term(a, e):
    if _is_scalar(a) and _is_scalar(e):
        return lambda a, e: float(a) ** e
    if isinstance(a, types.Array) or isinstance(e, types.Array):
        return lambda a, e: np.power(a * 1.0, e)
    return None


@overload(rt.power_slope)
def _power_slope(a, b, n=1):
    """A scalar exponent b: falling(b, n) * a ** (b - n), 0 where the coefficient is 0 (an
    array b: the overload below)."""
    if not _is_scalar(b):
        return None
    if _is_scalar(a):
        def scalar(a, b, n=1):
            c = 1.0
            for j in range(n):
                c *= b - j
            return 0.0 if c == 0 else c * float(a) ** (b - n)
        return scalar
    if isinstance(a, types.Array):
        def array(a, b, n=1):
            c = 1.0
            for j in range(n):
                c *= b - j
            return np.zeros(a.shape) if c == 0 else c * (a * 1.0) ** (b - n)
        return array
    return None


@overload(rt.power_slope)
def _power_slope_array_exponent(a, b, n=1):
    """An array exponent b (a scalar or an array broadcasting against it)."""
    if not isinstance(b, types.Array):
        return None

    def impl(a, b, n=1):
        c = np.ones(b.shape)
        for j in range(n):
            c = c * (b - j)
        return np.where(c == 0, 0.0, c * np.power(a * 1.0, np.where(c == 0, 1.0, b - n)))
    return impl
