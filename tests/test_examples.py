"""Every example in examples/ runs, and computes what it says it computes.

The examples are documentation people copy, so each one is run here: quickstart as a
subprocess (as a reader would run it), the others through their ``main()``/``train()``,
whose results are checked against independent references -- central finite differences,
derivatives worked out by hand, closed-form optima -- so a wrong gradient fails a test.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
if str(EXAMPLES) not in sys.path:
    # the examples import each other's helpers (`_model`) as top-level modules; Dask's
    # spawned workers inherit this sys.path, so they can import `_model` too
    sys.path.insert(0, str(EXAMPLES))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

EPS = 1e-6


def numeric_grad(f, x):
    """Central differences of scalar `f` at `x`: a float, an array, or a dict of those."""
    if isinstance(x, dict):
        return {k: numeric_grad(lambda v, k=k: f({**x, k: v}), x[k]) for k in x}
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = EPS
        grad[i] = (f(x + step) - f(x - step)) / (2 * EPS)
    return grad if grad.shape else float(grad)


def numeric_jacobian(f, x):
    """Central-difference Jacobian of array-valued `f` at array `x`: out.shape + x.shape."""
    columns = []
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = EPS
        columns.append((f(x + step) - f(x - step)) / (2 * EPS))
    return np.stack(columns, axis=-1).reshape(np.shape(columns[0]) + x.shape)


def assert_tree_close(actual, expected, rtol=1e-6, atol=1e-8):
    if isinstance(expected, dict):
        assert set(actual) == set(expected)
        for k in expected:
            np.testing.assert_allclose(actual[k], expected[k], rtol=rtol, atol=atol,
                                       err_msg=f"key {k!r}")
    else:
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def example_env() -> dict:
    """The environment of an example run as a script: this checkout's tangent_src first."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


# -- quickstart --------------------------------------------------------------------------

def test_quickstart_runs_and_agrees_with_finite_differences():
    done = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")], cwd=ROOT,
                          env=example_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "finite differences agree: True" in done.stdout
    assert "def " in done.stdout      # the generated source is printed


# -- the JAX autodiff tutorial -------------------------------------------------------------

@pytest.fixture(scope="module")
def tutorial():
    import jax_autodiff_tutorial
    return jax_autodiff_tutorial


@pytest.fixture(scope="module")
def tutorial_results(tutorial):
    return tutorial.main()


def test_tutorial_tanh_derivatives_match_hand_derived(tutorial_results):
    t = np.tanh(2.0)
    sech2 = 1 - t ** 2
    got = tutorial_results["tanh"]
    assert got["dtanh"] == pytest.approx(sech2, rel=1e-12)
    assert got["d2tanh"] == pytest.approx(-2 * t * sech2, rel=1e-12)
    assert got["d3tanh"] == pytest.approx(-2 * sech2 ** 2 + 4 * t ** 2 * sech2, rel=1e-12)


def test_tutorial_logistic_regression_gradients(tutorial, tutorial_results):
    W, b = tutorial_results["W"], tutorial_results["b"]
    X, y = tutorial.INPUTS, tutorial.TARGETS
    fd_W = numeric_grad(lambda W_: tutorial.loss(W_, b, X, y), W)
    fd_b = numeric_grad(lambda b_: tutorial.loss(W, b_, X, y), b)
    got = tutorial_results["logreg"]
    for key in ("W_grad", "W_grad_by_name", "W_grad2"):
        assert_tree_close(got[key], fd_W)
    for key in ("b_grad", "b_grad2"):
        assert_tree_close(got[key], fd_b)
    assert_tree_close(tutorial_results["dict"], {"W": fd_W, "b": fd_b})
    value, W_grad = tutorial_results["value_and_grad"]
    assert value == pytest.approx(tutorial.loss(W, b, X, y), rel=1e-12)
    assert_tree_close(W_grad, fd_W)
    numeric = tutorial_results["numeric"]
    assert numeric["b_grad"] == pytest.approx(numeric["b_numeric"], rel=1e-6)
    assert numeric["W_dir"] == pytest.approx(numeric["W_dir_numeric"], rel=1e-6)


def test_tutorial_hessian_vector_product_matches_hand_derived(tutorial, tutorial_results):
    # the logistic loss's Hessian in W is X^T diag(p (1 - p)) X, whatever the labels
    W, b = tutorial_results["W"], tutorial_results["b"]
    X = tutorial.INPUTS
    p = 1 / (1 + np.exp(-(X @ W + b)))
    H = X.T @ (X * (p * (1 - p))[:, None])
    got = tutorial_results["hvp"]
    assert_tree_close(got["H"], H)
    assert_tree_close(tutorial_results["jacobians"]["H"], H)
    assert_tree_close(got["Hv"], H @ got["v"])


def test_tutorial_jacobians_jvp_vjp_match_finite_differences(tutorial, tutorial_results):
    W, b = tutorial_results["W"], tutorial_results["b"]
    J = numeric_jacobian(lambda W_: tutorial.predict(W_, b, tutorial.INPUTS), W)
    assert_tree_close(tutorial_results["jacobians"]["J_fwd"], J)
    assert_tree_close(tutorial_results["jacobians"]["J_rev"], J)
    jv = tutorial_results["jvp_vjp"]
    assert_tree_close(jv["preds_dot"], J @ jv["tangent_W"])
    assert_tree_close(jv["W_cotangent"], jv["cotangent"] @ J)


