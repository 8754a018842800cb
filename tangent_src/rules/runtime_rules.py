"""Rules for the runtime helpers that generated code calls, so that generated code can be
differentiated again (higher derivatives).

matmul_lhs(g, a, b) is the adjoint of `a` in `a @ b`, i.e. the transpose of the linear map
a -> a @ b applied to g; its own transpose is that map again (`product`), and its
derivative in b is the adjoint of `b` in `C @ b` (`matmul_rhs`). Likewise for matmul_rhs.
"""
from __future__ import annotations

import numpy as np

from .. import runtime as rt
from . import cross_axes
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
                  "d[acc] = d[y]\nd[g] = unbroadcast(read_at(d[y], index), g)\n")
register_template(A, rt.read_at, "y, x, index", "d[x] = add_at(zeros_like(x), index, d[y])")
register_template(T, rt.read_at, "y, x, index", "d[y] = read_at(d[x], index)")
register_template(T, rt.add_at, "y, acc, index, g", "d[y] = add_at(d[acc], index, d[g])")

register_template(A, rt.copy_of, "y, x", "d[x] = d[y]")
register_template(T, rt.copy_of, "y, x", "d[y] = copy_of(d[x])")

register_template(A, rt.set_at, "y, a, index, value",
                  "d[a] = zero_at(d[y], index)\n"
                  "d[value] = unbroadcast(written_at(d[y], index), value)\n")
register_template(T, rt.set_at, "y, a, index, value",
                  "d[y] = set_at(d[a], index, d[value])")  # forward.py handles constant parts
# written_at reads the entries a write kept; its transpose writes them back, and NumPy's
# assignment keeps the last of repeated indices exactly as the forward write did
register_template(A, rt.written_at, "y, g, index", "d[g] = set_at(zeros_like(g), index, d[y])")
register_template(T, rt.written_at, "y, g, index", "d[y] = written_at(d[g], index)")
register_template(A, rt.zero_at, "y, g, index", "d[g] = zero_at(d[y], index)")
register_template(T, rt.zero_at, "y, g, index", "d[y] = zero_at(d[g], index)")
register_template(A, rt.plus, "y, a, b", "d[a] = d[y]\nd[b] = d[y]\n")
register_template(T, rt.plus, "y, a, b", "d[y] = d[a]\nd[y] = d[b]\n")

register_template(A, rt.attribute_tangent, "y, t, name", "d[t] = add_at(zeros_like(t), name, d[y])")
register_template(T, rt.attribute_tangent, "y, t, name", "d[y] = attribute_tangent(d[t], name)")

