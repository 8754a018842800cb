"""Rules for the runtime helpers that generated code calls, so that generated code can be
differentiated again (higher derivatives).

matmul_lhs(g, a, b) is the adjoint of `a` in `a @ b`, i.e. the transpose of the linear map
a -> a @ b applied to g; its own transpose is that map again (`product`), and its
derivative in b is the adjoint of `b` in `C @ b` (`matmul_rhs`). Likewise for matmul_rhs.
"""
from __future__ import annotations

import numpy as np

from .. import runtime as rt
from .registry import REGISTRY, nondifferentiable, register_template

A, T = REGISTRY.adjoints, REGISTRY.tangents

register_template(A, rt.unbroadcast, "y, g, like", "d[g] = broadcast_like(d[y], g)")
register_template(T, rt.unbroadcast, "y, g, like", "d[y] = unbroadcast(d[g], like)")

register_template(A, rt.broadcast_like, "y, t, like", "d[t] = unbroadcast(d[y], t)")
register_template(T, rt.broadcast_like, "y, t, like", "d[y] = broadcast_like(d[t], like)")

register_template(A, rt.unreduce, "y, g, like, axis=None, keepdims=False",
                  "d[g] = np.sum(d[y], axis=axis, keepdims=keepdims)")
register_template(T, rt.unreduce, "y, g, like, axis=None, keepdims=False",
                  "d[y] = unreduce(d[g], like, axis=axis, keepdims=keepdims)")

register_template(A, rt.matmul_lhs, "y, g, a, b",
                  "d[g] = product(d[y], b)\nd[b] = matmul_rhs(g, d[y], b)\n")
register_template(T, rt.matmul_lhs, "y, g, a, b",
                  "d[y] = matmul_lhs(d[g], a, b)\nd[y] = matmul_lhs(g, a, d[b])\n")
register_template(A, rt.matmul_rhs, "y, g, a, b",
                  "d[g] = product(a, d[y])\nd[a] = matmul_lhs(g, a, d[y])\n")
register_template(T, rt.matmul_rhs, "y, g, a, b",
                  "d[y] = matmul_rhs(d[g], a, b)\nd[y] = matmul_rhs(g, d[a], b)\n")
register_template(A, rt.product, "y, a, b",
                  "d[a] = matmul_lhs(d[y], a, b)\nd[b] = matmul_rhs(d[y], a, b)\n")
register_template(T, rt.product, "y, a, b", "d[y] = product(d[a], b)\nd[y] = product(a, d[b])\n")

register_template(A, np.outer, "y, a, b",
                  "d[a] = np.reshape(np.dot(d[y], np.ravel(b)), np.shape(a))\n"
                  "d[b] = np.reshape(np.dot(np.ravel(a), d[y]), np.shape(b))\n")
register_template(T, np.outer, "y, a, b", "d[y] = np.outer(d[a], b)\nd[y] = np.outer(a, d[b])\n")

register_template(A, rt.add_at, "y, acc, index, g",
                  "d[acc] = d[y]\nd[g] = unbroadcast(d[y][index], g)\n")
register_template(T, rt.add_at, "y, acc, index, g", "d[y] = add_at(d[acc], index, d[g])")

register_template(A, rt.set_at, "y, a, index, value",
                  "d[a] = zero_at(d[y], index)\nd[value] = unbroadcast(d[y][index], value)\n")
register_template(T, rt.set_at, "y, a, index, value",
                  "d[y] = set_at(d[a], index, d[value])")  # forward.py handles constant parts
register_template(A, rt.zero_at, "y, g, index", "d[g] = zero_at(d[y], index)")
register_template(T, rt.zero_at, "y, g, index", "d[y] = zero_at(d[g], index)")
register_template(A, rt.plus, "y, a, b", "d[a] = d[y]\nd[b] = d[y]\n")
register_template(T, rt.plus, "y, a, b", "d[y] = d[a]\nd[y] = d[b]\n")

register_template(A, rt.attribute_tangent, "y, t, name", "d[t] = add_at(zeros_like(t), name, d[y])")
register_template(T, rt.attribute_tangent, "y, t, name", "d[y] = attribute_tangent(d[t], name)")

nondifferentiable(rt.checkpoint_every, rt.zeros_like, rt.reduced_size, rt.extremum_mask,
                  rt.inverse_permutation,
                  slice)

# Helpers of the NumPy rule families (elementwise.py, reductions.py). The linear ones are
# each other's transposes: group_axes/ungroup_axes, masked_rows/masked_rows_t,
# np.cumsum/cumsum_t. prod_others has a symmetric Jacobian (the product of the entries other
# than i and k), so one line serves both modes.
register_template(A, rt.sinc_derivative, "y, x, n", "d[x] = d[y] * sinc_derivative(x, n + 1)")
register_template(T, rt.sinc_derivative, "y, x, n", "d[y] = d[x] * sinc_derivative(x, n + 1)")
register_template(A, rt.group_axes, "y, a, axis=None", "d[a] = ungroup_axes(d[y], a, axis)")
register_template(T, rt.group_axes, "y, a, axis=None", "d[y] = group_axes(d[a], axis)")
register_template(A, rt.ungroup_axes, "y, v, like, axis=None", "d[v] = group_axes(d[y], axis)")
register_template(T, rt.ungroup_axes, "y, v, like, axis=None",
                  "d[y] = ungroup_axes(d[v], like, axis)")
register_template(A, rt.masked_rows, "y, v, fill, kind",
                  "d[v] = masked_rows_t(d[y], kind)")
register_template(T, rt.masked_rows, "y, v, fill, kind",
                  "d[y] = masked_rows(d[v], 0.0, kind)")  # `fill` is a constant
register_template(A, rt.masked_rows_t, "y, h, kind", "d[h] = masked_rows(d[y], 0.0, kind)")
register_template(T, rt.masked_rows_t, "y, h, kind", "d[y] = masked_rows_t(d[h], kind)")
_PROD_OTHERS = ("np.sum(masked_rows({t}, 0.0, 'others') * "
                "prod_others(masked_rows(v, 1.0, 'others')), axis=-1)")
register_template(A, rt.prod_others, "y, v", "d[v] = " + _PROD_OTHERS.format(t="d[y]"))
register_template(T, rt.prod_others, "y, v", "d[y] = " + _PROD_OTHERS.format(t="d[v]"))
register_template(A, rt.cumsum_t, "y, g, like, axis=None", "d[g] = np.cumsum(d[y], axis=axis)")
register_template(T, rt.cumsum_t, "y, g, like, axis=None",
                  "d[y] = cumsum_t(d[g], like, axis)")
register_template(A, rt.average_weights, "y, w, a, axis=None",
                  "d[w] = np.reshape(d[y], np.shape(w))")
register_template(T, rt.average_weights, "y, w, a, axis=None",
                  "d[y] = average_weights(d[w], a, axis)")
nondifferentiable(rt.clip_part)
