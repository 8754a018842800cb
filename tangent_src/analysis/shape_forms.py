"""The classes of NumPy's shape-changing forms, for shape inference (shapes.py): an axis
reduction (`axis=`, `keepdims=`), a transpose, an allocation from a shape (np.zeros of a
tuple display or an integer), a reshape to a display of sizes, a squeeze or expand_dims
over literal axes. A class is a tuple of
flags per dimension ("N" a size not 1, "1", "?" unknown); None is unknown.
"""
from __future__ import annotations

import gast

from .shape_items import int_const

SCALAR: tuple = ()  # the class of a number (shapes.SCALAR)

def axes_of(node, ndim):
    if node is None or (isinstance(node, gast.Constant) and node.value is None):
        return "all"
    items = node.elts if isinstance(node, gast.Tuple) else [node]
    axes = [int_const(i) for i in items]
    if any(a is None for a in axes):
        return None
    return sorted(a % ndim for a in axes)


def reduced_class(cls, expr, keywords):
    axis = keywords.get("axis", expr.args[1] if len(expr.args) > 1 else None)
    keep = keywords.get("keepdims")  # positionally it comes after dtype/out: rare, unknown
    if keep is None and len(expr.args) > 2:
        return None
    if keep is not None and not isinstance(keep, gast.Constant):
        return None
    keepdims = keep is not None and keep.value is True
    if (axis is None or (isinstance(axis, gast.Constant) and axis.value is None)) \
            and not keepdims:
        return SCALAR
    if cls is None:
        return None
    axes = axes_of(axis, max(len(cls), 1))
    if axes is None:
        return None
    if axes == "all":
        axes = list(range(len(cls)))
    if keepdims:
        return tuple("1" if i in axes else f for i, f in enumerate(cls))
    return tuple(f for i, f in enumerate(cls) if i not in axes)


def transposed_class(cls, axes):
    if cls is None:
        return None
    if axes is None or (isinstance(axes, gast.Constant) and axes.value is None):
        return tuple(reversed(cls))
    if isinstance(axes, gast.Tuple):
        order = [int_const(e) for e in axes.elts]
        if None not in order and sorted(order) == list(range(len(cls))):
            return tuple(cls[i] for i in order)
    return None


def allocated_class(shape, cls):
    """The class of np.zeros(shape) (np.ones, np.empty, np.full): one flag per entry of a
    tuple display, or one dimension for an integer."""
    if isinstance(shape, gast.Tuple):
        return reshaped_class(shape)
    return ("?",) if cls == SCALAR else None


def reshaped_class(shape):
    items = shape.elts if isinstance(shape, gast.Tuple) else [shape]
    sizes = [int_const(i) for i in items]
    if isinstance(shape, gast.Tuple) or sizes[0] is not None:
        return tuple("?" if s is None or s < 0 else "1" if s == 1 else "N" for s in sizes)
    return None


def squeezed_class(cls, axis):
    """np.squeeze(x, axis): the axes given (literal) dropped; with no axis, every size-1
    axis, which needs every flag known."""
    if cls is None:
        return None
    if axis is None or (isinstance(axis, gast.Constant) and axis.value is None):
        return None if "?" in cls else tuple(f for f in cls if f != "1")
    axes = axes_of(axis, max(len(cls), 1))
    if axes is None or axes == "all" or any(i >= len(cls) or cls[i] == "N" for i in axes):
        return None
    return tuple(f for i, f in enumerate(cls) if i not in axes)


def expanded_class(cls, axis):
    """np.expand_dims(x, axis): a size-1 axis inserted at each literal position."""
    if cls is None:
        return None
    axes = axes_of(axis, len(cls) + (len(axis.elts) if isinstance(axis, gast.Tuple) else 1))
    if axes is None or axes == "all" or len(set(axes)) != len(axes):
        return None
    out, rest = [], iter(cls)
    for i in range(len(cls) + len(axes)):
        out.append("1" if i in axes else next(rest))
    return tuple(out)
