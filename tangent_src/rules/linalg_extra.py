"""More linear algebra: np.linalg.eig and eigvals (real eigenvalues), and
scipy.linalg.solve_banded.

- eig: A V = V diag(w) with P = V^-1 dA V gives dw = diag(P) and, before NumPy's unit-norm
  normalization of each eigenvector, dV0 = V (F o P) with F_ij = 1 / (w_j - w_i) off the
  diagonal; the normalization removes the component of dv_k along v_k. The adjoint is the
  transpose of each step (the normalization is its own transpose). Real eigenvalues only
  (`eig_checked` refuses complex ones); eigenvectors need distinct eigenvalues. Built from
  functions that have rules, so derivatives of every order follow.
- solve_banded((l, u), ab, b): the solve with the full matrix `banded_full(ab, (l, u))`;
  the adjoint of ab is the band of -t y^T in ab's layout (zero in the corners
  solve_banded does not read).
"""
from __future__ import annotations

import numpy as np

from .optional import optional_module
from .registry import REGISTRY, register_template

scipy = type("scipy", (), {"linalg": optional_module("scipy.linalg")})

A, T = REGISTRY.adjoints, REGISTRY.tangents
_EARLIER = {id(t) for t in A.values()}


def _t(expr: str) -> str:
    return f"np.swapaxes({expr}, -1, -2)"


_V = "eig_checked(y[1], y[0])"
# tangent templates are single expressions: P and dV0 are written out where they are used
_P = f"np.linalg.solve({_V}, d[a] @ {_V})"
_DV0 = f"({_V} @ (inv_offdiag(pair_diff(y[0])) * {_P}))"
register_template(T, np.linalg.eig, "y, a",
                  f"d[y] = (np.diagonal({_P}, 0, -2, -1), "
                  f"{_DV0} - {_V} * np.sum({_V} * {_DV0}, axis=-2, keepdims=True))\n")
register_template(A, np.linalg.eig, "y, a",
                  f"v = {_V}\n"
                  f"vt = {_t('v')}\n"
                  "gv = d[y][1] - v * np.sum(v * d[y][1], axis=-2, keepdims=True)\n"
                  "pbar = undiagonal(d[y][0], v, 0, -2, -1) + "
                  "inv_offdiag(pair_diff(y[0])) * (vt @ gv)\n"
                  "d[a] = np.linalg.solve(vt, pbar @ vt)\n")
_VECS = "eig_checked(np.linalg.eig(a)[1], y)"
register_template(T, np.linalg.eigvals, "y, a",
                  f"d[y] = np.diagonal(np.linalg.solve({_VECS}, d[a] @ {_VECS}), 0, -2, -1)")
register_template(A, np.linalg.eigvals, "y, a",
                  f"vt = {_t(_VECS)}\n"
                  "d[a] = np.linalg.solve(vt, undiagonal(d[y], vt, 0, -2, -1) @ vt)\n")

_BANDED = "y, l_and_u, ab, b, overwrite_ab=False, overwrite_b=False, check_finite=True"
register_template(T, scipy.linalg.solve_banded, _BANDED,
                  "d[y] = np.linalg.solve(banded_full(ab, l_and_u), d[b])\n"
                  "d[y] = -np.linalg.solve(banded_full(ab, l_and_u), "
                  "banded_full(d[ab], l_and_u) @ y)\n")
register_template(A, scipy.linalg.solve_banded, _BANDED,
                  "m = banded_full(ab, l_and_u)\n"
                  f"t = np.linalg.solve({_t('m')}, d[y])\n"
                  "d[b] = t\n"
                  "d[ab] = -banded_part(matmul_lhs(t, m, y), l_and_u)\n")

NOTES = {
    np.linalg.eig: ("a real `a`: real eigenvalues only (complex ones are refused when the "
                    "rule runs); a complex `a`: complex eigenvalues, vectors up to a phase each "
                    "(held fixed; a loss that depends on it is refused in reverse mode); "
                    "eigenvectors need distinct eigenvalues (gaps 1 / (w_j - w_i)) and carry "
                    "NumPy's unit norm"),
    np.linalg.eigvals: "a real `a`: real eigenvalues only (complex ones are refused when the "
                       "rule runs); a complex `a`: any distinct eigenvalues",
    scipy.linalg.solve_banded: ("reads only the band of ab (the corners of ab get zero); "
                                "b a vector or a matrix"),
}

# the callables this module registers (tests/test_rules_more.py checks each one)
CALLABLES = tuple(key for key, t in A.items() if id(t) not in _EARLIER)
