"""A generated gradient is never stale (issue 11, "Stale results today").

Everything tangent_src builds a gradient from is part of its cache key or checked before
each run: the code objects and defaults of the user functions it was generated from, the
globals, closure cells and dotted names (`helpers.g`, `cfg.w`, `Model.predict`) generation
resolved, and under numba every value numba freezes (also in its on-disk cache, which is
shared between processes). What the generated code reads when it runs (numbers and arrays
in globals and cells) is read live. Generated source is kept in memory, so a higher
derivative never reads a generated file back, and the in-memory cache is bounded, so it
does not keep every differentiated closure alive.

Each test is written as user code would be (a notebook cell re-run, a module edited, a
method monkeypatched) and checks every derivative against central finite differences or a
hand-derived value.
"""
from __future__ import annotations

import functools
import gc
import importlib
import linecache
import os
import subprocess
import sys
import textwrap
import types
import weakref
from itertools import count
from pathlib import Path

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src import api
from tangent_src.errors import SourceChangedError

ROOT = Path(__file__).resolve().parent.parent
_CELLS = count(1)


def check(value, f, args, wrt=0):
    """`value` is the gradient of `f` at `args` (central finite differences)."""
    np.testing.assert_allclose(value, numerical_grad(f, args, wrt), rtol=1e-6, atol=1e-8)


class Notebook:
    """Cells executed into one namespace the way IPython runs them: each cell's source is
    registered in linecache under its own file name, then executed."""

    def __init__(self, **names):
        self.ns = {"__name__": "__main__", "np": np, **names}

    def run(self, source: str) -> None:
        source = textwrap.dedent(source)
        filename = f"<ipython-input-{next(_CELLS)}-stale>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), self.ns)

    def __getitem__(self, name):
        return self.ns[name]


# -- a helper redefined ---------------------------------------------------------------
def test_notebook_helper_redefined_old_and_fresh_grad():
    nb = Notebook()
    nb.run("""
        def g(x):
            return np.sin(x) * x
        def f(x):
            return g(x) + x * x
    """)
    df = tangent_src.grad(nb["f"])
    check(df(0.7), nb["f"], (0.7,))
    nb.run("""
        def g(x):
            return np.cos(x) * x * x
    """)
    check(df(0.7), nb["f"], (0.7,))
    check(tangent_src.grad(nb["f"])(0.7), nb["f"], (0.7,))
    check(tangent_src.grad(tangent_src.grad(nb["f"]))(0.7), tangent_src.grad(nb["f"]), (0.7,))


def test_helper_module_reloaded_in_notebook(modules):
    """`%autoreload` / importlib.reload rebinds `helpers.g` inside the same module object:
    a gradient that calls `helpers.g(x)` must follow it."""
    modules("stale_helpers", """
        def g(x):
            return x * x
    """)
    nb = Notebook()
    nb.run("""
        import stale_helpers
        def f(x):
            return stale_helpers.g(x) + 1.0
    """)
    df = tangent_src.grad(nb["f"])
    assert df(3.0) == pytest.approx(6.0)
    modules("stale_helpers", """
        def g(x):
            return x * x * x
    """)
    importlib.reload(sys.modules["stale_helpers"])
    assert nb["f"](3.0) == 28.0
    assert df(3.0) == pytest.approx(27.0)
    assert tangent_src.grad(nb["f"])(3.0) == pytest.approx(27.0)
    jvp = tangent_src.autodiff(nb["f"], mode="forward")
    assert jvp(3.0) == pytest.approx(27.0)


def test_monkeypatched_method_of_argument_class():
    class Model:
        def predict(self, x):
            return np.tanh(x) * self.scale

    def loss(model, x):
        return model.predict(x) ** 2

    model = Model()
    model.scale = 1.5
    df = tangent_src.grad(loss, 1)
    check(df(model, 0.4), lambda x: loss(model, x), (0.4,))
    Model.predict = lambda self, x: np.sin(x) * self.scale * x
    check(df(model, 0.4), lambda x: loss(model, x), (0.4,))
    check(tangent_src.grad(loss, 1)(model, 0.4), lambda x: loss(model, x), (0.4,))


