"""Matrix products and np.where (the reductions are in reductions.py, REDUCTIONS re-exported
here for analysis/shapes.py; reshape, transpose and the other shape functions are in
shaping.py, the rest of linear algebra in linalg.py).

`matmul_lhs/matmul_rhs` are the two halves of the product rule
for `@` and `np.dot` on 1-D, 2-D and stacked operands.
"""
from __future__ import annotations

import gast
import numpy as np

from .reductions import REDUCTIONS  # noqa: F401  (registers the reductions)
from .registry import REGISTRY, register_template

A, T = REGISTRY.adjoints, REGISTRY.tangents
for _key in (gast.MatMult, np.matmul, np.dot):
    # np.dot of arrays above 2-D is not matmul: its rule refuses them (runtime dot_lhs)
    lhs, rhs = ("dot_lhs", "dot_rhs") if _key is np.dot else ("matmul_lhs", "matmul_rhs")
    register_template(A, _key, "y, a, b",
                      f"d[a] = {lhs}(d[y], a, b)\nd[b] = {rhs}(d[y], a, b)\n")
    if _key in (gast.MatMult, np.matmul):
        register_template(T, _key, "y, a, b", "d[y] = d[a] @ b\nd[y] = a @ d[b]\n")
    else:
        fwd = "np.matmul" if _key is np.matmul else "np.dot"
        register_template(T, _key, "y, a, b",
                          f"d[y] = {fwd}(d[a], b)\nd[y] = {fwd}(a, d[b])\n")

register_template(A, np.where, "y, condition, x, y_",
                  "d[x] = unbroadcast(np.where(condition, d[y], 0.0), x)\n"
                  "d[y_] = unbroadcast(np.where(condition, 0.0, d[y]), y_)\n")
register_template(T, np.where, "y, condition, x, y_",
                  "d[y] = broadcast_like(np.where(condition, d[x], 0.0), y)\n"
                  "d[y] = broadcast_like(np.where(condition, 0.0, d[y_]), y)\n")
