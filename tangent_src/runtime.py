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


HELPERS = ("unbroadcast", "broadcast_like", "unreduce", "reduced_size", "extremum_mask",
           "matmul_lhs", "matmul_rhs", "inverse_permutation", "zeros_like", "add_at", "product",
           "set_at", "zero_at", "plus")
