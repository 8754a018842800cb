"""Reductions, linear algebra and shape functions.

`unreduce(g, like, axis, keepdims)` broadcasts a reduced gradient back to the
input's shape; `matmul_lhs/matmul_rhs` are the two halves of the product rule
for `@` and `np.dot` on 1-D, 2-D and stacked operands.
"""
from __future__ import annotations

import gast
import numpy as np

from .registry import REGISTRY, register_template

A, T = REGISTRY.adjoints, REGISTRY.tangents
REDUCTIONS = (np.sum, np.mean, np.max, np.min, np.amax, np.amin)

for _f in (np.sum,):
    register_template(A, _f, "y, a, axis=None, keepdims=False",
                      "d[a] = unreduce(d[y], a, axis=axis, keepdims=keepdims)")
    register_template(T, _f, "y, a, axis=None, keepdims=False",
                      "d[y] = np.sum(d[a], axis=axis, keepdims=keepdims)")

register_template(A, np.mean, "y, a, axis=None, keepdims=False",
                  "d[a] = unreduce(d[y], a, axis=axis, keepdims=keepdims) / "
                  "reduced_size(a, axis=axis)")
register_template(T, np.mean, "y, a, axis=None, keepdims=False",
                  "d[y] = np.mean(d[a], axis=axis, keepdims=keepdims)")

for _f in (np.max, np.min, np.amax, np.amin):
    register_template(A, _f, "y, a, axis=None, keepdims=False",
                      "d[a] = unreduce(d[y], a, axis=axis, keepdims=keepdims) * "
                      "extremum_mask(a, y, axis=axis, keepdims=keepdims)")
    register_template(T, _f, "y, a, axis=None, keepdims=False",
                      "d[y] = np.sum(d[a] * extremum_mask(a, y, axis=axis, keepdims=keepdims), "
                      "axis=axis, keepdims=keepdims)")

for _key in (gast.MatMult, np.matmul, np.dot):
    register_template(A, _key, "y, a, b",
                      "d[a] = matmul_lhs(d[y], a, b)\nd[b] = matmul_rhs(d[y], a, b)\n")
    if _key is gast.MatMult:
        register_template(T, _key, "y, a, b", "d[y] = d[a] @ b\nd[y] = a @ d[b]\n")
    else:
        fwd = "np.matmul" if _key is np.matmul else "np.dot"
        register_template(T, _key, "y, a, b",
                          f"d[y] = {fwd}(d[a], b)\nd[y] = {fwd}(a, d[b])\n")

register_template(A, np.reshape, "y, a, shape=None, order='C'",
                  "d[a] = np.reshape(d[y], np.shape(a))")
register_template(T, np.reshape, "y, a, shape=None, order='C'",
                  "d[y] = np.reshape(d[a], np.shape(y))")
register_template(A, np.transpose, "y, a, axes=None",
                  "d[a] = np.transpose(d[y], inverse_permutation(axes))")
register_template(T, np.transpose, "y, a, axes=None", "d[y] = np.transpose(d[a], axes)")

register_template(A, np.where, "y, condition, x, y_",
                  "d[x] = unbroadcast(np.where(condition, d[y], 0.0), x)\n"
                  "d[y_] = unbroadcast(np.where(condition, 0.0, d[y]), y_)\n")
register_template(T, np.where, "y, condition, x, y_",
                  "d[y] = broadcast_like(np.where(condition, d[x], 0.0), y)\n"
                  "d[y] = broadcast_like(np.where(condition, 0.0, d[y_]), y)\n")
