"""Complex values: the np.fft family, np.real/imag/conj/angle/abs/real_if_close, and the
audit of which rules may meet a complex value (docs/conventions.md "Complex numbers").

Convention (JAX's): the cotangent `g` of a complex value z pairs with its tangent as
Re(sum(g * dz)), so for a real loss L, g = dL/dRe(z) - i dL/dIm(z). Under it the adjoint of
a complex-linear map is its transpose (no conjugate): the DFT matrix is symmetric, so the
adjoint of fft is fft (of ifft, ifft), padding/truncation (`n=`, `s=`) transposes to
`fix_shape`, and holomorphic rules (+, -, *, /, exp) are correct as written. Where the
cotangent of a complex result flows into a real operand the transforms take its real part
(`real_like`). irfft's adjoint counts each kept frequency once or twice
(`hermitian_weights`) and conjugates.
"""
from __future__ import annotations

import gast
import numpy as np

from .. import runtime as rt
from .registry import COPY, REGISTRY, nondifferentiable, register_template

A, T = REGISTRY.adjoints, REGISTRY.tangents
CA, CT = REGISTRY.complex_adjoints, REGISTRY.complex_tangents

_ONE = "y, a, n=None, axis=-1, norm=None"
_MANY = "y, a, s=None, axes=None, norm=None"
_TWO = "y, a, s=None, axes=(-2, -1), norm=None"
_AXES = "fft_axes(a, s, axes)"

# function: (its parameters, adjoint of `a`, tangent)
FFT = {
    np.fft.fft: (_ONE, "fix_shape(np.fft.fft(d[y], axis=axis, norm=norm), a)",
                 "np.fft.fft(d[a], n=n, axis=axis, norm=norm)"),
    np.fft.ifft: (_ONE, "fix_shape(np.fft.ifft(d[y], axis=axis, norm=norm), a)",
                  "np.fft.ifft(d[a], n=n, axis=axis, norm=norm)"),
    np.fft.rfft: (_ONE, "fix_shape(np.fft.fft(d[y], n=fft_length(a, n, axis), axis=axis, "
                        "norm=norm), a)",
                  "np.fft.rfft(d[a], n=n, axis=axis, norm=norm)"),
    np.fft.irfft: (_ONE, "fix_shape(hermitian_weights(y, axis) * np.conj(np.fft.rfft("
                         "d[y], axis=axis, norm=swapped_norm(norm))), a)",
                   "np.fft.irfft(d[a], n=n, axis=axis, norm=norm)"),
}
for _f, _inverse in ((np.fft.fftn, False), (np.fft.ifftn, True), (np.fft.fft2, False),
                     (np.fft.ifft2, True)):
    _name = ("ifftn" if _inverse else "fftn")
    FFT[_f] = (_TWO if "2" in _f.__name__ else _MANY,
               f"fix_shape(np.fft.{_name}(d[y], axes={_AXES}, norm=norm), a)",
               f"np.fft.{_f.__name__}(d[a], s=s, axes=axes, norm=norm)")
for _f, _params in ((np.fft.rfftn, _MANY), (np.fft.rfft2, _TWO)):
    FFT[_f] = (_params, f"fix_shape(np.fft.fftn(d[y], s=full_lengths(a, s, axes), "
                        f"axes={_AXES}, norm=norm), a)",
               f"np.fft.{_f.__name__}(d[a], s=s, axes=axes, norm=norm)")
for _f, _params in ((np.fft.irfftn, _MANY), (np.fft.irfft2, _TWO)):
    FFT[_f] = (_params, "fix_shape(hermitian_weights(y, last_axis(fft_axes(y, s, axes))) * "
                        "np.conj(np.fft.rfftn(d[y], axes=fft_axes(y, s, axes), "
                        "norm=swapped_norm(norm))), a)",
               f"np.fft.{_f.__name__}(d[a], s=s, axes=axes, norm=norm)")

for _f, (_params, _adjoint, _tangent) in FFT.items():
    register_template(A, _f, _params, f"d[a] = {_adjoint}")
    register_template(T, _f, _params, f"d[y] = {_tangent}")
    REGISTRY.complex_safe.add(_f)
    if _f not in (np.fft.irfft, np.fft.irfftn, np.fft.irfft2):
        REGISTRY.complex_sources.add(_f)
REGISTRY.real_results.update((np.fft.irfft, np.fft.irfftn, np.fft.irfft2))

