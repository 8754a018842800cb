"""Derivatives of np.linalg.norm, vector_norm and matrix_norm: the first derivative
(`norm_dual`), the factor of the second (`norm_inv`), the refusal of second derivatives that
are not implemented (`norm_curvature_check`) and the axes a norm reduces (`norm_axes`)."""
from __future__ import annotations

import numpy as np

from .elementwise import reciprocal_or_zero
from .refusals import real_values, refuse


def norm_dual(x, y, ord=None, axis=None, keepdims=False, kind="norm"):
    """The derivative of y = np.linalg.norm(x, ord, axis, keepdims) with respect to x, shaped
    like x: dy = sum(norm_dual * dx) over the reduced axes (kind "vector" / "matrix":
    np.linalg.vector_norm / matrix_norm). Conventions: 0 where the norm is 0 (the
    subgradient of least norm); ties of max/min-type norms share equally."""
    return _dual(real_values(x), y, ord, axis, keepdims, kind)


def complex_norm_dual(x, y, ord=None, axis=None, keepdims=False, kind="norm"):
    """norm_dual for a complex x: the direction D with dy = Re(sum(conj(D) dx)) (np.sign of
    a complex number is x / |x|; the singular vectors are complex)."""
    return _dual(np.asarray(x), y, ord, axis, keepdims, kind)


def complex_norm_inv(x, y, ord=None, axis=None, keepdims=False, kind="norm"):
    """norm_inv for complex_norm_dual's second derivatives: 1 / y for the 2-norm and
    Frobenius norm, 0 for the others (complex_norm_curv has their part)."""
    if not _two_norm(x, ord, axis, kind):
        return np.zeros(np.shape(x))
    return norm_inv(np.real(x), y, ord, axis, keepdims, kind)


def _two_norm(x, ord, axis, kind) -> bool:
    matrix = kind == "matrix" or (kind == "norm" and ord is not None and
                                  len(_axes(np.ndim(x), axis, kind)) == 2)
    return ord is None or ord == "fro" or (ord == 2 and not matrix)


def _p_norm(x, ord, axis, kind) -> bool:
    """A vector p-norm whose direction x |x|^(p-2) / y^(p-1) is smooth for complex x."""
    return _vector_p(x, ord, axis, kind) or (ord == 1 and not (
        kind == "matrix" or (kind == "norm" and len(_axes(np.ndim(x), axis, kind)) == 2)))


def complex_norm_curv(x, y, t, ord=None, axis=None, keepdims=False, kind="norm"):
    """The derivative of complex_norm_dual along t at a fixed norm y, less the part
    t * complex_norm_inv: 0 for the 2-norm and Frobenius norm; for a vector p-norm (p = 1
    too: D = x / |x|) |x|^(p-2) / y^(p-1) (t + (p - 2) u Re(conj(u) t)) with u = x / |x|
    (0 where x or y is 0); for the nuclear norm the derivative of the polar factor U V^H:
    U (G o (dP - dP^H)) V^H + (I - U U^H) t V S^-1 V^H + U S^-1 U^H t (I - V V^H) with
    dP = U^H t V and G_ij = 1 / (s_i + s_j). R-linear in t and symmetric (a Hessian)."""
    x, t = np.asarray(x), np.asarray(t)
    if _two_norm(x, ord, axis, kind):
        return np.zeros(np.broadcast(x, t).shape, dtype=np.result_type(t, float))
    axes = _axes(x.ndim, axis, kind)
    if _p_norm(x, ord, axis, kind):
        big = np.broadcast_to(y if keepdims else np.expand_dims(y, axes), x.shape)
        mag = np.abs(x)
        unit = x / np.where(mag == 0, 1.0, mag)
        p = float(ord)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where((mag == 0) | (big == 0), 0.0, mag ** (p - 2.0) * big ** (1.0 - p))
        return scale * (t + (p - 2.0) * unit * np.real(np.conj(unit) * t))
    if ord == "nuc" and len(axes) == 2:
        xm, tm = (np.moveaxis(m, axes, (-2, -1)) for m in (x, t))
        u, s, vh = np.linalg.svd(xm, full_matrices=False)
        uh, v = np.conj(np.swapaxes(u, -1, -2)), np.conj(np.swapaxes(vh, -1, -2))
        dp = uh @ tm @ v
        gaps = 1.0 / (s[..., :, None] + s[..., None, :])
        out = u @ (gaps * (dp - np.conj(np.swapaxes(dp, -1, -2)))) @ vh + \
            ((tm @ v - u @ dp) / s[..., None, :]) @ vh + u @ ((uh @ tm - dp @ vh) / s[..., :, None])
        return np.moveaxis(out, (-2, -1), axes)
    refuse(f"second derivatives of the norm ord={ord!r} of a complex value")


