"""Adjoints of reductions and scans beyond the plain sum: reduced axes grouped into one and
back (`group_axes`, `ungroup_axes`, for sort-based reductions such as median), the row masks
and products of prod and cumprod (`masked_rows`, `masked_rows_t`, `prod_others`), the
transpose of cumsum (`cumsum_t`) and np.average's weights (`average_weights`)."""
from __future__ import annotations

import numpy as np

from .refusals import refuse


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
        refuse("average: with weights, give the axes in increasing order", undefined=True)
    return np.reshape(w, tuple(n if i in axes else 1 for i, n in enumerate(shape)))


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("group_axes", "ungroup_axes", "masked_rows", "masked_rows_t", "prod_others", "cumsum_t",
           "average_weights")
