"""Held-out probes for issue 11: staleness, concurrency, file system faults, security of
the cache directory, and names.

Written as a hostile reviewer would: notebook cells re-run, modules reloaded, class
attributes swapped, threads and processes racing on one cache, cache directories that are
files, dangling links, full disks, other users' directories and planted files, and user
code whose names collide with everything the generated code and the runtime use. Every
derivative is compared with central finite differences in float64 (or a hand-derived
value); every failure must be a TangentError or one CacheWarning.
"""
from __future__ import annotations

import concurrent.futures
import errno
import functools
import gc
import importlib
import linecache
import multiprocessing
import os
import pickle
import stat
import subprocess
import sys
import textwrap
import threading
import warnings
from itertools import count
from pathlib import Path

import _probe_mod as pm
import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src as ts
from tangent_src import cli
from tangent_src.backend import cache_dir
from tangent_src.errors import CacheWarning, TangentError

ROOT = Path(__file__).resolve().parent.parent
OTHER_UID = 12345
_CELLS = count(1)
X = np.array([0.3, -0.4, 0.8])
V = np.array([0.7, -1.1, 0.25])


# --------------------------------------------------------------------------- references
def fd(f, x, *rest):
    """Central differences in float64 of f with respect to its first argument."""
    return numerical_grad(f, (x, *rest))


def fd_hessian(f, x, h=1e-4):
    """Hessian of scalar f at 1-d x by central differences of the difference gradient."""
    x = np.asarray(x, float)
    n = x.size
    out = np.zeros((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = h
        out[:, j] = (fd(f, x + e) - fd(f, x - e)) / (2 * h)
    return out


def fd_jacobian(f, x, h=1e-6):
    x = np.asarray(x, float)
    cols = []
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = h
        cols.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * h))
    return np.stack(cols, axis=-1)


def close(actual, expected, rtol=1e-5, atol=1e-7):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# Every transform, each checked against its finite-difference reference for scalar f(x)
# with x a 1-d array.
def _t_grad(f, x):
    close(ts.grad(f)(x), fd(f, x))


def _t_value_and_grad(f, x):
    value, g = ts.value_and_grad(f)(x)
    close(value, f(x), rtol=1e-12)
    close(g, fd(f, x))


def _t_jvp(f, x):
    value, t = ts.jvp(f, (x,), (V,))
    close(value, f(x), rtol=1e-12)
    close(t, np.dot(fd(f, x), V))


def _t_forward(f, x):
    close(ts.autodiff(f, mode="forward")(x, V), np.dot(fd(f, x), V))


def _t_vjp(f, x):
    value, back = ts.vjp(f, x)
    close(value, f(x), rtol=1e-12)
    close(back(2.0)[0], 2.0 * fd(f, x))


def _t_hvp(f, x):
    close(ts.hvp(f)(x, V), fd_hessian(f, x) @ V, rtol=1e-4, atol=1e-5)


def _t_hessian(f, x):
    close(ts.hessian(f)(x), fd_hessian(f, x), rtol=1e-4, atol=1e-5)


def _t_jacobian(f, x):
    close(ts.jacobian(f)(x), fd(f, x))


def _t_jacfwd(f, x):
    close(ts.jacfwd(f)(x), fd(f, x))


def _t_grad_grad(f, x):
    def scalar(t):
        return f(np.full(x.shape, t))
    t0 = 0.35
    h = 1e-4
    expected = (numerical_grad(scalar, (t0 + h,)) - numerical_grad(scalar, (t0 - h,))) / (2 * h)
    g2 = ts.grad(ts.grad(scalar))
    close(g2(t0), expected, rtol=1e-4, atol=1e-5)


TRANSFORMS = {f.__name__[3:]: f for f in (_t_grad, _t_value_and_grad, _t_jvp, _t_forward,
                                          _t_vjp, _t_hvp, _t_hessian, _t_jacobian,
                                          _t_jacfwd, _t_grad_grad)}


def run_cell(source: str, namespace: dict) -> None:
    """exec `source` into `namespace` with its text in linecache (as IPython does)."""
    filename = f"<ipython-input-{next(_CELLS)}-probe>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)


class Notebook:
    """Cells executed into one namespace the way IPython runs them (source in linecache)."""

    def __init__(self, **names):
        self.ns = {"__name__": "__main__", "np": np, **names}

    def run(self, source: str) -> None:
        source = textwrap.dedent(source)
        filename = f"<ipython-input-{next(_CELLS)}-probe>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), self.ns)

    def __getitem__(self, name):
        return self.ns[name]


pytestmark = pytest.mark.usefixtures("fresh_cache")


def cache_warnings(record) -> list:
    return [w for w in record if issubclass(w.category, CacheWarning)]


# ======================================================================= 1. staleness
@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
def test_notebook_helper_redefined_for_every_transform(transform):
    nb = Notebook()
    nb.run("""
        def g(x):
            return np.sin(x) * 2.0

        def f(x):
            return np.sum(g(x) * x)
    """)
    TRANSFORMS[transform](nb["f"], X)
    nb.run("""
        def g(x):
            return np.cos(x) * x * 3.0
    """)
    TRANSFORMS[transform](nb["f"], X)


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
def test_global_constant_rebound_for_every_transform(transform):
    nb = Notebook()
    nb.run("""
        SCALE = 2.0

        def f(x):
            return np.sum(np.tanh(x * SCALE)) * SCALE
    """)
    TRANSFORMS[transform](nb["f"], X)
    nb.ns["SCALE"] = -0.7
    TRANSFORMS[transform](nb["f"], X)


@pytest.mark.parametrize("transform", ["grad", "jvp", "hessian", "grad_grad"])
def test_helper_module_reloaded(modules, transform):
    modules("probe_reload_helpers", """
        import numpy as np
        def g(x):
            return np.sin(x) * x
    """)
    modules("probe_reload_user", """
        import numpy as np
        import probe_reload_helpers as helpers
        def f(x):
            return np.sum(helpers.g(x) + x * x)
    """)
    helpers = importlib.import_module("probe_reload_helpers")
    user = importlib.import_module("probe_reload_user")
    TRANSFORMS[transform](user.f, X)
    modules("probe_reload_helpers", """
        import numpy as np
        def g(x):
            return np.exp(x * 0.5) * 3.0
    """)
    importlib.reload(helpers)
    TRANSFORMS[transform](user.f, X)


def test_from_import_helper_reloaded_in_user_module(modules):
    """`from helpers import g` binds the old g in the user's module until the user module
    is reloaded too: the gradient follows what f calls, before and after."""
    modules("probe_fi_helpers", """
        def g(x):
            return x * x
    """)
    modules("probe_fi_user", """
        from probe_fi_helpers import g
        def f(x):
            return g(x) * 2.0
    """)
    helpers = importlib.import_module("probe_fi_helpers")
    user = importlib.import_module("probe_fi_user")
    assert ts.grad(user.f)(1.5) == pytest.approx(6.0)
    modules("probe_fi_helpers", """
        def g(x):
            return x * x * x
    """)
    importlib.reload(helpers)
    assert ts.grad(user.f)(1.5) == pytest.approx(6.0)  # f still calls the old g
    importlib.reload(user)
    assert ts.grad(user.f)(1.5) == pytest.approx(2 * 3 * 1.5 ** 2)


class Scaler:
    factor = 2.0

    @staticmethod
    def act(x):
        return np.sin(x)

    @classmethod
    def scale(cls, x):
        return x * cls.factor


def uses_class(x):
    return np.sum(Scaler.act(x) * Scaler.scale(x))


def uses_class_factor(x):
    return np.sum(x * x * Scaler.factor)


@pytest.fixture
def restore_scaler():
    saved = dict(Scaler.__dict__)
    yield
    for name in ("act", "scale", "factor"):
        setattr(Scaler, name, saved[name])


def test_staticmethod_replaced(restore_scaler):
    close(ts.grad(uses_class)(X), fd(uses_class, X))
    Scaler.act = staticmethod(lambda x: np.cos(x) * 3.0)
    close(ts.grad(uses_class)(X), fd(uses_class, X))


def test_classmethod_replaced(restore_scaler):
    close(ts.grad(uses_class)(X), fd(uses_class, X))
    Scaler.scale = classmethod(lambda cls, x: x * x * cls.factor)
    close(ts.grad(uses_class)(X), fd(uses_class, X))


def test_class_attribute_read_by_a_classmethod_changed(restore_scaler):
    close(ts.grad(uses_class)(X), fd(uses_class, X))
    Scaler.factor = -4.0
    close(ts.grad(uses_class)(X), fd(uses_class, X))


def test_class_attribute_read_directly_changed(restore_scaler):
    close(ts.grad(uses_class_factor)(X), fd(uses_class_factor, X))
    Scaler.factor = 0.25
    close(ts.grad(uses_class_factor)(X), fd(uses_class_factor, X))
    Scaler.factor = np.array([1.0, 2.0, 3.0])  # shape class changes: scalar -> (3,)
    close(ts.grad(uses_class_factor)(X), fd(uses_class_factor, X))


