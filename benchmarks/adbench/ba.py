"""BA: bundle adjustment reprojection error and its sparse Jacobian (ADBench).

Camera layout: ``rot = cam[0:3]`` (Rodrigues vector), ``C = cam[3:6]`` (centre),
``f = cam[6]``, ``x0 = cam[7:9]``, ``kappa = cam[9:11]``.

Two forms, plain NumPy:

* vectorized -- :func:`ba_reproj` maps every observation's camera (p, 11),
  point (p, 3) and weight (p,) to its 2 residuals (p, 2) in whole-array
  operations; :func:`ba_objective` gathers the cameras and points of the
  observations and calls it;
* loop form -- :func:`reproj_one` is the 2 residuals of one observation as a
  function of its 15 parameters (camera, point, weight) packed in one vector;
  :func:`ba_objective_loop` loops over the observations.

The Jacobian has one dense 2 x 15 block per observation (rows 2i, 2i+1; columns of
camera obs[i, 0], point obs[i, 1] and weight i) and one entry d w_err[i] / d w_i =
-2 w_i per weight. :class:`SparseJacobian` stores it in ADBench's CSR order; the
``*_jacobian_*`` functions build it from tangent_src's derivatives.
"""

from __future__ import annotations

import dataclasses

import numpy as np

N_CAM = 11
N_PT = 3
BLOCK = N_CAM + N_PT + 1  # 15 parameters per observation

# --------------------------------------------------------------------------- vectorized


def rodrigues_rotate(rot, X):
    """Rotate each row of X (p, 3) by the Rodrigues vector in the same row of rot."""
    sqtheta = np.sum(rot * rot, axis=1, keepdims=True)
    nonzero = sqtheta != 0
    # both branches are evaluated: keep the unused one finite (theta = 1 where rot = 0)
    theta = np.sqrt(np.where(nonzero, sqtheta, 1.0))
    costheta = np.cos(theta)
    sintheta = np.sin(theta)
    w = rot / theta
    w_dot_X = np.sum(w * X, axis=1, keepdims=True)
    rotated = X * costheta + np.cross(w, X) * sintheta + w * (w_dot_X * (1.0 - costheta))
    return np.where(nonzero, rotated, X + np.cross(rot, X))


def project(cams, X):
    """Project the points X (p, 3) with the cameras (p, 11), row by row: (p, 2)."""
    Xcam = rodrigues_rotate(cams[:, 0:3], X - cams[:, 3:6])
    u = Xcam[:, 0:2] / Xcam[:, 2:3]
    rsq = np.sum(u * u, axis=1, keepdims=True)
    distortion = 1.0 + cams[:, 9:10] * rsq + cams[:, 10:11] * rsq * rsq
    return u * distortion * cams[:, 6:7] + cams[:, 7:9]


def ba_reproj(cams_obs, X_obs, w, feats):
    """Weighted reprojection error of every observation, (p, 2), from the observations'
    own cameras (p, 11), points (p, 3), weights (p,) and features (p, 2)."""
    return np.reshape(w, (-1, 1)) * (project(cams_obs, X_obs) - feats)


def ba_objective(cams, X, w, obs, feats):
    """ADBench's BA objective: (reproj_err (p, 2), w_err (p,))."""
    cams_obs = np.take(cams, obs[:, 0], axis=0)
    X_obs = np.take(X, obs[:, 1], axis=0)
    return ba_reproj(cams_obs, X_obs, w, feats), 1.0 - w * w


# --------------------------------------------------------------------------- loop form


def rodrigues_rotate_one(rot, X):
    sqtheta = np.dot(rot, rot)
    if sqtheta != 0:
        theta = np.sqrt(sqtheta)
        costheta = np.cos(theta)
        sintheta = np.sin(theta)
        w = rot / theta
        return X * costheta + np.cross(w, X) * sintheta + w * (np.dot(w, X) * (1.0 - costheta))
    return X + np.cross(rot, X)


def project_one(cam, X):
    Xcam = rodrigues_rotate_one(cam[0:3], X - cam[3:6])
    u = Xcam[0:2] / Xcam[2]
    rsq = np.dot(u, u)
    distortion = 1.0 + cam[9] * rsq + cam[10] * rsq * rsq
    return u * (distortion * cam[6]) + cam[7:9]


