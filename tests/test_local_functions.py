"""Local functions: nested defs, lambdas, closure factories and function-valued arguments.

Fuzz findings E and I (scripts/FUZZ_FINDINGS.md): a closure factory called inside the
differentiated function broke forward mode (an unlocated "name(s) inner are not defined")
and hvp (KeyError), and an unused nested def inside a loop made value_and_grad and jvp
refuse with an unlocated message about an internal name. A factory's result is now
expanded where it is called, like a nested def; a `return` inside a nested def belongs to
that def. Whatever is still unsupported is refused with the same located error in every
mode. Every derivative is checked against central finite differences in float64.
"""
from __future__ import annotations

import _factory_mod as fm
import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.errors import UnsupportedSyntaxError

scale = 100.0  # not the `scale` that _factory_mod's factory reads
W = np.array([[0.5, -0.3], [0.2, 0.8]])
Ws = np.array([[[0.5, -0.3], [0.2, 0.8]], [[0.1, 0.4], [-0.6, 0.3]],
               [[0.7, 0.2], [0.1, -0.5]]])
bs = np.array([[0.1, -0.2], [0.0, 0.3], [0.2, 0.2]])
X = np.array([0.3, -0.4])
V = np.array([0.7, -1.1])


def fd_hvp(f, x, v, h=1e-4):
    """Hessian-vector product by central differences of the central-difference gradient."""
    return (numerical_grad(f, (x + h * v,)) - numerical_grad(f, (x - h * v,))) / (2 * h)


def check_all_modes(f, x=X, v=V):
    """grad, value_and_grad, jvp and hvp of `f` at `x` agree with finite differences."""
    expected = numerical_grad(f, (x,))
    np.testing.assert_allclose(tangent_src.grad(f)(x), expected, rtol=1e-6, atol=1e-8)
    value, gradient = tangent_src.value_and_grad(f)(x)
    np.testing.assert_allclose(value, f(x), rtol=1e-12)
    np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-8)
    value, tangent = tangent_src.jvp(f, (x,), (v,))
    np.testing.assert_allclose(value, f(x), rtol=1e-12)
    np.testing.assert_allclose(tangent, expected @ v, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(tangent_src.hvp(f)(x, v), fd_hvp(f, x, v), rtol=1e-4,
                               atol=1e-6)


def assert_refused_everywhere(f, line_text: str, construct: str, x=X):
    """Every mode refuses `f` with the same located error pointing at `line_text`."""
    calls = {
        "grad": lambda: tangent_src.grad(f)(x),
        "value_and_grad": lambda: tangent_src.value_and_grad(f)(x),
        "jvp": lambda: tangent_src.jvp(f, (x,), (V,)),
        "hvp": lambda: tangent_src.hvp(f)(x, V),
    }
    found = set()
    for mode, call in calls.items():
        with pytest.raises(UnsupportedSyntaxError) as info:
            call()
        err = info.value
        assert err.filename == __file__, mode
        assert line_text in err.source_line, (mode, err.source_line)
        assert construct in err.construct, (mode, err.construct)
        assert err.hint, mode
        found.add((err.lineno, err.col, err.construct))
    assert len(found) == 1, found


# --------------------------------------------------------------------- factories
def make0(c):
    def inner(z):
        return z * c
    return inner


def make_activation(alpha):
    def act(z):
        return np.where(z > 0, z, alpha * np.tanh(z))
    return act


def make_lambda(a):
    return lambda z: np.sin(a * z)


def make_layer(W, b):
    def layer(h):
        return np.tanh(h @ W + b)
    return layer


def make_composed(c):
    def scaled(z):
        return z * c

    def wrapped(z):
        return np.sin(scaled(z)) + scaled(z) ** 2
    return wrapped


def factory_unused(x):  # fuzz finding E: jvp refused unlocated, hvp KeyError
    g = make0(x)  # noqa: F841 - unused, as in the fuzz program
    return np.sum(np.sin(x))


def factory_called(x):
    act = make_activation(0.3)
    y = act(x)
    return np.sum(y ** 2)


def factory_captures_x(x):
    g = make0(x)
    return np.sum(np.sin(g(x)))


def factory_lambda(x):
    g = make_lambda(1.5)
    return np.sum(g(x) * x)


def factory_called_directly(x):
    return np.sum(make0(np.cos(x))(x) ** 2)


def factory_layers(x):
    h = x
    for i in range(3):
        layer = make_layer(Ws[i], bs[i])
        h = layer(h)
    return np.sum(h ** 2)


def factory_other_module(x):
    g = fm.make_scaled(x[0])
    return np.sum(g(x)) + 0.0 * scale


make_half = fm.outer_factory(0.5)


def factory_made_by_closure(x):
    g = make_half(x)
    return np.sum(g(x) ** 2)


def factory_nested_helpers(x):
    g = make_composed(x[1])
    return np.sum(g(x))


def factory_in_loop(x):
    acc = 0.0
    for i in range(3):
        g = make0(x[i % 2] * 0.5)
        acc = acc + np.sum(np.tanh(g(x)))
    return acc


# ------------------------------------------------------------ nested defs in loops
def def_in_loop_unused(x):  # fuzz finding I: value_and_grad and jvp refused unlocated
    for i in range(2):  # noqa: B007
        def g(z):
            return np.sin(z * x)
    return np.sum(x ** 2)


def def_in_loop_called(x):
    h = x
    for i in range(3):  # noqa: B007
        def step(h):
            return np.tanh(h @ W)
        h = step(h)
    return np.sum(h ** 2)


def def_with_early_return_in_loop(x):
    s = 0.0
    for i in range(2):
        def piece(z):
            if z > 0:
                return z * z
            return np.sin(z)
        s = s + piece(x[i]) * x[1 - i]
    return s


def def_per_layer(x, params=((W, bs[0]), (Ws[1], bs[1]))):
    h = x
    for Wl, bl in params:
        def affine(v):
            return v @ Wl + bl  # noqa: B023 - called in the same iteration
        h = np.tanh(affine(h))
    return np.sum(h ** 2)


def alias_of_nested_def(x):
    def g(z):
        return np.sin(z) * z
    h = g
    return np.sum(h(x))


# ------------------------------------------------------------- function arguments
def default_numpy_function(x, act=np.tanh):
    return np.sum(act(x) ** 2)


def default_user_closure(x, act=make_activation(0.2)):  # noqa: B008 - named like the function
    return np.sum(act(x) ** 2)


CORRECT = [factory_unused, factory_called, factory_captures_x, factory_lambda,
           factory_called_directly, factory_layers, factory_other_module,
           factory_made_by_closure, factory_nested_helpers, factory_in_loop,
           def_in_loop_unused, def_in_loop_called, def_with_early_return_in_loop,
           def_per_layer, alias_of_nested_def, default_numpy_function, default_user_closure]


@pytest.mark.parametrize("f", CORRECT, ids=lambda f: f.__name__)
def test_every_mode_matches_finite_differences(f):
    check_all_modes(f)


def scalar_factory(t):
    g = make0(np.sin(t))
    return g(t) * t


def test_grad_of_grad_through_a_factory():
    second = tangent_src.grad(tangent_src.grad(scalar_factory))(0.7)
    first = tangent_src.grad(scalar_factory)
    h = 1e-5
    expected = (first(0.7 + h) - first(0.7 - h)) / (2 * h)
    np.testing.assert_allclose(second, expected, rtol=1e-6)
    # and the first derivative itself against finite differences of the function
    np.testing.assert_allclose(first(0.7), numerical_grad(scalar_factory, (0.7,)),
                               rtol=1e-6)


def apply_twice(fn, x):
    return np.sum(fn(fn(x)))


@pytest.mark.parametrize("fn", [np.sin, np.tanh, make_activation(0.5), make0(2.0)],
                         ids=["sin", "tanh", "closure_a", "closure_b"])
def test_function_argument_each_function_its_own_gradient(fn):
    """One transform called with several functions: each call differentiates the function
    it is given (the fast path used to reuse the first one's gradient)."""
    shared = tangent_src.grad(apply_twice, wrt=1)
    for other in (np.cos, make0(-1.5)):  # warm the cache with other functions first
        shared(other, X)
    expected = numerical_grad(lambda x: apply_twice(fn, x), (X,))
    np.testing.assert_allclose(shared(fn, X), expected, rtol=1e-6, atol=1e-8)
    both = tangent_src.value_and_grad(apply_twice, wrt=1)
    both(np.cos, X)
    value, gradient = both(fn, X)
    np.testing.assert_allclose(value, apply_twice(fn, X), rtol=1e-12)
    np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-8)


