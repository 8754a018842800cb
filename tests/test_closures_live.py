"""Closure variables and default values are read from the user's function, not its module.

Issue 10, case 2: generated code used to import a closure variable from `__main__` (a
global with the same name gave a silently wrong gradient, none gave an ImportError), and a
default such as `num=num` was re-evaluated in the generated module (NameError). A closure
cell is read from the function's own `__closure__` when the gradient runs, so rebinding it
(`nonlocal`) is seen; defaults are the function's own `__defaults__`.

Every gradient is checked against central finite differences (or a hand-derived value).
"""
from __future__ import annotations

import functools

import _closure_mod as cm
import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.errors import TangentError

# Globals with the same names as the closure variables below, and other values.
c = np.array([10.0, 20.0])
scale = -3.0
w_global = np.array([0.5, -1.25, 2.0])


def check(df_value, f, args, wrt=0, rtol=1e-6, atol=1e-8):
    """Assert a gradient equals the central finite-difference gradient of `f`."""
    expected = numerical_grad(f, args, wrt)
    np.testing.assert_allclose(df_value, expected, rtol=rtol, atol=atol)


def make(c):
    def f(w):
        return np.sum(w * c)
    return f


def make_sin_weighted(c):
    def loss(w):
        h = np.sin(w) * c
        return np.sum(h * h)
    return loss


# -- the differentiated function's own cells ---------------------------------------------
def test_module_factory_cell_shadows_global():
    f = make(np.array([1.0, 2.0]))
    g = tangent_src.grad(f)(np.array([3.0, 4.0]))
    np.testing.assert_allclose(g, [1.0, 2.0])  # d/dw sum(w * c) = c, the cell, not the global


def test_function_level_factory():
    def factory(k):
        def loss(w):
            return np.sum(np.tanh(w * k) ** 2)
        return loss
    loss = factory(np.array([0.5, -2.0, 1.5]))
    x = np.array([0.3, 0.1, -0.7])
    check(tangent_src.grad(loss)(x), loss, (x,))


def test_nonlinear_cell_and_global_same_name():
    loss = make_sin_weighted(np.array([0.25, -4.0]))
    x = np.array([0.4, 1.1])
    check(tangent_src.grad(loss)(x), loss, (x,))


def test_imported_module_factory():
    f = cm.make_weighted(np.array([1.0, -2.0, 0.5]))
    g = tangent_src.grad(f)(np.array([3.0, 4.0, 5.0]))
    np.testing.assert_allclose(g, [1.0, -2.0, 0.5])


def test_imported_module_scalar_cell():
    f = cm.make_scaled_tanh(0.25)
    x = np.array([0.3, -0.8])
    check(tangent_src.grad(f)(x), f, (x,))


def test_two_closures_of_one_factory_are_different_functions():
    f1, f2 = make(np.array([1.0, 2.0])), make(np.array([-3.0, 5.0]))
    w = np.array([0.1, 0.2])
    np.testing.assert_allclose(tangent_src.grad(f1)(w), [1.0, 2.0])
    np.testing.assert_allclose(tangent_src.grad(f2)(w), [-3.0, 5.0])


# -- defaults ---------------------------------------------------------------------------
def mk(num):
    def fun(x, num=num):
        return x * num
    return fun


def test_default_names_enclosing_local():
    fun = mk(3.0)
    assert tangent_src.grad(fun)(2.0) == pytest.approx(3.0)


def test_default_array_from_imported_factory():
    fun = cm.make_with_default(np.array([2.0, -1.0]))
    x = np.array([0.3, 0.9])
    check(tangent_src.grad(fun)(x), fun, (x,))
    t = np.array([1.0, -2.0])
    value, tangent = tangent_src.jvp(fun, (x,), (t,))
    assert value == pytest.approx(fun(x))
    assert tangent == pytest.approx(np.dot(numerical_grad(fun, (x,)), t), rel=1e-6)


