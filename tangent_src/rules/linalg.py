"""Linear algebra: products and contractions, factorizations, solvers, norms.

Every rule is the derivative of exactly what NumPy/SciPy computes, built from functions
that have rules themselves, so derivatives of every order follow. Conditions and
conventions:

- einsum (any subscripts: implicit output, ellipsis, repeated letters, up to 8 operands;
  the operand/sublist form with up to 4, rules/einsum_forms.py): the derivative with
  respect to an operand is one `einsum_open` (runtime/products.py) with the subscripts
  rotated so that the operand is the output (`einsum_spec(subscripts, k)`); tensordot,
  inner and kron use the same helper.
- np.dot: matmul's rule up to 2-D; above, a contraction of a's last axis with b's
  second-to-last (runtime dot_lhs / dot_rhs).
- inv, det, slogdet, solve: `a` nonsingular. slogdet's sign has zero derivative; write
  `sign, logdet = np.linalg.slogdet(a)`, index it, or read `.logabsdet`.
  solve: `b` a vector (with a 2-D `a`) or a stack of matrices, not a 1-D `b` with a
  stacked `a`.
- cholesky, eigh, eigvalsh read one triangle of `a` (the lower one unless upper=True /
  UPLO="U"; scipy.linalg.cholesky: the upper one unless lower=True): the derivative is with
  respect to that triangle, the other triangle gets zero, as finite differences of
  NumPy's own function show. eigh's eigenvectors (and eigvalsh's values in direction of a
  repeated eigenvalue) are differentiable only for distinct eigenvalues; the gaps appear
  as 1 / (w_j - w_i) and are infinite otherwise.
- svd: singular vectors need distinct nonzero singular values and full_matrices=False
  (or a square `a`); compute_uv=False and np.linalg.svdvals need distinct values only.
  Eigen- and singular vectors carry NumPy's sign choice; functions invariant to the
  signs (u u^T, v * v, ...) are what the derivative describes robustly.
- qr: mode "reduced" (or "complete" with a square `a`), m >= n and full column rank.
- pinv: `a` of full rank (the pseudo-inverse is differentiable where its rank is fixed).
- matrix_power (any integer n; negative n: `a` nonsingular) and scipy.linalg.expm, through
  the identity d f(A)[E] = upper-right block of f([[A, E], [0, A]]); expm's rules call
  `expm_np` (Pade, NumPy only), so derivatives of every order stay in NumPy.
- scipy.linalg.inv, det, solve (default assume_a), svd: as their NumPy counterparts.
- norm: ord None / "fro" / 2 on vectors (and Frobenius on matrices): x / |x|, 0 at x = 0
  (the least-norm subgradient); ord 1 / inf / -inf: piecewise linear, ties share equally;
  matrix ord 2 / -2 / "nuc": singular vectors (distinct values), first derivatives only.
- scipy.linalg.solve_triangular and cho_solve read only the triangle they use.
"""
from __future__ import annotations

import gast
import numpy as np

from . import cross_axes
from .einsum_forms import with_sublist_form
from .linalg_complex import PHASES as _PHASES
from .optional import optional_module
from .registry import (
    REGISTRY,
    Template,
    nondifferentiable,
    register_template,
    template_from_source,
)

scipy = type("scipy", (), {"linalg": optional_module("scipy.linalg")})  # SciPy is optional

A, T = REGISTRY.adjoints, REGISTRY.tangents
_EARLIER = {id(t) for t in A.values()}


def _template_like(template: Template, key, params: str) -> Template:
    """`template` for another callable whose extra parameters (listed in `params`) are
    flags that do not change the value (scipy.linalg's overwrite_a, check_finite)."""
    body = "\n".join(gast.unparse(stmt) for stmt in template.body)
    return template_from_source(key, params, body)

SWAP = "np.swapaxes({}, -1, -2)"


def _t(expr: str) -> str:
    return SWAP.format(expr)


# -- einsum and the contractions built on it -------------------------------------------------

