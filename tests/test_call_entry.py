"""A transform's call on arguments it has seen runs one generated entry (call_entry.py);
it must never run a stale or a wrong specialization.

Each test calls a gradient again with one thing changed (an argument's shape, dtype or
kind, a list's length, a closure value, a rebound global, a complex value, a float32 in
place of a float64) and checks every derivative against central finite differences in
float64. `Calls` counts the calls that reach the general path, so the tests also show that
a repeated call is answered by the entry and that a changed one is not.
"""
from __future__ import annotations

import numpy as np
import pytest
from fdcheck import complex_numerical_grad, numerical_grad, tree_flat, tree_numerical_grad

import tangent_src
from tangent_src import api
from tangent_src.errors import NotDifferentiableError

RNG = np.random.default_rng(14)


def check(value, f, args, wrt=0, rtol=1e-6, atol=1e-8):
    """`value` is the gradient of `f` at `args` (central finite differences)."""
    expected = numerical_grad(f, args, wrt)
    if not isinstance(wrt, tuple):
        value, expected = (value,), (expected,)
    assert isinstance(value, tuple) and len(value) == len(expected)
    for got, want in zip(value, expected):
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


class Calls:
    """How many calls of any transform reached the general path (Transform._call_general)."""

    def __init__(self, monkeypatch):
        self.count = 0
        general = api.Transform._call_general

        def counting(transform, given, kwargs):
            self.count += 1
            return general(transform, given, kwargs)
        monkeypatch.setattr(api.Transform, "_call_general", counting)

    def taken(self) -> int:
        """The count since the last question."""
        count, self.count = self.count, 0
        return count


@pytest.fixture
def calls(monkeypatch):
    return Calls(monkeypatch)


def sin_loss(x):
    return np.sum(np.sin(x) * x)


# -- argument shapes, dtypes and kinds ------------------------------------------------------
def test_a_changed_shape_is_never_given_the_old_specialization(calls):
    df = tangent_src.grad(sin_loss)
    for x in (RNG.normal(size=3), RNG.normal(size=4), RNG.normal(size=(2, 3)),
              RNG.normal(size=3), np.array(0.7), 0.7, np.float64(-0.2)):
        check(df(x), sin_loss, (x,))
        calls.taken()
        check(df(x), sin_loss, (x,))
        assert calls.taken() == 0  # the same key: its entry
    calls.taken()
    check(df(0.3), sin_loss, (0.3,))  # a float after an np.float64: the same key
    assert calls.taken() == 0


def test_the_same_shape_runs_the_entry_and_alternating_shapes_stay_correct(calls):
    df = tangent_src.grad(sin_loss)
    a, b = RNG.normal(size=3), RNG.normal(size=(2, 2))
    check(df(a), sin_loss, (a,))
    assert calls.taken() == 1
    for _ in range(3):
        check(df(a), sin_loss, (a,))
    assert calls.taken() == 0
    for _ in range(3):  # each switch: the other specialization's entry, by its key
        check(df(b), sin_loss, (b,))
        check(df(a), sin_loss, (a,))


def test_a_broadcast_axis_of_size_one_is_another_specialization(calls):
    """(3,) and (1,) share a rank; the code for (3,) * (3,) does not sum the gradient back
    to (1,), so the entry must not take a (1,) argument."""
    def f(x, y):
        return np.sum(np.sin(x) * y)

    df = tangent_src.grad(f)
    y = RNG.normal(size=3)
    for x in (RNG.normal(size=3), RNG.normal(size=1), RNG.normal(size=3), RNG.normal(size=1)):
        for _ in range(2):
            check(df(x, y), f, (x, y))


def test_an_array_reshaped_in_place_is_not_given_the_old_specialization(calls):
    df = tangent_src.grad(sin_loss)
    x = RNG.normal(size=6)
    check(df(x), sin_loss, (x,))
    x.shape = (2, 3)  # the same object, another shape
    check(df(x), sin_loss, (x,))
    assert df(x).shape == (2, 3)


@pytest.mark.parametrize("low", [np.float32, np.float16])
def test_float32_and_float64_arguments_get_gradients_of_their_own_dtype(low):
    df = tangent_src.grad(sin_loss)
    x = RNG.normal(size=4)
    for arg in (x, x.astype(low), x, x.astype(low)):
        g = df(arg)
        assert g.dtype == arg.dtype
        check(g, sin_loss, (arg.astype(np.float64),), rtol=2e-3 if arg.dtype != x.dtype
              else 1e-6, atol=1e-3 if arg.dtype != x.dtype else 1e-8)


