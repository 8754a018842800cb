"""ADBench workloads (benchmarks/adbench/): readers, objectives and tangent_src's derivatives
against ADBench's reference values (reference_values.json), by ADBench's criterion
|x - y| / max(1, |x| + |y|) <= 1e-8, in reverse and forward mode."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import tangent_src  # noqa: E402
from benchmarks.adbench import ba, gmm, lstm  # noqa: E402
from benchmarks.adbench.io import (  # noqa: E402
    data_dir,
    data_path,
    read_ba,
    read_gmm,
    read_lstm,
    reference_values,
)
from benchmarks.adbench.suite import adbench_error, fd_check  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (data_dir() / "reference_values.json").exists(),
    reason=f"ADBench data not found at {data_dir()} (set ADBENCH_DATA)")

TOL = 1e-8


def assert_close(computed, expected, what=""):
    err = adbench_error(np.ravel(computed), np.ravel(expected))
    assert err <= TOL, f"{what}: ADBench error {err:.3e} > {TOL:g}"


@pytest.fixture(scope="module")
def ref():
    return reference_values()


# --------------------------------------------------------------------------- readers


def test_read_gmm_test_file():
    g = read_gmm(data_path("gmm/test.txt"))
    assert g.shape == (2, 3, 1)
    assert g.icf.shape == (3, 3)
    assert g.x.shape == (1, 2)
    assert (g.wishart_gamma, g.wishart_m) == (1.0, 0.0)


def test_read_gmm_replicated_point():
    g = read_gmm(data_path("gmm/2.5M/gmm_d2_K5.txt"))
    assert g.x.shape == (2_500_000, 2)
    assert np.all(g.x == g.x[0])
    assert g.alphas.shape == (5,) and g.icf.shape == (5, 3)
    assert (g.wishart_gamma, g.wishart_m) == (1.0, 0.0)
    small = read_gmm(data_path("gmm/1k/gmm_d2_K5.txt"))
    assert small.x.shape == (1000, 2) and not np.all(small.x == small.x[0])


def test_read_ba_replicates_like_adbench():
    b = read_ba(data_path("ba/ba1_n49_m7776_p31843.txt"))
    assert b.shape == (49, 7776, 31843)
    assert b.cams.shape == (49, 11) and np.all(b.cams == b.cams[0])
    assert b.X.shape == (7776, 3) and b.feats.shape == (31843, 2)
    i = np.arange(31843)
    assert np.array_equal(b.obs[:, 0], i % 49) and np.array_equal(b.obs[:, 1], i % 7776)


def test_read_lstm():
    L = read_lstm(data_path("lstm/lstm_l2_c1024.txt"))
    assert L.shape == (2, 1024, 14)
    assert L.main_params.shape == (4, 56) and L.extra_params.shape == (3, 14)
    assert L.state.shape == (4, 14) and L.sequence.shape == (1024, 14)
    assert L.n_params == 266


# --------------------------------------------------------------------------- GMM


@pytest.fixture(scope="module")
def gmm_test():
    return read_gmm(data_path("gmm/test.txt"))


@pytest.mark.parametrize("objective", [gmm.gmm_objective, gmm.gmm_objective_loop])
def test_gmm_objective(objective, gmm_test, ref):
    assert_close(objective(*gmm_test.args), ref["gmm_test_txt"]["objective"], "objective")


@pytest.mark.parametrize("objective", [gmm.gmm_objective, gmm.gmm_objective_loop])
def test_gmm_gradient_reverse(objective, gmm_test, ref):
    grads = tangent_src.grad(objective, wrt=(0, 1, 2))(*gmm_test.args)
    assert_close(gmm.flat_gradient(grads), ref["gmm_test_txt"]["gradient"], "gradient")


@pytest.mark.parametrize("objective", [gmm.gmm_objective, gmm.gmm_objective_loop])
def test_gmm_gradient_forward(objective, gmm_test, ref):
    """One forward pass per parameter (tangent_src.jacobian with mode='fwd')."""
    grads = [tangent_src.jacobian(objective, wrt=k, mode="fwd")(*gmm_test.args)
             for k in range(3)]
    assert_close(gmm.flat_gradient(grads), ref["gmm_test_txt"]["gradient"], "gradient")


@pytest.mark.parametrize("hand", [gmm.gmm_objective_grad_hand,
                                  gmm.gmm_objective_loop_grad_hand])
def test_gmm_hand_gradient(hand, gmm_test, ref):
    assert_close(gmm.flat_gradient(hand(*gmm_test.args)), ref["gmm_test_txt"]["gradient"],
                 "hand-written gradient")


def test_gmm_1k_forms_agree():
    """Both forms, tangent_src and the hand-written gradients agree on a 1k-point input,
    and the hand-written gradient matches finite differences."""
    g = read_gmm(data_path("gmm/1k/gmm_d2_K5.txt"))
    assert_close(gmm.gmm_objective_loop(*g.args), gmm.gmm_objective(*g.args), "objective")
    hand = gmm.gmm_objective_grad_hand(*g.args)
    assert fd_check(gmm.gmm_objective, g.args, (0, 1, 2), hand) < 1e-6
    expected = gmm.flat_gradient(hand)
    assert_close(gmm.flat_gradient(gmm.gmm_objective_loop_grad_hand(*g.args)), expected,
                 "loop hand")
    for objective in (gmm.gmm_objective, gmm.gmm_objective_loop):
        grads = tangent_src.grad(objective, wrt=(0, 1, 2))(*g.args)
        assert_close(gmm.flat_gradient(grads), expected, objective.__name__)


# --------------------------------------------------------------------------- BA


@pytest.fixture(scope="module")
def ba_test():
    return read_ba(data_path("ba/test.txt"))


@pytest.mark.parametrize("objective", [ba.ba_objective, ba.ba_objective_loop])
def test_ba_objective(objective, ba_test):
    reproj_err, w_err = objective(*ba_test.args)
    assert reproj_err.shape == (10, 2) and w_err.shape == (10,)
    assert_close(reproj_err, np.array([-0.2690488492351894, 0.2599447926779019] * 10),
                 "reproj_err")
    assert_close(w_err, np.full(10, 0.826092651516), "w_err")


@pytest.mark.parametrize("form", ["vectorized", "loop"])
@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_ba_jacobian(form, mode, ba_test, ref):
    make = ba.make_vectorized_jacobian if form == "vectorized" else ba.make_loop_jacobian
    J = make(tangent_src, mode)(*ba_test.args)
    expected = ref["ba_test_txt"]["raw_expressions"]["expected_J_values"]
    assert J.values.shape == (310,)
    assert_close(J.values, expected, f"{form} {mode} Jacobian values")


def _ba_stacked(theta, obs, feats, n, m):
    """BA's residuals (reproj_err flattened, then w_err) as a function of all parameters."""
    cams = np.reshape(theta[:11 * n], (n, 11))
    X = np.reshape(theta[11 * n:11 * n + 3 * m], (m, 3))
    w = theta[11 * n + 3 * m:]
    reproj_err, w_err = ba.ba_objective(cams, X, w, obs, feats)
    return np.concatenate((np.reshape(reproj_err, (-1,)), w_err))