def test_closures_over_a_loop_variable():
    late = [lambda x: np.sin(x) * k for k in range(1, 4)]  # noqa: B023 - all see k = 3
    early = [lambda x, k=k: np.sin(x) * k for k in range(1, 4)]    # each its own k
    for f in late + early:
        close(ts.grad(f)(0.4), fd(f, 0.4))
    assert ts.grad(late[0])(0.4) == pytest.approx(3 * np.cos(0.4))
    assert ts.grad(early[0])(0.4) == pytest.approx(np.cos(0.4))


def test_cells_of_closures_made_in_a_loop():
    def make(k):
        def f(x):
            return np.sum(np.tanh(x) * k)
        return f

    fs = [make(float(k)) for k in range(4)]
    grads = [ts.grad(f) for f in fs]
    for k, (f, g) in enumerate(zip(fs, grads)):
        close(g(X), fd(f, X))
        close(g(X), k * (1 - np.tanh(X) ** 2))


def test_nonlocal_rebinding_between_calls():
    def make():
        k = 1.0

        def f(x):
            return np.sum(x * x) * k

        def bump():
            nonlocal k
            k = k + 1.5
        return f, bump

    f, bump = make()
    df = ts.grad(f)
    for _ in range(3):
        close(df(X), fd(f, X))
        bump()
    close(ts.grad(ts.grad(lambda t: f(np.full(3, t))))(0.5), 2 * 3 * 5.5)


def test_default_list_mutated_in_place():
    def f(x, w=[1.0, 2.0]):  # noqa: B006 - the point of the probe
        return np.sum(x * np.array(w))

    close(ts.grad(f)(X[:2]), fd(f, X[:2]))
    f.__defaults__[0][1] = -5.0
    close(ts.grad(f)(X[:2]), [1.0, -5.0])


def test_default_rebound_through_defaults():
    def f(x, w=2.0):
        return np.sum(np.sin(x) * w)

    df = ts.grad(f)
    close(df(X), fd(f, X))
    f.__defaults__ = (np.array([1.0, -1.0, 0.5]),)
    close(df(X), fd(f, X))
    f.__defaults__ = (3.0,)
    close(df(X), 3.0 * np.cos(X))


@pytest.mark.parametrize("transform", ["grad", "jvp", "hessian"])
def test_module_attribute_changes_shape_class_repeatedly(modules, transform):
    modules("probe_shape_cfg", "w = 2.0\n")
    modules("probe_shape_user", """
        import numpy as np
        import probe_shape_cfg as cfg
        def f(x):
            return np.sum(np.sin(x) * cfg.w) + np.sum(x * x * cfg.w)
    """)
    cfg = importlib.import_module("probe_shape_cfg")
    user = importlib.import_module("probe_shape_user")
    for value in (2.0, np.array([1.0, -2.0, 0.5]), np.array(3.0), [0.5, 1.5, -1.0],
                  np.float32(1.25), (1.0, 2.0, 3.0), 4):
        cfg.w = value
        TRANSFORMS[transform](user.f, X)


def test_dtype_of_a_module_array_changes(modules):
    modules("probe_dtype_cfg", "import numpy as np\nW = np.array([1.0, 2.0, 3.0])\n")
    modules("probe_dtype_user", """
        import numpy as np
        import probe_dtype_cfg as cfg
        def f(x):
            return np.sum(np.tanh(x * cfg.W))
    """)
    cfg = importlib.import_module("probe_dtype_cfg")
    user = importlib.import_module("probe_dtype_user")
    for W in (np.array([1.0, 2.0, 3.0]), np.array([1, 2, 3]), np.array([1.5, 2, 3], np.float32),
              np.array([True, False, True])):
        cfg.W = W
        close(ts.grad(user.f)(X), fd(user.f, X), rtol=1e-5)


def test_argument_dtype_changes():
    def f(x):
        return np.sum(np.sin(x) * x)

    df = ts.grad(f)
    close(df(X), fd(f, X))
    x32 = X.astype(np.float32)
    close(df(x32), fd(f, X), rtol=1e-4, atol=1e-5)
    close(df(X), fd(f, X))
    with pytest.raises(TangentError):
        df(np.array([1, 2, 3]))


def test_same_name_functions_passed_as_arguments():
    def apply(x, g):
        return np.sum(g(x))

    nb = Notebook()
    nb.run("def g(x):\n    return x * x\n")
    g1 = nb["g"]
    nb.run("def g(x):\n    return np.sin(x) * 4.0\n")
    g2 = nb["g"]
    d = ts.grad(apply)
    for g in (g1, g2, g1, (lambda x: x ** 3), (lambda x: np.exp(x)), g2):
        close(d(X, g), fd(apply, X, g))


def test_partial_and_callable_object_arguments():
    def apply(x, g):
        return np.sum(g(x))

    def power(x, p):
        return x ** p

    d = ts.grad(apply)
    for p in (2.0, 3.0):
        g = functools.partial(power, p=p)
        try:
            got = d(X, g)
        except TangentError:
            continue  # a located refusal is acceptable
        close(got, fd(apply, X, g))


def test_function_code_swapped_in_a_callee():
    def g(x):
        return x * x

    def h(x):
        return np.sin(x)

    def f(x):
        return np.sum(g(x))

    df = ts.grad(f)
    close(df(X), 2 * X)
    g.__code__ = h.__code__
    close(df(X), np.cos(X))


def test_nested_grad_after_helper_redefined():
    nb = Notebook()
    nb.run("""
        def g(x):
            return x ** 3
        def f(x):
            return g(x) * 2.0
    """)
    d2 = ts.grad(ts.grad(nb["f"]))
    assert d2(0.7) == pytest.approx(2 * 6 * 0.7)
    nb.run("""
        def g(x):
            return np.sin(x)
    """)
    assert d2(0.7) == pytest.approx(-2 * np.sin(0.7))
    assert ts.grad(ts.grad(ts.grad(nb["f"])))(0.7) == pytest.approx(-2 * np.cos(0.7))


def test_global_array_mutated_in_place_is_read_live():
    nb = Notebook()
    nb.run("""
        W = np.array([1.0, 2.0, 3.0])
        def f(x):
            return np.sum(np.sin(W * x))
    """)
    df = ts.grad(nb["f"])
    close(df(X), fd(nb["f"], X))
    nb["W"][:] = [-1.0, 0.5, 4.0]
    close(df(X), fd(nb["f"], X))


def test_global_rebound_to_a_function_then_a_number():
    """A global used as a number, then rebound to a function of the same name: the
    gradient must follow (or refuse), not use the old code."""
    nb = Notebook()
    nb.run("""
        scale = 2.0
        def f(x):
            return np.sum(x * x) * scale
    """)
    close(ts.grad(nb["f"])(X), fd(nb["f"], X))
    nb.run("""
        scale = np.float64(-3.0)
    """)
    close(ts.grad(nb["f"])(X), fd(nb["f"], X))


def test_method_swapped_on_an_instance_argument():
    class Model:
        def __init__(self, w):
            self.w = w

        def predict(self, x):
            return np.tanh(x * self.w)

    def loss(x, model):
        return np.sum(model.predict(x))

    m = Model(2.0)
    d = ts.grad(loss)
    close(d(X, m), fd(loss, X, m))
    Model.predict = lambda self, x: np.sin(x) * self.w
    close(d(X, m), fd(loss, X, m))
    m.w = 0.5
    close(d(X, m), fd(loss, X, m))


# ----------------------------------------------------------------- 1b. numba staleness
def test_numba_module_global_changed_within_the_process(modules):
    pytest.importorskip("numba")
    modules("probe_nb_user", """
        import numpy as np
        C = 2.0
        def g(x):
            return np.sin(x) * C
        def f(x):
            return np.sum(g(x) * x)
    """)
    user = importlib.import_module("probe_nb_user")
    df = ts.grad(user.f, backend="numba")
    for c in (2.0, -1.5):
        user.C = c
        close(df(X), fd(user.f, X))


def test_numba_helper_redefined_within_the_process(modules):
    pytest.importorskip("numba")
    modules("probe_nb_redef", """
        import numpy as np
        def g(x):
            return x * x
        def f(x):
            return np.sum(g(x))
    """)
    user = importlib.import_module("probe_nb_redef")
    df = ts.grad(user.f, backend="numba")
    close(df(X), 2 * X)
    run_cell("def g(x):\n    return x * x * x\n", user.__dict__)
    close(df(X), 3 * X * X)


_NB_PROCESS = """
import numpy as np
import tangent_src
import probe_nbxp as model
x = np.array([0.3, -0.4, 0.8])
print(" ".join(repr(float(v)) for v in tangent_src.grad(model.f, backend="numba")(x)))
"""


