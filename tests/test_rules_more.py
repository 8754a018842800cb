"""The NumPy/SciPy rules of issue 13's second list: scipy.integrate.odeint (adjoint
sensitivities), np.linalg.eig / eigvals, scipy.linalg.solve_banded, np.einsum's
operand/sublist form (and its string forms), np.gradient, np.row_stack, np.cross's axis
keywords, second derivatives of vector p-norms, and the shape-parameter derivatives of the
incomplete gamma / beta functions and the scipy.stats cdf family.

Every derivative is checked against float64 central finite differences (tests/fdcheck.py),
in reverse mode (grad) and forward mode (jvp against the finite-difference gradient along
a direction), and at second order (tangent_src.check_grads, which compares with finite
differences of the first derivative) where the rule supports it. The functions are written
as user code: a predator-prey fit, a pendulum, a heat-equation step, a smoothing penalty.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import scipy.special
import scipy.stats
from fdcheck import numerical_grad

import tangent_src
from tangent_src.errors import DerivativeNotImplementedError
from tangent_src.rules import integrate, linalg_extra, numpy_extra
from tangent_src.rules.registry import REGISTRY

RNG = np.random.default_rng(13)


def R(*shape):
    return RNG.normal(size=shape)


def check_both_modes(f, args, wrt, rtol=1e-5, atol=1e-7, eps=1e-6):
    """grad(f, wrt) and jvp(f) along a random direction against central differences."""
    wrt = tuple(wrt)
    expected = numerical_grad(f, args, wrt, eps=eps)
    actual = tangent_src.grad(f, wrt=wrt if len(wrt) > 1 else wrt[0])(*args)
    actual = actual if len(wrt) > 1 else (actual,)
    for k, got, want in zip(wrt, actual, expected):
        assert np.shape(got) == np.shape(args[k])
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"d/d arg {k}")
    directions = [np.zeros_like(np.asarray(a, dtype=float)) if k not in wrt else R(*np.shape(a))
                  for k, a in enumerate(args)]
    directions = [float(d) if np.ndim(a) == 0 else d for a, d in zip(args, directions)]
    _, tangent = tangent_src.jvp(f, args, tuple(directions))
    along = sum(np.sum(np.asarray(want) * directions[k]) for k, want in zip(wrt, expected))
    np.testing.assert_allclose(tangent, along, rtol=rtol, atol=atol, err_msg="jvp")


# ------------------------------------------------------------------------------ odeint
TIGHT = 1e-10


def lotka_volterra(state, t, alpha, beta, delta, gamma):
    prey, predator = state[0], state[1]
    return np.array([alpha * prey - beta * prey * predator,
                     delta * prey * predator - gamma * predator])


T_OBS = np.linspace(0.0, 3.0, 7)
OBSERVED = np.array([[1.0, 0.5], [1.3, 0.55], [1.5, 0.7], [1.4, 0.9],
                     [1.1, 1.0], [0.9, 0.9], [0.85, 0.8]])


def predator_prey_loss(params, y0):
    alpha, beta = params[0], params[1]
    sol = scipy.integrate.odeint(lotka_volterra, y0, T_OBS, args=(alpha, beta, 0.6, 0.9),
                                 rtol=TIGHT, atol=TIGHT)
    err = sol - OBSERVED
    return np.sum(err ** 2)


def test_predator_prey_fit_gradient_in_the_dynamics_parameters_and_initial_state():
    args = (np.array([1.1, 0.6]), np.array([1.0, 0.5]))
    check_both_modes(predator_prey_loss, args, (0, 1), rtol=1e-5, atol=1e-6)


def pendulum(t, state, damping, length):
    theta, omega = state[0], state[1]
    return np.array([omega, -damping * omega - 9.81 / length * np.sin(theta)])


def pendulum_loss(theta0, times, damping):
    y0 = np.array([theta0, 0.0])
    traj = scipy.integrate.odeint(pendulum, y0, times, args=(damping, 1.5), tfirst=True,
                                  rtol=TIGHT, atol=TIGHT)
    angles = traj[:, 0]
    total = 0.0
    for k in range(len(times)):
        total = total + (angles[k] - 0.1 * k) ** 2
    return total


def test_pendulum_with_tfirst_gradient_in_start_angle_time_points_and_damping():
    args = (0.4, np.array([0.0, 0.3, 0.7, 1.2, 1.6]), 0.25)
    check_both_modes(pendulum_loss, args, (0, 1, 2), rtol=1e-5, atol=1e-6)


def decay(y, t, rates):
    return -rates * y + np.sqrt(t)


def test_odeint_transformed_directly_with_an_array_argument_tuple():
    """check_grads(scipy.integrate.odeint, ...) with the dynamics as the first argument
    and a tuple of arrays as `args` (the form autograd's suite uses)."""
    args = (decay, np.array([1.0, 0.4, -0.3]), np.linspace(0.1, 0.6, 4),
            (np.array([0.5, 1.5, 2.0]),))
    for modes in (("rev",), ("fwd",)):
        tangent_src.check_grads(scipy.integrate.odeint, args, order=1, modes=modes,
                                argnums=(1, 2, 3))


def forced_decay(y, t, rates, forcing, unused, power):
    return -rates * y ** power + forcing


def forced_decay_loss(y0, rates, forcing, unused):
    """`args` mixes arrays of different shapes, a scalar, an unused array and an integer:
    the tuple stays a tuple (it was turned into one object array) and the unused argument
    gets a zero gradient."""
    times = np.linspace(0.0, 1.0, 4)
    sol = scipy.integrate.odeint(forced_decay, y0, times, args=(rates, forcing, unused, 1),
                                 rtol=TIGHT, atol=TIGHT)
    return np.sum(sol ** 2)


def test_odeint_args_of_different_shapes_and_kinds():
    args = (np.array([1.0, 2.0]), np.array([0.7, 1.3]), 0.4, np.array([1.0, 2.0, 3.0]))
    check_both_modes(forced_decay_loss, args, (0, 1, 2, 3), rtol=1e-5, atol=1e-6)


def test_odeint_second_derivatives_and_full_output_are_refused():
    args = (np.array([1.1, 0.6]), np.array([1.0, 0.5]))
    with pytest.raises(DerivativeNotImplementedError, match="second derivatives"):
        tangent_src.hessian(predator_prey_loss)(*args)

    def with_info(y0):
        sol, info = scipy.integrate.odeint(decay, y0, T_OBS, args=(np.ones(2),),
                                           full_output=1)
        return np.sum(sol)

    with pytest.raises(DerivativeNotImplementedError, match="full_output"):
        tangent_src.grad(with_info)(np.array([1.0, 2.0]))


# ------------------------------------------------------------------------------ eig
def vibration_modes(stiffness):
    """Eigenvalues and sign-free eigenvector weights of a non-symmetric system matrix."""
    w, v = np.linalg.eig(stiffness)
    weights = v * v
    return np.sum(w * w) + np.sum(weights @ np.arange(1.0, 4.0))


def spectral_abscissa_proxy(a):
    return np.sum(np.exp(np.linalg.eigvals(a)))


def real_spectrum_matrix():
    """A non-symmetric matrix with well-separated real eigenvalues."""
    q = np.linalg.qr(R(3, 3))[0] + 0.3 * R(3, 3)
    return q @ np.diag([1.0, 2.5, -1.5]) @ np.linalg.inv(q)


@pytest.mark.parametrize("func", [vibration_modes, spectral_abscissa_proxy])
def test_eig_of_a_nonsymmetric_matrix_with_real_eigenvalues(func):
    a = real_spectrum_matrix()
    check_both_modes(func, (a,), (0,))
    tangent_src.check_grads(func, (a,), order=2)


def test_eig_with_complex_eigenvalues_is_refused():
    rotation = np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    with pytest.raises(DerivativeNotImplementedError, match="complex eigenvalues"):
        tangent_src.grad(spectral_abscissa_proxy)(rotation)
    with pytest.raises(DerivativeNotImplementedError, match="complex eigenvalues"):
        tangent_src.grad(vibration_modes)(rotation)


def test_eig_transformed_directly():
    tangent_src.check_grads(np.linalg.eigvals, (real_spectrum_matrix(),), order=2)


# ------------------------------------------------------------------------------ solve_banded
def implicit_heat_step(kappa, u0):
    """One backward-Euler step of u_t = kappa u_xx, the tridiagonal system in banded form."""
    n = len(u0)
    ab = np.zeros((3, n))
    ab[0] = -kappa * np.ones(n)
    ab[1] = (1.0 + 2.0 * kappa) * np.ones(n)
    ab[2] = -kappa * np.ones(n)
    u1 = scipy.linalg.solve_banded((1, 1), ab, u0)
    return np.sum(u1 ** 2)


def test_backward_euler_heat_step_gradient_in_diffusivity_and_state():
    check_both_modes(implicit_heat_step, (0.3, R(6)), (0, 1))


@pytest.mark.parametrize("l_and_u, b_shape", [((1, 1), (5,)), ((1, 1), (5, 2)),
                                              ((2, 1), (5,)), ((0, 2), (5, 3))])
def test_solve_banded_transformed_directly(l_and_u, b_shape):
    ab = R(sum(l_and_u) + 1, 5)
    ab[l_and_u[1]] += 5.0  # a dominant main diagonal
    tangent_src.check_grads(scipy.linalg.solve_banded, (l_and_u, ab, R(*b_shape)), order=2,
                            argnums=(1, 2))


# ------------------------------------------------------------------------------ einsum
def sublist_layer(W, x):
    h = np.einsum(W, [0, 1], x, [1])
    return np.sum(np.tanh(h))


def batched_sublist(A, B):
    out = np.einsum(A, [Ellipsis, 0, 1], B, [Ellipsis, 1, 2], [Ellipsis, 0, 2])
    return np.sum(out * out)


def three_operands(A, B, C):
    return np.sum(np.einsum(A, [0, 1], B, [1, 2], C, [2, 3], [0, 3]) ** 2)


@pytest.mark.parametrize("func, shapes", [(sublist_layer, [(3, 4), (4,)]),
                                          (batched_sublist, [(2, 2, 3), (2, 3, 4)]),
                                          (three_operands, [(2, 3), (3, 2), (2, 2)])])
def test_einsum_sublist_form_in_user_code(func, shapes):
    args = tuple(R(*s) for s in shapes)
    check_both_modes(func, args, tuple(range(len(args))))
    tangent_src.check_grads(func, args, order=2)


@pytest.mark.parametrize("args, argnums", [
    (lambda: (R(3, 4), (0, 1), (1, 0)), (0,)),
    (lambda: (R(2, 3), (0, 1), R(3, 4), (1, 2), (0, 2)), (0, 2)),
    (lambda: (R(2, 3), [0, 1], R(3, 4), [1, 2]), (0, 2)),
    (lambda: (R(3, 4, 4), (0, 1, 2), R(4, 4, 3), (3, 1, 0), (3, 2, 0)), (0, 2)),
    (lambda: (R(3, 4, 4), (0, 1, 2), R(4, 4, 3), (3, 1, 0), R(4, 4, 3), (3, 3, 0), (3, 2, 0)),
     (0, 2, 4)),
    (lambda: (R(2, 3), [Ellipsis, 1], R(3), [1]), (0, 2)),
], ids=["transpose", "matmul", "no-output", "covsum", "three", "ellipsis"])
def test_einsum_sublist_form_transformed_directly(args, argnums):
    tangent_src.check_grads(np.einsum, args(), order=2, argnums=argnums)


@pytest.mark.parametrize("spec, shapes", [
    ("ij->ji", [(3, 4)]), ("...ij,...jk->...ik", [(2, 2, 3), (3, 4)]), ("ii", [(3, 3)]),
    ("ij,ij", [(2, 3), (2, 3)]), ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("ijk->", [(2, 3, 4)]), ("ij,jk", [(2, 3), (3, 4)]), ("k,nk->", [(5,), (4, 5)])])
def test_einsum_string_forms_transformed_directly(spec, shapes):
    args = (spec, *[R(*s) for s in shapes])
    tangent_src.check_grads(np.einsum, args, order=2, argnums=tuple(range(1, len(args))))


# ------------------------------------------------------------------------------ gradient
DATA = np.sin(np.linspace(0.0, 3.0, 8)) + 0.1 * R(8)


def smoothing_loss(u, lam, h):
    """Data fit plus a finite-difference roughness penalty."""
    du = np.gradient(u, h)
    return np.sum((u - DATA) ** 2) + lam * np.sum(du ** 2)


def test_smoothing_penalty_gradient_in_signal_weight_and_spacing():
    check_both_modes(smoothing_loss, (R(8), 0.7, 0.4), (0, 1, 2))
    tangent_src.check_grads(smoothing_loss, (R(8), 0.7, 0.4), order=2, argnums=(0, 1))


def field_roughness(field, hx, hy):
    gx, gy = np.gradient(field, hx, hy, edge_order=2)
    return np.sum(gx * gx + 0.5 * gy * gy)


def test_two_dimensional_field_with_per_axis_spacings_and_edge_order_2():
    check_both_modes(field_roughness, (R(5, 4), 0.3, 0.6), (0, 1, 2))


COORDS = np.cumsum(RNG.uniform(0.5, 1.5, size=6))


def along_axis(f):
    return np.gradient(f, axis=-1)


def tuple_axes(f):
    return np.gradient(f, axis=(0, 2))


def coordinates(f):
    return np.gradient(f, COORDS, edge_order=2)


def one_axis_edge2(f, h):
    return np.gradient(f, h, axis=1, edge_order=2)


@pytest.mark.parametrize("func, args, order", [
    (np.gradient, (R(5),), 2), (np.gradient, (R(5, 4),), 2), (np.gradient, (R(4, 3, 3),), 2),
    (np.gradient, (R(5, 4), 0.3, 0.7), 1), (along_axis, (R(5, 4),), 2),
    (tuple_axes, (R(4, 3, 3),), 2), (coordinates, (R(6),), 2), (one_axis_edge2, (R(5, 4), 0.4), 1),
], ids=["1d", "2d", "3d", "spacings", "axis", "axes", "coordinates", "edge2"])
def test_gradient_forms(func, args, order):
    tangent_src.check_grads(func, args, order=order)


def test_gradient_in_a_coordinate_array_is_refused():
    def uses_coords(f, x):
        return np.sum(np.gradient(f, x) ** 2)

    with pytest.raises(DerivativeNotImplementedError, match="coordinate array"):
        tangent_src.grad(uses_coords, wrt=1)(R(6), COORDS)
    g = tangent_src.grad(uses_coords, wrt=0)(R(6), COORDS)  # f alone is fine
    assert np.shape(g) == (6,)


# ------------------------------------------------------------------------------ row_stack, cross
def stacked_rows(a, b):
    m = np.row_stack([a, b])
    return np.sum(m @ m.T)


def test_row_stack():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        check_both_modes(stacked_rows, (R(3), R(3)), (0, 1))
        tangent_src.check_grads(stacked_rows, (R(3), R(3)), order=2)


def torque(r, force):
    """Column vectors of positions and forces (vector axis 0), torques as rows."""
    tau = np.cross(r, force, axisa=0, axisb=0, axisc=1)
    return np.sum(tau ** 2)


def angular_momentum(r, p):
    return np.sum(np.cross(r, p, axis=0))


def linalg_cross(a, b):
    return np.sum(np.linalg.cross(a, b, axis=0) ** 2)


@pytest.mark.parametrize("func, shapes", [(torque, [(3, 4), (3, 4)]),
                                          (angular_momentum, [(3, 2), (3, 2)]),
                                          (linalg_cross, [(3, 4), (3, 1)])])
def test_cross_with_axis_keywords(func, shapes):
    args = tuple(R(*s) for s in shapes)
    check_both_modes(func, args, (0, 1))
    tangent_src.check_grads(func, args, order=2)


@pytest.mark.parametrize("shapes, axes", [
    ([(3, 2), (2, 3)], (0, -1, -1, None)), ([(4, 3, 2), (3, 2)], (1, 0, 1, None)),
    ([(2, 3), (2, 3)], (-1, -1, 0, None)), ([(3, 2), (3, 2)], (-1, -1, -1, 0))])
def test_cross_transformed_directly(shapes, axes):
    args = tuple(R(*s) for s in shapes) + axes
    tangent_src.check_grads(np.cross, args, order=2, argnums=(0, 1))


# ------------------------------------------------------------------------------ p-norms
def lp_regularized(w, x):
    """A least-squares fit with an L3 penalty on the weights and L4 column norms."""
    resid = x @ w - 1.0
    return np.sum(resid ** 2) + 0.1 * np.linalg.norm(w, ord=3) + \
        np.sum(np.linalg.norm(x, ord=4, axis=0) ** 2)


def soft_lp(v):
    return np.sum(np.linalg.vector_norm(v, ord=1.5, axis=1, keepdims=True) * v)


@pytest.mark.parametrize("func, shapes", [(lp_regularized, [(3,), (4, 3)]),
                                          (soft_lp, [(2, 3)])])
def test_second_derivatives_of_vector_p_norms(func, shapes):
    args = tuple(R(*s) for s in shapes)
    check_both_modes(func, args, tuple(range(len(args))))
    tangent_src.check_grads(func, args, order=2)


def test_third_derivatives_of_a_p_norm_are_refused_and_the_2_norms_work():
    def cubic(x):
        return np.linalg.norm(x, ord=3)

    def euclid(x):
        return np.linalg.norm(x) ** 3

    with pytest.raises(DerivativeNotImplementedError, match="third derivatives"):
        tangent_src.check_grads(cubic, (R(4),), order=3, modes=("rev",))
    tangent_src.check_grads(euclid, (R(3),), order=3, modes=("rev",))


# ------------------------------------------------------------------------------ shape parameters
def fd5(f, args, k, eps=1e-4):
    """A five-point central difference (error ~eps^4, ~1e-11 here): the high-precision
    reference the shape-parameter integrals are held to (1e-8)."""
    args = [np.array(a, dtype=float) for a in args]
    out = np.zeros_like(args[k])
    for i in np.ndindex(args[k].shape):
        vals = []
        for step in (-2, -1, 1, 2):
            moved = [a.copy() for a in args]
            moved[k][i] += step * eps
            vals.append(f(*moved))
        out[i] = (vals[0] - 8 * vals[1] + 8 * vals[2] - vals[3]) / (12 * eps)
    return out


def check_shape_derivatives(f, args):
    n = len(args)
    grads = tangent_src.grad(f, wrt=tuple(range(n)) if n > 1 else 0)(*args)
    grads = grads if n > 1 else (grads,)
    refs = [fd5(f, args, k) for k in range(n)]
    for got, ref in zip(grads, refs):
        np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-9)
    directions = tuple(np.full_like(a, 0.3) for a in args)
    _, tangent = tangent_src.jvp(f, args, directions)
    along = sum(np.sum(r * d) for r, d in zip(refs, directions))
    np.testing.assert_allclose(tangent, along, rtol=1e-8, atol=1e-9)