MAX_OPERANDS = 8


def _einsum_templates():
    """Operand j is parameter z{j+1}, named like einsum_open's slots so that unused ones
    (default None) drop out of the generated calls."""
    slots = [f"z{k}" for k in range(1, MAX_OPERANDS + 1)]
    params = "y, subscripts, z1, " + ", ".join(f"{z}=None" for z in slots[1:]) + \
        ", optimize=False"
    forward, reverse = [], []
    for k in range(1, MAX_OPERANDS + 1):
        later = [f"z{j}=z{j}" for j in range(k + 1, MAX_OPERANDS + 1)]
        args = slots[:k - 1] + [f"d[z{k}]"] + later
        forward.append(f"d[y] = einsum_open(einsum_spec(subscripts), np.shape(y), "
                       f"{', '.join(args)})")
        args = ["d[y]"] + slots[:k - 1] + later
        reverse.append(f"d[z{k}] = einsum_open(einsum_spec(subscripts, {k}), "
                       f"np.shape(z{k}), {', '.join(args)})")
    reverse, forward = with_sublist_form(reverse, forward)  # an array in the subscripts' place
    return params, "\n".join(reverse), "\n".join(forward)


_params, _reverse, _forward = _einsum_templates()
register_template(A, np.einsum, _params, _reverse)
register_template(T, np.einsum, _params, _forward)


def _contraction(key, params: str, spec: str, fwd_a: str, fwd_b: str) -> None:
    """Rules for a bilinear product of a and b equal to einsum(spec, a, b) (up to a reshape
    of the result for kron, applied to the cotangent by `g`)."""
    register_template(A, key, params,
                      f"d[a] = einsum_open(einsum_spec({spec}, 1), np.shape(a), d[y], z2=b)\n"
                      f"d[b] = einsum_open(einsum_spec({spec}, 2), np.shape(b), d[y], a)\n")
    register_template(T, key, params, f"d[y] = {fwd_a}\nd[y] = {fwd_b}\n")


_contraction(np.tensordot, "y, a, b, axes=2", "product_spec('tensordot', a, b, axes)",
             "np.tensordot(d[a], b, axes=axes)", "np.tensordot(a, d[b], axes=axes)")
_contraction(np.linalg.tensordot, "y, a, b, axes=2", "product_spec('tensordot', a, b, axes)",
             "np.linalg.tensordot(d[a], b, axes=axes)", "np.linalg.tensordot(a, d[b], axes=axes)")
_contraction(np.inner, "y, a, b", "product_spec('inner', a, b)",
             "np.inner(d[a], b)", "np.inner(a, d[b])")

register_template(A, np.kron, "y, a, b",
                  "g = np.reshape(d[y], kron_shape(a, b))\n"
                  "d[a] = einsum_open(einsum_spec(product_spec('kron', a, b), 1), np.shape(a), "
                  "g, z2=b)\n"
                  "d[b] = einsum_open(einsum_spec(product_spec('kron', a, b), 2), np.shape(b), "
                  "g, a)\n")
register_template(T, np.kron, "y, a, b", "d[y] = np.kron(d[a], b)\nd[y] = np.kron(a, d[b])\n")

register_template(A, np.vdot, "y, a, b",
                  "d[a] = np.reshape(d[y] * np.ravel(b), np.shape(a))\n"
                  "d[b] = np.reshape(d[y] * np.ravel(a), np.shape(b))\n")
register_template(T, np.vdot, "y, a, b", "d[y] = np.vdot(d[a], b)\nd[y] = np.vdot(a, d[b])\n")

for _key in (np.vecdot, np.linalg.vecdot):
    _name = "np.vecdot" if _key is np.vecdot else "np.linalg.vecdot"
    register_template(A, _key, "y, a, b, axis=-1",
                      "d[a] = sum_to(np.expand_dims(d[y], axis) * b, np.shape(a))\n"
                      "d[b] = sum_to(np.expand_dims(d[y], axis) * a, np.shape(b))\n")
    register_template(T, _key, "y, a, b, axis=-1",
                      f"d[y] = {_name}(d[a], b, axis=axis)\nd[y] = {_name}(a, d[b], axis=axis)\n")

