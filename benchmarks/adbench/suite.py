"""The benchmark cases: ADBench workloads and sizes, plus the seed workloads.

A :class:`Case` bundles an objective and its arguments with the ways to compute its
derivative: tangent_src (Python back end, reverse mode; forward mode where it is a
natural way to build the derivative), tangent_src's numba back end, a hand-written
derivative, and the peer kind (see :mod:`benchmarks.adbench.peers`). Each derivative
returns a flat vector (gradients, in ADBench's order) or a :class:`SparseJacobian`;
:meth:`Case.flat` turns either into a vector to compare.
"""

from __future__ import annotations

import dataclasses
import sys
import types
from collections.abc import Callable

import numpy as np

from . import ba, gmm, lstm
from .io import data_path, read_ba, read_gmm, read_lstm


@dataclasses.dataclass
class Case:
    key: str  # unique, e.g. "gmm-vec 1k d10 K5"
    family: str  # panel of the plot, e.g. "GMM vectorized"
    size_label: str
    size: int  # number of differentiated inputs (BA: observations), the plot's x axis
    objective: Callable
    load: Callable[[], tuple]  # the objective's arguments
    tangent: Callable[[object], Callable]  # tangent_src -> derivative(*args)
    tangent_fwd: Callable[[object], Callable] | None = None
    numba: Callable[[object], Callable] | None = None  # tangent_src -> derivative
    numba_objective: Callable | None = None  # the form numba compiles, when it differs
    hand: Callable | None = None
    peer_kind: str | None = None  # peers' workload kind; None: peers not run
    peer_note: str = ""  # why peers are not run
    hand_note: str = "not written"
    fd_check: bool = False  # verify the hand-written derivative by finite differences
    wrt: tuple[int, ...] = ()  # the differentiated arguments (for the FD check)

    @staticmethod
    def flat(result) -> np.ndarray:
        """A derivative's result (gradient(s) or SparseJacobian) as one float vector."""
        if isinstance(result, ba.SparseJacobian):
            return result.values
        if isinstance(result, (tuple, list)):
            return np.concatenate([np.ravel(np.asarray(r, dtype=np.float64)) for r in result])
        return np.ravel(np.asarray(result, dtype=np.float64))