def test_scalar_kinds_float_float64_float32_int():
    def f(x, y):
        return np.sin(x) * y + y * y

    df = tangent_src.grad(f, wrt=(0, 1))
    for x, y in ((0.3, 1.5), (np.float64(0.3), 1.5), (np.float32(0.3), 1.5), (0.3, 1.5),
                 (np.float64(0.3), np.float32(1.5)), (0.3, 2.0)):
        gx, gy = df(x, y)
        assert np.asarray(gx).dtype == np.asarray(x).dtype
        assert np.asarray(gy).dtype == np.asarray(y).dtype
        low = np.float32 in (type(x), type(y))
        check((gx, gy), f, (float(x), float(y)), (0, 1), rtol=1e-5 if low else 1e-6)
    g = tangent_src.grad(f, wrt=0)
    assert g(0.3, 2.0) == pytest.approx(np.cos(0.3) * 2.0)
    assert g(0.3, 2) == pytest.approx(np.cos(0.3) * 2.0)  # an int y: another key
    with pytest.raises(NotDifferentiableError):
        tangent_src.grad(f, wrt=1)(0.3, 2)  # an int wrt argument is refused every time


def test_a_float_becomes_an_ieee_number_on_every_call():
    """d log(x) at 0 is inf (as in JAX), not a ZeroDivisionError of Python floats."""
    df = tangent_src.grad(lambda x: np.log(x) * 2.0)
    assert df(0.5) == pytest.approx(4.0)
    with np.errstate(divide="ignore"):
        for _ in range(2):
            assert df(0.0) == np.inf
    assert df(0.25) == pytest.approx(8.0)


def test_complex_and_real_arguments_alternate():
    def f(z):
        return np.sum(np.abs(z) ** 2 * np.array([1.0, 2.0, 3.0]))

    df = tangent_src.grad(f)
    real = RNG.normal(size=3)
    cplx = RNG.normal(size=3) + 1j * RNG.normal(size=3)
    for z in (real, cplx, real, cplx, cplx.astype(np.complex64), real):
        g = df(z)
        assert np.iscomplexobj(g) == np.iscomplexobj(z)
        assert g.dtype == z.dtype
        rtol = 1e-4 if z.dtype == np.complex64 else 1e-6
        np.testing.assert_allclose(g, complex_numerical_grad(f, z.astype(np.complex128)
                                                             if np.iscomplexobj(z) else z),
                                   rtol=rtol, atol=1e-6)


def test_a_list_of_another_length_or_item_shape(calls):
    def f(xs):
        total = 0.0
        for i, x in enumerate(xs):
            total = total + (i + 1.0) * np.sum(np.sin(x))
        return total

    df = tangent_src.grad(f)
    for xs in ([RNG.normal(size=2), RNG.normal(size=2)],
               [RNG.normal(size=2), RNG.normal(size=2), RNG.normal(size=2)],
               [RNG.normal(size=3)],
               [RNG.normal(size=2), RNG.normal(size=2)]):
        for _ in range(2):
            np.testing.assert_allclose(tree_flat(df(xs)), tree_numerical_grad(f, (xs,), 0),
                                       rtol=1e-6, atol=1e-8)
    xs = [RNG.normal(size=2), RNG.normal(size=2)]
    np.testing.assert_allclose(tree_flat(df(xs)), tree_numerical_grad(f, (xs,), 0), rtol=1e-6)
    xs.append(1.0 + 2.0j)  # the same list, now holding a complex number
    with pytest.raises(NotDifferentiableError):
        df(xs)


def test_a_list_that_holds_a_complex_array_is_another_specialization():
    def f(xs):
        return sum(np.sum(np.abs(x) ** 2 * (k + 1.0)) for k, x in enumerate(xs))

    df = tangent_src.grad(f)
    real = [RNG.normal(size=2), RNG.normal(size=2)]
    mixed = [real[0], RNG.normal(size=2) + 1j * RNG.normal(size=2)]
    for xs in (real, mixed, real, mixed):
        for _ in range(2):
            grads = df(xs)
            for k, (g, x) in enumerate(zip(grads, xs)):
                def item(v, k=k, xs=xs):
                    return f([v if j == k else y for j, y in enumerate(xs)])
                assert np.iscomplexobj(g) == np.iscomplexobj(x)
                np.testing.assert_allclose(g, complex_numerical_grad(item, x), rtol=1e-6,
                                           atol=1e-8)


def test_a_tuple_of_another_kind_or_a_dict_of_other_shapes():
    def f(params, x):
        return np.sum(np.tanh(np.dot(x, params["W"]) + params["b"]))

    df = tangent_src.grad(f)
    x = RNG.normal(size=(4, 3))
    for width in (2, 5, 2):
        params = {"W": RNG.normal(size=(3, width)), "b": RNG.normal(size=width)}
        for _ in range(2):
            np.testing.assert_allclose(tree_flat(df(params, x)),
                                       tree_numerical_grad(f, (params, x), 0), rtol=1e-6)


