"""vjp runs the forward pass once and each `vjp_fun(cotangent)` only the backward pass
(tangent_src/pullback.py), so one vjp serves any number of cotangents, as JAX's does.

The backward half was written to run once (it pops its tapes; in-place writes were
proven safe for one run), so every test calls the pullback several times, with different
cotangents and the same one again, and compares every answer with central finite
differences of the cotangent-weighted output (tests/fdcheck.py)."""
from __future__ import annotations

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src import pullback

X0 = np.array([0.3, -0.7, 1.1, 0.45])
COTANGENTS = (np.array([1.0, 0.0, 0.0, 0.0]), np.array([0.0, -2.0, 0.5, 1.5]),
              np.array([1.0, 0.0, 0.0, 0.0]), np.array([0.25, 0.75, -1.0, 0.1]))


def expected_vjp(f, args, cotangent, wrt):
    """Central differences of <cotangent, f(args)> with respect to the arguments `wrt`."""
    def weighted(*a):
        return np.sum(np.asarray(f(*a)) * cotangent)
    return numerical_grad(weighted, args, wrt=tuple(wrt))


def check_calls(f, args, cotangents=COTANGENTS, wrt=(0,)):
    value, vjp_fun = tangent_src.vjp(f, *args)
    np.testing.assert_allclose(value, f(*[np.copy(a) for a in args]), rtol=1e-12)
    for cotangent in cotangents:
        got = vjp_fun(cotangent.copy())
        for k, expected in zip(wrt, expected_vjp(f, args, cotangent, wrt)):
            np.testing.assert_allclose(got[k], expected, rtol=1e-5, atol=1e-7)


# -------------------------------------------------------------------- tapes and loops
def nested_loops(x):
    s = x * 1.0
    for i in range(3):
        for _j in range(2):
            s = np.sin(s * x[i]) + s
        if s[0] > 0:
            s = s * s
    return s


def cosine_step(v):
    total = v * 0.0
    for k in range(2):
        total = total + np.cos(v * (k + 1))
    return total


def calls_a_looping_function(x):
    s = x
    for i in range(3):
        s = cosine_step(s) * x[i] + s
    return s


@pytest.mark.parametrize("f", [nested_loops, calls_a_looping_function])
def test_tapes_serve_every_call(f):
    check_calls(f, (X0,))


# ------------------------------------------------------------ arrays written in place
def writes_entries(x):
    z = np.zeros(4)
    for i in range(3):
        z[i] = z[i] + x[i] * x[i + 1]
    z[3] = z[0] * z[1]
    return z * x


def overwrites_a_row(x):
    a = np.outer(x, x)
    a[0, :] = a[1, :] * x[2]
    a[2] = np.sin(a[0])
    return a @ x


@pytest.mark.parametrize("f", [writes_entries, overwrites_a_row])
def test_second_call_after_in_place_writes(f):
    """The backward pass zeroes and accumulates entries in place: a second call must not
    see what the first one wrote."""
    check_calls(f, (X0,))


def test_cotangent_and_primals_are_left_alone():
    x = X0.copy()
    value, vjp_fun = tangent_src.vjp(writes_entries, x)
    cotangent = COTANGENTS[1].copy()
    first = vjp_fun(cotangent)
    second = vjp_fun(cotangent)
    assert np.array_equal(x, X0) and np.array_equal(cotangent, COTANGENTS[1])
    np.testing.assert_array_equal(first[0], second[0])


def test_the_pullback_stays_at_its_point_when_the_caller_writes_into_x():
    """As JAX's: vjp_fun is the derivative at the primals vjp was given, whatever the
    caller does to its arrays afterwards."""
    x = X0.copy()
    _, vjp_fun = tangent_src.vjp(nested_loops, x)
    x[:] = 5.0
    (got,) = vjp_fun(COTANGENTS[1])
    (expected,) = expected_vjp(nested_loops, (X0,), COTANGENTS[1], (0,))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------- has_aux, wrt, pytrees
def with_aux(x, y):
    out = np.tanh(x * y[0]) + y[1] * x
    return out, {"norm": np.sum(out * out)}


