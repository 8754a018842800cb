"""GMM: log-likelihood of a Gaussian mixture with a Wishart prior (ADBench).

Two forms of the same objective, both plain NumPy that tangent_src differentiates:

* :func:`gmm_objective` -- vectorized: every point and component at once
  (batched matrix products, one log-sum-exp over the components);
* :func:`gmm_objective_loop` -- loop form: Python loops over the points and the
  components, small vector operations inside.

Arguments (both forms): ``alphas (K,)``, ``means (K, d)``, ``icf (K, d + d(d-1)/2)``,
``x (n, d)``, ``wishart_gamma``, ``wishart_m``. Row k of icf holds the log of
Q_k's diagonal, then Q_k's strictly lower triangle column by column.

:func:`gmm_objective_grad_hand` is a hand-written gradient of the vectorized form.
"""

from __future__ import annotations

import math
import types

import numpy as np

_Q_INDEX: dict[int, np.ndarray] = {}


def q_index(d):
    """(d, d) integer array placing a row ``[exp(q) (d), l (d(d-1)/2), 0]`` into Q:
    ``Q[r, c] = row[q_index(d)[r, c]]`` (diagonal, column-major strict lower
    triangle, and the trailing zero above the diagonal). Built once per d."""
    found = _Q_INDEX.get(d)
    if found is None:
        found = build_q_index(d)
        found.setflags(write=False)
        _Q_INDEX[d] = found
    return found


def build_q_index(d):
    """What :func:`q_index` returns, built every call (numba compiles this; it cannot
    compile q_index's dictionary)."""
    tri = d * (d - 1) // 2
    found = np.full((d, d), d + tri, dtype=np.intp)
    for j in range(d):
        found[j, j] = j
    pos = d
    for c in range(d):
        for r in range(c + 1, d):
            found[r, c] = pos
            pos += 1
    return found


def numba_form(func):
    """``func`` reading :func:`build_q_index` as ``q_index``: the form numba compiles
    (the same objective; only the table's cache is gone)."""
    namespace = dict(globals())
    namespace["q_index"] = build_q_index
    return types.FunctionType(func.__code__, namespace, func.__name__, func.__defaults__,
                              func.__closure__)


def wishart_constant(d, wishart_gamma, wishart_m):
    """C = N d (log gamma - log(2)/2) - log Gamma_d(N/2), N = d + m + 1 (no parameters)."""
    N = d + wishart_m + 1
    a = 0.5 * N
    log_gamma_d = 0.25 * d * (d - 1) * math.log(math.pi)
    for j in range(1, d + 1):
        log_gamma_d = log_gamma_d + math.lgamma(a + 0.5 * (1 - j))
    return N * d * (math.log(wishart_gamma) - 0.5 * math.log(2.0)) - log_gamma_d


def logsumexp(a, axis):
    """log(sum(exp(a), axis)), shifted by the maximum for stability."""
    mx = np.max(a, axis=axis, keepdims=True)
    return np.log(np.sum(np.exp(a - mx), axis=axis)) + np.squeeze(mx, axis=axis)


# --------------------------------------------------------------------------- vectorized


def gmm_objective(alphas, means, icf, x, wishart_gamma, wishart_m):
    """ADBench's GMM objective, vectorized over points and components."""
    n = x.shape[0]
    d = x.shape[1]
    K = alphas.shape[0]
    qs = icf[:, :d]
    ls = icf[:, d:]
    diag = np.exp(qs)
    sum_qs = np.sum(qs, axis=1)
    # Q_k = diag(exp(q_k)) + L_k, all K at once: (K, d, d)
    rows = np.concatenate((diag, ls, np.zeros((K, 1))), axis=1)
    Qs = rows[:, q_index(d)]
    # x_i - mu_k for every component and point: (K, d, n)
    xc = np.reshape(x.T, (1, d, n)) - np.reshape(means, (K, d, 1))
    Qxc = Qs @ xc
    sqsum = np.sum(Qxc * Qxc, axis=1)  # (K, n)
    main = np.reshape(alphas + sum_qs, (K, 1)) - 0.5 * sqsum
    slse = np.sum(logsumexp(main, 0))
    lse_alphas = logsumexp(alphas, 0)
    prior = (0.5 * wishart_gamma * wishart_gamma * (np.sum(diag * diag) + np.sum(ls * ls))
             - wishart_m * np.sum(sum_qs))
    const = -0.5 * n * d * math.log(2 * math.pi) - K * wishart_constant(
        d, wishart_gamma, wishart_m)
    return const + slse - n * lse_alphas + prior


# --------------------------------------------------------------------------- loop form


