"""Adjoint accumulation: zeros of any structure (`zeros_like`), the sum of two adjoints
that may be pytrees (`plus`), and in-place accumulation into an adjoint that generated code
allocated itself (`copy_of`, `add_at`, `add_attribute`), and the seed of a grad that no
caller seeds (`ones_seed`)."""
from __future__ import annotations

import numpy as np

from .containers import tuple_field
from .refusals import refuse


def zeros_like(x):
    """A float zero shaped like `x`; for a tuple, list or dict, the same structure of zeros."""
    if type(x) is np.ndarray:  # the common case first: no question about containers
        return np.zeros(x.shape, dtype=complex) if x.dtype.kind == "c" else np.zeros(x.shape)
    if isinstance(x, tuple):
        items = tuple(zeros_like(item) for item in x)
        return type(x)(*items) if hasattr(x, "_fields") else items  # keep a named tuple
    if isinstance(x, list):
        return [zeros_like(item) for item in x]
    if isinstance(x, dict):
        return {key: zeros_like(value) for key, value in x.items()}
    if isinstance(x, (float, int)):
        return 0.0
    if hasattr(x, "__dict__") and not isinstance(x, np.ndarray):  # a parameter holder
        return {key: zeros_like(value) for key, value in vars(x).items()
                if isinstance(value, (float, np.ndarray, tuple, list, dict))}
    if np.iscomplexobj(x):  # the adjoint of a complex value (docs/conventions.md)
        return np.zeros(np.shape(x), dtype=complex)
    return np.zeros(np.shape(x))


def copy_of(x):
    """A copy of `x` that generated code may write into: an array, list or dict is copied
    (one level: add_at replaces items, it does not write into them), a number or tuple is
    returned as is. Generated code starts every in-place accumulation (add_at) from a value
    it allocated itself, never from an argument, a seed or tangent, or a global."""
    if isinstance(x, np.ndarray):
        return np.array(x, copy=True)
    if isinstance(x, list):
        return list(x)
    if isinstance(x, dict):
        return dict(x)
    return x


def add_at(acc, index, g):
    """`acc[index] += g` for an adjoint accumulator; repeated indices add up. It writes into
    `acc`, which generated code always allocated itself (see copy_of)."""
    if type(acc) is np.ndarray and type(index) in (int, slice):  # the common case first
        acc[index] += g
        return acc
    if isinstance(index, str) and not isinstance(acc, dict):
        return add_attribute(acc, index, g)
    if isinstance(acc, tuple):
        items = list(acc)
        items[index] = plus(items[index], g)
        return type(acc)(*items) if hasattr(acc, "_fields") else tuple(items)
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


def add_outer_at(acc, index, u, v):
    """`add_at(acc, index, np.outer(u, v))`, which optimize/fused_at.py writes as one call
    so the numba back end can add the products without the (m, n) temporary."""
    if type(acc) is np.ndarray and type(index) is int:  # add_at's common case
        acc[index] += np.outer(u, v)
        return acc
    return add_at(acc, index, np.outer(u, v))


def add_matvec_at(acc, index, M, v):
    """`add_at(acc, index, M @ v)`, which optimize/fused_at.py writes as one call so the
    numba back end can add the product into acc's row without a temporary."""
    return add_at(acc, index, M @ v)


def sub_matvec_at(acc, index, M, v):
    """`add_at(acc, index, -(M @ v))` (optimize/fused_at.py), as add_matvec_at."""
    return add_at(acc, index, -(M @ v))


def add_attribute(acc, name, g):
    """acc plus the adjoint g of `value.name`: a field of a named tuple (slogdet's
    .logabsdet), or an attribute of a real array (.T, .mT, .real, .imag)."""
    if isinstance(acc, tuple):
        fields = getattr(acc, "_fields", ())
        return add_at(acc, fields.index(name) if name in fields else tuple_field(name), g)
    if not isinstance(acc, (np.ndarray, float, int)):
        refuse(f"the derivative of the attribute .{name} of a {type(acc).__name__}")
    if name == "real":
        return acc + g
    if name == "imag":  # constant zero for a real array
        return acc
    if name in ("T", "mT"):
        return acc + (np.transpose(g) if name == "T" else np.swapaxes(g, -1, -2))
    refuse(f"the derivative of the attribute .{name} of an array")


def plus(a, b):
    """a + b, item by item for tuples, lists and dicts of arrays (pytree adjoints); a plain
    0.0 stands for a zero of any structure."""
    if type(a) is np.ndarray and type(b) is np.ndarray:  # the common case first
        return a + b
    if _is_zero(b) and not _is_zero(a):
        return a
    if _is_zero(a) and isinstance(b, (dict, tuple, list)):
        return b
    if isinstance(a, dict):  # keys missing on one side are zeros there
        keys = list(a) + [key for key in b if key not in a]
        return {key: plus(a.get(key, 0.0), b.get(key, 0.0)) for key in keys}
    if isinstance(a, (tuple, list)):
        return type(a)(plus(x, y) for x, y in zip(a, b))
    return a + b


def ones_seed(out):
    """The cotangent a grad seeds its output `out` with: 1.0 for a scalar, ones in the
    output's shape for an array (of one element: grad accepts it as a scalar, as autograd
    does). Generated code nested in another derivative (`grad(f)(x)` inside a
    differentiated function) seeds itself with this, since no caller passes the seed."""
    return np.ones(np.shape(out)) if np.ndim(out) else 1.0


def _is_zero(x) -> bool:
    return isinstance(x, float) and x == 0.0


def join_slices(like, axis, bounds, *values, float_zeros=False):
    """np.zeros_like(like) with values[k] added into its slice bounds[k] = (start, stop) of
    `axis` (generated code passes them in order, from 0, each starting where the last
    stopped): one join when they tile the axis and each is an array of its slice's shape
    and like's float dtype (0 + v is v), else the sums themselves. `float_zeros`: the
    adjoint starts as runtime zeros_like(like) instead (float64 zeros whatever like's
    dtype, or a container of them), so the join needs float64 values."""
    if type(like) is np.ndarray and like.dtype.kind == "f" and like.ndim > axis and \
            bounds[-1][1] == like.shape[axis]:
        head, tail = like.shape[:axis], like.shape[axis + 1:]
        dtype = np.dtype(np.float64) if float_zeros else like.dtype
        if all(type(v) is np.ndarray and v.dtype == dtype and
               v.shape == head + (stop - start,) + tail
               for (start, stop), v in zip(bounds, values)):
            if not tail and axis and like.shape[axis] <= 16 and like.size >= 1024:
                return _join_columns(like.shape, dtype, bounds, values)
            return np.concatenate(values, axis=axis)
    acc = zeros_like(like) if float_zeros else np.zeros_like(like)
    for (start, stop), v in zip(bounds, values):
        acc = add_at(acc, (slice(None, None),) * axis + (slice(start, stop),), v)
    return acc


def _join_columns(shape, dtype, bounds, values):
    """np.concatenate(values, axis=-1) for a short last axis, copied one column at a time:
    NumPy's concatenation copies row by row there, 1.4-4x slower (BA's (p, 3) and
    (p, 11) adjoints)."""
    out = np.empty(shape, dtype)
    for (start, stop), v in zip(bounds, values):
        for k in range(start, stop):
            out[..., k] = v[..., k - start]
    return out


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("zeros_like", "copy_of", "add_at", "add_outer_at", "add_matvec_at",
           "sub_matvec_at", "plus", "ones_seed", "join_slices")
