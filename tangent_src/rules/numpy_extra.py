"""np.gradient (f and scalar spacings; runtime/gradients.py) and np.row_stack (np.vstack's
alias, deprecated in NumPy 2).

np.gradient's spacing slots are h1..h4 (one spacing for every axis, or one per axis: scalars
or coordinate arrays), None when not given. The result is linear in f: its tangent is
`gradient_lin` of the tangent and its adjoint `gradient_t`, a pair of transposes, so
derivatives in f of every order follow. A scalar spacing h scales its axis's result by 1 / h:
its derivative is -result / h (first order; a coordinate array's is refused).
"""
from __future__ import annotations

import numpy as np

from .. import runtime as rt
from .registry import REGISTRY, nondifferentiable, register_template

A, T = REGISTRY.adjoints, REGISTRY.tangents
_EARLIER = {id(t) for t in A.values()}

_H = "h1=None, h2=None, h3=None, h4=None"
_HS = "h1=h1, h2=h2, h3=h3, h4=h4"
_PARAMS = f"y, f, {_H}, axis=None, edge_order=1"
register_template(T, np.gradient, _PARAMS,
                  f"d[y] = gradient_lin(d[f], {_HS}, axis=axis, edge_order=edge_order)\n" +
                  "".join(f"d[y] = gradient_dh(y, f, {k}, d[h{k}], {_HS}, axis=axis)\n"
                          for k in range(1, 5)))
register_template(A, np.gradient, _PARAMS,
                  f"d[f] = gradient_t(d[y], f, {_HS}, axis=axis, edge_order=edge_order)\n" +
                  "".join(f"d[h{k}] = gradient_dh_t(d[y], y, f, {k}, {_HS}, axis=axis)\n"
                          for k in range(1, 5)))

REGISTRY.sequence_results.add(np.gradient)  # a tuple along several axes

# gradient_lin and gradient_t are linear in their first argument and each other's transposes
_LIN = f"y, f, {_H}, axis=None, edge_order=1"
register_template(T, rt.gradient_lin, _LIN,
                  f"d[y] = gradient_lin(d[f], {_HS}, axis=axis, edge_order=edge_order)")
register_template(A, rt.gradient_lin, _LIN,
                  f"d[f] = gradient_t(d[y], f, {_HS}, axis=axis, edge_order=edge_order)")
_TR = f"y, g, f, {_H}, axis=None, edge_order=1"
register_template(T, rt.gradient_t, _TR,
                  f"d[y] = gradient_t(d[g], f, {_HS}, axis=axis, edge_order=edge_order)")
register_template(A, rt.gradient_t, _TR,
                  f"d[g] = gradient_lin(d[y], {_HS}, axis=axis, edge_order=edge_order)")
# the spacing derivatives are first order: their own derivatives are refused when they run
for _helper, _params, _args in (
        (rt.gradient_dh, f"y, r, f, k, dh, {_H}, axis=None", ("r", "f", "dh")),
        (rt.gradient_dh_t, f"y, g, r, f, k, {_H}, axis=None", ("g", "r", "f"))):
    register_template(A, _helper, _params,
                      "".join(f"d[{p}] = gradient_second({p})\n" for p in _args))
    register_template(T, _helper, _params,
                      "".join(f"d[y] = gradient_second(d[{p}])\n" for p in _args))
nondifferentiable(rt.gradient_second)

register_template(T, np.row_stack, "y, tup, dtype=None, casting='same_kind'",
                  "d[y] = np.vstack(d[tup])")
register_template(A, np.row_stack, "y, tup, dtype=None, casting='same_kind'",
                  "d[tup] = pieces(d[y], tup, 'vstack')")

NOTES = {
    np.gradient: ("f (any spacing: scalars or coordinates, axis=, edge_order 1 or 2; every "
                  "order) and scalar spacings (first order; coordinate arrays refused); the "
                  "adjoint builds an (n, n) matrix per axis"),
    np.row_stack: "as np.vstack",
}

# the callables this module registers (tests/test_rules_more.py checks each one)
CALLABLES = tuple(key for key, t in A.items() if id(t) not in _EARLIER)
