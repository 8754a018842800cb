"""numba back end benchmark (issue #6): tangent_src.grad(f, backend="numba") on loop code.

Run from the repository root::

    python benchmarks/numba_bench.py [--quick] [--markdown PATH] [--traceback]

Three loop-heavy workloads, each written as plain NumPy with explicit ``for`` loops:

- ``scalar_loop``: ``y = y + 0.01*(np.sin(y)*y - y**3)`` 1000 times, scalar float y, d/dy;
- ``rnn``: 200 steps of ``h = np.tanh(W @ h + U @ xs[t] + b)`` on 32-wide vectors, loss
  ``np.sum(h*h)``, d/d(W, U, b);
- ``gmm``: ADBench's GMM objective (log-likelihood with a Wishart prior) in loop form,
  loops over points and components, logsumexp by hand with a loop max; synthetic data,
  n=1000, d=10, K=5; d/d(alphas, means, icf).

For each workload the script

1. verifies the hand-written gradient (numba-compiled) against 4th-order central finite
   differences of the objective (``benchmarks.workloads.finite_difference_checks``), and the
   GMM objective and hand-written gradient against ADBench's reference values for
   ``gmm/test.txt`` when that file is available; aborts (exit status 1) on a mismatch;
2. calls ``tangent_src.grad(f, wrt=..., backend="numba")`` once, timing that first call
   (generation + numba compilation; tangent_src's cache directory is a fresh temporary
   directory, so nothing comes from an earlier run's on-disk cache), then once more from a
   new ``grad`` object after ``tangent_src.clear_cache()`` (the generated file and numba's
   on-disk cache now exist), and checks the result against the Python back end's
   (``np.allclose``, rtol 1e-9) before timing it;
3. times: the NumPy objective, ``numba.njit(f)`` (first call reported separately), the
   numba-compiled hand-written gradient, the numba gradient, the Python-back-end gradient,
   and, when installed, ``jax.jit(jax.grad)`` with the loop in ``lax.fori_loop``, PyTorch
   eager and autograd (each checked against the numba gradient at rtol 1e-6 first).

Timing as in ``benchmarks/seed.py``: one round calls the function repeatedly until at least
0.2 s have elapsed; the reported time is the minimum over 5 rounds of the mean per call (GC
disabled). ``--quick``: 0.05 s x 2 rounds. Compilation times are single measurements.

A tangent_src failure on one workload is reported in its table cells and below the tables
(exit status 2); the other measurements still run.

The JAX and PyTorch code paths are written against their documented APIs but could not be
run on the machine that produced ``benchmarks/RESULTS.md`` (neither is installed there).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in [str(Path(p).resolve()) for p in sys.path if p]:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from benchmarks.seed import FULL, QUICK, fmt_time, machine_lines, time_call  # noqa: E402
from benchmarks.workloads import (  # noqa: E402
    RNN_H,
    RNN_T,
    Workload,
    finite_difference_checks,
    rnn_args,
    rnn_grad_hand,
    rnn_loss,
)

ADBENCH_DATA = Path(os.environ.get("ADBENCH_DATA", "/work/shared/data/adbench"))
NUMBA_VS_PYTHON_RTOL = 1e-9
FRAMEWORK_RTOL = 1e-6
FD_RTOL = 1e-6

# ---------------------------------------------------------------------------
# Objectives (what tangent_src differentiates, and what numba.njit compiles as is)
# ---------------------------------------------------------------------------


def scalar_loop(y, n):
    for _ in range(n):
        y = y + 0.01 * (np.sin(y) * y - y**3)
    return y


def gmm_objective(alphas, means, icf, x, wishart_gamma, wishart_m):
    n = x.shape[0]
    d = x.shape[1]
    K = alphas.shape[0]
    # Q_k = diag(exp(q_k)) + L_k; icf[k] = q_k then L_k's strict lower triangle by columns
    Qs = np.zeros((K, d, d))
    for k in range(K):
        idx = d
        for c in range(d):
            Qs[k, c, c] = np.exp(icf[k, c])
            for r in range(c + 1, d):
                Qs[k, r, c] = icf[k, idx]
                idx = idx + 1
    total = 0.0
    for i in range(n):
        main = np.zeros(K)
        for k in range(K):
            xc = x[i] - means[k]
            Qxc = Qs[k] @ xc
            main[k] = alphas[k] + np.sum(icf[k, :d]) - 0.5 * np.sum(Qxc * Qxc)
        mx = main[0]
        for k in range(1, K):
            mx = max(mx, main[k])
        se = 0.0
        for k in range(K):
            se = se + np.exp(main[k] - mx)
        total = total + mx + np.log(se)
    amx = alphas[0]
    for k in range(1, K):
        amx = max(amx, alphas[k])
    ase = 0.0
    for k in range(K):
        ase = ase + np.exp(alphas[k] - amx)
    prior = 0.0
    for k in range(K):
        prior = (prior
                 + 0.5 * wishart_gamma**2
                 * (np.sum(np.exp(2.0 * icf[k, :d])) + np.sum(icf[k, d:] ** 2))
                 - wishart_m * np.sum(icf[k, :d]))
    # the Wishart normalising constant (independent of the parameters)
    N = d + wishart_m + 1
    C = N * d * (math.log(wishart_gamma) - 0.5 * math.log(2.0))
    lg = 0.25 * d * (d - 1) * math.log(math.pi)
    for j in range(1, d + 1):
        lg = lg + math.lgamma(0.5 * N + 0.5 * (1 - j))
    C = C - lg
    return (-0.5 * n * d * math.log(2 * math.pi) + total - n * (amx + np.log(ase))
            + prior - K * C)


# ---------------------------------------------------------------------------
# Hand-written gradients (numba-compiled in main(); plain Python functions here)
# ---------------------------------------------------------------------------


def scalar_loop_grad_hand(y, n):
    """Reverse mode, like benchmarks/workloads.py: store y, recompute sin/cos backwards."""
    ys = np.empty(n)
    for i in range(n):
        ys[i] = y
        y = y + 0.01 * (np.sin(y) * y - y**3)
    dy = 1.0
    for i in range(n - 1, -1, -1):
        yi = ys[i]
        dy = dy * (1.0 + 0.01 * (np.cos(yi) * yi + np.sin(yi) - 3.0 * yi * yi))
    return dy


def scalar_loop_grad_hand_fwd(y, n):
    """The derivative carried along the forward loop (no storage): the cheapest exact form."""
    dy = 1.0
    for _ in range(n):
        s = np.sin(y)
        dy = dy * (1.0 + 0.01 * (np.cos(y) * y + s - 3.0 * y * y))
        y = y + 0.01 * (s * y - y**3)
    return dy


def gmm_grad_hand(alphas, means, icf, x, wishart_gamma, wishart_m):
    """Loop form, exploiting Q_k's triangularity; dQ accumulated over points, mapped to icf last."""
    n = x.shape[0]
    d = x.shape[1]
    K = alphas.shape[0]
    Qs = np.zeros((K, d, d))
    sumq = np.zeros(K)
    for k in range(K):
        idx = d
        for c in range(d):
            Qs[k, c, c] = np.exp(icf[k, c])
            sumq[k] += icf[k, c]
            for r in range(c + 1, d):
                Qs[k, r, c] = icf[k, idx]
                idx += 1
    dalphas = np.zeros(K)
    dmeans = np.zeros((K, d))
    dQ = np.zeros((K, d, d))
    dsumq = np.zeros(K)
    main = np.empty(K)
    xc = np.empty((K, d))
    y = np.empty((K, d))
    for i in range(n):
        for k in range(K):
            for j in range(d):
                xc[k, j] = x[i, j] - means[k, j]
            sq = 0.0
            for r in range(d):
                s = 0.0
                for c in range(r + 1):
                    s += Qs[k, r, c] * xc[k, c]
                y[k, r] = s
                sq += s * s
            main[k] = alphas[k] + sumq[k] - 0.5 * sq
        mx = main[0]
        for k in range(1, K):
            mx = max(mx, main[k])
        se = 0.0
        for k in range(K):
            se += np.exp(main[k] - mx)
        for k in range(K):
            w = np.exp(main[k] - mx) / se          # d total / d main[k]
            dalphas[k] += w
            dsumq[k] += w
            # main[k] = ... - 0.5 |Q xc|^2:  dQ[r, c] -= w y_r xc_c;  dmeans += w Q^T y
            for r in range(d):
                wy = w * y[k, r]
                for c in range(r + 1):
                    dQ[k, r, c] -= wy * xc[k, c]
                    dmeans[k, c] += wy * Qs[k, r, c]
    amx = alphas[0]
    for k in range(1, K):
        amx = max(amx, alphas[k])
    ase = 0.0
    for k in range(K):
        ase += np.exp(alphas[k] - amx)
    g2 = wishart_gamma * wishart_gamma
    dicf = np.zeros(icf.shape)
    for k in range(K):
        dalphas[k] -= n * np.exp(alphas[k] - amx) / ase
        for j in range(d):
            e = np.exp(icf[k, j])
            dicf[k, j] = dsumq[k] + dQ[k, j, j] * e + g2 * e * e - wishart_m
        idx = d
        for c in range(d):
            for r in range(c + 1, d):
                dicf[k, idx] = dQ[k, r, c] + g2 * icf[k, idx]
                idx += 1
    return dalphas, dmeans, dicf


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------

