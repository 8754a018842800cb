"""Complex values through nested transforms and higher orders: a transform called inside a
differentiated function with complex values, complex intermediates of a real argument
differentiated twice, and transforms of functions that have rules (np.add, np.dot) with
mixed real and complex arguments.

Every derivative is checked against central finite differences along the real and the
imaginary parts (JAX's and autograd's convention: the gradient of a real loss L of complex
z is dL/dRe(z) - i dL/dIm(z)).
"""
from __future__ import annotations

import numpy as np
import pytest

import tangent_src as ts
from tangent_src import derivatives
from tests.fdcheck import assert_close as close
from tests.fdcheck import complex_numerical_grad as fd_grad
from tests.fdcheck import numerical_directional as fd_along

RNG = np.random.default_rng(5)


def cplx(*shape):
    return RNG.normal(size=shape) + 1j * RNG.normal(size=shape)


# --------------------------------------------------------------------------- nested grad
def magnitude(z):
    return np.abs(z) ** 3


def phase(z):
    return np.angle(z)


@pytest.mark.parametrize("inner", [magnitude, phase, np.abs])
def test_a_gradient_taken_inside_a_function_of_a_complex_number(inner):
    def slope_real(z):
        return np.real(ts.grad(inner)(z))

    def slope_imag(z):
        return np.imag(ts.grad(inner)(z))

    z = 1.1 + 0.7j
    for outer in (slope_real, slope_imag):
        close(ts.grad(outer)(z), fd_grad(outer, z))
        v = 0.3 - 0.8j
        close(derivatives.jvp(outer, (z,), (v,))[1], fd_along(outer, z, v))


def cubic_mix(z):
    return np.abs(z) ** 2 * np.real(z)


def projected_slope(x):
    return np.real(ts.grad(cubic_mix)(x) * (0.4 - 0.2j))


def test_third_derivative_through_two_nested_gradients_of_a_complex_number():
    def second(z):
        return np.real(ts.grad(projected_slope)(z) * (0.7 + 0.1j))

    z = 0.9 - 1.2j
    close(ts.grad(second)(z), fd_grad(second, z), rtol=1e-4, atol=1e-6)
    v = 0.2 + 0.5j
    close(derivatives.jvp(second, (z,), (v,))[1], fd_along(second, z, v), rtol=1e-4,
          atol=1e-6)


def test_a_nested_gradient_with_complex_weights_in_a_helper():
    def energy(w, x):
        return np.sum(np.abs(w * x) ** 2)

    def sensitivity(w, x):
        return np.sum(np.abs(ts.grad(energy)(w, x)) ** 2)

    def objective(w):
        total = 0.0
        for k in range(2):
            total = total + sensitivity(w, np.arange(1.0, 4.0) + k)
        return total

    w = cplx(3)
    close(ts.grad(objective)(w), fd_grad(objective, w), rtol=1e-4, atol=1e-6)
    u = cplx(3)
    close(derivatives.hvp(objective)(w, u),
          fd_along(ts.grad(objective), w, u, eps=1e-5), rtol=1e-4, atol=1e-5)


def test_the_gradient_of_a_nested_gradient_as_check_grads_runs_it():
    dphase = lambda x: ts.grad(phase)(x)  # noqa: E731 - written as users write it
    ts.check_grads(dphase, (0.6 + 0.4j,), order=2, modes=("fwd", "rev"))
    dmag = lambda x: ts.grad(np.abs)(x)  # noqa: E731
    ts.check_grads(dmag, (1.1 + 1.3j,), order=2, modes=("fwd", "rev"))


# --------------------------------------------------------------------------- complex inside
def shifted_sine(a):
    b = a + 1.0j
    c = b[0] + 1.5
    d = a + b
    return np.sum(np.sin(np.real(d + c)))


def split_parts(a):
    r, i = np.real(a), np.imag(a)
    return np.sum(np.sin(np.abs(r) ** 1.4 + np.abs(i) ** 1.3))


def test_complex_intermediates_of_a_real_argument_differentiated_twice():
    a = RNG.normal(size=4)
    slope = ts.grad(shifted_sine)

    def curvature(x):
        return np.sum(ts.grad(shifted_sine)(x) * np.arange(1.0, 5.0))

    close(slope(a), fd_grad(shifted_sine, a))
    close(ts.grad(curvature)(a), fd_grad(curvature, a), rtol=1e-4, atol=1e-6)
    ts.check_grads(lambda x: ts.grad(shifted_sine)(x), (a,), order=2, modes=("fwd", "rev"))


def test_real_and_imaginary_parts_split_then_differentiated_twice():
    a = RNG.normal(size=(3, 2)) + 0.3j * RNG.normal(size=(3, 2))

    def curvature(x):
        return np.real(np.sum(ts.grad(split_parts)(x) * (0.5 + 0.2j)))

    close(ts.grad(split_parts)(a), fd_grad(split_parts, a))
    close(ts.grad(curvature)(a), fd_grad(curvature, a), rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- rule wrappers
@pytest.mark.parametrize("func, x, y", [
    (np.add, 0.6, 0.6 + 0.3j),
    (np.add, cplx(3, 2), RNG.normal(size=2)),
    (np.dot, RNG.normal(size=3), cplx(3)),
    (np.dot, cplx(2, 3), 0.3),
    (np.outer, cplx(3), RNG.normal(size=3)),
    (np.matmul, RNG.normal(size=(2, 3)), cplx(3, 4)),
], ids=["add-scalars", "add-broadcast", "dot-vectors", "dot-scalar", "outer", "matmul"])
def test_transforms_of_functions_with_rules_take_mixed_real_and_complex_arguments(func, x, y):
    ts.check_grads(func, (x, y), order=2, modes=("fwd", "rev"), argnums=(0, 1))
    seed = np.conj(func(x, y))

    def paired(a, b):
        return np.real(np.sum(func(a, b) * seed))

    gx, gy = ts.grad(func, wrt=(0, 1))(x, y) if np.ndim(func(x, y)) == 0 and \
        not np.iscomplexobj(func(x, y)) else ts.grad(paired, wrt=(0, 1))(x, y)
    close(gx, fd_grad(lambda a: paired(a, y), x))
    close(gy, fd_grad(lambda b: paired(x, b), y))


def test_second_order_of_diff_with_an_empty_result():
    for shape in [(1,), (1, 1)]:
        ts.check_grads(lambda a: np.diff(a, axis=0), (RNG.normal(size=shape),), order=2,
                       modes=("fwd", "rev"))
