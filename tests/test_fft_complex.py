"""Complex intermediates and outputs from real inputs (issue 13): the np.fft family and
np.real/imag/conj/angle/abs/real_if_close, in both modes, against central finite
differences in float64 (docs/conventions.md "Complex numbers").

A real output is checked as a gradient (reverse) and a directional derivative (forward);
a complex output's forward tangent against the complex difference quotient, and its
reverse mode through the convention's pairing Re(sum(v * jvp(u))) = <vjp(v), u>.
"""
from __future__ import annotations

import numpy as np
import pytest

import tangent_src as ts
from tangent_src.errors import ComplexValueError, TangentError

RNG = np.random.default_rng(13)
EPS = 1e-6


@pytest.fixture(autouse=True)
def _same_draws_in_any_order():
    """Every test draws the same values however tests are selected or ordered (np.angle's
    finite differences must not straddle its branch cut on the negative real axis)."""
    global RNG
    RNG = np.random.default_rng(13)


def _fd_direction(f, args, k, u):
    """(f(x + eps u) - f(x - eps u)) / 2 eps in argument k; complex outputs stay complex."""
    plus, minus = list(args), list(args)
    plus[k] = args[k] + EPS * u
    minus[k] = args[k] - EPS * u
    return (np.asarray(f(*plus)) - np.asarray(f(*minus))) / (2 * EPS)


def _fd_grad(f, args, k):
    x = np.asarray(args[k], dtype=float)
    out = np.zeros_like(x)
    for i in range(x.size):
        e = np.zeros_like(x)
        e.flat[i] = 1.0
        out.flat[i] = np.real(_fd_direction(f, args, k, e if x.ndim else 1.0))
    return out


def check_both_modes(f, *args, wrt=0, rtol=1e-5, atol=1e-6):
    """Reverse and forward mode of `f` with respect to argument `wrt`, against differences."""
    out = f(*args)
    u = RNG.normal(size=np.shape(args[wrt]))
    tangent = ts.autodiff(f, mode="forward", wrt=wrt)(*args, u)
    np.testing.assert_allclose(tangent, _fd_direction(f, args, wrt, u), rtol=rtol, atol=atol)
    if np.iscomplexobj(out):  # reverse by the pairing with a complex cotangent v
        v = RNG.normal(size=np.shape(out)) + 1j * RNG.normal(size=np.shape(out))
        back = ts.autodiff(f, mode="reverse", wrt=wrt)(*args, v)
        assert not np.iscomplexobj(back)
        np.testing.assert_allclose(np.sum(back * u), np.real(np.sum(v * tangent)),
                                   rtol=rtol, atol=atol)
    else:
        v = RNG.normal(size=np.shape(out))
        back = ts.autodiff(f, mode="reverse", wrt=wrt)(*args, v)
        np.testing.assert_allclose(np.sum(back * u), np.sum(v * tangent), rtol=rtol, atol=atol)
        if np.ndim(out) == 0:
            np.testing.assert_allclose(ts.grad(f, wrt=wrt)(*args), _fd_grad(f, args, wrt),
                                       rtol=rtol, atol=atol)
    return tangent


# --------------------------------------------------------------------------- spectral losses
def spectral_energy(x):
    return np.sum(np.abs(np.fft.rfft(x)) ** 2)


def high_frequency_penalty(x, cutoff):
    spectrum = np.fft.fft(x, norm="ortho")
    power = np.real(spectrum * np.conj(spectrum))
    return np.mean(power[cutoff:])


def phase_spread(x):
    spectrum = np.fft.rfft(x)
    return np.sum(np.angle(spectrum[1:4]) ** 2)


def test_spectral_losses_both_modes():
    x = RNG.normal(size=9)
    check_both_modes(spectral_energy, x)
    check_both_modes(high_frequency_penalty, x, 3)
    check_both_modes(phase_spread, x)


# --------------------------------------------------------------------------- filtering
def lowpass(x, h):
    return np.real(np.fft.ifft(np.fft.fft(x) * h))


def fft_convolve(a, b, n):
    return np.fft.irfft(np.fft.rfft(a, n) * np.fft.rfft(b, n), n)


def smooth_weights(x, w):
    spectrum = np.fft.rfft(x)
    shaped = np.fft.irfft(spectrum * w, len(x))
    return np.sum(shaped ** 2) + np.sum(np.imag(spectrum) * w)


