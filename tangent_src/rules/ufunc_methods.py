"""`np.add.outer`, `np.subtract.outer`, `np.multiply.outer` (pairwise differences and
products, as Gaussian-process kernels write them) and `np.polyval`.

ufunc.outer(a, b)[i..., j...] = a[i...] op b[j...]: the result's first ndim(a) axes are a's,
the rest b's. So an adjoint sums the cotangent over the other operand's axes (or contracts
it with the other operand, for the product). np.polyval(p, x) = sum_k p[k] x^(n-1-k): in x
its slope is the polynomial of the derivative coefficients p[k] (n-1-k), in p each
coefficient's cotangent is the sum of g times its power of x. Every derivative is written in
NumPy calls that have rules themselves, so higher orders follow.
"""
from __future__ import annotations

import numpy as np

from .registry import REGISTRY, register_template

A, T = REGISTRY.adjoints, REGISTRY.tangents
_EARLIER = {id(t) for t in A.values()}

_A_AXES = "tuple(range(np.ndim(a), np.ndim(d[y])))"  # b's axes of the result
_B_AXES = "tuple(range(np.ndim(a)))"                  # a's axes of the result

register_template(T, np.add.outer, "y, a, b", "d[y] = np.add.outer(d[a], d[b])")
register_template(A, np.add.outer, "y, a, b",
                  f"d[a] = np.sum(d[y], axis={_A_AXES})\n"
                  f"d[b] = np.sum(d[y], axis={_B_AXES})\n")
register_template(T, np.subtract.outer, "y, a, b", "d[y] = np.subtract.outer(d[a], d[b])")
register_template(A, np.subtract.outer, "y, a, b",
                  f"d[a] = np.sum(d[y], axis={_A_AXES})\n"
                  f"d[b] = -np.sum(d[y], axis={_B_AXES})\n")
register_template(T, np.multiply.outer, "y, a, b",
                  "d[y] = np.multiply.outer(d[a], b)\nd[y] = np.multiply.outer(a, d[b])\n")
register_template(A, np.multiply.outer, "y, a, b",
                  "d[a] = np.tensordot(d[y], b, axes=np.ndim(b))\n"
                  "d[b] = np.tensordot(a, d[y], axes=np.ndim(a))\n")

# p'(x) has the coefficients p[k] * (n - 1 - k) for k < n - 1
_SLOPE = "np.polyval(p[:-1] * np.arange(np.size(p) - 1, 0, -1.0), x)"
_POWERS = "np.reshape(x, (-1, 1)) ** np.arange(np.size(p) - 1, -1, -1.0)"
register_template(T, np.polyval, "y, p, x",
                  f"d[y] = np.polyval(d[p], x)\nd[y] = {_SLOPE} * d[x]\n")
register_template(A, np.polyval, "y, p, x",
                  f"d[p] = np.sum(np.reshape(d[y] * np.ones(np.shape(x)), (-1, 1)) * {_POWERS},"
                  " axis=0)\n"
                  f"d[x] = d[y] * {_SLOPE}\n")

NOTES = {
    np.add.outer: "both operands, any ranks",
    np.subtract.outer: "both operands, any ranks",
    np.multiply.outer: "both operands, any ranks",
    np.polyval: "coefficients (1-D array) and x (any shape); every order",
}

# the callables this module registers (tests/test_rules_more.py checks each one)
CALLABLES = tuple(key for key, t in A.items() if id(t) not in _EARLIER)