def test_ba_sparse_layout_matches_dense_jacobian(ba_test):
    """The CSR rows and columns: the whole dense Jacobian, by tangent_src.jacobian."""
    cams, X, w, obs, feats = ba_test.args
    n, m, p = ba_test.shape
    theta = np.concatenate((cams.ravel(), X.ravel(), w))
    dense = tangent_src.jacobian(_ba_stacked, wrt=0, mode="rev")(theta, obs, feats, n, m)
    J = ba.make_vectorized_jacobian(tangent_src, "rev")(*ba_test.args)
    assert (J.n_rows, J.n_cols) == dense.shape == (3 * p, 11 * n + 3 * m + p)
    assert np.all(np.diff(J.indptr) > 0)
    assert_close(J.to_dense(), dense, "dense Jacobian")


def test_ba_blocks_on_varied_input():
    """On distinct cameras and points (ADBench's copies are all equal), including a zero
    rotation (the other branch of Rodrigues' formula): vectorized and loop forms, reverse
    and forward mode all agree."""
    rng = np.random.default_rng(0)
    n, m, p = 3, 5, 8
    cams = np.tile(read_ba(data_path("ba/test.txt")).cams[0], (n, 1))
    cams = cams * (1 + 0.1 * rng.standard_normal(cams.shape))
    cams[1, 0:3] = 0.0
    X = rng.standard_normal((m, 3)) + np.array([0.0, 0.0, 5.0])
    w = rng.uniform(0.5, 1.5, p)
    obs = np.stack([np.arange(p) % n, (3 * np.arange(p)) % m], axis=1)
    feats = rng.standard_normal((p, 2))
    args = (cams, X, w, obs, feats)
    assert_close(ba.ba_objective_loop(*args)[0], ba.ba_objective(*args)[0], "objective")
    reference = ba.make_vectorized_jacobian(tangent_src, "rev")(*args).values
    for make, mode in [(ba.make_vectorized_jacobian, "fwd"), (ba.make_loop_jacobian, "rev"),
                       (ba.make_loop_jacobian, "fwd")]:
        assert_close(make(tangent_src, mode)(*args).values, reference, f"{make.__name__} {mode}")