def test_default_is_def_time_value_not_rebound_global():
    global w_global
    saved = w_global

    def loss(x, w=w_global):
        return np.sum(np.exp(x * w))
    try:
        w_global = np.array([9.0, 9.0, 9.0])  # the function keeps its own default
        x = np.array([0.1, -0.2, 0.3])
        check(tangent_src.grad(loss)(x), loss, (x,))
    finally:
        w_global = saved


def test_keyword_only_default_from_closure():
    def factory(p):
        def loss(x, *, power=p):
            return np.sum(x ** power)
        return loss
    loss = factory(3.0)
    x = np.array([0.5, 1.5])
    check(tangent_src.grad(loss)(x), loss, (x,))


# -- closures the differentiated function calls -----------------------------------------
def make_act(alpha):
    def act(v):
        return np.where(v > 0, v, alpha * v) + alpha * np.sin(v)
    return act


act_global = make_act(0.1)


def test_helper_is_a_closure_called_from_global():
    def loss(w):
        return np.sum(act_global(w) ** 2)
    x = np.array([0.5, -1.0, 2.0])
    check(tangent_src.grad(loss)(x), loss, (x,))


def test_two_helpers_with_cells_of_one_name():
    """Both helpers read a cell named `c` (and the test module has a global `c`); the
    generated module must keep all three apart."""
    g1, g2 = make_sin_weighted(np.array([1.0, 2.0])), make_sin_weighted(np.array([-0.5, 3.0]))

    def loss(w):
        return g1(w) + 2.0 * g2(w) + np.sum(w * c)
    w = np.array([0.3, -0.6])
    check(tangent_src.grad(loss)(w), loss, (w,))
    vg = tangent_src.value_and_grad(loss)(w)
    assert vg[0] == pytest.approx(loss(w))
    check(vg[1], loss, (w,))


def test_forward_mode_two_helpers_with_cells_of_one_name():
    h1, h2 = cm.make_scaled_tanh(0.5), cm.make_scaled_tanh(-2.0)

    def loss(x):
        return h1(x) + h2(x) * 3.0
    x, t = np.array([0.3, -0.7]), np.array([1.0, -0.5])
    value, tangent = tangent_src.jvp(loss, (x,), (t,))
    assert value == pytest.approx(loss(x))
    assert tangent == pytest.approx(np.dot(numerical_grad(loss, (x,)), t), rel=1e-6)


def test_numba_two_helpers_with_scalar_cells_of_one_name():
    pytest.importorskip("numba")
    h1, h2 = cm.make_scaled_tanh(0.5), cm.make_scaled_tanh(-2.0)

    def loss(x):
        return h1(x) + h2(x) * 3.0
    x = np.array([0.3, -0.7])
    check(tangent_src.grad(loss, backend="numba")(x), loss, (x,))


def test_closure_over_function():
    def compose(h, k):
        def loss(x):
            return np.sum(h(x) * k)
        return loss
    def inner(v):
        return np.tanh(v) * v
    loss = compose(inner, 2.0)
    x = np.array([0.2, -0.4, 1.3])
    check(tangent_src.grad(loss)(x), loss, (x,))


def test_closure_over_closure_helper_from_other_module():
    helper = cm.make_scaled_tanh(-1.25)

    def factory(h):
        def loss(x):
            return h(x) * h(x)
        return loss
    loss = factory(helper)
    x = np.array([0.7, 0.2])
    check(tangent_src.grad(loss)(x), loss, (x,))


def test_nested_def_reads_enclosing_cell():
    def factory(k):
        def loss(x):
            def inner(v):
                return np.sin(v * k)
            return np.sum(inner(x) * k)
        return loss
    loss = factory(np.array([1.5, -0.5]))
    x = np.array([0.2, 0.9])
    check(tangent_src.grad(loss)(x), loss, (x,))


