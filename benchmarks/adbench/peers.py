"""Peers measured by the benchmark: HIPS autograd, JAX and PyTorch.

Each peer is optional. :func:`peer_status` says whether it is importable;
``prepare_<peer>(kind, args)`` returns a :class:`Prepared` derivative for one
workload kind, or raises :class:`PeerUnsupported` when the peer has no version of
that workload.

autograd and JAX run the *same source* as tangent_src: :func:`rebind` copies a
module's functions with ``np`` bound to ``autograd.numpy`` or ``jax.numpy``
(functions that only build integer constants keep NumPy). The LSTM under JAX uses
``lax.scan`` over time instead of the Python loop, as unrolling 1023 steps under
``jit`` takes minutes to compile. PyTorch has its own transcription of each
objective (PyTorch's API differs from NumPy's) in this file.

Derivative kinds (``kind``):

* ``"gmm"``: gradient of the vectorized GMM objective w.r.t. (alphas, means, icf);
* ``"lstm"``: gradient of the LSTM objective w.r.t. (main_params, extra_params);
* ``"ba"``: BA's sparse Jacobian (:class:`~benchmarks.adbench.ba.SparseJacobian`),
  its 2 x 15 blocks from 2 reverse passes of the vectorized reprojection over the
  observations' packed parameters (gathering and assembly in NumPy, as for tangent_src);
* ``"seed:<name>"``: gradient of a seed workload of ``benchmarks/workloads.py``.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import types
from collections.abc import Callable

import numpy as np

from . import ba as ba_mod
from . import gmm as gmm_mod
from . import lstm as lstm_mod

PEERS = ("autograd", "jax", "torch")
PEER_LABELS = {"autograd": "autograd", "jax": "JAX", "torch": "PyTorch"}


class PeerUnsupported(Exception):
    """The peer has no version of this workload (reported as such, not as an error)."""


@dataclasses.dataclass
class Prepared:
    """A derivative ready to time: ``fn(*args)``; ``to_numpy(result)`` converts its result
    to a flat float vector (gradients in ADBench's order; BA: the CSR Jacobian's values)."""

    fn: Callable
    args: tuple
    to_numpy: Callable


def peer_status(peer: str) -> tuple[bool, str]:
    """(available, version or reason)."""
    module = {"autograd": "autograd", "jax": "jax", "torch": "torch"}[peer]
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return False, "not installed"
    except Exception as exc:  # noqa: BLE001 - a broken install is reported, not raised
        return False, f"import failed: {type(exc).__name__}: {exc}"
    version = getattr(mod, "__version__", None)
    if version is None:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version(module)
        except Exception:  # noqa: BLE001 - the version is only shown
            version = "(version unknown)"
    return True, version


def rebind(module: types.ModuleType, np_replacement, keep=()) -> types.SimpleNamespace:
    """The module's functions re-created with ``np`` bound to ``np_replacement``; calls
    between them go to the re-created versions. Functions named in ``keep`` stay as
    they are (they build NumPy constants)."""
    namespace = dict(vars(module))
    namespace["np"] = np_replacement
    for name, obj in list(namespace.items()):
        if (isinstance(obj, types.FunctionType) and obj.__module__ == module.__name__
                and name not in keep):
            fn = types.FunctionType(obj.__code__, namespace, name, obj.__defaults__,
                                    obj.__closure__)
            fn.__kwdefaults__ = obj.__kwdefaults__
            namespace[name] = fn
    return types.SimpleNamespace(**namespace)


GMM_KEEP = ("q_index", "wishart_constant")


def _flat(parts) -> np.ndarray:
    return np.concatenate([np.ravel(np.asarray(p, dtype=np.float64)) for p in parts])


def _seed_workload(kind: str):
    from benchmarks.workloads import get_workload

    return get_workload(kind.split(":", 1)[1])


def _ba_values(jac) -> np.ndarray:
    return jac.values


def _ba_packed(args):
    """(cams, X, w, obs, feats) -> the observations' packed parameters (p, 15), feats."""
    cams, X, w, obs, feats = args
    cams_obs, X_obs = ba_mod.gather(cams, X, w, obs)
    return np.concatenate((cams_obs, X_obs, w[:, None]), axis=1), feats


# --------------------------------------------------------------------------- autograd