def test_numba_disk_cache_in_a_fresh_process_sees_new_globals(tmp_path):
    """The module global an inner helper reads, and an array's contents, change between
    two processes sharing one cache directory."""
    pytest.importorskip("numba")
    src = tmp_path / "src"
    src.mkdir()
    env = dict(os.environ, TANGENT_SRC_CACHE=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(src), str(ROOT)]))
    for c, w in ((2.0, (1.0, 2.0, 3.0)), (5.0, (1.0, 2.0, -3.0))):
        (src / "probe_nbxp.py").write_text(textwrap.dedent(f"""
            import numpy as np
            C = {c}
            W = np.array({list(w)})
            def g(x):
                return np.tanh(x) * C
            def f(x):
                return np.sum(g(x) * W)
        """))
        out = subprocess.run([sys.executable, "-c", _NB_PROCESS], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        got = np.array([float(v) for v in out.stdout.split()])
        close(got, c * np.array(w) * (1 - np.tanh(X) ** 2))


# ====================================================================== 2. concurrency
def _many(fn, items, workers=8):
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(pool.map(fn, items))


def test_threads_build_the_same_gradient_at_once():
    def f(x):
        return np.sum(np.sin(x) * np.cos(x * 2.0))

    df = ts.grad(f)
    xs = [X * (k + 1) * 0.3 for k in range(32)]
    for x, g in zip(xs, _many(df, xs)):
        close(g, fd(f, x))


def test_threads_build_fresh_transforms_of_one_function_at_once():
    xs = [X * (k + 1) * 0.2 for k in range(24)]
    results = _many(lambda x: ts.grad(pm.wave)(x), xs)
    for x, g in zip(xs, results):
        close(g, fd(pm.wave, x))


def test_threads_build_different_gradients_at_once():
    nb = Notebook()
    for k in range(16):
        nb.run(f"""
            def f{k}(x):
                return np.sum(np.tanh(x * {k + 1}.0) * x ** {k % 3 + 1})
        """)
    fs = [nb[f"f{k}"] for k in range(16)]
    results = _many(lambda f: ts.grad(f)(X), fs)
    for f, g in zip(fs, results):
        close(g, fd(f, X))


def test_threads_with_different_shape_classes_of_one_transform():
    df = ts.grad(pm.wave)
    xs = [np.linspace(-1, 1, n) for n in range(1, 9)] * 3 + [0.3, np.float64(0.7)]
    for x, g in zip(xs, _many(df, xs)):
        close(g, fd(pm.wave, x))


def test_threads_second_order_and_hessian():
    hess = ts.hessian(pm.wave)
    d2 = ts.grad(ts.grad(lambda t: pm.wave(np.array([t, 2 * t]))))
    jobs = [("h", X * k) for k in (0.5, 1.0, 1.5)] * 3 + [("d2", 0.1 * k) for k in range(8)]

    def run(job):
        kind, x = job
        return hess(x) if kind == "h" else d2(x)

    for (kind, x), got in zip(jobs, _many(run, jobs)):
        if kind == "h":
            close(got, fd_hessian(pm.wave, x), rtol=1e-4, atol=1e-5)
        else:
            def scalar(t):
                return pm.wave(np.array([t, 2 * t]))
            h = 1e-4
            expected = (fd(scalar, x + h) - fd(scalar, x - h)) / (2 * h)
            close(got, expected, rtol=1e-4, atol=1e-5)


def test_threads_jvp_and_vjp():
    def run(k):
        x = X * (k + 1) * 0.25
        if k % 2:
            return ts.jvp(pm.wave, (x,), (V,))[1]
        return ts.vjp(pm.wave, x)[1](1.0)[0]

    for k, got in enumerate(_many(run, range(16))):
        x = X * (k + 1) * 0.25
        close(got, np.dot(fd(pm.wave, x), V) if k % 2 else fd(pm.wave, x))


def test_clear_cache_while_other_threads_compute():
    stop = threading.Event()
    errors = []

    def clearer():
        while not stop.is_set():
            ts.clear_cache()

    def worker(k):
        x = X * (k % 5 + 1) * 0.3
        try:
            for _ in range(2):
                close(ts.grad(pm.twice)(x), fd(pm.twice, x))
                close(ts.hessian(pm.wave)(x), fd_hessian(pm.wave, x), rtol=1e-4, atol=1e-5)
        except Exception as exc:  # noqa: BLE001 - collected and re-raised below
            errors.append(exc)

    thread = threading.Thread(target=clearer)
    thread.start()
    try:
        _many(worker, range(8))
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[0]


def test_threads_race_to_create_the_cache_directory(tmp_path, monkeypatch):
    path = tmp_path / "new" / "cache"
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(path))
    barrier = threading.Barrier(8)

    def run(k):
        barrier.wait()
        return ts.grad(pm.wave)(X * (k + 1))

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        results = _many(run, range(8))
    assert not cache_warnings(record)
    for k, g in enumerate(results):
        close(g, fd(pm.wave, X * (k + 1)))
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert not [p for p in path.iterdir() if p.name.endswith(".tmp")]


def test_threads_while_the_cache_prunes_every_write(cache, monkeypatch):
    monkeypatch.setattr(cache_dir, "PRUNE_EVERY", 1)
    monkeypatch.setattr(cache_dir, "MAX_FILES", 3)
    nb = Notebook()
    for k in range(8):
        nb.run(f"def f{k}(x):\n    return np.sum(np.sin(x) * {k + 1}.0 + x * x)\n")
    fs = [nb[f"f{k}"] for k in range(8)]
    results = _many(lambda f: (ts.grad(f)(X), ts.grad(ts.grad(
        lambda t: f(np.array([t]))))(0.4)), fs)
    for k, (f, (g, g2)) in enumerate(zip(fs, results)):
        close(g, fd(f, X))
        close(g2, -(k + 1) * np.sin(0.4) + 2.0)
    assert len([p for p in cache.iterdir() if p.suffix == ".py"]) <= 4


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_pool_maps_gradients_hvp_and_value_and_grad(method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method on this platform")
    df = ts.grad(pm.wave)
    vg = ts.value_and_grad(pm.twice)
    hv = ts.hvp(pm.wave)
    df(X)
    vg(X)
    xs = [X * k for k in (0.5, 1.0, -1.5)]
    with multiprocessing.get_context(method).Pool(2) as pool:
        grads = pool.map(df, xs)
        pairs = pool.map(vg, xs)
        products = pool.starmap(hv, [(x, V) for x in xs])
        plain = pool.map(pm.grad_at, xs)
    for x, g, (value, g2), hvx, g3 in zip(xs, grads, pairs, products, plain):
        close(g, fd(pm.wave, x))
        close(g3, fd(pm.wave, x))
        close(value, pm.twice(x), rtol=1e-12)
        close(g2, fd(pm.twice, x))
        close(hvx, fd_hessian(pm.wave, x) @ V, rtol=1e-4, atol=1e-5)


_WRITER = """
import linecache
import numpy as np
import tangent_src as ts
ns = {"np": np}
out = []
for k in range(6):
    text = f"def f{k}(x):\\n    return np.sum(np.sin(x) * {k + 1}.0 + x ** 3)\\n"
    linecache.cache[f"<cell{k}>"] = (len(text), None, text.splitlines(True), f"<cell{k}>")
    exec(compile(text, f"<cell{k}>", "exec"), ns)
    g = ts.grad(ns[f"f{k}"])(np.array([0.5, -0.25]))
    g2 = ts.grad(ts.grad(ns[f"f{k}"]))(0.5)
    out.append(repr([float(v) for v in g] + [float(g2)]))
print(";".join(out))
"""


def test_two_processes_share_one_cache_directory(cache):
    """Processes writing the same generated files into one directory at the same time
    (the sources are identical, so the file names are too)."""
    env = dict(os.environ, TANGENT_SRC_CACHE=str(cache),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    x = np.array([0.5, -0.25])
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err
        assert "Warning" not in err, err
        for k, text in enumerate(out.strip().split(";")):
            values = eval(text)  # noqa: S307 - our own repr of floats
            close(values[:2], (k + 1) * np.cos(x) + 3 * x * x)
            close(values[2], -(k + 1) * np.sin(0.5) + 6 * 0.5)
    assert not [p for p in cache.iterdir() if p.name.endswith(".tmp")]
    for p in cache.iterdir():
        if p.is_file():
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


# ======================================================================= 3. file system
def run_all():
    """First and second derivatives in both modes (the second-order ones build a transform
    from a generated one), each against finite differences."""
    for transform in ("grad", "jvp", "hessian", "grad_grad", "value_and_grad"):
        TRANSFORMS[transform](pm.twice, X)


def expect_one_warning(action, *needles):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        action()
    found = cache_warnings(record)
    assert len(found) == 1, [str(w.message) for w in found]
    for needle in needles:
        assert needle in str(found[0].message), str(found[0].message)
    return found[0]


def tmp_files(path) -> list:
    return [p for p in Path(path).rglob("*") if p.name.endswith(".tmp")]


def test_cache_whose_parent_is_a_file(tmp_path, monkeypatch):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file\n")
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(blocker / "cache"))
    expect_one_warning(run_all, "cannot create it")
    assert blocker.read_text() == "a file\n"


def test_cache_path_is_a_regular_file(cache):
    cache.write_text("not a directory\n")
    expect_one_warning(run_all, "not a directory")
    assert cache.read_text() == "not a directory\n"


def test_cache_path_is_a_dangling_symlink(cache, tmp_path):
    cache.symlink_to(tmp_path / "nowhere")
    expect_one_warning(run_all, "symbolic link")
    assert not (tmp_path / "nowhere").exists()


def test_cache_path_is_a_symlink_loop(cache):
    cache.symlink_to(cache)
    expect_one_warning(run_all)


def test_cache_path_too_long(tmp_path, monkeypatch):
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(tmp_path / ("x" * 300) / "cache"))
    expect_one_warning(run_all)


