"""Rules audited for complex values beyond the np.fft family (rules/fft.py), and the complex
rules of the non-holomorphic functions that need their own (docs/conventions.md "Complex
numbers").

Under the convention (the cotangent g of z pairs with its tangent as Re(sum(g * dz))) the
real rule of a holomorphic function is right as written: g * f'(z), the transpose of a
complex-linear map, not its conjugate transpose. Each entry of AUDITED was checked by
central differences along the real and the imaginary parts (tests/
test_complex_arguments.py), first and second order, including the runtime helpers its
derivative code calls. Functions that conjugate (np.vdot, np.var, np.std, the norms) have
complex rules here: for a real result y = f(z), dy = Re(sum(conj(D) dz)) with D the
"direction" of the real rule, so the cotangent is g * conj(D).
"""
from __future__ import annotations

import gast
import numpy as np

try:  # scipy is optional
    import scipy.special as _special
except ImportError:  # pragma: no cover - exercised by test_regressions
    _special = None

from .. import runtime as rt
from .registry import REGISTRY, nondifferentiable, register_template

CA, CT = REGISTRY.complex_adjoints, REGISTRY.complex_tangents

HOLOMORPHIC = (np.sin, np.cos, np.tan, np.sinh, np.cosh, np.tanh, np.exp2, np.expm1,
               np.log, np.log2, np.log10, np.log1p, np.sqrt, np.square, np.reciprocal,
               np.arcsin, np.arccos, np.arctan, np.arcsinh, np.arctanh) + (
    (_special.erf, _special.erfc) if _special is not None else ())
POWERS = (gast.Pow, np.power, np.float_power, pow, rt.power_slope, rt.pow_term, rt.log_or_zero,
          rt.reciprocal_or_zero)
PRODUCTS = (gast.MatMult, np.dot, np.matmul, np.outer, np.kron, np.tensordot, np.inner,
            np.einsum, np.trace, np.diag, np.diagonal, np.linalg.det, np.linalg.inv,
            np.linalg.solve, rt.einsum_open, rt.matmul_lhs, rt.matmul_rhs, rt.undiagonal,
            rt.diag_adjoint, rt.solve_checked, rt.dot_lhs, rt.dot_rhs, rt.product)
REDUCTIONS = (np.prod, np.cumsum, np.cumprod, np.max, np.min, np.amax, np.amin,
              rt.group_axes, rt.ungroup_axes, rt.prod_others, rt.masked_rows,
              rt.masked_rows_t, rt.cumsum_t)
SHAPING = (np.reshape, np.transpose, np.swapaxes, np.ravel, np.concatenate, np.stack,
           np.hstack, np.vstack, np.tile, np.repeat, np.flip, np.roll, np.expand_dims,
           np.squeeze, np.sort, np.triu, np.tril, np.take, np.take_along_axis,
           np.broadcast_to, np.where, rt.pieces, rt.untile, rt.unrepeat,
           rt.untake_along_axis, rt.untake, rt.sum_to, rt.add_at, rt.read_at, rt.plus,
           rt.copy_of, rt.set_at, rt.written_at, rt.zero_at, tuple, list, rt.convert_like,
           np.copy, sum, rt.replicate)
AUDITED = HOLOMORPHIC + POWERS + PRODUCTS + REDUCTIONS + SHAPING

REGISTRY.complex_safe.update(AUDITED)
# np.arccosh: its real rule 1 / sqrt(x^2 - 1) has the sign of the principal branch only in
# the right half plane; 1 / (sqrt(z - 1) sqrt(z + 1)) has arccosh's branch cut
_ACOSH = "(np.sqrt(x - 1.0) * np.sqrt(x + 1.0))"
register_template(CA, np.arccosh, "y, x", f"d[x] = d[y] / {_ACOSH}")
register_template(CT, np.arccosh, "y, x", f"d[y] = d[x] / {_ACOSH}")
# real results of complex values (their cotangents and tangents are real)
REGISTRY.real_results.update((np.var, np.std, np.linalg.norm, np.linalg.vector_norm,
                              np.linalg.matrix_norm))

# np.vdot(a, b) = sum(conj(a) * b): its tangent rule (np.vdot(da, b) + np.vdot(a, db)) is
# right; the cotangent of a is conj(g * b), of b g * conj(a)
register_template(CA, np.vdot, "y, a, b",
                  "d[a] = np.reshape(np.conj(d[y] * np.ravel(b)), np.shape(a))\n"
                  "d[b] = np.reshape(d[y] * np.conj(np.ravel(a)), np.shape(b))\n")

# var and std: the centered values' conjugates (the mean's own term sums to zero)
_DDOF = "y, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False"
_CENTERED = "np.conj(a - np.mean(a, axis=axis, keepdims=True))"
_N = "(reduced_size(a, axis=axis) - ddof)"
_UNREDUCE = "unreduce({g}, a, axis=axis, keepdims=keepdims)"
_PAIRED = f"np.sum(np.real({_CENTERED} * d[a]), axis=axis, keepdims=keepdims)"
register_template(CA, np.var, _DDOF,
                  f"d[a] = {_UNREDUCE.format(g='d[y]')} * {_CENTERED} * (2.0 / {_N})")
register_template(CT, np.var, _DDOF, f"d[y] = {_PAIRED} * (2.0 / {_N})")
register_template(CA, np.std, _DDOF, f"d[a] = {_UNREDUCE.format(g='d[y] * reciprocal_or_zero(y)')}"
                                     f" * {_CENTERED} / {_N}")
register_template(CT, np.std, _DDOF, f"d[y] = {_PAIRED} * reciprocal_or_zero(y) / {_N}")