for _f, _inverse in ((np.fft.fftshift, np.fft.ifftshift), (np.fft.ifftshift, np.fft.fftshift)):
    register_template(A, _f, "y, x, axes=None",
                      f"d[x] = np.fft.{_inverse.__name__}(d[y], axes=axes)")
    register_template(T, _f, "y, x, axes=None", f"d[y] = np.fft.{_f.__name__}(d[x], axes=axes)")
    REGISTRY.complex_safe.add(_f)

# the helpers the rules above generate (linear, or constants), for second derivatives
register_template(A, rt.fix_shape, "y, g, like", "d[g] = fix_shape(d[y], g)")
register_template(T, rt.fix_shape, "y, g, like", "d[y] = fix_shape(d[g], like)")
register_template(A, rt.real_like, "y, g, like", "d[g] = d[y]")
REGISTRY.like_kinded.append((rt.real_like, 1))
register_template(T, rt.real_like, "y, g, like", "d[y] = real_like(d[g], like)")
register_template(A, rt.like_result, "y, t, like", "d[t] = d[y]")
register_template(T, rt.like_result, "y, t, like", "d[y] = like_result(d[t], like)")
nondifferentiable(rt.hermitian_weights, rt.fft_length, rt.full_lengths, rt.fft_axes,
                  rt.last_axis, rt.swapped_norm, rt.angle_scale)
REGISTRY.complex_safe.update((rt.fix_shape, rt.real_like, rt.like_result))

# np.real: d[val] = d[y] is right for complex values too (Re(g dz) = g Re(dz) for real g)
register_template(CT, np.real, "y, val", "d[y] = np.real(d[val])")
REGISTRY.real_results.add(np.real)
# np.imag / np.angle of a real value are constants (0, and 0 or pi)
register_template(A, np.imag, "y, val", "d[val] = 0.0 * d[y]")
register_template(T, np.imag, "y, val", "d[y] = 0.0 * d[val]")
register_template(CA, np.imag, "y, val", "d[val] = -1j * d[y]")
register_template(CT, np.imag, "y, val", "d[y] = np.imag(d[val])")
_SQUARE = "np.where(z == 0.0, 1.0, np.real(z * np.conj(z)))"
register_template(A, np.angle, "y, z, deg=False", "d[z] = 0.0 * d[y]")
register_template(T, np.angle, "y, z, deg=False", "d[y] = 0.0 * d[z]")
register_template(CA, np.angle, "y, z, deg=False",
                  f"d[z] = d[y] * angle_scale(deg) * (-1j * np.conj(z)) / {_SQUARE}")
register_template(CT, np.angle, "y, z, deg=False",
                  f"d[y] = angle_scale(deg) * np.imag(np.conj(z) * d[z]) / {_SQUARE}")
REGISTRY.real_results.update((np.imag, np.angle))
for _f in (np.abs, abs):  # np.absolute is np.abs
    register_template(CA, _f, "y, x", "d[x] = d[y] * np.conj(x) / np.where(y == 0.0, 1.0, y)")
    register_template(CT, _f, "y, x",
                      "d[y] = np.real(np.conj(x) * d[x]) / np.where(y == 0.0, 1.0, y)")
    REGISTRY.real_results.add(_f)
for _f in (np.conj, np.conjugate):
    register_template(CA, _f, "y, x", "d[x] = np.conj(d[y])")
    register_template(CT, _f, "y, x", "d[y] = np.conj(d[x])")
register_template(A, np.real_if_close, "y, a, tol=100", "d[a] = d[y]")
register_template(T, np.real_if_close, "y, a, tol=100", "d[y] = like_result(d[a], y)")

# rules that are complex-correct as written: linear maps with real coefficients and
# holomorphic functions (the convention's adjoint of a holomorphic f is g * f'(z))
REGISTRY.complex_safe.update((
    gast.Add, gast.Sub, gast.Mult, gast.Div, gast.USub, gast.UAdd, COPY,
    np.add, np.subtract, np.multiply, np.divide, np.negative, np.positive,
    np.sum, np.mean, np.exp, np.real, np.real_if_close, np.imag, np.angle,
    rt.unbroadcast, rt.broadcast_like, rt.unreduce,  # sums and broadcasts (first order code)
))
for _table in (CA, CT):
    REGISTRY.complex_safe.update(_table)