def complex_norm_slope(x, y, ord=None, axis=None, keepdims=False, kind="norm"):
    """The derivative of complex_norm_dual with respect to the norm y, less the 2-norm's
    -x / y^2 (given by complex_norm_inv): (1 - p) D / y for a vector p-norm, else 0."""
    x = np.asarray(x)
    if not _p_norm(x, ord, axis, kind) or ord == 1:
        return np.zeros(x.shape)
    inv = _big_inv(x, y, axis, keepdims, kind)
    return (1.0 - float(ord)) * complex_norm_dual(x, y, ord, axis, keepdims, kind) * inv


def complex_norm_third_check(x, ord=None, axis=None, kind="norm"):
    """0.0 where complex_norm_curv and complex_norm_slope are constant in x and y (the
    2-norm and Frobenius norm); raises for the other norms (third derivatives)."""
    if not _two_norm(x, ord, axis, kind):
        refuse(f"third derivatives of the norm ord={ord!r} of a complex value")
    return 0.0


def _axes(nd: int, axis, kind: str) -> tuple:
    if kind == "matrix":
        return (nd - 2, nd - 1)
    if axis is None:
        return tuple(range(nd))
    return tuple(a % nd for a in (axis if isinstance(axis, tuple) else (axis,)))


def _dual(x, y, ord, axis, keepdims, kind):
    nd = x.ndim
    if kind == "matrix":
        axes = (nd - 2, nd - 1)
    elif axis is None:
        axes = tuple(range(nd))
    else:
        axes = tuple(a % nd for a in (axis if isinstance(axis, tuple) else (axis,)))
    matrix = kind == "matrix" or (kind == "norm" and ord is not None and len(axes) == 2)
    big = np.broadcast_to(y if keepdims else np.expand_dims(y, axes), x.shape)
    if ord is None or ord == "fro" or (ord == 2 and not matrix):
        return x / np.where(big == 0, 1.0, big)
    sign = np.sign(x)
    if not matrix:
        if ord == 1:
            return sign
        if ord in (np.inf, -np.inf):
            hit = np.abs(x) == big
            return sign * hit / np.sum(hit, axis=axes, keepdims=True)
        if ord == 0:  # the number of nonzero entries: piecewise constant
            return np.zeros(x.shape)
        if isinstance(ord, (int, float, np.integer, np.floating)):
            return sign * (np.abs(x) / np.where(big == 0, 1.0, big)) ** (ord - 1)
        refuse(f"the derivative of the vector norm ord={ord!r}")
    r, c = axes
    if ord in (1, -1, np.inf, -np.inf):
        along = r if ord in (1, -1) else c
        sums = np.sum(np.abs(x), axis=along, keepdims=True)
        hit = sums == np.take(big, [0], axis=along)
        return sign * hit / np.sum(hit, axis=(r, c), keepdims=True)
    if ord in (2, -2, "nuc"):
        u, s, vh = np.linalg.svd(np.moveaxis(x, (r, c), (-2, -1)), full_matrices=False)
        if ord == "nuc":
            w = np.ones_like(s)
        else:
            hit = s == (np.max(s, axis=-1, keepdims=True) if ord == 2 else
                        np.min(s, axis=-1, keepdims=True))
            w = hit / np.sum(hit, axis=-1, keepdims=True)
        return np.moveaxis((u * w[..., None, :]) @ vh, (-2, -1), (r, c))
    refuse(f"the derivative of the matrix norm ord={ord!r}")


def norm_inv(x, y, ord=None, axis=None, keepdims=False, kind="norm"):
    """1 / y broadcast to x's shape for the 2-norm and the Frobenius norm (0 where y is 0:
    second derivatives at 0 are 0, as for std and hypot; docs/conventions.md),
    0 for the other norms: norm_dual is x * norm_inv plus a piecewise-constant part (or, for
    the spectral and nuclear norms, a part built from singular vectors)."""
    x = real_values(x)
    nd = x.ndim
    if kind == "matrix":
        axes = (nd - 2, nd - 1)
    elif axis is None:
        axes = tuple(range(nd))
    else:
        axes = tuple(a % nd for a in (axis if isinstance(axis, tuple) else (axis,)))
    matrix = kind == "matrix" or (kind == "norm" and ord is not None and len(axes) == 2)
    if not (ord is None or ord == "fro" or (ord == 2 and not matrix)):
        return np.zeros(x.shape)
    big = np.broadcast_to(y if keepdims else np.expand_dims(y, axes), x.shape)
    return reciprocal_or_zero(big)


