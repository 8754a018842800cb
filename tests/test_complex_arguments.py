"""Differentiating with respect to complex arguments (JAX's and autograd's convention).

A real loss L of a complex z has the gradient dL/dRe(z) - i dL/dIm(z); a complex output
pairs with a complex cotangent u as Re(sum(u * out)); forward mode takes complex
tangents. Every derivative here is checked against central finite differences in float64
along the real and the imaginary parts (the helpers below, plain NumPy), in reverse and
forward mode, and to second order where it means something (forward over reverse, against
differences of the generated gradient, which is itself checked against differences of the
function). The code is written the way users write it: losses over complex weights,
|fft|^2 sums, norms, closures, lambdas, helper functions, loops that print.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.special

import tangent_src as ts
from tangent_src import derivatives
from tangent_src.errors import ComplexValueError, NotDifferentiableError, TangentError
from tangent_src.rules.registry import REGISTRY, register_template
from tests.fdcheck import assert_close as close
from tests.fdcheck import complex_numerical_grad as fd_grad
from tests.fdcheck import numerical_directional as fd_along

RNG = np.random.default_rng(7)


def cplx(*shape, scale=0.5):
    return (RNG.normal(size=shape) + 1j * RNG.normal(size=shape)) * scale


# --------------------------------------------------------------------------- references


def check_all(f, z, second=True):
    """grad of real-valued f against fd_grad; jvp along a complex v against fd_along; and
    the derivative of the gradient along a complex u (hvp) against differences of it."""
    close(ts.grad(f)(z), fd_grad(f, z))
    v = cplx(*np.shape(z))
    value, tangent = derivatives.jvp(f, (z,), (v,))
    close(value, f(z))
    close(tangent, fd_along(f, z, v))
    assert np.ndim(tangent) == 0 and not np.iscomplexobj(tangent)
    if second:
        g = ts.grad(f)
        u = cplx(*np.shape(z))
        close(derivatives.hvp(f)(z, u), fd_along(g, z, u, eps=1e-5), rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- the headline
def test_grad_of_squared_modulus_matches_jax_and_autograd():
    assert ts.grad(lambda z: np.abs(z) ** 2)(3 + 4j) == 6 - 8j
    close(ts.grad(lambda z: np.abs(z) ** 2)(3 + 4j), fd_grad(lambda z: np.abs(z) ** 2, 3 + 4j))


def test_gradients_keep_the_complex_dtype_of_their_argument():
    g = ts.grad(lambda z: np.sum(np.real(z)))(np.ones(3, dtype=np.complex64))
    assert g.dtype == np.complex64
    close(g, np.ones(3))
    g = ts.grad(lambda z: np.real(z) * 2.0)(1.0 + 2.0j)
    assert np.iscomplexobj(g) and g == 2.0


# --------------------------------------------------------------------------- user code
TARGET = np.array([1.0 - 0.5j, 0.2 + 0.3j, -0.7j])


def complex_layers(params, x):
    """A two-layer complex network on a real input, loss against a complex target read
    from the module (a closure-like global)."""
    h = x
    for k, (W, b) in enumerate(params):
        h = W @ h + b
        if k == 0:
            h = np.tanh(h)
    return np.sum(np.abs(h - TARGET) ** 2)


def test_loss_over_complex_weights_in_a_layer_loop():
    params = [(cplx(3, 2), cplx(3)), (cplx(3, 3), cplx(3))]
    x = np.array([0.4, -1.1])
    grads = ts.grad(complex_layers)(params, x)
    for k in range(2):
        for j in range(2):
            def along(p, k=k, j=j):
                ps = [list(layer) for layer in params]
                ps[k][j] = p
                return complex_layers([tuple(layer) for layer in ps], x)
            close(grads[k][j], fd_grad(along, params[k][j]))
    ts.check_grads(complex_layers, (params, x), wrt=0, order=2, modes="rev", rtol=1e-4)


def power_spectrum(z):
    return np.sum(np.abs(np.fft.fft(z)) ** 2)


def band_energy(z, lo, hi):
    spectrum = np.fft.fft(z)
    total = 0.0
    for k in range(lo, hi):
        total = total + np.abs(spectrum[k]) ** 2
        print("band", k, np.round(total, 3))
    return total


def test_fft_energies_of_complex_signals(capsys):
    z = cplx(6)
    check_all(power_spectrum, z)
    close(ts.grad(power_spectrum)(z), 2 * 6 * np.conj(z))  # Parseval
    check_all(lambda z: band_energy(z, 1, 4), z)
    assert "band 3" in capsys.readouterr().out


def test_closure_over_a_complex_array_and_a_lambda():
    kernel = cplx(4)

    def response(z):
        return np.sum(np.abs(z * kernel + np.conj(kernel)) ** 2)
    check_all(response, cplx(4))
    check_all(lambda z: np.real(np.sum(np.exp(1j * z) / (1.0 + z * z))), cplx(3))


def test_a_complex_global_rebound_after_generation_gets_new_code():
    global SCALE
    SCALE = np.array([2.0, 0.5])
    z = cplx(2)
    g = ts.grad(scaled_real)
    close(g(z), fd_grad(scaled_real, z))
    SCALE = np.array([1.0 + 1.0j, 0.5j])  # real -> complex: the code must be regenerated
    close(g(z), fd_grad(scaled_real, z))
    SCALE = np.array([2.0, 0.5])


SCALE = np.array([2.0, 0.5])


def scaled_real(z):
    return np.sum(np.real(SCALE * np.real(z)) + np.imag(z) ** 2)


def modulus_squared(w):
    return np.real(w * np.conj(w))


def test_helper_functions_take_complex_values():
    def loss(z):
        return np.sum(modulus_squared(z) * np.sin(z).real)
    check_all(loss, cplx(3))


def complex_helper(z):
    return z * z + 1j


def test_helper_returning_a_complex_value_to_complex_code():
    check_all(lambda z: np.sum(np.abs(complex_helper(z))), cplx(3))


def test_mixed_real_and_complex_arguments():
    def loss(z, s, w):
        return np.sum(np.abs(z * s + w) ** 2) + s ** 2
    z, s, w = cplx(3), 0.7, np.array([0.3, -0.2, 1.0])
    dz, ds, dw = ts.grad(loss, wrt=(0, 1, 2))(z, s, w)
    close(dz, fd_grad(lambda z: loss(z, s, w), z))
    close(ds, fd_grad(lambda s: loss(z, s, w), s))
    close(dw, fd_grad(lambda w: loss(z, s, w), w))
    assert np.iscomplexobj(dz) and not np.iscomplexobj(ds) and not np.iscomplexobj(dw)
    value, grads = ts.value_and_grad(loss, wrt=(0, 1))(z, s, w)
    close(value, loss(z, s, w))
    close(grads[0], dz)


def test_containers_with_complex_and_real_leaves():
    def loss(p):
        return np.sum(np.abs(p["z"] * p["s"] + 1.0) ** 2) + np.real(np.sum(p["z"])) * p["s"]
    p = {"z": cplx(3), "s": 0.7}
    g = ts.grad(loss)(p)
    close(g["z"], fd_grad(lambda z: loss({"z": z, "s": p["s"]}), p["z"]))
    close(g["s"], fd_grad(lambda s: loss({"z": p["z"], "s": s}), p["s"]))
    assert not np.iscomplexobj(g["s"])
    ts.check_grads(loss, (p,), order=2)


class Filter:
    def __init__(self, taps, gain):
        self.taps, self.gain = taps, gain


def test_object_fields_may_be_complex():
    def loss(flt):
        return np.sum(np.abs(np.convolve(np.ones(3), [1.0]) * flt.taps) ** 2) * flt.gain
    flt = Filter(cplx(3), 1.5)
    got = ts.grad(loss)(flt)
    close(got["taps"], fd_grad(lambda t: loss(Filter(t, 1.5)), flt.taps))
    close(got["gain"], fd_grad(lambda s: loss(Filter(flt.taps, s)), 1.5))


def wave_energy(z):
    return np.sum(np.abs(z) ** 2 + np.real(np.sin(z)))


def test_the_same_transform_on_real_then_complex_then_real_values():
    """Real calls keep their code (no conj, no real parts) and their real gradients."""
    g = ts.grad(wave_energy)
    x = np.array([0.5, -1.0, 2.0])
    before = g.source
    close(g(x), fd_grad(wave_energy, x))
    real_source = g.source
    z = cplx(3)
    close(g(z), fd_grad(wave_energy, z))
    assert "conj" in g.source and "conj" not in real_source
    close(g(x), fd_grad(wave_energy, x))
    assert not np.iscomplexobj(g(x)) and g.source == real_source
    assert before == ts.grad(wave_energy).source  # the general code is unchanged


# --------------------------------------------------------------------------- rules
HOLOMORPHIC = [np.sin, np.cos, np.tan, np.sinh, np.cosh, np.tanh, np.exp, np.exp2, np.expm1,
               np.log, np.log2, np.log10, np.log1p, np.sqrt, np.square, np.reciprocal,
               np.arcsin, np.arccos, np.arctan, np.arcsinh, np.arccosh, np.arctanh,
               scipy.special.erf, scipy.special.erfc]
WEIGHTS = np.array([0.7 - 0.4j, -0.2 + 1.1j, 0.5 + 0.5j, 1.0, -0.3j, 0.4 - 0.9j])
# every quadrant, inside and outside the unit circle (branch cuts: arccosh's derivative is
# 1 / (sqrt(z - 1) sqrt(z + 1)), not 1 / sqrt(z^2 - 1), in the left half plane)
POINT = np.array([0.4 + 0.3j, -0.3 + 0.5j, 0.6 - 0.2j, -0.5 - 0.4j, 1.3 - 0.7j, -1.2 + 0.9j])


@pytest.mark.parametrize("f", HOLOMORPHIC, ids=lambda f: f.__name__)
def test_holomorphic_functions(f):
    def loss(z):
        return np.sum(np.real(WEIGHTS * f(z)))
    check_all(loss, POINT)
    v = cplx(6)
    close(derivatives.jvp(f, (POINT,), (v,))[1], fd_along(f, POINT, v))  # complex output


EXPRESSIONS = {  # real-valued losses of a complex z of shape (3,) or (3, 3)
    "power": ((3,), lambda z: np.sum(np.real(WEIGHTS[:3] * z ** 2.5))),
    "complex_exponent": ((3,), lambda z: np.sum(np.abs(z ** (1.5 + 0.5j)))),
    "complex_base": ((3,), lambda z: np.sum(np.real((1.3 + 0.2j) ** z))),
    "z_to_z": ((3,), lambda z: np.sum(np.real(WEIGHTS[:3] * z ** z))),
    "np_power": ((3,), lambda z: np.sum(np.imag(np.power(z, 3)))),
    "dot": ((3, 3), lambda z: np.abs(np.sum(np.dot(z, z)))),
    "matmul": ((3, 3), lambda z: np.sum(np.real(z @ z.T) ** 2)),
    "outer": ((3,), lambda z: np.sum(np.abs(np.outer(z, np.conj(z) + 1.0)))),
    "kron": ((3,), lambda z: np.sum(np.real(np.kron(z, z)))),
    "tensordot": ((3, 3), lambda z: np.sum(np.imag(np.tensordot(z, z, axes=1)))),
    "inner": ((3,), lambda z: np.abs(np.inner(z, z + 1.0))),
    "einsum": ((3, 3), lambda z: np.abs(np.einsum("ij,jk->", z, z))),
    "vdot": ((3,), lambda z: np.abs(np.vdot(z, WEIGHTS[:3] * z + 1.0))),
    "sum_mean": ((3, 3), lambda z: np.abs(np.sum(z)) + np.sum(np.abs(np.mean(z, axis=0)))),
    "prod": ((3, 3), lambda z: np.sum(np.real(np.prod(z, axis=1)))),
    "cumsum_cumprod": ((3,), lambda z: np.sum(np.abs(np.cumsum(z) + np.cumprod(z)))),
    "shaping": ((3, 3), lambda z: np.sum(np.abs(np.concatenate([np.reshape(z, (9,)),
                                                                 np.ravel(z.T)])) ** 2)),
    "stack_index": ((3, 3), lambda z: np.sum(np.real(np.stack([z[0], z[:, 2]]) * z[1, 1]))),
    "flip_roll_tile": ((3,), lambda z: np.sum(np.abs(np.flip(z) * np.roll(z, 1) +
                                                     np.tile(z, 2)[1:4]))),
    "sort_take": ((3,), lambda z: np.sum(np.real(np.sort(z) * np.take(z, [2, 0, 1])))),
    "where": ((3,), lambda z: np.sum(np.abs(np.where(np.real(z) > 0, z, 2.0 * z)))),
    "trace_diag": ((3, 3), lambda z: np.abs(np.trace(z)) + np.sum(np.abs(np.diag(z)))),
    "det_inv_solve": ((3, 3), lambda z: np.abs(np.linalg.det(z + 2 * np.eye(3))) +
                      np.sum(np.abs(np.linalg.inv(z + 2 * np.eye(3)))) +
                      np.sum(np.abs(np.linalg.solve(z + 2 * np.eye(3), z[:, 0])))),
    "var_std": ((3, 3), lambda z: np.var(z) + np.sum(np.std(z, axis=0, ddof=1))),
    "norm": ((3,), lambda z: np.linalg.norm(z)),
    "frobenius_axis": ((3, 3), lambda z: np.linalg.norm(z) + np.sum(np.linalg.norm(z, axis=1))),
    "max_min": ((3,), lambda z: np.abs(np.max(z)) + np.real(np.min(z) * (1.0 + 2j))),
}


@pytest.mark.parametrize("name", sorted(EXPRESSIONS))
def test_audited_rules_on_complex_values(name):
    shape, f = EXPRESSIONS[name]
    check_all(f, cplx(*shape))


NORMS = {
    "vector_1": ((3,), lambda z: np.linalg.norm(z, ord=1)),
    "vector_3": ((3,), lambda z: np.linalg.norm(z, ord=3)),
    "vector_inf": ((3,), lambda z: np.linalg.norm(z, ord=np.inf)),
    "nuclear": ((3, 3), lambda z: np.linalg.norm(z, ord="nuc")),
    "spectral": ((3, 3), lambda z: np.linalg.norm(z, ord=2)),
    "matrix_1": ((3, 3), lambda z: np.linalg.norm(z, ord=1)),
    "matrix_inf": ((3, 3), lambda z: np.linalg.norm(z, ord=np.inf)),
    "columns_1": ((2, 3), lambda z: np.sum(np.linalg.norm(z, axis=0, ord=1))),
    "vector_norm": ((3,), lambda z: np.linalg.vector_norm(z)),
    "matrix_norm": ((3, 3), lambda z: np.linalg.matrix_norm(z)),
}


@pytest.mark.parametrize("name", sorted(NORMS))
def test_norms_of_complex_values_first_order(name):
    shape, f = NORMS[name]
    z = cplx(*shape)
    close(ts.grad(f)(z), fd_grad(f, z))
    v = cplx(*shape)
    close(derivatives.jvp(f, (z,), (v,))[1], fd_along(f, z, v))


def test_second_derivatives_of_other_norms_are_refused_not_wrong():
    def f(z):
        return np.linalg.norm(z, ord=np.inf)  # (ord=1 and p-norms: tests/test_complex_linalg.py)
    with pytest.raises(TangentError, match="second derivatives of the norm ord=inf"):
        derivatives.hvp(f)(cplx(3), cplx(3))


def test_max_of_complex_values_goes_to_the_selected_element():
    z = np.array([1.0 + 5j, 2.0 - 1j, 2.0 - 3j])  # NumPy: lexicographic, 2-1j is the max
    g = ts.grad(lambda z: np.abs(np.max(z)) ** 2)(z)
    close(g, [0.0, 2 * np.conj(z[1]), 0.0])


# --------------------------------------------------------------------------- transforms
def test_vjp_and_jvp_of_complex_to_complex_maps():
    def f(z, w):
        return np.exp(z) * w + np.sin(z * w)
    z, w = cplx(3), np.array([0.5, 1.0, -2.0])
    u = cplx(3)
    value, pullback = derivatives.vjp(f, z, w)
    close(value, f(z, w))
    dz, dw = pullback(u)
    pairing = lambda t: np.sum(np.real(u * f(z + t[0], w + np.real(t[1]))))  # noqa: E731
    close(dz, fd_grad(lambda a: pairing((a - z, 0.0)), z))
    close(dw, fd_grad(lambda b: pairing((0.0, b - w)), w))
    assert not np.iscomplexobj(dw)
    v = cplx(3)
    close(derivatives.jvp(f, (z, w), (v, np.zeros(3)))[1], fd_along(lambda a: f(a, w), z, v))


def test_elementwise_grad_and_jacobian_rev():
    f = lambda z: np.abs(np.sin(z)) ** 2  # noqa: E731
    z = cplx(3)
    close(ts.elementwise_grad(f)(z), fd_grad(lambda z: np.sum(f(z)), z))
    J = derivatives.jacobian(f, mode="rev")(z)
    for r in range(3):
        close(J[r], fd_grad(lambda z, r=r: f(z)[r], z))


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_jacobian_of_a_complex_output_of_real_arguments_keeps_its_imaginary_part(mode):
    """(It was the Jacobian of the real part, silently, in both modes.)"""
    x = np.array([1.0, 2.0, 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning
        J = derivatives.jacobian(lambda x: np.fft.fft(x * x), mode=mode)(x)
    for c in range(3):
        e = np.zeros(3)
        e[c] = 1.0
        close(J[:, c], fd_along(lambda x: np.fft.fft(x * x), x, e))


def test_autodiff_forward_and_reverse():
    f = lambda z: np.sum(np.abs(np.tanh(z)) ** 2)  # noqa: E731
    z, v = cplx(3), cplx(3)
    close(ts.autodiff(f, mode="reverse")(z), fd_grad(f, z))
    close(ts.autodiff(f, mode="forward")(z, v), fd_along(f, z, v))


def test_grad_of_grad_style_second_order_via_check_grads():
    def loss(z, w):
        return np.sum(np.abs(np.fft.fft(z * w)) ** 2 * np.cos(z).real)
    ts.check_grads(loss, (cplx(4), np.array([1.0, 0.5, -0.3, 2.0])), order=2, rtol=1e-4)
    ts.check_grads(ts.grad(loss), (cplx(4), np.array([1.0, 0.5, -0.3, 2.0])), rtol=1e-4)


def ripple(z):
    return np.sum(np.abs(z) ** 2 * np.real(np.sin(z)))


def test_reverse_over_reverse_of_complex_arguments():
    u = cplx(3)
    g = ts.grad(ripple)

    def along_u(z):
        return np.sum(np.real(u * g(z)))
    z = cplx(3)
    got = derivatives.vjp(ts.grad(ripple), z)[1](u)[0]  # the vjp of the gradient
    close(got, fd_grad(along_u, z, eps=1e-5), rtol=1e-4, atol=1e-6)


def test_a_nested_transform_called_with_complex_values_uses_code_generated_for_them():
    """A transform called inside a differentiated function with complex values calls the
    code the transform generates for complex arguments (tests/test_complex_nested.py)."""
    u = cplx(3)
    inner = ts.grad(ripple)

    def along_u(z):
        return np.sum(np.real(u * inner(z)))
    z = cplx(3)
    for f in (along_u, lambda z: np.sum(np.real(u * ts.grad(ripple)(z)))):
        close(ts.grad(f)(z), fd_grad(f, z), rtol=1e-4, atol=1e-6)


def test_check_grads_catches_a_wrong_complex_rule(monkeypatch):
    """sin's rule with a conjugate (the PyTorch-style mistake) must fail the check."""
    wrong = type(REGISTRY.complex_adjoints)()
    wrong.update(REGISTRY.complex_adjoints)
    monkeypatch.setattr(REGISTRY, "complex_adjoints", wrong)
    register_template(wrong, np.sin, "y, x", "d[x] = d[y] * np.conj(np.cos(x))")
    ts.clear_cache()
    try:
        with pytest.raises(AssertionError, match="finite differences"):
            ts.check_grads(lambda z: np.sum(np.abs(np.sin(z) + 1.0)), (cplx(3),), modes="rev")
    finally:
        monkeypatch.undo()
        ts.clear_cache()
    ts.check_grads(lambda z: np.sum(np.abs(np.sin(z) + 1.0)), (cplx(3),), modes="rev")


