"""`ravel_pytree`: a parameter pytree as one flat float vector and back (JAX's; autograd's
`flatten`), for `scipy.optimize.minimize(fun, x0, jac=True)`. Differentiable, so an L2
penalty written `flat, _ = ravel_pytree(params); np.dot(flat, flat)` works."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import InvalidArgumentTypeError
from .rules.registry import adjoint, d, tangent


def ravel_pytree(tree) -> tuple[np.ndarray, Callable]:
    """`(flat, unravel)`: the leaves of `tree` (numbers and arrays inside dicts, in sorted
    key order, lists, tuples and named tuples) concatenated into one 1-D float64 array (a
    complex leaf gives its real parts, then its imaginary parts), and the function that
    rebuilds a tree of the same structure, shapes and dtypes from such an array (a copy:
    it never shares memory with `flat`)."""
    if isinstance(tree, dict):
        keys = sorted(tree)
        flat, unravel_items = ravel_pytree([tree[k] for k in keys])
        return flat, lambda v: dict(zip(keys, unravel_items(v)))
    if isinstance(tree, (list, tuple)):
        parts = [ravel_pytree(item) for item in tree]
        sizes = np.cumsum([0] + [p[0].size for p in parts])
        flat = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0)

        def unravel_sequence(v):
            items = [p[1](v[a:b]) for p, a, b in zip(parts, sizes[:-1], sizes[1:])]
            if isinstance(tree, list):
                return items
            return type(tree)(*items) if hasattr(tree, "_fields") else tuple(items)
        return flat, unravel_sequence
    if isinstance(tree, (bool, np.bool_)) or not isinstance(
            tree, (int, float, complex, np.number, np.ndarray)):
        raise InvalidArgumentTypeError(
            f"ravel_pytree: a leaf of type {type(tree).__name__} is not a number or an "
            "array (pytrees are dicts, lists and tuples of those)")
    array = np.asarray(tree)
    shape, dtype, scalar = array.shape, array.dtype, not isinstance(tree, np.ndarray)
    if dtype.kind == "c":  # real parts, then imaginary parts (autograd's flatten)
        flat = np.concatenate([array.real.ravel(), array.imag.ravel()]).astype(np.float64)
    else:
        flat = np.array(array, dtype=np.float64).ravel()

    def unravel_leaf(v):
        v = np.asarray(v, dtype=np.float64)
        if dtype.kind == "c":
            v = v[:v.size // 2] + 1j * v[v.size // 2:]
        value = v.reshape(shape).astype(dtype, copy=True)
        return value.item() if scalar else value
    return flat, unravel_leaf


def unravel_like(tree, flat: np.ndarray):
    """A tree shaped like `tree` holding the values of `flat` (ravel_pytree's inverse, as
    a named function the derivative code of ravel_pytree can call and differentiate)."""
    return ravel_pytree(tree)[1](flat)


# ravel_pytree and unravel_like are linear and each other's transpose.
@adjoint(ravel_pytree)
def _ravel_adjoint(y, tree):
    d[tree] = unravel_like(tree, d[y][0])


@tangent(ravel_pytree)
def _ravel_tangent(y, tree):
    d[y] = (ravel_pytree(d[tree])[0], y[1])


@adjoint(unravel_like)
def _unravel_adjoint(y, tree, flat):
    d[flat] = ravel_pytree(d[y])[0]


@tangent(unravel_like)
def _unravel_tangent(y, tree, flat):
    d[y] = unravel_like(tree, d[flat])