def reproj_one(params, feat):
    """The 2 residuals of one observation; params = concat(camera (11), point (3), w)."""
    return params[14] * (project_one(params[0:11], params[11:14]) - feat)


def ba_objective_loop(cams, X, w, obs, feats):
    """ADBench's BA objective, one observation at a time."""
    p = w.shape[0]
    reproj_err = np.empty((p, 2))
    for i in range(p):
        params = np.concatenate((cams[obs[i, 0]], X[obs[i, 1]], w[i:i + 1]))
        reproj_err[i] = reproj_one(params, feats[i])
    return reproj_err, 1.0 - w * w


# --------------------------------------------------------------------------- Jacobian


@dataclasses.dataclass
class SparseJacobian:
    """BA's Jacobian in CSR form, ADBench's layout: rows 0..2p-1 are the reprojection
    residuals (observation i: rows 2i, 2i+1), rows 2p..3p-1 the weight residuals;
    columns are the cameras' parameters (11 n), then the points' (3 m), then the
    weights (p)."""

    n_rows: int
    n_cols: int
    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray

    def to_dense(self) -> np.ndarray:
        out = np.zeros((self.n_rows, self.n_cols))
        for r in range(self.n_rows):
            lo, hi = self.indptr[r], self.indptr[r + 1]
            out[r, self.indices[lo:hi]] = self.values[lo:hi]
        return out


def assemble_jacobian(blocks, w, obs, n_cams, n_points) -> SparseJacobian:
    """CSR Jacobian from the per-observation blocks (p, 2, 15) and the weights.

    Each array is allocated once and filled through views (column numbers broadcast into
    the (p, 2, 15) block layout): fresh large temporaries cost page faults, which made this
    2x the objective when it built them by concatenating repeated copies."""
    p = w.shape[0]
    point_base = N_CAM * n_cams
    weight_base = point_base + N_PT * n_points
    dense = 2 * p * BLOCK
    indices = np.empty(dense + p, dtype=np.int64)
    cols = indices[:dense].reshape(p, 2, BLOCK)  # ascending within a row
    cols[:, :, :N_CAM] = (obs[:, 0:1] * N_CAM + np.arange(N_CAM))[:, None, :]
    cols[:, :, N_CAM:N_CAM + N_PT] = (point_base + obs[:, 1:2] * N_PT
                                      + np.arange(N_PT))[:, None, :]
    weight_cols = np.arange(weight_base, weight_base + p)
    cols[:, :, N_CAM + N_PT] = weight_cols[:, None]
    indices[dense:] = weight_cols
    indptr = np.empty(3 * p + 1, dtype=np.int64)
    indptr[:2 * p + 1] = np.arange(0, dense + 1, BLOCK)
    indptr[2 * p + 1:] = np.arange(dense + 1, dense + p + 1)
    values = np.empty(dense + p)
    values[:dense].reshape(p, 2, BLOCK)[...] = blocks
    np.multiply(w, -2.0, out=values[dense:])
    return SparseJacobian(3 * p, weight_base + p, indptr, indices, values)


def gather(cams, X, w, obs):
    return np.take(cams, obs[:, 0], axis=0), np.take(X, obs[:, 1], axis=0)


def blocks_to_jacobian(blocks_cam, blocks_pt, blocks_w):
    """(p, 2, 11), (p, 2, 3), (p, 2) -> (p, 2, 15)."""
    return np.concatenate((blocks_cam, blocks_pt, blocks_w[:, :, None]), axis=2)