def prepare_autograd(kind: str, args: tuple) -> Prepared:
    import autograd
    import autograd.numpy as anp

    if kind == "gmm":
        ns = rebind(gmm_mod, anp, keep=GMM_KEEP)
        alphas, means, icf, x, gamma, m = args
        g = autograd.grad(lambda params: ns.gmm_objective(*params, x, gamma, m))
        return Prepared(g, ((alphas, means, icf),), _flat)
    if kind == "lstm":
        ns = rebind(lstm_mod, anp)
        main, extra, state, seq = args
        g = autograd.grad(lambda params: ns.lstm_objective(*params, state, seq))
        return Prepared(g, ((main, extra),), _flat)
    if kind == "ba":
        ns = rebind(ba_mod, anp)

        def blocks(cams, X, w, obs, feats):
            packed, f = _ba_packed((cams, X, w, obs, feats))
            vjp, out = autograd.make_vjp(
                lambda P: ns.ba_reproj(P[:, 0:11], P[:, 11:14], P[:, 14], f))(packed)
            rows = []
            for r in range(2):
                seed = np.zeros(out.shape)
                seed[:, r] = 1.0
                rows.append(vjp(seed))
            del vjp, out  # (as tangent_src's: the saved values freed before the CSR arrays)
            return ba_mod.assemble_jacobian(np.stack(rows, axis=1), w, obs, cams.shape[0],
                                            X.shape[0])

        return Prepared(blocks, args, _ba_values)
    if kind.startswith("seed:"):
        from benchmarks import workloads

        w = _seed_workload(kind)
        ns = rebind(workloads, anp)
        f = getattr(ns, w.objective.__name__)
        idx = w.wrt_indices

        def objective_of(params, *all_args):
            full = list(all_args)
            for k, p in zip(idx, params):
                full[k] = p
            return f(*full)

        g = autograd.grad(objective_of)

        def grad_fn(*all_args):
            return g(tuple(all_args[k] for k in idx), *all_args)

        return Prepared(grad_fn, args, _flat)
    raise PeerUnsupported(f"no autograd version of {kind!r}")


# --------------------------------------------------------------------------- JAX


def _jax():
    import jax

    jax.config.update("jax_enable_x64", True)  # float64, as NumPy and tangent_src
    import jax.numpy as jnp

    return jax, jnp


def _blocked(result):
    """Wait for JAX's asynchronous dispatch to finish."""
    import jax

    return jax.block_until_ready(result)


def prepare_jax(kind: str, args: tuple) -> Prepared:
    jax, jnp = _jax()
    if kind == "gmm":
        ns = rebind(gmm_mod, jnp, keep=GMM_KEEP)
        alphas, means, icf, x, gamma, m = args
        xj = jnp.asarray(x)
        g = jax.jit(jax.grad(lambda a, mu, q: ns.gmm_objective(a, mu, q, xj, gamma, m),
                             argnums=(0, 1, 2)))
        params = tuple(jnp.asarray(p) for p in (alphas, means, icf))
        return Prepared(lambda *p: _blocked(g(*p)), params, _flat)
    if kind == "lstm":
        ns = rebind(lstm_mod, jnp)

        def objective(main, extra, state, seq):
            c, b = seq.shape

            def step(carry, pair):
                st, total = carry
                x, target = pair
                y, st = ns.lstm_predict(main, extra, st, x)
                ynorm = y - jnp.log(jnp.sum(jnp.exp(y)) + 2)
                return (st, total + jnp.sum(target * ynorm)), None

            (_, total), _ = jax.lax.scan(step, (state, jnp.zeros((), seq.dtype)),
                                         (seq[:-1], seq[1:]))
            return -total / ((c - 1) * b)

        g = jax.jit(jax.grad(objective, argnums=(0, 1)))
        jargs = tuple(jnp.asarray(a) for a in args)
        return Prepared(lambda *a: _blocked(g(*a)), jargs, _flat)
    if kind == "ba":
        ns = rebind(ba_mod, jnp)

        @jax.jit
        def jac_rows(P, f):
            out, vjp = jax.vjp(lambda Q: ns.ba_reproj(Q[:, 0:11], Q[:, 11:14], Q[:, 14], f),
                               P)
            rows = []
            for r in range(2):
                rows.append(vjp(jnp.zeros_like(out).at[:, r].set(1.0))[0])
            return jnp.stack(rows, axis=1)

        def blocks(cams, X, w, obs, feats):
            packed, f = _ba_packed((cams, X, w, obs, feats))
            rows = np.asarray(_blocked(jac_rows(jnp.asarray(packed), jnp.asarray(f))))
            return ba_mod.assemble_jacobian(rows, w, obs, cams.shape[0], X.shape[0])

        return Prepared(blocks, args, _ba_values)
    if kind in ("seed:scalar_loop", "seed:rnn"):
        return _jax_loop(jax, jnp, kind, args)
    if kind.startswith("seed:"):
        from benchmarks import workloads

        w = _seed_workload(kind)
        ns = rebind(workloads, jnp)
        f = getattr(ns, w.objective.__name__)
        idx = w.wrt_indices
        # non-differentiated Python ints (the loop count) are static under jit
        static = tuple(k for k, a in enumerate(args)
                       if isinstance(a, int) and not isinstance(a, bool))
        g = jax.jit(jax.grad(f, argnums=idx if len(idx) > 1 else idx[0]),
                    static_argnums=static)
        jargs = tuple(a if k in static else jnp.asarray(a) for k, a in enumerate(args))
        return Prepared(lambda *a: _blocked(g(*a)), jargs, _flat)
    raise PeerUnsupported(f"no JAX version of {kind!r}")