def test_monkeypatched_method_of_module_level_object():
    class Layer:
        def __call__(self, x):
            return x

        def forward(self, x):
            return np.exp(x) * 0.5

    nb = Notebook(layer=Layer())
    nb.run("""
        def loss(x):
            return layer.forward(x) + x
    """)
    df = tangent_src.grad(nb["loss"])
    check(df(0.3), nb["loss"], (0.3,))
    Layer.forward = lambda self, x: x ** 3
    assert df(0.3) == pytest.approx(3 * 0.3 ** 2 + 1.0)
    check(df(0.3), nb["loss"], (0.3,))


# -- defaults and code objects --------------------------------------------------------------
def test_replaced_defaults():
    def f(x, k=2.0):
        return k * x * x

    df = tangent_src.grad(f)
    assert df(3.0) == pytest.approx(12.0)
    f.__defaults__ = (5.0,)
    assert df(3.0) == pytest.approx(30.0)
    assert tangent_src.grad(f)(3.0) == pytest.approx(30.0)
    check(tangent_src.autodiff(f, mode="forward")(3.0), f, (3.0,))


def test_replaced_defaults_of_a_callee_and_mutated_kwdefaults():
    nb = Notebook()
    nb.run("""
        def g(x, k=2.0, *, p=1.0):
            return k * x * x + p * np.sin(x)
        def f(x):
            return g(x) * 0.5
    """)
    df = tangent_src.grad(nb["f"])
    check(df(0.8), nb["f"], (0.8,))
    nb["g"].__defaults__ = (-3.0,)
    check(df(0.8), nb["f"], (0.8,))
    nb["g"].__kwdefaults__["p"] = 4.0
    check(df(0.8), nb["f"], (0.8,))
    check(tangent_src.grad(nb["f"])(0.8), nb["f"], (0.8,))


def test_default_bound_to_module_value_later_rebound(modules):
    """Python evaluates a default once, when the def runs: rebinding the module value does
    not change it (the gradient must not either), and a re-run def picks up the new one."""
    modules("stale_defaults", """
        import numpy as np
        W = np.array([1.0, 2.0])
        K = 2.0
        def f(x, w=W, k=K):
            return k * np.sum(w * x * x)
    """)
    mod = importlib.import_module("stale_defaults")
    x = np.array([0.5, -1.5])
    df = tangent_src.grad(mod.f)
    check(df(x), mod.f, (x,))
    mod.W = np.array([7.0, -3.0])
    mod.K = 10.0
    np.testing.assert_allclose(df(x), 2 * 2.0 * np.array([1.0, 2.0]) * x)
    check(tangent_src.grad(mod.f)(x), mod.f, (x,))
    mod.f.__defaults__ = (mod.W, mod.K)  # what re-running the def would bind
    np.testing.assert_allclose(df(x), 2 * 10.0 * np.array([7.0, -3.0]) * x)
    check(tangent_src.grad(mod.f)(x), mod.f, (x,))


def test_swapped_code_object():
    def f(x):
        return np.sin(x) * x

    def replacement(x):
        return np.cos(x) * x * x

    df = tangent_src.grad(f)
    check(df(0.6), f, (0.6,))
    f.__code__ = replacement.__code__
    check(df(0.6), f, (0.6,))
    check(tangent_src.grad(f)(0.6), f, (0.6,))
    check(tangent_src.value_and_grad(f)(0.6)[1], f, (0.6,))


def test_swapped_code_of_a_closure_factory():
    nb = Notebook()
    nb.run("""
        def make(c):
            def g(x):
                return c * np.sin(x)
            return g
        def make_cubic(c):
            def g(x):
                return c * x * x * x
            return g
        def loss(x):
            g = make(2.0)
            return g(x) + x
    """)
    df = tangent_src.grad(nb["loss"])
    check(df(0.5), nb["loss"], (0.5,))
    nb["make"].__code__ = nb["make_cubic"].__code__
    assert df(0.5) == pytest.approx(2.0 * 3 * 0.25 + 1.0)


# -- closure cells and module attributes ------------------------------------------------------
def test_closure_cell_rebound_after_first_call():
    k = 2.0

    def f(x):
        return k * np.sin(x)

    df = tangent_src.grad(f)
    check(df(0.5), f, (0.5,))
    k = -7.0  # noqa: F841  (read by f through its cell)
    check(df(0.5), f, (0.5,))
    assert df(0.5) == pytest.approx(-7.0 * np.cos(0.5))