def student_t_tail_fit(x, df):
    """Log-likelihood of censored observations: the t survival function in df."""
    return np.sum(scipy.stats.t.logsf(x, df, 0.3, 1.2)) + np.sum(scipy.stats.t.cdf(x, df))


def waiting_time_cdf(x, shape):
    return np.sum(scipy.stats.gamma.logcdf(x, shape, 0.1, 2.0) +
                  scipy.stats.chi2.sf(x, 2.0 * shape))


def beta_quantile_loss(x, a, b):
    total = 0.0
    for k in range(len(x)):
        total = total + (scipy.stats.beta.cdf(x[k], a[k], b[k]) - 0.5) ** 2
    return total + np.sum(scipy.stats.beta.logsf(x, a, b))


def incomplete_functions(a, b, x):
    return np.sum(scipy.special.betainc(a, b, x) * scipy.special.gammainc(a, 3.0 * x) +
                  scipy.special.gammaincc(b, x) + scipy.special.gammaincinv(a, x))


def poisson_counts(mu):
    counts = np.array([0.0, 2.0, 5.0])
    return np.sum(scipy.stats.poisson.cdf(counts, mu) + scipy.stats.poisson.logsf(counts, mu))


@pytest.mark.parametrize("func, args", [
    (student_t_tail_fit, (np.array([-1.3, 0.0, 0.4, 2.2]), np.array([0.8, 2.5, 4.0, 30.0]))),
    (waiting_time_cdf, (np.array([0.2, 1.0, 2.5, 7.0]), np.array([0.6, 1.0, 2.5, 5.0]))),
    (beta_quantile_loss, (np.array([0.05, 0.4, 0.7, 0.95]), np.array([0.5, 1.5, 2.0, 4.0]),
                          np.array([0.7, 2.0, 0.4, 3.0]))),
    (incomplete_functions, (np.array([0.4, 2.0, 6.0]), np.array([0.6, 3.0, 0.5]),
                            np.array([0.2, 0.5, 0.9]))),
    (poisson_counts, (np.array([0.5, 1.5, 4.0]),)),
], ids=["t", "gamma-chi2", "beta", "special", "poisson"])
def test_cdf_derivatives_in_shape_parameters(func, args):
    check_shape_derivatives(func, args)


def test_second_derivatives_in_a_shape_parameter_are_refused_mixed_ones_work():
    def p(a, x):
        return np.sum(scipy.special.gammainc(a, x) * x)

    a, x = np.array([0.5, 2.0]), np.array([0.3, 2.5])
    with pytest.raises(DerivativeNotImplementedError, match="second derivative"):
        tangent_src.hessian(p, wrt=0)(a, x)
    ga = tangent_src.grad(p, wrt=0)
    mixed = tangent_src.jacfwd(ga, wrt=1)(a, x)
    reference = np.array([fd5(lambda xx, k=k: ga(a, xx)[k], (x,), 0) for k in range(2)])
    np.testing.assert_allclose(mixed, reference, rtol=1e-7, atol=1e-9)


def test_every_new_callable_has_both_rules_and_a_test_here():
    registered = set(integrate.CALLABLES) | set(linalg_extra.CALLABLES) | \
        set(numpy_extra.CALLABLES)
    assert {scipy.integrate.odeint, np.linalg.eig, np.linalg.eigvals,
            scipy.linalg.solve_banded, np.gradient, np.row_stack} <= registered
    for key in registered:
        assert key in REGISTRY.adjoints and key in REGISTRY.tangents, key