def gmm_objective_loop(alphas, means, icf, x, wishart_gamma, wishart_m):
    """ADBench's GMM objective with Python loops over components and points."""
    n = x.shape[0]
    d = x.shape[1]
    K = alphas.shape[0]
    # Q_k = diag(exp(q_k)) + L_k, filled entry by entry
    Qs = np.zeros((K, d, d))
    for k in range(K):
        for j in range(d):
            Qs[k, j, j] = np.exp(icf[k, j])
        pos = d
        for c in range(d):
            for r in range(c + 1, d):
                Qs[k, r, c] = icf[k, pos]
                pos += 1
    sum_qs = np.sum(icf[:, :d], axis=1)
    prior = 0.5 * wishart_gamma * wishart_gamma * np.sum(Qs * Qs) - wishart_m * np.sum(sum_qs)
    total = 0.0
    for i in range(n):
        lse = 0.0
        for k in range(K):
            xc = x[i] - means[k]
            Qxc = Qs[k] @ xc
            v = alphas[k] + sum_qs[k] - 0.5 * np.dot(Qxc, Qxc)
            if k == 0:
                lse = v
            else:
                lse = np.logaddexp(lse, v)
        total = total + lse
    lse_alphas = alphas[0]
    for k in range(1, K):
        lse_alphas = np.logaddexp(lse_alphas, alphas[k])
    const = -0.5 * n * d * math.log(2 * math.pi) - K * wishart_constant(
        d, wishart_gamma, wishart_m)
    return const + total - n * lse_alphas + prior


# --------------------------------------------------------------------------- hand-written


def gmm_objective_grad_hand(alphas, means, icf, x, wishart_gamma, wishart_m):
    """Hand-written gradient of :func:`gmm_objective` w.r.t. (alphas, means, icf)."""
    n, d = x.shape
    K = alphas.shape[0]
    qs = icf[:, :d]
    ls = icf[:, d:]
    diag = np.exp(qs)
    rows = np.concatenate((diag, ls, np.zeros((K, 1))), axis=1)
    Qs = rows[:, q_index(d)]
    xc = x.T[None, :, :] - means[:, :, None]  # (K, d, n)
    Qxc = Qs @ xc
    main = (alphas + qs.sum(axis=1))[:, None] - 0.5 * np.einsum("kdn,kdn->kn", Qxc, Qxc)
    P = np.exp(main - main.max(axis=0))
    P /= P.sum(axis=0)  # softmax over components, (K, n)
    pa = np.exp(alphas - alphas.max())
    pa /= pa.sum()
    G = Qxc * -P[:, None, :]  # d objective / d Qxc
    dQ = G @ xc.transpose(0, 2, 1)  # (K, d, d)
    dmeans = -np.einsum("kji,kj->ki", Qs, G.sum(axis=2))  # -Q_k^T sum_i G_k[:, i]
    dalphas = P.sum(axis=1) - n * pa
    g2 = wishart_gamma * wishart_gamma
    dicf = np.empty_like(icf)
    dicf[:, :d] = (P.sum(axis=1)[:, None] + np.diagonal(dQ, axis1=1, axis2=2) * diag
                   + g2 * diag * diag - wishart_m)
    r, c = np.nonzero(np.tril(np.ones((d, d), dtype=bool), -1).T)  # column-major lower
    dicf[:, d:] = dQ[:, c, r] + g2 * ls
    return dalphas, dmeans, dicf


def gmm_objective_loop_grad_hand(alphas, means, icf, x, wishart_gamma, wishart_m):
    """Hand-written gradient of :func:`gmm_objective_loop`, in the same loop form: the
    objective's loops, then each point's contribution accumulated component by component."""
    n, d = x.shape
    K = alphas.shape[0]
    lower = [(r, c) for c in range(d) for r in range(c + 1, d)]  # icf order
    Qs = []
    for k in range(K):
        Q = np.diag(np.exp(icf[k, :d]))
        for pos, (r, c) in enumerate(lower):
            Q[r, c] = icf[k, d + pos]
        Qs.append(Q)
    sum_qs = icf[:, :d].sum(axis=1)
    dalphas = np.zeros(K)
    dmeans = np.zeros((K, d))
    dQs = np.zeros((K, d, d))
    dsum_qs = np.zeros(K)
    v = np.empty(K)
    xcs = np.empty((K, d))
    Qxcs = np.empty((K, d))
    for i in range(n):
        for k in range(K):
            xc = x[i] - means[k]
            Qxc = Qs[k] @ xc
            xcs[k] = xc
            Qxcs[k] = Qxc
            v[k] = alphas[k] + sum_qs[k] - 0.5 * np.dot(Qxc, Qxc)
        mx = v.max()
        P = np.exp(v - mx)
        P /= P.sum()
        for k in range(K):
            dalphas[k] += P[k]
            dsum_qs[k] += P[k]
            G = -P[k] * Qxcs[k]
            dQs[k] += np.outer(G, xcs[k])
            dmeans[k] -= Qs[k].T @ G
    pa = np.exp(alphas - alphas.max())
    dalphas -= n * pa / pa.sum()
    g2 = wishart_gamma * wishart_gamma
    dicf = np.empty_like(icf)
    for k in range(K):
        q = np.exp(icf[k, :d])
        dicf[k, :d] = dsum_qs[k] + np.diagonal(dQs[k]) * q + g2 * q * q - wishart_m
        for pos, (r, c) in enumerate(lower):
            dicf[k, d + pos] = dQs[k, r, c] + g2 * icf[k, d + pos]
    return dalphas, dmeans, dicf


def flat_gradient(grads) -> np.ndarray:
    """(dalphas, dmeans, dicf) -> one vector in ADBench's order."""
    return np.concatenate([np.ravel(g) for g in grads])
