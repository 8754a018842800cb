"""Rules of the linear algebra, shape/indexing and scipy.special families
(tangent_src/rules/linalg.py, shaping.py, special.py), checked against finite differences.

TABLE lists call forms: an expression in which {0}, {1}, ... stand for the arguments
(optionally preceded by statements, one per line: `u, s, vh = ...`), the callables it
exercises, and one generator per argument: random arrays drawn where the function is
smooth (well-conditioned, symmetric positive definite, distinct eigen- and singular
values, values away from ties), or constants (indices, masks), which are not
differentiated. Every entry becomes a module-level function `case_<n>` returning
`np.sum(W<n> * (expression))` with a fixed random weighting W<n>, written to a real file
(tangent_src differentiates source), and is checked in float64:

- reverse mode: `tangent_src.grad` with respect to every float argument, every element,
  against central differences;
- forward mode: `tangent_src.jvp` along a random direction, against the directional
  central difference;
- second order (entries marked `second`): `tangent_src.check_grads(order=2)`, i.e. both
  modes over the generated forward and reverse derivatives.

Below the table: every callable the three modules register has an entry; every runtime
helper has rules of its own or is nondifferentiable; conventions (norm at 0), numerics
(logsumexp / softmax / log_softmax at +-1000), tuple results (slogdet, eigh, svd, qr,
split), advanced indexing and array construction.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
import scipy.linalg
import scipy.special as sp
from fdcheck import numerical_grad, write_case_module

import tangent_src
from tangent_src import runtime as rt
from tangent_src.rules import REGISTRY, linalg, shaping, special

RTOL, ATOL = 1e-5, 1e-6


# --------------------------------------------------------------------------- arguments


class Gen:
    """An argument generator: `draw(rng)` returns a value; `const` values are inlined as
    module-level constants instead of being arguments."""

    const = False
    label = "x"

    def draw(self, rng):
        raise NotImplementedError


@dataclass
class U(Gen):
    """Uniform in [lo, hi] (times a random sign if `signed`)."""

    shape: tuple = ()
    lo: float = -1.0
    hi: float = 1.0
    signed: bool = False

    @property
    def label(self):
        return "x".join(map(str, self.shape)) or "s"

    def draw(self, rng):
        value = rng.uniform(self.lo, self.hi, size=self.shape)
        if self.signed:
            value = value * rng.choice([-1.0, 1.0], size=self.shape)
        return float(value) if self.shape == () else value


@dataclass
class Spread(Gen):
    """Values at least `gap` apart (sorting, max-type norms: no ties within the FD step)."""

    shape: tuple
    gap: float = 0.2

    @property
    def label(self):
        return "x".join(map(str, self.shape))

    def draw(self, rng):
        n = int(np.prod(self.shape))
        values = (np.arange(n) - n / 2) * self.gap + rng.uniform(0, self.gap / 4, size=n)
        return rng.permutation(values).reshape(self.shape)


@dataclass
class Mat(Gen):
    """Square matrices (stacked over `batch`): 'well' = 2 I + 0.3 N (well conditioned),
    'spd' = B B^T + n I, 'sym' = symmetric with eigenvalues 1, 2, ..., n (distinct),
    'lower'/'upper' = well-conditioned triangular, with noise in the other triangle when
    `junk` (functions that read one triangle must ignore it)."""

    n: int
    kind: str = "well"
    batch: tuple = ()
    junk: bool = False

    @property
    def label(self):
        return f"{self.kind}{'x'.join(map(str, self.batch + (self.n, self.n)))}"

    def draw(self, rng):
        n, shape = self.n, self.batch + (self.n, self.n)
        noise = rng.normal(size=shape)
        if self.kind == "well":
            return 2.0 * np.eye(n) + 0.3 * noise
        if self.kind == "spd":
            return noise @ np.swapaxes(noise, -1, -2) + n * np.eye(n)
        if self.kind == "sym":
            q, _ = np.linalg.qr(noise)
            return (q * np.arange(1.0, n + 1.0)[..., None, :]) @ np.swapaxes(q, -1, -2)
        tri = np.tril if self.kind == "lower" else np.triu
        value = tri(0.3 * noise) + np.eye(n) * rng.uniform(1.0, 2.0, size=shape[:-1])[..., None]
        if self.junk:
            other = np.triu if self.kind == "lower" else np.tril
            value = value + other(rng.normal(size=shape), 1 if self.kind == "lower" else -1)
        return value


@dataclass
class Rank(Gen):
    """An m x n matrix of full rank with well-separated singular values."""

    m: int
    n: int

    @property
    def label(self):
        return f"{self.m}x{self.n}"

    def draw(self, rng):
        k = min(self.m, self.n)
        u, _ = np.linalg.qr(rng.normal(size=(self.m, k)))
        v, _ = np.linalg.qr(rng.normal(size=(self.n, k)))
        return (u * np.linspace(2.0, 1.0, k)) @ v.T + 0.0


@dataclass
class K(Gen):
    """A constant (indices, masks, shapes): not differentiated."""

    value: object

    const = True
    label = "c"

    def draw(self, rng):
        return self.value


def R(*shape, lo=-1.0, hi=1.0, signed=False):
    return U(tuple(shape), lo, hi, signed)


# --------------------------------------------------------------------------- the table


@dataclass
class Entry:
    keys: tuple               # the registered callables exercised
    call: str                 # "np.linalg.inv({0})", optionally "stmt\nstmt\nexpr"
    args: tuple
    second: bool = False
    rtol: float = RTOL
    name: str = field(default="", compare=False)

    @property
    def id(self):
        text = self.call.format(*"abcdefgh"[:len(self.args)]).replace("\n", ";")
        dims = ",".join(a.label for a in self.args if not a.const)
        return f"{text}[{dims}]".replace(" ", "")


TABLE: list[Entry] = []


def add(keys, call, *args, second=False, rtol=RTOL):
    keys = keys if isinstance(keys, tuple) else (keys,)
    TABLE.append(Entry(keys, call, args, second, rtol))


# products and contractions
for subs, shapes, second in [
        ("ij,jk->ik", [(2, 3), (3, 4)], True), ("ij,jk", [(2, 3), (3, 2)], False),
        ("ii->i", [(3, 3)], False), ("ii", [(3, 3)], False), ("ij->", [(2, 3)], False),
        ("i,i->", [(3,), (3,)], False), ("i,j->ij", [(3,), (2,)], False),
        ("ji", [(2, 3)], False), ("...ij,...jk->...ik", [(2, 2, 3), (3, 2)], True),
        ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)], False), ("ij,ij->ij", [(2, 3), (1, 3)], False),
        ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)], True), ("iij->j", [(2, 2, 3)], False),
        ("ij...,jk", [(2, 3, 2), (3, 2)], False), ("i,i,i->i", [(3,), (3,), (3,)], False)]:
    placeholders = ", ".join(f"{{{k}}}" for k in range(len(shapes)))
    add(np.einsum, f"np.einsum('{subs}', {placeholders})", *(R(*s) for s in shapes),
        second=second)
add(np.einsum, "np.einsum('ij,jk->ik', {0}, {1}, optimize=True)", R(2, 3), R(3, 2))
add(np.einsum, "np.einsum('ij,jk->ik', {0}, {1})", R(2, 3), K(np.arange(6.0).reshape(3, 2)))
for axes, sa, sb, second in [("", (2, 3, 2), (3, 2, 2), True), (", axes=1", (2, 3), (3, 2), False),
                             (", axes=([1, 0], [0, 1])", (2, 3, 2), (3, 2, 2), False),
                             (", axes=0", (2,), (3,), False), (", 1", (2, 2, 3), (3,), False)]:
    add(np.tensordot, f"np.tensordot({{0}}, {{1}}{axes})", R(*sa), R(*sb), second=second)
add(np.linalg.tensordot, "np.linalg.tensordot({0}, {1}, axes=1)", R(2, 3), R(3, 2))
for sa, sb in [((3,), (3,)), ((2, 3), (2, 3)), ((), (2, 3)), ((2, 2, 3), (3,))]:
    add(np.inner, "np.inner({0}, {1})", R(*sa), R(*sb), second=sa == (2, 3))
add(np.vdot, "np.vdot({0}, {1})", R(2, 3), R(3, 2), second=True)
add(np.vdot, "np.vdot({0}, {1})", R(4), R(4))
add(np.outer, "np.outer({0}, {1})", R(3), R(2), second=True)
add(np.outer, "np.outer({0}, {1})", R(2, 2), R(3))
add(np.linalg.outer, "np.linalg.outer({0}, {1})", R(3), R(2))
for sa, sb in [((2, 3), (2, 2)), ((3,), (2,)), ((2,), (2, 3)), ((2, 1, 2), (3,))]:
    add(np.kron, "np.kron({0}, {1})", R(*sa), R(*sb), second=sa == (2, 3))
add(np.matmul, "np.matmul({0}, {1})", R(2, 2, 3), R(3, 2))
add(np.linalg.matmul, "np.linalg.matmul({0}, {1})", R(2, 3), R(3, 2), second=True)
add(np.linalg.matmul, "np.linalg.matmul({0}, {1})", R(3), R(3, 2))
add(np.vecdot, "np.vecdot({0}, {1})", R(2, 3), R(3), second=True)
add(np.vecdot, "np.vecdot({0}, {1}, axis=0)", R(3, 2), R(3, 2))
add(np.linalg.vecdot, "np.linalg.vecdot({0}, {1})", R(2, 3), R(2, 3))
add(np.cross, "np.cross({0}, {1})", R(3), R(3), second=True)
add(np.cross, "np.cross({0}, {1})", R(2, 3), R(3))
add(np.linalg.cross, "np.linalg.cross({0}, {1})", R(2, 3), R(2, 3))
add((np.matrix_transpose, np.linalg.matrix_transpose),
    "np.matrix_transpose({0}) * np.linalg.matrix_transpose({1})", R(2, 2, 3), R(2, 2, 3))

# diagonals and triangles
add(np.trace, "np.trace({0})", R(3, 3), second=True)
add(np.trace, "np.trace({0}, 1)", R(3, 4))
add(np.trace, "np.trace({0}, offset=-1, axis1=1, axis2=2)", R(2, 3, 3))
add(np.linalg.trace, "np.linalg.trace({0}, offset=1)", R(2, 3, 3))
add(np.diagonal, "np.diagonal({0})", R(3, 4), second=True)
add(np.diagonal, "np.diagonal({0}, -1, 2, 0)", R(3, 2, 3))
add(np.linalg.diagonal, "np.linalg.diagonal({0})", R(2, 3, 3))
for shape, k in [((3,), 0), ((3,), 1), ((3, 4), 0), ((3, 3), -1), ((2, 3), 1)]:
    add(np.diag, f"np.diag({{0}}, {k})", R(*shape), second=shape == (3,) and k == 1)
add(np.diagflat, "np.diagflat({0})", R(2, 2), second=True)
add(np.diagflat, "np.diagflat({0}, -1)", R(3))
for f in (np.triu, np.tril):
    add(f, f"np.{f.__name__}({{0}})", R(3, 4), second=True)
    add(f, f"np.{f.__name__}({{0}}, k=1)", R(2, 3, 3))
    add(f, f"np.{f.__name__}({{0}}, -1)", R(3))

# inverse, determinants, solves, powers
add(np.linalg.inv, "np.linalg.inv({0})", Mat(3), second=True)
add(np.linalg.inv, "np.linalg.inv({0})", Mat(2, batch=(2,)))
add(np.linalg.det, "np.linalg.det({0})", Mat(3), second=True)
add(np.linalg.det, "np.linalg.det({0})", Mat(2, batch=(3,)))
add(np.linalg.slogdet, "np.linalg.slogdet({0})[1]", Mat(3), second=True)
add(np.linalg.slogdet, "sign, logdet = np.linalg.slogdet({0})\nsign * logdet", Mat(3, batch=(2,)))
add(np.linalg.solve, "np.linalg.solve({0}, {1})", Mat(3), R(3), second=True)
add(np.linalg.solve, "np.linalg.solve({0}, {1})", Mat(3), R(3, 2))
add(np.linalg.solve, "np.linalg.solve({0}, {1})", Mat(2, batch=(2,)), R(2, 2, 3))
add(np.linalg.solve, "np.linalg.solve({0}, {1})", Mat(2, batch=(2,)), R(1, 2, 1))
add(np.linalg.pinv, "np.linalg.pinv({0})", Rank(4, 3), second=True)
add(np.linalg.pinv, "np.linalg.pinv({0})", Rank(2, 3))
add(np.linalg.pinv, "np.linalg.pinv({0})", Mat(3))
for n in (3, 0, 1, -2):
    add(np.linalg.matrix_power, f"np.linalg.matrix_power({{0}}, {n})", Mat(3), second=n == 3)
add(np.linalg.matrix_power, "np.linalg.matrix_power({0}, 2)", Mat(2, batch=(2,)))
add(scipy.linalg.expm, "scipy.linalg.expm({0})", R(3, 3), second=True)
add(scipy.linalg.expm, "scipy.linalg.expm({0})", U((3, 3), -3.0, 3.0))
add(scipy.linalg.inv, "scipy.linalg.inv({0})", Mat(3), second=True)
add(scipy.linalg.det, "scipy.linalg.det({0}, check_finite=False)", Mat(3))
add(scipy.linalg.solve, "scipy.linalg.solve({0}, {1})", Mat(3), R(3, 2))
add(np.linalg.matrix_rank, "{1} * np.linalg.matrix_rank({0})", Mat(3), R(3))

# factorizations (sign-invariant functions of eigen- and singular vectors)
add(np.linalg.cholesky, "np.linalg.cholesky({0})", Mat(3, "spd"), second=True)
add(np.linalg.cholesky, "np.linalg.cholesky({0})", Mat(2, "spd", batch=(2,)))
add(np.linalg.cholesky, "np.linalg.cholesky({0}, upper=True)", Mat(3, "spd"))
add(scipy.linalg.cholesky, "scipy.linalg.cholesky({0})", Mat(3, "spd"), second=True)
add(scipy.linalg.cholesky, "scipy.linalg.cholesky({0}, lower=True)", Mat(3, "spd"))
add(np.linalg.eigh, "np.linalg.eigh({0})[0]", Mat(3, "sym"), second=True)
add(np.linalg.eigh, "w, v = np.linalg.eigh({0})\nv * v", Mat(3, "sym"), second=True)
add(np.linalg.eigh, "w, v = np.linalg.eigh({0})\n(v * np.exp(w)) @ v.T", Mat(3, "sym"))
add(np.linalg.eigh, "w, v = np.linalg.eigh({0}, UPLO='U')\n(v * v) * w", Mat(3, "sym"))
add(np.linalg.eigh, "np.linalg.eigh({0})[1] ** 2", Mat(3, "sym", batch=(2,)))
add(np.linalg.eigvalsh, "np.linalg.eigvalsh({0})", Mat(3, "sym"), second=True)
add(np.linalg.eigvalsh, "np.linalg.eigvalsh({0}, 'U')", Mat(3, "sym", batch=(2,)))
add(np.linalg.svd, "np.linalg.svd({0}, compute_uv=False)", Rank(3, 2), second=True)
add(np.linalg.svd, "u, s, vh = np.linalg.svd({0}, full_matrices=False)\n(u * np.sin(s)) @ vh",
    Rank(4, 3), second=True)
add(np.linalg.svd, "u, s, vh = np.linalg.svd({0}, full_matrices=False)\nu * u", Rank(2, 3))
add(np.linalg.svd, "u, s, vh = np.linalg.svd({0})\nvh * vh * s[:, None] + u * u", Rank(3, 3))
add(np.linalg.svd, "np.linalg.svd({0}, full_matrices=False)[2] ** 2", Rank(4, 2))
add(np.linalg.svd, "np.linalg.svd({0}, full_matrices=False)[1]", Rank(3, 3))
add(np.linalg.svdvals, "np.linalg.svdvals({0})", Rank(2, 3), second=True)
add(scipy.linalg.svd, "u, s, vh = scipy.linalg.svd({0}, full_matrices=False)\nu * s @ vh",
    Rank(3, 2))
add(scipy.linalg.svd, "scipy.linalg.svd({0}, compute_uv=False)", Rank(2, 3))
add(np.linalg.qr, "np.linalg.qr({0})[0]", Rank(4, 3), second=True)
add(np.linalg.qr, "q, r = np.linalg.qr({0})\nr", Rank(3, 3), second=True)
add(np.linalg.qr, "q, r = np.linalg.qr({0}, mode='complete')\nq * r", Rank(3, 3))

# norms
for call, arg, second in [
        ("np.linalg.norm({0})", R(3), True), ("np.linalg.norm({0})", R(2, 3), False),
        ("np.linalg.norm({0}, 2)", R(3), False),
        ("np.linalg.norm({0}, 1)", R(4, signed=True), True),
        ("np.linalg.norm({0}, np.inf)", Spread((4,)), True),
        ("np.linalg.norm({0}, -np.inf)", Spread((4,)), False),
        ("np.linalg.norm({0}, axis=1)", R(2, 3), False),
        ("np.linalg.norm({0}, axis=0, keepdims=True)", R(2, 3), True),
        ("np.linalg.norm({0}, 'fro')", R(2, 3), False),
        ("np.linalg.norm({0}, 1)", Spread((3, 3)), True),
        ("np.linalg.norm({0}, np.inf)", Spread((3, 3)), False),
        ("np.linalg.norm({0}, -1)", Spread((2, 3)), False),
        ("np.linalg.norm({0}, 2)", Rank(3, 2), False),
        ("np.linalg.norm({0}, -2)", Rank(3, 3), False),
        ("np.linalg.norm({0}, 'nuc')", Rank(2, 3), False),
        ("np.linalg.norm({0}, axis=(0, 2))", R(2, 2, 3), False),
        ("np.linalg.norm({0}, 1, axis=(2, 0), keepdims=True)", Spread((2, 2, 3)), False),
        ("np.linalg.norm({0}, None, 1, True)", R(3, 2), False)]:
    add(np.linalg.norm, call, arg, second=second)
add(np.linalg.vector_norm, "np.linalg.vector_norm({0})", R(2, 3), second=True)
add(np.linalg.vector_norm, "np.linalg.vector_norm({0}, axis=0, ord=1)", R(2, 3, signed=True))
add(np.linalg.matrix_norm, "np.linalg.matrix_norm({0})", R(2, 2, 3), second=True)
add(np.linalg.matrix_norm, "np.linalg.matrix_norm({0}, ord=2)", Rank(3, 2))

# scipy.linalg solves that read one triangle
_ST = "scipy.linalg.solve_triangular"
add(scipy.linalg.solve_triangular, f"{_ST}({{0}}, {{1}})", Mat(3, "upper", junk=True), R(3),
    second=True)
add(scipy.linalg.solve_triangular, f"{_ST}({{0}}, {{1}}, lower=True)",
    Mat(3, "lower", junk=True), R(3, 2))
add(scipy.linalg.solve_triangular, f"{_ST}({{0}}, {{1}}, trans=1, lower=True)",
    Mat(3, "lower", junk=True), R(3))
add(scipy.linalg.solve_triangular, f"{_ST}({{0}}, {{1}}, trans='T', unit_diagonal=True)",
    Mat(3, "upper", junk=True), R(3, 2))
add(scipy.linalg.cho_solve, "scipy.linalg.cho_solve(({0}, True), {1})",
    Mat(3, "lower", junk=True), R(3), second=True)
add(scipy.linalg.cho_solve, "scipy.linalg.cho_solve(({0}, False), {1})",
    Mat(3, "upper", junk=True), R(3, 2))

# shapes
add(np.reshape, "np.reshape({0}, (3, 2))", R(2, 3), second=True)
add(np.reshape, "np.reshape({0}, (-1,), order='F')", R(2, 3))
add(np.ravel, "np.ravel({0})", R(2, 3), second=True)
add(np.ravel, "np.ravel({0}, order='F')", R(2, 3))
add(np.transpose, "np.transpose({0})", R(2, 3))
add(np.transpose, "np.transpose({0}, (2, 0, 1))", R(2, 3, 2), second=True)
add(np.transpose, "np.transpose({0}, axes=(-1, 0, 1))", R(2, 3, 2))
add(np.permute_dims, "np.permute_dims({0}, (1, 2, 0))", R(2, 3, 2))
add(np.swapaxes, "np.swapaxes({0}, 0, 2)", R(2, 3, 2), second=True)
add(np.moveaxis, "np.moveaxis({0}, 0, -1)", R(2, 3, 2))
add(np.moveaxis, "np.moveaxis({0}, (0, 1), (2, 0))", R(2, 3, 2))
add(np.expand_dims, "np.expand_dims({0}, 1) * {1}", R(2, 3), R(2, 2, 3))
add(np.expand_dims, "np.expand_dims({0}, (0, 2))", R(3))
add(np.squeeze, "np.squeeze({0})", R(2, 1, 3, 1))
add(np.squeeze, "np.squeeze({0}, axis=1)", R(2, 1, 3))
add(np.broadcast_to, "np.broadcast_to({0}, (2, 3))", R(3), second=True)
add(np.broadcast_to, "np.broadcast_to({0}, (2, 2, 3))", R(2, 1, 1))
add(np.broadcast_to, "np.broadcast_to({0}, (2, 2))", R())
add(np.atleast_1d, "np.atleast_1d({0})", R())
add(np.atleast_2d, "np.atleast_2d({0})", R(3))
add(np.atleast_3d, "np.atleast_3d({0})", R(2, 3))
add(np.concatenate, "np.concatenate(({0}, {1}))", R(2), R(3), second=True)
add(np.concatenate, "np.concatenate([{0}, {1}, {0}], axis=1)", R(2, 3), R(2, 1))
add(np.concatenate, "np.concatenate(({0}, {1}), axis=None)", R(2, 2), R(3))
add(np.concatenate, "np.concatenate(({0}, {1} * 2.0, {2}), axis=0)", R(1, 3), R(2, 3),
    K(np.ones((1, 3))))
add(np.concatenate, "np.concatenate({0}, axis=1)", R(3, 2, 2))
add(np.concat, "np.concat(({0}, {1}), axis=1)", R(2, 2), R(2, 1))
add(np.stack, "np.stack(({0}, {1}))", R(3), R(3), second=True)
add(np.stack, "np.stack([{0}, {1}, {0}], axis=-1)", R(2, 2), R(2, 2))
add(np.unstack, "a, b = np.unstack({0}, axis=1)\na * b + b", R(3, 2))
add(np.hstack, "np.hstack(({0}, {1}))", R(2), R(3), second=True)
add(np.hstack, "np.hstack(({0}, {1}))", R(2, 2), R(2, 1))
add(np.vstack, "np.vstack(({0}, {1}))", R(3), R(2, 3), second=True)
add(np.dstack, "np.dstack(({0}, {1}))", R(3), R(3))
add(np.dstack, "np.dstack(({0}, {1}))", R(2, 2), R(2, 2, 2))
add(np.column_stack, "np.column_stack(({0}, {1}))", R(3), R(3, 2), second=True)
add(np.split, "a, b, c = np.split({0}, 3)\na * b + c", R(6), second=True)
add(np.split, "a, b = np.split({0}, [1], axis=1)\nnp.sum(a) * b", R(2, 3))
add(np.array_split, "a, b = np.array_split({0}, 2)\nnp.sum(a * a) + b", R(5))
add(np.hsplit, "a, b = np.hsplit({0}, 2)\na * b", R(2, 4), second=True)
add(np.vsplit, "a, b = np.vsplit({0}, [1])\nnp.sum(a) * b", R(3, 2))
add(np.dsplit, "a, b = np.dsplit({0}, 2)\na - b * b", R(1, 2, 4))
add(np.compress, "np.compress({1}, {0}, axis=1)", R(2, 3), K(np.array([True, False, True])))
add(np.compress, "np.compress({1}, {0})", R(2, 2), K(np.array([False, True, True])),
    second=True)
add(np.extract, "np.extract({1}, {0})", R(2, 3),
    K(np.array([[True, False, True], [False, True, True]])))
add(np.tile, "np.tile({0}, 2)", R(3), second=True)
add(np.tile, "np.tile({0}, (2, 1, 2))", R(2, 3))
add(np.tile, "np.tile({0}, (2, 2))", R())
add(np.repeat, "np.repeat({0}, 2)", R(2, 2), second=True)
add(np.repeat, "np.repeat({0}, [1, 2, 3], axis=1)", R(2, 3))
add(np.flip, "np.flip({0})", R(2, 3), second=True)
add(np.flip, "np.flip({0}, axis=1)", R(2, 3))
add(np.fliplr, "np.fliplr({0})", R(2, 3))
add(np.flipud, "np.flipud({0})", R(2, 3))
add(np.roll, "np.roll({0}, 2)", R(2, 3), second=True)
add(np.roll, "np.roll({0}, (1, -1), axis=(0, 1))", R(2, 3))
add(np.rot90, "np.rot90({0})", R(2, 3), second=True)
add(np.rot90, "np.rot90({0}, 2, axes=(1, 0))", R(2, 3, 2))
add(np.pad, "np.pad({0}, ((1, 2), (0, 1)))", R(2, 3), second=True)
add(np.pad, "np.pad({0}, 2, constant_values={1})", R(3), R())
for mode in ("edge", "reflect", "symmetric", "wrap"):
    add(np.pad, f"np.pad({{0}}, ((1, 2), (2, 1)), mode='{mode}')", R(2, 3),
        second=mode == "reflect")
_IDX = np.array([2, 0, 2, 1])
add(np.take, "np.take({0}, {1})", R(2, 3), K(_IDX), second=True)
add(np.take, "np.take({0}, {1}, axis=1)", R(2, 3), K(_IDX))
add(np.take, "np.take({0}, 1, axis=0)", R(2, 3))
_ALONG = np.array([[0, 2, 2], [1, 1, 0]])
add(np.take_along_axis, "np.take_along_axis({0}, {1}, axis=1)", R(2, 3), K(_ALONG),
    second=True)
add(np.take_along_axis, "np.take_along_axis({0}, {1}, axis=0)", R(3, 3), K(_ALONG))
add(np.sort, "np.sort({0})", Spread((2, 3)), second=True)
add(np.sort, "np.sort({0}, axis=0)", Spread((3, 2)))
add(np.sort, "np.sort({0}, axis=None)", Spread((2, 3)))
add(np.append, "np.append({0}, {1})", R(2, 2), R(3), second=True)
add(np.append, "np.append({0}, {1}, axis=0)", R(2, 3), R(1, 3))

# indexing reads: integer arrays (with repeats: the adjoint adds up) and boolean masks
_MASK = np.array([[True, False, True], [False, True, True]])
add((), "{0}[{1}]", R(4), K(np.array([0, 2, 2, 3, 0])), second=True)
add((), "{0}[{1}]", R(2, 3), K(_MASK), second=True)
add((), "{0}[{1}, :]", R(3, 2), K(np.array([2, 2, 0])))
add((), "{0}[:, {1}]", R(2, 3), K(np.array([1, 1, 0])))
add((), "{0}[{1}, {2}]", R(3, 3), K(np.array([0, 2, 2])), K(np.array([1, 1, 0])))
add((), "{0}[{1}]", R(3), K(np.array([[0, 1], [2, 2]])))
add((), "{0}[{0} > 0.0]", R(2, 3))

# arrays built from computed values
add(np.array, "np.array([{0}, {1} * {0}, 2.0])", R(), R(), second=True)
add(np.array, "np.array([[{0}, {1}], [{1}, {0} * {1}]])", R(), R(), second=True)
add(np.array, "np.array([{0}, {1}])", R(3), R(3))
add(np.array, "np.array({0})", R(2, 2))
add(np.asarray, "np.asarray([{0}, {1}]) * np.asarray({1})", R(), R())
add((np.asanyarray, np.ascontiguousarray),
    "np.asanyarray({0}) * np.ascontiguousarray(np.transpose({0}))", R(2, 2))

# scipy.special
_POS = dict(lo=0.5, hi=3.0)
for key, domain in [(sp.expit, dict(lo=-3.0, hi=3.0)), (sp.logit, dict(lo=0.1, hi=0.9)),
                    (sp.log_expit, dict(lo=-3.0, hi=3.0)), (sp.softplus, dict(lo=-3.0, hi=3.0)),
                    (sp.erf, {}), (sp.erfc, {}), (sp.erfcx, {}),
                    (sp.erfinv, dict(lo=-0.9, hi=0.9)), (sp.erfcinv, dict(lo=0.1, hi=1.9)),
                    (sp.ndtr, {}), (sp.log_ndtr, dict(lo=-3.0, hi=3.0)),
                    (sp.ndtri, dict(lo=0.1, hi=0.9)), (sp.gammaln, _POS), (sp.loggamma, _POS),
                    (sp.gamma, _POS), (sp.digamma, _POS), (sp.entr, dict(lo=0.2, hi=2.0)),
                    (sp.expm1, {}), (sp.log1p, dict(lo=-0.5, hi=2.0)), (sp.exp2, {}),
                    (sp.exp10, {}), (sp.cbrt, dict(lo=0.3, hi=2.0, signed=True)),
                    (sp.sindg, dict(lo=-80.0, hi=80.0)), (sp.cosdg, dict(lo=-80.0, hi=80.0)),
                    (sp.tandg, dict(lo=-60.0, hi=60.0)), (sp.cotdg, dict(lo=20.0, hi=70.0)),
                    (sp.erfi, {}), (sp.dawsn, dict(lo=-2.0, hi=2.0)), (sp.exp1, _POS),
                    (sp.expi, _POS)]:
    for shape, second in [((), True), ((2, 3), False)]:
        add(key, f"scipy.special.{key.__name__}({{0}})", U(shape, **domain), second=second)
add(sp.psi, "scipy.special.psi({0})", U((3,), **_POS))
add(sp.gammaln, "scipy.special.gammaln({0})", U((3,), lo=-2.9, hi=-2.1))
for key, da, db in [(sp.xlogy, {}, _POS), (sp.xlog1py, {}, dict(lo=-0.5, hi=2.0)),
                    (sp.betaln, _POS, _POS), (sp.beta, _POS, _POS),
                    (sp.rel_entr, _POS, _POS), (sp.kl_div, _POS, _POS)]:
    add(key, f"scipy.special.{key.__name__}({{0}}, {{1}})", U((), **da), U((), **db), second=True)
    add(key, f"scipy.special.{key.__name__}({{0}}, {{1}})", U((2, 3), **da), U((3,), **db))
add(sp.multigammaln, "scipy.special.multigammaln({0}, 3)", U((), lo=1.5, hi=3.0), second=True)
add(sp.multigammaln, "scipy.special.multigammaln({0}, d=2)", U((2, 2), lo=1.5, hi=3.0))
for n in (0, 1, 3):
    add(sp.polygamma, f"scipy.special.polygamma({n}, {{0}})", U((3,), **_POS), second=n == 1)
_LSE = "scipy.special.logsumexp"
add(sp.logsumexp, f"{_LSE}({{0}})", R(4), second=True)
add(sp.logsumexp, f"{_LSE}({{0}}, axis=1)", R(2, 3), second=True)
add(sp.logsumexp, f"{_LSE}({{0}}, axis=0, keepdims=True)", R(2, 3))
add(sp.logsumexp, f"{_LSE}({{0}}, b={{1}})", R(2, 3), U((2, 3), lo=0.5, hi=2.0), second=True)
add(sp.logsumexp, f"{_LSE}({{0}}, axis=-1, b={{1}})", R(2, 3), U((3,), lo=0.5, hi=2.0))
add(sp.softmax, "scipy.special.softmax({0})", R(4), second=True)
add(sp.softmax, "scipy.special.softmax({0}, axis=1)", R(2, 3), second=True)
add(sp.softmax, "scipy.special.softmax({0}, axis=0)", R(2, 3))
add(sp.log_softmax, "scipy.special.log_softmax({0})", R(4), second=True)
add(sp.log_softmax, "scipy.special.log_softmax({0}, axis=1)", R(2, 3), second=True)


# --------------------------------------------------------------------------- the module


def _write_module(table):
    """The table's cases in a real module (fdcheck.write_case_module); each entry learns
    its function's name."""
    for n, entry in enumerate(table):
        entry.name = f"case_{n}"
    return write_case_module("linalg_cases", ["import numpy as np", "import scipy.linalg",
                                              "import scipy.special"],
                             [(entry.call, entry.args) for entry in table], seed=1234)