# --------------------------------------------------------------------------- LSTM


@pytest.fixture(scope="module")
def lstm_input():
    return read_lstm(data_path("lstm/lstm_l2_c1024.txt"))


def test_lstm_objective(lstm_input, ref):
    value = lstm.lstm_objective(*lstm_input.args)
    assert_close(value, ref["lstm_l2_c1024"]["objective_approx(1e-8 tol vs 0.66666518 as written)"],
                 "objective")


def test_lstm_gradient_reverse(lstm_input, ref):
    grads = tangent_src.grad(lstm.lstm_objective, wrt=(0, 1))(*lstm_input.args)
    assert_close(lstm.flat_gradient(grads), ref["lstm_l2_c1024"]["gradient"], "gradient")


def test_lstm_hand_gradient(lstm_input, ref):
    grads = lstm.lstm_objective_grad_hand(*lstm_input.args)
    assert_close(lstm.flat_gradient(grads), ref["lstm_l2_c1024"]["gradient"], "hand gradient")


def test_lstm_forward_mode(lstm_input, ref):
    """A forward-mode directional derivative (jvp) equals <reference gradient, v>."""
    rng = np.random.default_rng(1)
    main, extra, state, seq = lstm_input.args
    v_main = rng.standard_normal(main.shape)
    v_extra = rng.standard_normal(extra.shape)
    _, tangent = tangent_src.jvp(
        lstm.lstm_objective, (main, extra, state, seq),
        (v_main, v_extra, np.zeros_like(state), np.zeros_like(seq)))
    expected = float(np.dot(ref["lstm_l2_c1024"]["gradient"],
                            np.concatenate((v_main.ravel(), v_extra.ravel()))))
    assert_close(tangent, expected, "jvp")


# --------------------------------------------------------------------------- peers


@pytest.mark.parametrize("peer", ["autograd", "jax", "torch"])
def test_peers_agree_on_small_inputs(peer, gmm_test, ba_test, ref):
    """Each installed peer computes the same derivatives (peers not installed: skipped)."""
    pytest.importorskip(peer)
    from benchmarks.adbench import peers

    prepared = peers.PREPARE[peer]("gmm", gmm_test.args)
    assert_close(prepared.to_numpy(prepared.fn(*prepared.args)),
                 ref["gmm_test_txt"]["gradient"], f"{peer} GMM")
    prepared = peers.PREPARE[peer]("ba", ba_test.args)
    assert_close(prepared.to_numpy(prepared.fn(*prepared.args)),
                 ref["ba_test_txt"]["raw_expressions"]["expected_J_values"], f"{peer} BA")
    L = read_lstm(data_path("lstm/lstm_l2_c1024.txt"))
    short = (L.main_params, L.extra_params, L.state, L.sequence[:12])
    prepared = peers.PREPARE[peer]("lstm", short)
    expected = lstm.flat_gradient(lstm.lstm_objective_grad_hand(*short))
    assert_close(prepared.to_numpy(prepared.fn(*prepared.args)), expected, f"{peer} LSTM")


def test_rebind_keeps_numpy_constants():
    """rebind() swaps np in the objective's functions but not in q_index."""
    from benchmarks.adbench import peers

    ns = peers.rebind(gmm, "not numpy", keep=peers.GMM_KEEP)
    assert ns.gmm_objective.__globals__["np"] == "not numpy"
    assert ns.q_index is gmm.q_index
    assert gmm.gmm_objective.__globals__["np"] is np


# --------------------------------------------------------------------------- runner


def test_runner_smoke(tmp_path, capsys):
    """The runner's quick mode on the two smallest cases writes its table (and plot)."""
    from benchmarks import run

    status = run.main(["--quick", "--only", "gmm-vec 1k d10 K5", "--only", "seed logistic",
                       "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0, out
    report = (tmp_path / "adbench.md").read_text()
    assert "| gmm-vec 1k d10 K5 |" in report and "| seed logistic |" in report
    assert (tmp_path / "adbench.json").exists()
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "matplotlib is not installed" in report
    else:
        assert (tmp_path / "adbench.png").stat().st_size > 0