def test_standalone_module_for_complex_arguments(tmp_path):
    source = ts.standalone_source(power_spectrum, complex_args=("z",))
    path = tmp_path / "dpower.py"
    path.write_text(source)
    namespace = {}
    exec(compile(source, str(path), "exec"), namespace)
    z = cplx(4)
    close(namespace["dpower_spectrum"](z), fd_grad(power_spectrum, z))
    assert "conj" not in ts.standalone_source(wave_energy)
    assert "conj" in ts.standalone_source(wave_energy, complex_args=(0,))


# --------------------------------------------------------------------------- refusals
def test_unaudited_rules_are_refused_where_they_are_written():
    def uses_svd(z):  # (np.linalg.qr has no complex rule)
        q, r = np.linalg.qr(z)
        return np.sum(np.abs(r))

    def uses_sinc(z):
        return np.sum(np.abs(np.sinc(z)))
    for f in (uses_svd, uses_sinc):
        for mode in ("reverse", "forward"):
            with pytest.raises(ComplexValueError) as info:
                ts.autodiff(f, mode=mode)(cplx(3, 3) if f is uses_svd else cplx(3))
            assert info.value.lineno is not None and info.value.lineno > \
                f.__code__.co_firstlineno


def test_grad_of_a_complex_output_is_refused():
    with pytest.raises(NotDifferentiableError, match="real number"):
        ts.grad(lambda z: np.sum(z * z))(cplx(3))


