"""Differences, convolutions and rearrangements: the index bookkeeping of the rules of
np.diff, np.ediff1d, np.convolve / np.correlate, scipy.signal.convolve / correlate,
np.partition, np.rollaxis and np.nan_to_num (which ends of an array prepend and append
fill, how far a 'same' or 'valid' convolution sits inside the full one, the permutation a
partition applied), and the n-d convolutions themselves (`convolve_nd`, `correlate_nd`)."""
from __future__ import annotations

import numpy as np


def diff_ends(a, n=1, axis=-1, prepend=None, append=None):
    """np.diff(a, n, axis, prepend, append) with None for an absent prepend or append (the
    form the rules of np.diff write its tangents in)."""
    extra = {}
    if prepend is not None:
        extra["prepend"] = prepend
    if append is not None:
        extra["append"] = append
    return np.diff(a, n=n, axis=axis, **extra)


def zeros_or_none(x):
    """Zeros shaped like `x`, or None for None: the tangent of an argument that is absent or
    does not vary (np.diff's prepend and append, np.ediff1d's to_begin and to_end)."""
    return None if x is None else np.zeros(np.shape(x))


def _end_size(end, a, axis):
    if end is None:
        return 0
    return 1 if np.ndim(end) == 0 else np.shape(end)[axis]


def diff_span(a, n, axis, prepend, append, part):
    """Indices along `axis` of np.diff's extended input (prepend, a, append joined) that
    hold part 0 (prepend), 1 (a) or 2 (append); with n = 0 NumPy ignores prepend/append."""
    axis = axis % np.ndim(a)
    size = np.shape(a)[axis]
    before = _end_size(prepend, a, axis) if n else 0
    after = _end_size(append, a, axis) if n else 0
    bounds = (0, before, before + size, before + size + after)
    return np.arange(bounds[part], bounds[part + 1])


def axis_widths(g, axis, n):
    """np.pad widths putting n zeros before and after g along `axis` only."""
    widths = [(0, 0)] * np.ndim(g)
    widths[axis % np.ndim(g)] = (n, n)
    return widths


def ediff1d_span(ary, to_end, to_begin, part):
    """Indices of np.ediff1d's result holding to_begin (part 0), the differences (1) or
    to_end (2)."""
    sizes = [0 if to_begin is None else np.size(to_begin), max(np.size(ary) - 1, 0),
             0 if to_end is None else np.size(to_end)]
    start = sum(sizes[:part])
    return np.arange(start, start + sizes[part])


