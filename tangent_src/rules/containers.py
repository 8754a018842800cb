"""Rules for Python's own containers and copies: sum over a sequence, np.copy."""
from __future__ import annotations

import numpy as np

from .. import runtime as rt
from .registry import REGISTRY, nondifferentiable, register_template

A, T = REGISTRY.adjoints, REGISTRY.tangents

register_template(A, sum, "y, items", "d[items] = replicate(d[y], items)")
register_template(T, sum, "y, items", "d[y] = sum(d[items])")
register_template(A, rt.replicate, "y, g, items", "d[g] = unbroadcast(sum(d[y]), g)")
register_template(T, rt.replicate, "y, g, items", "d[y] = replicate(d[g], items)")
register_template(A, np.copy, "y, a", "d[a] = d[y]")
register_template(T, np.copy, "y, a", "d[y] = d[a]")

for _kind in (tuple, list):
    register_template(A, _kind, "y, items", "d[items] = convert_like(d[y], items)")
    register_template(T, _kind, "y, items", f"d[y] = {_kind.__name__}(d[items])")
register_template(A, rt.convert_like, "y, items, like", "d[items] = convert_like(d[y], items)")
register_template(T, rt.convert_like, "y, items, like", "d[y] = convert_like(d[items], like)")

nondifferentiable(rt.dict_keys, rt.dict_has, rt.random_draw, rt.as_integers)