MODULE, SAMPLES = _write_module(TABLE)
PARAMS = [pytest.param(n, id=entry.id) for n, entry in enumerate(TABLE)]


def _case(n):
    return getattr(MODULE, TABLE[n].name), SAMPLES[n], TABLE[n].rtol


@pytest.mark.parametrize("n", PARAMS)
def test_reverse(n):
    f, args, rtol = _case(n)
    wrt = tuple(range(len(args)))
    grads = tangent_src.grad(f, wrt=wrt)(*args)
    expected = numerical_grad(f, args, wrt)
    for k, (g, e, x) in enumerate(zip(grads, expected, args)):
        assert np.shape(g) == np.shape(x), f"d/dx{k}: shape {np.shape(g)} != {np.shape(x)}"
        np.testing.assert_allclose(g, e, rtol=rtol, atol=ATOL, err_msg=f"d/dx{k}")


@pytest.mark.parametrize("n", PARAMS)
def test_forward(n):
    f, args, rtol = _case(n)
    rng = np.random.default_rng(n)
    tangents = tuple(float(rng.normal()) if np.ndim(x) == 0 else rng.normal(size=np.shape(x))
                     for x in args)
    eps = 1e-6
    plus = f(*(x + eps * t for x, t in zip(args, tangents)))
    minus = f(*(x - eps * t for x, t in zip(args, tangents)))
    value, derivative = tangent_src.jvp(f, args, tangents)
    np.testing.assert_allclose(value, f(*args), rtol=1e-12)
    np.testing.assert_allclose(derivative, (plus - minus) / (2 * eps), rtol=rtol, atol=ATOL)