def conv_widths(y, a, v):
    """np.pad widths that place a 'same' or 'valid' convolution result y where it sits in
    the full one (centred: start = (full - len) // 2 along each axis, also for 'valid'),
    for inputs shaped like a and v (0-d inputs count as length 1, like np.convolve)."""
    shape_a, shape_v = np.shape(np.atleast_1d(a)), np.shape(np.atleast_1d(v))
    widths = []
    for na, nv, ny in zip(shape_a, shape_v, np.shape(y)):
        extra = na + nv - 1 - ny
        widths.append((extra // 2, extra - extra // 2))
    return widths


def convolve_nd(a, v, mode="full"):
    """scipy.signal.convolve(a, v, mode): the n-d convolution the rules of
    scipy.signal.convolve and correlate write their derivatives with."""
    import scipy.signal
    return scipy.signal.convolve(a, v, mode=mode)


def correlate_nd(a, v, mode="full"):
    """scipy.signal.correlate(a, v, mode) (see convolve_nd)."""
    import scipy.signal
    return scipy.signal.correlate(a, v, mode=mode)


def matching_permutation(a, y, axis=-1):
    """Indices p with np.take_along_axis(a, p, axis) == y for y a rearrangement of a along
    `axis` (None: of the flattened a), e.g. y = np.partition(a, kth): matched through the
    sorted order of both, so equal values are paired in order."""
    if axis is None:
        a, axis = np.ravel(a), 0
    by_a = np.argsort(a, axis=axis, kind="stable")
    by_y = np.argsort(y, axis=axis, kind="stable")
    out = np.empty_like(by_a)
    np.put_along_axis(out, by_y, by_a, axis=axis)
    return out


def rollaxis_axes(a, axis, start=0):
    """The permutation np.transpose applies for np.rollaxis(a, axis, start)."""
    ndim = np.ndim(a)
    axis = axis % ndim
    start = start + ndim if start < 0 else start
    if axis < start:
        start -= 1
    axes = [k for k in range(ndim) if k != axis]
    axes.insert(start, axis)
    return tuple(axes)


def select_masks(condlist, choicelist):
    """Where np.select(condlist, choicelist) takes each choice: mask k is condition k and
    none before it, stacked (k first) and broadcast against the choices."""
    conds = np.broadcast_arrays(*condlist, *choicelist)[:len(condlist)]
    taken = np.zeros(np.shape(conds[0]), dtype=bool)
    masks = []
    for cond in conds:
        masks.append(cond & ~taken)
        taken = taken | cond
    return np.stack(masks)


def trapezoid_weights(y, x=None, dx=1.0, axis=-1):
    """Weights w, shaped like y, with np.trapezoid(y, x, dx, axis) = sum(y * w, axis): half
    the spacing on either side of each sample (dx, or the differences of x along axis)."""
    y = np.asarray(y)
    axis = axis % y.ndim
    n = y.shape[axis]
    if x is None:
        w = np.full(n, 1.0) * dx
        w[[0, -1]] = 0.5 * dx
        shape = [1] * y.ndim
        shape[axis] = n
        return np.broadcast_to(np.reshape(w, shape), y.shape)
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        shape = [1] * y.ndim
        shape[axis] = n
        x = np.reshape(x, shape)
    steps = np.diff(x, axis=axis)
    widths = [(0, 0)] * x.ndim
    after, before = list(widths), list(widths)
    after[axis], before[axis] = (0, 1), (1, 0)
    return np.broadcast_to(0.5 * (np.pad(steps, after) + np.pad(steps, before)), y.shape)


def quantile_weights(a, q, axis=None, method="linear", part=0, skipnan=False):
    """Weights w shaped like `a` with np.quantile(a, q, axis) = sum(a * w, axis) (part 0:
    1 - f and f on the two order statistics around position q (n - 1), f its fraction;
    the middle one or two for the median) or, part 1, its slope in q: sum(a * w, axis).
    skipnan: n counts the entries that are not NaN (np.nanquantile; NaN get weight 0).
    Equal values are ranked in order (stable argsort). Only method 'linear' and a scalar
    q are supported."""
    from .refusals import refuse
    if method != "linear" or np.ndim(q) != 0:
        refuse("np.quantile / np.percentile / np.median: derivatives need method='linear' "
               "and a scalar q")
    a = np.asarray(a, dtype=float)
    axes = tuple(range(a.ndim)) if axis is None else \
        tuple(k % a.ndim for k in np.atleast_1d(axis))
    kept = [k for k in range(a.ndim) if k not in axes]
    moved = np.transpose(a, kept + list(axes))
    flat = np.reshape(moved, moved.shape[:len(kept)] + (-1,))
    count = np.sum(~np.isnan(flat), axis=-1, keepdims=True) if skipnan else \
        np.full(flat.shape[:-1] + (1,), flat.shape[-1])
    last = np.maximum(count - 1, 0)
    position = float(q) * last
    low = np.minimum(np.floor(position).astype(int), last)
    high = np.minimum(low + 1, last)
    fraction = position - low
    ranks = np.argsort(flat, axis=-1, kind="stable")   # NaN sort last
    moves = np.where(high > low, last, 0.0)
    pick = [(low, 1.0 - fraction), (high, fraction)] if part == 0 else \
        [(low, -moves), (high, moves)]
    w = np.zeros(flat.shape)
    for rank, weight in pick:
        at = np.take_along_axis(ranks, rank, axis=-1)
        np.put_along_axis(w, at, np.take_along_axis(w, at, axis=-1) + weight, axis=-1)
    w = np.reshape(w, moved.shape)
    return np.transpose(w, np.argsort(kept + list(axes)))


def cov_layout(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None):
    """(transposed, n - ddof) for np.cov(m, rowvar=..., bias=..., ddof=...): whether the
    variables are m's columns, and the divisor. A second array y and weights are refused."""
    from .refusals import refuse
    if y is not None or fweights is not None or aweights is not None:
        refuse("np.cov / np.corrcoef: derivatives take one array m (no y, fweights, aweights)")
    x = np.atleast_2d(m)
    transposed = not rowvar and x.shape[0] != 1
    n = x.shape[0] if transposed else x.shape[1]
    return transposed, n - ((0 if bias else 1) if ddof is None else ddof)


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("diff_ends", "zeros_or_none", "diff_span", "axis_widths", "ediff1d_span",
           "conv_widths", "convolve_nd", "correlate_nd", "matching_permutation",
           "rollaxis_axes", "select_masks", "trapezoid_weights",
           "quantile_weights", "cov_layout")

