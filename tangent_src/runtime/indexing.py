"""Indexed reads and writes made functional: `set_at` / `zero_at` (an array write that keeps
every earlier version for the backward pass), their in-place forms `set_in_place` /
`zero_in_place` and `entry_copy` (for a version the generated code proved dead:
optimize/inplace_writes.py), `read_at` (an adjoint read back by index or field), and
np.r_ / np.c_.

np.r_ / np.c_ (and any NumPy AxisConcatenator): `np.r_[a, 1:3, b]` is lowered to
`index_concat(np.r_, (a, slice(1, 3), b))`. The result is a rearrangement of the value
items (arrays, numbers, lists) next to constants made from the slices, so it is affine
in the value items: the tangent is f(tangents) - f(zeros), and each item's adjoint reads
g where a labelled probe of that item lands."""
from __future__ import annotations

import numpy as np

from ..errors import UnsupportedTypeError  # noqa: F401  (read by index_concat)
from .containers import attribute_tangent


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


def written_at(g, index):
    """The cotangent of the value written by `a[index] = value`: g[index], except that an
    entry a later duplicate index overwrote gets zero (NumPy keeps the last of repeated
    writes, so `y[[0, 0]] = v` gives y[0] = v[1] and v[0] does not reach y). Which entry
    survived is asked of NumPy itself: positions written through the same index."""
    part = g[index]
    if not isinstance(g, np.ndarray) or not _integer_array_index(index):
        return part
    positions = np.arange(np.size(part)).reshape(np.shape(part))
    owner = np.full(np.shape(g), -1, dtype=np.intp)
    owner[index] = positions
    survived = owner[index] == positions
    return part if survived.all() else np.where(survived, part, 0)


def _integer_array_index(index) -> bool:
    """Whether `index` holds an integer array or list (an index that may repeat entries),
    not only ints, slices, None, Ellipsis or boolean masks."""
    items = index if isinstance(index, tuple) else (index,)
    for item in items:
        if isinstance(item, (np.ndarray, list)) and np.asarray(item).dtype.kind != "b":
            return True
    return False


def set_in_place(a, index, value):
    """`a[index] = value` written into `a` itself, `a` returned: set_at where the
    optimizer proved no one reads the old version of `a` (optimize/inplace_writes.py).
    Anything set_at would not write as is (not a plain writable ndarray, or a value that
    changes the dtype: a complex value into a real array) is copied as set_at copies."""
    if type(a) is np.ndarray and a.flags.writeable and np.result_type(a, value) == a.dtype:
        a[index] = value
        return a
    return set_at(a, index, value)


def zero_in_place(g, index):
    """`g[index] = 0` written into `g` itself: zero_at where the old version is dead."""
    return set_in_place(g, index, 0.0)


def entry_copy(a, index):
    """`a[index]` that no later write into `a` changes: a copy when it is an array (a
    view would see the write), the value itself when it is a number. Read before an
    in-place write whose old entry the adjoint still needs."""
    value = a[index]
    return value.copy() if isinstance(value, np.ndarray) else value


def read_at(x, index):
    """x[index]; for a str index, the field or attribute `index` (an adjoint read back by
    the rules of add_at: `.logabsdet` of slogdet's result, `.real` of an array)."""
    return attribute_tangent(x, index) if isinstance(index, str) else x[index]


def _is_value_item(item) -> bool:
    """An item of np.r_[...] that holds values (not a slice or a directive string)."""
    return not isinstance(item, (slice, str))


def _zeroed_items(items) -> tuple:
    return tuple(np.zeros(np.shape(i)) if _is_value_item(i) else i for i in items)


def index_concat(maker, items):
    """`maker[items]` for np.r_ / np.c_, refusing the np.matrix results of 'r'/'c'."""
    out = maker[tuple(items)]
    if isinstance(out, np.matrix):
        # UnsupportedTypeError here (a TypeError); TypeError in a standalone copy
        refusal = globals().get("UnsupportedTypeError", TypeError)
        raise refusal("np.r_['r', ...] / np.r_['c', ...] build np.matrix, which "
                      "tangent_src does not differentiate; use np.r_['0,2', ...]")
    return out


def index_concat_jvp(maker, items, tangents):
    """The tangent of index_concat(maker, items) for the tangents of its value items."""
    moved = tuple(t if _is_value_item(i) else i for i, t in zip(items, tangents))
    zeroed = _zeroed_items(items)
    return np.asarray(maker[moved], dtype=float) - np.asarray(maker[zeroed], dtype=float)


def index_concat_vjp(g, maker, items):
    """The adjoint of index_concat(maker, items): per item, the part of g it filled,
    shaped like the item (0.0 for slices and directive strings)."""
    zeroed = _zeroed_items(items)
    base = np.asarray(maker[zeroed], dtype=float)
    g = np.broadcast_to(g, base.shape)
    parts = []
    for k, item in enumerate(items):
        if not _is_value_item(item):
            parts.append(0.0)
            continue
        shape = np.shape(item)
        size = int(np.prod(shape))
        probe = list(zeroed)
        probe[k] = np.arange(1.0, size + 1.0).reshape(shape)
        where = np.asarray(maker[tuple(probe)], dtype=float) - base
        hit = where != 0
        part = np.zeros(size)
        np.add.at(part, where[hit].astype(np.intp) - 1, g[hit])
        parts.append(part.reshape(shape) if shape else part[0])
    return tuple(parts)


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("set_at", "zero_at", "written_at", "set_in_place", "zero_in_place", "entry_copy",
           "read_at", "index_concat", "index_concat_jvp", "index_concat_vjp")
