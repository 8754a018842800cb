"""Linear algebra: diagonals and triangles (`undiagonal`, `diag_adjoint`, `symmetrize`,
`symmetrize_t`, `transpose_if`, `triangle`, `unit_eye`), the gaps of eigen- and singular
values (`pair_diff`, `inv_offdiag`), 2x2 block matrices (`block_embed`, `block_part`), the
matrix exponential (`expm_np`), the cross product without np.cross's copies (`cross3`),
and the `*_checked` guards that refuse the factorizations
and calls whose derivative is not implemented or not defined."""
from __future__ import annotations

import numpy as np

from .refusals import real_values, refuse


def undiagonal(g, like, offset=0, axis1=0, axis2=1):
    """An array shaped like `like`, zero except for its diagonal (offset, axis1, axis2), which
    holds g (shaped like np.diagonal's result): the adjoint of np.diagonal."""
    out = np.zeros(np.shape(like), dtype=np.result_type(np.asarray(g).dtype, float))
    moved = np.moveaxis(out, (axis1, axis2), (-2, -1))
    n = np.shape(np.diagonal(moved, offset, -2, -1))[-1]
    i = np.arange(n)
    moved[..., i + max(-offset, 0), i + max(offset, 0)] = g
    return out


def diag_adjoint(g, v, k=0):
    """The adjoint of np.diag(v, k): the k-th diagonal of g for a vector v, and for a
    matrix v an array shaped like v that holds g on its k-th diagonal."""
    if np.ndim(v) == 1:
        return np.diagonal(g, k).copy()
    out = np.zeros(np.shape(v), dtype=np.result_type(np.asarray(g).dtype, float))
    i = np.arange(np.size(g))
    out[i + max(-k, 0), i + max(k, 0)] = g
    return out


def pair_diff(w):
    """D[..., i, j] = w[..., j] - w[..., i]: the gaps between eigen- or singular values."""
    w = np.asarray(w)
    return w[..., None, :] - w[..., :, None]


def inv_offdiag(d):
    """1 / d off the diagonal of the last two axes, 0 on it (infinite where two eigen- or
    singular values coincide: there the vectors are not differentiable)."""
    d = real_values(d)
    eye = np.eye(np.shape(d)[-1], dtype=bool)
    with np.errstate(divide="ignore"):
        return np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, d))


def symmetrize(x, upper=False):
    """The symmetric matrix that np.linalg.eigh / cholesky read from x: its lower triangle
    mirrored (`upper` true or "U": its upper triangle)."""
    upper = upper == "U" if isinstance(upper, str) else bool(upper)
    if upper:
        return np.triu(x) + np.swapaxes(np.triu(x, 1), -1, -2)
    return np.tril(x) + np.swapaxes(np.tril(x, -1), -1, -2)


def symmetrize_t(g, upper=False):
    """The adjoint of symmetrize: g's triangle plus the mirror of the other one."""
    upper = upper == "U" if isinstance(upper, str) else bool(upper)
    gt = np.swapaxes(g, -1, -2)
    if upper:
        return np.triu(g) + np.triu(gt, 1)
    return np.tril(g) + np.tril(gt, -1)


def hermitize(x, upper=False):
    """The Hermitian matrix np.linalg.eigh reads from a complex x: the strict lower
    (`upper`: upper) triangle, mirrored and conjugated, and the real part of the diagonal.
    R-linear; hermitize_t is its adjoint (and it is hermitize_t's)."""
    upper = upper == "U" if isinstance(upper, str) else bool(upper)
    strict = np.triu(x, 1) if upper else np.tril(x, -1)
    eye = np.eye(np.shape(x)[-1])
    return strict + np.conj(np.swapaxes(strict, -1, -2)) + np.real(x) * eye


def hermitize_t(g, upper=False):
    """The adjoint of hermitize under the pairing Re(sum(g * dx)): the strict triangle of
    g + conj(g^T) and the real part of g's diagonal."""
    upper = upper == "U" if isinstance(upper, str) else bool(upper)
    both = g + np.conj(np.swapaxes(g, -1, -2))
    strict = np.triu(both, 1) if upper else np.tril(both, -1)
    return strict + np.real(g) * np.eye(np.shape(g)[-1])