def test_filtering_through_the_spectrum():
    x = RNG.normal(size=8)
    h = np.exp(-0.3 * np.arange(8)) * np.exp(1j * np.linspace(0, 1, 8))  # complex filter
    check_both_modes(lowpass, x, h)
    a, b = RNG.normal(size=5), RNG.normal(size=4)
    check_both_modes(fft_convolve, a, b, 8, wrt=0)
    check_both_modes(fft_convolve, a, b, 8, wrt=1)
    np.testing.assert_allclose(fft_convolve(a, b, 8), np.convolve(a, b))
    w = RNG.uniform(0.5, 1.5, size=5)
    check_both_modes(smooth_weights, x, w, wrt=0)
    check_both_modes(smooth_weights, x, w, wrt=1)


# --------------------------------------------------------------------------- 2-D images
def image_smoothness(img):
    spectrum = np.fft.fftshift(np.fft.fft2(img))
    rows, cols = img.shape
    ky = np.arange(rows) - rows // 2
    kx = np.arange(cols) - cols // 2
    weight = ky[:, None] ** 2 + kx[None, :] ** 2
    return np.sum(weight * np.abs(spectrum) ** 2) / img.size


def test_image_smoothness_fft2_and_fftshift():
    check_both_modes(image_smoothness, RNG.normal(size=(5, 6)))