GMM_N, GMM_D, GMM_K = 1000, 10, 5


def scalar_loop_args():
    return 0.5, 1000


def gmm_args(n=GMM_N, d=GMM_D, K=GMM_K, seed=0):
    rng = np.random.default_rng(seed)
    alphas = rng.standard_normal(K)
    means = rng.random((K, d))
    icf = 0.5 * rng.standard_normal((K, d + d * (d - 1) // 2))
    x = rng.standard_normal((n, d))
    return alphas, means, icf, x, 1.0, 0.0


def read_adbench_gmm(path: Path):
    """ADBench's GMM text format (OBJECTIVES.md): d K n, alphas, means, icf, x, gamma m."""
    rows = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    d, K, n = (int(v) for v in rows[0])
    vals = [[float(v) for v in r] for r in rows[1:]]
    alphas = np.array([r[0] for r in vals[:K]])
    means = np.array(vals[K:2 * K])
    icf = np.array(vals[2 * K:3 * K])
    x = np.array(vals[3 * K:3 * K + n])
    gamma, m = vals[3 * K + n][:2]
    return alphas, means, icf, x, gamma, m


# ---------------------------------------------------------------------------
# Other frameworks (each builder returns a gradient function or raises ImportError)
# ---------------------------------------------------------------------------


def _tri_scatter(d):
    """Constant 0/1 matrix P with (P @ l).reshape(d, d) = L (strict lower, column by column)."""
    P = np.zeros((d * d, d * (d - 1) // 2))
    idx = 0
    for c in range(d):
        for r in range(c + 1, d):
            P[r * d + c, idx] = 1.0
            idx += 1
    return P


def _gmm_constant(d, K, n, gamma, m):
    N = d + m + 1
    lg = 0.25 * d * (d - 1) * math.log(math.pi) + sum(
        math.lgamma(0.5 * N + 0.5 * (1 - j)) for j in range(1, d + 1))
    C = N * d * (math.log(gamma) - 0.5 * math.log(2.0)) - lg
    return -0.5 * n * d * math.log(2 * math.pi) - K * C


def build_autograd(name):
    import autograd
    import autograd.numpy as anp

    if name == "scalar_loop":
        def f(y, n):
            for _ in range(n):
                y = y + 0.01 * (anp.sin(y) * y - y**3)
            return y
        g = autograd.grad(f)
        return lambda y, n: g(float(y), n)
    if name == "rnn":
        def f(W, U, b, h0, xs):
            h = h0
            for t in range(xs.shape[0]):
                h = anp.tanh(anp.dot(W, h) + anp.dot(U, xs[t]) + b)
            return anp.sum(h * h)
        g = autograd.grad(f, argnum=(0, 1, 2))
        return g
    if name == "gmm":
        def f(alphas, means, icf, x, gamma, m):
            n, d = x.shape
            K = alphas.shape[0]
            P = _tri_scatter(d)
            Qs = [anp.diag(anp.exp(icf[k, :d])) + anp.reshape(anp.dot(P, icf[k, d:]), (d, d))
                  for k in range(K)]
            total = 0.0
            for i in range(n):
                main = anp.stack([alphas[k] + anp.sum(icf[k, :d])
                                  - 0.5 * anp.sum(anp.dot(Qs[k], x[i] - means[k]) ** 2)
                                  for k in range(K)])
                mx = anp.max(main)
                total = total + mx + anp.log(anp.sum(anp.exp(main - mx)))
            amx = anp.max(alphas)
            lse_a = amx + anp.log(anp.sum(anp.exp(alphas - amx)))
            prior = anp.sum(0.5 * gamma**2 * (anp.sum(anp.exp(2.0 * icf[:, :d]))
                                              + anp.sum(icf[:, d:] ** 2))
                            - m * anp.sum(icf[:, :d]))
            return total - n * lse_a + prior + _gmm_constant(d, K, n, gamma, m)
        return autograd.grad(f, argnum=(0, 1, 2))
    raise KeyError(name)


def build_torch(name):
    import torch

    f64 = torch.float64

    def leaf(a):
        return torch.tensor(np.asarray(a), dtype=f64, requires_grad=True)

    if name == "scalar_loop":
        def g(y, n):
            y0 = leaf(y)
            v = y0
            for _ in range(n):
                v = v + 0.01 * (torch.sin(v) * v - v**3)
            v.backward()
            return y0.grad.item()
        return g
    if name == "rnn":
        def g(W, U, b, h0, xs):
            Wt, Ut, bt = leaf(W), leaf(U), leaf(b)
            h = torch.as_tensor(h0, dtype=f64)
            xs_t = torch.as_tensor(xs, dtype=f64)
            for t in range(xs_t.shape[0]):
                h = torch.tanh(Wt @ h + Ut @ xs_t[t] + bt)
            torch.sum(h * h).backward()
            return Wt.grad.numpy(), Ut.grad.numpy(), bt.grad.numpy()
        return g
    if name == "gmm":
        def g(alphas, means, icf, x, gamma, m):
            n, d = x.shape
            K = alphas.shape[0]
            a, mu, ic = leaf(alphas), leaf(means), leaf(icf)
            xt = torch.as_tensor(x, dtype=f64)
            P = torch.as_tensor(_tri_scatter(d), dtype=f64)
            Qs = [torch.diag(torch.exp(ic[k, :d])) + (P @ ic[k, d:]).reshape(d, d)
                  for k in range(K)]
            total = 0.0
            for i in range(n):
                main = torch.stack([a[k] + torch.sum(ic[k, :d])
                                    - 0.5 * torch.sum((Qs[k] @ (xt[i] - mu[k])) ** 2)
                                    for k in range(K)])
                mx = torch.max(main)
                total = total + mx + torch.log(torch.sum(torch.exp(main - mx)))
            amx = torch.max(a)
            lse_a = amx + torch.log(torch.sum(torch.exp(a - amx)))
            prior = (0.5 * gamma**2 * (torch.sum(torch.exp(2.0 * ic[:, :d]))
                                       + torch.sum(ic[:, d:] ** 2))
                     - m * torch.sum(ic[:, :d]))
            (total - n * lse_a + prior).backward()
            return a.grad.numpy(), mu.grad.numpy(), ic.grad.numpy()
        return g
    raise KeyError(name)


def build_jax(name):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax import lax

    if name == "scalar_loop":
        def f(y, n):
            return lax.fori_loop(0, n, lambda i, v: v + 0.01 * (jnp.sin(v) * v - v**3), y)
        g = jax.jit(jax.grad(f), static_argnums=1)
        return lambda y, n: float(g(float(y), n))
    if name == "rnn":
        def f(W, U, b, h0, xs):
            def step(t, h):
                return jnp.tanh(W @ h + U @ xs[t] + b)
            h = lax.fori_loop(0, xs.shape[0], step, h0)
            return jnp.sum(h * h)
        g = jax.jit(jax.grad(f, argnums=(0, 1, 2)))

        def call(*args):
            return tuple(np.asarray(v) for v in jax.block_until_ready(g(*args)))
        return call
    if name == "gmm":
        def f(alphas, means, icf, x, gamma, m):
            n, d = x.shape
            K = alphas.shape[0]
            P = jnp.asarray(_tri_scatter(d))
            q = icf[:, :d]
            Qs = (jax.vmap(jnp.diag)(jnp.exp(q))
                  + (icf[:, d:] @ P.T).reshape(K, d, d))
            sumq = jnp.sum(q, axis=1)

            def point(i, total):
                xc = x[i][None, :] - means                      # (K, d)
                y = jnp.einsum("kij,kj->ki", Qs, xc)
                main = alphas + sumq - 0.5 * jnp.sum(y * y, axis=1)
                mx = jnp.max(main)
                return total + mx + jnp.log(jnp.sum(jnp.exp(main - mx)))

            total = lax.fori_loop(0, n, point, 0.0)
            amx = jnp.max(alphas)
            lse_a = amx + jnp.log(jnp.sum(jnp.exp(alphas - amx)))
            prior = (0.5 * gamma**2 * (jnp.sum(jnp.exp(2.0 * q)) + jnp.sum(icf[:, d:] ** 2))
                     - m * jnp.sum(q))
            return total - n * lse_a + prior + _gmm_constant(d, K, n, gamma, m)
        g = jax.jit(jax.grad(f, argnums=(0, 1, 2)), static_argnums=(4, 5))

        def call(*args):
            return tuple(np.asarray(v) for v in jax.block_until_ready(g(*args)))
        return call
    raise KeyError(name)


FRAMEWORKS = (
    ("jax", "jax.jit(grad), lax.fori_loop", build_jax),
    ("torch", "PyTorch eager", build_torch),
    ("autograd", "autograd", build_autograd),
)

# ---------------------------------------------------------------------------
# Benchmark
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Spec:
    name: str
    description: str
    objective: Callable
    hand: Callable
    make_args: Callable[[], tuple]
    wrt: tuple[int, ...]
    code: str                     # how tangent_src is called, for the report


SPECS = (
    Spec("scalar_loop", "scalar loop, y0=0.5, n=1000, d/dy", scalar_loop,
         scalar_loop_grad_hand, scalar_loop_args, (0,),
         'tangent_src.grad(scalar_loop, wrt=0, backend="numba")'),
    Spec("rnn", f"RNN, T={RNN_T}, width {RNN_H}, loss sum(h*h), d/d(W, U, b)", rnn_loss,
         rnn_grad_hand, rnn_args, (0, 1, 2),
         'tangent_src.grad(rnn_loss, wrt=(0, 1, 2), backend="numba")'),
    Spec("gmm", f"GMM loop form, n={GMM_N}, d={GMM_D}, K={GMM_K}, d/d(alphas, means, icf)",
         gmm_objective, gmm_grad_hand, gmm_args, (0, 1, 2),
         'tangent_src.grad(gmm_objective, wrt=(0, 1, 2), backend="numba")'),
)


@dataclasses.dataclass
class Result:
    spec: Spec
    fd_max_rel: float = math.nan
    fd_probes: int = 0
    reference_note: str = ""
    numpy_objective: float | None = None
    numba_objective: float | None = None
    numba_objective_compile: float | None = None
    hand: float | None = None
    hand_compile: float | None = None
    numba_grad: float | None = None
    numba_grad_first_call: float | None = None
    numba_grad_cached_first_call: float | None = None
    numba_vs_python_rel: float | None = None
    numba_error: str | None = None
    numba_exc: BaseException | None = None
    python_grad: float | None = None
    python_generation: float | None = None
    python_error: str | None = None
    frameworks: dict = dataclasses.field(default_factory=dict)   # key -> float or str
    extra: dict = dataclasses.field(default_factory=dict)


def as_tuple(g, n):
    return tuple(g) if n > 1 else (g,)


def max_rel(a, b) -> float:
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    scale = max(float(np.max(np.abs(b), initial=0.0)), 1e-300)
    return float(np.max(np.abs(a - b), initial=0.0)) / scale


def compare(got, want, n, rtol) -> float:
    """Raise ValueError unless every gradient matches (np.allclose, atol scaled to the
    gradient's magnitude); return the worst max |diff| / max |want|."""
    got_t, want_t = as_tuple(got, n), as_tuple(want, n)
    if len(got_t) != len(want_t):
        raise ValueError(f"got {len(got_t)} gradients, expected {len(want_t)}")
    worst = 0.0
    for k, (g, w) in enumerate(zip(got_t, want_t)):
        if np.shape(g) != np.shape(w):
            raise ValueError(f"gradient {k} has shape {np.shape(g)}, expected {np.shape(w)}")
        atol = 1e-12 * max(float(np.max(np.abs(w), initial=0.0)), 1e-300)
        rel = max_rel(g, w)
        if not np.allclose(g, w, rtol=rtol, atol=atol):
            raise ValueError(f"gradient {k} differs (np.allclose rtol={rtol:g} failed; "
                             f"max |diff| / max |expected| = {rel:.3e})")
        worst = max(worst, rel)
    return worst


def one_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {str(exc).strip()}"
    return " ".join(text.split())


def first_call(fn, args):
    t0 = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - t0


def check_gmm_reference(numba_objective, hand) -> str:
    """Objective and hand gradient vs ADBench's expected values on gmm/test.txt."""
    import json

    data, ref_file = ADBENCH_DATA / "gmm" / "test.txt", ADBENCH_DATA / "reference_values.json"
    if not (data.exists() and ref_file.exists()):
        return f"ADBench reference not checked ({data} not found)"
    ref = json.loads(ref_file.read_text())["gmm_test_txt"]
    args = read_adbench_gmm(data)
    obj = float(numba_objective(*args))
    grad = np.concatenate([np.ravel(g) for g in hand(*args)])
    want = np.asarray(ref["gradient"])
    obj_err = abs(obj - ref["objective"]) / abs(ref["objective"])
    grad_err = max_rel(grad, want)
    if obj_err > 1e-8 or grad.shape != want.shape or not np.allclose(grad, want, rtol=1e-8):
        raise ValueError(f"GMM does not reproduce ADBench's gmm/test.txt: objective {obj!r} "
                         f"vs {ref['objective']!r}, gradient max rel. diff {grad_err:.2e}")
    return (f"objective and hand gradient reproduce ADBench's gmm/test.txt values "
            f"(rel. diff {obj_err:.1e} and {grad_err:.1e})")


def run_workload(spec: Spec, cfg, tangent, numba, log) -> Result:
    res = Result(spec)
    args = spec.make_args()
    nw = len(spec.wrt)
    wrt = spec.wrt if nw > 1 else spec.wrt[0]

    def timed(fn):
        return time_call(fn, args, min_time=cfg.min_time, rounds=cfg.rounds)

    # 1. tangent_src numba gradient: first call (generation + compilation) before anything
    #    else of this workload is compiled.
    log(f"[{spec.name}] first call of the numba gradient (generation + compilation) ...")
    numba_value = None
    try:
        dnumba = tangent.grad(spec.objective, wrt=wrt, backend="numba")
        numba_value, res.numba_grad_first_call = first_call(dnumba, args)
    except Exception as exc:  # noqa: BLE001 - reported in the table
        res.numba_error, res.numba_exc = one_line(exc), exc
        dnumba = None

    # 2. numba objective and the hand-written gradient (compiled, then FD-checked).
    log(f"[{spec.name}] numba objective and hand-written gradient ...")
    obj_nb = numba.njit(spec.objective)
    _, res.numba_objective_compile = first_call(obj_nb, args)
    hand_nb = numba.njit(spec.hand)
    hand_value, res.hand_compile = first_call(hand_nb, args)
    # (the finite differences evaluate the numba-compiled objective: same code, faster)
    w = Workload(spec.name, spec.description, obj_nb, hand_nb, spec.make_args, wrt)
    checks = finite_difference_checks(w, args)
    res.fd_probes = len(checks)
    res.fd_max_rel = max(c.rel_error for c in checks)
    if not res.fd_max_rel <= FD_RTOL:
        worst = max(checks, key=lambda c: c.rel_error)
        raise SystemExit(
            f"error: hand-written gradient of {spec.name!r} disagrees with central finite "
            f"differences: arg {worst.arg_index} {worst.probe}: hand={worst.analytic!r} "
            f"fd={worst.numeric!r} (rel. error {worst.rel_error:.2e} > {FD_RTOL:g}); "
            "nothing was timed")
    if spec.name == "gmm":
        res.reference_note = check_gmm_reference(obj_nb, hand_nb)
    if spec.name == "scalar_loop":
        fwd_nb = numba.njit(scalar_loop_grad_hand_fwd)
        compare(fwd_nb(*args), hand_value, 1, 1e-12)
        res.extra["hand_fwd"] = timed(fwd_nb)

    # 3. Python back end (the reference for the numba gradient).
    log(f"[{spec.name}] Python-back-end gradient ...")
    python_value = None
    try:
        t0 = time.perf_counter()
        dpython = tangent.grad(spec.objective, wrt=wrt)
        python_value = dpython(*args)
        res.python_generation = time.perf_counter() - t0
        compare(python_value, hand_value, nw, 1e-8)
        res.python_grad = timed(dpython)
    except Exception as exc:  # noqa: BLE001 - reported
        res.python_error = one_line(exc)

    # 4. Verify the numba gradient, then the on-disk-cache first call, then time it.
    if dnumba is not None:
        try:
            if python_value is None:
                raise ValueError("no Python-back-end gradient to compare with")
            res.numba_vs_python_rel = compare(numba_value, python_value, nw,
                                              NUMBA_VS_PYTHON_RTOL)
        except ValueError as exc:
            res.numba_error = f"wrong gradient: {exc}"
            dnumba = None
    if dnumba is not None:
        tangent.clear_cache()
        again = tangent.grad(spec.objective, wrt=wrt, backend="numba")
        _, res.numba_grad_cached_first_call = first_call(again, args)
        log(f"[{spec.name}] timing ...")
        res.numba_grad = timed(again)

    res.numpy_objective = timed(spec.objective)
    res.numba_objective = timed(obj_nb)
    res.hand = timed(hand_nb)

    # 5. Other frameworks, checked against the hand-written gradient first.
    for key, label, build in FRAMEWORKS:
        try:
            fn = build(spec.name)
        except ImportError:
            res.frameworks[key] = "not installed"
            continue
        log(f"[{spec.name}] {label} ...")
        try:
            value = fn(*args)                       # also the JIT's compilation
            compare(value, hand_value, nw, FRAMEWORK_RTOL)
            res.frameworks[key] = timed(fn)
        except Exception as exc:  # noqa: BLE001 - reported in the table
            res.frameworks[key] = f"failed: {one_line(exc)[:300]}"
    return res


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------


def cell_time(v) -> str:
    return fmt_time(v) if isinstance(v, float) else (v or "n/a")


def ratio(num, den, goal: str = "") -> str:
    if not isinstance(num, float) or not isinstance(den, float) or not den > 0:
        return "n/a"
    r = num / den
    text = f"{r:.2f}x" if r < 100 else f"{r:.0f}x"
    return text + (f" ({goal})" if goal else "")


def render(results: list[Result], cfg) -> str:
    out = []
    fw_labels = {key: label for key, label, _ in FRAMEWORKS}

    def numba_cell(r: Result, value) -> str:
        if r.numba_error is not None:
            return "FAILED: " + r.numba_error.replace("|", "\\|")[:400]
        return f"**{cell_time(value)}**"

    out.append("| Workload | NumPy objective | numba objective | numba hand-written grad "
               "| **numba grad (tangent_src)** | Python-back-end grad | "
               + " | ".join(fw_labels.values()) + " |")
    out.append("|---|" + "---:|" * (5 + len(fw_labels)))
    for r in results:
        out.append(
            f"| {r.spec.name} | {cell_time(r.numpy_objective)} | {cell_time(r.numba_objective)} "
            f"| {cell_time(r.hand)} | {numba_cell(r, r.numba_grad)} "
            f"| {cell_time(r.python_grad) if r.python_error is None else r.python_error} | "
            + " | ".join(cell_time(r.frameworks.get(k)) for k in fw_labels) + " |")
    out.append("")
    out.append("| Workload | numba grad / numba objective (goal <= 3) "
               "| numba grad / hand-written (goal <= 1.3) | Python back end / numba grad "
               "| autograd / numba grad | PyTorch / numba grad | jax.jit / numba grad |")
    out.append("|---|---:|---:|---:|---:|---:|---:|")
    for r in results:
        g = r.numba_grad if r.numba_error is None else None
        scalar = r.spec.name == "scalar_loop"

        def vs(key, goal, r=r, g=g):
            v = r.frameworks.get(key)
            return ratio(v, g, goal) if isinstance(v, float) else cell_time(v)

        out.append(
            f"| {r.spec.name} | {ratio(g, r.numba_objective)} | {ratio(g, r.hand)} "
            f"| {ratio(r.python_grad, g)} "
            f"| {vs('autograd', 'goal >= 100' if scalar else '')} "
            f"| {vs('torch', 'goal >= 100' if scalar else '')} "
            f"| {vs('jax', 'goal >= 1' if r.spec.name in ('scalar_loop', 'rnn') else '')} |")
    out.append("")
    out.append("| Workload | numba grad: first call (generation + compile) "
               "| numba grad: first call, on-disk cache | numba objective: first call "
               "| hand-written grad: first call "
               "| Python back end: first call (generation + one run) |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for r in results:
        out.append(
            f"| {r.spec.name} | {numba_cell(r, r.numba_grad_first_call)} "
            f"| {cell_time(r.numba_grad_cached_first_call)} "
            f"| {cell_time(r.numba_objective_compile)} | {cell_time(r.hand_compile)} "
            f"| {cell_time(r.python_generation)} |")
    out.append("")
    out.append(
        f"Times: minimum over {cfg.rounds} rounds of the mean per-call time of a round "
        f">= {cfg.min_time:g} s (GC disabled). First calls: one measurement each, in this "
        "order per workload: numba gradient, numba objective, hand-written gradient (a "
        "process-wide numba warm-up compile ran first; later workloads reuse numba's "
        "already-compiled NumPy implementations). tangent_src's cache directory was a fresh "
        "temporary directory; the on-disk-cache first call is `clear_cache()` then a new "
        "`grad(...)` object in the same process.")
    out.append("")
    for r in results:
        parts = [f"`{r.spec.name}`: {r.spec.description}; `{r.spec.code}`.",
                 f"Hand-written gradient vs 4th-order central FD: max rel. error "
                 f"{r.fd_max_rel:.1e} over {r.fd_probes} probe{'s' if r.fd_probes != 1 else ''}."]
        if r.reference_note:
            parts.append(r.reference_note[0].upper() + r.reference_note[1:] + ".")
        if r.numba_vs_python_rel is not None:
            parts.append(f"numba vs Python back end: max |diff|/max|python| = "
                         f"{r.numba_vs_python_rel:.1e} (rtol {NUMBA_VS_PYTHON_RTOL:g}).")
        if "hand_fwd" in r.extra:
            parts.append(f"The hand-written gradient is reverse mode (stores y, recomputes "
                         f"sin/cos); carrying dy/dy0 along the forward loop instead takes "
                         f"{fmt_time(r.extra['hand_fwd'])} "
                         f"(numba grad / that = {ratio(r.numba_grad, r.extra['hand_fwd'])}).")
        out.append("- " + " ".join(parts))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="0.05 s x 2 rounds")
    parser.add_argument("--markdown", metavar="PATH", type=Path,
                        help="also write the report to PATH")
    parser.add_argument("--traceback", action="store_true",
                        help="print full tracebacks of tangent_src failures")
    opts = parser.parse_args(argv)
    cfg = QUICK if opts.quick else FULL

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    # A fresh cache directory: the first calls below compile from scratch.
    cache = tempfile.TemporaryDirectory(prefix="tangent_src_numba_bench_")
    os.environ["TANGENT_SRC_CACHE"] = cache.name
    import numba

    import tangent_src

    warm = numba.njit(lambda a: a + 1.0)
    warm(1.0)

    load_start = os.getloadavg() if hasattr(os, "getloadavg") else None
    results = []
    try:
        for spec in SPECS:
            results.append(run_workload(spec, cfg, tangent_src, numba, log))
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        cache.cleanup()

    load_end = os.getloadavg() if hasattr(os, "getloadavg") else None
    report = "\n".join([
        "# numba back end benchmark", "",
        *machine_lines(np, f"`{Path(tangent_src.__file__).resolve().parent}`"),
        f"- numba {numba.__version__}; "
        + ", ".join(f"{label}: {_version(key)}" for key, label, _ in FRAMEWORKS),
        *([f"- 1-minute load average: {load_start[0]:.2f} at the start, {load_end[0]:.2f} "
           "at the end (other processes share the CPUs; read ratios as +-25%)"]
          if load_start and load_end else []),
        "", render(results, cfg)])
    failed = [r for r in results if r.numba_error is not None]
    if failed:
        report += "\n\n**tangent_src numba back-end failures:**\n\n" + "\n\n".join(
            f"```\n{r.spec.code}  # workload {r.spec.name}\n"
            + (f"{type(r.numba_exc).__name__}: {r.numba_exc}" if r.numba_exc is not None
               else r.numba_error)
            + "\n```"
            for r in failed)
    print(report)
    if opts.markdown is not None:
        opts.markdown.write_text(report + "\n", encoding="utf-8")
        log(f"wrote {opts.markdown}")
    if failed:
        if opts.traceback:
            for r in failed:
                if r.numba_exc is not None:
                    traceback.print_exception(r.numba_exc, file=sys.stderr)
        return 2
    return 0


def _version(module: str) -> str:
    from importlib import metadata

    try:
        __import__(module)
    except ImportError:
        return "not installed"
    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return "installed"


if __name__ == "__main__":
    sys.exit(main())