def inv_gaps(w):
    """1 / (w[..., j] - w[..., i]) off the diagonal of the last two axes, 0 on it, for
    complex eigenvalues too (infinite where two coincide)."""
    d = pair_diff(w)
    eye = np.eye(np.shape(d)[-1], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, d))


def phase_checked(g, v, gh=None, vh=None):
    """The cotangent g of complex eigen- (or left singular) vectors v, after checking that
    the loss does not depend on their phases: Im(diag(v^T g)) = 0 (for singular vectors,
    the joint phase of u_k and vh_k: Im(diag(u^T g)) = Im(diag(gh vh^T))). A loss that
    does is not differentiable (each vector is defined up to a phase), so it is refused
    rather than differentiated in one arbitrary gauge."""
    if not (np.iscomplexobj(v) or np.iscomplexobj(g)):
        return g
    turn = np.imag(np.sum(v * g, axis=-2))
    scale = np.sqrt(np.sum(np.abs(g) ** 2, axis=-2))
    if gh is not None:
        turn = turn - np.imag(np.sum(gh * vh, axis=-1))
        scale = scale + np.sqrt(np.sum(np.abs(gh) ** 2, axis=-1))
    if np.any(np.abs(turn) > 1e-6 * scale + 1e-12):
        refuse("the derivative of a function of complex eigen- or singular vectors that "
               "depends on their phases (each vector is defined up to a phase; use a "
               "phase-invariant function such as abs(v), v v^H or u diag(s) vh)",
               undefined=True)
    return g


def _h(x):
    return np.conj(np.swapaxes(x, -1, -2))


def vector_diag(f, t, kind):
    """The tangent of the eigen- or singular values from the whole decomposition f (one
    call, so that a rule meets the vectors' cotangents together: see phase_checked) along t:
    kind "svd" (f = u, s, vh): Re(diag(u^H t v)); "eigh" (f = w, v): Re(diag(v^H t v));
    "eig" (f = w, v): diag(v^-1 t v)."""
    if kind == "eig":
        return np.diagonal(np.linalg.solve(f[1], t @ f[1]), 0, -2, -1)
    left, right = (f[0], _h(f[2])) if kind == "svd" else (f[1], f[1])
    return np.real(np.sum(np.conj(left) * (t @ right), axis=-2))


def vector_diag_df(f, df, t, kind):
    """The derivative of vector_diag along the decomposition's tangent df."""
    if kind == "eig":
        p = np.linalg.solve(f[1], t @ f[1])
        return np.diagonal(np.linalg.solve(f[1], t @ df[1] - df[1] @ p), 0, -2, -1)
    if kind == "svd":
        left, right, dleft, dright = f[0], _h(f[2]), df[0], _h(df[2])
    else:
        left, right, dleft, dright = f[1], f[1], df[1], df[1]
    return np.real(np.sum(np.conj(dleft) * (t @ right) + np.conj(left) * (t @ dright),
                          axis=-2))


def vector_diag_t(f, g, kind):
    """The adjoint of vector_diag with respect to t."""
    if kind == "eig":
        vt = np.swapaxes(f[1], -1, -2)
        return np.linalg.solve(vt, np.expand_dims(g, -1) * vt)
    g = np.expand_dims(np.real(g), -2)
    if kind == "svd":
        return (np.conj(f[0]) * g) @ np.conj(f[2])
    return (np.conj(f[1]) * g) @ np.swapaxes(f[1], -1, -2)


def vector_diag_f(f, g, t, kind):
    """The adjoint of vector_diag with respect to the decomposition f (a tuple like f)."""
    if kind == "eig":
        v = f[1]
        p = np.linalg.solve(v, t @ v)
        winv_t = np.swapaxes(np.linalg.inv(v), -1, -2)
        gv = -winv_t @ (np.expand_dims(g, -1) * np.swapaxes(p, -1, -2)) + \
            np.swapaxes(np.linalg.solve(v, t), -1, -2) * np.expand_dims(g, -2)
        return (np.zeros_like(f[0]), gv)
    g = np.real(g)
    if kind == "svd":
        gu = np.conj(t @ _h(f[2])) * np.expand_dims(g, -2)
        gvh = np.expand_dims(g, -1) * (np.swapaxes(f[0], -1, -2) @ np.conj(t))
        return (gu, np.zeros_like(f[1]), gvh)
    v = f[1]
    gv = (np.swapaxes(t, -1, -2) @ np.conj(v) + np.conj(t @ v)) * np.expand_dims(g, -2)
    return (np.zeros_like(f[0]), gv)


