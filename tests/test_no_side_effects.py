"""Transforms have no side effects on the caller, and run the user's function only once.

Issue 10, cases 3, 4 and 8:
- no transform runs the user's function to check its output (a function that writes into
  its argument got a wrong first gradient and changed the caller's array; a random
  objective's first gradient saw another draw than its value);
- generated code never writes into an array it did not allocate (forward-over-reverse
  wrote into the caller's tangent);
- a wrt argument or an output that is not a number (a string, None, an object) is refused,
  and so is an integer, whatever was called before.

Every derivative is compared with central finite differences of the function run on a
fresh copy of its arguments (tests/fdcheck.py copies them), and every array the caller
passed or owns -- arguments, seeds, tangents, closure arrays, module globals -- is compared
with np.array_equal before and after.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.errors import NotDifferentiableError, UnsupportedSyntaxError

WEIGHTS = np.array([0.5, -1.0, 2.0])      # a module global the functions read
X0 = np.array([0.3, -0.7, 1.1])
V0 = np.array([1.0, 0.5, -0.25])


# --------------------------------------------------------------- functions that write into x
def doubles_first(x):
    x[0] = x[0] * 2.0
    return np.sum(x * x * WEIGHTS)


def shifts_all(x):
    x += 1.0
    return np.sum(np.sin(x) * WEIGHTS)


def doubles_in_a_loop(x):
    for i in range(2):
        x[i] *= 2.0
    return np.sum(x ** 3)


def running_products(x):
    s = 0.0
    for i in range(3):
        s = s + x[i] * x[(i + 1) % 3]
        x[i] = s
    return np.sum(x)


def adds_a_shifted_cosine(x):
    x[:2] += np.cos(x[1:])
    return np.sum(x ** 2)


def layers_that_patch(x):
    h = x * 1.0
    for _ in range(2):
        h = np.tanh(h * WEIGHTS)
        h[0] = h[0] + x[1]
        x[2] = x[2] * h[1]
    return np.sum(h * x)


SCALE = np.array([1.5, -0.5, 0.25])


def scaled_in_place(x):
    x *= SCALE
    return np.sum(np.tanh(x) * WEIGHTS)


def _make_closure():
    offset = np.array([0.25, -0.5, 1.0])   # a closure array

    def offset_in_place(x):
        x[1:] -= offset[:2] * x[0]
        return np.sum(np.cos(x + offset))
    return offset_in_place, offset


OFFSET_IN_PLACE, OFFSET = _make_closure()
WRITERS = [doubles_first, shifts_all, doubles_in_a_loop, running_products,
           adds_a_shifted_cosine, layers_that_patch, scaled_in_place, OFFSET_IN_PLACE]
IDS = [f.__name__ for f in WRITERS]


def _fresh_gradient(f, x):
    """The gradient of f as it behaves on a fresh copy of x (numerical_grad copies)."""
    return numerical_grad(f, (x,))


def _fresh_hessian_times(f, x, v, eps=1e-5):
    """H v by central differences of the finite-difference gradient."""
    def gradient(z):
        return _fresh_gradient(f, z)
    return (gradient(x + eps * v) - gradient(x - eps * v)) / (2 * eps)


class _Untouched:
    """Snapshots of every array the caller owns; `check()` says which one changed."""

    def __init__(self, **arrays):
        self.arrays = arrays
        self.before = {k: copy.deepcopy(v) for k, v in arrays.items()}

    def check(self):
        for name, value in self.arrays.items():
            assert np.array_equal(value, self.before[name]), f"{name} was changed: {value}"
        assert np.array_equal(WEIGHTS, [0.5, -1.0, 2.0]), "the global WEIGHTS was changed"
        assert np.array_equal(SCALE, [1.5, -0.5, 0.25]), "the global SCALE was changed"
        assert np.array_equal(OFFSET, [0.25, -0.5, 1.0]), "the closure array was changed"


def _twice(run, *inputs):
    """Run a transform twice on fresh inputs, checking inputs after each; both results."""
    results = []
    for _ in range(2):
        fresh = [np.array(a, dtype=float) for a in inputs]
        watch = _Untouched(**{f"input{k}": a for k, a in enumerate(fresh)})
        results.append(run(*fresh))
        watch.check()
    return results


# ------------------------------------------------------------------------- first order
@pytest.mark.parametrize("f", WRITERS, ids=IDS)
@pytest.mark.parametrize("transform", ["grad", "value_and_grad", "reverse_seed", "forward"])
def test_function_writing_into_its_argument(f, transform):
    expected = _fresh_gradient(f, X0)
    if transform == "grad":
        g = tangent_src.grad(f)
        def run(x): return g(x)
    elif transform == "value_and_grad":
        vg = tangent_src.value_and_grad(f)

        def run(x):
            value, grad = vg(x)
            assert value == pytest.approx(f(np.array(X0)), rel=1e-12)
            return grad
    elif transform == "reverse_seed":
        r = tangent_src.autodiff(f, "reverse")

        def run(x, seed):
            return r(x, seed)
        first, second = _twice(run, X0, 2.0 * np.ones(()))
        np.testing.assert_allclose(first, 2.0 * expected, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(second, first, rtol=0, atol=0)
        return
    else:
        t = tangent_src.autodiff(f, "forward")

        def run(x, v):
            return t(x, v)
        first, second = _twice(run, X0, V0)
        np.testing.assert_allclose(first, expected @ V0, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(second, first, rtol=0, atol=0)
        return
    first, second = _twice(run, X0)
    np.testing.assert_allclose(first, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(second, first, rtol=0, atol=0)


@pytest.mark.parametrize("f", WRITERS[:-1], ids=IDS[:-1])  # numba refuses closure arrays
@pytest.mark.parametrize("how", ["grad", "forward", "hvp"])
def test_function_writing_into_its_argument_numba(f, how):
    pytest.importorskip("numba")
    if how == "grad":
        run, inputs = tangent_src.grad(f, backend="numba"), (X0,)
        expected = _fresh_gradient(f, X0)
    elif how == "forward":
        run, inputs = tangent_src.autodiff(f, "forward", backend="numba"), (X0, V0)
        expected = _fresh_gradient(f, X0) @ V0
    else:
        run, inputs = tangent_src.hvp(f, backend="numba"), (X0, V0)
        expected = _fresh_hessian_times(f, X0, V0)
    first, second = _twice(run, *inputs)
    np.testing.assert_allclose(first, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(second, first, rtol=1e-12, atol=0)


# ------------------------------------------------------------------------ second order
@pytest.mark.parametrize("f", WRITERS, ids=IDS)
@pytest.mark.parametrize("how", ["forward_over_reverse", "hvp", "hessian"])
def test_second_order_of_function_writing_into_its_argument(f, how):
    expected = _fresh_hessian_times(f, X0, V0)
    if how == "forward_over_reverse":
        t = tangent_src.autodiff(tangent_src.autodiff(f, "reverse"), "forward")

        def run(x, v):
            return t(x, 1.0, v)
    elif how == "hvp":
        h = tangent_src.hvp(f)

        def run(x, v):
            return h(x, v)
    else:
        hess = tangent_src.hessian(f)

        def run(x, v):
            return hess(x) @ v
    first, second = _twice(run, X0, V0)
    np.testing.assert_allclose(first, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(second, first, rtol=1e-12, atol=0)


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_jacobian_of_function_writing_into_its_argument(mode):
    def lifted(x):
        x[1] = x[1] * x[0]
        return np.sin(x) * WEIGHTS
    jac = tangent_src.jacobian(lifted, mode=mode)
    first, second = _twice(jac, X0)
    fresh = np.array([numerical_grad(lambda z, k=k: lifted(z)[k], (X0,)) for k in range(3)])
    np.testing.assert_allclose(first, fresh, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(second, first, rtol=0, atol=0)


def test_vjp_of_function_writing_into_its_argument():
    def lifted(x):
        x[1] = x[1] * x[0]
        return np.sin(x) * WEIGHTS
    x = X0.copy()
    value, pullback = tangent_src.vjp(lifted, x)
    cotangent = V0.copy()
    (grad,) = pullback(cotangent)
    assert np.array_equal(x, X0) and np.array_equal(cotangent, V0)
    np.testing.assert_allclose(value, lifted(X0.copy()), rtol=1e-12)
    expected = numerical_grad(lambda z: np.dot(lifted(z), V0), (X0,))
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-7)


# ------------------------------------------- generated code writes only into its own arrays
def shifted_sum(a):
    b = a + 1
    c = b[0] + 1.5
    e = (a + b) + c
    return e


def test_forward_over_reverse_leaves_the_tangent_alone():
    """The issue's example: broadcast_like returned the caller's tangent and add_at added
    into it, so the result was wrong and `ds` changed."""
    t = tangent_src.autodiff(tangent_src.autodiff(shifted_sum, "reverse"), "forward", wrt=1)
    a, seed, ds = np.array([1.0, 2.0]), np.array([1.0, 1.0]), np.array([1.0, 0.5])
    watch = _Untouched(a=a, seed=seed, ds=ds)
    out = t(a, seed, ds)
    watch.check()
    # the gradient is linear in the seed: d/dseed of (seed + seed + e0 * sum(seed)) . ds
    np.testing.assert_allclose(out, 2.0 * ds + np.array([np.sum(ds), 0.0]))
    reverse = tangent_src.autodiff(shifted_sum, "reverse")
    eps = 1e-6
    numeric = (reverse(a, seed + eps * ds) - reverse(a, seed - eps * ds)) / (2 * eps)
    np.testing.assert_allclose(out, numeric, rtol=1e-6)


def test_forward_over_reverse_leaves_the_tangent_alone_numba():
    pytest.importorskip("numba")
    t = tangent_src.autodiff(tangent_src.autodiff(shifted_sum, "reverse"), "forward", wrt=1,
                             backend="numba")
    a, seed, ds = np.array([1.0, 2.0]), np.array([1.0, 1.0]), np.array([1.0, 0.5])
    watch = _Untouched(a=a, seed=seed, ds=ds)
    out = t(a, seed, ds)
    watch.check()
    np.testing.assert_allclose(out, 2.0 * ds + np.array([np.sum(ds), 0.0]))


def gathers_in_a_loop(params, x):
    total = 0.0
    for i in range(3):
        w = params[i]
        total = total + np.sum(np.tanh(w * x[i]) * x)
    return total


@pytest.mark.parametrize("how", ["forward_over_reverse", "reverse_over_reverse"])
def test_second_order_with_accumulations_in_a_loop(how):
    """add_at inside a loop, differentiated again: seeds, tangents and arguments intact."""
    params, x = np.array([0.4, -1.2, 0.7]), np.array([0.2, 0.9, -0.5])
    inner = tangent_src.autodiff(gathers_in_a_loop, "reverse")
    seed, v = np.array(1.5), np.array([1.0, -2.0, 0.5])
    watch = _Untouched(params=params, x=x, seed=seed, v=v)
    if how == "forward_over_reverse":
        out = tangent_src.autodiff(inner, "forward")(params, x, seed, v)
    else:
        out = tangent_src.autodiff(inner, "reverse")(params, x, seed, v)
    watch.check()

    # total = sum_i sum_j tanh(p_i x_i) x_j: the Hessian in p is diagonal (by hand)
    t = np.tanh(params * x)
    curvature = -2.0 * t * (1.0 - t * t) * x * x * np.sum(x)
    expected = 1.5 * curvature * v
    gradient = numerical_grad(gathers_in_a_loop, (params, x))
    np.testing.assert_allclose(gradient, (1.0 - t * t) * x * np.sum(x), rtol=1e-6)
    np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


def layered(a):
    b = np.tanh(a)
    c = 0.0
    for i in range(2):
        c = c + b[i] * a[i]
    return (a + b) * c


@pytest.mark.parametrize("how", ["forward_wrt_a", "forward_wrt_seed", "reverse_wrt_a"])
def test_second_order_of_an_array_function_with_element_reads_in_a_loop(how):
    """The adjoint of b accumulates by add_at inside the loop; differentiated again, the
    tangent of that accumulator started as another live tangent and add_at changed both
    (main computed a wrong derivative here)."""
    reverse = tangent_src.autodiff(layered, "reverse")
    a, seed = np.array([0.3, -0.4, 0.8]), np.array([1.0, 2.0, -1.0])
    v = np.array([1.0, 0.5, 0.25])
    watch = _Untouched(a=a, seed=seed, v=v)
    eps = 1e-6
    if how == "forward_wrt_a":
        out = tangent_src.autodiff(reverse, "forward", wrt=0)(a, seed, v)
        expected = (reverse(a + eps * v, seed) - reverse(a - eps * v, seed)) / (2 * eps)
    elif how == "forward_wrt_seed":
        out = tangent_src.autodiff(reverse, "forward", wrt=1)(a, seed, v)
        expected = (reverse(a, seed + eps * v) - reverse(a, seed - eps * v)) / (2 * eps)
    else:
        out = tangent_src.autodiff(reverse, "reverse", wrt=0)(a, seed, v)
        expected = numerical_grad(lambda z: np.dot(reverse(z, seed), v), (a,))
    watch.check()
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-8)


def test_reverse_seed_array_is_left_alone():
    """A seed given as an array goes straight into an add_at chain (y = x then y[0])."""
    def picks(a):
        b = a * 1.0
        c = b[1] * 3.0
        return b + c
    r = tangent_src.autodiff(picks, "reverse")
    a, seed = np.array([0.5, 2.0, -1.0]), np.array([1.0, 2.0, 3.0])
    watch = _Untouched(a=a, seed=seed)
    out = r(a, seed)
    watch.check()
    np.testing.assert_allclose(out, seed + np.array([0.0, 3.0 * np.sum(seed), 0.0]))


# ------------------------------------------------------------ the function runs once a call
def noisy_loss(x):
    eps = np.random.normal(size=3)
    return np.sum((x + eps) ** 2)


def test_value_and_gradient_see_the_same_draw():
    vg = tangent_src.value_and_grad(noisy_loss)
    np.random.seed(0)
    value, grad = vg(X0.copy())
    np.random.seed(0)
    draw = np.random.normal(size=3)
    assert value == pytest.approx(np.sum((X0 + draw) ** 2), rel=1e-12)
    np.testing.assert_allclose(grad, 2.0 * (X0 + draw), rtol=1e-12)


def test_first_gradient_of_a_random_objective_equals_later_ones():
    g = tangent_src.grad(noisy_loss)
    results = []
    for _ in range(3):
        np.random.seed(7)
        results.append(g(X0.copy()))
    np.random.seed(7)
    draw = np.random.normal(size=3)
    for grad in results:
        np.testing.assert_allclose(grad, 2.0 * (X0 + draw), rtol=1e-12)


RNG = np.random.default_rng(3)


def noisy_with_a_global_generator(x):
    eps = RNG.normal(size=3)
    return np.sum(np.sin(x * eps))


def test_global_generator_is_drawn_once_per_call():
    global RNG
    RNG = np.random.default_rng(3)
    value, grad = tangent_src.value_and_grad(noisy_with_a_global_generator)(X0.copy())
    replay = np.random.default_rng(3)
    draw = replay.normal(size=3)
    assert value == pytest.approx(np.sum(np.sin(X0 * draw)), rel=1e-12)
    np.testing.assert_allclose(grad, np.cos(X0 * draw) * draw, rtol=1e-12)
    # one draw was taken, not two: the next call sees the generator's second draw
    second = replay.normal(size=3)
    _, grad = tangent_src.value_and_grad(noisy_with_a_global_generator)(X0.copy())
    np.testing.assert_allclose(grad, np.cos(X0 * second) * second, rtol=1e-12)


# ----------------------------------------------------------------------- output checks
def returns_array(x):
    return x * 2.0


def returns_pair(x):
    return np.sum(x), x


@pytest.mark.parametrize("transform", [tangent_src.grad, tangent_src.value_and_grad])
def test_array_and_tuple_outputs_are_still_refused(transform):
    with pytest.raises(NotDifferentiableError, match="vjp"):
        transform(returns_array)(X0.copy())
    with pytest.raises(NotDifferentiableError, match="tuple"):
        transform(returns_pair)(X0.copy())
    with pytest.raises(NotDifferentiableError, match="pair"):
        transform(returns_array, has_aux=True)(X0.copy())


def test_array_output_is_refused_for_every_shape():
    """The check runs for each new argument shape, not only on the first call."""
    def doubled(x):
        return x * 2.0
    g = tangent_src.grad(doubled)
    assert g(1.5) == 2.0
    with pytest.raises(NotDifferentiableError, match="shape"):
        g(np.array([1.0, 2.0]))


@pytest.mark.parametrize("how", ["hvp", "hessian"])
def test_hessian_of_array_output_is_refused_without_running_it(how):
    x = X0.copy()
    with pytest.raises(NotDifferentiableError, match="scalar"):
        if how == "hvp":
            tangent_src.hvp(doubles_then_returns_array)(x, V0.copy())
        else:
            tangent_src.hessian(doubles_then_returns_array)(x)
    assert np.array_equal(x, X0)


def doubles_then_returns_array(x):
    x[0] = x[0] * 2.0
    return x * 3.0


# ------------------------------------------------------------- what cannot be differentiated
def returns_text(x):
    return "done" if x > 0.0 else "negative"


def scaled(x, y):
    return y * 2.0


def test_string_output_is_refused():
    with pytest.raises(NotDifferentiableError, match="returns_text"):
        tangent_src.grad(returns_text)(1.0)


class Settings:
    def __init__(self):
        self.name = "run"
        self.steps = 3


@pytest.mark.parametrize("value", ["a", None, ["a", "b"], Settings(), object(), (1, 2)],
                         ids=["str", "None", "list_of_str", "object_no_floats", "object",
                              "int_tuple"])
def test_non_float_wrt_argument_is_refused(value):
    with pytest.raises(NotDifferentiableError, match=r"scaled.*'x'"):
        tangent_src.grad(scaled, wrt=0)(value, 1.5)


def test_a_dict_of_arrays_with_a_label_is_still_differentiable():
    """A pytree with a float inside stays differentiable (the label is a constant)."""
    def loss(params, x):
        return np.sum(np.tanh(params["W"] * x))
    params = {"W": np.array([0.5, -0.2]), "label": "layer"}
    g = tangent_src.grad(loss)(params, np.array([1.0, 2.0]))
    expected = (1 - np.tanh(params["W"] * [1.0, 2.0]) ** 2) * [1.0, 2.0]
    np.testing.assert_allclose(g["W"], expected)


def squared(x):
    return x * x


@pytest.mark.parametrize("before", [2.0, np.array([1.0, 2.0])], ids=["float", "array"])
def test_integer_is_refused_after_a_float_call(before):
    g = tangent_src.grad(lambda_free_sum)
    g(before)
    with pytest.raises(NotDifferentiableError, match="integer"):
        g(np.array([1, 2]) if np.ndim(before) else 3)


def lambda_free_sum(x):
    return np.sum(x * x)


def test_integer_is_refused_on_every_call():
    g = tangent_src.grad(squared)
    for _ in range(2):
        with pytest.raises(NotDifferentiableError, match="integer"):
            g(3)
    assert g(3.0) == 6.0
    with pytest.raises(NotDifferentiableError, match="integer"):
        g(3)


# ------------------------------------------------------------------- writes through an alias
def writes_through_alias(x):
    y = x
    y[1] = y[0] * y[2]
    return np.sum(y * x)


def writes_under_a_view(x):
    v = x[:2]
    x[0] = 5.0 * x[1]
    return np.sum(v * x[1:])


def writes_into_a_row(m):
    for row in m:
        row[0] = row[0] * 2.0
    return np.sum(m * m)


@pytest.mark.parametrize("f", [writes_through_alias, writes_under_a_view, writes_into_a_row])
def test_write_through_an_alias_is_refused(f):
    """Python's write changes both names; a new version of one would not: refuse it."""
    arg = np.ones((2, 2)) if f is writes_into_a_row else X0.copy()
    with pytest.raises(UnsupportedSyntaxError, match="share its array"):
        tangent_src.grad(f)(arg)


def copies_then_writes(x):
    y = np.copy(x)
    y[1] = y[0] * y[2]
    z = x
    z = z * 2.0
    z[0] = 1.0
    return np.sum(y * x) + np.sum(z)


def test_write_after_a_copy_or_rebinding_is_fine():
    x = X0.copy()
    g = tangent_src.grad(copies_then_writes)(x)
    assert np.array_equal(x, X0)
    np.testing.assert_allclose(g, _fresh_gradient(copies_then_writes, X0), rtol=1e-5,
                               atol=1e-7)
