"""Benchmark workloads shared by the benchmark scripts.

Each :class:`Workload` bundles

* an objective (a plain Python/NumPy function that ``tangent_src`` differentiates),
* a hand-written, vectorized reverse-mode gradient of that objective (the baseline),
* a factory for deterministic float64 arguments, and
* the ``wrt`` specification passed to ``tangent_src.grad``.

The hand-written gradient takes the same arguments as the objective and returns
the gradient in the structure ``tangent_src.grad`` uses: a tuple when ``wrt`` is
a tuple, a single value otherwise.

:func:`check_hand_gradient` verifies a hand-written gradient against central
finite differences; benchmark scripts should call it before timing anything.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

# ---------------------------------------------------------------------------
# (a) Logistic regression on a 4x3 toy problem
# ---------------------------------------------------------------------------


def sigmoid(x):
    return 0.5 * (np.tanh(x / 2) + 1)


def predict(W, b, inputs):
    return sigmoid(np.dot(inputs, W) + b)


def logistic_loss(W, b, inputs, targets):
    preds = predict(W, b, inputs)
    label_probabilities = preds * targets + (1 - preds) * (1 - targets)
    return -np.sum(np.log(label_probabilities))


def logistic_loss_grad(W, b, inputs, targets):
    """Hand-written gradient of :func:`logistic_loss` w.r.t. ``(W, b)``."""
    t = np.tanh((np.dot(inputs, W) + b) / 2)
    preds = 0.5 * (t + 1)
    label_probabilities = preds * targets + (1 - preds) * (1 - targets)
    # loss = -sum(log(q)), q = preds*targets + (1-preds)*(1-targets)
    # dq/dpreds = 2*targets - 1; dpreds/dz = 0.25*(1 - tanh(z/2)**2)
    dz = (1 - 2 * targets) / label_probabilities * (0.25 * (1 - t * t))
    return np.dot(inputs.T, dz), np.sum(dz)


def logistic_args():
    inputs = np.array(
        [
            [0.52, 1.12, 0.77],
            [0.88, -1.08, 0.15],
            [0.52, 0.06, -1.30],
            [0.74, -2.49, 1.39],
        ]
    )
    targets = np.array([True, True, False, True], dtype=np.float64)
    W = np.array([0.3, -0.2, 0.45])
    b = 0.1
    return W, b, inputs, targets


# ---------------------------------------------------------------------------
# (b) One-hidden-layer MLP with softmax cross-entropy
# ---------------------------------------------------------------------------

MLP_BATCH = 256
MLP_IN = 784
MLP_HIDDEN = 256
MLP_CLASSES = 10


def mlp_loss(W1, b1, W2, b2, X, Y):
    h = np.tanh(np.dot(X, W1) + b1)
    z = np.dot(h, W2) + b2
    # Shifting by the row max is exact: log-softmax is shift-invariant, so the
    # max term's gradient contribution is zero mathematically.
    zs = z - np.max(z, axis=1, keepdims=True)
    log_probs = zs - np.log(np.sum(np.exp(zs), axis=1, keepdims=True))
    return -np.mean(np.sum(Y * log_probs, axis=1))


def mlp_loss_grad(W1, b1, W2, b2, X, Y):
    """Hand-written gradient of :func:`mlp_loss` w.r.t. ``(W1, b1, W2, b2)``."""
    h = np.tanh(np.dot(X, W1) + b1)
    z = np.dot(h, W2) + b2
    e = np.exp(z - np.max(z, axis=1, keepdims=True))
    probs = e / np.sum(e, axis=1, keepdims=True)
    # d(-mean_i sum_k Y_ik log_softmax(z)_ik)/dz_ij = (p_ij * sum_k Y_ik - Y_ij) / N.
    # The row-max term receives -sum_j of that, which is exactly 0, so it is omitted.
    dz = (probs * np.sum(Y, axis=1, keepdims=True) - Y) / X.shape[0]
    dW2 = np.dot(h.T, dz)
    db2 = np.sum(dz, axis=0)
    da = np.dot(dz, W2.T) * (1 - h * h)
    dW1 = np.dot(X.T, da)
    db1 = np.sum(da, axis=0)
    return dW1, db1, dW2, db2


def mlp_args(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((MLP_BATCH, MLP_IN))
    W1 = rng.standard_normal((MLP_IN, MLP_HIDDEN)) / np.sqrt(MLP_IN)
    b1 = 0.1 * rng.standard_normal(MLP_HIDDEN)
    W2 = rng.standard_normal((MLP_HIDDEN, MLP_CLASSES)) / np.sqrt(MLP_HIDDEN)
    b2 = 0.1 * rng.standard_normal(MLP_CLASSES)
    labels = rng.integers(0, MLP_CLASSES, size=MLP_BATCH)
    Y = np.zeros((MLP_BATCH, MLP_CLASSES))
    Y[np.arange(MLP_BATCH), labels] = 1.0
    return W1, b1, W2, b2, X, Y


# ---------------------------------------------------------------------------
# (c) Scalar Python loop
# ---------------------------------------------------------------------------


def scalar_loop(y, n):
    for _ in range(n):
        y = y + 0.01 * (np.sin(y) * y - y**3)
    return y


def scalar_loop_grad(y, n):
    """Hand-written gradient of :func:`scalar_loop` w.r.t. ``y``."""
    ys = []
    for _ in range(n):
        ys.append(y)
        y = y + 0.01 * (np.sin(y) * y - y**3)
    dy = 1.0
    for yi in reversed(ys):
        dy = dy * (1 + 0.01 * (np.cos(yi) * yi + np.sin(yi) - 3 * yi * yi))
    return dy


def scalar_loop_args():
    return 0.5, 1000


# ---------------------------------------------------------------------------
# Registry
# ---------------------------------------------------------------------------
# (d) RNN: 200 steps of a 32-wide tanh cell
# ---------------------------------------------------------------------------

RNN_T, RNN_H = 200, 32


def rnn_loss(W, U, b, h0, xs):
    h = h0
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t] + b)
    return np.sum(h * h)


def rnn_grad_hand(W, U, b, h0, xs):
    """Backpropagation through time; the weight gradients as three matrix products at the end."""
    T = xs.shape[0]
    H = h0.shape[0]
    hs = np.empty((T + 1, H))
    hs[0] = h0
    for t in range(T):
        hs[t + 1] = np.tanh(W @ hs[t] + U @ xs[t] + b)
    WT = np.ascontiguousarray(W.T)
    das = np.empty((T, H))
    dh = 2.0 * hs[T]
    for t in range(T - 1, -1, -1):
        h1 = hs[t + 1]
        da = dh * (1.0 - h1 * h1)
        das[t] = da
        dh = WT @ da
    dasT = np.ascontiguousarray(das.T)
    dW = dasT @ hs[:T]
    dU = dasT @ xs
    db = np.zeros(H)
    for t in range(T):
        db += das[t]
    return dW, dU, db


def rnn_args(seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((RNN_H, RNN_H)) * (0.9 / np.sqrt(RNN_H))
    U = rng.standard_normal((RNN_H, RNN_H)) * (0.5 / np.sqrt(RNN_H))
    b = 0.1 * rng.standard_normal(RNN_H)
    h0 = np.zeros(RNN_H)
    xs = rng.standard_normal((RNN_T, RNN_H))
    return W, U, b, h0, xs


# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Workload:
    name: str
    description: str
    objective: Callable[..., Any]
    hand_grad: Callable[..., Any]
    make_args: Callable[[], tuple]
    wrt: int | tuple[int, ...]

    @property
    def wrt_indices(self) -> tuple[int, ...]:
        return self.wrt if isinstance(self.wrt, tuple) else (self.wrt,)

    def as_tuple(self, grads) -> tuple:
        """Gradient(s) in the ``wrt`` structure -> tuple with one entry per index."""
        if isinstance(self.wrt, tuple):
            return tuple(grads)
        return (grads,)


WORKLOADS: tuple[Workload, ...] = (
    Workload(
        name="logistic",
        description="logistic regression loss, 4x3 toy data, d/d(W, b)",
        objective=logistic_loss,
        hand_grad=logistic_loss_grad,
        make_args=logistic_args,
        wrt=(0, 1),
    ),
    Workload(
        name="mlp",
        description=(
            f"MLP {MLP_BATCH}x{MLP_IN} -> tanh {MLP_HIDDEN} -> softmax-xent {MLP_CLASSES}, "
            "d/d(W1, b1, W2, b2)"
        ),
        objective=mlp_loss,
        hand_grad=mlp_loss_grad,
        make_args=mlp_args,
        wrt=(0, 1, 2, 3),
    ),
    Workload(
        name="scalar_loop",
        description="scalar Python loop, y0=0.5, n=1000, d/dy",
        objective=scalar_loop,
        hand_grad=scalar_loop_grad,
        make_args=scalar_loop_args,
        wrt=0,
    ),
    Workload(
        name="rnn",
        description=f"RNN, {RNN_T} steps of a tanh cell of width {RNN_H}, loss sum(h*h), "
                    "d/d(W, U, b)",
        objective=rnn_loss,
        hand_grad=rnn_grad_hand,
        make_args=rnn_args,
        wrt=(0, 1, 2),
    ),
)


def get_workload(name: str) -> Workload:
    for w in WORKLOADS:
        if w.name == name:
            return w
    raise KeyError(f"unknown workload {name!r}; known: {[w.name for w in WORKLOADS]}")


# ---------------------------------------------------------------------------
# Finite-difference verification
# ---------------------------------------------------------------------------


class GradientCheckError(AssertionError):
    """A hand-written gradient disagrees with finite differences."""


@dataclasses.dataclass(frozen=True)
class FDCheck:
    arg_index: int
    probe: str  # "scalar", "coord (i, j)" or "direction k"
    analytic: float
    numeric: float

    @property
    def rel_error(self) -> float:
        denom = max(abs(self.analytic), abs(self.numeric), 1e-300)
        return abs(self.analytic - self.numeric) / denom


def _central_difference(phi: Callable[[float], float], step: float) -> float:
    """Fourth-order central difference of phi at 0 (stencil -2h, -h, +h, +2h)."""
    f1, f_1 = phi(step), phi(-step)
    f2, f_2 = phi(2 * step), phi(-2 * step)
    return (8 * (f1 - f_1) - (f2 - f_2)) / (12 * step)


def finite_difference_checks(
    workload: Workload,
    args: tuple | None = None,
    *,
    max_full: int = 64,
    n_coords: int = 6,
    n_directions: int = 2,
    step: float = 1e-3,
    seed: int = 0,
) -> list[FDCheck]:
    """Compare the hand gradient with central finite differences of the objective.

    Arguments with at most ``max_full`` entries are checked coordinate by
    coordinate. Larger arrays are checked at the coordinate with the largest
    gradient magnitude, ``n_coords - 1`` random coordinates, and along
    ``n_directions`` random unit directions.
    """
    if args is None:
        args = workload.make_args()
    rng = np.random.default_rng(seed)
    grads = workload.as_tuple(workload.hand_grad(*args))
    if len(grads) != len(workload.wrt_indices):
        raise GradientCheckError(
            f"{workload.name}: hand gradient returned {len(grads)} values, "
            f"expected {len(workload.wrt_indices)}"
        )

    def perturbed(k: int, direction) -> Callable[[float], float]:
        x = args[k]
        is_scalar = np.ndim(x) == 0

        def phi(t: float) -> float:
            new_x = float(x) + t * direction if is_scalar else np.asarray(x) + t * direction
            new_args = args[:k] + (new_x,) + args[k + 1 :]
            return float(workload.objective(*new_args))

        return phi

    checks: list[FDCheck] = []
    for k, g in zip(workload.wrt_indices, grads):
        x = args[k]
        if np.shape(g) != np.shape(x):
            raise GradientCheckError(
                f"{workload.name}: gradient for argument {k} has shape {np.shape(g)}, "
                f"argument has shape {np.shape(x)}"
            )
        if np.ndim(x) == 0:
            num = _central_difference(perturbed(k, 1.0), step)
            checks.append(FDCheck(k, "scalar", float(g), num))
            continue
        g = np.asarray(g, dtype=np.float64)
        x = np.asarray(x)
        if x.size <= max_full:
            flat_indices = range(x.size)
        else:
            others = rng.choice(x.size, size=n_coords - 1, replace=False)
            flat_indices = [int(np.argmax(np.abs(g)))] + [int(i) for i in others]
        for flat in flat_indices:
            idx = np.unravel_index(flat, x.shape)
            e = np.zeros_like(x, dtype=np.float64)
            e[idx] = 1.0
            num = _central_difference(perturbed(k, e), step)
            checks.append(FDCheck(k, f"coord {tuple(int(i) for i in idx)}", float(g[idx]), num))
        if x.size > max_full:
            for d in range(n_directions):
                v = rng.standard_normal(x.shape)
                v /= np.linalg.norm(v)
                num = _central_difference(perturbed(k, v), step)
                checks.append(FDCheck(k, f"direction {d}", float(np.vdot(g, v)), num))
    return checks


def check_hand_gradient(
    workload: Workload, args: tuple | None = None, *, rtol: float = 1e-6, **kwargs
) -> list[FDCheck]:
    """Run :func:`finite_difference_checks`; raise GradientCheckError beyond ``rtol``."""
    checks = finite_difference_checks(workload, args, **kwargs)
    bad = [c for c in checks if not c.rel_error <= rtol]
    if bad:
        lines = [
            f"  arg {c.arg_index} {c.probe}: hand={c.analytic:.12g} fd={c.numeric:.12g} "
            f"rel.err={c.rel_error:.2e}"
            for c in sorted(bad, key=lambda c: -c.rel_error)[:10]
        ]
        raise GradientCheckError(
            f"hand-written gradient of {workload.name!r} disagrees with central finite "
            f"differences beyond rtol={rtol:g} ({len(bad)}/{len(checks)} probes):\n"
            + "\n".join(lines)
        )
    return checks
