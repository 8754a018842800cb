"""Tuples, lists, dicts and objects as values: fields and attributes of a tangent
(`attribute_tangent`, `tuple_field`), adjoints converted between list, tuple and array
(`convert_like`, `unarray`), concatenation and `sum` of sequences (`left_part`,
`right_part`, `replicate`), and the keys a `for` over a dict visits (`dict_keys`)."""
from __future__ import annotations

import numpy as np

from .broadcasting import unbroadcast
from .refusals import refuse


def attribute_tangent(t, name):
    """The tangent of `obj.name` given the tangent of `obj` (a dict or a like object; for
    a tuple, a field of the named tuple `obj` is)."""
    if isinstance(t, tuple) and not hasattr(t, "_fields"):
        return t[tuple_field(name)]
    return t[name] if isinstance(t, dict) else getattr(t, name)


def tuple_field(name):
    """The position of field `name` of the named tuples NumPy's linear algebra returns
    (slogdet, eigh, svd, qr), whose derivatives the rules build as plain tuples."""
    fields = {"sign": 0, "logabsdet": 1, "eigenvalues": 0, "eigenvectors": 1, "U": 0,
              "S": 1, "Vh": 2, "Q": 0, "R": 1}
    if name not in fields:
        refuse(f"the derivative of the field .{name} of a tuple; index it instead")
    return fields[name]


def convert_like(items, like):
    """`items` as the same kind of value as `like`: a list, a tuple, or an array (the
    adjoint of an array made from a list, or of a list read as an array)."""
    if isinstance(like, list):
        return list(items)
    if isinstance(like, tuple):
        return tuple(items)
    return np.reshape(np.asarray(items, dtype=float), np.shape(like))


def dict_keys(mapping):
    """The keys of a dict, in order, as a list (for `for k in d.keys()/items()/values()`)."""
    return list(mapping)


def left_part(g, left):
    """The adjoint of `left` in the concatenation `left + right` of lists or tuples."""
    return convert_like(g[:len(left)], left)


def right_part(g, left):
    """The adjoint of `right` in the concatenation `left + right` of lists or tuples."""
    return convert_like(g[len(left):], g)


def replicate(g, items):
    """The adjoint of sum(items): g for every item (reduced to the item's shape)."""
    return [unbroadcast(g, item) for item in items]


def unarray(g, obj):
    """The adjoint of np.array(obj) / np.asarray(obj): g split back into obj's nesting of
    tuples and lists (a tuple per level), each leaf shaped like the value it came from."""
    if isinstance(obj, (tuple, list)):
        return tuple(unarray(g[k], item) for k, item in enumerate(obj))
    if np.ndim(obj) == 0 and not isinstance(obj, np.ndarray):
        return np.asarray(g)[()]
    return np.reshape(g, np.shape(obj))


def random_draw(generator, method, *args, **kwargs):
    """`rs.randn(3)` / `rng.normal(size=3)` on a NumPy random generator: a draw, computed
    once where the forward pass runs and a constant for the derivative. Any other object
    is refused, so a method of a user object is never silently treated as a constant."""
    import numpy.random as npr
    if not isinstance(generator, (npr.RandomState, npr.Generator)):
        raise TypeError(f"{type(generator).__name__}.{method}() called from a differentiated "
                        "function: only methods of np.random.RandomState/Generator can be "
                        "called on a local value; call the class's function with it instead")
    return getattr(generator, method)(*args, **kwargs)


def dict_has(mapping, key) -> bool:
    """`key in mapping` for `mapping.get(key, default)`; refuses anything but a dict, so
    another object's `.get` method is never silently taken for a dict's."""
    if not isinstance(mapping, dict):
        raise TypeError(f"{type(mapping).__name__}.get() called from a differentiated "
                        "function: only a dict's .get(key, default) is supported")
    return key in mapping


def as_integers(x, dtype):
    """`x.astype(int)` (or bool, or another integer type): piecewise constant, so no
    derivative; refused for a floating dtype, whose derivative is not zero."""
    if np.issubdtype(np.dtype(dtype), np.inexact):
        raise TypeError(f"astype({dtype!r}) is not an integer conversion")
    return np.asarray(x).astype(dtype)


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("as_integers", "attribute_tangent", "convert_like", "dict_has", "dict_keys", "left_part",
           "random_draw", "right_part", "replicate", "unarray")
