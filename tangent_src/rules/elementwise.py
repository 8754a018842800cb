"""Elementwise functions y = f(x): one line each, the derivative dy/dx in terms of x and y.

Both modes come from the same line: reverse `d[x] = d[y] * (f')`, forward
`d[y] = d[x] * (f')`. Every derivative is written with functions that have rules of
their own, so generated code can be differentiated again. Conventions at kinks and
singular points follow JAX; they are listed in notes.py and docs/coverage.md.

np.clip (three arguments, any of them None) is here too; sign, floor, ceil, round, rint
and trunc have zero derivative and are declared in nondiff.py.
"""
from __future__ import annotations

import math

import numpy as np

from .registry import REGISTRY, register_template

# f: derivative of y = f(x) with respect to x
UNARY = {
    np.exp: "y",
    np.exp2: "y * np.log(2.0)",
    np.expm1: "y + 1.0",
    np.log: "1.0 / x",
    np.log2: "1.0 / (x * np.log(2.0))",
    np.log10: "1.0 / (x * np.log(10.0))",
    np.log1p: "1.0 / (1.0 + x)",
    np.sqrt: "0.5 / y",
    np.cbrt: "1.0 / (3.0 * y * y)",
    np.square: "2.0 * x",
    np.reciprocal: "-y * y",
    np.negative: "-1.0",
    np.positive: "1.0",
    np.abs: "np.sign(x)",          # also np.absolute (the same object)
    np.fabs: "np.sign(x)",
    np.sin: "np.cos(x)",
    np.cos: "-np.sin(x)",
    np.tan: "1.0 + y * y",
    np.arcsin: "1.0 / np.sqrt(1.0 - x * x)",
    np.arccos: "-1.0 / np.sqrt(1.0 - x * x)",
    np.arctan: "1.0 / (1.0 + x * x)",
    np.sinh: "np.cosh(x)",
    np.cosh: "np.sinh(x)",
    np.tanh: "1.0 - y * y",
    np.arcsinh: "1.0 / np.sqrt(x * x + 1.0)",
    np.arccosh: "1.0 / np.sqrt(x * x - 1.0)",
    np.arctanh: "1.0 / (1.0 - x * x)",
    np.deg2rad: "np.pi / 180.0",
    np.radians: "np.pi / 180.0",
    np.rad2deg: "180.0 / np.pi",
    np.degrees: "180.0 / np.pi",
    np.sinc: "sinc_derivative(x, 1)",
    np.conjugate: "1.0",           # real arguments; also np.conj
    math.exp: "y",
    math.exp2: "y * math.log(2.0)",
    math.expm1: "y + 1.0",
    math.log: "1.0 / x",
    math.log2: "1.0 / (x * math.log(2.0))",
    math.log10: "1.0 / (x * math.log(10.0))",
    math.log1p: "1.0 / (1.0 + x)",
    math.sqrt: "0.5 / y",
    math.cbrt: "1.0 / (3.0 * y * y)",
    math.fabs: "np.sign(x)",
    math.sin: "math.cos(x)",
    math.cos: "-math.sin(x)",
    math.tan: "1.0 + y * y",
    math.asin: "1.0 / math.sqrt(1.0 - x * x)",
    math.acos: "-1.0 / math.sqrt(1.0 - x * x)",
    math.atan: "1.0 / (1.0 + x * x)",
    math.sinh: "math.cosh(x)",
    math.cosh: "math.sinh(x)",
    math.tanh: "1.0 - y * y",
    math.asinh: "1.0 / math.sqrt(x * x + 1.0)",
    math.acosh: "1.0 / math.sqrt(x * x - 1.0)",
    math.atanh: "1.0 / (1.0 - x * x)",
    math.degrees: "180.0 / math.pi",
    math.radians: "math.pi / 180.0",
    math.erf: "2.0 / math.sqrt(math.pi) * math.exp(-x * x)",
    math.erfc: "-2.0 / math.sqrt(math.pi) * math.exp(-x * x)",
    abs: "np.sign(x)",
    float: "1.0",
}

for _f, _deriv in UNARY.items():
    register_template(REGISTRY.adjoints, _f, "y, x", f"d[x] = d[y] * ({_deriv})")
    register_template(REGISTRY.tangents, _f, "y, x", f"d[y] = d[x] * ({_deriv})")

# np.real (also `x.real`, which lowering turns into np.real(x)): the identity on the real
# arguments tangent_src differentiates; a complex tangent is refused (real_only)
register_template(REGISTRY.adjoints, np.real, "y, val", "d[val] = d[y]")
register_template(REGISTRY.tangents, np.real, "y, val", "d[y] = real_only(d[val])")

# np.clip(a, a_min, a_max): the gradient goes to whichever argument the value came from
# (`a` inside [a_min, a_max], ends included); clip_part gives that as a 0/1 mask of the
# result's shape. a_min/a_max may be None, scalars or arrays (NumPy 2 also spells them
# min=/max=).
_CLIP = "y, a, a_min=None, a_max=None, min=None, max=None"
_PART = "clip_part(a, a_min, a_max, {part!r}, min=min, max=max)"
register_template(REGISTRY.adjoints, np.clip, _CLIP, "\n".join(
    f"d[{p}] = unbroadcast(d[y] * {_PART.format(part=part)}, {p})"
    for p, part in (("a", "a"), ("a_min", "lo"), ("a_max", "hi"), ("min", "lo"),
                    ("max", "hi"))))
register_template(REGISTRY.tangents, np.clip, _CLIP, "\n".join(
    f"d[y] = d[{p}] * {_PART.format(part=part)}"
    for p, part in (("a", "a"), ("a_min", "lo"), ("a_max", "hi"), ("min", "lo"),
                    ("max", "hi"))))
