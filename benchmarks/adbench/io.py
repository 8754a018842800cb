"""Readers for ADBench's input files (GMM, BA, LSTM).

The data live in the steering checkout's ``shared/data/adbench/`` folder beside
this repository (``<repo>/../shared/data/adbench``); the environment variable
``ADBENCH_DATA`` points elsewhere. The formats are described in that folder's
``OBJECTIVES.md``; every reader returns float64 NumPy arrays.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """The ADBench data folder (``$ADBENCH_DATA`` or ``<repo>/../shared/data/adbench``)."""
    env = os.environ.get("ADBENCH_DATA")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data" / "adbench"


def data_path(relative: str) -> Path:
    return data_dir() / relative


def reference_values() -> dict:
    with open(data_path("reference_values.json"), encoding="utf-8") as fh:
        return json.load(fh)


def _numbers(path: Path) -> list[str]:
    with open(path, encoding="utf-8") as fh:
        return fh.read().split()


# --------------------------------------------------------------------------- GMM


@dataclasses.dataclass
class GMMInput:
    alphas: np.ndarray  # (K,)
    means: np.ndarray  # (K, d)
    icf: np.ndarray  # (K, d + d(d-1)/2)
    x: np.ndarray  # (n, d)
    wishart_gamma: float
    wishart_m: float

    @property
    def args(self) -> tuple:
        """The objective's arguments, in order."""
        return (self.alphas, self.means, self.icf, self.x, self.wishart_gamma,
                self.wishart_m)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(d, K, n)."""
        return self.means.shape[1], self.alphas.shape[0], self.x.shape[0]

    @property
    def n_params(self) -> int:
        return self.alphas.size + self.means.size + self.icf.size


def read_gmm(path, replicate_point: bool | None = None) -> GMMInput:
    """Read a GMM file: ``d K n``, alphas, means, icf, x, then ``gamma m``.

    With ``replicate_point`` the file holds a single point that is repeated ``n``
    times (ADBench's ``gmm/2.5M/`` files). ``None`` decides from the file: one
    point line for ``n > 1`` means replicate.
    """
    tok = _numbers(Path(path))
    d, K, n = (int(t) for t in tok[:3])
    pos = 3
    icf_size = d + d * (d - 1) // 2

    def take(count):
        nonlocal pos
        out = np.array(tok[pos:pos + count], dtype=np.float64)
        if out.size != count:
            raise ValueError(f"{path}: file ends early (wanted {count} numbers at {pos})")
        pos += count
        return out

    alphas = take(K)
    means = take(K * d).reshape(K, d)
    icf = take(K * icf_size).reshape(K, icf_size)
    remaining = len(tok) - pos
    if replicate_point is None:
        replicate_point = n > 1 and remaining == d + 2
    if replicate_point:
        point = take(d)
        x = np.tile(point, (n, 1))
    else:
        x = take(n * d).reshape(n, d)
    gamma, m = take(2)
    return GMMInput(alphas, means, icf, x, float(gamma), float(m))


# --------------------------------------------------------------------------- BA


@dataclasses.dataclass
class BAInput:
    cams: np.ndarray  # (n, 11)
    X: np.ndarray  # (m, 3)
    w: np.ndarray  # (p,)
    obs: np.ndarray  # (p, 2) int: (camera index, point index)
    feats: np.ndarray  # (p, 2)

    @property
    def args(self) -> tuple:
        return (self.cams, self.X, self.w, self.obs, self.feats)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(n, m, p)."""
        return self.cams.shape[0], self.X.shape[0], self.w.shape[0]


def read_ba(path) -> BAInput:
    """Read a BA file: ``n m p``, one camera, one point, one weight, one feature.

    Replicated as ADBench does: n copies of the camera, m of the point, p of the
    weight and of the feature, and observation i is (camera i mod n, point i mod m).
    """
    tok = _numbers(Path(path))
    n, m, p = (int(t) for t in tok[:3])
    vals = np.array(tok[3:3 + 11 + 3 + 1 + 2], dtype=np.float64)
    if vals.size != 17:
        raise ValueError(f"{path}: expected 17 numbers after the header, got {vals.size}")
    cam, point, weight, feat = vals[:11], vals[11:14], vals[14], vals[15:17]
    cams = np.tile(cam, (n, 1))
    X = np.tile(point, (m, 1))
    w = np.full(p, weight)
    feats = np.tile(feat, (p, 1))
    i = np.arange(p)
    obs = np.stack([i % n, i % m], axis=1)
    return BAInput(cams, X, w, obs, feats)


# --------------------------------------------------------------------------- LSTM


@dataclasses.dataclass
class LSTMInput:
    main_params: np.ndarray  # (2l, 4b)
    extra_params: np.ndarray  # (3, b)
    state: np.ndarray  # (2l, b)
    sequence: np.ndarray  # (c, b)

    @property
    def args(self) -> tuple:
        return (self.main_params, self.extra_params, self.state, self.sequence)

    @property
    def shape(self) -> tuple[int, int, int]:
        """(l, c, b)."""
        return (self.main_params.shape[0] // 2, self.sequence.shape[0],
                self.sequence.shape[1])

    @property
    def n_params(self) -> int:
        return self.main_params.size + self.extra_params.size


def read_lstm(path) -> LSTMInput:
    """Read an LSTM file: ``l c b``, then main params (2l x 4b), extra params
    (3 x b), state (2l x b) and the sequence (c x b), blocks separated by blank lines."""
    tok = _numbers(Path(path))
    layers, c, b = (int(t) for t in tok[:3])
    sizes = [2 * layers * 4 * b, 3 * b, 2 * layers * b, c * b]
    vals = np.array(tok[3:], dtype=np.float64)
    if vals.size != sum(sizes):
        raise ValueError(f"{path}: expected {sum(sizes)} numbers, got {vals.size}")
    main, extra, state, seq = np.split(vals, np.cumsum(sizes)[:-1])
    return LSTMInput(main.reshape(2 * layers, 4 * b), extra.reshape(3, b),
                     state.reshape(2 * layers, b), seq.reshape(c, b))
