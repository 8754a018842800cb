"""An elementwise function of a name that the function already computed, read back
instead of computed again.

Before:                                  After:
    sintheta = np.sin(theta)                 sintheta = np.sin(theta)
    costheta = np.cos(theta)                 costheta = np.cos(theta)
    ...                                      ...
    dtheta = dsin * np.cos(theta)            dtheta = dsin * costheta
    dtheta = dtheta - dcos * np.sin(theta)   dtheta = dtheta - dcos * sintheta

The rules of sin, cos, tanh, exp... write the derivative in terms of the argument, so the
backward pass computes again a value the forward pass already holds (BA: the sine and
cosine of every rotation angle, twice per Jacobian). Only where the two are certainly the
same value: the first is a statement of the function's top level (it runs once, before
everything after it), its target and the argument are each bound once in the whole
function (or the argument is a parameter never bound), so no later statement can see
other values under those names; generated code writes into an array only through
`add_at`-style helpers on adjoints it allocated itself (optimize/accumulate.py), never
into a primal value. The same NumPy function of the same array gives the same bits.
"""
from __future__ import annotations

import collections

import gast

from ..core import build
from ..core.walk import all_nodes

# Elementwise NumPy functions of one argument, deterministic and without state.
PURE_UNARY = frozenset({"np.sin", "np.cos", "np.tan", "np.exp", "np.log", "np.sqrt",
                        "np.tanh", "np.sinh", "np.cosh", "np.arctan", "np.log1p",
                        "np.expm1", "np.square", "np.abs", "np.absolute", "np.sign",
                        "np.reciprocal", "np.negative", "np.exp2", "np.log2", "np.log10",
                        "np.arcsin", "np.arccos", "np.arcsinh", "np.arccosh",
                        "np.arctanh"})


def reuse_values(func: gast.FunctionDef) -> int:
    """Replace every later `np.f(x)` by the name a top-level `y = np.f(x)` bound, under
    the conditions of the module doc; the number replaced."""
    bound = collections.Counter(
        n.id for n in all_nodes(func.body) if isinstance(n, gast.Name) and
        isinstance(n.ctx, (gast.Store, gast.Del)))
    params = {a.id for a in func.args.posonlyargs + func.args.args + func.args.kwonlyargs}
    for extra in (func.args.vararg, func.args.kwarg):
        if extra is not None:
            params.add(extra.id)

    def stable(name: str) -> bool:
        return bound[name] == (0 if name in params else 1)

    available: dict = {}  # (function, argument) -> the name holding its value
    count = 0
    for stmt in func.body:
        if available:
            count += _replace(stmt, available)
        if isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and \
                isinstance(stmt.targets[0], gast.Name):
            key = _key(stmt.value)
            target = stmt.targets[0].id
            if key is not None and key not in available and stable(target) and \
                    stable(key[1]) and target != key[1]:
                available[key] = target
    return count


def _key(node) -> tuple | None:
    """(function, argument name) for `np.f(x)` with f in PURE_UNARY, else None."""
    if not isinstance(node, gast.Call) or node.keywords or len(node.args) != 1 or \
            not isinstance(node.args[0], gast.Name):
        return None
    name = build.dotted(node.func)
    return (name, node.args[0].id) if name in PURE_UNARY else None


def _replace(stmt, available: dict) -> int:
    """Replace the available calls under `stmt` (not the statement's own definition)."""
    count = 0
    for node in all_nodes(stmt):
        for field, value in gast.iter_fields(node):
            if isinstance(value, list):
                for k, item in enumerate(value):
                    name = available.get(_key(item)) if isinstance(item, gast.Call) else None
                    if name is not None:
                        value[k] = build.name(name)
                        count += 1
            elif isinstance(value, gast.Call):
                name = available.get(_key(value))
                if name is not None:
                    setattr(node, field, build.name(name))
                    count += 1
    return count