def _jax_loop(jax, jnp, kind: str, args: tuple) -> Prepared:
    """The loop workloads as JAX writes them: the loop in ``lax.fori_loop`` (compiled
    once, not unrolled), under ``jit(grad)``."""
    lax = jax.lax
    if kind == "seed:scalar_loop":
        def scalar_loop(y, n):
            return lax.fori_loop(0, n, lambda i, v: v + 0.01 * (jnp.sin(v) * v - v**3), y)
        g = jax.jit(jax.grad(scalar_loop), static_argnums=1)
        y, n = args
        return Prepared(lambda y, n: _blocked(g(y, n)), (jnp.asarray(y), n), _flat_one)

    def rnn_loss(W, U, b, h0, xs):
        h = lax.fori_loop(0, xs.shape[0], lambda t, h: jnp.tanh(W @ h + U @ xs[t] + b), h0)
        return jnp.sum(h * h)
    g = jax.jit(jax.grad(rnn_loss, argnums=(0, 1, 2)))
    return Prepared(lambda *a: _blocked(g(*a)), tuple(jnp.asarray(a) for a in args), _flat)


def _flat_one(value) -> np.ndarray:
    return _flat([value])


# --------------------------------------------------------------------------- PyTorch
# PyTorch transcriptions of the objectives (same mathematics as gmm.py, lstm.py, ba.py).


def gmm_objective_torch(torch, alphas, means, icf, x, wishart_gamma, wishart_m, qidx):
    n, d = x.shape
    K = alphas.shape[0]
    qs = icf[:, :d]
    ls = icf[:, d:]
    diag = torch.exp(qs)
    sum_qs = torch.sum(qs, dim=1)
    rows = torch.cat((diag, ls, torch.zeros((K, 1), dtype=icf.dtype)), dim=1)
    Qs = rows[:, qidx]  # (K, d, d)
    xc = x.T.reshape(1, d, n) - means.reshape(K, d, 1)
    Qxc = torch.matmul(Qs, xc)
    sqsum = torch.sum(Qxc * Qxc, dim=1)
    main = (alphas + sum_qs).reshape(K, 1) - 0.5 * sqsum
    slse = torch.sum(torch.logsumexp(main, dim=0))
    lse_alphas = torch.logsumexp(alphas, dim=0)
    prior = (0.5 * wishart_gamma * wishart_gamma * (torch.sum(diag * diag) + torch.sum(ls * ls))
             - wishart_m * torch.sum(sum_qs))
    const = -0.5 * n * d * math.log(2 * math.pi) - K * gmm_mod.wishart_constant(
        d, wishart_gamma, wishart_m)
    return const + slse - n * lse_alphas + prior


def lstm_objective_torch(torch, main, extra, state, seq):
    n_layers = main.shape[0] // 2
    c, b = seq.shape
    hs = [state[2 * j] for j in range(n_layers)]
    cs = [state[2 * j + 1] for j in range(n_layers)]
    total = torch.zeros((), dtype=seq.dtype)
    for t in range(c - 1):
        x = seq[t] * extra[0]
        for j in range(n_layers):
            g = torch.cat((x, hs[j], x, hs[j])) * main[2 * j] + main[2 * j + 1]
            forget = torch.sigmoid(g[0:b])
            ingate = torch.sigmoid(g[b:2 * b])
            outgate = torch.sigmoid(g[2 * b:3 * b])
            change = torch.tanh(g[3 * b:])
            cs[j] = cs[j] * forget + ingate * change
            hs[j] = outgate * torch.tanh(cs[j])
            x = hs[j]
        y = x * extra[1] + extra[2]
        ynorm = y - torch.log(torch.sum(torch.exp(y)) + 2)
        total = total + torch.sum(seq[t + 1] * ynorm)
    return -total / ((c - 1) * b)


