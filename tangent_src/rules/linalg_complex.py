"""Complex rules of the factorizations (docs/conventions.md "Complex numbers"): eigh and
eigvalsh of a Hermitian matrix, svd and svdvals, eig and eigvals of a general matrix whose
eigenvalues are complex. The cotangent g of z pairs with its tangent as Re(sum(g * dz)),
so each adjoint is the transpose (not the conjugate transpose) of its tangent, step by
step; both are built from functions with complex rules, so second derivatives follow.

- eigh / eigvalsh read the Hermitian matrix `hermitize(a, UPLO)` (one triangle mirrored and
  conjugated, the real part of the diagonal, as LAPACK reads it). With M = V^H dH V:
  dw = Re(diag(M)), dV = V (F o M), F_ij = 1 / (w_j - w_i) off the diagonal.
- svd (reduced) with dP = U^H dA V: ds = Re(diag(dP)); dU and dV as in the real case, and
  the imaginary part of diag(dP) turns U's phases: dU += U diag(i Im(dP_ii) / s_i).
- eig: P = V^-1 dA V, dw = diag(P), dV = dV0 - V diag(V^H dV0) with dV0 = V (F o P),
  F_ij = 1 / (w_j - w_i) (`inv_gaps`); NumPy's unit norm keeps Re(v^H dv) = 0.

Eigen- and singular vectors of complex matrices are defined up to a phase each (a joint one
for u_k and v_k): the derivative is that of the phases held fixed (Im(v_k^H dv_k) = 0), the
convention of JAX and autograd, and it is what finite differences show for functions that
do not depend on the phases (abs(v), v v^H, u diag(s) vh); distinct eigenvalues (and
distinct nonzero singular values) are needed for the vectors, as in the real case.
"""
from __future__ import annotations

import numpy as np

from .. import runtime as rt
from .registry import REGISTRY, register_template

# the conventions' note (docs/coverage.md, through rules/linalg.py's NOTES)
PHASES = ("; complex `a`: Hermitian; its vectors are defined up to a phase each, held fixed "
          "(right for phase-invariant functions: abs(v), v v^H, u diag(s) vh; a loss that "
          "depends on the phases is refused in reverse mode)")
CA, CT = REGISTRY.complex_adjoints, REGISTRY.complex_tangents
A, T = REGISTRY.adjoints, REGISTRY.tangents


def _t(expr: str) -> str:
    return f"np.swapaxes({expr}, -1, -2)"


def _h(expr: str) -> str:
    return f"np.conj(np.swapaxes({expr}, -1, -2))"


def _diag(expr: str) -> str:
    return f"np.diagonal({expr}, 0, -2, -1)"


# -- eigh, eigvalsh --------------------------------------------------------------------------
_M = f"({_h('y[1]')} @ hermitize(d[a], UPLO) @ y[1])"
register_template(CT, np.linalg.eigh, "y, a, UPLO='L'",
                  f"d[y] = (np.real({_diag(_M)}), "
                  f"y[1] @ (inv_offdiag(pair_diff(y[0])) * {_M}))")
register_template(CA, np.linalg.eigh, "y, a, UPLO='L'",
                  "inner = undiagonal(np.real(d[y][0]), y[1], 0, -2, -1) + "
                  f"inv_offdiag(pair_diff(y[0])) * ({_t('y[1]')} @ "
                  "phase_checked(d[y][1], y[1]))\n"
                  f"d[a] = hermitize_t(np.conj(y[1]) @ inner @ {_t('y[1]')}, UPLO)\n")
_V = "np.linalg.eigh(a, UPLO)[1]"
register_template(CT, np.linalg.eigvalsh, "y, a, UPLO='L'",
                  "d[y] = vector_diag(np.linalg.eigh(a, UPLO), hermitize(d[a], UPLO), 'eigh')")
register_template(CA, np.linalg.eigvalsh, "y, a, UPLO='L'",
                  f"v = {_V}\n"
                  "d[a] = hermitize_t((np.conj(v) * np.expand_dims(np.real(d[y]), -2)) @ "
                  f"{_t('v')}, UPLO)\n")


# -- svd, svdvals ------------------------------------------------------------------------------
def svd_tangent(u: str, s: str, vh: str, da: str) -> str:
    """(du, ds, dvh) of the reduced complex SVD along da (see the module docstring)."""
    v = _h(vh)
    dp = f"({_h(u)} @ {da} @ {v})"
    row, col = f"np.expand_dims({s}, -2)", f"np.expand_dims({s}, -1)"
    gaps = f"inv_offdiag(pair_diff({s} * {s}))"
    du = (f"{u} @ ({gaps} * ({dp} * {row} + {col} * {_h(dp)})) + "
          f"({da} @ {v} - {u} @ {dp}) / {row} + "
          f"{u} * np.expand_dims(1j * np.imag({_diag(dp)}) / {s}, -2)")
    dv = (f"{v} @ ({gaps} * ({col} * {dp} + {_h(dp)} * {row})) + "
          f"({_h(da)} @ {u} - {v} @ {_h(dp)}) / {row}")
    return f"({du}, np.real({_diag(dp)}), {_h(f'({dv})')})"


# the transpose of svd_tangent: gP collects what the steps through dP receive
SVD_ADJOINT = (
    "row = np.expand_dims(s, -2)\n"
    "col = np.expand_dims(s, -1)\n"
    "gaps = inv_offdiag(pair_diff(s * s))\n"
    f"v = {_h('vh')}\n"
    f"gv = {_h('gvh')}\n"
    f"ug = {_t('u')} @ gu\n"
    "j = gaps * ug\n"
    f"k = gaps * ({_t('v')} @ gv)\n"
    f"gp = (j + {_h('j')}) * row + col * (k + {_h('k')}) + "
    f"undiagonal(np.real(gs) + 1j * np.imag({_diag('ug')}) / s, j, 0, -2, -1) - "
    f"{_t('u')} @ (gu / row) - {_h(_t('v') + ' @ (gv / row)')}\n"
    f"d[a] = np.conj(u) @ gp @ {_t('v')} + (gu / row) @ {_t('v')} + "
    f"{_h('(gv / row) @ ' + _t('u'))}\n")

