"""Complex values are differentiated under JAX's convention or refused, never differentiated
as if every function were holomorphic; derivatives at boundary points follow the
conventions of docs/conventions.md.

Every value is checked against a hand-derived derivative at the boundary point and central
finite differences (float64) nearby, in both modes, and to second order where it means
something.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from fdcheck import complex_numerical_grad, numerical_grad

import tangent_src
from tangent_src import derivatives
from tangent_src.errors import (
    ComplexValueError,
    NoDerivativeRuleError,
    NotDifferentiableError,
    TangentError,
)

COMPLEX_MESSAGE = "it is complex"


def central(f, x, eps=1e-6):
    """Central difference of a scalar function of a scalar."""
    return (f(x + eps) - f(x - eps)) / (2 * eps)


def both_modes(f, *args, wrt=0):
    """(reverse-mode gradient, forward-mode derivative along 1.0) of scalar f at scalar args."""
    reverse = tangent_src.grad(f, wrt=wrt)(*args)
    forward = tangent_src.autodiff(f, mode="forward", wrt=wrt)(*args)
    return reverse, forward


def second(f, *args, wrt=0):
    """d2f/dx2 by forward over reverse (hessian) and by reverse over reverse."""
    forward_over_reverse = derivatives.hessian(f, wrt)(*args)
    reverse_over_reverse = tangent_src.grad(tangent_src.grad(f, wrt=wrt), wrt=wrt)(*args)
    return forward_over_reverse, reverse_over_reverse


# -- complex arguments: differentiated (tests/test_complex_arguments.py has the rest) --------
# (these tests asserted the old refusal of every complex argument; they now check the
# values under JAX's convention, and the refusals that remain)

def modulus(x):
    return np.abs(x)


def conjugate(x):
    return np.conj(x)


def vector_norm(x):
    return np.linalg.norm(x)


def energy(x):
    total = 0.0
    for k in range(np.shape(x)[0]):
        total = total + np.abs(x[k]) ** 2
    return total


def test_issue_jvp_of_abs_at_a_complex_point_is_its_real_directional_derivative():
    z = 0.6 + 0.8j
    _, tangent = derivatives.jvp(modulus, (z,), (1.0,))
    np.testing.assert_allclose(tangent, central(lambda t: abs(z + t), 0.0), rtol=1e-6)


def test_issue_jvp_of_conj_along_a_complex_tangent_of_a_real_point_is_refused():
    with pytest.raises(NotDifferentiableError, match=COMPLEX_MESSAGE):
        derivatives.jvp(conjugate, (1.0,), (1j,))


def test_issue_grad_of_norm_of_a_complex_vector_without_casting():
    z = np.array([1.0 + 1.0j, 2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning: nothing is silently dropped
        got = tangent_src.grad(vector_norm)(z)
    np.testing.assert_allclose(got, complex_numerical_grad(vector_norm, z), rtol=1e-6)


def test_issue_grad_of_builtin_abs_at_a_complex_number():
    np.testing.assert_allclose(tangent_src.grad(abs)(0.6 + 0.8j), 0.6 - 0.8j, rtol=1e-12)


Z = np.array([0.6 + 0.8j, -1.0 + 0.5j])
V = np.array([0.3 - 0.2j, 1.0 + 0.7j])

TRANSFORMS = {  # (what the transform returns, what it should be)
    "grad": lambda: (tangent_src.grad(energy)(Z), complex_numerical_grad(energy, Z)),
    "value_and_grad": lambda: (tangent_src.value_and_grad(energy)(Z)[1],
                               complex_numerical_grad(energy, Z)),
    "autodiff_reverse": lambda: (tangent_src.autodiff(energy, mode="reverse")(Z),
                                 complex_numerical_grad(energy, Z)),
    "autodiff_forward": lambda: (tangent_src.autodiff(energy, mode="forward")(Z, V),
                                 central(lambda t: energy(Z + t * V), 0.0)),
    "jvp": lambda: (derivatives.jvp(energy, (Z,), (V,))[1],
                    central(lambda t: energy(Z + t * V), 0.0)),
    "vjp": lambda: (derivatives.vjp(energy, Z)[1](1.0)[0], complex_numerical_grad(energy, Z)),
    "hvp": lambda: (derivatives.hvp(energy)(Z, V), 2.0 * np.conj(V)),
    "jacobian_rev": lambda: (derivatives.jacobian(energy, mode="rev")(Z),
                             complex_numerical_grad(energy, Z)),
}


@pytest.mark.parametrize("name", sorted(TRANSFORMS))
def test_every_transform_differentiates_a_complex_argument(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got, expected = TRANSFORMS[name]()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_check_grads_takes_a_complex_argument():
    derivatives.check_grads(energy, (Z,), order=2)


@pytest.mark.parametrize("build", [
    lambda: derivatives.hessian(energy)(Z),
    lambda: derivatives.jacobian(energy, mode="fwd")(Z),
])
def test_forward_mode_matrices_of_a_complex_argument_are_refused(build):
    with pytest.raises(NotDifferentiableError, match="complex argument"):
        build()


def layers_loss(params, x):
    h = x
    for W, b in params:
        h = np.tanh(W @ h + b)
    return np.sum(np.abs(h) ** 2)


def dict_loss(params, x):
    return np.sum(np.abs(params["W"] @ x) ** 2) + params["scale"] ** 2 + \
        np.real(params["scale"])


@pytest.mark.parametrize("params, loss", [
    ([(np.eye(2) * (1 + 1j), np.zeros(2))], layers_loss),
    ([(np.eye(2), np.zeros(2)), (np.eye(2), np.array([0.0, 1j]))], layers_loss),
])
def test_complex_values_inside_parameter_containers_are_differentiated(params, loss):
    derivatives.check_grads(loss, (params, np.array([0.3, -0.2])), wrt=0, modes="rev")


def test_a_complex_scalar_in_a_dict_with_a_complex_output_is_refused_by_grad():
    """`scale ** 2` of a complex scale is complex: grad refuses it on the value."""
    params = {"W": np.eye(2), "scale": 1.0 + 0.5j}
    with pytest.raises(NotDifferentiableError, match="complex"):
        tangent_src.grad(dict_loss)(params, np.array([0.3, -0.2]))


def test_a_complex_seed_or_tangent_of_a_real_computation_is_refused():
    x = np.array([0.5, -0.3])
    _, pullback = derivatives.vjp(vector_norm, x)
    with pytest.raises(NotDifferentiableError, match=COMPLEX_MESSAGE):
        pullback(1.0 + 1.0j)
    with pytest.raises(NotDifferentiableError, match=COMPLEX_MESSAGE):
        derivatives.jvp(vector_norm, (x,), (np.array([1j, 0.0]),))
    with pytest.raises(NotDifferentiableError, match=COMPLEX_MESSAGE):
        derivatives.hvp(energy)(x, np.array([1j, 0.0]))


def test_a_complex_array_after_a_real_one_of_the_same_shape_gets_its_own_code():
    """The second call must not take the fast path of the first (same shape): the real
    specialization on complex values would differentiate np.abs as sign(x)."""
    g = tangent_src.grad(energy)
    x = np.array([0.6, -1.0])
    np.testing.assert_allclose(g(x), 2 * x)
    np.testing.assert_allclose(g(Z), complex_numerical_grad(energy, Z), rtol=1e-6)
    np.testing.assert_allclose(g(x), 2 * x)
    assert not np.iscomplexobj(g(x))


def spectrum_weighted(x, phases):
    """A complex argument that is not differentiated and never meets x."""
    weight = 0.0
    for p in phases:
        weight = weight + np.abs(p)
    return np.sum(x ** 2) * weight


def test_a_complex_argument_that_is_not_differentiated_is_fine():
    x = np.array([0.5, -0.3, 1.2])
    expected = numerical_grad(spectrum_weighted, (x, Z), wrt=0)
    np.testing.assert_allclose(tangent_src.grad(spectrum_weighted)(x, Z), expected,
                               rtol=1e-6)
    value, tangent = derivatives.jvp(spectrum_weighted, (x, Z), (np.ones(3), np.zeros(2)))
    np.testing.assert_allclose(tangent, np.sum(expected), rtol=1e-6)


PHASES = np.array([1.0 + 2.0j, 3.0 - 1.0j])


def rotate_then_modulus(x):
    return np.abs(x * 1j)


def modulus_of_product(x):
    return np.sum(np.abs(x * PHASES))


def norm_of_shift(x):
    return np.linalg.norm(x + PHASES)


def norm_of_sinc(x):
    return np.linalg.norm(np.sinc(x + PHASES))


def real_part(x):
    return np.real(x * 1j)


def real_part_of_modulus(x):
    return np.real(np.abs(x * 1j))


def power_spectrum(x):
    return np.sum(np.abs(np.fft.fft(x)) ** 2)


def square_through_i(x):
    y = x * 1j
    return np.sum(np.abs(y * y))


@pytest.mark.parametrize("f, x", [
    (rotate_then_modulus, 2.0),
    (modulus_of_product, np.array([0.5, -0.3])),
    (norm_of_shift, np.array([0.5, -0.3])),
    (norm_of_sinc, np.array([0.5, -0.3])),
    (real_part, 2.0),
    (real_part_of_modulus, 2.0),
    (power_spectrum, np.array([1.0, 2.0, 3.0])),
    (square_through_i, np.array([0.5, -0.3])),
])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_complex_constant_in_the_computation_is_correct_or_refused(f, x, mode):
    """A complex constant that meets the differentiated values must never give a wrong
    real derivative: either the finite-difference value or a refusal."""
    expected = numerical_grad(f, (x,))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            if mode == "reverse":
                got = tangent_src.grad(f)(x)
            else:
                v = np.linspace(0.3, 1.1, np.size(x)).reshape(np.shape(x))
                got = derivatives.jvp(f, (x,), (v,))[1]
                expected = np.sum(expected * v)
        except TangentError as exc:
            assert isinstance(exc, (NotDifferentiableError, NoDerivativeRuleError))
            return
    assert not np.iscomplexobj(got)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f, x", [
    (rotate_then_modulus, 2.0),
    (real_part, 2.0),
    (real_part_of_modulus, 2.0),
    (power_spectrum, np.array([1.0, 2.0, 3.0])),
    (square_through_i, np.array([0.5, -0.3])),
])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_complex_intermediates_through_audited_rules_are_differentiated(f, x, mode):
    """Complex constants and np.fft meeting differentiated values through rules audited
    for complex values (docs/conventions.md): no refusal, the finite-difference value."""
    expected = numerical_grad(f, (x,))
    if mode == "reverse":
        got = tangent_src.grad(f)(x)
    else:
        v = np.linspace(0.3, 1.1, np.size(x)).reshape(np.shape(x))
        got = derivatives.jvp(f, (x,), (v,))[1]
        expected = np.sum(expected * v)
    assert not np.iscomplexobj(got)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def exp_of_rotation(x):  # `**` is audited for complex values now
    return np.real(np.exp(x * 1j) ** 2)


def test_a_power_of_a_complex_value_is_differentiated():
    x = np.array([0.5, -0.3])
    f = lambda x: np.sum(exp_of_rotation(x))  # noqa: E731
    np.testing.assert_allclose(tangent_src.grad(f)(x), numerical_grad(f, (x,)), rtol=1e-6)


def maximum_of_rotation(x):
    return np.sum(np.abs(np.maximum(x * 1j, 0.5j)))


def sinc_of_rotation(x):
    return np.sum(np.abs(np.sinc(x * 1j)))


@pytest.mark.parametrize("f", [maximum_of_rotation, sinc_of_rotation])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_complex_value_reaching_an_unaudited_rule_is_refused_located(f, mode):
    with pytest.raises(ComplexValueError) as info:
        tangent_src.autodiff(f, mode=mode)(np.array([0.5, -0.3]))
    assert info.value.lineno == f.__code__.co_firstlineno + 1


# -- transforming a function that has a rule ----------------------------------------------

def test_issue_grad_of_numpy_functions_uses_their_rules():
    assert tangent_src.grad(np.abs)(-2.0) == -1.0
    x = np.array([3.0, 4.0])
    np.testing.assert_allclose(tangent_src.grad(np.linalg.norm)(x), x / 5.0)
    np.testing.assert_allclose(tangent_src.grad(np.arctan2, wrt=1)(1.0, 2.0),
                               central(lambda b: np.arctan2(1.0, b), 2.0), rtol=1e-7)
    assert tangent_src.grad(abs)(-3.0) == -1.0
    np.testing.assert_allclose(tangent_src.grad(math.sin)(0.7), math.cos(0.7))
    np.testing.assert_allclose(tangent_src.autodiff(np.tanh, mode="forward")(0.3),
                               1 - np.tanh(0.3) ** 2)
    np.testing.assert_allclose(derivatives.hessian(np.sin)(0.7), -np.sin(0.7))
    np.testing.assert_allclose(tangent_src.grad(np.sum)(x), np.ones(2))
    assert tangent_src.grad(np.floor)(1.5) == 0.0


def test_a_numpy_function_without_a_rule_is_refused_not_parsed():
    with pytest.raises(NoDerivativeRuleError, match="no derivative rule"):
        tangent_src.grad(np.fft.hfft)(np.array([1.0, 2.0]))


def opaque_cube(x):
    try:  # not differentiable from its source (try/except), but it has rules
        return x ** 3
    except TypeError:
        return x


@tangent_src.adjoint(opaque_cube)
def _(y, x):
    tangent_src.d[x] = tangent_src.d[y] * 3.0 * x * x


@tangent_src.tangent(opaque_cube)
def _(y, x):
    tangent_src.d[y] = tangent_src.d[x] * 3.0 * x * x


def test_a_user_function_with_a_registered_rule_is_transformed_with_it():
    np.testing.assert_allclose(tangent_src.grad(opaque_cube)(2.0), 12.0)
    np.testing.assert_allclose(tangent_src.autodiff(opaque_cube, mode="forward")(2.0), 12.0)


# -- boundary conventions -------------------------------------------------------------------

def sample_spread(x):
    return np.sum(np.std(x, axis=0))


def test_issue_std_over_one_sample_has_zero_gradient():
    x = np.array([[1.0, -2.0, 0.5]])       # std over axis 0 is identically 0 near x
    np.testing.assert_array_equal(tangent_src.grad(sample_spread)(x), np.zeros_like(x))
    v = np.array([[0.3, -1.0, 2.0]])
    assert derivatives.jvp(sample_spread, (x,), (v,))[1] == 0.0
    np.testing.assert_allclose(numerical_grad(sample_spread, (x,)), 0.0, atol=1e-9)
    np.testing.assert_array_equal(derivatives.hessian(sample_spread)(x), 0.0)


def spread(x):
    return np.std(x)


def nan_spread(x):
    return np.nanstd(x)


def test_std_of_equal_entries_takes_the_least_norm_subgradient():
    x = np.array([1.5, 1.5, 1.5])
    np.testing.assert_array_equal(tangent_src.grad(spread)(x), 0.0)
    assert derivatives.jvp(spread, (x,), (np.array([1.0, -1.0, 0.5]),))[1] == 0.0
    np.testing.assert_array_equal(tangent_src.grad(nan_spread)(np.array([2.0, np.nan])), 0.0)
    near = np.array([1.0, 1.3, 0.4])        # nearby, std is smooth: finite differences
    np.testing.assert_allclose(tangent_src.grad(spread)(near),
                               numerical_grad(spread, (near,)), rtol=1e-6)
    derivatives.check_grads(spread, (near,), order=2)


def unbiased_variance(x):
    return np.var(x, ddof=1)


def test_variance_with_no_degrees_of_freedom_is_nan_like_its_value():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        value = unbiased_variance(np.array([2.0]))
        g = tangent_src.grad(unbiased_variance)(np.array([2.0]))
    assert np.isnan(value) and np.all(np.isnan(g))


def power_of_zero(y):
    return np.power(0.0, y)


def general_power(x, y):
    return x ** y


def test_issue_power_at_zero_base_with_respect_to_the_exponent_is_zero():
    assert both_modes(power_of_zero, 0.5) == (0.0, 0.0)
    assert central(power_of_zero, 0.5) == 0.0          # 0 ** y == 0 for every y near 0.5
    assert second(power_of_zero, 0.5) == (0.0, 0.0)
    assert both_modes(general_power, 0.0, 2.0, wrt=1) == (0.0, 0.0)
    for x, y in ((0.3, 0.5), (2.0, 1.5)):            # away from 0: d/dy = log(x) x ** y
        expected = central(lambda b, x=x: x ** b, y)
        for got in both_modes(general_power, x, y, wrt=1):
            np.testing.assert_allclose(got, expected, rtol=1e-7)
        derivatives.check_grads(general_power, (x, y), order=2)


def polynomial(x, coefficients):
    total = 0.0
    for k in range(len(coefficients)):
        total = total + coefficients[k] * x ** k
    return total


def test_power_zero_exponent_at_zero_base_has_zero_derivative():
    c = np.array([0.5, -2.0, 3.0, 0.25])
    # p(x) = 0.5 - 2 x + 3 x^2 + 0.25 x^3: p'(0) = -2, p''(0) = 6
    reverse = tangent_src.grad(polynomial)(0.0, c)
    forward = tangent_src.autodiff(polynomial, mode="forward")(0.0, c)
    assert reverse == -2.0 and forward == -2.0
    assert second(polynomial, 0.0, c) == (6.0, 6.0)
    np.testing.assert_allclose(central(lambda x: polynomial(x, c), 1e-3),
                               tangent_src.grad(polynomial)(1e-3, c), rtol=1e-7)


def identity_power(x):
    return x ** 1


def float_power_zero(x):
    return np.float_power(x, 0.0)


def test_second_derivative_of_a_linear_power_at_zero_is_zero():
    assert second(identity_power, 0.0) == (0.0, 0.0)
    assert both_modes(float_power_zero, 0.0) == (0.0, 0.0)


def root(x):
    return x ** 0.5


def test_one_sided_infinite_slopes_stay_infinite():
    for f in (root, np.sqrt, np.cbrt):
        assert both_modes(f, 0.0) == (np.inf, np.inf)
    np.testing.assert_allclose(tangent_src.grad(root)(1e-4), central(root, 1e-4, 1e-8),
                               rtol=1e-6)


def log_loss(x):
    return np.log(x)


def ratio(x, y):
    return x / y


def angle(y, x):
    return np.arctan2(y, x)


def test_division_by_zero_follows_ieee_not_zero_division_error():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert both_modes(log_loss, 0.0) == (np.inf, np.inf)
        assert tangent_src.grad(ratio, wrt=(0, 1))(1.0, 0.0) == (np.inf, -np.inf)
        assert all(np.isnan(tangent_src.grad(angle, wrt=(0, 1))(0.0, 0.0)))


def radius(x, y):
    return np.hypot(x, y)


def test_hypot_and_norm_at_zero_take_zero_to_second_order():
    assert tangent_src.grad(radius, wrt=(0, 1))(0.0, 0.0) == (0.0, 0.0)
    assert both_modes(radius, 0.0, 0.0) == (0.0, 0.0)
    assert derivatives.hessian(radius)(0.0, 0.0) == 0.0
    np.testing.assert_array_equal(derivatives.hessian(vector_norm)(np.zeros(2)), 0.0)
    derivatives.check_grads(radius, (0.3, -0.4), order=2)
    derivatives.check_grads(vector_norm, (np.array([0.3, -0.4]),), order=2)


def row_norms(x):
    return np.sum(np.linalg.norm(x, axis=1))


def test_norm_of_a_zero_row_keeps_the_other_rows_exact():
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(tangent_src.grad(row_norms)(x), [[0.0, 0.0], [0.6, 0.8]])
    h = derivatives.hessian(row_norms)(x)
    np.testing.assert_array_equal(h[0, :, 0, :], 0.0)
    # the nonzero row: (I - u u^T) / |x| with u = x / |x|
    u = np.array([0.6, 0.8])
    np.testing.assert_allclose(h[1, :, 1, :], (np.eye(2) - np.outer(u, u)) / 5.0)


# -- linspace, logspace, geomspace ----------------------------------------------------------

def ramp_sum(x, y):
    return np.sum(np.linspace(x, y, 5))


def test_issue_linspace_is_differentiable_in_start_and_stop():
    # sum of (1 - t) x + t y over t = 0, 1/4, ..., 1: 2.5 x + 2.5 y
    assert both_modes(ramp_sum, 1.0, 2.0, wrt=0) == (2.5, 2.5)
    assert both_modes(ramp_sum, 1.0, 2.0, wrt=1) == (2.5, 2.5)


WEIGHTS = np.arange(1.0, 6.0)


def weighted_ramp(start, stop):
    return np.sum(np.linspace(start, stop, 5) * WEIGHTS)


def open_grid(start, stop):
    return np.sum(np.linspace(start, stop, 4, endpoint=False, axis=-1) ** 2)


def fan(start, stop):
    return np.sum(np.linspace(start, stop, 4, endpoint=False) ** 3)


def single_point(start, stop):
    return np.sum(np.linspace(start, stop, 1) ** 2)


def log_grid(start, stop):
    return np.sum(np.logspace(start, stop, 5, base=2.0) * WEIGHTS)


def log_grid_base(start, stop, base):
    return np.sum(np.logspace(start, stop, 3, base=base))


def geometric_grid(start, stop):
    return np.sum(np.geomspace(start, stop, 5) * WEIGHTS)


def geometric_columns(start, stop):
    return np.sum(np.geomspace(start, stop, 4, axis=1) ** 2)


@pytest.mark.parametrize("f, args", [
    (weighted_ramp, (1.0, 2.0)),
    (open_grid, (np.array([1.0, 2.0, 3.0]), np.array([[0.5], [2.0]]))),
    (fan, (0.3, np.array([0.3, -1.2, 0.8]))),
    (single_point, (1.0, 3.0)),
    (log_grid, (0.3, 1.2)),
    (log_grid_base, (0.2, 0.7, 3.0)),
    (geometric_grid, (2.0, 5.0)),
    (geometric_grid, (-2.0, -5.0)),
    (geometric_columns, (np.array([1.0, 2.0]), np.array([3.0, 0.5]))),
])
def test_ranges_match_finite_differences(f, args):
    wrt = tuple(range(len(args)))
    grads = tangent_src.grad(f, wrt=wrt)(*args)
    for k, g in enumerate(grads):
        np.testing.assert_allclose(g, numerical_grad(f, args, wrt=k), rtol=1e-6, atol=1e-8)
    derivatives.check_grads(f, args, order=2)


def test_linspace_weights_by_hand():
    # d/d start of sum(w * linspace(start, stop, 5)) = sum(w * (1 - t)), t = k / 4
    t = np.arange(5) / 4.0
    np.testing.assert_allclose(tangent_src.grad(weighted_ramp)(1.0, 2.0),
                               np.sum(WEIGHTS * (1 - t)))
    assert tangent_src.grad(single_point, wrt=1)(1.0, 3.0) == 0.0   # one point: start only


# -- ties and kinks (JAX's conventions, unchanged; listed in docs/conventions.md) -----------

def relu_sum(x):
    return np.sum(np.maximum(x, 0.0))


def clipped(x):
    return np.sum(np.clip(x, 0.0, 1.0))


def peak(x):
    return np.max(x)


def test_ties_share_or_follow_the_documented_side():
    x = np.array([0.0, 1.0, -1.0])
    np.testing.assert_allclose(tangent_src.grad(relu_sum)(x), [0.5, 1.0, 0.0])
    np.testing.assert_allclose(tangent_src.grad(clipped)(np.array([0.0, 1.0, 2.0])),
                               [1.0, 1.0, 0.0])
    np.testing.assert_allclose(tangent_src.grad(peak)(np.array([2.0, 2.0, 1.0])),
                               [0.5, 0.5, 0.0])
    assert derivatives.jvp(peak, (np.array([2.0, 2.0, 1.0]),),
                           (np.array([1.0, 0.0, 5.0]),))[1] == 0.5
    assert both_modes(modulus, 0.0) == (0.0, 0.0)


def test_standalone_source_of_a_numpy_function_uses_its_rule():
    source = tangent_src.standalone_source(np.tanh)
    assert "np.tanh(x)" in source and "tangent_src" not in source.split('"""')[-1]
    namespace: dict = {}
    exec(compile(source, "<standalone tanh>", "exec"), namespace)
    np.testing.assert_allclose(namespace["dtanh"](0.4), central(np.tanh, 0.4), rtol=1e-8)