register_template(A, np.linalg.matmul, "y, a, b",
                  "d[a] = matmul_lhs(d[y], a, b)\nd[b] = matmul_rhs(d[y], a, b)\n")
register_template(T, np.linalg.matmul, "y, a, b",
                  "d[y] = np.matmul(d[a], b)\nd[y] = np.matmul(a, d[b])\n")
register_template(A, np.linalg.outer, "y, a, b",
                  "d[a] = np.dot(d[y], b)\nd[b] = np.dot(a, d[y])\n")
register_template(T, np.linalg.outer, "y, a, b",
                  "d[y] = np.linalg.outer(d[a], b)\nd[y] = np.linalg.outer(a, d[b])\n")
register_template(A, np.cross, cross_axes.PARAMS, cross_axes.ADJOINT)
register_template(T, np.cross, cross_axes.PARAMS, cross_axes.TANGENT)
register_template(A, np.linalg.cross, cross_axes.LINALG_PARAMS, cross_axes.LINALG_ADJOINT)
register_template(T, np.linalg.cross, cross_axes.LINALG_PARAMS, cross_axes.LINALG_TANGENT)
for _key in (np.matrix_transpose, np.linalg.matrix_transpose):
    register_template(A, _key, "y, a", "d[a] = np.swapaxes(d[y], -1, -2)")
    register_template(T, _key, "y, a", "d[y] = np.swapaxes(d[a], -1, -2)")

# -- diagonals and triangles --------------------------------------------------------------------

register_template(A, np.trace, "y, a, offset=0, axis1=0, axis2=1, dtype=None",
                  "d[a] = undiagonal(unreduce(d[y], np.diagonal(a, offset, axis1, axis2), "
                  "axis=-1), a, offset, axis1, axis2)")
register_template(T, np.trace, "y, a, offset=0, axis1=0, axis2=1, dtype=None",
                  "d[y] = np.trace(d[a], offset, axis1, axis2)")
register_template(A, np.linalg.trace, "y, a, offset=0, dtype=None",
                  "d[a] = undiagonal(unreduce(d[y], np.diagonal(a, offset, -2, -1), axis=-1), "
                  "a, offset, -2, -1)")
register_template(T, np.linalg.trace, "y, a, offset=0, dtype=None",
                  "d[y] = np.trace(d[a], offset, -2, -1)")
register_template(A, np.diagonal, "y, a, offset=0, axis1=0, axis2=1",
                  "d[a] = undiagonal(d[y], a, offset, axis1, axis2)")
register_template(T, np.diagonal, "y, a, offset=0, axis1=0, axis2=1",
                  "d[y] = np.diagonal(d[a], offset, axis1, axis2)")
register_template(A, np.linalg.diagonal, "y, a, offset=0",
                  "d[a] = undiagonal(d[y], a, offset, -2, -1)")
register_template(T, np.linalg.diagonal, "y, a, offset=0",
                  "d[y] = np.diagonal(d[a], offset, -2, -1)")
register_template(A, np.diagflat, "y, v, k=0",
                  "d[v] = np.reshape(np.diag(d[y], k), np.shape(v))")
register_template(T, np.diagflat, "y, v, k=0", "d[y] = np.diagflat(d[v], k)")
register_template(A, np.diag, "y, v, k=0", "d[v] = diag_adjoint(d[y], v, k)")
register_template(T, np.diag, "y, v, k=0", "d[y] = np.diag(d[v], k)")
for _f in ("triu", "tril"):
    register_template(A, getattr(np, _f), "y, m, k=0",
                      f"d[m] = sum_to(np.{_f}(d[y], k), np.shape(m))")
    register_template(T, getattr(np, _f), "y, m, k=0", f"d[y] = np.{_f}(d[m], k)")