@pytest.mark.parametrize("n", [p for p, entry in zip(PARAMS, TABLE) if entry.second])
def test_second_order(n):
    f, args, _ = _case(n)
    tangent_src.check_grads(f, args, order=2)


# --------------------------------------------------------------------------- coverage


def test_every_callable_of_these_families_has_an_entry():
    registered = set(linalg.CALLABLES) | set(shaping.CALLABLES) | set(special.CALLABLES)
    exercised = {key for entry in TABLE for key in entry.keys}
    missing = [key for key in registered if key not in exercised]
    assert not missing, f"no entry exercises {missing}"
    for key in registered:
        assert key in REGISTRY.adjoints and key in REGISTRY.tangents, key
    assert len(registered) >= 127


def _helpers_called(template) -> set:
    import gast
    return {node.id for stmt in template.body for node in gast.walk(stmt)
            if isinstance(node, gast.Name) and node.id in rt.HELPERS}


def test_every_helper_these_rules_call_has_rules_or_is_nondifferentiable():
    """Generated code is differentiated again, so every runtime helper reachable from these
    rules (through the rules of the helpers themselves) needs rules of its own."""
    keys = set(linalg.CALLABLES) | set(shaping.CALLABLES) | set(special.CALLABLES)
    names = {n for key in keys for table in (REGISTRY.adjoints, REGISTRY.tangents)
             for n in _helpers_called(table[key])}
    seen = set()
    while names - seen:
        name = (names - seen).pop()
        seen.add(name)
        helper = getattr(rt, name)
        if helper in REGISTRY.nondifferentiable:
            continue
        assert helper in REGISTRY.adjoints and helper in REGISTRY.tangents, name
        names |= _helpers_called(REGISTRY.adjoints[helper])
        names |= _helpers_called(REGISTRY.tangents[helper])
    assert {"einsum_open", "pieces", "join", "norm_dual", "norm_inv", "unreduce"} <= seen