def test_closure_cell_object_attribute_changes_shape_class():
    cfg = types.SimpleNamespace(w=2.0)

    def f(x):
        return np.sum(cfg.w * x)

    df = tangent_src.grad(f)
    assert df(3.0) == pytest.approx(2.0)
    cfg.w = np.arange(6.0).reshape(2, 3)
    assert df(3.0) == pytest.approx(15.0)
    assert np.ndim(df(3.0)) == 0
    check(df(3.0), f, (3.0,))


def test_module_attribute_changes_shape_class(modules):
    modules("stale_cfg", """
        w = 2.0
    """)
    modules("stale_model", """
        import numpy as np
        import stale_cfg as cfg
        def loss(x):
            h = cfg.w * x
            return np.sum(np.tanh(h))
    """)
    cfg = importlib.import_module("stale_cfg")
    model = importlib.import_module("stale_model")
    df = tangent_src.grad(model.loss)
    check(df(0.3), model.loss, (0.3,))
    cfg.w = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    value = df(0.3)
    assert np.shape(value) == ()
    check(value, model.loss, (0.3,))
    check(tangent_src.grad(model.loss)(0.3), model.loss, (0.3,))


def test_function_valued_arguments_keyed_by_identity():
    def apply(x, g):
        return g(x) * 2.0

    def f1(x):
        return x * x

    def f2(x):
        return np.sin(x) * x

    d = tangent_src.grad(apply)
    assert d(1.0, f1) == pytest.approx(4.0)
    check(d(1.0, f2), lambda x: apply(x, f2), (1.0,))
    check(d(1.0, g=f1), lambda x: apply(x, f1), (1.0,))
    check(d(1.0, g=f2), lambda x: apply(x, f2), (1.0,))
    forward = tangent_src.autodiff(apply, mode="forward")
    check(forward(1.0, f1), lambda x: apply(x, f1), (1.0,))
    check(forward(1.0, f2), lambda x: apply(x, f2), (1.0,))
    f2.__defaults__ = None
    f1.__code__ = f2.__code__  # now f1 computes what f2 does
    check(d(1.0, f1), lambda x: apply(x, f2), (1.0,))


def test_wraps_decorator_that_scales_is_differentiated():
    def doubled(fn):
        @functools.wraps(fn)
        def wrapper(x):
            return 2 * fn(x)
        return wrapper

    @doubled
    def f(x):
        return np.sin(x) * x

    check(tangent_src.grad(f)(0.9), f, (0.9,))
    assert tangent_src.grad(f)(0.9) == pytest.approx(2 * (np.cos(0.9) * 0.9 + np.sin(0.9)))


# -- source that no longer matches the running code ------------------------------------------
def test_module_edited_on_disk_but_not_reloaded(modules):
    modules("stale_edited", """
        import numpy as np
        def f(x):
            return np.sin(x) * x
    """)
    mod = importlib.import_module("stale_edited")
    check(tangent_src.grad(mod.f)(0.4), mod.f, (0.4,))
    modules("stale_edited", """
        import numpy as np
        def f(x):
            return np.cos(x) * x * x
    """)
    api.clear_cache()
    with pytest.raises(SourceChangedError, match=r"stale_edited\.py:3.*reload"):
        tangent_src.grad(mod.f)(0.4)
    importlib.reload(mod)
    check(tangent_src.grad(mod.f)(0.4), mod.f, (0.4,))


def test_generated_file_is_never_read_back(tmp_path, monkeypatch):
    """A higher derivative is built from the generated source kept in memory: editing the
    written file (or another process replacing it) changes nothing."""
    monkeypatch.setenv("TANGENT_SRC_CACHE", str(tmp_path / "cache"))

    def f(x):
        return np.sin(x) * x

    def df_exact(x):
        return np.cos(x) * x + np.sin(x)

    d2 = tangent_src.grad(tangent_src.grad(f))
    check(d2(0.7), df_exact, (0.7,))
    for path in (tmp_path / "cache").rglob("*.py"):
        text = path.read_text()
        path.write_text(text.replace("np.cos", "np.sinh").replace("np.sin", "np.cosh"))
    forward = tangent_src.autodiff(tangent_src.grad(f), mode="forward")
    check(forward(0.7), df_exact, (0.7,))
    check(tangent_src.grad(tangent_src.grad(f))(0.7), df_exact, (0.7,))
    # tracebacks and pdb show the code that runs, even with the file gone
    df = tangent_src.grad(f)
    df(0.7)
    os.remove(df._last.path)
    linecache.checkcache()
    shown = "".join(linecache.getlines(df._last.path))
    assert "def df(" in shown and "np.cos" in shown