# -- inverse, determinants, solve ---------------------------------------------------------------

_SOLVE_DA = "np.linalg.solve(a, d[a])"
register_template(A, np.linalg.inv, "y, a",
                  f"t = {_t('y')}\nd[a] = -(t @ d[y] @ t)")
register_template(T, np.linalg.inv, "y, a", "d[y] = -(y @ d[a] @ y)")
register_template(A, np.linalg.det, "y, a",
                  f"d[a] = np.expand_dims(d[y] * y, (-2, -1)) * {_t('np.linalg.inv(a)')}")
register_template(T, np.linalg.det, "y, a",
                  f"d[y] = y * np.trace({_SOLVE_DA}, axis1=-2, axis2=-1)")
register_template(A, np.linalg.slogdet, "y, a",
                  f"d[a] = np.expand_dims(d[y][1], (-2, -1)) * {_t('np.linalg.inv(a)')}")
register_template(T, np.linalg.slogdet, "y, a",
                  f"d[y] = (np.zeros_like(y[0]), np.trace({_SOLVE_DA}, axis1=-2, axis2=-1))")
register_template(A, np.linalg.solve, "y, a, b",
                  f"t = np.linalg.solve({_t('a')}, solve_checked(d[y], a, b))\n"
                  "d[b] = sum_to(t, np.shape(b))\n"
                  "d[a] = -matmul_lhs(t, a, y)\n")
register_template(T, np.linalg.solve, "y, a, b",
                  "d[y] = np.linalg.solve(a, solve_checked(d[b], a, b))\n"
                  "d[y] = -np.linalg.solve(a, d[a] @ solve_checked(y, a, b))\n")
register_template(A, np.linalg.pinv, "y, a, rcond=None, *, rtol=None",
                  f"yt = {_t('y')}\ngt = {_t('d[y]')}\n"
                  "d[a] = -(yt @ d[y] @ yt) + (gt - a @ (y @ gt)) @ (y @ yt) + "
                  "(yt @ y) @ (gt - (gt @ y) @ a)\n")
_DAT = _t("d[a]")
register_template(T, np.linalg.pinv, "y, a, rcond=None, *, rtol=None",
                  f"d[y] = -(y @ d[a] @ y) + (y @ {_t('y')}) @ ({_DAT} - ({_DAT} @ a) @ y) + "
                  f"({_DAT} - y @ (a @ {_DAT})) @ ({_t('y')} @ y)")
for _key, _params in ((scipy.linalg.inv, "y, a, overwrite_a=False, check_finite=True"),
                      (scipy.linalg.det, "y, a, overwrite_a=False, check_finite=True"),
                      (scipy.linalg.solve, "y, a, b, overwrite_a=False, overwrite_b=False, "
                                           "check_finite=True")):
    _numpy = getattr(np.linalg, _key.__name__)
    A[_key] = _template_like(A[_numpy], _key, _params)
    T[_key] = _template_like(T[_numpy], _key, _params)
nondifferentiable(np.linalg.matrix_rank)

# d(A^n)[E] and d(expm A)[E] are the upper-right block of the function of [[A, E], [0, A]];
# the adjoints, the same with A^T (the Frechet derivatives are transposed by A -> A^T).
_BLOCKS = "block_embed({a}, 0, 0) + block_embed({t}, 0, 1) + block_embed({a}, 1, 1)"
register_template(A, scipy.linalg.expm, "y, A",
                  f"at = {_t('A')}\n"
                  f"d[A] = block_part(expm_np({_BLOCKS.format(a='at', t='d[y]')}), 0, 1)")
register_template(T, scipy.linalg.expm, "y, A",
                  f"d[y] = block_part(expm_np({_BLOCKS.format(a='A', t='d[A]')}), 0, 1)")
register_template(A, np.linalg.matrix_power, "y, a, n",
                  f"at = {_t('a')}\n"
                  "d[a] = block_part(np.linalg.matrix_power("
                  f"{_BLOCKS.format(a='at', t='d[y]')}, n), 0, 1)")
