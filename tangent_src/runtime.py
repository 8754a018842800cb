"""The few helpers generated code calls. Each is self-contained NumPy so the CLI can copy it
into a standalone gradient module."""
from __future__ import annotations

import numpy as np


def unbroadcast(g, like):
    """Sum `g` over the axes NumPy broadcasting added or stretched, to the shape of `like`."""
    shape = np.shape(like)
    if np.shape(g) == shape:
        return g
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g.reshape(shape) if shape else g[()]


def broadcast_like(t, like):
    """A tangent `t` given the shape of `like` (forward mode: the result of broadcasting)."""
    shape = np.shape(like)
    return t if np.shape(t) == shape else np.broadcast_to(t, shape)


def unreduce(g, like, axis=None, keepdims=False):
    """Broadcast the gradient of a reduction over `axis` back to the shape of `like`."""
    shape = np.shape(like)
    if axis is not None and not keepdims:
        axes = axis if isinstance(axis, tuple) else (axis,)
        g = np.expand_dims(g, tuple(a % len(shape) for a in axes))
    return np.broadcast_to(g, shape) if shape else g


def reduced_size(a, axis=None):
    """How many elements a reduction over `axis` combines into each result (for mean)."""
    if axis is None:
        return np.size(a)
    axes = axis if isinstance(axis, tuple) else (axis,)
    shape = np.shape(a)
    return int(np.prod([shape[ax] for ax in axes]))


def extremum_mask(a, y, axis=None, keepdims=False):
    """Where `a` attains its max/min `y` (ties share the gradient evenly)."""
    hit = np.asarray(a) == unreduce(y, a, axis=axis, keepdims=keepdims)
    count = np.sum(hit, axis=axis, keepdims=True)
    return hit / count


def matmul_lhs(g, a, b):
    """Adjoint of `a` in `a @ b` (or np.dot) for scalar, 1-D, 2-D and stacked operands."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return unbroadcast(g * b, a)
    if b_nd == 1:
        return unbroadcast(np.multiply.outer(g, b), a) if a_nd > 1 else g * b
    if a_nd == 1:
        return np.matmul(b, g)
    return unbroadcast(np.matmul(g, np.swapaxes(b, -1, -2)), a)


def matmul_rhs(g, a, b):
    """Adjoint of `b` in `a @ b` (or np.dot) for scalar, 1-D, 2-D and stacked operands."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return unbroadcast(g * a, b)
    if a_nd == 1:
        return np.multiply.outer(a, g) if b_nd > 1 else g * a
    if b_nd == 1:
        return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g[..., None])[..., 0], b) \
            if a_nd > 2 else np.matmul(np.swapaxes(a, -1, -2), g)
    return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g), b)