def test_cache_under_a_read_only_file_system(cache, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))
    monkeypatch.setattr(os, "mkdir", read_only)
    monkeypatch.setattr(os, "makedirs", read_only)
    expect_one_warning(run_all, os.strerror(errno.EROFS))
    assert not cache.exists()


def test_read_only_directory_for_a_non_root_user(cache, monkeypatch):
    """chmod 0500: root may still write, so the check (os.access) is what is simulated."""
    cache.mkdir(mode=0o500)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(cache)
                        else real_access(p, mode, **kw))
    expect_one_warning(run_all, "not writable")
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("where", ["fchmod", "replace", "write_partial_then_full"])
def test_disk_full_at_each_step_of_a_write(cache, monkeypatch, where):
    cache.mkdir(mode=0o700)
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    if where == "fchmod":
        def fchmod(fd, mode):
            raise full
        monkeypatch.setattr(os, "fchmod", fchmod)
    elif where == "replace":
        def replace(src, dst, **kwargs):
            raise full
        monkeypatch.setattr(os, "replace", replace)
    else:
        real_write = os.write
        state = {"n": 0}

        def write(fd, data):
            state["n"] += 1
            if state["n"] == 1:
                return real_write(fd, bytes(data[:7]))  # a short write first
            raise full
        monkeypatch.setattr(os, "write", write)
    expect_one_warning(run_all, os.strerror(errno.ENOSPC))
    assert [p.name for p in cache.iterdir() if p.suffix == ".py"] == []
    assert tmp_files(cache) == []


def test_short_writes_still_write_whole_files(cache, monkeypatch):
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:5])))
    run_all()
    for p in cache.glob("*.py"):
        compile(p.read_text(), str(p), "exec")
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_disk_fills_up_in_the_middle_of_a_session(cache, monkeypatch):
    TRANSFORMS["grad"](pm.wave, X)
    written = sorted(p.name for p in cache.glob("*.py"))
    monkeypatch.setattr(os, "write", lambda fd, data: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))))
    expect_one_warning(run_all, os.strerror(errno.ENOSPC))
    assert sorted(p.name for p in cache.glob("*.py")) == written
    assert tmp_files(cache) == []


def test_a_directory_under_the_module_file_name(cache, tmp_path, monkeypatch):
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(tmp_path / "probe"))
    run_all()
    names = sorted(p.name for p in (tmp_path / "probe").glob("*.py"))
    ts.clear_cache()
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(cache))
    cache.mkdir(mode=0o700)
    for name in names:
        (cache / name).mkdir()
    expect_one_warning(run_all)
    assert all((cache / name).is_dir() for name in names)
    assert tmp_files(cache) == []


def test_cache_deleted_between_gradients(cache):
    import shutil
    TRANSFORMS["grad"](pm.wave, X)
    shutil.rmtree(cache)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        run_all()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


def test_cache_replaced_by_a_file_between_gradients(cache):
    import shutil
    TRANSFORMS["grad"](pm.wave, X)
    shutil.rmtree(cache)
    cache.write_text("oops\n")
    expect_one_warning(run_all, "not a directory")


def test_cache_made_world_writable_between_gradients(cache):
    TRANSFORMS["grad"](pm.wave, X)
    os.chmod(cache, 0o777)
    expect_one_warning(run_all, "writable by group or others")


def test_cache_variable_changed_between_gradients(cache, tmp_path, monkeypatch):
    TRANSFORMS["grad"](pm.wave, X)
    other = tmp_path / "other"
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(other))
    run_all()
    assert list(other.glob("*.py"))


def test_relative_and_tilde_cache_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TANGENT_SRC_CACHE", "rel/cache")
    run_all()
    assert list((tmp_path / "rel" / "cache").glob("*.py"))
    ts.clear_cache()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TANGENT_SRC_CACHE", "~/tsc")
    run_all()
    assert list((tmp_path / "home" / "tsc").glob("*.py"))
    assert stat.S_IMODE((tmp_path / "home").stat().st_mode) == 0o700


def test_empty_variable_and_relative_xdg_fall_back_to_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TANGENT_SRC_CACHE", "")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir.location() == str(tmp_path / ".cache" / "tangent_src")


def test_cache_path_with_spaces_and_unicode(tmp_path, monkeypatch):
    path = tmp_path / "my cache ü ☃"
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(path))
    run_all()
    assert list(path.glob("*.py"))


def test_permissions_under_a_permissive_umask(cache):
    old = os.umask(0)
    try:
        run_all()
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    files = [p for p in cache.rglob("*") if p.is_file()]
    assert files
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


def test_missing_parents_are_created_private(tmp_path, monkeypatch):
    path = tmp_path / "a" / "b" / "cache"
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(path))
    old = os.umask(0)
    try:
        run_all()
    finally:
        os.umask(old)
    for p in (tmp_path / "a", tmp_path / "a" / "b", path):
        assert stat.S_IMODE(p.stat().st_mode) == 0o700, p


def test_stale_temporary_files_are_pruned_fresh_ones_kept(cache, monkeypatch):
    cache.mkdir(mode=0o700)
    old = cache / ".dwave_0123456789ab.py.abc123.tmp"
    new = cache / ".dwave_0123456789ab.py.def456.tmp"
    for p in (old, new):
        p.write_text("partial")
    stamp = old.stat().st_mtime - 7200
    os.utime(old, (stamp, stamp))
    theirs = cache / "notes.txt"
    theirs.write_text("mine")
    cache_dir.prune(str(cache), max_files=0, max_bytes=0)
    assert not old.exists() and new.exists() and theirs.read_text() == "mine"


def test_clear_keeps_files_it_did_not_write(cache):
    run_all()
    (cache / "notes.txt").write_text("mine")
    (cache / "mine.py").write_text("x = 1\n")
    (cache / "sub_0123456789ab.py").mkdir()
    path, removed = cache_dir.clear()
    assert removed > 0 and path == str(cache)
    assert (cache / "notes.txt").exists() and (cache / "mine.py").exists()
    assert (cache / "sub_0123456789ab.py").is_dir()
    assert not list(cache.glob("*_????????????.py")) or \
        [p for p in cache.glob("*_????????????.py") if p.is_dir()]


# -- the command line on those states
def _cli(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("state", ["missing", "file", "dangling", "other_uid", "world",
                                   "parent_file", "fine"])
def test_cli_cache_info_and_clear_on_every_state(cache, tmp_path, capsys, state):
    if state == "file":
        cache.write_text("x")
    elif state == "dangling":
        cache.symlink_to(tmp_path / "nowhere")
    elif state in ("other_uid", "world", "fine"):
        run_all()
        if state == "other_uid":
            os.chown(cache, OTHER_UID, -1)
        elif state == "world":
            os.chmod(cache, 0o777)
    elif state == "parent_file":
        (tmp_path / "blocker").write_text("x")
        os.environ["TANGENT_SRC_CACHE"] = str(tmp_path / "blocker" / "cache")
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    code, out, err = _cli(capsys, "cache", "--info")
    assert code == 0 and "Traceback" not in err, err
    assert "cache directory:" in out
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
    code, out, err = _cli(capsys, "cache", "--clear")
    assert "Traceback" not in err and "internal error" not in err, err
    if state in ("missing", "fine"):
        assert code == 0 and "removed" in out
        assert not list(Path(cache_dir.location()).glob("*.py")) if state == "fine" else True
    else:
        assert code == 2 and len(err.strip().splitlines()) == 1, err
        assert sorted(str(p) for p in tmp_path.rglob("*")) == before


MODEL = "import numpy as np\n\ndef f(x):\n    return np.sin(x) * x\n"


@pytest.mark.parametrize("target", ["missing_dir", "is_dir", "parent_file", "disk_full",
                                    "fsync_fails"])
def test_cli_gradient_to_an_unwritable_place(tmp_path, monkeypatch, capsys, target):
    module = tmp_path / "model.py"
    module.write_text(MODEL)
    out = {"missing_dir": tmp_path / "nope" / "df.py", "is_dir": tmp_path / "adir",
           "parent_file": tmp_path / "model.py" / "df.py"}.get(target, tmp_path / "df.py")
    if target == "is_dir":
        out.mkdir()
    if target == "disk_full":
        real_fdopen = os.fdopen

        class Full:
            def __init__(self, handle):
                self.handle = handle

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

            def write(self, text):
                self.handle.write(text[:10])
                self.handle.flush()
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: Full(real_fdopen(fd, *a, **k)))
    if target == "fsync_fails":
        monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(
            OSError(errno.EIO, os.strerror(errno.EIO))))
    before = sorted(p.name for p in tmp_path.iterdir())
    code, stdout, err = _cli(capsys, "grad", f"{module}:f", "-o", str(out))
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("tangent-src: error:"), err
    assert "Traceback" not in err
    after = sorted(p.name for p in tmp_path.iterdir())
    assert after == before and not tmp_files(tmp_path)
    assert module.read_text() == MODEL


def test_cli_refuses_to_write_over_its_input_through_a_symlink(tmp_path, capsys):
    module = tmp_path / "model.py"
    module.write_text(MODEL)
    link = tmp_path / "out.py"
    link.symlink_to(module)
    code, _, err = _cli(capsys, "grad", f"{module}:f", "-o", str(link))
    assert code == 2 and module.read_text() == MODEL, err