nondifferentiable(rt.checkpoint_every, rt.zeros_like, rt.zeros_like_last, rt.reduced_size,
                  rt.extremum_mask, rt.inverse_permutation, rt.ones_seed,
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

# Helpers of the linear algebra, shape and scipy.special families (linalg.py, shaping.py,
# special.py). einsum_open is multilinear in its operands z1..z8: its tangent replaces one
# operand by its tangent, its adjoint with respect to operand s is einsum_open again with
# operand s's subscripts as the output (einsum_spec rotates them). The other linear helpers
# come in transposed pairs: pieces/join, undiagonal/np.diagonal, diag_adjoint/np.diag,
# block_embed/block_part, symmetrize/symmetrize_t, untile/np.tile, unrepeat/np.repeat,
# unpad/np.pad, untake/np.take, untake_along_axis/np.take_along_axis, unarray/np.array,
# sum_to/np.broadcast_to; svd_checked, qr_checked and solve_checked are identities that
# check a condition.
_Z = [f"z{k}" for k in range(1, 9)]
_EINSUM = "y, subscripts, shape, z1, " + ", ".join(f"{z}=None" for z in _Z[1:])
register_template(T, rt.einsum_open, _EINSUM, "\n".join(
    "d[y] = einsum_open(subscripts, shape, " + ", ".join(
        _Z[:s - 1] + [f"d[z{s}]"] + [f"z{j}=z{j}" for j in range(s + 1, 9)]) + ")"
    for s in range(1, 9)))
register_template(A, rt.einsum_open, _EINSUM, "\n".join(
    f"d[z{s}] = einsum_open(einsum_spec(subscripts, {s}), np.shape(z{s}), " + ", ".join(
        ["d[y]"] + _Z[:s - 1] + [f"z{j}=z{j}" for j in range(s + 1, 9)]) + ")"
    for s in range(1, 9)))


def _pair(helper, params: str, forward: str, reverse: str) -> None:
    """Rules for a helper linear in its first argument after the result."""
    arg = params.split(",")[1].strip()
    register_template(T, helper, params, f"d[y] = {forward.format(t=f'd[{arg}]')}")
    register_template(A, helper, params, f"d[{arg}] = {reverse}")


_pair(rt.undiagonal, "y, g, like, offset=0, axis1=0, axis2=1",
      "undiagonal({t}, like, offset, axis1, axis2)", "np.diagonal(d[y], offset, axis1, axis2)")
_pair(rt.diag_adjoint, "y, g, v, k=0", "diag_adjoint({t}, v, k)", "np.diag(d[y], k)")
_pair(rt.pair_diff, "y, w", "pair_diff({t})", "np.sum(d[y], axis=-2) - np.sum(d[y], axis=-1)")
_pair(rt.inv_offdiag, "y, x", "-{t} * y * y", "-d[y] * y * y")
_pair(rt.symmetrize, "y, x, upper=False", "symmetrize({t}, upper)", "symmetrize_t(d[y], upper)")
_pair(rt.symmetrize_t, "y, g, upper=False", "symmetrize_t({t}, upper)",
      "symmetrize(d[y], upper)")
_pair(rt.transpose_if, "y, x, trans=False", "transpose_if({t}, trans=trans)",
      "transpose_if(d[y], trans=trans)")
_pair(rt.triangle, "y, a, lower=False, unit_diagonal=False",
      "triangle({t}, lower=lower, unit_diagonal=unit_diagonal)",
      "triangle(d[y], lower=lower, unit_diagonal=unit_diagonal)")
_pair(rt.svd_checked, "y, x, a, full_matrices=True", "{t}", "d[y]")
_pair(rt.qr_checked, "y, x, a, mode='reduced'", "{t}", "d[y]")
_pair(rt.solve_checked, "y, x, a, b", "{t}", "d[y]")
_pair(rt.pad_checked, "y, t, mode='constant'", "{t}", "d[y]")
_pair(rt.cross_checked, "y, x, a, b", "{t}", "d[y]")
_pair(rt.eig_checked, "y, x, w", "{t}", "d[y]")
register_template(A, rt.cross3, cross_axes.CROSS3_PARAMS, cross_axes.CROSS3_ADJOINT)
register_template(T, rt.cross3, cross_axes.CROSS3_PARAMS, cross_axes.CROSS3_TANGENT)
_CROSS_AXES = "axisa=-1, axisb=-1, axisc=-1, axis=None"
_CROSS_KW = "axisa=axisa, axisb=axisb, axisc=axisc, axis=axis"
_pair(rt.cross_last, f"y, x, {_CROSS_AXES}", f"cross_last({{t}}, {_CROSS_KW})",
      f"cross_back(d[y], {_CROSS_KW})")
_pair(rt.cross_back, f"y, x, {_CROSS_AXES}", f"cross_back({{t}}, {_CROSS_KW})",
      f"cross_last(d[y], {_CROSS_KW})")
_pair(rt.banded_full, "y, ab, l_and_u", "banded_full({t}, l_and_u)", "banded_part(d[y], l_and_u)")
_pair(rt.banded_part, "y, m, l_and_u", "banded_part({t}, l_and_u)", "banded_full(d[y], l_and_u)")
_pair(rt.block_embed, "y, g, i, j", "block_embed({t}, i, j)", "block_part(d[y], i, j)")
_pair(rt.block_part, "y, c, i, j", "block_part({t}, i, j)", "block_embed(d[y], i, j)")
_pair(rt.one_if_none, "y, b", "{t}", "d[y]")
_pair(rt.sum_to, "y, g, shape", "sum_to({t}, shape)", "np.broadcast_to(d[y], np.shape(g))")
_pair(rt.pieces, "y, g, arrays, kind='concatenate', axis=0", "pieces({t}, arrays, kind, axis)",
      "join(d[y], kind, axis)")
_pair(rt.join, "y, parts, kind='concatenate', axis=0", "join({t}, kind, axis)",
      "pieces(d[y], parts, kind, axis)")
_pair(rt.untile, "y, g, a, reps", "untile({t}, a, reps)", "np.tile(d[y], reps)")
_pair(rt.unrepeat, "y, g, a, repeats, axis=None", "unrepeat({t}, a, repeats, axis)",
      "np.repeat(d[y], repeats, axis=axis)")
_pair(rt.unpad, "y, g, array, pad_width, mode='constant'", "unpad({t}, array, pad_width, mode)",
      "np.pad(d[y], pad_width, mode=mode)")
_pair(rt.untake, "y, g, a, indices, axis=None", "untake({t}, a, indices, axis)",
      "np.take(d[y], indices, axis=axis)")
_pair(rt.untake_along_axis, "y, g, arr, indices, axis=-1",
      "untake_along_axis({t}, arr, indices, axis)",
      "np.take_along_axis(d[y], indices, axis=axis)")
_pair(rt.unarray, "y, g, obj", "unarray({t}, obj)", "np.array(d[y], dtype=float)")
_BLOCKS = "block_embed({a}, 0, 0) + block_embed({t}, 0, 1) + block_embed({a}, 1, 1)"
register_template(A, rt.expm_np, "y, a",
                  "at = np.swapaxes(a, -1, -2)\n"
                  f"d[a] = block_part(expm_np({_BLOCKS.format(a='at', t='d[y]')}), 0, 1)")
register_template(T, rt.expm_np, "y, a",
                  f"d[y] = block_part(expm_np({_BLOCKS.format(a='a', t='d[a]')}), 0, 1)")
register_template(T, rt.polygamma_np, "y, n, x", "d[y] = d[x] * polygamma_np(n + 1, x)")
register_template(A, rt.polygamma_np, "y, n, x", "d[x] = d[y] * polygamma_np(n + 1, x)")

# norm_dual = x * norm_inv + a piecewise-constant part (+ singular vectors for the spectral
# norms, whose second derivatives norm_curvature_check refuses); norm_inv depends on y only.
_NORM = "out, x, y, ord=None, axis=None, keepdims=False, kind='norm'"
_INV = "norm_inv(x, y, ord=ord, axis=axis, keepdims=keepdims, kind=kind)"
_CHECK = "norm_curvature_check(x, ord=ord, axis=axis, kind=kind)"
_AXES = "norm_axes(axis, kind)"
# norm_dual's derivative: a diagonal in x at fixed y (norm_hess_diag) and a slope in y
# (norm_dual_dy); for the 2-norm they are norm_inv and -x norm_inv^2, whose own derivatives
# (third order) follow from norm_inv's rules; the vector p-norms' are refused.
_HESS = "norm_hess_diag(x, y, ord=ord, axis=axis, keepdims=keepdims, kind=kind)"
_DY = "norm_dual_dy(x, y, ord=ord, axis=axis, keepdims=keepdims, kind=kind)"
_THIRD = "norm_third_check(x, ord=ord, axis=axis, kind=kind)"
register_template(T, rt.norm_dual, _NORM,
                  f"d[out] = d[x] * {_HESS} + {_CHECK}\n"
                  f"d[out] = {_DY} * unreduce(d[y], x, axis={_AXES}, keepdims=keepdims)\n")
register_template(A, rt.norm_dual, _NORM,
                  f"d[x] = d[out] * {_HESS} + {_CHECK}\n"
                  f"d[y] = np.sum(d[out] * {_DY}, axis={_AXES}, keepdims=keepdims)\n")
register_template(T, rt.norm_hess_diag, _NORM,
                  f"d[out] = d[x] * {_THIRD}\n"
                  f"d[out] = -out * out * unreduce(d[y], x, axis={_AXES}, keepdims=keepdims)\n")
register_template(A, rt.norm_hess_diag, _NORM,
                  f"d[x] = d[out] * {_THIRD}\n"
                  f"d[y] = -np.sum(d[out] * out * out, axis={_AXES}, keepdims=keepdims)\n")
register_template(T, rt.norm_dual_dy, _NORM,
                  f"d[out] = d[x] * ({_THIRD} - {_INV} * {_INV})\n"
                  f"d[out] = 2.0 * x * {_INV} * {_INV} * {_INV} * "
                  f"unreduce(d[y], x, axis={_AXES}, keepdims=keepdims)\n")
register_template(A, rt.norm_dual_dy, _NORM,
                  f"d[x] = d[out] * ({_THIRD} - {_INV} * {_INV})\n"
                  f"d[y] = np.sum(d[out] * 2.0 * x * {_INV} * {_INV} * {_INV}, axis={_AXES}, "
                  "keepdims=keepdims)\n")
register_template(T, rt.norm_inv, _NORM,
                  f"d[out] = -out * out * unreduce(d[y], x, axis={_AXES}, keepdims=keepdims)")
register_template(A, rt.norm_inv, _NORM,
                  f"d[y] = -np.sum(d[out] * out * out, axis={_AXES}, keepdims=keepdims)")

nondifferentiable(rt.einsum_spec, rt.einsum_sublist_spec, rt.product_spec, rt.kron_shape,
                  rt.unit_eye,
                  rt.norm_curvature_check, rt.norm_axes, rt.norm_third_check)

# np.dot's adjoints, like matmul's (the same maps up to 2 dimensions), with np.dot as the
# forward map: dot_lhs(g, a, b) is the transpose of a -> np.dot(a, b) applied to g.
register_template(A, rt.dot_lhs, "y, g, a, b",
                  "d[g] = np.dot(d[y], b)\nd[b] = dot_rhs(g, d[y], b)\n")
register_template(T, rt.dot_lhs, "y, g, a, b",
                  "d[y] = dot_lhs(d[g], a, b)\nd[y] = dot_lhs(g, a, d[b])\n")
register_template(A, rt.dot_rhs, "y, g, a, b",
                  "d[g] = np.dot(a, d[y])\nd[a] = dot_lhs(g, a, d[y])\n")
register_template(T, rt.dot_rhs, "y, g, a, b",
                  "d[y] = dot_rhs(d[g], a, b)\nd[y] = dot_rhs(g, d[a], b)\n")

# Boundary-safe factors (docs/conventions.md): 1 / x and log(x) taken as 0 at x = 0, and the
# two parts of the derivative of a ** b.
register_template(A, rt.reciprocal_or_zero, "y, x", "d[x] = -d[y] * y * y")
register_template(T, rt.reciprocal_or_zero, "y, x", "d[y] = -d[x] * y * y")
register_template(A, rt.log_or_zero, "y, x", "d[x] = d[y] * reciprocal_or_zero(x)")
register_template(T, rt.log_or_zero, "y, x", "d[y] = d[x] * reciprocal_or_zero(x)")
register_template(A, rt.pow_term, "y, a, e",
                  "d[a] = unbroadcast(d[y] * power_slope(a, e), a)\n"
                  "d[e] = unbroadcast(d[y] * y * log_or_zero(a), e)\n")
register_template(T, rt.pow_term, "y, a, e",
                  "d[y] = d[a] * power_slope(a, e)\nd[y] = d[e] * y * log_or_zero(a)\n")
register_template(A, rt.falling, "y, b, n, m=0", "d[b] = d[y] * falling(b, n, m + 1)")
register_template(T, rt.falling, "y, b, n, m=0", "d[y] = d[b] * falling(b, n, m + 1)")
_SLOPE_DB = "(falling(b, n, 1) * pow_term(a, b - n) + y * log_or_zero(a))"
register_template(A, rt.power_slope, "y, a, b, n=1",
                  "d[a] = unbroadcast(d[y] * power_slope(a, b, n + 1), a)\n"
                  f"d[b] = unbroadcast(d[y] * {_SLOPE_DB}, b)\n")
register_template(T, rt.power_slope, "y, a, b, n=1",
                  f"d[y] = d[a] * power_slope(a, b, n + 1)\nd[y] = d[b] * {_SLOPE_DB}\n")
nondifferentiable(rt.linspace_weights)
register_template(A, rt.real_only, "y, t", "d[t] = d[y]")
register_template(T, rt.real_only, "y, t", "d[y] = real_only(d[t])")

# np.r_ / np.c_ (runtime.index_concat): affine in the value items; the helpers of its
# rules are linear in g and in the tangents, each the transpose of the other
register_template(A, rt.index_concat, "y, maker, items",
                  "d[items] = index_concat_vjp(d[y], maker, items)")
register_template(T, rt.index_concat, "y, maker, items",
                  "d[y] = index_concat_jvp(maker, items, d[items])")
register_template(A, rt.index_concat_jvp, "y, maker, items, tangents",
                  "d[tangents] = index_concat_vjp(d[y], maker, items)")
register_template(T, rt.index_concat_jvp, "y, maker, items, tangents",
                  "d[y] = index_concat_jvp(maker, items, d[tangents])")
register_template(A, rt.index_concat_vjp, "y, g, maker, items",
                  "d[g] = index_concat_jvp(maker, items, d[y])")
register_template(T, rt.index_concat_vjp, "y, g, maker, items",
                  "d[y] = index_concat_vjp(d[g], maker, items)")