# norms: complex_norm_dual is the real rule's direction D for complex x (x / |x| for the
# 2-norm and Frobenius norm, np.sign(x) = x / |x| for ord 1, singular vectors U W V^H for
# the spectral and nuclear norms)
for _key, _params, _dual, _axis in (
        (np.linalg.norm, "y, x, ord=None, axis=None, keepdims=False",
         "complex_norm_dual(x, y, ord=ord, axis=axis, keepdims=keepdims)", "axis"),
        (np.linalg.vector_norm, "y, x, axis=None, keepdims=False, ord=2",
         "complex_norm_dual(x, y, ord=ord, axis=axis, keepdims=keepdims, kind='vector')",
         "axis"),
        (np.linalg.matrix_norm, "y, x, keepdims=False, ord='fro'",
         "complex_norm_dual(x, y, ord=ord, keepdims=keepdims, kind='matrix')", "(-2, -1)")):
    register_template(CA, _key, _params, f"d[x] = unreduce(d[y], x, axis={_axis}, "
                                         f"keepdims=keepdims) * np.conj({_dual})")
    register_template(CT, _key, _params, f"d[y] = np.sum(np.real(np.conj({_dual}) * d[x]), "
                                         f"axis={_axis}, keepdims=keepdims)")

# second derivatives: complex_norm_dual = x * complex_norm_inv (2-norm, Frobenius: linear in
# x with a real factor) plus complex_norm_curv (the other smooth norms: vector p-norms and
# the nuclear norm), R-linear and symmetric in its direction, so its adjoint is
# conj(curv(conj(g))); complex_norm_slope is the rest of the y-derivative
_NORM = "out, x, y, ord=None, axis=None, keepdims=False, kind='norm'"
_KW = "ord=ord, axis=axis, keepdims=keepdims, kind=kind"
_INV = f"complex_norm_inv(x, y, {_KW})"
_AXES = "norm_axes(axis, kind)"
_DY = f"(complex_norm_slope(x, y, {_KW}) - x * {_INV} * {_INV})"
_CHECK = "complex_norm_third_check(x, ord=ord, axis=axis, kind=kind)"
register_template(REGISTRY.tangents, rt.complex_norm_dual, _NORM,
                  f"d[out] = d[x] * {_INV} + complex_norm_curv(x, y, d[x], {_KW})\n"
                  f"d[out] = {_DY} * unreduce(d[y], x, axis={_AXES}, keepdims=keepdims)\n")
register_template(REGISTRY.adjoints, rt.complex_norm_dual, _NORM,
                  f"d[x] = d[out] * {_INV} + np.conj(complex_norm_curv(x, y, np.conj(d[out]), "
                  f"{_KW}))\n"
                  f"d[y] = np.sum(np.real(d[out] * {_DY}), axis={_AXES}, keepdims=keepdims)\n")
register_template(REGISTRY.tangents, rt.complex_norm_inv, _NORM,
                  f"d[out] = -out * out * unreduce(d[y], x, axis={_AXES}, keepdims=keepdims)")
register_template(REGISTRY.adjoints, rt.complex_norm_inv, _NORM,
                  f"d[y] = -np.sum(d[out] * out * out, axis={_AXES}, keepdims=keepdims)")
# third derivatives: curv and slope are constant (zero) for the 2-norm and Frobenius norm
# only; the check refuses the others
_CURV = "out, x, y, t, ord=None, axis=None, keepdims=False, kind='norm'"
register_template(REGISTRY.tangents, rt.complex_norm_curv, _CURV,
                  f"d[out] = complex_norm_curv(x, y, d[t], {_KW})\n"
                  f"d[out] = d[x] * {_CHECK}\n"
                  f"d[out] = unreduce(d[y], x, axis={_AXES}, keepdims=keepdims) * {_CHECK}\n")
register_template(REGISTRY.adjoints, rt.complex_norm_curv, _CURV,
                  f"d[t] = np.conj(complex_norm_curv(x, y, np.conj(d[out]), {_KW}))\n"
                  f"d[x] = d[out] * {_CHECK}\n"
                  f"d[y] = np.sum(np.real(d[out]), axis={_AXES}, keepdims=keepdims) * {_CHECK}\n")
register_template(REGISTRY.tangents, rt.complex_norm_slope, _NORM,
                  f"d[out] = d[x] * {_CHECK}\n"
                  f"d[out] = unreduce(d[y], x, axis={_AXES}, keepdims=keepdims) * {_CHECK}\n")
register_template(REGISTRY.adjoints, rt.complex_norm_slope, _NORM,
                  f"d[x] = d[out] * {_CHECK}\n"
                  f"d[y] = np.sum(np.real(d[out]), axis={_AXES}, keepdims=keepdims) * {_CHECK}\n")
nondifferentiable(rt.complex_norm_third_check)
REGISTRY.complex_safe.update((rt.complex_norm_curv, rt.complex_norm_slope))
REGISTRY.complex_safe.update((rt.complex_norm_dual, rt.complex_norm_inv))

# a complex argument's gradient in its argument's kinds (transform/adjoint_values.py):
# R-linear; its adjoint puts the cotangent in the kinds of g
register_template(REGISTRY.adjoints, rt.like_kinds, "y, g, like",
                  "d[g] = like_kinds(d[y], g)")
register_template(REGISTRY.tangents, rt.like_kinds, "y, g, like",
                  "d[y] = like_kinds(d[g], like)")
REGISTRY.complex_safe.add(rt.like_kinds)
REGISTRY.like_kinded.append((rt.like_kinds, 1))
for _table in (CA, CT):
    REGISTRY.complex_safe.update(_table)
