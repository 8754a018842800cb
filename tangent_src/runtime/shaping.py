"""Adjoints of the shape functions: joining and splitting (`pieces`, `join`), tile, repeat,
pad and take (`untile`, `unrepeat`, `unpad`, `pad_checked`, `untake`, `untake_along_axis`)
and the inverse of a transpose's axes (`inverse_permutation`). Repeated elements add up."""
from __future__ import annotations

import numpy as np

from .refusals import refuse


def inverse_permutation(axes):
    """The axes that undo np.transpose(x, axes) (None reverses, as in NumPy; negative axes
    count from the end)."""
    return None if axes is None else tuple(np.argsort([a % len(axes) for a in axes]))


def pieces(g, arrays, kind="concatenate", axis=0):
    """The adjoint of joining `arrays` into g with np.concatenate (`axis`; None flattens),
    np.stack, np.hstack, np.vstack, np.dstack or np.column_stack (`kind`): one piece of g per
    array, shaped like it, in a tuple (a list for a list: the kind zeros_like(arrays) has;
    a single array stands for the sequence of its rows)."""
    if type(g) is not np.ndarray:
        g = np.asarray(g)
    if not isinstance(arrays, (tuple, list)):  # an array: the sequence of its rows
        return np.reshape(np.stack(pieces(g, tuple(arrays), kind, axis)), np.shape(arrays))
    if kind == "stack":  # the entries along `axis` (views, as _split's pieces are)
        out = tuple(np.moveaxis(g, axis, 0) if axis else g)
        return list(out) if isinstance(arrays, list) else out
    if kind == "concatenate" and axis == 0 and g.ndim:
        out, start, ndim = [], 0, g.ndim  # the common case: consecutive rows, shaped as
        for a in arrays:                  # the arrays (one pass: it runs once per join)
            if type(a) is not np.ndarray or a.ndim != ndim:
                break
            n = a.shape[0]
            out.append(g[start:start + n])
            start += n
        else:
            return out if isinstance(arrays, list) else tuple(out)
    shapes = [a.shape if type(a) is np.ndarray else np.shape(a) for a in arrays]
    if kind == "concatenate":
        if axis is None:
            g, axis, grown = np.ravel(g), 0, [(int(np.prod(s)),) for s in shapes]
        else:
            grown = shapes
    elif kind == "hstack":
        grown = [s or (1,) for s in shapes]
        axis = 0 if len(grown[0]) == 1 else 1
    elif kind == "vstack":
        grown = [(1,) * (2 - len(s)) + s if len(s) < 2 else s for s in shapes]
        axis = 0
    elif kind == "dstack":
        grown = [{0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}.get(len(s), s)
                 for s in shapes]
        axis = 2
    else:  # column_stack
        grown = [s + (1,) if len(s) == 1 else s or (1, 1) for s in shapes]
        axis = 1
    out = tuple(_shaped(p, s) for p, s in zip(_split(g, [s[axis] for s in grown], axis),
                                               shapes))
    return list(out) if isinstance(arrays, list) else out


def _split(g, sizes, axis: int) -> list:
    """Consecutive pieces of g along `axis`, of the given sizes, as views (np.split's
    result, without its questions)."""
    axis = axis % g.ndim
    lead = (slice(None),) * axis
    out, start = [], 0
    for n in sizes:
        out.append(g[lead + (slice(start, start + n),)])
        start += n
    return out


def _shaped(p, shape):
    """A piece given the shape of the array it came from (a scalar as a NumPy scalar)."""
    if p.shape == shape:
        return p
    return np.reshape(p, shape) if shape else np.reshape(p, ())[()]


def join(parts, kind="concatenate", axis=0):
    """np.concatenate(parts, axis) / np.hstack / vstack / dstack / column_stack / stack by
    `kind`: the adjoint of pieces."""
    if kind == "concatenate":
        return np.concatenate(parts, axis=axis)
    if kind == "stack":
        return np.stack(parts, axis=axis)
    return {"hstack": np.hstack, "vstack": np.vstack, "dstack": np.dstack,
            "column_stack": np.column_stack}[kind](parts)


