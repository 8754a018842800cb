"""Helpers of the complex rules (np.fft family, np.real_if_close, np.angle).

Every helper is linear in its first argument or has no derivative, so the code the fft
rules generate is differentiable again (second order): `fix_shape` pads or truncates,
`real_like` and `like_result` take a real part, `hermitian_weights`, `fft_length`,
`full_lengths`, `swapped_norm` and `angle_scale` compute constants.
"""
from __future__ import annotations

import numpy as np


def fix_shape(g, like):
    """`g` zero-padded or truncated, axis by axis, to the shape of `like`: the transpose of
    the padding/truncation that `n=`/`s=` of an FFT apply to its input (and its own
    transpose, with the roles swapped)."""
    g = np.asarray(g)
    shape = np.shape(like)
    if g.shape == shape:
        return g
    g = g[tuple(slice(0, n) for n in shape)]
    pad = [(0, n - m) for n, m in zip(shape, g.shape)]
    return np.pad(g, pad) if any(p for _, p in pad) else g


def real_like(g, like):
    """The cotangent `g` of a complex result, for the operand `like`: its real part where
    `like` is real (the convention's embedding of a real variable in the complex numbers),
    `g` itself where `like` is complex; item by item in a tuple, list or dict (the
    cotangent of a tuple result such as `w, abs(v)`)."""
    if isinstance(g, dict) and isinstance(like, dict):
        return {key: real_like(value, like[key]) for key, value in g.items()}
    if isinstance(g, (tuple, list)) and isinstance(like, (tuple, list)):
        items = [real_like(a, b) for a, b in zip(g, like)]
        return type(g)(*items) if hasattr(g, "_fields") else type(g)(items)
    if np.iscomplexobj(like) or not np.iscomplexobj(g):
        return g
    return np.real(g)


def like_kinds(g, like):
    """The gradient `g` of a complex argument `like` (a number, an array, a container, or
    an object: a dict of its fields) with each leaf of its argument's kind: the real part
    for a real leaf (computed beside complex values), complex for a complex one (where the
    code computed it real), so that generated code and its derivatives agree with it."""
    if isinstance(g, dict):
        fields = like if isinstance(like, dict) else vars(like)
        return {key: like_kinds(value, fields[key]) for key, value in g.items()}
    if isinstance(g, (tuple, list)) and isinstance(like, (tuple, list)):
        return type(g)(like_kinds(a, b) for a, b in zip(g, like))
    if np.iscomplexobj(like) and not np.iscomplexobj(g):
        return g + 0j
    return real_like(g, like)


def like_result(t, y):
    """The tangent of np.real_if_close(a) = y: the real part of `t` where the result came
    out real, `t` itself where it stayed complex."""
    return t if np.iscomplexobj(y) else np.real(t)


def hermitian_weights(y, axis):
    """How often each kept frequency of an inverse real FFT of length n = y.shape[axis]
    counts: 1 for the zero frequency (and the Nyquist one, n even), 2 for the others, which
    stand for a conjugate pair; shaped to broadcast along `axis` of the half spectrum."""
    n = np.shape(y)[axis]
    weights = np.full(n // 2 + 1, 2.0)
    weights[0] = 1.0
    if n % 2 == 0:
        weights[-1] = 1.0
    shape = [1] * np.ndim(y)
    shape[axis] = n // 2 + 1
    return weights.reshape(shape)


def fft_length(a, n, axis):
    """The transform length of np.fft.rfft(a, n, axis): `n`, or the length of `a` there."""
    return np.shape(a)[axis] if n is None else n


def full_lengths(a, s, axes):
    """The transform lengths of np.fft.rfftn(a, s, axes) (NumPy's defaults: every axis, or
    the last len(s))."""
    if s is not None:
        return tuple(s)
    if axes is None:
        return tuple(np.shape(a))
    return tuple(np.shape(a)[ax] for ax in axes)


def last_axis(axes):
    """The axis an n-dimensional real FFT halves: the last of `axes` (default -1)."""
    return -1 if axes is None else axes[-1]


def swapped_norm(norm):
    """The normalization whose scale is the inverse transform's ("backward" <-> "forward")."""
    return {None: "forward", "backward": "forward", "forward": "backward"}.get(norm, norm)


def angle_scale(deg):
    """np.angle's unit: 1 for radians, 180 / pi for degrees."""
    return 57.29577951308232 if deg else 1.0


def fft_axes(a, s, axes):
    """The axes np.fft.fftn(a, s, axes) transforms, spelled out (NumPy's defaults: every
    axis, or the last len(s))."""
    if axes is not None:
        return tuple(axes)
    ndim = np.ndim(a)
    return tuple(range(ndim - len(s), ndim)) if s is not None else tuple(range(ndim))


HELPERS = ("fix_shape", "real_like", "like_kinds", "like_result", "hermitian_weights",
           "fft_length", "full_lengths", "fft_axes", "last_axis", "swapped_norm", "angle_scale")