register_template(T, np.linalg.matrix_power, "y, a, n",
                  "d[y] = block_part(np.linalg.matrix_power("
                  f"{_BLOCKS.format(a='a', t='d[a]')}, n), 0, 1)")

# -- factorizations -----------------------------------------------------------------------------


def _cholesky(key, params: str, upper: str) -> None:
    """A = L L^T read from one triangle; `upper` is an expression, true for U = L^T."""
    lower_factor = f"transpose_if(y, trans={upper})"
    x = (f"np.linalg.solve({lower_factor}, "
         f"{_t(f'np.linalg.solve({lower_factor}, symmetrize(d[a], upper={upper}))')})")
    register_template(T, key, params,
                      f"d[y] = transpose_if({lower_factor} @ (0.5 * (np.tril({x}) + "
                      f"np.tril({x}, -1))), trans={upper})")
    register_template(A, key, params,
                      f"lt = {_t(lower_factor)}\n"
                      f"p = lt @ transpose_if(d[y], trans={upper})\n"
                      "q = np.linalg.solve(lt, 0.5 * (np.tril(p) + np.tril(p, -1)))\n"
                      f"d[a] = symmetrize_t({_t('np.linalg.solve(lt, ' + _t('q') + ')')}, "
                      f"upper={upper})\n")


_cholesky(np.linalg.cholesky, "y, a, upper=False", "upper")
_cholesky(scipy.linalg.cholesky, "y, a, lower=False, overwrite_a=False, check_finite=True",
          "not lower")

_M = f"({_t('y[1]')} @ symmetrize(d[a], UPLO) @ y[1])"
register_template(T, np.linalg.eigh, "y, a, UPLO='L'",
                  f"d[y] = (np.diagonal({_M}, 0, -2, -1), "
                  f"y[1] @ (inv_offdiag(pair_diff(y[0])) * {_M}))")
register_template(A, np.linalg.eigh, "y, a, UPLO='L'",
                  f"vt = {_t('y[1]')}\n"
                  "inner = undiagonal(d[y][0], y[1], 0, -2, -1) + "
                  "inv_offdiag(pair_diff(y[0])) * (vt @ d[y][1])\n"
                  "d[a] = symmetrize_t(y[1] @ inner @ vt, UPLO)\n")
_V = "np.linalg.eigh(a, UPLO)[1]"
register_template(T, np.linalg.eigvalsh, "y, a, UPLO='L'",
                  f"d[y] = np.sum({_V} * (symmetrize(d[a], UPLO) @ {_V}), axis=-2)")
register_template(A, np.linalg.eigvalsh, "y, a, UPLO='L'",
                  f"v = {_V}\n"
                  f"d[a] = symmetrize_t((v * np.expand_dims(d[y], -2)) @ {_t('v')}, UPLO)\n")


def svd_tangent(u: str, s: str, vh: str, da: str) -> str:
    """The tangent (du, ds, dvh) of the reduced SVD (u, s, vh) along da, as one expression
    (F_ij = 1 / (s_j^2 - s_i^2) off the diagonal, dP = u^T da v):
    du = u (F o (dP S + S dP^T)) + (da v - u dP) S^-1,
    dv = v (F o (S dP + dP^T S)) + (da^T u - v dP^T) S^-1."""
    v = _t(vh)
    dp = f"({_t(u)} @ {da} @ {v})"
    dpt = _t(dp)
    row, col = f"np.expand_dims({s}, -2)", f"np.expand_dims({s}, -1)"
    gaps = f"inv_offdiag(pair_diff({s} * {s}))"
    du = f"{u} @ ({gaps} * ({dp} * {row} + {col} * {dpt})) + ({da} @ {v} - {u} @ {dp}) / {row}"
    dv = (f"{v} @ ({gaps} * ({col} * {dp} + {dpt} * {row})) + "
          f"({_t(da)} @ {u} - {v} @ {dpt}) / {row}")
    return f"({du}, np.diagonal({dp}, 0, -2, -1), {_t(f'({dv})')})"