def test_lambda_stored_in_enclosing_scope():
    def factory(k):
        sq = lambda v: v * v * k  # noqa: E731 - what users write
        def loss(x):
            return np.sum(sq(x))
        return loss
    loss = factory(2.5)
    x = np.array([0.2, -0.9])
    check(tangent_src.grad(loss)(x), loss, (x,))


def test_decorator_returning_closure():
    def scaled(k):
        def deco(fn):
            def wrapper(x):
                return k * fn(x)
            return wrapper
        return deco

    @scaled(3.0)
    def loss(x):
        return np.sum(np.cos(x))
    x = np.array([0.2, -0.9])
    check(tangent_src.grad(loss)(x), loss, (x,))


def test_wraps_decorator_that_scales_is_differentiated_as_the_wrapper():
    def scaled(k):
        def deco(fn):
            @functools.wraps(fn)
            def wrapper(x):
                return k * fn(x)
            return wrapper
        return deco

    @scaled(-2.5)
    def loss(x):
        return np.sum(np.sin(x) * x)
    x = np.array([0.4, 1.1])
    check(tangent_src.grad(loss)(x), loss, (x,))


def test_wraps_pass_through_decorator():
    calls = []

    def logged(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            calls.append(len(args))
            return fn(*args, **kwargs)
        return wrapper

    def factory(k):
        @logged
        def loss(x):
            return np.sum(np.exp(x * k))
        return loss
    loss = factory(np.array([0.5, -1.0]))
    x = np.array([0.4, 1.1])
    check(tangent_src.grad(loss)(x), loss, (x,))


square_global = lambda v: v * v * 3.0  # noqa: E731


def test_global_lambda_helper():
    def loss(x):
        return np.sum(square_global(np.sin(x)))
    x = np.array([0.4, 1.1])
    check(tangent_src.grad(loss)(x), loss, (x,))


def test_method_of_object_in_closure():
    def factory(c):
        class Model:
            def __init__(self):
                self.s = 2.0

            def loss(self, w):
                return np.sum(np.sin(w) * c) * self.s
        model = Model()

        def objective(w):
            return model.loss(w)
        return objective
    objective = factory(np.array([0.5, 4.0]))
    w = np.array([0.1, 0.3])
    check(tangent_src.grad(objective)(w), objective, (w,))


# -- live cells ---------------------------------------------------------------------------
def test_rebinding_cell_changes_gradient():
    loss, set_weight = cm.make_adjustable()
    x = np.array([0.3, -1.2])
    df = tangent_src.grad(loss)
    check(df(x), loss, (x,))
    set_weight(-4.0)
    check(df(x), loss, (x,))
    np.testing.assert_allclose(df(x), -4.0 * np.cos(x))


def test_rebinding_cell_forward_and_second_order():
    loss, set_weight = cm.make_adjustable()
    x = np.array([0.3, -1.2])
    jvp = tangent_src.autodiff(loss, mode="forward")
    t = np.array([1.0, 0.5])
    assert jvp(x, t) == pytest.approx(np.dot(1.5 * np.cos(x), t))
    set_weight(2.0)
    assert jvp(x, t) == pytest.approx(np.dot(2.0 * np.cos(x), t))

    def scalar(v, k):
        def g(u):
            return np.sin(u) * k
        return g
    f = scalar(None, 3.0)
    d2 = tangent_src.grad(tangent_src.grad(f))
    assert d2(0.4) == pytest.approx(-3.0 * np.sin(0.4))


def test_second_order_reads_cell():
    def factory(k):
        def f(x):
            return np.sin(x) * k + x * x * x
        return f
    f = factory(-2.0)
    d2 = tangent_src.grad(tangent_src.grad(f))
    assert d2(0.7) == pytest.approx(2.0 * np.sin(0.7) + 6 * 0.7)


def test_second_order_rebinding_cell():
    state = {"k": 1.0}

    def factory():
        k = 1.0

        def f(x):
            return np.sin(x) * k

        def set_k(v):
            nonlocal k
            k = v
            state["k"] = v
        return f, set_k
    f, set_k = factory()
    d2 = tangent_src.grad(tangent_src.grad(f))
    assert d2(0.7) == pytest.approx(-np.sin(0.7))
    set_k(5.0)
    assert d2(0.7) == pytest.approx(-5.0 * np.sin(0.7))


def test_rebinding_function_cell_regenerates():
    def factory():
        h = np.sin

        def inner_sq(v):
            return v * v

        def loss(x):
            return np.sum(h(x))

        def use_square():
            nonlocal h
            h = inner_sq
        return loss, use_square
    loss, use_square = factory()
    x = np.array([0.3, 1.7])
    df = tangent_src.grad(loss)
    np.testing.assert_allclose(df(x), np.cos(x))
    use_square()
    np.testing.assert_allclose(df(x), 2 * x)


# -- numba and standalone ---------------------------------------------------------------
def test_numba_scalar_cell_rebinding_recompiles():
    pytest.importorskip("numba")
    loss, set_weight = cm.make_adjustable()
    x = np.array([0.3, -1.2])
    df = tangent_src.grad(loss, backend="numba")
    np.testing.assert_allclose(df(x), 1.5 * np.cos(x))
    set_weight(-2.0)
    np.testing.assert_allclose(df(x), -2.0 * np.cos(x))


def test_numba_array_cell_is_refused_clearly():
    pytest.importorskip("numba")
    f = make(np.array([1.0, 2.0]))
    with pytest.raises(TangentError, match="closure variable 'c'"):
        tangent_src.grad(f, backend="numba")(np.array([3.0, 4.0]))


def test_standalone_refuses_closure_variable():
    f = make(np.array([1.0, 2.0]))
    with pytest.raises(TangentError, match="closure variable 'c'"):
        tangent_src.standalone_source(f)


def test_standalone_default_names_global_is_imported():
    def loss(x, w=w_global):
        return np.sum(x * w)
    text = tangent_src.standalone_source(loss)
    assert "w_global" in text
    namespace: dict = {"__name__": "standalone_default"}
    exec(compile(text, "<standalone>", "exec"), namespace)
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(namespace["dloss"](x), w_global)


def test_cli_refuses_module_level_closure(tmp_path, capsys):
    from tangent_src import cli
    path = tmp_path / "factory_model.py"
    path.write_text("import numpy as np\n\n\ndef make(c):\n    def loss(w):\n"
                    "        return np.sum(w * c)\n    return loss\n\n\n"
                    "loss = make(np.array([1.0, 2.0]))\n")
    assert cli.main(["grad", f"{path}:loss"]) == 2
    assert "closure variable 'c'" in capsys.readouterr().err


# -- globals of different modules with one name; a callee's global vs a caller's local --
SCALE = 2.0


def test_global_of_helper_module_and_of_caller_with_one_name():
    import _helpers_mod as hm

    def loss(x):  # hm._stage_one reads _helpers_mod.SCALE (0.75), this reads SCALE (2.0)
        return np.sum(hm._stage_one(x) * SCALE)
    x = np.array([0.3, 0.5])
    check(tangent_src.grad(loss)(x), loss, (x,))
    np.testing.assert_allclose(tangent_src.grad(loss)(x), (np.cos(x) * hm.SCALE + 1) * SCALE)


def reads_global_c(y):
    return y * scale


def test_inlined_callee_global_not_captured_by_caller_local():
    """grad(grad(f)) inlines the callee; its global `scale` must not become f's local."""
    def f(x):
        scale = 2.0 * x
        return reads_global_c(scale) * x  # = 2 x^2 * (global scale)
    assert tangent_src.grad(f)(0.7) == pytest.approx(4 * 0.7 * scale)
    assert tangent_src.grad(tangent_src.grad(f))(0.7) == pytest.approx(4 * scale)
