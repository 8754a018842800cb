"""Arithmetic operators and two-argument elementwise functions, with NumPy broadcasting.

BINARY gives (dy/da, dy/db) for y = f(a, b). Broadcasting is undone once, by
`unbroadcast(g, like)`, never inside the formula. Ties of max/min split the
gradient evenly between the two arguments (JAX's convention).
"""
from __future__ import annotations

import gast
import numpy as np

from .registry import REGISTRY, register_template

BINARY = {
    gast.Add: ("1", "1"),
    gast.Sub: ("1", "-1"),
    gast.Mult: ("b", "a"),
    gast.Div: ("1.0 / b", "-y / b"),
    np.add: ("1", "1"),
    np.subtract: ("1", "-1"),
    np.multiply: ("b", "a"),
    np.divide: ("1.0 / b", "-y / b"),
    np.true_divide: ("1.0 / b", "-y / b"),
    np.maximum: ("(a > b) + 0.5 * (a == b)", "(b > a) + 0.5 * (a == b)"),
    np.minimum: ("(a < b) + 0.5 * (a == b)", "(b < a) + 0.5 * (a == b)"),
    max: ("(a > b) + 0.5 * (a == b)", "(b > a) + 0.5 * (a == b)"),
    min: ("(a < b) + 0.5 * (a == b)", "(b < a) + 0.5 * (a == b)"),
    np.arctan2: ("b / (a * a + b * b)", "-a / (a * a + b * b)"),
    np.hypot: ("a / y", "b / y"),
}


def _scaled(g: str, factor: str) -> str:
    if factor == "1":
        return g
    if factor == "-1":
        return f"-{g}"
    return f"{g} * ({factor})"


def _spread(t: str, factor: str) -> str:
    """A tangent term that is the operand's tangent alone keeps the operand's shape; give it
    the result's (`broadcast_like` is dropped when shapes provably agree)."""
    return f"broadcast_like({t}, y)" if factor in ("1", "-1") else t


for _key, (_da, _db) in BINARY.items():
    register_template(REGISTRY.adjoints, _key, "y, a, b",
                      f"d[a] = unbroadcast({_scaled('d[y]', _da)}, a)\n"
                      f"d[b] = unbroadcast({_scaled('d[y]', _db)}, b)\n")
    register_template(REGISTRY.tangents, _key, "y, a, b",
                      f"d[y] = {_spread(_scaled('d[a]', _da), _da)}\n"
                      f"d[y] = {_spread(_scaled('d[b]', _db), _db)}\n")

# Powers: the exponent is usually a constant; its own derivative needs log(a).
for _key in (gast.Pow, np.power):
    register_template(REGISTRY.adjoints, _key, "y, a, b",
                      "d[a] = unbroadcast(d[y] * b * a ** (b - 1), a)\n"
                      "d[b] = unbroadcast(d[y] * y * np.log(a), b)\n")
    register_template(REGISTRY.tangents, _key, "y, a, b",
                      "d[y] = d[a] * b * a ** (b - 1)\n"
                      "d[y] = d[b] * y * np.log(a)\n")

register_template(REGISTRY.adjoints, gast.USub, "y, x", "d[x] = -d[y]")
register_template(REGISTRY.tangents, gast.USub, "y, x", "d[y] = -d[x]")
register_template(REGISTRY.adjoints, gast.UAdd, "y, x", "d[x] = d[y]")
register_template(REGISTRY.tangents, gast.UAdd, "y, x", "d[y] = d[x]")