def test_cli_second_order_with_a_full_cache_disk(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(cache))
    module = tmp_path / "model.py"
    module.write_text(MODEL)
    out = tmp_path / "ddf.py"
    real_write = os.write

    def write(fd, data):
        try:
            where = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            where = ""
        if where.startswith(str(cache)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)
    monkeypatch.setattr(os, "write", write)
    code, _, err = _cli(capsys, "grad", f"{module}:f", "--order", "2", "-o", str(out),
                        "--name", "ddf")
    assert code == 0, err
    assert len([ln for ln in err.splitlines() if "warning" in ln]) == 1
    ns: dict = {}
    exec(compile(out.read_text(), str(out), "exec"), ns)
    close(ns["ddf"](0.6), 2 * np.cos(0.6) - 0.6 * np.sin(0.6))


def test_numba_with_a_full_cache_disk(cache, monkeypatch):
    pytest.importorskip("numba")
    cache.mkdir(mode=0o700)
    monkeypatch.setattr(os, "write", lambda fd, data: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))))

    def cubic(x):
        return np.sum(x * x * x + np.sin(x))

    def run():
        close(ts.grad(cubic, backend="numba")(X), fd(cubic, X))
    expect_one_warning(run, os.strerror(errno.ENOSPC))
    assert list(cache.iterdir()) == []


# ========================================================================== 4. security
def learned_names(tmp_path, monkeypatch, action, numba: bool = False) -> tuple:
    """The file names `action` makes the library write (learned in a directory of its
    own): generated modules, and numba's cache files."""
    probe = tmp_path / "learn"
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(probe))
    action()
    ts.clear_cache()
    modules = sorted(p.name for p in probe.glob("*.py"))
    numba_files = sorted(p.name for p in (probe / "__pycache__").glob("*")) if numba else []
    return modules, numba_files


class _Evil:
    """Unpickling this creates the marker file: proof that a planted pickle was loaded."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def evil_module(marker) -> str:
    return (f"open({str(marker)!r}, 'w').close()\n"
            "def dwave(x, dout=1.0):\n    return x * 1000.0\n"
            "def dtwice(x, dout=1.0):\n    return x * 1000.0\n")


def cubic(x):
    return np.sum(x * x * x + np.sin(x))


def run_cubic_numba():
    close(ts.grad(cubic, backend="numba")(X), fd(cubic, X))


@pytest.mark.parametrize("owner", ["other_uid", "self_0644", "self_0600"])
def test_planted_modules_under_the_generated_names_never_run(cache, tmp_path, monkeypatch,
                                                            owner):
    names, _ = learned_names(tmp_path, monkeypatch, run_all)
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(cache))
    cache.mkdir(mode=0o700)
    marker = tmp_path / "ran"
    for name in names:
        path = cache / name
        path.write_text(evil_module(marker))
        os.chmod(path, 0o600 if owner == "self_0600" else 0o644)
        if owner == "other_uid":
            os.chown(path, OTHER_UID, -1)
    run_all()
    assert not marker.exists()
    for name in names:
        st = (cache / name).lstat()
        assert st.st_uid == os.geteuid() and stat.S_IMODE(st.st_mode) == 0o600
        assert "1000.0" not in (cache / name).read_text()


def test_planted_pyc_files_are_never_imported(cache, tmp_path, monkeypatch):
    import py_compile
    names, _ = learned_names(tmp_path, monkeypatch, run_all)
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(cache))
    marker = tmp_path / "ran"
    source = tmp_path / "evil.py"
    source.write_text(evil_module(marker))
    pycache = cache / "__pycache__"
    pycache.mkdir(parents=True)
    os.chmod(cache, 0o700)
    for name in names:
        compiled = pycache / f"{name[:-3]}.{sys.implementation.cache_tag}.pyc"
        py_compile.compile(str(source), cfile=str(compiled))
        (cache / f"{name[:-3]}.pyc").write_bytes(compiled.read_bytes())
    run_all()
    assert not marker.exists()


@pytest.mark.parametrize("owner", ["other_uid", "self"])
def test_planted_numba_index_and_data_are_never_unpickled(cache, tmp_path, monkeypatch,
                                                         owner):
    pytest.importorskip("numba")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    _, nb_names = learned_names(tmp_path, monkeypatch, run_cubic_numba, numba=True)
    assert nb_names
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(cache))
    pycache = cache / "__pycache__"
    pycache.mkdir(parents=True)
    os.chmod(cache, 0o700)
    os.chmod(pycache, 0o700)
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(_Evil(marker))
    for name in nb_names:
        path = pycache / name
        path.write_bytes(payload + payload)
        if owner == "other_uid":
            os.chown(path, OTHER_UID, -1)
        else:
            os.chmod(path, 0o666)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        run_cubic_numba()
    assert not marker.exists()


def test_numba_cache_files_are_private(cache, monkeypatch):
    pytest.importorskip("numba")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    run_cubic_numba()
    files = [p for p in (cache / "__pycache__").iterdir()]
    assert files
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p


@pytest.mark.parametrize("problem", ["other_uid", "symlink", "world_writable"])
def test_numba_pycache_that_is_not_ours_is_not_used(cache, tmp_path, monkeypatch, problem):
    pytest.importorskip("numba")
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    cache.mkdir(mode=0o700)
    pycache = cache / "__pycache__"
    if problem == "symlink":
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir(mode=0o700)
        pycache.symlink_to(elsewhere)
    else:
        pycache.mkdir(mode=0o700)
        if problem == "other_uid":
            os.chown(pycache, OTHER_UID, -1)
        else:
            os.chmod(pycache, 0o777)
    expect_one_warning(run_cubic_numba, "numba compiles")
    target = tmp_path / "elsewhere" if problem == "symlink" else pycache
    assert list(target.iterdir()) == []


def test_numba_cache_dir_of_another_user_is_not_used(cache, tmp_path, monkeypatch):
    numba = pytest.importorskip("numba")
    theirs = tmp_path / "numba_theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, OTHER_UID, -1)
    monkeypatch.setattr(numba.core.config, "CACHE_DIR", str(theirs))
    expect_one_warning(run_cubic_numba, "NUMBA_CACHE_DIR")
    assert list(theirs.iterdir()) == []


@pytest.mark.parametrize("mode", [0o770, 0o777, 0o707, 0o720, 0o702, 0o1777])
def test_cache_writable_by_others_is_refused(cache, mode):
    cache.mkdir()
    os.chmod(cache, mode)
    expect_one_warning(run_all, "writable by group or others")
    assert list(cache.iterdir()) == []


@pytest.mark.parametrize("mode", [0o700, 0o750, 0o755, 0o500])
def test_cache_readable_by_others_is_used_and_files_stay_private(cache, mode):
    cache.mkdir()
    os.chmod(cache, mode)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        run_all()
    for p in cache.glob("*.py"):
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_cache_owned_by_another_user_gets_nothing_written(cache, tmp_path, monkeypatch):
    cache.mkdir(mode=0o700)
    os.chown(cache, OTHER_UID, -1)
    expect_one_warning(run_all, f"owned by uid {OTHER_UID}")
    assert list(cache.iterdir()) == []
    with warnings.catch_warnings():  # once per process and directory
        warnings.simplefilter("error", CacheWarning)
        ts.clear_cache()
        run_all()


def test_cache_group_owned_by_another_group_but_private_is_used(cache):
    cache.mkdir(mode=0o700)
    os.chown(cache, -1, OTHER_UID)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)
        run_all()


def test_world_writable_non_sticky_parent_is_refused(tmp_path, monkeypatch):
    parent = tmp_path / "shared"
    parent.mkdir()
    os.chmod(parent, 0o777)
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(parent / "cache"))
    expect_one_warning(run_all, "not sticky")


def test_symlinked_cache_directory_is_refused_even_if_ours(cache, tmp_path):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    cache.symlink_to(real)
    expect_one_warning(run_all, "symbolic link")
    assert list(real.iterdir()) == []


def test_hardlink_under_the_module_name_leaves_its_target_alone(cache, tmp_path, monkeypatch):
    names, _ = learned_names(tmp_path, monkeypatch, run_all)
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(cache))
    cache.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    for name in names:
        os.link(victim, cache / name)
    run_all()
    assert victim.read_text() == "precious\n"


def test_clear_and_prune_unlink_planted_links_not_their_targets(cache, tmp_path):
    run_all()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (cache / "planted_0123456789ab.py").symlink_to(victim)
    (cache / "__pycache__").mkdir(exist_ok=True)
    (cache / "__pycache__" / "planted_0123456789ab.f-1.py311.nbi").symlink_to(victim)
    cache_dir.prune(str(cache), max_files=0, max_bytes=0)
    assert victim.read_text() == "precious\n"
    (cache / "planted_0123456789ab.py").symlink_to(victim)
    cache_dir.clear()
    assert victim.read_text() == "precious\n"
    assert not (cache / "planted_0123456789ab.py").is_symlink()


def test_clear_does_not_follow_a_symlinked_pycache(cache, tmp_path):
    run_all()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    keep = elsewhere / "dwave_0123456789ab.f-1.py311.nbi"
    keep.write_text("theirs")
    (cache / "__pycache__").symlink_to(elsewhere)
    cache_dir.clear()
    assert keep.read_text() == "theirs"


def test_info_lists_nothing_from_an_unusable_directory(cache):
    run_all()
    os.chown(cache, OTHER_UID, -1)
    facts = cache_dir.info()
    assert facts["files"] == 0 and "owned by uid" in facts["problem"]


def test_in_memory_modules_have_tracebacks_but_no_file(cache):
    cache.write_text("file")

    def boom(x):
        return np.sum(np.log(x)) * np.sqrt(x[0])
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        df = ts.grad(boom)
        df(X * -1.0 + 2.0)
    path = df._last.path
    assert path.startswith("<tangent_src generated") and not os.path.exists(path)
    assert linecache.getline(path, 1)


def test_generated_source_with_user_comments_is_owner_only(cache):
    def secret_model(x):
        # the secret: 42
        return np.sum(x * 42.0)
    ts.grad(secret_model)(X)
    files = [p for p in cache.glob("*.py") if "secret" in p.read_text()]
    assert files
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600


def test_pickled_transforms_carry_no_code_and_no_path(cache):
    df = ts.grad(pm.twice)
    df(X)
    data = pickle.dumps(df)
    assert str(cache).encode() not in data and b"def " not in data
    close(pickle.loads(data)(X), fd(pm.twice, X))


# ============================================================================= 5. names
# Names generated code and the runtime use: runtime helpers, NumPy/math/module names, and
# what the generated source of the gradients above contains (adjoints `dx`, seeds `dout`,
# forward/backward pairs `g_fwd`/`g_bwd`, tapes `_g_saved_tape`, temporaries `tanh_x`,
# `cond`, versions `h2`/`h3`, saved tuples `saved`/`g_saved`).
LOCAL_NAMES = ["numpy", "tangent_src", "runtime", "math", "_t", "dx", "d_x", "dh",
               "dout", "out", "saved", "result", "dresult", "unbroadcast", "unreduce",
               "add_at", "zeros_like", "stack", "push", "pop", "append", "tape", "_h_tape",
               "_g_saved_tape", "g_saved", "cond", "tanh_x", "h2", "h3", "g_fwd", "g_bwd",
               "jvp_g", "dg", "seed", "grad", "df", "builtins", "sum", "len",
               "float", "abs", "i", "k", "_", "__", "self", "cls", "x2", "dx2", "d"]


def _names_module():
    lines = ["import numpy as np", "", "",
             "def g(x):", "    return np.tanh(x) * 2.0", ""]
    for name in LOCAL_NAMES:
        lines += [f"def local_{name.strip('_') or 'u'}_{len(name)}(x):",
                  f"    {name} = np.sin(x) * 1.5",
                  "    h = x",
                  "    for i_ in range(3):",
                  f"        h = g(h * 0.5) + h * {name}",
                  "    if np.sum(h) > 0:",
                  f"        h = h * {name}",
                  f"    return np.sum(h * h) + np.sum({name})", ""]
    return lines


NAMES = __import__("fdcheck").import_generated("probe_names_locals", _names_module())


def _local(name):
    return getattr(NAMES, f"local_{name.strip('_') or 'u'}_{len(name)}")


@pytest.mark.parametrize("name", LOCAL_NAMES)
def test_local_named_like_generated_code(name):
    f = _local(name)
    for transform in ("grad", "value_and_grad", "jvp", "hvp"):
        TRANSFORMS[transform](f, X)


@pytest.mark.parametrize("name", ["numpy", "dx", "dout", "saved", "g_fwd", "cond", "tanh_x",
                                  "unbroadcast", "sum", "len", "_g_saved_tape"])
def test_local_named_like_generated_code_second_order(name):
    TRANSFORMS["grad_grad"](_local(name), X)


GLOBALS_MOD = __import__("fdcheck").import_generated("probe_names_globals", """
import numpy as np