def test_function_and_string_arguments_by_identity_and_value():
    def apply(x, g):
        return np.sum(g(x))

    df = tangent_src.grad(apply)
    x = RNG.normal(size=3)
    for g in (np.sin, np.tanh, np.sin, lambda v: v * v, np.tanh):
        for _ in range(2):
            check(df(x, g), lambda v, g=g: apply(v, g), (x,))
    table = {"sin": np.sin, "cube": lambda v: v ** 3}

    def by_name(x, name):
        return np.sum(table[name](x))

    dn = tangent_src.grad(by_name)
    for name in ("sin", "cube", "sin", "cube"):
        for _ in range(2):
            check(dn(x, name), lambda v, name=name: by_name(v, name), (x,))


def test_another_number_of_arguments(calls):
    def total(*xs):
        return sum(np.sum(np.sin(x) * (k + 1)) for k, x in enumerate(xs))

    df = tangent_src.grad(total, wrt=0)
    a, b = RNG.normal(size=2), RNG.normal(size=2)
    for args in ((a,), (a, b), (a,), (a, b, b)):
        for _ in range(2):
            check(df(*args), total, args)


# -- what the code was built on: closures, globals, code and defaults --------------------
def make_closure_loss():
    k, act = 2.0, np.sin

    def loss(x):
        return k * np.sum(act(x))

    def change(new_k, new_act):
        nonlocal k, act
        k, act = new_k, new_act
    return loss, change


def test_closure_values_and_functions_changed_between_calls(calls):
    loss, change = make_closure_loss()
    df = tangent_src.grad(loss)
    x = RNG.normal(size=3)
    check(df(x), loss, (x,))
    check(df(x), loss, (x,))
    assert calls.taken() == 1
    change(3.0, np.sin)  # a number: read live by the same code
    check(df(x), loss, (x,))
    change(3.0, np.tanh)  # a function: the code calling np.sin is stale
    check(df(x), loss, (x,))
    assert calls.taken() == 1
    check(df(x), loss, (x,))
    change(-1.0, np.sin)
    check(df(x), loss, (x,))


_ACT = np.tanh
_SCALE = 2.0


def _helper(x):
    return x * x


def global_loss(x):
    return np.sum(_ACT(x) * _helper(x) * _SCALE)


def test_rebound_globals_between_calls(monkeypatch, calls):
    df = tangent_src.grad(global_loss)
    x = RNG.normal(size=3)
    for _ in range(2):
        check(df(x), global_loss, (x,))
    assert calls.taken() == 1
    monkeypatch.setattr(__import__(__name__), "_ACT", np.sin)
    check(df(x), global_loss, (x,))
    assert calls.taken() == 1
    check(df(x), global_loss, (x,))
    assert calls.taken() == 0
    monkeypatch.setattr(__import__(__name__), "_helper", lambda v: v * v * v)
    check(df(x), global_loss, (x,))
    monkeypatch.setattr(__import__(__name__), "_SCALE", -0.5)  # a number: read live
    check(df(x), global_loss, (x,))
    monkeypatch.setattr(__import__(__name__), "_SCALE", 0.5 + 0.25j)  # complex now
    with pytest.raises(NotDifferentiableError):
        df(x)
    monkeypatch.setattr(__import__(__name__), "_SCALE", 3.0)
    check(df(x), global_loss, (x,))


def test_replaced_code_and_defaults_between_calls():
    def f(x, k=2.0):
        return np.sum(np.sin(x)) * k

    def g(x, k=2.0):
        return np.sum(np.cos(x) * x) * k

    def h(x, k):
        return np.sum(k(x))

    df = tangent_src.grad(f)
    x = RNG.normal(size=3)
    check(df(x), f, (x,))
    f.__code__ = g.__code__
    check(df(x), f, (x,))
    f.__defaults__ = (-3.0,)
    check(df(x), f, (x,))
    f.__defaults__ = (np.sin,)  # a function default: the code calls it
    f.__code__ = h.__code__
    check(df(x), f, (x,))


def test_a_method_monkeypatched_on_a_bound_objects_class(monkeypatch):
    class Model:
        def __init__(self):
            self.w = RNG.normal(size=3)

        def loss(self, x):
            return np.sum(self.act(x) * self.w)

        def act(self, x):
            return np.sin(x)

    model = Model()
    df = tangent_src.grad(model.loss)
    x = RNG.normal(size=3)
    for _ in range(2):
        check(df(x), model.loss, (x,))
    monkeypatch.setattr(Model, "act", lambda self, x: np.tanh(x) * x)
    for _ in range(2):
        check(df(x), model.loss, (x,))
    model.w = RNG.normal(size=3)  # an attribute: read live
    check(df(x), model.loss, (x,))


