"""optimize/reuse_values.py: an elementwise function of a name the function already
computed is read back (the backward pass of sin/cos reads the forward pass's values),
never where the name or its argument may hold another value by then. Gradients against
central finite differences; the pass itself before/after on source."""
from __future__ import annotations

import textwrap

import astor
import gast
import numpy as np
from fdcheck import numerical_grad

import tangent_src
from tangent_src.optimize.reuse_values import reuse_values


def _run(src: str) -> str:
    func = gast.parse(textwrap.dedent(src)).body[0]
    reuse_values(func)
    return astor.to_source(gast.gast_to_ast(func)).strip()


def test_fires_for_a_top_level_value():
    out = _run("""
        def f(x, d):
            c = np.cos(x)
            s = np.sin(x)
            y = d * np.sin(x) + np.cos(x) * 2.0
            if d:
                y = y + np.exp(x) + np.cos(x)
            return y
        """)
    assert "y = d * s + c * 2.0" in out and "y = y + np.exp(x) + c" in out


def test_must_not_fire_where_the_value_may_differ():
    out = _run("""
        def f(x, d):
            s = np.sin(x)
            x = x * 2.0
            a = np.sin(x)
            t = np.tanh(d)
            t = t + 1.0
            b = np.tanh(d)
            for i in range(3):
                e = np.exp(d)
            g = np.exp(d)
            h = np.cos(d, out=None)
            k = np.cos(d)
            return s + a + b + g + h + k
        """)
    # x rebound after s; t rebound; e defined in a loop; a keyword call is not matched
    assert "a = np.sin(x)" in out and "b = np.tanh(d)" in out and "g = np.exp(d)" in out
    assert "k = np.cos(d)" in out


def rotation_like(theta, v):
    c = np.cos(theta)
    s = np.sin(theta)
    return np.sum((v * c + s) * np.tanh(theta) + np.exp(theta) * c)


def test_gradient_reads_the_forward_values():
    rng = np.random.default_rng(2)
    theta, v = rng.standard_normal(5), rng.standard_normal(5)
    gradient = tangent_src.grad(rotation_like, wrt=(0, 1))
    got = gradient(theta, v)
    source = gradient.source
    backward = "\n".join(line for line in source.split("# backward pass")[1].splitlines()
                         if not line.strip().startswith("#"))
    assert "np.sin(theta)" not in backward and "np.cos(theta)" not in backward
    expected = numerical_grad(rotation_like, (theta, v), wrt=(0, 1))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-8)


def rebound(theta):
    s = np.sin(theta)
    theta = theta * theta
    return np.sum(s * np.cos(theta))


def looped(theta):
    total = 0.0
    for k in range(3):
        c = np.cos(theta * k)
        total = total + np.sum(c * np.sin(theta))
    return total


def test_gradient_where_it_must_not_fire():
    rng = np.random.default_rng(4)
    theta = rng.standard_normal(4)
    for f in (rebound, looped):
        gradient = tangent_src.grad(f)
        np.testing.assert_allclose(gradient(theta), numerical_grad(f, (theta,), wrt=(0,))[0],
                                   rtol=1e-6, atol=1e-8)