def ba_reproj_torch(torch, P, feats):
    """Packed (p, 15) parameters -> (p, 2) weighted reprojection errors."""
    rot = P[:, 0:3]
    X = P[:, 11:14] - P[:, 3:6]
    sqtheta = torch.sum(rot * rot, dim=1, keepdim=True)
    nonzero = sqtheta != 0
    theta = torch.sqrt(torch.where(nonzero, sqtheta, torch.ones_like(sqtheta)))
    costheta = torch.cos(theta)
    sintheta = torch.sin(theta)
    w = rot / theta
    w_dot_X = torch.sum(w * X, dim=1, keepdim=True)
    rotated = (X * costheta + torch.linalg.cross(w, X, dim=1) * sintheta
               + w * (w_dot_X * (1.0 - costheta)))
    Xcam = torch.where(nonzero, rotated, X + torch.linalg.cross(rot, X, dim=1))
    u = Xcam[:, 0:2] / Xcam[:, 2:3]
    rsq = torch.sum(u * u, dim=1, keepdim=True)
    distortion = 1.0 + P[:, 9:10] * rsq + P[:, 10:11] * rsq * rsq
    proj = u * distortion * P[:, 6:7] + P[:, 7:9]
    return P[:, 14:15] * (proj - feats)


def _seed_objective_torch(torch, name: str):
    if name == "logistic":
        def logistic_loss(W, b, inputs, targets):
            preds = 0.5 * (torch.tanh((inputs @ W + b) / 2) + 1)
            label_probabilities = preds * targets + (1 - preds) * (1 - targets)
            return -torch.sum(torch.log(label_probabilities))
        return logistic_loss
    if name == "mlp":
        def mlp_loss(W1, b1, W2, b2, X, Y):
            h = torch.tanh(X @ W1 + b1)
            z = h @ W2 + b2
            zs = z - torch.max(z, dim=1, keepdim=True).values
            log_probs = zs - torch.log(torch.sum(torch.exp(zs), dim=1, keepdim=True))
            return -torch.mean(torch.sum(Y * log_probs, dim=1))
        return mlp_loss
    if name == "scalar_loop":
        def scalar_loop(y, n):
            for _ in range(n):
                y = y + 0.01 * (torch.sin(y) * y - y**3)
            return y
        return scalar_loop
    if name == "rnn":
        def rnn_loss(W, U, b, h0, xs):
            h = h0
            for t in range(xs.shape[0]):
                h = torch.tanh(W @ h + U @ xs[t] + b)
            return torch.sum(h * h)
        return rnn_loss
    raise PeerUnsupported(f"no PyTorch version of seed workload {name!r}")


def _to_torch(torch, a, requires_grad=False):
    if isinstance(a, (int, np.integer)) and not isinstance(a, bool):
        return int(a)
    t = torch.as_tensor(np.asarray(a, dtype=np.float64))
    return t.requires_grad_(requires_grad)


def _torch_flat(parts) -> np.ndarray:
    return _flat([p.detach().numpy() for p in parts])


def prepare_torch(kind: str, args: tuple) -> Prepared:
    import torch

    if kind == "gmm":
        alphas, means, icf, x, gamma, m = args
        params = tuple(_to_torch(torch, p, True) for p in (alphas, means, icf))
        xt = _to_torch(torch, x)
        qidx = torch.as_tensor(gmm_mod.q_index(x.shape[1]).astype(np.int64))

        def g(*p):
            loss = gmm_objective_torch(torch, *p, xt, gamma, m, qidx)
            return torch.autograd.grad(loss, p)

        return Prepared(g, params, _torch_flat)
    if kind == "lstm":
        main, extra, state, seq = args
        params = (_to_torch(torch, main, True), _to_torch(torch, extra, True))
        st, sq = _to_torch(torch, state), _to_torch(torch, seq)

        def g(*p):
            return torch.autograd.grad(lstm_objective_torch(torch, *p, st, sq), p)

        return Prepared(g, params, _torch_flat)
    if kind == "ba":
        def blocks(cams, X, w, obs, feats):
            packed, f = _ba_packed((cams, X, w, obs, feats))
            P = _to_torch(torch, packed, True)
            out = ba_reproj_torch(torch, P, _to_torch(torch, f))
            rows = []
            for r in range(2):
                seed = torch.zeros_like(out)
                seed[:, r] = 1.0
                rows.append(torch.autograd.grad(out, P, grad_outputs=seed,
                                                retain_graph=(r == 0))[0])
            return ba_mod.assemble_jacobian(torch.stack(rows, dim=1).numpy(), w, obs,
                                            cams.shape[0], X.shape[0])

        return Prepared(blocks, args, _ba_values)
    if kind.startswith("seed:"):
        w = _seed_workload(kind)
        f = _seed_objective_torch(torch, w.name)
        idx = w.wrt_indices
        targs = tuple(_to_torch(torch, a, k in idx) for k, a in enumerate(args))

        def g(*a):
            return torch.autograd.grad(f(*a), tuple(a[k] for k in idx))

        return Prepared(g, targs, _torch_flat)
    raise PeerUnsupported(f"no PyTorch version of {kind!r}")


PREPARE = {"autograd": prepare_autograd, "jax": prepare_jax, "torch": prepare_torch}
