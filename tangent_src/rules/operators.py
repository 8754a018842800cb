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
_HYPOT = ("a * reciprocal_or_zero(y)", "b * reciprocal_or_zero(y)")  # 0 at (0, 0), as norm

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
    np.hypot: _HYPOT,
    math.hypot: _HYPOT,
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

# Powers. d/da = b * a ** (b - 1) is `power_slope(a, b)`, 0 where b == 0 (a ** 0 is the
# constant 1, also at a = 0; the optimizer writes it back as `b * a ** (b - 1)` for a nonzero
# constant b); d/db = a ** b * log(a) with the log taken as 0 at a = 0 (JAX's convention: a ** b
# is 0 there for every b > 0), NaN for a < 0 like the power itself for most such b.
POWERS = (gast.Pow, np.power, pow, math.pow, np.float_power)
for _key in POWERS:
    register_template(REGISTRY.adjoints, _key, "y, a, b",
                      "d[a] = unbroadcast(d[y] * power_slope(a, b), a)\n"
                      "d[b] = unbroadcast(d[y] * y * log_or_zero(a), b)\n")
    register_template(REGISTRY.tangents, _key, "y, a, b",
                      "d[y] = d[a] * power_slope(a, b)\n"
                      "d[y] = d[b] * y * log_or_zero(a)\n")

register_template(REGISTRY.adjoints, gast.USub, "y, x", "d[x] = -d[y]")
register_template(REGISTRY.tangents, gast.USub, "y, x", "d[y] = -d[x]")
register_template(REGISTRY.adjoints, gast.UAdd, "y, x", "d[x] = d[y]")
register_template(REGISTRY.tangents, gast.UAdd, "y, x", "d[y] = d[x]")