# ------------------------------------------------------------------------ refusals
def defined_in_branches(x):  # was silently the else-branch's function on main
    if x[0] > 0:
        def g(z):
            return z * 2.0
    else:
        def g(z):
            return z * 3.0
    return np.sum(g(x))


def factory_in_branches(x):
    if x[0] > 0:
        g = make0(1.0)
    else:
        g = make0(2.0)
    return np.sum(g(x))


def nested_def_passed(x):
    def g(z):
        return np.sin(z)
    return apply_twice(g, x)


def factory_result_passed(x):
    return apply_twice(make0(2.0), x)


def pick(flag):
    def double(z):
        return z * 2.0

    def wave(z):
        return np.sin(z)
    if flag > 0:
        return double
    return wave


def chooser_result_unused(x):  # returns one of two functions: refused where it is called
    g = pick(1.0)  # noqa: F841
    return np.sum(np.sin(x))


@pytest.mark.parametrize("f, line_text, construct", [
    (defined_in_branches, "return np.sum(g(x))", "after the if"),
    (factory_in_branches, "return np.sum(g(x))", "after the if"),
    (factory_result_passed, "return apply_twice(make0(2.0), x)", "used as a value"),
    (chooser_result_unused, "g = pick(1.0)", "as a value"),
], ids=["def_in_branches", "factory_in_branches", "factory_passed", "chooser"])
def test_unsupported_is_refused_with_a_location_in_every_mode(f, line_text, construct):
    assert_refused_everywhere(f, line_text, construct)