# Reverse mode from the reduced SVD (u, s, vh) and the cotangents (gu, gs, gvh):
# a_bar = u [(J + J^T) S + diag(gs) + S (K + K^T)] v^T + (I - u u^T) gu S^-1 v^T
#         + u S^-1 gv^T (I - v v^T), with J = F o (u^T gu), K = F o (v^T gv).
SVD_ADJOINT = (
    "row = np.expand_dims(s, -2)\n"
    "gaps = inv_offdiag(pair_diff(s * s))\n"
    f"j = gaps * ({_t('u')} @ gu)\n"
    f"k = gaps * (vh @ {_t('gvh')})\n"
    f"core = (j + {_t('j')}) * row + undiagonal(gs, j, 0, -2, -1) + "
    f"np.expand_dims(s, -1) * (k + {_t('k')})\n"
    f"d[a] = u @ core @ vh + ((gu - u @ ({_t('u')} @ gu)) / row) @ vh + "
    f"(u / row) @ (gvh - (gvh @ {_t('vh')}) @ vh)\n")

# Each factor of y is read by subscript (a tuple result is never passed whole); the first
# read goes through svd_checked, which refuses full_matrices=True with a non-square a.
_SVD = "y, a, full_matrices=True, compute_uv=True, hermitian=False"
_FRESH = "np.linalg.svd(a, full_matrices=False)"
_TANGENT = svd_tangent("y[0]", "y[1]", "y[2]", "d[a]").replace(
    "y[0]", "svd_checked(y[0], a, full_matrices)", 1)
for _key, _params in ((np.linalg.svd, _SVD),
                      (scipy.linalg.svd, "y, a, full_matrices=True, compute_uv=True, "
                                         "overwrite_a=False, check_finite=True, "
                                         "lapack_driver='gesdd'")):
    register_template(T, _key, _params,
                      f"d[y] = {_TANGENT} if compute_uv else "
                      f"np.sum({_FRESH}[0] * (d[a] @ {_t(_FRESH + '[2]')}), axis=-2)")
    register_template(A, _key, _params,
                      f"u = svd_checked(y[0], a, full_matrices) if compute_uv else "
                      f"{_FRESH}[0]\n"
                      "s = y[1] if compute_uv else y\n"
                      f"vh = y[2] if compute_uv else {_FRESH}[2]\n"
                      "gu = d[y][0] if compute_uv else np.zeros_like(u)\n"
                      "gs = d[y][1] if compute_uv else d[y]\n"
                      "gvh = d[y][2] if compute_uv else np.zeros_like(vh)\n" + SVD_ADJOINT)
_FRESH = "np.linalg.svd(x, full_matrices=False)"
register_template(T, np.linalg.svdvals, "y, x",
                  f"d[y] = np.sum({_FRESH}[0] * (d[x] @ {_t(_FRESH + '[2]')}), axis=-2)")
register_template(A, np.linalg.svdvals, "y, x",
                  f"f = {_FRESH}\nd[x] = (f[0] * np.expand_dims(d[y], -2)) @ f[2]\n")


def qr_tangent(q: str, r: str, da: str) -> str:
    """(dq, dr) of the reduced QR (q, r) along da: with B = da r^-1, C = q^T B and
    W = tril(C, -1) - tril(C, -1)^T: dq = q W + B - q C, dr = (C - W) r."""
    b = _t(f"np.linalg.solve({_t(r)}, {_t(da)})")
    c = f"({_t(q)} @ {b})"
    w = f"(np.tril({c}, -1) - {_t(f'np.tril({c}, -1)')})"
    return f"({q} @ {w} + {b} - {q} @ {c}, ({c} - {w}) @ {r})"


register_template(T, np.linalg.qr, "y, a, mode='reduced'",
                  "d[y] = " + qr_tangent("y[0]", "y[1]", "d[a]").replace(
                      "y[0]", "qr_checked(y[0], a, mode)", 1))
