"""backend="numba" computes np.tanh, np.exp and np.log of large float arrays with NumPy's
loops (backend/numba_ufuncs.py): the values agree with NumPy's, gradients with central
finite differences on both sides of the size threshold, and numba's disk cache of a
gradient using them is read by a second process.

No timing here (the speed-up is measured by benchmarks/run.py --only mlp).
"""
from __future__ import annotations

import textwrap

import numpy as np
import pytest
from fdcheck import numerical_grad
from numba_checks import run_twice

numba = pytest.importorskip("numba")

import tangent_src as ts  # noqa: E402
from tangent_src.backend import numba_ufuncs  # noqa: E402

LARGE = max(numba_ufuncs.LARGE.values())
FAST_NP = numba_ufuncs.numpy_namespace()


@numba.njit
def _three(x):
    return FAST_NP.tanh(x), FAST_NP.exp(x), FAST_NP.log(x)


@pytest.mark.parametrize("make", [
    lambda r: r.uniform(0.1, 3.0, 7),  # small: numba's own loop
    lambda r: r.uniform(0.1, 3.0, (LARGE // 20 + 1, 20)),  # large: NumPy's
    lambda r: r.uniform(0.1, 3.0, (20, LARGE // 20 + 1)).T,  # large, not contiguous
    lambda r: r.uniform(0.1, 3.0, (LARGE // 20 + 1, 20)).astype(np.float32),
], ids=["small", "large", "transposed", "float32"])
def test_values_agree_with_numpy(make):
    x = make(np.random.default_rng(0))
    for got, ufunc in zip(_three(x), (np.tanh, np.exp, np.log)):
        want = ufunc(x)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-15 if x.dtype == np.float64 else 1e-6)


def test_no_floating_point_errors_as_in_numbas_own_loop():
    """log(-1) and exp(1000) give nan and inf quietly at any size, even under
    np.seterr(all="raise") (numba's own loop, used for small arrays, never raises)."""
    x = np.full(LARGE + 1, -1.0)
    x[0] = 1000.0
    with np.errstate(all="raise"):
        tanh, exp, log = _three(x)
    assert np.isinf(exp[0]) and np.isnan(log[1]) and tanh[0] == 1.0


def loss(X, v):
    big = np.sum(np.tanh(X) * np.exp(0.1 * X)) + np.sum(np.log(X * X + 1.0))
    small = np.sum(np.tanh(v) * np.exp(v) + np.log(v * v + 1.0))
    return big + small


def test_gradient_on_both_sides_of_the_threshold_matches_finite_differences():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((LARGE // 30 + 2, 30))
    v = rng.standard_normal(4)
    got = ts.grad(loss, wrt=(0, 1), backend="numba")(X, v)
    # central differences of a sum of ~1200 terms: round-off ~1e-16 * |loss| / eps
    for g, w in zip(got, numerical_grad(loss, (X, v), wrt=(0, 1))):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    # and the hand-derived gradient, to rounding
    t, e = np.tanh(X), np.exp(0.1 * X)
    want_X = (1.0 - t * t) * e + 0.1 * t * e + 2.0 * X / (X * X + 1.0)
    t, e = np.tanh(v), np.exp(v)
    want_v = (1.0 - t * t) * e + t * e + 2.0 * v / (v * v + 1.0)
    np.testing.assert_allclose(got[0], want_X, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(got[1], want_v, rtol=1e-13, atol=1e-15)


def doubled_tanh(X):
    return np.sum(np.tanh(X) * 2.0)


def test_standalone_module_computes_with_numpys_loops():
    """A --numba module carries numba_ufuncs' section and reads np as its namespace: a
    large array's tanh goes through NumPy's loop (counted), a small one's through numba's,
    and both gradients are the hand-derived 2 (1 - tanh^2)."""
    src = ts.standalone_source(doubled_tanh, numba=True)
    assert "np = numpy_namespace()" in src and "def into(" in src
    scope: dict = {}
    exec(compile(src, "<standalone>", "exec"), scope)
    calls = []
    numpys_loop = scope["into"]
    scope["into"] = lambda *args: calls.append(1) or numpys_loop(*args)
    for X in (np.linspace(-2.0, 2.0, LARGE + 8).reshape(-1, 8), np.linspace(-2.0, 2.0, 7)):
        np.testing.assert_allclose(scope["ddoubled_tanh"](X), 2.0 * (1.0 - np.tanh(X) ** 2),
                                   rtol=1e-13, atol=1e-15)
    assert len(calls) == 1  # the large array's only


_PROCESS = """
import numpy as np
import tangent_src
import probe_nbufunc as model
x = np.linspace(-2.0, 2.0, 2400).reshape(60, 40)
df = tangent_src.grad(model.f, backend="numba")
g = df(x)
hits = sum(sum(d.stats.cache_hits.values()) for d in df._last.dispatchers)
print(hits, repr(float(np.sum(g * np.cos(x)))))
"""


def test_disk_cache_is_read_by_a_second_process(tmp_path):
    source = textwrap.dedent("""
        import numpy as np
        def f(x):
            return np.sum(np.tanh(x) * 2.0)
    """)
    runs = run_twice(tmp_path, "probe_nbufunc", source, _PROCESS, "TANGENT_SRC_CACHE")
    x = np.linspace(-2.0, 2.0, 2400).reshape(60, 40)
    want = float(np.sum(2.0 * (1.0 - np.tanh(x) ** 2) * np.cos(x)))
    for _, value in runs:
        np.testing.assert_allclose(value, want, rtol=1e-12)
    assert runs[0][0] == 0 and runs[1][0] >= 1
