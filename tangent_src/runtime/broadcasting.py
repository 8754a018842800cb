"""Broadcasting and reductions, in both directions: `unbroadcast` / `sum_to` sum a gradient
back to the shape of the value NumPy broadcast, `broadcast_like` / `unreduce` spread a tangent
or gradient over the shape a broadcast or reduction read, and `reduced_size` /
`extremum_mask` give the weights of mean and of max/min."""
from __future__ import annotations

import numpy as np


def _shape(x) -> tuple:
    """np.shape(x), without its array conversion for arrays and plain numbers (the
    helpers below run once per adjoint statement: their own cost matters)."""
    kind = type(x)  # (no module constant: standalone modules copy the functions only)
    if kind is np.ndarray:
        return x.shape
    return () if kind is float or kind is np.float64 or kind is int else np.shape(x)


def unbroadcast(g, like):
    """Sum `g` over the axes NumPy broadcasting added or stretched, to the shape of `like`."""
    if type(g) is np.ndarray and type(like) is np.ndarray and g.shape == like.shape:
        return g  # nothing was broadcast (the common case, answered first)
    if isinstance(like, (tuple, list, dict)):
        return g  # containers are never broadcast
    shape = _shape(like)
    if _shape(g) == shape:
        return g
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched == (g.ndim - 1,) and 2 <= g.shape[-1] <= 7 and g.dtype.kind == "f" and \
            g.dtype.itemsize >= 4:
        g = _sum_last_columns(g)
    elif stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g.reshape(shape) if shape else g[()]


def _sum_last_columns(g):
    """g.sum(axis=-1, keepdims=True) for a short last axis (2 to 7 entries) as column
    additions: NumPy's reduction loops once per row there, 15-30 times slower (BA's
    (p, 3) -> (p, 1) adjoints). NumPy adds fewer than 8 entries one after the other, so the
    same additions in the same order: the same bits (float32 and wider: NumPy sums
    float16 in float32, so its callers leave float16 to NumPy)."""
    out = g[..., 0:1] + g[..., 1:2]
    for k in range(2, g.shape[-1]):
        out += g[..., k:k + 1]
    return out


def sum_keepdims(g, axis):
    """np.expand_dims(np.sum(g, axis=axis), axis), a short last axis by column additions
    (optimize/short_sums.py)."""
    if type(g) is np.ndarray:
        if g.ndim and axis in (-1, g.ndim - 1) and 2 <= g.shape[-1] <= 7 and \
                g.dtype.kind == "f" and g.dtype.itemsize >= 4:
            return _sum_last_columns(g)
        return g.sum(axis=axis, keepdims=True)  # (np.expand_dims costs a few µs more)
    return np.expand_dims(np.sum(g, axis=axis), axis)


def broadcast_like(t, like):
    """A tangent `t` given the shape of `like` (forward mode: the result of broadcasting)."""
    if isinstance(like, (tuple, list, dict)):
        return t
    shape = np.shape(like)
    return t if np.shape(t) == shape else np.broadcast_to(t, shape)


def sum_to(g, shape):
    """Sum g over the axes that np.broadcast_to(x, np.shape(g)) added or stretched, for an x
    of the given shape (the adjoint of np.broadcast_to)."""
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(n) for n in shape)
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g.reshape(shape) if shape else g[()]


def unreduce(g, like, axis=None, keepdims=False):
    """Broadcast the gradient of a reduction over `axis` back to the shape of `like`."""
    shape = _shape(like)
    if axis is None and shape and (type(g) is float or type(g) is np.float64):
        # the common case, a loss's float over an array: np.broadcast_to's view (read-only,
        # every stride 0) made directly, without its checks (~5x faster for small arrays)
        spread = np.ndarray(shape, np.float64, np.asarray(g), 0, (0,) * len(shape))
        spread.flags.writeable = False
        return spread
    if axis is not None and not keepdims:
        if type(axis) is int and type(g) is np.ndarray and g.ndim == len(shape) - 1:
            k = axis % len(shape)  # the reduced axis put back, without expand_dims' checks
            g = g.reshape(g.shape[:k] + (1,) + g.shape[k:])
        else:
            axes = axis if isinstance(axis, tuple) else (axis,)
            g = np.expand_dims(g, tuple(a % len(shape) for a in axes))
    return np.broadcast_to(g, shape) if shape else g


def reduced_size(a, axis=None):
    """How many elements a reduction over `axis` combines into each result (for mean), as a
    NumPy integer so that var/std with ddof >= n divide by 0 as NumPy does (inf, then NaN,
    like their values) instead of raising ZeroDivisionError."""
    if axis is None:
        return np.int64(np.size(a))
    axes = axis if isinstance(axis, tuple) else (axis,)
    shape = np.shape(a)
    return np.int64(np.prod([shape[ax] for ax in axes]))


def extremum_mask(a, y, axis=None, keepdims=False):
    """Where `a` attains its max/min `y` (ties share the gradient evenly)."""
    if axis is not None and not keepdims:  # y with the reduced axes put back
        axes = axis if isinstance(axis, tuple) else (axis,)
        y = np.expand_dims(y, tuple(k % np.ndim(a) for k in axes))
    hit = np.asarray(a) == y  # broadcast by the comparison itself
    return hit / np.sum(hit, axis=axis, keepdims=True)


def shape_stub(x, min_size: int = 4096):
    """What a split gradient's forward half saves of an array whose backward half reads
    only its shape (as `unbroadcast` / `unreduce`'s `like`, transform/split.py): a
    read-only view of one zero with x's shape and dtype, so that x itself can be freed
    (BA kept six (p, 3) arrays alive for their shapes). Anything else, and an array of
    fewer than `min_size` elements (making the view costs a few µs, which the LSTM's 2,046
    cells of 14-vectors paid, ~10%, for no memory worth saving), is x itself."""
    if type(x) is not np.ndarray or x.size < min_size:
        return x
    return np.broadcast_to(np.zeros((), x.dtype), x.shape)


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("unbroadcast", "sum_keepdims", "broadcast_like", "sum_to", "unreduce",
           "reduced_size", "extremum_mask", "shape_stub")