register_template(A, np.linalg.qr, "y, a, mode='reduced'",
                  "q = qr_checked(y[0], a, mode)\n"
                  f"m = d[y][1] @ {_t('y[1]')} - {_t('q')} @ d[y][0]\n"
                  "x = d[y][0] + q @ symmetrize(m, True)\n"
                  f"d[a] = {_t('np.linalg.solve(y[1], ' + _t('x') + ')')}\n")

# -- norms --------------------------------------------------------------------------------------

for _key, _params, _dual, _axis in (
        (np.linalg.norm, "y, x, ord=None, axis=None, keepdims=False",
         "norm_dual(x, y, ord=ord, axis=axis, keepdims=keepdims)", "axis"),
        (np.linalg.vector_norm, "y, x, axis=None, keepdims=False, ord=2",
         "norm_dual(x, y, ord=ord, axis=axis, keepdims=keepdims, kind='vector')", "axis"),
        (np.linalg.matrix_norm, "y, x, keepdims=False, ord='fro'",
         "norm_dual(x, y, ord=ord, keepdims=keepdims, kind='matrix')", "(-2, -1)")):
    register_template(A, _key, _params,
                      f"d[x] = unreduce(d[y], x, axis={_axis}, keepdims=keepdims) * {_dual}")
    register_template(T, _key, _params,
                      f"d[y] = np.sum(d[x] * {_dual}, axis={_axis}, keepdims=keepdims)")

# -- scipy.linalg: triangular and Cholesky solves -----------------------------------------------

_TRI = ("transpose_if(triangle(a, lower=lower, unit_diagonal=unit_diagonal) + "
        "unit_eye(a, unit_diagonal=unit_diagonal), trans=trans)")
_TRI_PARAMS = ("y, a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, "
               "check_finite=True")
register_template(T, scipy.linalg.solve_triangular, _TRI_PARAMS,
                  f"d[y] = np.linalg.solve({_TRI}, d[b])\n"
                  f"d[y] = -np.linalg.solve({_TRI}, transpose_if(triangle(d[a], lower=lower, "
                  "unit_diagonal=unit_diagonal), trans=trans) @ y)\n")
register_template(A, scipy.linalg.solve_triangular, _TRI_PARAMS,
                  f"m = {_TRI}\n"
                  f"t = np.linalg.solve({_t('m')}, d[y])\n"
                  "d[b] = t\n"
                  "d[a] = -triangle(transpose_if(matmul_lhs(t, m, y), trans=trans), "
                  "lower=lower, unit_diagonal=unit_diagonal)\n")

_K = "transpose_if(triangle(c_and_lower[0], lower=c_and_lower[1]), trans=not c_and_lower[1])"
_DK = ("transpose_if(triangle(d[c_and_lower][0], lower=c_and_lower[1]), "
       "trans=not c_and_lower[1])")
_CHO = "y, c_and_lower, b, overwrite_b=False, check_finite=True"
register_template(T, scipy.linalg.cho_solve, _CHO,
                  f"d[y] = np.linalg.solve({_K} @ {_t(_K)}, d[b])\n"
                  f"d[y] = -np.linalg.solve({_K} @ {_t(_K)}, "
                  f"({_DK} @ {_t(_K)} + {_K} @ {_t(_DK)}) @ y)\n")
register_template(A, scipy.linalg.cho_solve, _CHO,
                  f"k = {_K}\n"
                  f"am = k @ {_t('k')}\n"
                  "t = np.linalg.solve(am, d[y])\n"
                  "d[b] = t\n"
                  "ga = -matmul_lhs(t, am, y)\n"
                  f"gk = (ga + {_t('ga')}) @ k\n"
                  "d[c_and_lower] = (triangle(transpose_if(gk, trans=not c_and_lower[1]), "
                  "lower=c_and_lower[1]), 0.0)\n")