def test_polygamma_np_matches_scipy():
    x = np.array([0.3, 1.0, 1.4616321449683622, 2.5, 7.0, 30.0, 1e3, -0.5, -2.3])
    for n in range(5):
        np.testing.assert_allclose(rt.polygamma_np(n, x), sp.polygamma(n, x), rtol=1e-12,
                                   atol=1e-13)


# --------------------------------------------------------------------------- conventions


def norm_of(x):
    return np.linalg.norm(x)


def norm_rows(x):
    return np.sum(np.linalg.norm(x, axis=1))


def test_norm_gradient_at_zero_is_zero():
    assert np.array_equal(tangent_src.grad(norm_of)(np.zeros(3)), np.zeros(3))
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(tangent_src.grad(norm_rows)(x), [[0.0, 0.0], [0.6, 0.8]])
    _, t = tangent_src.jvp(norm_of, (np.zeros(3),), (np.ones(3),))
    assert t == 0.0


def lse(a):
    return scipy.special.logsumexp(a)


def softmax_dot(a, w):
    return np.sum(w * scipy.special.softmax(a))


def log_softmax_dot(a, w):
    return np.sum(w * scipy.special.log_softmax(a, axis=-1))


def lse_rows(a):
    return np.sum(scipy.special.logsumexp(a, axis=1))