_SVD = "y, a, full_matrices=True, compute_uv=True, hermitian=False"
_FRESH = "np.linalg.svd(a, full_matrices=False)"
_TANGENT = svd_tangent("y[0]", "y[1]", "y[2]", "d[a]").replace(
    "y[0]", "svd_checked(y[0], a, full_matrices)", 1)
_S_ONLY = f"vector_diag({_FRESH}, d[a], 'svd')"
register_template(CT, np.linalg.svd, _SVD,
                  f"d[y] = {_TANGENT} if compute_uv else {_S_ONLY}")
register_template(CA, np.linalg.svd, _SVD,
                  f"f = y if compute_uv else {_FRESH}\n"
                  "u = svd_checked(f[0], a, full_matrices)\n"
                  "s = f[1]\n"
                  "vh = f[2]\n"
                  "gu = phase_checked(d[y][0], u, d[y][2], y[2]) if compute_uv else "
                  "np.zeros_like(u)\n"
                  "gs = d[y][1] if compute_uv else d[y]\n"
                  "gvh = d[y][2] if compute_uv else np.zeros_like(vh)\n" + SVD_ADJOINT)
_FRESH = "np.linalg.svd(x, full_matrices=False)"
register_template(CT, np.linalg.svdvals, "y, x", f"d[y] = vector_diag({_FRESH}, d[x], 'svd')")
register_template(CA, np.linalg.svdvals, "y, x",
                  f"f = {_FRESH}\n"
                  "d[x] = (np.conj(f[0]) * np.expand_dims(np.real(d[y]), -2)) @ np.conj(f[2])\n")

# -- eig, eigvals --------------------------------------------------------------------------
_P = "np.linalg.solve(y[1], d[a] @ y[1])"
_DV0 = f"(y[1] @ (inv_gaps(y[0]) * {_P}))"
register_template(CT, np.linalg.eig, "y, a",
                  f"d[y] = ({_diag(_P)}, "
                  f"{_DV0} - y[1] * np.sum(np.conj(y[1]) * {_DV0}, axis=-2, keepdims=True))\n")
register_template(CA, np.linalg.eig, "y, a",
                  f"vt = {_t('y[1]')}\n"
                  "gv0 = phase_checked(d[y][1], y[1])\n"
                  "gv = gv0 - np.conj(y[1]) * np.sum(y[1] * gv0, axis=-2, keepdims=True)\n"
                  "pbar = undiagonal(d[y][0], y[1], 0, -2, -1) + inv_gaps(y[0]) * (vt @ gv)\n"
                  "d[a] = np.linalg.solve(vt, pbar @ vt)\n")
_VECS = "np.linalg.eig(a)[1]"
register_template(CT, np.linalg.eigvals, "y, a",
                  "d[y] = vector_diag(np.linalg.eig(a), d[a], 'eig')")
register_template(CA, np.linalg.eigvals, "y, a",
                  f"vt = {_t(_VECS)}\n"
                  "d[a] = np.linalg.solve(vt, undiagonal(d[y], vt, 0, -2, -1) @ vt)\n")

# the helpers: hermitize and hermitize_t are each other's adjoints (R-linear), inv_gaps is
# holomorphic (1 / pair_diff off the diagonal)
register_template(T, rt.hermitize, "y, x, upper=False", "d[y] = hermitize(d[x], upper)")
register_template(A, rt.hermitize, "y, x, upper=False", "d[x] = hermitize_t(d[y], upper)")
register_template(T, rt.hermitize_t, "y, g, upper=False", "d[y] = hermitize_t(d[g], upper)")
register_template(A, rt.hermitize_t, "y, g, upper=False", "d[g] = hermitize(d[y], upper)")
register_template(T, rt.inv_gaps, "y, w", "d[y] = -y * y * pair_diff(d[w])")
register_template(A, rt.inv_gaps, "y, w",
                  "d[w] = np.sum(-d[y] * y * y, axis=-2) - np.sum(-d[y] * y * y, axis=-1)")
# vector_diag: linear in t, and in each factor of f (its helpers have no rules: third
# derivatives of eigen- and singular values of complex matrices are not implemented)
register_template(T, rt.vector_diag, "y, f, t, kind",
                  "d[y] = vector_diag(f, d[t], kind)\nd[y] = vector_diag_df(f, d[f], t, kind)\n")
register_template(A, rt.vector_diag, "y, f, t, kind",
                  "d[t] = vector_diag_t(f, d[y], kind)\nd[f] = vector_diag_f(f, d[y], t, kind)\n")
# phase_checked: an identity that checks the loss does not depend on the vectors' phases
register_template(T, rt.phase_checked, "y, g, v, gh=None, vh=None", "d[y] = d[g]")
register_template(A, rt.phase_checked, "y, g, v, gh=None, vh=None", "d[g] = d[y]")
REGISTRY.complex_safe.update((rt.vector_diag, rt.vector_diag_df, rt.vector_diag_t,
                              rt.vector_diag_f, rt.phase_checked, rt.hermitize,
                              rt.hermitize_t, rt.inv_gaps, rt.pair_diff, rt.inv_offdiag,
                              rt.svd_checked, rt.undiagonal))