def test_forward_matrices_and_complex_tangents_of_real_arguments_are_refused():
    loss = lambda z: np.sum(np.abs(z) ** 2)  # noqa: E731
    with pytest.raises(NotDifferentiableError, match="complex argument"):
        derivatives.hessian(loss)(cplx(3))
    with pytest.raises(NotDifferentiableError, match="complex argument"):
        derivatives.jacobian(loss, mode="fwd")(cplx(3))
    with pytest.raises(NotDifferentiableError, match="it is complex"):
        derivatives.jvp(loss, (np.ones(3),), (cplx(3),))
    with pytest.raises(NotDifferentiableError, match="complex output"):
        derivatives.jacobian(lambda z: z * z, mode="rev")(cplx(3))


def test_numba_back_end_refuses_complex_arguments():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TangentError, match="complex"):
            ts.grad(power_spectrum, backend="numba")(cplx(3))


CLI_MODULE = '''import numpy as np


def energy(z, w):
    total = 0.0
    for k in range(3):
        total = total + np.abs(z[k] * w[k] + 1.0) ** 2
    return total
'''


def test_command_line_writes_a_module_for_complex_arguments(tmp_path):
    from tangent_src import cli
    source = tmp_path / "signal_model.py"
    source.write_text(CLI_MODULE)
    out = tmp_path / "denergy.py"
    assert cli.main(["grad", f"{source}:energy", "--complex", "z", "-o", str(out)]) == 0
    namespace = {}
    exec(compile(out.read_text(), str(out), "exec"), namespace)
    model = {}
    exec(compile(CLI_MODULE, str(source), "exec"), model)
    z, w = cplx(3), np.array([0.5, 2.0, -1.0])
    close(namespace["denergy"](z, w), fd_grad(lambda z: model["energy"](z, w), z))
    out2 = tmp_path / "jvp_energy.py"
    assert cli.main(["jvp", f"{source}:energy", "--complex", "0", "-o", str(out2)]) == 0
    exec(compile(out2.read_text(), str(out2), "exec"), namespace)
    v = cplx(3)
    close(namespace["jvp_energy"](z, w, v), fd_along(lambda z: model["energy"](z, w), z, v))