def make_vectorized_jacobian(tangent_src, mode="rev", backend="python"):
    """A function (cams, X, w, obs, feats) -> SparseJacobian from tangent_src's derivative
    of :func:`ba_reproj`: mode "rev" makes 2 reverse passes (cotangent e_r on every
    observation's residual r; the observations are independent so one pass gives row r
    of every block), mode "fwd" 15 forward passes (tangent e_k in every observation).
    ``backend="numba"`` compiles the reverse passes with numba."""
    if mode in ("rev", "reverse") and backend == "python":

        def jacobian(cams, X, w, obs, feats):
            # one vjp (the forward pass once), two pullbacks: JAX's column does the same
            cams_obs, X_obs = gather(cams, X, w, obs)
            p = w.shape[0]
            pullback = tangent_src.vjp(ba_reproj, cams_obs, X_obs, w, feats,
                                       wrt=(0, 1, 2))[1]  # (the value is not needed)
            blocks = np.empty((p, 2, BLOCK))
            for r in range(2):
                seed = np.zeros((p, 2))
                seed[:, r] = 1.0
                dcam, dpt, dw = pullback(seed)
                blocks[:, r, :N_CAM] = dcam
                blocks[:, r, N_CAM:N_CAM + N_PT] = dpt
                blocks[:, r, N_CAM + N_PT] = dw
                del dcam, dpt, dw  # (each row's arrays freed before the next is built)
            # the forward pass's saved values freed before the CSR arrays are built, as
            # JAX's jitted rows free theirs: else the heap holds both (~41 MB above the
            # objective's), past glibc's trim threshold in some processes
            del pullback
            return assemble_jacobian(blocks, w, obs, cams.shape[0], X.shape[0])

    elif mode in ("rev", "reverse"):  # numba: vjp's pullback is the Python back end's
        adjoint = tangent_src.autodiff(ba_reproj, mode="reverse", wrt=(0, 1, 2),
                                       backend=backend)

        def jacobian(cams, X, w, obs, feats):
            cams_obs, X_obs = gather(cams, X, w, obs)
            p = w.shape[0]
            blocks = np.empty((p, 2, BLOCK))
            for r in range(2):
                seed = np.zeros((p, 2))
                seed[:, r] = 1.0
                dcam, dpt, dw = adjoint(cams_obs, X_obs, w, feats, seed)
                blocks[:, r, :N_CAM] = dcam
                blocks[:, r, N_CAM:N_CAM + N_PT] = dpt
                blocks[:, r, N_CAM + N_PT] = dw
                del dcam, dpt, dw
            return assemble_jacobian(blocks, w, obs, cams.shape[0], X.shape[0])

    elif mode in ("fwd", "forward"):
        tangent = tangent_src.autodiff(ba_reproj, mode="forward", wrt=(0, 1, 2),
                                       backend=backend)

        def jacobian(cams, X, w, obs, feats):
            cams_obs, X_obs = gather(cams, X, w, obs)
            p = w.shape[0]
            blocks = np.empty((p, 2, BLOCK))
            zc, zp, zw = np.zeros_like(cams_obs), np.zeros_like(X_obs), np.zeros_like(w)
            for k in range(BLOCK):
                tc, tp, tw = zc, zp, zw
                if k < N_CAM:
                    tc = zc.copy()
                    tc[:, k] = 1.0
                elif k < N_CAM + N_PT:
                    tp = zp.copy()
                    tp[:, k - N_CAM] = 1.0
                else:
                    tw = np.ones_like(w)
                blocks[:, :, k] = tangent(cams_obs, X_obs, w, feats, tc, tp, tw)
            return assemble_jacobian(blocks, w, obs, cams.shape[0], X.shape[0])

    else:
        raise ValueError(f"mode must be 'rev' or 'fwd', not {mode!r}")
    return jacobian


def make_loop_jacobian(tangent_src, mode="rev"):
    """A function (cams, X, w, obs, feats) -> SparseJacobian calling
    ``tangent_src.jacobian(reproj_one, mode=mode)`` once per observation (2 x 15)."""
    jac_one = tangent_src.jacobian(reproj_one, wrt=0, mode=mode)

    def jacobian(cams, X, w, obs, feats):
        p = w.shape[0]
        blocks = np.empty((p, 2, BLOCK))
        for i in range(p):
            params = np.concatenate((cams[obs[i, 0]], X[obs[i, 1]], w[i:i + 1]))
            blocks[i] = jac_one(params, feats[i])
        return assemble_jacobian(blocks, w, obs, cams.shape[0], X.shape[0])

    return jacobian