# -- numba --------------------------------------------------------------------------------
def test_numba_frozen_values_within_a_process(modules):
    pytest.importorskip("numba")
    modules("stale_nb_cfg", """
        import numpy as np
        C = 2.0
        W = np.array([1.0, 2.0])
    """)
    modules("stale_nb_model", """
        import numpy as np
        import stale_nb_cfg as cfg
        from stale_nb_cfg import W
        def f(x):
            return cfg.C * np.sum(W * x * x)
    """)
    cfg = importlib.import_module("stale_nb_cfg")
    model = importlib.import_module("stale_nb_model")
    x = np.array([0.5, -1.0])
    df = tangent_src.grad(model.f, backend="numba")
    check(df(x), model.f, (x,))
    cfg.C = 3.0
    check(df(x), model.f, (x,))
    model.W[:] = [4.0, -2.0]  # changed in place: numba froze the old contents
    check(df(x), model.f, (x,))
    np.testing.assert_allclose(df(x), 2 * 3.0 * np.array([4.0, -2.0]) * x)


_PROCESS = """
import sys
import numpy as np
import tangent_src
import stale_xp_model as model
print(float(tangent_src.grad(model.f, backend="numba")(1.5)))
print(float(tangent_src.grad(model.h, backend="numba")(1.5)))
"""


def test_numba_disk_cache_across_processes(tmp_path):
    """numba's on-disk cache outlives the process: a new process whose module says C = 3
    must not be served the code compiled for C = 2 (a module attribute read by the
    gradient, and a global read by a user function the gradient calls)."""
    pytest.importorskip("numba")
    src = tmp_path / "src"
    src.mkdir()
    env = dict(os.environ, TANGENT_SRC_CACHE=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(src), str(ROOT)]))
    for c in (2.0, 3.0):
        (src / "stale_xp_cfg.py").write_text(f"C = {c}\n")
        (src / "stale_xp_model.py").write_text(textwrap.dedent(f"""
            import stale_xp_cfg as cfg
            K = {c}
            def k(n):
                return K * n
            def f(x):
                return cfg.C * x * x
            def h(x):
                return x * k(3.0)
        """))
        out = subprocess.run([sys.executable, "-c", _PROCESS], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        df, dh = (float(v) for v in out.stdout.split())
        assert df == pytest.approx(2 * c * 1.5)
        assert dh == pytest.approx(3.0 * c)


# -- memory --------------------------------------------------------------------------------
def test_cache_does_not_keep_closures_alive(monkeypatch):
    monkeypatch.setattr(tangent_src.compiled, "CACHE_SIZE", 4)

    def make(k):
        def f(x):
            return k * np.sin(x)
        return f

    first = make(2.0)
    alive = weakref.ref(first)
    check(tangent_src.grad(first)(0.3), first, (0.3,))
    del first
    for k in range(6):  # other work pushes the first gradient out of the bounded cache
        f = make(float(k) + 3.0)
        check(tangent_src.grad(f)(0.3), f, (0.3,))
    gc.collect()
    assert alive() is None


def test_function_arguments_do_not_accumulate_in_a_transform(monkeypatch):
    monkeypatch.setattr(tangent_src.compiled, "CACHE_SIZE", 4)

    def apply(x, g):
        return g(x)

    d = tangent_src.grad(apply)
    refs = []
    for k in range(8):
        nb = Notebook()
        nb.run(f"""
            def g(x):
                return {k + 1}.0 * x * x
        """)
        refs.append(weakref.ref(nb["g"]))
        assert d(1.5, nb["g"]) == pytest.approx(2 * (k + 1) * 1.5)
        del nb
    gc.collect()
    assert refs[0]() is None