def _vector_p(x, ord, axis, kind) -> bool:
    """Whether the norm is a vector p-norm other than 0, 1, 2 and +-inf (its dual is
    sign(x) (|x| / y)^(p - 1))."""
    nd = np.ndim(x)
    n_axes = nd if axis is None else len(axis) if isinstance(axis, tuple) else 1
    matrix = kind == "matrix" or (kind == "norm" and ord is not None and n_axes == 2)
    return not matrix and isinstance(ord, (int, float, np.integer, np.floating)) and \
        ord not in (0, 1, 2, np.inf, -np.inf)


def _big_inv(x, y, axis, keepdims, kind):
    """1 / y broadcast to x's shape, 0 where y is 0."""
    x = np.asarray(x)
    nd = x.ndim
    axes = (nd - 2, nd - 1) if kind == "matrix" else tuple(range(nd)) if axis is None else \
        tuple(a % nd for a in (axis if isinstance(axis, tuple) else (axis,)))
    big = np.broadcast_to(y if keepdims else np.expand_dims(y, axes), x.shape)
    return reciprocal_or_zero(big)


def norm_hess_diag(x, y, ord=None, axis=None, keepdims=False, kind="norm"):
    """The derivative of norm_dual with respect to x at a fixed norm y (a diagonal, shaped
    like x): 1 / y for the 2-norm and Frobenius norm (norm_inv), (p - 1) |x|^(p - 2) / y^(p - 1)
    for a vector p-norm, 0 for the piecewise-linear norms (0 where y is 0)."""
    if not _vector_p(x, ord, axis, kind):
        return norm_inv(x, y, ord=ord, axis=axis, keepdims=keepdims, kind=kind)
    x = real_values(x)
    inv = _big_inv(x, y, axis, keepdims, kind)
    q = float(ord) - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inv == 0, 0.0, q * np.abs(x) ** (q - 1.0) * inv ** q)


def norm_dual_dy(x, y, ord=None, axis=None, keepdims=False, kind="norm"):
    """The derivative of norm_dual with respect to the norm y (shaped like x):
    -(p - 1) norm_dual / y for a vector p-norm, -x / y^2 for the 2-norm and Frobenius norm,
    0 for the piecewise-linear norms."""
    if not _vector_p(x, ord, axis, kind):
        inv = norm_inv(x, y, ord=ord, axis=axis, keepdims=keepdims, kind=kind)
        return -real_values(x) * inv * inv
    inv = _big_inv(x, y, axis, keepdims, kind)
    dual = norm_dual(x, y, ord=ord, axis=axis, keepdims=keepdims, kind=kind)
    return -(float(ord) - 1.0) * dual * inv


def norm_third_check(x, ord=None, axis=None, kind="norm"):
    """0.0 where third derivatives of the norm are implemented (through norm_inv: the 2-norm,
    the Frobenius norm and the piecewise-linear norms); raises for the vector p-norms."""
    if _vector_p(x, ord, axis, kind):
        refuse(f"third derivatives of the vector norm ord={ord!r}")
    return 0.0


def norm_curvature_check(x, ord=None, axis=None, kind="norm"):
    """0.0 where second derivatives of the norm are implemented (the 2-norm and Frobenius
    norm, through norm_inv, and the piecewise-linear norms, whose duals are constant);
    raises for the spectral and nuclear matrix norms and the vector p-norms of other p."""
    nd = np.ndim(x)
    n_axes = nd if axis is None else len(axis) if isinstance(axis, tuple) else 1
    matrix = kind == "matrix" or (kind == "norm" and ord is not None and n_axes == 2)
    if matrix and ord in (2, -2, "nuc"):
        refuse(f"second derivatives of the matrix norm ord={ord!r}")
    if not matrix and ord not in (None, "fro", 0, 1, 2, np.inf, -np.inf) and \
            not isinstance(ord, (int, float, np.integer, np.floating)):
        refuse(f"second derivatives of the vector norm ord={ord!r}")
    return 0.0


def norm_axes(axis=None, kind="norm"):
    """The axes a norm reduces: (-2, -1) for np.linalg.matrix_norm, else `axis`."""
    return (-2, -1) if kind == "matrix" else axis


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("norm_dual", "norm_inv", "norm_curvature_check", "norm_axes", "complex_norm_dual",
           "complex_norm_inv", "norm_hess_diag", "norm_dual_dy", "norm_third_check",
           "complex_norm_curv", "complex_norm_slope", "complex_norm_third_check")