def adbench_error(x, y) -> float:
    """ADBench's criterion, max |x - y| / max(1, |x| + |y|)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        return float("inf")
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1.0, np.abs(x) + np.abs(y))))


def njit_objective(func):
    """``func`` compiled with numba.njit, with the functions of its module that it calls
    compiled too (numba resolves them in a copy of the module's namespace): the objective
    that the numba back end's derivative is compared with."""
    import numba

    module = sys.modules[func.__module__]
    namespace = dict(func.__globals__)  # the module's, or a form's (gmm.numba_form)
    for name, obj in list(namespace.items()):
        if isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__:
            copy = types.FunctionType(obj.__code__, namespace, name, obj.__defaults__,
                                      obj.__closure__)
            namespace[name] = numba.njit(copy)
    return namespace[func.__name__]


# --------------------------------------------------------------------------- finite differences


def fd_check(objective, args, wrt, gradient, *, directions=3, step=1e-4, seed=0):
    """Directional 4th-order central differences of the objective along random unit
    directions in the ``wrt`` arguments; returns the worst relative error against
    ``<gradient, v>`` (relative to max(|fd|, |analytic|, 1e-300))."""
    rng = np.random.default_rng(seed)
    args = list(args)
    worst = 0.0
    for _ in range(directions):
        v = [rng.standard_normal(np.shape(args[k])) for k in wrt]
        norm = np.sqrt(sum(float(np.sum(vi * vi)) for vi in v))
        v = [vi / norm for vi in v]

        def phi(h, v=v):
            moved = list(args)
            for k, vi in zip(wrt, v):
                moved[k] = args[k] + h * vi
            return float(objective(*moved))

        fd = (8 * (phi(step) - phi(-step)) - (phi(2 * step) - phi(-2 * step))) / (12 * step)
        analytic = sum(float(np.vdot(g, vi)) for g, vi in zip(gradient, v))
        worst = max(worst, abs(fd - analytic) / max(abs(fd), abs(analytic), 1e-300))
    return worst


# --------------------------------------------------------------------------- GMM


GMM_SIZES = ("d10_K5", "d20_K10")
GMM_NUMBA = gmm.numba_form(gmm.gmm_objective)
GMM_MORE = ("d2_K5", "d2_K10", "d10_K25")


def _gmm_cases(size: str) -> list[Case]:
    path = data_path(f"gmm/1k/gmm_{size}.txt")
    d, K = (int(s[1:]) for s in size.split("_"))
    label = f"1k d={d} K={K}"
    n_params = K * (1 + d + d + d * (d - 1) // 2)

    def load():
        return read_gmm(path).args

    vec = Case(
        key=f"gmm-vec 1k d{d} K{K}", family="GMM vectorized", size_label=label,
        size=n_params, objective=gmm.gmm_objective, load=load,
        tangent=lambda ts: ts.grad(gmm.gmm_objective, wrt=(0, 1, 2)),
        # numba cannot compile q_index's dictionary cache: its numba form builds the table
        numba=lambda ts: ts.grad(GMM_NUMBA, wrt=(0, 1, 2), backend="numba"),
        numba_objective=GMM_NUMBA,
        hand=gmm.gmm_objective_grad_hand, peer_kind="gmm", fd_check=True,
        wrt=(0, 1, 2),
    )
    loop = Case(
        key=f"gmm-loop 1k d{d} K{K}", family="GMM loop form", size_label=label,
        size=n_params, objective=gmm.gmm_objective_loop, load=load,
        tangent=lambda ts: ts.grad(gmm.gmm_objective_loop, wrt=(0, 1, 2)),
        numba=lambda ts: ts.grad(gmm.gmm_objective_loop, wrt=(0, 1, 2),
                                           backend="numba"),
        hand=gmm.gmm_objective_loop_grad_hand, fd_check=True, wrt=(0, 1, 2),
        peer_note="peers run the vectorized form only (autograd cannot write into "
                  "arrays; JAX would unroll the loops)",
    )
    return [vec, loop]


# --------------------------------------------------------------------------- LSTM


LSTM_SIZES = ("l2_c1024",)
LSTM_MORE = ("l4_c1024",)


def _lstm_case(size: str) -> Case:
    path = data_path(f"lstm/lstm_{size}.txt")
    layers, c = (int(s[1:]) for s in size.split("_"))

    def load():
        return read_lstm(path).args

    inp = read_lstm(path)
    return Case(
        key=f"lstm l{layers} c{c}", family="LSTM", size_label=f"l={layers} c={c}",
        size=inp.n_params, objective=lstm.lstm_objective, load=load,
        tangent=lambda ts: ts.grad(lstm.lstm_objective, wrt=(0, 1)),
        numba=lambda ts: ts.grad(lstm.lstm_objective, wrt=(0, 1),
                                           backend="numba"),
        hand=lstm.lstm_objective_grad_hand, peer_kind="lstm", fd_check=True,
        wrt=(0, 1),
    )


# --------------------------------------------------------------------------- BA


BA_SIZES = ("ba1_n49_m7776_p31843",)
BA_MORE = ("ba2_n21_m11315_p36455",)


def _ba_cases(size: str, loop: bool = True) -> list[Case]:
    path = data_path(f"ba/{size}.txt")
    name = size.split("_")[0]
    p = int(size.split("_p")[1])
    label = f"{name} (p={p})"

    def load():
        return read_ba(path).args

    cases = [Case(
        key=f"ba-vec {name}", family="BA vectorized", size_label=label, size=p,
        objective=ba.ba_objective, load=load,
        tangent=lambda ts: ba.make_vectorized_jacobian(ts, "rev"),
        tangent_fwd=lambda ts: ba.make_vectorized_jacobian(ts, "fwd"),
        numba=lambda ts: ba.make_vectorized_jacobian(ts, "rev", backend="numba"),
        peer_kind="ba",
    )]
    if loop:
        cases.append(Case(
            key=f"ba-loop {name}", family="BA loop form", size_label=label, size=p,
            objective=ba.ba_objective_loop, load=load,
            tangent=lambda ts: ba.make_loop_jacobian(ts, "rev"),
            peer_note="peers run the vectorized form only",
        ))
    return cases


# --------------------------------------------------------------------------- seeds


def _seed_cases() -> list[Case]:
    from benchmarks.workloads import WORKLOADS

    cases = []
    for w in WORKLOADS:
        args = w.make_args()
        size = sum(int(np.size(args[k])) for k in w.wrt_indices)

        cases.append(Case(
            key=f"seed {w.name}", family="seed workloads", size_label=w.name, size=size,
            objective=w.objective, load=w.make_args,
            tangent=lambda ts, w=w: ts.grad(w.objective, wrt=w.wrt),
            numba=lambda ts, w=w: ts.grad(w.objective, wrt=w.wrt, backend="numba"),
            hand=w.hand_grad, peer_kind=f"seed:{w.name}", fd_check=True,
            wrt=w.wrt_indices,
        ))
    return cases


def all_cases(more_sizes: bool = False, ba_loop: bool = True, seeds: bool = True
              ) -> list[Case]:
    """Every case, in the order they are run: GMM, LSTM, BA, then the seed workloads."""
    cases: list[Case] = []
    gmm_sizes = GMM_SIZES + (GMM_MORE if more_sizes else ())
    gmm_sizes = tuple(sorted(gmm_sizes, key=lambda s: tuple(int(t[1:]) for t in s.split("_"))))
    gmm_pairs = [_gmm_cases(s) for s in gmm_sizes]
    cases += [pair[0] for pair in gmm_pairs] + [pair[1] for pair in gmm_pairs]
    cases += [_lstm_case(s) for s in LSTM_SIZES + (LSTM_MORE if more_sizes else ())]
    ba_sizes = BA_SIZES + (BA_MORE if more_sizes else ())
    ba_pairs = [_ba_cases(s, ba_loop) for s in ba_sizes]
    cases += [pair[0] for pair in ba_pairs] + [c for pair in ba_pairs for c in pair[1:]]
    if seeds:
        cases += _seed_cases()
    return cases