dx = 0.5
dout = np.array([1.0, 2.0, 3.0])
out = 2.0
saved = 3.0
cond = -1.0
tanh_x = 0.25
h2 = 1.5
seed = 4.0
result = 0.75
_g_saved_tape = 2.5


def g(x):
    return np.tanh(x) * out


def g_fwd(x):          # the name of g's generated forward function
    return x * 1000.0


def g_bwd(saved, dx):  # and of its backward function
    return dx * 1000.0


def jvp_g(x, dx=1.0):  # and of its forward-mode derivative
    return x * 1000.0, dx * 1000.0


def dglobals_user(x):  # the name grad would give the gradient of globals_user
    return x * 1000.0


def globals_user(x):
    h = x
    for i in range(3):
        h = g(h * dx) + h * saved * tanh_x
    if np.sum(h) > cond:
        h = h * h2
    return np.sum(h * dout) * seed + result * _g_saved_tape + g_fwd(1.0) * 0.0


def f(x):
    return np.sum(np.sin(x) * 2.0)


def f_fwd(x):
    return x * 1000.0


def f_bwd(saved, dout):
    return dout * 1000.0


def df(x):
    return x * 1000.0


def calls_f_and_df(x):
    return f(x) + np.sum(df(np.ones(3))) * 0.0 + np.sum(f_fwd(x)) * 0.0
""".splitlines())


@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
def test_globals_and_functions_named_like_generated_code(transform):
    TRANSFORMS[transform](GLOBALS_MOD.globals_user, X)
    TRANSFORMS[transform](GLOBALS_MOD.calls_f_and_df, X)
    TRANSFORMS[transform](GLOBALS_MOD.f, X)


def test_globals_named_like_generated_code_read_live():
    f = GLOBALS_MOD.globals_user
    old = GLOBALS_MOD.seed
    try:
        GLOBALS_MOD.seed = -2.0
        TRANSFORMS["grad"](f, X)
        TRANSFORMS["jvp"](f, X)
    finally:
        GLOBALS_MOD.seed = old


STYLES = __import__("fdcheck").import_generated("probe_names_styles", """
import numpy
import numpy as jnp
import numpy as onp
import numpy.linalg as la
from numpy import *  # noqa: F403
from numpy import sin as s, cos


def uses_jnp(x):
    return jnp.sum(jnp.tanh(x) * jnp.exp(x * 0.5))


def uses_onp_and_numpy(x):
    return onp.sum(numpy.sin(x) * onp.cos(x))


def uses_star(x):
    return sum(tanh(x) * exp(x * 0.3)) + dot(x, x)  # noqa: F405


def uses_la(x):
    return la.norm(x) * jnp.sum(x)


def uses_aliases(x):
    return jnp.sum(s(x) * cos(x))


def np_dict(x):
    np = {"scale": 2.0}
    return jnp.sum(jnp.sin(x) * np["scale"])


sum = jnp.sum        # builtins shadowed at module level
len = jnp.size
abs = jnp.abs


def shadowed_builtins(x):
    return sum(jnp.sin(x) * len(x)) + sum(abs(x) * x)


def range(n):        # a module-level `range` that is not the builtin
    return [0, 2]


def user_range(x):
    total = 0.0
    for i in range(3):
        total = total + jnp.sum(jnp.sin(x * (i + 1.0)))
    return total


def lambda_param(x, lambda_=0.5):
    return jnp.sum(x * x) * lambda_ + jnp.sum(jnp.sin(x))


def unicode_names(x):
    λ = 0.7
    Δx = jnp.sin(x) * λ
    x̄ = Δx * x
    return jnp.sum(x̄ + Δx ** 2)


def unicode_param(ξ):
    return jnp.sum(jnp.tanh(ξ) * ξ)