def transpose_if(x, trans=False):
    """np.swapaxes(x, -1, -2) if trans (True, 1, 2, "T" or "C"), else x."""
    if not trans or trans == "N":
        return x
    return np.swapaxes(x, -1, -2)


def triangle(a, lower=False, unit_diagonal=False):
    """The triangle of `a` that scipy.linalg.solve_triangular reads (its diagonal zeroed when
    unit_diagonal; add unit_eye for the ones)."""
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        t = t - np.tril(np.triu(t))
    return t


def unit_eye(a, unit_diagonal=False):
    """The identity shaped like the matrix `a` if unit_diagonal, else 0.0."""
    return np.eye(np.shape(a)[-1]) if unit_diagonal else 0.0


def svd_checked(x, a, full_matrices=True):
    """x, a factor of np.linalg.svd(a, full_matrices), after checking that the factors are
    differentiable: full_matrices=False, or a square `a` (else the extra singular vectors
    are not unique)."""
    m, n = np.shape(a)[-2:]
    if full_matrices and m != n:
        refuse("the derivative of np.linalg.svd(a, full_matrices=True) is defined "
               "only for square a; pass full_matrices=False", undefined=True)
    return x


def solve_checked(x, a, b):
    """x, after checking that np.linalg.solve(a, b) is not a 1-D b solved against a stack of
    matrices (NumPy 2 broadcasts it; its derivative is not implemented)."""
    if np.ndim(b) == 1 and np.ndim(a) > 2:
        refuse("the derivative of np.linalg.solve(a, b) with a stacked `a` "
               "and a 1-D `b`; pass b[..., None] (and take [..., 0])")
    return x


def qr_checked(x, a, mode="reduced"):
    """x, a factor of np.linalg.qr(a, mode), after checking that the factorization is one
    whose derivative is implemented: mode "reduced" (or "complete" with a square `a`), m >= n."""
    m, n = np.shape(a)[-2:]
    if mode not in ("reduced", "complete") or m < n or (mode == "complete" and m != n):
        refuse(f"the derivative of np.linalg.qr is implemented for mode='reduced' "
               f"and m >= n, not mode={mode!r} with shape {np.shape(a)}",
               undefined=True)
    return x


def cross_checked(x, a, b):
    """x, after checking that np.cross(a, b) is of 3-vectors (the rules' case; 2-vectors
    have a scalar cross product)."""
    if np.shape(a)[-1:] != (3,) or np.shape(b)[-1:] != (3,):
        refuse("the derivative of np.cross of 2-vectors; pad them with a zero third "
               "component")
    return x


