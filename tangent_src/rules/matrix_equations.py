"""scipy.linalg matrix equations and matrix functions: solve_sylvester,
solve_continuous_lyapunov, sqrtm and logm.

The solution X of a X + X b = q is linear in q and moves with a and b as
a dX + dX b = dq - da X - X db, so its tangent is one more Sylvester solve, and its
adjoint L = sylvester(a^T, b^T, g) gives d[q] = L, d[a] = -L X^T, d[b] = -X^T L (the
transpose of X -> a X + X b is L -> a^T L + L b^T). The Lyapunov equation is the
Sylvester equation with b = a^T. X = sqrtm(A) has X dX + dX X = dA. The Frechet
derivative of logm at A in the direction E is the upper-right block of
logm([[A, E], [0, A]]) (as for expm); its adjoint is the same at A^T.
"""
from __future__ import annotations

from .. import runtime as rt
from .optional import optional_module
from .registry import REGISTRY, register_template

sl = optional_module("scipy.linalg")  # SciPy is optional

A, T = REGISTRY.adjoints, REGISTRY.tangents
_EARLIER = {id(t) for t in A.values()}


def _pair(key, params: str, forward: str, reverse: str) -> None:
    register_template(T, key, params, forward)
    register_template(A, key, params, reverse)


for _f in (sl.solve_sylvester, rt.sylvester):
    _pair(_f, "y, a, b, q",
          "d[y] = sylvester(a, b, d[q])\n"
          "d[y] = -sylvester(a, b, d[a] @ y)\n"
          "d[y] = -sylvester(a, b, y @ d[b])\n",
          "lam = sylvester(np.transpose(a), np.transpose(b), d[y])\n"
          "d[q] = lam\n"
          "d[a] = -(lam @ np.transpose(y))\n"
          "d[b] = -(np.transpose(y) @ lam)\n")

_pair(sl.solve_continuous_lyapunov, "y, a, q",
      "d[y] = sylvester(a, np.transpose(a), d[q])\n"
      "d[y] = -sylvester(a, np.transpose(a), d[a] @ y + y @ np.transpose(d[a]))\n",
      "lam = sylvester(np.transpose(a), a, d[y])\n"
      "d[q] = lam\n"
      "d[a] = -(lam @ np.transpose(y) + np.transpose(lam) @ y)\n")

_pair(sl.sqrtm, "y, A, disp=None, blocksize=None",
      "d[y] = sylvester(y, y, d[A])",
      "d[A] = sylvester(np.transpose(y), np.transpose(y), d[y])")

_BLOCKS = "block_embed({a}, 0, 0) + block_embed({t}, 0, 1) + block_embed({a}, 1, 1)"
for _f, _params in ((sl.logm, "y, A, disp=None"), (rt.logm_real, "y, A")):
    _pair(_f, _params,
          f"d[y] = block_part(logm_real({_BLOCKS.format(a='A', t='d[A]')}), 0, 1)",
          "at = np.swapaxes(A, -1, -2)\n"
          f"d[A] = block_part(logm_real({_BLOCKS.format(a='at', t='d[y]')}), 0, 1)")

# conventions shown in docs/coverage.md (scripts/coverage.py reads NOTES of rule modules)
NOTES = {
    sl.solve_sylvester: "a and -b without common eigenvalues; real matrices",
    sl.solve_continuous_lyapunov: "real matrices; a and -a^T without common eigenvalues",
    sl.sqrtm: "real principal square root (a complex one is refused); dX from "
              "X dX + dX X = dA",
    sl.logm: "real logarithm (a complex one is refused); Frechet derivative through "
             "logm([[A, E], [0, A]])",
}

# the callables this module registers (tests/test_rules_gap.py checks each one)
CALLABLES = tuple(key for key, t in A.items() if id(t) not in _EARLIER)