""".splitlines())


@pytest.mark.parametrize("name", ["uses_jnp", "uses_onp_and_numpy", "uses_star", "uses_la",
                                  "uses_aliases", "np_dict", "shadowed_builtins",
                                  "user_range", "lambda_param", "unicode_names",
                                  "unicode_param"])
@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "jvp", "forward", "vjp",
                                       "hessian", "jacfwd"])
def test_import_styles_and_shadowed_names(name, transform):
    f = getattr(STYLES, name)
    if name == "lambda_param" and transform == "forward":
        transform = "jvp"  # autodiff's tangents follow every argument, lambda_ included
    if name == "user_range":  # a module-level `range` returning a list: that list is looped
        # over (it was refused); its sum over i in [0, 2], not over the builtin range(3)
        expected = __import__("fdcheck").numerical_grad(f, (X,))
        np.testing.assert_allclose(ts.grad(f)(X), expected, rtol=1e-6)
    TRANSFORMS[transform](f, X)


@pytest.mark.parametrize("name", ["uses_jnp", "uses_star", "np_dict", "shadowed_builtins",
                                  "unicode_names"])
def test_import_styles_second_order(name):
    TRANSFORMS["grad_grad"](getattr(STYLES, name), X)


def test_parameter_lambda_underscore_by_name():
    f = STYLES.lambda_param
    close(ts.grad(f, wrt="lambda_")(X, 0.5), np.sum(X * X))
    close(ts.grad(f, wrt=(0, 1))(X, 0.5)[0], fd(f, X, 0.5))


@pytest.mark.parametrize("name", ["dx", "dout", "saved", "result", "seed", "out", "cond",
                                  "g_saved", "h2", "tanh_x", "d_x", "self", "df"])
def test_parameter_named_like_generated_code(name):
    source = (f"def p(x, {name}):\n"
              f"    h = np.tanh(x * {name}) * x\n"
              f"    return np.sum(h * {name})\n")
    ns = {"np": np}
    run_cell(source, ns)
    f = ns["p"]
    w = np.array([0.5, -1.2, 2.0])
    close(ts.grad(f)(X, w), fd(f, X, w))
    close(ts.grad(f, wrt=1)(X, w), numerical_grad(f, (X, w), 1))
    value, t = ts.jvp(f, (X, w), (V, V))
    close(t, np.dot(fd(f, X, w), V) + np.dot(numerical_grad(f, (X, w), 1), V))


@pytest.mark.parametrize("name", ["np", "unbroadcast", "zeros_like", "sum", "range", "math"])
def test_parameter_named_like_a_reserved_name_is_correct_or_refused(name):
    ns = {"np": np}
    run_cell(f"def p(x, {name}):\n    return np.sum(np.sin(x) * 2.0) + 0.0 * x[0]\n", ns)
    f = ns["p"]
    try:
        got = ts.grad(f)(X, 1.0)
    except TangentError as err:
        assert "reserved" in str(err)
        return
    close(got, fd(f, X, 1.0))


def test_transform_of_a_function_named_like_its_gradient():
    ns = {"np": np}
    run_cell("def dg(x):\n    return np.sum(np.sin(x) * x)\n"
             "def g(x):\n    return dg(x) * 2.0\n", ns)
    for f in (ns["dg"], ns["g"]):
        for transform in ("grad", "jvp", "hessian", "grad_grad"):
            TRANSFORMS[transform](f, X)


def test_lambda_named_by_assignment_like_generated_functions():
    ns = {"np": np}
    run_cell("g_fwd = lambda x: np.sum(np.sin(x) * x)\n"
             "g = lambda x: g_fwd(x) * 3.0\n", ns)
    for transform in ("grad", "jvp", "hessian"):
        TRANSFORMS[transform](ns["g"], X)


def test_closure_variables_named_like_generated_code():
    def make():
        dx, dout, np_ = 0.5, 2.0, np

        def f(x):
            saved = np_.sin(x) * dx
            return np_.sum(saved * dout * x)
        return f

    f = make()
    for transform in ("grad", "jvp", "hessian", "grad_grad"):
        TRANSFORMS[transform](f, X)


def test_nested_function_named_like_generated_helpers():
    def f(x):
        def unbroadcast(a):
            return a * 2.0

        def g_bwd(a):
            return np.sin(a)
        return np.sum(unbroadcast(g_bwd(x)) * x)

    for transform in ("grad", "jvp", "hessian"):
        TRANSFORMS[transform](f, X)


# -- names: runtime helpers of inlined callees (found by the probes above)
def _writes_an_array(x):
    w = np.zeros(3)
    w[1] = 2.0
    return np.sum(np.sin(x) * w)


def _fills_a_dict(x):
    params = {"a": 2.0}
    params["b"] = 0.5
    return np.sum(np.sin(x) * params["a"] + x * params["b"])


@pytest.mark.parametrize("helper", [_writes_an_array, _fills_a_dict])
def test_second_order_through_a_helper_that_writes_an_array_or_a_dict(helper):
    """The inlined helper's runtime call (`set_at`) was renamed `set_at2` in the caller and
    imported from tangent_src.runtime under that name: ImportError."""
    def scalar(t):
        return helper(np.full(3, t)) * 1.5
    h = 1e-4
    expected = (fd(scalar, 0.35 + h) - fd(scalar, 0.35 - h)) / (2 * h)
    close(ts.grad(ts.grad(scalar))(0.35), expected, rtol=1e-4, atol=1e-6)
    close(ts.hessian(lambda x: helper(x) * 1.5)(X), fd_hessian(lambda x: helper(x) * 1.5, X),
          rtol=1e-4, atol=1e-5)


# -- staleness found by the probes: defaults, functions in containers, live globals
def test_function_valued_default_replaced_after_the_first_call():
    """The transform took the signature (with its default values) once: replacing a
    function-valued default specialized the new code on the old function."""
    def f(x, act=np.tanh):
        return np.sum(act(x) * x)

    def g(x, *, act=np.tanh):
        return np.sum(act(x) * x)

    df, dg = ts.grad(f), ts.grad(g)
    close(df(X), fd(f, X))
    close(dg(X), fd(g, X))
    f.__defaults__ = (np.sin,)
    g.__kwdefaults__["act"] = np.sin
    close(df(X), np.sin(X) + X * np.cos(X))
    close(dg(X), np.sin(X) + X * np.cos(X))
    close(ts.jvp(f, (X,), (V,))[1], np.dot(fd(f, X), V))
    close(ts.hessian(f)(X), fd_hessian(f, X), rtol=1e-4, atol=1e-5)
    close(df(X, np.cos), fd(f, X, np.cos))


def test_instance_attributes_and_containers_holding_functions_refuse_or_are_right():
    class Model:
        pass

    m = Model()
    m.act, m.w = np.tanh, 2.0

    def loss(x, m):
        return np.sum(m.act(x * m.w))

    def pair(x, p):
        g, w = p
        return np.sum(g(x) * w)

    for f, arg in ((loss, m), (pair, (np.tanh, 2.0)), (pair, (np.sin, 2.0))):
        try:
            got = ts.grad(f)(X, arg)
        except TangentError as err:
            assert err.lineno  # a located refusal
            continue
        close(got, fd(f, X, arg))


X2 = np.arange(6.0).reshape(2, 3) * 0.1 + 0.2

# (source, first value of the global, later values, argument): a global that decides a
# shape, a loop count, a branch, an index, an axis or an exponent, rebound between calls
LIVE_GLOBALS = {
    "dict_entry": ("CFG = {'w': 2.0}\ndef f(x):\n    return np.sum(np.sin(x) * CFG['w'])\n",
                   "CFG", [{"w": -3.0}, {"w": np.array([1.0, 2.0, 3.0])}], X),
    "list": ("W = [1.0, 2.0, 3.0]\ndef f(x):\n    return np.sum(np.sin(x) * np.array(W))\n",
             "W", [[1.0, -5.0, 3.0]], X),
    "loop_count": ("N = 3\ndef f(x):\n    s = 0.0\n    for i in range(N):\n"
                   "        s = s + np.sum(np.sin(x * (i + 1.0)))\n    return s\n",
                   "N", [5, 1, 3], X),
    "branch": ("FLAG = True\ndef f(x):\n    if FLAG:\n        return np.sum(np.sin(x))\n"
               "    return np.sum(x ** 3)\n", "FLAG", [False, True], X),
    "index": ("IDX = 0\ndef f(x):\n    return np.sum(np.sin(x[IDX]) * x[IDX])\n",
              "IDX", [2, slice(0, 2), [0, 0, 2], -1], X),
    "string_mode": ("MODE = 'tanh'\ndef f(x):\n    if MODE == 'tanh':\n        y = np.tanh(x)\n"
                    "    else:\n        y = np.sin(x)\n    return np.sum(y)\n",
                    "MODE", ["sin", "tanh"], X),
    "axis": ("AXIS = 0\ndef f(x):\n    return np.sum(np.sin(np.sum(x * x, axis=AXIS)))\n",
             "AXIS", [1, None, (0, 1), -1], X2),
    "reshape": ("SHAPE = (3, 1)\ndef f(x):\n    y = np.reshape(x, SHAPE)\n"
                "    return np.sum(np.sin(y * y.T))\n", "SHAPE", [(1, 3)], X),
    "exponent": ("K = 2\ndef f(x):\n    return np.sum(x ** K)\n", "K", [3, 0.5, 0, 1.5],
                 np.abs(X) + 0.1),
    "tile": ("REPS = 2\ndef f(x):\n    return np.sum(np.sin(np.tile(x, REPS)) * "
             "np.arange(3 * REPS))\n", "REPS", [3, 1], X),
    "norm_order": ("ORD = 2\ndef f(x):\n    return np.linalg.norm(x, ord=ORD)\n",
                   "ORD", [1, np.inf, 2], X),
}


@pytest.mark.parametrize("case", sorted(LIVE_GLOBALS))
def test_globals_that_decide_shapes_loops_and_branches_rebound(case):
    source, name, later, x = LIVE_GLOBALS[case]
    nb = Notebook()
    nb.run(source)
    f = nb["f"]
    df, hf = ts.grad(f), ts.hessian(f)
    flat = np.ravel(x)

    def flat_f(y):
        return f(y.reshape(np.shape(x)))
    for value in [nb[name]] + later:
        nb.ns[name] = value
        close(df(x), fd(f, x))
        close(ts.jvp(f, (x,), (np.ones_like(x) * 0.7,))[1], np.sum(fd(f, x) * 0.7))
        close(np.reshape(hf(x), (flat.size, flat.size)), fd_hessian(flat_f, flat),
              rtol=1e-4, atol=2e-5)


# ======================================================= numba modules in sys.modules
def _closure_calling_a_helper(k):
    def helper(n):
        return n * k

    def f(x):
        return np.sum(np.sin(x) * helper(3.0))
    return f


def _generated_modules() -> set:
    return {m for m in sys.modules if m.startswith("tangent_src_generated")}


@pytest.mark.parametrize("how", ["clear_cache", "eviction"])
def test_numba_generated_modules_leave_sys_modules_with_their_cache_entry(monkeypatch, how):
    """numba-compiled generated modules are registered in sys.modules (numba's disk cache
    imports them by name); they stayed there, holding their frozen values and the user
    functions numba compiled, for the life of the process. Now they go when their entry
    leaves the in-memory cache (and no transform uses it any more)."""
    pytest.importorskip("numba")
    monkeypatch.setattr(ts.compiled, "CACHE_SIZE", 2)
    before = _generated_modules()
    made = set()
    for k in (2.0, 5.0, 7.0):
        f = _closure_calling_a_helper(k)
        df = ts.grad(f, backend="numba")
        close(df(X), 3.0 * k * np.cos(X))
        made |= _generated_modules() - before
        del f, df
    assert len(made) == 3
    if how == "clear_cache":
        ts.clear_cache()
        gc.collect()
        assert not made & _generated_modules()
    else:  # the first entry was evicted by the third; the last two are still cached
        gc.collect()
        assert len(made & _generated_modules()) == 2


# -- concurrency and file system found by the probes: fork while busy, $HOME
_FORK_WHILE_BUSY = """
import linecache, multiprocessing, sys, threading, time
import numpy as np
import tangent_src as ts
import _probe_mod as pm
stop = threading.Event()
def busy(k):
    n = 0
    while not stop.is_set():
        ns = {"np": np}
        src = f"def f(x):\\n    return np.sum(np.sin(x) * {k}.{n} + x ** 3)\\n"
        name = f"<busy-{k}-{n}>"
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)
        exec(compile(src, name, "exec"), ns)
        ts.grad(ns["f"])(np.ones(3))
        n += 1