def cross3(a, b):
    """np.cross(a, b) of 3-vectors along the last axis without the copies np.cross makes of
    both operands (`astype`, 2/3 of its time): the same products and differences in the
    same order, so the same result bit for bit. Other cases (2-vectors, mixed or integer
    dtypes, a 0-d operand) are np.cross's own."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != b.dtype or a.dtype.kind not in "fc" or a.shape[-1:] != (3,) or \
            b.shape[-1:] != (3,):
        return np.cross(a, b)
    shape = np.broadcast_shapes(a.shape[:-1], b.shape[:-1])
    out, tmp = np.empty(shape + (3,), a.dtype), np.empty(shape, a.dtype)
    for k, i, j in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):
        np.multiply(a[..., i], b[..., j], out=out[..., k])
        out[..., k] -= np.multiply(a[..., j], b[..., i], out=tmp)
    return out


def _cross_source(axisa=-1, axisb=-1, axisc=-1, axis=None) -> int:
    """The vector axis of one np.cross operand (or its result): `axis` when given, else the
    one of axisa / axisb / axisc passed (the rules pass only the operand's own)."""
    if axis is not None:
        return axis
    return next((int(v) for v in (axisa, axisb, axisc) if v != -1), -1)


def cross_last(x, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """x with the vector axis np.cross reads (or writes) moved to the end."""
    source = _cross_source(axisa, axisb, axisc, axis)
    return np.asarray(x) if source == -1 else np.moveaxis(x, source, -1)


def cross_back(x, axisa=-1, axisb=-1, axisc=-1, axis=None):
    """The inverse of cross_last: the last axis of x moved back to the vector axis."""
    source = _cross_source(axisa, axisb, axisc, axis)
    return np.asarray(x) if source == -1 else np.moveaxis(x, -1, source)


def eig_checked(x, w):
    """x, after checking that the eigenvalues `w` of np.linalg.eig are real (the rules'
    case: NumPy then returns real eigenvalues and eigenvectors)."""
    if np.iscomplexobj(w):
        refuse("the derivative of np.linalg.eig with complex eigenvalues (the rules cover a "
               "matrix whose eigenvalues are all real)")
    return x


def banded_full(ab, l_and_u):
    """The square matrix that scipy.linalg.solve_banded((l, u), ab, b) solves with: entry
    (i, j) is ab[u + i - j, j] inside the band, zero outside (linear in ab)."""
    lower, upper = l_and_u
    ab = np.asarray(ab)
    n = np.shape(ab)[-1]
    out = np.zeros((n, n), dtype=np.result_type(ab.dtype, float))
    for row in range(lower + upper + 1):
        k = upper - row  # the diagonal offset of this row of ab
        if abs(k) < n:
            out += np.diag(ab[row, max(k, 0):n + min(k, 0)], k)
    return out


def banded_part(m, l_and_u):
    """The band of the square matrix m in solve_banded's layout, zero in the corners of ab
    that solve_banded does not read: the adjoint of banded_full."""
    lower, upper = l_and_u
    m = np.asarray(m)
    n = np.shape(m)[-1]
    out = np.zeros((lower + upper + 1, n), dtype=np.result_type(m.dtype, float))
    for row in range(lower + upper + 1):
        k = upper - row
        if abs(k) < n:
            out[row, max(k, 0):n + min(k, 0)] = np.diagonal(m, k)
    return out


def block_embed(g, i, j):
    """A (2n, 2n) matrix (stacked over leading axes) that is zero except block (i, j) = g."""
    g = np.asarray(g)
    n = np.shape(g)[-1]
    out = np.zeros(np.shape(g)[:-2] + (2 * n, 2 * n), dtype=np.result_type(g.dtype, float))
    out[..., i * n:(i + 1) * n, j * n:(j + 1) * n] = g
    return out


def block_part(c, i, j):
    """Block (i, j) of a (2n, 2n) matrix (stacked over leading axes)."""
    n = np.shape(c)[-1] // 2
    return c[..., i * n:(i + 1) * n, j * n:(j + 1) * n]


def expm_np(a):
    """The matrix exponential of `a` (stacked over leading axes), in NumPy: scaling and
    squaring with the [13/13] Pade approximant (Higham 2005)."""
    a = real_values(a)
    n = a.shape[-1]
    norm = float(np.max(np.sum(np.abs(a), axis=-2), initial=0.0))
    squarings = max(0, int(np.ceil(np.log2(norm / 5.371920351148152)))) if norm > 0 else 0
    a = a / 2.0 ** squarings
    b = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
         129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
         40840800.0, 960960.0, 16380.0, 182.0, 1.0)
    eye = np.eye(n)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 +
             b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + \
        b[0] * eye
    out = np.linalg.solve(v - u, v + u)
    for _ in range(squarings):
        out = out @ out
    return out


def sylvester(a, b, q):
    """The X with a X + X b = q (scipy.linalg.solve_sylvester, real square a and b, no
    common eigenvalues of a and -b): the derivatives of solve_sylvester, sqrtm and
    solve_continuous_lyapunov solve one."""
    import scipy.linalg
    return scipy.linalg.solve_sylvester(real_values(a), real_values(b), real_values(q))


def logm_real(a):
    """scipy.linalg.logm(a) for a real `a` whose logarithm is real (no eigenvalues on the
    closed negative real axis); a complex logarithm is refused (see real_values)."""
    import scipy.linalg
    return real_values(scipy.linalg.logm(real_values(a)))


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("undiagonal", "diag_adjoint", "pair_diff", "inv_offdiag", "symmetrize", "symmetrize_t",
           "transpose_if", "triangle", "unit_eye", "svd_checked", "solve_checked", "qr_checked",
           "cross_checked", "block_embed", "block_part", "expm_np",
           "sylvester", "logm_real", "eig_checked", "banded_full", "banded_part",
           "cross_last", "cross_back", "cross3", "hermitize", "hermitize_t", "inv_gaps",
           "phase_checked", "vector_diag", "vector_diag_df", "vector_diag_t", "vector_diag_f")