# -- results: complex derivatives refused, value_and_grad, argnums, aux -----------------------
_A = np.array([[2.0, 1.0], [1.0, 3.0]])


def eig_loss(x):
    return np.sum(np.real(x * np.linalg.eigvals(_A)))


def test_a_derivative_that_comes_out_complex_is_refused_by_the_entry(monkeypatch, calls):
    """eigvals of a global matrix is complex or not depending on its values, which are
    read live: the entry must still check the result."""
    df = tangent_src.grad(eig_loss)
    x = RNG.normal(size=2)
    for _ in range(2):
        check(df(x), eig_loss, (x,))
    calls.taken()
    monkeypatch.setattr(__import__(__name__), "_A", np.array([[0.0, 1.0], [-1.0, 0.0]]))
    for _ in range(2):
        with pytest.raises(NotDifferentiableError, match="came out complex"):
            df(x)
    assert calls.taken() == 0  # refused by the entry itself
    monkeypatch.setattr(__import__(__name__), "_A", np.array([[1.0, 0.5], [0.5, 1.0]]))
    check(df(x), eig_loss, (x,))


def logistic(W, b, inputs, targets):
    preds = 0.5 * (np.tanh((np.dot(inputs, W) + b) / 2) + 1)
    return -np.sum(np.log(preds * targets + (1 - preds) * (1 - targets)))


def logistic_args(n=4):
    return (RNG.normal(size=3), 0.1, RNG.normal(size=(n, 3)),
            (RNG.uniform(size=n) > 0.5).astype(np.float64))


def test_value_and_grad_argnums_and_aux_on_repeated_calls():
    vg = tangent_src.value_and_grad(logistic, argnums=(0, 1))
    g1 = tangent_src.grad(logistic, argnums=(1,))
    aux = tangent_src.grad(lambda W, b, i, t: (logistic(W, b, i, t), b * 2), argnums=(0, 1),
                           has_aux=True)
    for n in (4, 4, 6, 4):
        args = logistic_args(n)
        for _ in range(2):
            value, grads = vg(*args)
            assert value == pytest.approx(logistic(*args))
            check(grads, logistic, args, (0, 1))
            (gb,) = g1(*args)
            check(gb, logistic, args, 1)
            grads, extra = aux(*args)
            check(grads, logistic, args, (0, 1))
            assert extra == pytest.approx(0.2)
    args = logistic_args()
    args = (args[0].astype(np.float32), np.float32(0.1), args[2], args[3])
    value, (gW, gb) = vg(*args)
    assert gW.dtype == np.float32 and np.asarray(gb).dtype == np.float32
    check((gW, gb), logistic, (args[0].astype(np.float64), 0.1, *args[2:]), (0, 1),
          rtol=1e-4, atol=1e-5)


def test_a_gradient_whose_output_kind_depends_on_a_global_is_checked_every_call(monkeypatch):
    """The split path (output not provably scalar) runs through the entry too."""
    df = tangent_src.grad(axis_loss)
    x = RNG.normal(size=(2, 3))
    for _ in range(2):
        check(df(x), axis_loss, (x,))
    monkeypatch.setattr(__import__(__name__), "_AXIS", 0)  # now vector-valued
    with pytest.raises(TypeError):
        df(x)
    monkeypatch.setattr(__import__(__name__), "_AXIS", None)
    check(df(x), axis_loss, (x,))


_AXIS = None


def axis_loss(x):
    return np.sum(np.sin(x), axis=_AXIS)


def test_an_error_in_the_generated_code_keeps_its_frames():
    def f(x, n):
        return np.sum(np.sin(x)) / n

    df = tangent_src.grad(f)
    x = RNG.normal(size=3)
    check(df(x, 2), lambda v: f(v, 2), (x,))
    with pytest.raises(ZeroDivisionError) as info:
        df(x, 0)  # the same key (an int): run by the entry
    files = [str(entry.path) for entry in info.traceback]
    assert df._last.path in files  # the generated gradient's own frame


def test_a_function_whose_attributes_share_the_transforms_names():
    """update_wrapper copies a function's attributes onto its transform: a function
    carrying `_entry`, `_fast` or `_call_general` (a jacobian() result carries `_call`)
    must not replace the transform's own."""
    def f(x):
        return np.sum(np.sin(x) * x)

    f._entry = f._fast = f._last = f._call_general = f._call = "user data"
    df = tangent_src.grad(f)
    x = RNG.normal(size=3)
    for _ in range(2):
        check(df(x), f, (x,))
