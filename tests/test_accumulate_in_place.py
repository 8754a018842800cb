"""optimize/accumulate.py's accumulate_in_place: only an adjoint's accumulation in a loop
(core.tables.ACCUMULATION: g has dx's shape) becomes `dx += g`. The user's own
`c = c + e` keeps its meaning: c may grow by broadcasting (`np.zeros(1) + np.ones(3)`,
which `+=` refused) or widen its dtype (int or float32 plus float64, which `+=` refused or
rounded to c's dtype); the user's own `c += e` keeps NumPy's in-place meaning (c's dtype).
Gradients and forward derivatives against central finite differences and hand-derived
values."""
from __future__ import annotations

import textwrap

import astor
import gast
import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.core.tables import ACCUMULATION
from tangent_src.optimize.accumulate import accumulate_in_place

X = np.array([1 / 3, 2 / 7, 5 / 11])


def broadcast_constant(x):
    c = np.zeros(1)
    for _ in range(3):
        c = c + np.ones(3)
    return np.sum(c * x)


def broadcast_argument(x):
    c = np.zeros(1)
    for _ in range(3):
        c = c + x
    return np.sum(c * c)


def widen_float32(x):
    c = np.zeros(3, dtype=np.float32)
    for _ in range(3):
        c = c + np.ones(3) * 0.1
    return np.sum(c * x)


def widen_int(x):
    c = np.zeros(3, dtype=int)
    for _ in range(3):
        c = c + np.ones(3) * 0.5
    return np.sum(c * x)


def user_in_place_float32(x):
    c = np.zeros(3, dtype=np.float32)
    for _ in range(3):
        c += np.ones(3) * 0.1  # NumPy adds into c: c stays float32
    return np.sum(c * x)


def _float32_sum_of_tenths():
    c = np.zeros(3, dtype=np.float32)
    for _ in range(3):
        c += np.ones(3) * 0.1
    return c


def _float64_sum_of_tenths():
    c = np.zeros(3)
    for _ in range(3):
        c = c + np.ones(3) * 0.1
    return c


# d/dx of each function, by hand: the value c holds in float64 NumPy semantics
HAND = {broadcast_constant: lambda x: np.full(3, 3.0),
        broadcast_argument: lambda x: 18.0 * x,
        widen_float32: lambda x: _float64_sum_of_tenths(),
        widen_int: lambda x: np.full(3, 1.5),
        user_in_place_float32: lambda x: _float32_sum_of_tenths().astype(float)}


@pytest.mark.parametrize("func", list(HAND), ids=lambda f: f.__name__)
def test_user_accumulation_keeps_broadcasting_and_promotion(func):
    grad = tangent_src.grad(func)(X)
    np.testing.assert_allclose(grad, numerical_grad(func, (X,)), rtol=1e-6, atol=1e-8)
    # exact: float32 rounding of c (about 1e-8 here), or its absence, would show
    np.testing.assert_allclose(grad, HAND[func](X), rtol=1e-15, atol=0)
    columns = [tangent_src.jvp(func, (X,), (e,))[1] for e in np.eye(3)]
    np.testing.assert_allclose(columns, HAND[func](X), rtol=1e-15, atol=0)


def _run(src: str, mark: bool) -> str:
    func = gast.parse(textwrap.dedent(src)).body[0]
    if mark:
        for node in gast.walk(func):
            if isinstance(node, gast.Assign) and isinstance(node.value, gast.BinOp):
                ACCUMULATION[node] = True
    accumulate_in_place(func.body, set())
    return astor.to_source(gast.gast_to_ast(func))


SRC = """
    def f(g, n):
        dw = np.zeros(3)
        for i in range(n):
            dw = dw + g[i]
        return dw
    """


def test_rewrites_only_an_adjoints_accumulation():
    assert "dw += g[i]" in _run(SRC, mark=True)
    assert "dw = dw + g[i]" in _run(SRC, mark=False)