def test_tutorial_prints_its_sections_in_the_tutorial_order(tutorial, capsys):
    tutorial.main()
    out = capsys.readouterr().out
    sections = ["Starting with grad", "Gradients of a logistic regression",
                "Differentiating with respect to a dict", "value_and_grad",
                "Checking against numerical differences", "Hessian-vector products",
                "Jacobians and Hessians", "jvp and vjp"]
    positions = [out.find(f"\n## {s}\n") for s in sections]
    assert -1 not in positions and positions == sorted(positions), positions


# -- PyTorch-style training ----------------------------------------------------------------

@pytest.fixture(scope="module")
def training():
    import pytorch_style_training
    return pytorch_style_training


@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_training_loss_decreases(training, optimizer, capsys):
    cls = getattr(training, optimizer)
    params, history, (x, y) = training.train(cls, epochs=15)
    out = capsys.readouterr().out
    assert out.count(f"[{optimizer}] epoch") == 15      # one progress line per epoch
    assert history[-1] < 0.25 * history[0], history
    assert training.mse_loss(params, x, y) < 0.25 * training.mse_loss(
        training.init_params(np.random.default_rng(0), 2, 32, 1), x, y)


def test_training_gradient_matches_finite_differences(training):
    import tangent_src
    rng = np.random.default_rng(3)
    x, y = training.make_data(rng, n=16)
    params = training.init_params(rng, 2, 8, 1)
    params["b1"] = params["b1"] + 0.05      # keep pre-activations away from ReLU's kink
    loss, grads = tangent_src.value_and_grad(training.mse_loss)(params, x, y)
    assert loss == pytest.approx(training.mse_loss(params, x, y), rel=1e-12)
    assert_tree_close(grads, numeric_grad(lambda p: training.mse_loss(p, x, y), params),
                      rtol=1e-5, atol=1e-7)


def test_training_main_trains_both_optimizers(training):
    results = training.main()
    for name in ("SGD", "Adam"):
        history = results[name]["history"]
        assert history[-1] < 0.1 * history[0], (name, history)


# -- scipy.optimize ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scipy_example():
    import scipy_optimize
    return scipy_optimize


def test_scipy_fits_reach_the_known_optimum(scipy_example):
    results = scipy_example.main()
    for name in ("ridge_lbfgs", "logistic_bfgs", "logistic_newton_cg"):
        fitted, reference, error = results[name]
        assert error < 1e-6, name
        assert_tree_close(fitted, reference, rtol=1e-5, atol=1e-6)


def test_scipy_references_are_stationary_points(scipy_example):
    # the references are computed without tangent_src; check them by finite differences
    rng = np.random.default_rng(0)
    X, y, labels = scipy_example.make_data(rng)
    for loss, reference in ((scipy_example.ridge_loss, scipy_example.ridge_closed_form(X, y)),
                            (scipy_example.logistic_loss,
                             scipy_example.logistic_by_hand(X, labels))):
        data = (X, y) if loss is scipy_example.ridge_loss else (X, labels)
        fd = numeric_grad(lambda p, loss=loss, data=data: loss(p, *data), reference)
        assert max(np.max(np.abs(v)) for v in fd.values()) < 1e-5


def test_scipy_objective_gradient_and_hessp_match_finite_differences(scipy_example):
    rng = np.random.default_rng(1)
    X, _, labels = scipy_example.make_data(rng, n=30, n_features=3)
    params0 = {"w": rng.normal(size=3), "b": 0.2}
    x0, unravel, fun, hessp = scipy_example.scipy_objective(
        scipy_example.logistic_loss, params0, X, labels)
    value, grad = fun(x0)
    assert value == pytest.approx(scipy_example.logistic_loss(params0, X, labels), rel=1e-12)
    flat_loss = lambda x: scipy_example.logistic_loss(unravel(x), X, labels)  # noqa: E731
    assert_tree_close(grad, numeric_grad(flat_loss, x0), rtol=1e-5, atol=1e-6)
    p = rng.normal(size=x0.shape)
    fd_hessp = (fun(x0 + EPS * p)[1] - fun(x0 - EPS * p)[1]) / (2 * EPS)
    assert_tree_close(hessp(x0, p), fd_hessp, rtol=1e-5, atol=1e-6)


# -- data-parallel gradients on Dask --------------------------------------------------------

def test_dask_gradient_matches_single_process_and_training_converges():
    import data_parallel_dask as example
    import distributed
    from _model import full_loss

    cluster = distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                       dashboard_address=None)
    try:
        with distributed.Client(cluster) as client:
            result = example.train(client, n_shards=4, steps=25)
            rng = np.random.default_rng(0)
            X, y = example.make_data(rng)
            params = example.init_params(rng)
            futures = [tuple(client.scatter([Xs, ys])) for Xs, ys in
                       zip(np.array_split(X, 3), np.array_split(y, 3))]
            value_d, grads_d = example.distributed_value_and_grad(client, futures, params,
                                                                  len(X))
            # the shard tasks really ran in the worker processes
            assert len(client.scheduler_info()["workers"]) == 2
    finally:
        cluster.close()

    value_1, grads_1 = result["single"]
    assert_tree_close(result["distributed"][1], grads_1, rtol=1e-10, atol=1e-12)
    assert result["distributed"][0] == pytest.approx(value_1, rel=1e-12)
    # an independent reference for both: finite differences of the full loss
    fd = numeric_grad(lambda p: full_loss(p, X, y), params)
    assert value_d == pytest.approx(full_loss(params, X, y), rel=1e-12)
    assert_tree_close(grads_d, fd, rtol=1e-5, atol=1e-7)
    assert_tree_close(grads_1, fd, rtol=1e-5, atol=1e-7)
    history = result["history"]
    assert history[-1] < 0.6 * history[0], history