def untile(g, a, reps):
    """The adjoint of np.tile(a, reps): g summed over its repetitions, shaped like a."""
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    shape = np.shape(a)
    n = max(len(shape), len(reps))
    full = (1,) * (n - len(shape)) + shape
    reps = (1,) * (n - len(reps)) + reps
    split = np.reshape(g, tuple(x for pair in zip(reps, full) for x in pair))
    out = np.reshape(np.sum(split, axis=tuple(range(0, 2 * n, 2))), shape)
    return out if shape else out[()]


def unrepeat(g, a, repeats, axis=None):
    """The adjoint of np.repeat(a, repeats, axis): g summed over each element's copies."""
    g = np.asarray(g)
    if axis is None:
        target = (np.size(a),)
        axis = 0
    else:
        target = np.shape(a)
        axis = axis % len(target)
    n = target[axis]
    counts = np.broadcast_to(np.asarray(repeats), (n,))
    owner = np.repeat(np.arange(n), counts)
    moved = np.moveaxis(g, axis, 0)
    out = np.zeros((n,) + moved.shape[1:], dtype=np.result_type(g.dtype, float))
    np.add.at(out, owner, moved)
    return np.reshape(np.moveaxis(out, 0, axis), np.shape(a))


def unpad(g, array, pad_width, mode="constant"):
    """The adjoint of np.pad(array, pad_width, mode): every element of g added to the element
    of `array` it was copied from (padding constants receive nothing)."""
    if mode not in ("constant", "edge", "reflect", "symmetric", "wrap"):
        refuse(f"the derivative of np.pad with mode={mode!r}")
    shape = np.shape(array)
    size = int(np.prod(shape))
    source = np.arange(size).reshape(shape)
    if mode == "constant":
        index = np.pad(source, pad_width, mode="constant", constant_values=-1)
    else:
        index = np.pad(source, pad_width, mode=mode)
    index, weights = np.ravel(index), np.ravel(g)
    keep = index >= 0
    out = np.bincount(index[keep], weights=weights[keep], minlength=size)
    return np.reshape(out.astype(np.float64, copy=False), shape)  # (int64 when g is empty)


def pad_checked(t, mode="constant"):
    """t, the tangent of np.pad's array, after checking that np.pad is linear in the array
    for `mode` (maximum, minimum and median pick the border by value, not by position)."""
    if mode not in ("constant", "edge", "reflect", "symmetric", "wrap", "mean", "linear_ramp"):
        refuse(f"the derivative of np.pad with mode={mode!r}")
    return t


def untake(g, a, indices, axis=None):
    """The adjoint of np.take(a, indices, axis): g added at the taken places (repeats add)."""
    out = np.zeros(np.size(a) if axis is None else np.shape(a),
                   dtype=np.result_type(np.asarray(g).dtype, float))
    if axis is None:
        np.add.at(out, indices, g)
        return np.reshape(out, np.shape(a))
    axis = axis % np.ndim(a)
    index = (slice(None),) * axis + (indices,)
    np.add.at(out, index, g)
    return out


def untake_along_axis(g, arr, indices, axis=-1):
    """The adjoint of np.take_along_axis(arr, indices, axis): g added at the taken places."""
    g = np.asarray(g)
    if axis is None:
        out = np.zeros(np.size(arr), dtype=np.result_type(g.dtype, float))
        np.add.at(out, np.ravel(indices), np.ravel(g))
        return np.reshape(out, np.shape(arr))
    out = np.zeros(np.shape(arr), dtype=np.result_type(g.dtype, float))
    axis = axis % out.ndim
    indices = np.asarray(indices)
    grid = list(np.indices(indices.shape, sparse=True))
    grid[axis] = indices
    np.add.at(out, tuple(grid), g)
    return out


def stack_rows(arrays):
    """np.stack(arrays) along a new first axis (optimize/direct_numpy.py). A non-empty list
    or tuple of plain float or complex ndarrays goes to np.array, whose copy of them has
    the same shape, dtype (NumPy promotes the dtypes alike) and values, and which refuses
    arrays of different shapes with a ValueError as np.stack does, without np.stack's
    Python layer (~0.7 against ~3 us for an LSTM step's four rows); anything else to
    np.stack itself."""
    if (type(arrays) is list or type(arrays) is tuple) and arrays and all(
            type(a) is np.ndarray and a.dtype.kind in "fc" for a in arrays):
        return np.array(arrays)
    return np.stack(arrays)


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("inverse_permutation", "pieces", "join", "untile", "unrepeat", "unpad", "pad_checked",
           "untake", "untake_along_axis", "stack_rows")
