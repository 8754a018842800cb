"""Linear algebra of complex matrices: eigh/eigvalsh (Hermitian), svd/svdvals, eig/eigvals,
and the second derivatives of complex vector p-norms and the nuclear norm.

Convention (JAX's and autograd's): the gradient of a real loss L of complex z is
dL/dRe(z) - i dL/dIm(z). Every derivative is checked against central finite differences
in float64 along the real and the imaginary parts, in reverse and forward mode, and to
second order (the derivative of the generated gradient along a complex direction against
differences of that gradient). Eigen- and singular vectors of complex matrices are defined
up to a phase, so the losses here depend on them through phase-invariant functions
(abs(v), u diag(s) vh); a loss that depends on the phases is refused in reverse mode.
"""
from __future__ import annotations

import numpy as np
import pytest

import tangent_src as ts
from tangent_src import derivatives
from tangent_src.errors import TangentError
from tests.fdcheck import assert_close as close
from tests.fdcheck import complex_numerical_grad as fd_grad
from tests.fdcheck import numerical_directional as fd_along

RNG = np.random.default_rng(11)


def cplx(*shape, scale=1.0):
    return (RNG.normal(size=shape) + 1j * RNG.normal(size=shape)) * scale


def check_all(loss, z, second=True):
    """Reverse mode against fd_grad, forward mode along a complex direction against
    differences of the loss, and the derivative of the gradient along a complex direction
    (forward over reverse) against differences of the gradient."""
    close(ts.grad(loss)(z), fd_grad(loss, z))
    v = cplx(*np.shape(z))
    value, tangent = derivatives.jvp(loss, (z,), (v,))
    close(value, loss(z))
    close(tangent, fd_along(loss, z, v))
    if second:
        u = cplx(*np.shape(z))
        close(derivatives.hvp(loss)(z, u), fd_along(ts.grad(loss), z, u, eps=1e-5),
              rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- eigh
WEIGHTS4 = RNG.normal(size=(4, 4))


def spectrum_loss(h):
    """A model that reads a Hermitian matrix from its lower triangle."""
    w, v = np.linalg.eigh(h)
    energies = np.sum(np.arange(1.0, 5.0) * w)
    overlap = np.sum(WEIGHTS4 * np.abs(v) ** 3)
    return energies + overlap


def spectrum_loss_upper(h):
    w, v = np.linalg.eigh(h, UPLO="U")
    return np.sum(w ** 2) + np.sum(WEIGHTS4 * np.abs(v))


@pytest.mark.parametrize("loss", [spectrum_loss, spectrum_loss_upper])
def test_eigh_of_a_complex_matrix_in_both_modes_and_second_order(loss):
    check_all(loss, cplx(4, 4))


def test_eigh_reads_one_triangle_and_the_real_part_of_the_diagonal():
    h = cplx(4, 4)
    g = ts.grad(spectrum_loss)(h)
    assert np.all(np.triu(g, 1) == 0)          # the upper triangle is never read
    assert np.all(np.imag(np.diagonal(g)) == 0)  # nor the diagonal's imaginary part
    close(g, fd_grad(spectrum_loss, h))


def test_eigvalsh_of_stacked_complex_matrices():
    scales = np.array([1.0, 0.5, 2.0])

    def loss(hs):
        total = 0.0
        for k in range(3):
            total = total + scales[k] * np.sum(np.linalg.eigvalsh(hs[k]) ** 3)
        return total

    check_all(loss, cplx(3, 3, 3))


# --------------------------------------------------------------------------- svd
@pytest.mark.parametrize("shape", [(3, 5), (4, 4), (5, 3), (2, 4, 3)])
def test_svd_of_complex_matrices_through_phase_invariant_functions(shape):
    wu = RNG.normal(size=shape[:-1] + (min(shape[-2:]),))
    wv = RNG.normal(size=shape[:-2] + (min(shape[-2:]), shape[-1]))

    def loss(a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return np.sum(wu * np.abs(u) ** 2) + np.sum(np.log(s)) + np.sum(wv * np.abs(vh))

    check_all(loss, cplx(*shape))


def test_low_rank_reconstruction_error_of_a_complex_matrix():
    target = cplx(4, 3)
    keep = np.array([1.0, 1.0, 0.0])

    def reconstruction(a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        approx = (u * (s * keep)) @ vh
        return np.sum(np.abs(approx - target) ** 2)

    check_all(reconstruction, cplx(4, 3))


def test_singular_values_only_and_svdvals():
    def spectral_energy(a):
        s = np.linalg.svd(a, full_matrices=False, compute_uv=False)
        return np.sum(s ** 3) + np.sum(np.linalg.svdvals(a)[..., 0])

    check_all(spectral_energy, cplx(5, 3))
    check_all(spectral_energy, cplx(2, 3, 4))


# --------------------------------------------------------------------------- eig
def test_eig_of_a_complex_matrix_with_complex_eigenvalues():
    w_mix = RNG.normal(size=(4, 4))

    def loss(a):
        w, v = np.linalg.eig(a)
        return np.sum(np.abs(w) ** 2) + np.sum(np.real(w) * np.imag(w)) + \
            np.sum(w_mix * np.abs(v))

    check_all(loss, cplx(4, 4))


def test_eigvals_of_stacked_complex_matrices():
    def loss(a):
        w = np.linalg.eigvals(a)
        return np.sum(np.real(w ** 2)) + np.sum(np.abs(w))

    check_all(loss, cplx(2, 3, 3))


# --------------------------------------------------------------------------- phases
@pytest.mark.parametrize("phase_dependent", [
    lambda a: np.sum(np.real(np.linalg.eigh(a)[1])),
    lambda a: np.sum(np.imag(np.linalg.svd(a, full_matrices=False)[0])),
    lambda a: np.real(np.linalg.eig(a)[1][0, 0]),
], ids=["eigh", "svd", "eig"])
def test_a_loss_that_depends_on_the_vectors_phases_is_refused(phase_dependent):
    with pytest.raises(TangentError, match="phase"):
        ts.grad(phase_dependent)(cplx(3, 3))


def test_a_phase_invariant_product_of_singular_vectors_is_not_refused():
    def projector_trace(a):
        u, _, _ = np.linalg.svd(a, full_matrices=False)
        p = u @ np.conj(np.swapaxes(u, -1, -2))   # u u^H: no phase
        return np.real(np.sum(p * np.conj(p) * np.arange(4.0)))

    check_all(projector_trace, cplx(4, 2))


# --------------------------------------------------------------------------- norms
@pytest.mark.parametrize("order", [1, 3, 4, 2.5])
def test_second_derivatives_of_complex_vector_p_norms(order):
    def loss(z):
        return np.linalg.norm(z, ord=order) ** 2 + np.linalg.vector_norm(z, ord=order)

    check_all(loss, cplx(5))


def test_second_derivatives_of_the_nuclear_norm_of_complex_matrices():
    def loss(a):
        return np.linalg.norm(a, ord="nuc") + 0.5 * np.linalg.matrix_norm(a[:2], ord="nuc") ** 2

    check_all(loss, cplx(4, 3))


def test_second_derivatives_of_the_nuclear_norm_over_axes():
    check_all(lambda a: np.sum(np.linalg.norm(a, ord="nuc", axis=(0, 2))), cplx(3, 2, 4))


def test_complex_spectral_norm_second_derivatives_stay_refused():
    g = ts.grad(lambda a: np.linalg.norm(a, ord=2))
    with pytest.raises(TangentError, match="second derivatives"):
        derivatives.hvp(lambda a: np.linalg.norm(a, ord=2))(cplx(3, 3), cplx(3, 3))
    close(g(a := cplx(3, 3)), fd_grad(lambda m: np.linalg.norm(m, ord=2), a))


def test_third_derivatives_of_the_complex_two_norm_still_follow():
    def loss(z):
        return np.linalg.norm(z) ** 3

    z, u, w = cplx(4), cplx(4), cplx(4)
    slope = ts.grad(loss)

    def curvature_along_u(x):
        return np.real(np.sum(slope(x) * u))

    curvature = ts.grad(curvature_along_u)

    def third(x):
        return np.real(np.sum(curvature(x) * w))

    close(ts.grad(third)(z), fd_grad(third, z), rtol=1e-4, atol=1e-6)