# conventions shown in docs/coverage.md (scripts/coverage.py reads the modules' NOTES)
_NONSINGULAR = "`a` nonsingular"
_ONE_TRIANGLE = ("reads one triangle of `a` ({}); the derivative is with respect to that "
                 "triangle, the other one gets zero")
_NORM = ("2-norm / Frobenius: x / |x|, 0 at x = 0; ord 1, inf, -inf (vectors and matrices): "
         "piecewise linear, ties share equally; other vector ord p: sign(x) (|x| / "
         "norm)^(p - 1) (up to second derivatives) and ord 0: zero; matrix ord 2, -2, 'nuc': "
         "singular vectors (distinct singular values), first derivatives only (complex: 2nd)")
NOTES = {
    np.einsum: ("any subscripts (implicit output, ellipsis, repeated letters, broadcasting), "
                "up to 8 operands; the operand/sublist form (up to 4 operands) is translated "
                "to subscripts; adjoints are einsum_open with rotated subscripts"),
    np.linalg.inv: _NONSINGULAR, scipy.linalg.inv: _NONSINGULAR,
    np.linalg.det: _NONSINGULAR + " (the gradient is det(a) inv(a)^T)",
    scipy.linalg.det: _NONSINGULAR + " (the gradient is det(a) inv(a)^T)",
    np.linalg.slogdet: (_NONSINGULAR + "; sign has zero derivative; write `sign, logdet = "
                        "np.linalg.slogdet(a)`, index it or read .logabsdet"),
    np.linalg.solve: _NONSINGULAR + "; not a 1-D b with a stacked a",
    scipy.linalg.solve: _NONSINGULAR + "; assume_a not supported",
    np.linalg.cholesky: _ONE_TRIANGLE.format("the lower one; upper=True: the upper one"),
    scipy.linalg.cholesky: _ONE_TRIANGLE.format("the upper one; lower=True: the lower one"),
    np.linalg.eigh: (_ONE_TRIANGLE.format("UPLO") + "; eigenvectors need distinct "
                     "eigenvalues (gaps 1 / (w_j - w_i)); vectors carry NumPy's signs" + _PHASES),
    np.linalg.eigvalsh: _ONE_TRIANGLE.format("UPLO") + "; a complex `a` is read as Hermitian",
    np.linalg.svd: ("singular vectors need distinct nonzero singular values and "
                    "full_matrices=False or a square `a` (else ValueError); compute_uv=False "
                    "recomputes the vectors" + _PHASES.replace("Hermitian; ", "")),
    scipy.linalg.svd: "as np.linalg.svd",
    np.linalg.svdvals: "distinct singular values for second derivatives",
    np.linalg.qr: "mode 'reduced' (or 'complete' with a square `a`), m >= n, full column rank",
    np.linalg.pinv: "`a` of full rank, hermitian=True not supported (the pseudo-inverse is "
                    "differentiable where the rank is locally constant)",
    np.linalg.matrix_power: "d(A^n)[E] = upper-right block of [[A, E], [0, A]]^n; n < 0 needs a "
                            "nonsingular `a`",
    scipy.linalg.expm: ("d expm(A)[E] = upper-right block of expm([[A, E], [0, A]]), computed "
                        "with expm_np (Pade 13, NumPy) at every order"),
    np.linalg.norm: _NORM, np.linalg.vector_norm: _NORM, np.linalg.matrix_norm: _NORM,
    scipy.linalg.solve_triangular: ("reads only the triangle selected by `lower` (unit "
                                    "diagonal if unit_diagonal); trans 0/1/2/'N'/'T'/'C'"),
    scipy.linalg.cho_solve: "reads only the factor's triangle",
    np.cross: "3-vectors along axisa / axisb (or axis), the result's along axisc",
    np.linalg.cross: "3-vectors along `axis`",
}

# the callables this module registers (tests/test_rules_linalg.py checks each one)
CALLABLES = tuple(key for key, t in A.items() if id(t) not in _EARLIER)
