"""np.gradient's derivatives: `gradient_lin` (np.gradient with its spacing slots, None
dropped) is linear in f and `gradient_t` is its transpose; `gradient_dh` / `gradient_dh_t`
are the derivative with respect to a scalar spacing h (the result along that axis is
G(f) / h, so its derivative is -result / h).

Along one axis np.gradient applies the same linear map to every lane; gradient_t builds
that map's (n, n) matrix by applying np.gradient to the identity (any spacing: scalars or
coordinates, edge_order 1 or 2) and applies its transpose.
"""
from __future__ import annotations

import numpy as np

from .refusals import refuse


def _spacings(h1=None, h2=None, h3=None, h4=None) -> list:
    return [h for h in (h1, h2, h3, h4) if h is not None]


def gradient_axes(f, axis=None) -> list:
    """The axes np.gradient(f, axis=axis) differentiates along, in the order of its results."""
    nd = np.ndim(f)
    if axis is None:
        return list(range(nd))
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    return [int(a) % nd for a in axes]


def _axis_spacing(f, axis, spacings) -> list:
    """The spacing argument of each differentiated axis (one given for all, or one each)."""
    axes = gradient_axes(f, axis)
    if not spacings:
        return [1.0] * len(axes)
    if len(spacings) == 1 and len(axes) != 1:
        return [spacings[0]] * len(axes)
    if len(spacings) != len(axes):
        refuse("np.gradient: give one spacing, or one per axis")
    return list(spacings)


def gradient_lin(f, h1=None, h2=None, h3=None, h4=None, axis=None, edge_order=1):
    """np.gradient(f, h1, ..., axis=axis, edge_order=edge_order) with the None slots
    dropped: the map, linear in f, whose transpose is gradient_t."""
    return np.gradient(f, *_spacings(h1, h2, h3, h4), axis=axis, edge_order=edge_order)


def _parts(g, count: int) -> list:
    """np.gradient's result (an array for one axis, a tuple/list for several) as a list."""
    return [g] if count == 1 and not isinstance(g, (list, tuple)) else list(g)


def gradient_t(g, f, h1=None, h2=None, h3=None, h4=None, axis=None, edge_order=1):
    """The adjoint of f in np.gradient(f, h1, ..., axis, edge_order) for the cotangent g."""
    f = np.asarray(f)
    axes = gradient_axes(f, axis)
    spacing = _axis_spacing(f, axis, _spacings(h1, h2, h3, h4))
    out = np.zeros(np.shape(f), dtype=float)
    for part, ax, h in zip(_parts(g, len(axes)), axes, spacing):
        if part is None or np.ndim(part) == 0 and part == 0:
            continue
        n = np.shape(f)[ax]
        m = np.gradient(np.eye(n), h, axis=0, edge_order=edge_order)  # m[i, j] = dy_i / df_j
        moved = np.moveaxis(np.broadcast_to(part, np.shape(f)), ax, -1)
        out = out + np.moveaxis(moved @ m, -1, ax)
    return out


def _scalar_spacing(f, axis, spacings, k: int) -> list:
    """Which results use spacing slot k (1-based); refuses a coordinate array there."""
    given = list(spacings)
    h = given[k - 1]
    if np.ndim(h) != 0:
        refuse("the derivative of np.gradient with respect to a coordinate array (scalar "
               "spacings are differentiated)")
    count = len(gradient_axes(f, axis))
    return [True] * count if len(given) == 1 else [j == k - 1 for j in range(count)]


def gradient_dh(y, f, k, dh, h1=None, h2=None, h3=None, h4=None, axis=None):
    """The tangent of y = np.gradient(f, h1, ...) along dh, the tangent of scalar spacing k."""
    spacings = _spacings(h1, h2, h3, h4)
    uses = _scalar_spacing(f, axis, spacings, k)
    h = spacings[k - 1]
    parts = [-p * (dh / h) if use else np.zeros(np.shape(p))
             for p, use in zip(_parts(y, len(uses)), uses)]
    return parts[0] if len(uses) == 1 and not isinstance(y, (list, tuple)) else tuple(parts)


def gradient_dh_t(g, y, f, k, h1=None, h2=None, h3=None, h4=None, axis=None):
    """The adjoint of scalar spacing k in y = np.gradient(f, h1, ...) for the cotangent g."""
    spacings = _spacings(h1, h2, h3, h4)
    uses = _scalar_spacing(f, axis, spacings, k)
    h = spacings[k - 1]
    total = 0.0
    for gp, p, use in zip(_parts(g, len(uses)), _parts(y, len(uses)), uses):
        if use and gp is not None:
            total = total - np.sum(gp * p) / h
    return total


def gradient_second(x):
    """The derivative of gradient_dh / gradient_dh_t (a second derivative in a spacing):
    refused."""
    refuse("second derivatives of np.gradient with respect to its spacing (those in f are "
           "implemented)")
    return x


HELPERS = ("gradient_lin", "gradient_t", "gradient_dh", "gradient_dh_t", "gradient_second")
