"""Arithmetic operators and two-argument elementwise functions, with NumPy broadcasting.

BINARY gives (dy/da, dy/db) for y = f(a, b). Broadcasting is undone once, by
`unbroadcast(g, like)`, never inside the formula. Conventions (JAX's where it has one):
ties of max/min split the gradient evenly between the two arguments; fmax/fmin give a
NaN argument's share to the other one; mod's d/db is -floor(a / b) (-trunc for fmod).
"""
from __future__ import annotations

import math

import gast
import numpy as np

from .registry import REGISTRY, register_template

_MAX = ("(a > b) + 0.5 * (a == b)", "(b > a) + 0.5 * (a == b)")
_MIN = ("(a < b) + 0.5 * (a == b)", "(b < a) + 0.5 * (a == b)")
_ATAN2 = ("b / (a * a + b * b)", "-a / (a * a + b * b)")

BINARY = {
    gast.Add: ("1", "1"),
    gast.Sub: ("1", "-1"),
    gast.Mult: ("b", "a"),
    gast.Div: ("1.0 / b", "-y / b"),
    gast.Mod: ("1", "-np.floor(a / b)"),
    np.add: ("1", "1"),
    np.subtract: ("1", "-1"),
    np.multiply: ("b", "a"),
    np.divide: ("1.0 / b", "-y / b"),           # also np.true_divide (the same object)
    np.maximum: _MAX,
    np.minimum: _MIN,
    np.fmax: (_MAX[0] + " + np.isnan(b)", _MAX[1] + " + np.isnan(a)"),
    np.fmin: (_MIN[0] + " + np.isnan(b)", _MIN[1] + " + np.isnan(a)"),
    max: _MAX,
    min: _MIN,
    np.arctan2: _ATAN2,
    math.atan2: _ATAN2,
    np.hypot: ("a / y", "b / y"),
    math.hypot: ("a / y", "b / y"),
    np.logaddexp: ("np.exp(a - y)", "np.exp(b - y)"),
    np.logaddexp2: ("np.exp2(a - y)", "np.exp2(b - y)"),
    np.mod: ("1", "-np.floor(a / b)"),          # also np.remainder (the same object)
    np.fmod: ("1", "-np.trunc(a / b)"),
    math.fmod: ("1", "-math.trunc(a / b)"),
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

# Powers: the exponent is usually a constant; its own derivative needs log(a) (so NaN for
# a <= 0 when the exponent varies, like the power itself for most such exponents).
POWERS = {gast.Pow: "a ** (b - 1)", np.power: "a ** (b - 1)", pow: "a ** (b - 1)",
          math.pow: "a ** (b - 1)", np.float_power: "np.float_power(a, b - 1)"}
for _key, _lower in POWERS.items():
    _log = "math.log(a)" if _key is math.pow else "np.log(a)"
    register_template(REGISTRY.adjoints, _key, "y, a, b",
                      f"d[a] = unbroadcast(d[y] * b * {_lower}, a)\n"
                      f"d[b] = unbroadcast(d[y] * y * {_log}, b)\n")
    register_template(REGISTRY.tangents, _key, "y, a, b",
                      f"d[y] = d[a] * b * {_lower}\n"
                      f"d[y] = d[b] * y * {_log}\n")

register_template(REGISTRY.adjoints, gast.USub, "y, x", "d[x] = -d[y]")
register_template(REGISTRY.tangents, gast.USub, "y, x", "d[y] = -d[x]")
register_template(REGISTRY.adjoints, gast.UAdd, "y, x", "d[x] = d[y]")
register_template(REGISTRY.tangents, gast.UAdd, "y, x", "d[y] = d[x]")