# --------------------------------------------------------------------------- every member
CASES = {
    "fft": lambda x: np.fft.fft(x),
    "fft_n_pad": lambda x: np.fft.fft(x, 11),
    "fft_n_trunc_axis0": lambda x: np.fft.fft(x, 3, axis=0),
    "ifft_ortho": lambda x: np.fft.ifft(x, norm="ortho"),
    "ifft_forward": lambda x: np.fft.ifft(x, 5, norm="forward"),
    "rfft": lambda x: np.fft.rfft(x),
    "rfft_n_odd": lambda x: np.fft.rfft(x, n=7, axis=0),
    "rfft_ortho": lambda x: np.fft.rfft(x, norm="ortho"),
    "irfft": lambda x: np.fft.irfft(np.fft.rfft(x) * (1.0 + 1j)),
    "irfft_n_odd": lambda x: np.fft.irfft(x * (0.5 - 2j), n=9),
    "irfft_n_even_forward": lambda x: np.fft.irfft(x * 1j + x, 6, norm="forward"),
    "irfft_axis0_ortho": lambda x: np.fft.irfft(np.exp(1j * x), axis=0, norm="ortho"),
    "fft2": lambda x: np.fft.fft2(x),
    "fft2_s": lambda x: np.fft.fft2(x, s=(3, 7)),
    "ifft2_axes": lambda x: np.fft.ifft2(x, axes=(1, 0), norm="ortho"),
    "fftn": lambda x: np.fft.fftn(x),
    "fftn_axes": lambda x: np.fft.fftn(x, axes=(0,)),
    "ifftn_s": lambda x: np.fft.ifftn(x, s=(2, 3), axes=(0, 1)),
    "rfftn": lambda x: np.fft.rfftn(x),
    "rfftn_s_axes": lambda x: np.fft.rfftn(x, s=(6, 3), axes=(1, 0), norm="ortho"),
    "irfftn": lambda x: np.fft.irfftn(np.fft.rfftn(x) * (2.0 - 1j)),
    "irfftn_s": lambda x: np.fft.irfftn(x + 1j * x ** 2, s=(4, 5), axes=(0, 1)),
    "fftshift": lambda x: np.fft.fftshift(np.fft.fft(x, axis=0) * 1j, axes=0),
    "ifftshift": lambda x: np.fft.ifftshift(np.fft.fft2(x)),
    "real_imag_conj": lambda x: np.real(np.fft.fft(x)) * np.imag(np.conj(np.fft.fft(x))),
    "angle_deg": lambda x: np.angle(np.fft.fft(x) * 1j - 30.0j, deg=True),  # Im < -20: off the cut
    "real_if_close_real": lambda x: np.real_if_close(np.fft.ifft(np.fft.fft(x))),
    "real_if_close_complex": lambda x: np.real_if_close(np.fft.fft(x)),
    "exp_phase": lambda x: np.sum(np.exp(1j * x) * x, axis=0) / (x[0] + 3.0 - 1j),
    "abs": lambda x: np.abs(np.fft.fft(x) - 1.0),
    "negate_subtract": lambda x: -(np.fft.fft(x) - np.fft.ifft(x)) + x,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_member_both_modes(name):
    check_both_modes(CASES[name], RNG.normal(size=(4, 5)))


def test_vector_cases_both_modes():
    x = RNG.normal(size=6)
    for name in ("fft", "fft_n_pad", "ifft_ortho", "rfft", "irfft", "irfft_n_odd",
                 "irfft_n_even_forward", "abs", "angle_deg"):
        check_both_modes(CASES[name], x)


# --------------------------------------------------------------------------- second order
def test_second_order_of_a_spectral_loss():
    def loss(x):
        return np.sum(np.abs(np.fft.rfft(np.tanh(x))) ** 2) + np.sum(np.real(np.fft.fft(x)) ** 3)

    x = RNG.normal(size=6)
    g = ts.grad(loss)
    u = RNG.normal(size=6)
    np.testing.assert_allclose(ts.hvp(loss)(x, u), _fd_direction(g, (x,), 0, u), rtol=1e-5,
                               atol=1e-6)
    row = _fd_grad(lambda y: g(y)[2], (x,), 0)
    np.testing.assert_allclose(ts.hessian(loss)(x)[2], row, rtol=1e-5, atol=1e-6)


def test_jax_style_jvp_and_vjp_of_a_complex_output():
    def spectrum(x):
        return np.fft.rfft(x * x, norm="ortho")

    x, u = RNG.normal(size=7), RNG.normal(size=7)
    value, tangent = ts.jvp(spectrum, (x,), (u,))
    np.testing.assert_allclose(value, spectrum(x))
    np.testing.assert_allclose(tangent, _fd_direction(spectrum, (x,), 0, u), rtol=1e-5,
                               atol=1e-6)
    v = RNG.normal(size=4) + 1j * RNG.normal(size=4)
    _, pullback = ts.vjp(spectrum, x)
    (back,) = pullback(v)
    np.testing.assert_allclose(np.dot(back, u), np.real(np.sum(v * tangent)), rtol=1e-6)


# --------------------------------------------------------------------------- in user code
def test_layers_loop_with_spectral_regularizer_and_print(capsys):
    def model(params, x):
        h = x
        for W in params:
            h = np.tanh(W @ h)
            print("energy", np.sum(np.abs(np.fft.rfft(h)) ** 2) > -1)
        spectrum = np.fft.rfft(h)
        return np.sum(h ** 2) + 0.1 * np.sum(np.abs(spectrum[1:]))

    params = [RNG.normal(size=(6, 6)) * 0.5 for _ in range(2)]
    x = RNG.normal(size=6)
    grads = ts.grad(model)(params, x)
    for k in range(2):
        def along(Wk, k=k):
            ps = list(params)
            ps[k] = Wk
            return model(ps, x)
        np.testing.assert_allclose(grads[k], _fd_grad(along, (params[k],), 0), rtol=1e-5,
                                   atol=1e-6)
    assert "energy True" in capsys.readouterr().out


# --------------------------------------------------------------------------- still refused
def test_unaudited_rule_on_a_complex_value_is_refused_located():
    def f(x):
        z = np.fft.fft(x)
        return np.sum(np.real(np.sinc(z)))

    for mode in ("reverse", "forward"):
        with pytest.raises(ComplexValueError) as info:
            ts.autodiff(f, mode=mode)(np.ones(4))
        assert "np.sinc" in str(info.value) and info.value.lineno is not None


def test_a_complex_argument_is_differentiated():  # (it was refused before)
    z = np.array([1.0 + 1j, 0.5 - 2j, -0.3 + 0.2j])
    ts.check_grads(lambda z: np.sum(np.abs(np.fft.fft(z))), (z,), order=2)


# --------------------------------------------------------------------------- more user code
def spectrum_of(x):
    spectrum = np.fft.fft(x)
    for _ in range(1):  # a loop: called as a forward/backward pair, not inlined
        spectrum = spectrum * 1.0
    return spectrum


def small_spectrum_of(x):
    return np.fft.fft(x)


def band_energy(x):  # complex inside, a real result: fine as a subroutine
    return np.sum(np.abs(np.fft.rfft(x)[1:3]) ** 2)


def through_complex_subroutine(x):
    return np.sum(np.abs(spectrum_of(x)))


def through_small_complex_subroutine(x):
    return np.sum(np.abs(small_spectrum_of(x)))


def through_real_subroutine(params, x):
    total = 0.0
    for w in params:
        total = total + w * band_energy(x * w)
    return total


def mixed_parts(x):
    z = np.fft.fft(x)
    return np.sum(np.real(z) ** 2) + np.sum(np.abs(z)) + np.sum(np.imag(z) * x)


def rotating_loop(x):
    z = np.fft.fft(x)
    acc = 0.0
    for _ in range(3):
        z = z * np.exp(1j * x) + x
        acc = acc + np.sum(np.abs(z))
    return acc


def attribute_parts(x):
    z = np.fft.rfft(x)
    return np.sum(z.real * z.imag) + np.sum(np.abs(z.conj() - 1j))


def indexed_products(x):
    z = np.fft.fft(x)
    w = z[1:3] * z[0]
    return np.sum(np.abs(w)) + np.abs(z[2])


def branch_on_data(x):
    z = np.fft.fft(x)
    if np.sum(x) > 0:
        z = z * 2j
    return np.sum(np.angle(z + 0.1))


def quotients(x):
    z = np.fft.fft(x) + 3.0
    return np.sum(np.real(1.0 / z + z / (x + 2j)))


@pytest.mark.parametrize("f", [mixed_parts, rotating_loop, attribute_parts, indexed_products,
                               branch_on_data, quotients])
@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_user_code_with_complex_intermediates(f, sign):
    check_both_modes(f, sign * np.abs(RNG.normal(size=5)) + 0.1 * RNG.normal(size=5))


def test_real_valued_subroutine_with_complex_inside():
    params, x = [0.5, 1.5], RNG.normal(size=6)
    grads = ts.grad(through_real_subroutine)(params, x)
    for k in range(2):
        def along(w, k=k):
            ps = list(params)
            ps[k] = float(w)
            return through_real_subroutine(ps, x)
        np.testing.assert_allclose(grads[k], _fd_grad(along, (np.array(params[k]),), 0),
                                   rtol=1e-5, atol=1e-6)
    check_both_modes(through_real_subroutine, params, x, wrt=1)


@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_a_subroutine_returning_a_complex_value_is_refused(mode):
    """Its caller would take the result as real (np.abs's real rule): refused at the call,
    never a silently wrong derivative."""
    with pytest.raises(ComplexValueError, match="spectrum_of") as info:
        ts.autodiff(through_complex_subroutine, mode=mode)(np.ones(4))
    assert info.value.lineno == through_complex_subroutine.__code__.co_firstlineno + 1


def test_a_small_subroutine_returning_a_complex_value_is_inlined_and_right():
    # inlined into first-order code, its fft meets the audited complex rules directly
    ts.check_grads(through_small_complex_subroutine, (RNG.normal(size=5),), order=1)


# --------------------------------------------------------------------------- check_grads
def test_check_grads_on_complex_outputs_of_real_inputs():
    x = RNG.normal(size=6)
    ts.check_grads(lambda v: np.fft.rfft(v * v, norm="ortho"), (x,), order=2)
    ts.check_grads(lambda v: np.fft.fft2(v.reshape(2, 3)) * (1.0 - 2j), (x,))
    ts.check_grads(lambda v: np.sum(np.abs(np.fft.fft(np.tanh(v)))), (x,), order=2)


def test_check_grads_catches_a_conjugated_fft_adjoint(monkeypatch):
    """The conjugate-transpose adjoint (PyTorch's convention) is wrong under JAX's: the
    complex-output check must see it."""
    from tangent_src.rules.registry import REGISTRY, template_from_source

    wrong = template_from_source(
        np.fft.fft, "y, a, n=None, axis=-1, norm=None",
        "d[a] = fix_shape(np.fft.ifft(d[y], axis=axis, norm=swapped_norm(norm)), a)")
    monkeypatch.setitem(REGISTRY.adjoints, np.fft.fft, wrong)
    with pytest.raises(AssertionError, match="mode rev"):
        ts.check_grads(lambda v: np.fft.fft(v) * 2.0, (RNG.normal(size=5),), modes="rev")


# --------------------------------------------------------------------------- numba
def test_numba_back_end_refuses_fft_code_with_a_located_error():
    with pytest.raises(TangentError, match="numba cannot compile") as info:
        ts.grad(spectral_energy, backend="numba")(RNG.normal(size=6))
    assert info.value.filename.endswith("test_fft_complex.py")
    assert info.value.lineno == spectral_energy.__code__.co_firstlineno + 1


def complex_total(x):
    return np.sum(np.fft.fft(x) * (1.0 + 1.0j))


def test_grad_of_a_complex_output_is_refused_not_its_real_part():
    """grad needs a real loss: the gradient of Re(f) would be silently returned otherwise."""
    x = RNG.normal(size=4)
    for transform in (ts.grad, ts.value_and_grad):
        with pytest.raises(TangentError, match="output may be complex"):
            transform(complex_total)(x)
    # vjp is how to differentiate it: Re(sum(v * jvp(u))) against finite differences
    check_both_modes(complex_total, x)


@pytest.mark.parametrize("f", [
    lambda v: np.fft.irfftn(np.fft.rfftn(v * v) * (1 - 1j), s=(3, 4), axes=(0, 1)),
    lambda v: np.abs(np.fft.fftshift(np.fft.fft2(np.sin(v)))),
    lambda v: np.angle(np.fft.ifft(v, 6, axis=0) + 2.0),  # |ifft| < 2: off the branch cut
], ids=["irfftn_rfftn", "abs_fftshift_fft2", "angle_ifft"])
def test_second_order_check_grads(f):
    ts.check_grads(f, (RNG.normal(size=(3, 4)),), order=2)