threads = [threading.Thread(target=busy, args=(k,)) for k in range(2)]
for t in threads:
    t.start()
time.sleep(0.3)
try:
    for i in range(2):
        with multiprocessing.get_context("fork").Pool(2) as pool:
            out = pool.map(ts.grad(pm.wave), [np.full(3, 0.1 * i), np.full(3, 0.5)])
        print(repr([list(map(float, g)) for g in out]), flush=True)
finally:
    stop.set()
    for t in threads:
        t.join()
"""


def test_fork_while_other_threads_generate_code(tmp_path):
    """A Pool forked while another thread holds the generation lock: the children waited
    forever for a lock whose owner they do not have."""
    env = dict(os.environ, TANGENT_SRC_CACHE=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    try:
        out = subprocess.run([sys.executable, "-c", _FORK_WHILE_BUSY], env=env,
                             capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        pytest.fail("forked workers deadlocked")
    assert out.returncode == 0, out.stderr
    rounds = out.stdout.split("\n")
    assert len([r for r in rounds if r]) == 2
    for i, line in enumerate(r for r in rounds if r):
        for x, g in zip((np.full(3, 0.1 * i), np.full(3, 0.5)), eval(line)):  # noqa: S307
            close(g, fd(pm.wave, x))


@pytest.mark.parametrize("home", ["", "relative/home"])
def test_default_location_is_absolute_whatever_home_says(tmp_path, monkeypatch, home):
    """A relative (or empty) $HOME put the default cache under the current directory,
    wherever that happened to be."""
    import pwd
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TANGENT_SRC_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", home)
    path = cache_dir.location()
    assert os.path.isabs(path) and not path.startswith(str(tmp_path))
    assert path == os.path.join(pwd.getpwuid(os.getuid()).pw_dir, ".cache", "tangent_src")


def test_cache_directory_removed_while_a_file_is_written(cache, monkeypatch):
    import shutil
    cache.mkdir(mode=0o700)
    real_replace = os.replace

    def vanish(src, dst, **kwargs):
        shutil.rmtree(cache, ignore_errors=True)
        return real_replace(src, dst, **kwargs)
    monkeypatch.setattr(os, "replace", vanish)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        run_all()
    assert len(cache_warnings(record)) <= 1
    monkeypatch.setattr(os, "replace", real_replace)
    assert not cache.exists() or tmp_files(cache) == []


def test_cache_cleared_on_disk_while_threads_compute(cache):
    stop = threading.Event()

    def clearer():
        while not stop.is_set():
            cache_dir.clear()

    nb = Notebook()
    for k in range(12):
        nb.run(f"def f{k}(x):\n    return np.sum(np.tanh(x * {k + 1}.0) + x ** 3)\n")
    thread = threading.Thread(target=clearer)
    thread.start()
    try:
        results = _many(lambda k: (ts.grad(nb[f"f{k}"])(X), ts.hessian(nb[f"f{k}"])(X)),
                        range(12))
    finally:
        stop.set()
        thread.join()
    for k, (g, h) in enumerate(results):
        f = nb[f"f{k}"]
        close(g, fd(f, X))
        close(h, fd_hessian(f, X), rtol=1e-4, atol=1e-5)


def test_helper_redefined_while_threads_compute():
    """Each result is the derivative of one version of the helper, never a mixture, and
    once the redefinition is done every new call sees it."""
    nb = Notebook()
    nb.run("def g(x):\n    return np.sin(x) * 2.0\n"
           "def f(x):\n    return np.sum(g(x) * x)\n")
    old = fd(nb["f"], X)
    stop = threading.Event()
    df = ts.grad(nb["f"])

    def compute(_):
        seen = []
        while not stop.is_set() and len(seen) < 200:
            seen.append(df(X))
        return seen

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(compute, k) for k in range(4)]
        nb.run("def g(x):\n    return np.cos(x) * x * 3.0\n")
        stop.set()
        results = [v for fut in futures for v in fut.result()]
    new = fd(nb["f"], X)
    for value in results:
        assert np.allclose(value, old, rtol=1e-5, atol=1e-7) or \
            np.allclose(value, new, rtol=1e-5, atol=1e-7), value
    close(df(X), new)


def test_numba_gradients_built_in_threads():
    pytest.importorskip("numba")

    def f1(x):
        return np.sum(np.sin(x) * x)

    def f2(x):
        return np.sum(np.tanh(x) * x * x)

    jobs = [f1, f2, f1, f2]
    results = _many(lambda f: ts.grad(f, backend="numba")(X), jobs, workers=4)
    for f, g in zip(jobs, results):
        close(g, fd(f, X))


# -- staleness: the output check
def test_output_that_becomes_an_array_through_a_global_is_refused_every_time():
    """grad checked that the output is a scalar once per specialization; a global read
    live (here an axis) can make it an array later, and the same transform then returned
    the gradient of sum(f) where a fresh one refuses."""
    nb = Notebook()
    nb.run("""
        AXIS = None
        def f(x):
            return np.sum(np.sin(x) * x, axis=AXIS)
    """)
    f = nb["f"]
    df, vg, hf = ts.grad(f), ts.value_and_grad(f), ts.hessian(f)
    close(df(X2), fd(f, X2))
    close(vg(X2)[1], fd(f, X2))
    hf(X2)
    nb.ns["AXIS"] = 0
    for transform in (df, vg, hf):
        with pytest.raises(TangentError, match="scalar"):
            transform(X2)
    with pytest.raises(TangentError, match="scalar"):
        ts.hvp(f)(X2, np.ones_like(X2))
    nb.ns["AXIS"] = None
    close(df(X2), fd(f, X2))


# -- security: a FIFO under a generated module's name
_FIFO = """
import os, sys
import numpy as np
import tangent_src as ts
import _probe_mod as pm
os.environ["TANGENT_SRC_CACHE"] = sys.argv[1]
ts.grad(pm.twice)(np.ones(3))
ts.grad(ts.grad(pm.bump))(0.5)
names = [n for n in os.listdir(sys.argv[1]) if n.endswith(".py")]
ts.clear_cache()
os.makedirs(sys.argv[2], mode=0o700)
for name in names:
    os.mkfifo(os.path.join(sys.argv[2], name), 0o600)
os.environ["TANGENT_SRC_CACHE"] = sys.argv[2]
print(repr([float(v) for v in ts.grad(pm.twice)(np.ones(3))]))
print(repr(float(ts.grad(ts.grad(pm.bump))(0.5))))
"""


def test_fifo_under_the_module_name_does_not_hang(tmp_path):
    """Checking whether the file already holds the module opened it for reading, which
    waits for ever on a FIFO."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests")]))
    try:
        out = subprocess.run([sys.executable, "-c", _FIFO, str(tmp_path / "learn"),
                              str(tmp_path / "cache")], env=env, capture_output=True,
                             text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("a FIFO in the cache directory blocked the process")
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.split("\n")[:2]
    close(eval(first), fd(pm.twice, np.ones(3)))  # noqa: S307 - our own repr of floats
    t = 0.5
    expected = -2 * 1.5 * np.tanh(t) * (1 - np.tanh(t) ** 2) + 2.0
    close(eval(second), expected)  # noqa: S307
    for p in (tmp_path / "cache").iterdir():
        assert not stat.S_ISFIFO(p.lstat().st_mode), p