def product(a, b):
    """a @ b, or a * b when either is a scalar (the map that matmul_lhs/rhs transpose)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return a * b
    return np.matmul(a, b)


def inverse_permutation(axes):
    """The axes that undo np.transpose(x, axes) (None reverses, as in NumPy)."""
    return None if axes is None else tuple(np.argsort(axes))


def zeros_like(x):
    """A float zero shaped like `x`; for a tuple, list or dict, the same structure of zeros."""
    if isinstance(x, tuple):
        return tuple(zeros_like(item) for item in x)
    if isinstance(x, list):
        return [zeros_like(item) for item in x]
    if isinstance(x, dict):
        return {key: zeros_like(value) for key, value in x.items()}
    if isinstance(x, (float, int)):
        return 0.0
    return np.zeros(np.shape(x))


def add_at(acc, index, g):
    """`acc[index] += g` for an adjoint accumulator; repeated indices add up."""
    if isinstance(acc, tuple):
        items = list(acc)
        items[index] = plus(items[index], g)
        return tuple(items)
    if isinstance(acc, (list, dict)):
        acc[index] = plus(acc[index], g)
        return acc
    if isinstance(index, (int, np.integer, slice)) or (
            isinstance(index, tuple) and all(isinstance(i, (int, np.integer, slice))
                                             for i in index)):
        acc[index] += g
    else:
        np.add.at(acc, index, g)
    return acc


def plus(a, b):
    """a + b, item by item for tuples, lists and dicts of arrays (pytree adjoints)."""
    if isinstance(a, dict):
        return {key: plus(a[key], b[key]) for key in a}
    if isinstance(a, (tuple, list)):
        return type(a)(plus(x, y) for x, y in zip(a, b))
    return a + b


def set_at(a, index, value):
    """A copy of `a` with `a[index] = value` (an array write, made functional so every
    earlier version stays intact for the backward pass)."""
    if isinstance(a, dict):
        out = dict(a)
        out[index] = value
        return out
    if isinstance(a, list):
        out = list(a)
        out[index] = value
        return out
    out = np.array(a, dtype=np.result_type(a, value), copy=True)
    out[index] = value
    return out


def zero_at(g, index):
    """A copy of `g` with `g[index] = 0`: the adjoint that flows past an overwrite."""
    return set_at(g, index, 0.0)


def replicate(g, items):
    """The adjoint of sum(items): g for every item (reduced to the item's shape)."""
    return [unbroadcast(g, item) for item in items]


def checkpoint_every(count, every):
    """Iterations between stored loop states: `every`, or about sqrt(count) when 0."""
    if every:
        return int(every)
    return max(1, int(round(max(count, 1) ** 0.5)))


HELPERS = ("unbroadcast", "broadcast_like", "unreduce", "reduced_size", "extremum_mask",
           "matmul_lhs", "matmul_rhs", "inverse_permutation", "zeros_like", "add_at", "product",
           "set_at", "zero_at", "plus", "replicate", "checkpoint_every")


# --- helpers for the NumPy rule families (elementwise, reductions); each has rules of its own
# in rules/runtime_rules.py, or is declared nondifferentiable there.


def clip_part(a, a_min, a_max, part, min=None, max=None):
    """Where np.clip(a, a_min, a_max) takes its value from `part` ("a", "lo" or "hi"), as
    0/1 floats of the result's shape; `a` wins ties. `min`/`max` are NumPy 2's spellings."""
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    a = np.asarray(a)
    low = a if lo is None else np.maximum(a, lo)
    from_hi = np.zeros(np.shape(low), dtype=bool) if hi is None else low > hi
    from_lo = np.zeros(np.shape(low), dtype=bool) if lo is None else (lo > a) & ~from_hi
    mask = {"a": ~(from_hi | from_lo), "lo": from_lo, "hi": from_hi}[part]
    shape = np.broadcast_shapes(np.shape(a), np.shape(lo), np.shape(hi))
    out = np.broadcast_to(mask, shape).astype(float)
    return out if shape else out[()]


def sinc_derivative(x, n):
    """The n-th derivative of np.sinc at x: a Maclaurin series near 0, Leibniz's rule for
    sin(u) * (1/u) elsewhere; exact at 0 to every order."""
    import math
    u = np.pi * np.asarray(x, dtype=float)
    small = np.abs(u) < 1.0
    us, ul = np.where(small, u, 0.0), np.where(small, 1.0, u)
    series = np.zeros(np.shape(u))
    for j in range((n + 1) // 2, (n + 1) // 2 + 20):
        coef = (-1) ** j * math.factorial(2 * j) / (
            math.factorial(2 * j - n) * math.factorial(2 * j + 1))
        series = series + coef * us ** (2 * j - n)
    leibniz = np.zeros(np.shape(u))
    for k in range(n + 1):
        m = n - k
        leibniz = leibniz + math.comb(n, k) * np.sin(ul + k * np.pi / 2) * (
            (-1) ** m * math.factorial(m) / ul ** (m + 1))
    out = np.where(small, series, leibniz) * np.pi ** n
    return out if np.ndim(x) else out[()]


def group_axes(a, axis=None):
    """`a` with the reduced `axis` (an int, a tuple, or None for all) moved to the end and
    flattened into one: shape (kept..., n)."""
    a = np.asarray(a)
    if axis is None:
        return np.reshape(a, (-1,))
    axes = [ax % a.ndim for ax in (axis if isinstance(axis, tuple) else (axis,))]
    kept = [i for i in range(a.ndim) if i not in axes]
    moved = np.transpose(a, kept + axes)
    return np.reshape(moved, moved.shape[:len(kept)] + (-1,))


def ungroup_axes(v, like, axis=None):
    """The inverse of group_axes(like, axis): `v` of shape (kept..., n) in like's shape."""
    shape = np.shape(like)
    if axis is None:
        return np.reshape(v, shape)
    axes = [ax % len(shape) for ax in (axis if isinstance(axis, tuple) else (axis,))]
    kept = [i for i in range(len(shape)) if i not in axes]
    moved = np.reshape(v, tuple(shape[i] for i in kept + axes))
    return np.transpose(moved, tuple(int(i) for i in np.argsort(kept + axes)))


def masked_rows(v, fill, kind):
    """(..., n) -> (..., n, n): row i is `v` with the entries k outside row i's mask set to
    `fill`; the mask keeps k != i (kind "others") or k <= i (kind "prefix")."""
    v = np.asarray(v)
    i, k = np.indices((v.shape[-1],) * 2)
    keep = k != i if kind == "others" else k <= i
    return np.where(keep, v[..., None, :], fill)


def masked_rows_t(h, kind):
    """The transpose of masked_rows(., 0.0, kind): (..., n, n) -> (..., n), the sum over rows
    i of h[..., i, k] where row i's mask keeps k."""
    h = np.asarray(h)
    i, k = np.indices(h.shape[-2:])
    keep = k != i if kind == "others" else k <= i
    return np.sum(np.where(keep, h, 0.0), axis=-2)


def prod_others(v):
    """Along the last axis, the product of all the other entries (no division, so exact
    where entries are zero)."""
    v = np.asarray(v)
    ones = np.ones(v.shape[:-1] + (1,), dtype=v.dtype)
    left = np.cumprod(np.concatenate([ones, v[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, v[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return left * right


def cumsum_t(g, like, axis=None):
    """The transpose of np.cumsum(., axis): sums from each position to the end along `axis`
    (the flattened array for None), in like's shape."""
    g = np.asarray(g)
    if axis is None:
        g, axis = np.reshape(g, (-1,)), 0
    out = np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)
    return np.reshape(out, np.shape(like))


def average_weights(w, a, axis=None):
    """np.average's weights, shaped to broadcast against `a` (ones for None)."""
    shape = np.shape(a)
    if w is None:
        return np.ones(shape)
    if np.shape(w) == shape:
        return w
    axes = [ax % len(shape) for ax in (axis if isinstance(axis, tuple) else (axis,))]
    if axes != sorted(axes):
        raise ValueError("average: with weights, give the axes in increasing order")
    return np.reshape(w, tuple(n if i in axes else 1 for i, n in enumerate(shape)))


HELPERS += ("clip_part", "sinc_derivative", "group_axes", "ungroup_axes", "masked_rows",
            "masked_rows_t", "prod_others", "cumsum_t", "average_weights")
