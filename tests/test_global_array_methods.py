"""Methods of a module-level array (`X.dot(w)`, the data as tutorials keep it) are array
methods, lowered as on a local array; before, `X.dot(w)` was refused ("no derivative
rule for X.dot"). The bound method `X.dot` is a new object at every read, so it is guarded
as the array is (by shape class), not by identity: the gradient is generated once, not
at every call. Derivatives against central finite differences."""
from __future__ import annotations

import numpy as np
from fdcheck import numerical_grad

import tangent_src
from tangent_src import compiler

X = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0], [0.7, 0.1, -0.4], [1.5, 0.25, 0.9]])
y = np.array([1.0, -0.5, 0.25, 2.0])


def least_squares(w):
    r = X.dot(w) - y
    return 0.5 * r.dot(r)


def normal_residual(w):
    g = X.T.dot(X.dot(w) - y)
    return np.sum(g ** 2) + np.sum(y.take([0, 2]) * w[:2])


def test_methods_of_a_global_array():
    w = np.array([0.2, -0.1, 0.4])
    for f in (least_squares, normal_residual):
        np.testing.assert_allclose(tangent_src.grad(f)(w), numerical_grad(f, (w,)),
                                   rtol=1e-7, atol=1e-9)
    src = tangent_src.source(tangent_src.grad(least_squares))
    assert "np.dot(X, w)" in src, src


def test_generated_once_and_reads_the_array_live(monkeypatch):
    global X
    w = np.array([0.2, -0.1, 0.4])
    df = tangent_src.grad(least_squares)
    df(w)
    built = []
    real = compiler.front_end
    monkeypatch.setattr(compiler, "front_end", lambda *a, **k: built.append(1) or real(*a, **k))
    df(w)
    df(w)
    assert not built, "regenerated on a call with nothing changed"
    saved = X
    try:
        X = X * 2.0  # rebinding the data: read when the gradient runs
        np.testing.assert_allclose(df(w), numerical_grad(least_squares, (w,)), rtol=1e-7,
                                   atol=1e-9)
    finally:
        X = saved
