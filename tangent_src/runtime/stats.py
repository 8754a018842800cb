"""Shape helpers for the scipy.stats rules (rules/stats.py): multivariate_normal's residual
and covariance read the way SciPy reads them (its precision a pseudo-inverse for a singular
covariance, its derivatives those along the covariance's support), and dirichlet's alpha
laid along x's first axis. Each has rules of its own, so the derivatives that call them can
be differentiated again."""
from __future__ import annotations

import numpy as np

from .refusals import refuse


def _mvn_dim(mean, cov) -> int:
    """multivariate_normal's dimension as SciPy infers it: mean's size, else cov's rows."""
    if mean is not None:
        return int(np.size(mean))
    cov = np.asarray(cov)
    return int(cov.shape[0]) if cov.ndim == 2 else 1


def mvn_residual(x, mean, cov):
    """x - mean with x's last axis the dimension: for a 1-dimensional distribution SciPy
    reads a scalar or vector x as samples, here a column."""
    x = np.asarray(x, dtype=float)
    if _mvn_dim(mean, cov) == 1 and x.ndim <= 1:
        x = np.reshape(x, (-1, 1))
    return x - (0.0 if mean is None else np.asarray(mean, dtype=float))


def mvn_cov(cov, r):
    """The symmetric (k, k) covariance SciPy uses: a scalar times the identity, a vector on
    the diagonal, or a matrix's lower triangle mirrored (SciPy's eigh reads only that)."""
    cov = np.asarray(cov, dtype=float)
    k = np.shape(r)[-1]
    if cov.ndim == 0:
        return cov * np.eye(k)
    if cov.ndim == 1:
        return np.diag(cov)
    if cov.ndim != 2:
        refuse("multivariate_normal: cov must be a scalar, a vector or a matrix")
    return np.tril(cov) + np.tril(cov, -1).T


def mvn_cov_t(g, cov):
    """The adjoint of mvn_cov: g (k, k) read back into cov's form (trace, diagonal, or the
    lower triangle with the mirrored entries added)."""
    g = np.asarray(g, dtype=float)
    ndim = np.ndim(cov)
    if ndim == 0:
        return np.trace(g)
    if ndim == 1:
        return np.diagonal(g).copy()
    return np.tril(g) + np.tril(g.T, -1)


def _psd_cutoff(s):
    """SciPy's threshold below which an eigenvalue of a covariance counts as zero
    (scipy.stats._multivariate._eigvalsh_to_eps: 1e6 float64 epsilons of the largest)."""
    return 1e6 * np.finfo(float).eps * np.max(np.abs(s))


def mvn_zeros(mean, cov):
    """A zero residual of multivariate_normal's dimension (what mvn_cov reads it from)."""
    return np.zeros(_mvn_dim(mean, cov))


def mvn_precision(c, allow_singular):
    """The precision matrix SciPy's density uses: inv(c), or with `allow_singular` the
    pseudo-inverse over the eigenvalues SciPy counts as nonzero (its _PSD). For a singular
    c the derivatives built on it (-P dC P, (s s^T - P) / 2) are those along the
    perturbations that keep c's range, the only ones along which the density is continuous:
    they lie in that range themselves (a step along them keeps the structure)."""
    if not allow_singular:
        return np.linalg.inv(c)
    s, u = np.linalg.eigh(c)
    keep = s > _psd_cutoff(s)
    inverse = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
    return (u * inverse) @ u.T


def mvn_in_support(g, y):
    """`g` when every log density y is finite; refused where x - mean leaves a singular
    covariance's support (SciPy's logpdf is -inf there: no derivative)."""
    if np.any(np.isneginf(y)):
        refuse("multivariate_normal.logpdf is -inf (x - mean outside the singular "
               "covariance's support): its derivative is not defined", undefined=True)
    return g


def dirichlet_alpha(alpha, x):
    """alpha (k,) shaped to broadcast along x's first axis (SciPy's dirichlet puts the
    components first: x is (k,) or (k, n)); x with k - 1 components is refused."""
    alpha = np.asarray(alpha, dtype=float)
    if alpha.ndim != 1 or np.shape(x)[:1] != alpha.shape:
        refuse("dirichlet: derivatives need x with all k components along its first axis "
               "(x.shape[0] == len(alpha)); append 1 - sum(x) yourself")
    return np.reshape(alpha, alpha.shape + (1,) * (np.ndim(x) - 1))


def derivative_refused(message, like, undefined=False):
    """Refuse a derivative a scipy.stats rule does not have (`like` ties the call to the
    adjoint or tangent it would compute, so it runs only when that one is needed)."""
    refuse(message, undefined=undefined)


def t_logpdf(x, df, loc, scale):
    """scipy.stats.t.logpdf: the density the cdf rules of the shape families need (its
    derivatives are those of the distribution's own logpdf)."""
    import scipy.stats
    return scipy.stats.t.logpdf(x, df, loc, scale)


def gamma_logpdf(x, a, loc, scale):
    """scipy.stats.gamma.logpdf (see t_logpdf)."""
    import scipy.stats
    return scipy.stats.gamma.logpdf(x, a, loc, scale)


def chi2_logpdf(x, df, loc, scale):
    """scipy.stats.chi2.logpdf (see t_logpdf)."""
    import scipy.stats
    return scipy.stats.chi2.logpdf(x, df, loc, scale)


def beta_logpdf(x, a, b, loc, scale):
    """scipy.stats.beta.logpdf (see t_logpdf)."""
    import scipy.stats
    return scipy.stats.beta.logpdf(x, a, b, loc, scale)


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("mvn_residual", "mvn_cov", "mvn_cov_t", "mvn_zeros", "mvn_precision",
           "mvn_in_support", "dirichlet_alpha", "derivative_refused",
           "t_logpdf", "gamma_logpdf", "chi2_logpdf", "beta_logpdf")