@pytest.mark.parametrize("scale", [1000.0, -1000.0])
def test_softmax_family_is_finite_at_large_inputs(scale):
    a = scale + np.array([0.0, 1.0, -2.0, 0.5])
    w = np.array([0.3, -1.0, 2.0, 0.1])
    p = np.exp(a - a.max()) / np.sum(np.exp(a - a.max()))
    np.testing.assert_allclose(tangent_src.grad(lse)(a), p, rtol=1e-12)
    np.testing.assert_allclose(tangent_src.grad(lse_rows)(np.stack([a, -a])),
                               np.stack([p, np.exp(-a + a.min()) / np.sum(np.exp(-a + a.min()))]),
                               rtol=1e-12)
    np.testing.assert_allclose(tangent_src.grad(softmax_dot)(a, w), p * (w - np.sum(w * p)),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(tangent_src.grad(log_softmax_dot)(a, w), w - p * np.sum(w),
                               rtol=1e-12)
    for f, args in ((lse, (a,)), (softmax_dot, (a, w)), (log_softmax_dot, (a, w))):
        value, t = tangent_src.jvp(f, args, tuple(np.ones_like(x) for x in args))
        assert np.isfinite(value) and np.all(np.isfinite(t))
        hessian = tangent_src.hessian(f)(*args)
        assert np.all(np.isfinite(hessian))


def slogdet_parts(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign * logdet


def test_slogdet_unpacks_and_its_sign_is_constant():
    a = np.array([[1.0, 2.0], [3.0, 1.0]])   # negative determinant
    grad = tangent_src.grad(slogdet_parts)(a)
    np.testing.assert_allclose(grad, -np.linalg.inv(a).T, rtol=1e-12)


def solve_stack_vector(a, b):
    return np.sum(np.linalg.solve(a, b))


def test_unsupported_forms_raise():
    a, b = np.stack([np.eye(2), 2.0 * np.eye(2)]), np.ones(2)
    with pytest.raises(NotImplementedError, match="stacked"):
        tangent_src.grad(solve_stack_vector)(a, b)
    with pytest.raises(NotImplementedError, match="stacked"):
        tangent_src.jvp(solve_stack_vector, (a, b), (a, b))
    # np.einsum's operand/sublist form, refused here before, is tested in test_rules_more.py


def einsum_trace_product(a, b):
    return np.einsum("ij,ji", a, b)


def test_einsum_generated_code_names_the_subscripts():
    source = tangent_src.source(tangent_src.grad(einsum_trace_product, wrt=(0, 1)),
                                np.ones((2, 3)), np.ones((3, 2)))
    assert "einsum_open(einsum_spec('ij,ji', 1)" in source


def zeros_like_sum(x):
    return np.sum(x * np.size(np.empty_like(x)) + np.zeros_like(x) + np.ones_like(x) +
                  np.full_like(x, 2.0))


def test_like_constructors_are_constants():
    x = np.arange(3.0)
    np.testing.assert_allclose(tangent_src.grad(zeros_like_sum)(x), 3.0 * np.ones(3))
