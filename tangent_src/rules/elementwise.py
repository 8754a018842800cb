"""Elementwise functions y = f(x): one line each, the derivative dy/dx in terms of x and y.

Both modes come from the same line: reverse `d[x] = d[y] * (f')`, forward
`d[y] = d[x] * (f')`. Conventions at kinks follow JAX: |x|' = sign(x) (0 at 0).
"""
from __future__ import annotations

import math

import numpy as np

from .registry import REGISTRY, register_template

# f: derivative of y = f(x) with respect to x
UNARY = {
    np.exp: "y",
    np.log: "1.0 / x",
    np.sin: "np.cos(x)",
    np.cos: "-np.sin(x)",
    np.tan: "1.0 + y * y",
    np.tanh: "1.0 - y * y",
    np.sqrt: "0.5 / y",
    np.square: "2.0 * x",
    np.abs: "np.sign(x)",
    np.negative: "-1.0",
    np.sinh: "np.cosh(x)",
    np.cosh: "np.sinh(x)",
    np.arctan: "1.0 / (1.0 + x * x)",
    np.arcsin: "1.0 / np.sqrt(1.0 - x * x)",
    np.arccos: "-1.0 / np.sqrt(1.0 - x * x)",
    np.log1p: "1.0 / (1.0 + x)",
    np.expm1: "y + 1.0",
    np.log2: "1.0 / (x * np.log(2.0))",
    np.log10: "1.0 / (x * np.log(10.0))",
    np.reciprocal: "-y * y",
    math.exp: "y",
    math.log: "1.0 / x",
    math.sin: "math.cos(x)",
    math.cos: "-math.sin(x)",
    math.tan: "1.0 + y * y",
    math.tanh: "1.0 - y * y",
    math.sqrt: "0.5 / y",
    math.atan: "1.0 / (1.0 + x * x)",
    math.sinh: "math.cosh(x)",
    math.cosh: "math.sinh(x)",
    math.log1p: "1.0 / (1.0 + x)",
    math.expm1: "y + 1.0",
    abs: "np.sign(x)",
    float: "1.0",
}

for _f, _deriv in UNARY.items():
    register_template(REGISTRY.adjoints, _f, "y, x", f"d[x] = d[y] * ({_deriv})")
    register_template(REGISTRY.tangents, _f, "y, x", f"d[y] = d[x] * ({_deriv})")