def test_has_aux():
    y = np.array([0.8, -0.3])
    value, vjp_fun, aux = tangent_src.vjp(with_aux, X0, y, has_aux=True)
    np.testing.assert_allclose(value, with_aux(X0, y)[0], rtol=1e-12)
    np.testing.assert_allclose(aux["norm"], np.sum(value * value), rtol=1e-12)
    for cotangent in COTANGENTS[:3]:
        got = vjp_fun(cotangent)
        expected = expected_vjp(lambda a, b: with_aux(a, b)[0], (X0, y), cotangent, (0, 1))
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-7)


def scaled(x, y, n):
    return np.exp(x * y) * n


def test_wrt_selects_the_arguments():
    y = np.array([0.5, 1.5, -0.5, 2.0])
    _, vjp_fun = tangent_src.vjp(scaled, X0, y, 3, wrt=1)
    for cotangent in COTANGENTS[:3]:
        got = vjp_fun(cotangent)
        (expected,) = expected_vjp(lambda b: scaled(X0, b, 3), (y,), cotangent, (0,))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)
    _, vjp_all = tangent_src.vjp(scaled, X0, y, 3)
    for cotangent in COTANGENTS[:2]:
        dx, dy, dn = vjp_all(cotangent)
        ex, ey = expected_vjp(lambda a, b: scaled(a, b, 3), (X0, y), cotangent, (0, 1))
        np.testing.assert_allclose(dx, ex, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(dy, ey, rtol=1e-5, atol=1e-7)
        assert np.all(dn == 0)


def tree_function(params, xs):
    total = params["b"] * 1.0
    for x in xs:
        total = np.tanh(params["w"] * x + total)
    return total * 2.0, params["w"] * params["b"]


def test_pytrees_in_and_out():
    params = {"w": np.array([0.4, -0.6]), "b": np.array([0.1, 0.3])}
    xs = [np.array([1.0, 2.0]), np.array([-0.5, 0.7]), np.array([0.2, 0.9])]
    value, vjp_fun = tangent_src.vjp(tree_function, params, xs, wrt=0)
    cotangents = [(np.array([1.0, 0.0]), np.array([0.0, 0.0])),
                  (np.array([0.5, -1.0]), np.array([2.0, 0.25])),
                  (np.array([1.0, 0.0]), np.array([0.0, 0.0]))]
    for ct in cotangents:
        got = vjp_fun(ct)
        for key in ("w", "b"):
            def weighted(v, key=key, ct=ct):
                p = dict(params, **{key: v})
                out = tree_function(p, xs)
                return np.sum(out[0] * ct[0]) + np.sum(out[1] * ct[1])
            expected = numerical_grad(weighted, (params[key],))
            np.testing.assert_allclose(got[key], expected, rtol=1e-5, atol=1e-7)


# ----------------------------------------------------------------- the reuse plan
def test_a_backward_pass_writing_into_a_saved_array_gets_copies():
    """reuse_plan's safety net: a backward half that may write into an array it did not
    allocate in the same call (here one the forward half saved) is fed deep copies."""
    source = (
        "def f_bwd(saved, g):\n"
        "    a, tape = saved\n"
        "    b = tape.pop()\n"
        "    a = add_at(a, 0, g)\n"
        "    return a * b\n")
    assert pullback.reuse_plan(source) == "deep"
    own = source.replace("a = add_at(a, 0, g)", "c = a * 1.0\n    c = add_at(c, 0, g)")
    own = own.replace("return a * b", "return c * b")
    assert pullback.reuse_plan(own) == "containers"
    saved = (np.ones(2), [np.zeros(2)])
    copied = pullback.fresh(saved, deep=True)
    assert copied[0] is not saved[0] and copied[1] is not saved[1]
    assert copied[1][0] is not saved[1][0]
    shallow = pullback.fresh(saved, deep=False)
    assert shallow[0] is saved[0] and shallow[1] is not saved[1]
    assert shallow[1][0] is saved[1][0]


# ------------------------------------------------------ jacobian's rows share it too
def test_reverse_jacobian_rows_from_one_forward_pass():
    """jacobian(mode="rev") runs the forward pass once and the backward pass per row:
    every row of a loop's and an in-place writer's Jacobian against finite differences."""
    for f in (nested_loops, writes_entries, calls_a_looping_function):
        got = tangent_src.jacobian(f, mode="rev")(X0)
        expected = np.array([expected_vjp(f, (X0,), row, (0,))[0]
                             for row in np.eye(len(f(X0)))])
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_reverse_jacobian_with_aux_and_two_arguments():
    y = np.array([0.8, -0.3])
    (jx, jy), aux = tangent_src.jacobian(with_aux, wrt=(0, 1), mode="rev", has_aux=True)(X0, y)
    np.testing.assert_allclose(aux["norm"], with_aux(X0, y)[1]["norm"], rtol=1e-12)
    rows = [expected_vjp(lambda a, b: with_aux(a, b)[0], (X0, y), e, (0, 1))
            for e in np.eye(len(X0))]
    np.testing.assert_allclose(jx, np.array([r[0] for r in rows]), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(jy, np.array([r[1] for r in rows]), rtol=1e-5, atol=1e-7)


# ------------------------------------- arrays saved only for their shape (shape_stub)
def rotate_rows(rot, pts):
    """BA's pattern: sums whose operands the backward half reads only for their shape,
    a where over two branches, and a (n, 1) column broadcast over (n, 3)."""
    sq = np.sum(rot * rot, axis=1, keepdims=True)
    nonzero = sq != 0
    theta = np.sqrt(np.where(nonzero, sq, 1.0))
    w = rot / theta
    turned = pts * np.cos(theta) + np.cross(w, pts) * np.sin(theta)
    return np.where(nonzero, turned, pts + np.cross(rot, pts))


def residuals(rot, pts, scale):
    moved = rotate_rows(rot, pts) - pts[:, 0:1]
    return np.reshape(scale, (-1, 1)) * (moved[:, 0:2] / moved[:, 2:3])


def test_arrays_read_for_their_shape_are_not_kept(monkeypatch):
    """The forward half saves a shape_stub of what the backward half reads only as a
    shape: the pullback, called several times and with the same cotangent twice, against
    finite differences; rows with a zero rotation take the other branch. (Stubs are made
    only for large arrays; the threshold is lowered so these small ones are stubbed.)"""
    import tangent_src.runtime.broadcasting as broadcasting
    monkeypatch.setattr(broadcasting.shape_stub, "__defaults__", (0,))
    rot = np.array([[0.3, -0.2, 0.5], [0.0, 0.0, 0.0], [-0.4, 0.1, 0.2]])
    pts = np.array([[1.0, 2.0, 7.0], [-0.5, 0.3, 6.0], [0.2, -1.1, 8.0]])
    scale = np.array([1.5, 0.7, -0.9])
    args = (rot, pts, scale)
    assert "shape_stub(where" in _split_source(residuals, args)  # a stub that broadcasts
    value, vjp_fun = tangent_src.vjp(residuals, *args, wrt=(0, 1, 2))
    np.testing.assert_allclose(value, residuals(*args), rtol=1e-12)
    seeds = (np.array([[1.0, 0.0]] * 3), np.array([[0.0, 1.0]] * 3),
             np.array([[0.5, -2.0], [1.0, 0.25], [-1.0, 3.0]]), np.array([[1.0, 0.0]] * 3))
    for seed in seeds:
        got = vjp_fun(seed.copy())
        for g, expected in zip(got, expected_vjp(residuals, args, seed, (0, 1, 2))):
            np.testing.assert_allclose(g, expected, rtol=1e-5, atol=1e-7)


def _split_source(f, args):
    from tangent_src.values import arg_classes
    t = tangent_src.autodiff(f, mode="reverse", wrt=(0, 1, 2))
    return t._split(arg_classes(t._sig, args, {}, t._items)).source


def test_shape_stub_keeps_shape_and_dtype_only():
    from tangent_src.runtime import shape_stub, unbroadcast
    small = np.arange(6.0).reshape(3, 2)
    assert shape_stub(small) is small  # too small for its memory to matter
    x = np.arange(8192.0).reshape(4096, 2)
    stub = shape_stub(x)
    assert stub.shape == x.shape and stub.dtype == x.dtype and not stub.flags.writeable
    assert stub.base is not None and stub.strides == (0, 0)
    np.testing.assert_array_equal(unbroadcast(np.ones((4, 4096, 2)), stub),
                                  np.full((4096, 2), 4.0))
    assert shape_stub(2.5) == 2.5 and shape_stub([1, 2]) == [1, 2]


# ------------------------------------------- detached from the caller's arrays (pullback.py)
def scaled_columns(cams, pts, feats):
    """Saves column views of cams, pts only through a difference, feats not at all; the
    output's first column is a view of pts when nothing else is done to it."""
    rot = cams[:, 0:3]
    Y = pts * np.cos(rot) + cams[:, 3:4] * np.sum(rot * pts, axis=1, keepdims=True)
    return Y[:, 0:2] * cams[:, 4:5] - feats


@pytest.mark.parametrize("stub_size", [0, 4096])  # 0: every shape-only array a stub
def test_the_pullback_is_detached_from_every_argument(monkeypatch, stub_size):
    """The forward half runs on the caller's arrays, and what it keeps that shares their
    memory is copied: writing into every argument afterwards changes nothing."""
    import tangent_src.runtime.broadcasting as broadcasting
    monkeypatch.setattr(broadcasting.shape_stub, "__defaults__", (stub_size,))
    rng = np.random.default_rng(14)
    args = (rng.normal(size=(6, 5)), rng.normal(size=(6, 3)), rng.normal(size=(6, 2)))
    originals = tuple(a.copy() for a in args)
    value, vjp_fun = tangent_src.vjp(scaled_columns, *args)
    expected_value = scaled_columns(*originals)
    for a in args:
        a[...] = 7.0
    np.testing.assert_allclose(value, expected_value, rtol=1e-12)
    for _ in range(2):
        seed = rng.normal(size=(6, 2))
        got = vjp_fun(seed)
        for g, e in zip(got, expected_vjp(scaled_columns, originals, seed, (0, 1, 2))):
            np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-7)


def test_a_value_viewing_an_argument_is_copied():
    x, y = X0.copy(), np.array([0.5, -1.0, 2.0, 0.25])
    value, vjp_fun, aux = tangent_src.vjp(lambda_free_view, x, y, has_aux=True)
    x[:] = 9.0
    np.testing.assert_array_equal(value, X0[0:2] * 1.0)
    seed = np.array([1.0, -2.0])
    got = vjp_fun(seed)
    expected = expected_vjp(lambda a, b: lambda_free_view(a, b)[0], (X0, y), seed, (0, 1))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-7)


def lambda_free_view(x, y):
    return x[0:2], np.sum(x * y)


def from_a_list(xs, k):
    return xs[0] * np.sin(xs[1]) + k * xs[0]


def test_detached_from_a_list_argument():
    """The caller replaces an item of its list and writes into another array after vjp:
    the pullback is the one at the point vjp was given."""
    a, b = np.array([0.3, -1.2, 0.8]), np.array([1.1, 0.4, -0.6])
    xs = [a.copy(), b.copy()]
    _, vjp_fun = tangent_src.vjp(from_a_list, xs, 2.0)
    xs[0] = np.full(3, 5.0)
    xs[1][:] = -3.0
    xs.append(np.ones(3))
    seed = np.array([1.0, -0.5, 2.0])
    got = vjp_fun(seed)[0]
    assert isinstance(got, list) and len(got) == 2
    np.testing.assert_allclose(got[0], seed * (np.sin(b) + 2.0), rtol=1e-12)
    np.testing.assert_allclose(got[1], seed * a * np.cos(b), rtol=1e-12)


def from_floats(xs, y):
    return y * xs[0] * np.sin(xs[1])


def test_detached_from_a_list_of_floats():
    """A list holding no array comes back from the forward half as it is: the pullback
    keeps its own list, so appending to the caller's changes nothing."""
    xs, y = [0.3, 1.1], np.array([1.0, -2.0])
    _, vjp_fun = tangent_src.vjp(from_floats, xs, y)
    xs[0] = 5.0
    xs.append(7.0)
    seed = np.array([0.5, 1.5])
    dxs, dy = vjp_fun(seed)
    assert isinstance(dxs, list) and len(dxs) == 2
    np.testing.assert_allclose(dxs[0], np.sum(seed * y) * np.sin(1.1), rtol=1e-12)
    np.testing.assert_allclose(dxs[1], np.sum(seed * y) * 0.3 * np.cos(1.1), rtol=1e-12)
    np.testing.assert_allclose(dy, seed * 0.3 * np.sin(1.1), rtol=1e-12)
