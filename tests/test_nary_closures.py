"""Closures over a tuple of arguments fixed at run time: wrappers that fix all arguments
but one (`fix_all_but`), partial application (`f(x, *fixed)`) and a decorator that makes a
unary transform n-ary (autograd's `unary_to_nary` pattern). The tuple's length is read
from the closure cell when the code is generated; a later tuple of another length must
regenerate the code, never reuse it. Every derivative is checked against central finite
differences."""
import numpy as np
import pytest

import tangent_src as ts
from tests.fdcheck import assert_close, numerical_grad


def fix_all_but(f, k, args):
    """f as a function of its k-th argument alone, the others fixed to `args`."""
    def unary(x):
        new = list(args)
        new[k] = x
        return f(*new)
    return unary


def partial_apply(f, *fixed):
    """f with every argument after the first fixed."""
    def applied(x):
        return f(x, *fixed)
    return applied


def nary(unary_transform):
    """Make `unary_transform(fun, x)` take `fun` of several arguments and an argnum."""
    def transform(fun, argnum=0):
        def wrapped(*args):
            def unary(x):
                new = list(args)
                new[argnum] = x
                return fun(*new)
            return unary_transform(unary, args[argnum])
        return wrapped
    return transform


@nary
def derivative(fun, x):
    return ts.grad(fun)(x)


@nary
def forward_derivative(fun, x):
    return ts.autodiff(fun, mode="forward")(x)


def layer_loss(w, b, x):
    """A one-layer model's squared activations."""
    return np.sum(np.tanh(x @ w + b) ** 2)


def running_product(*xs):
    """A loop over the arguments: the result depends on how many there are."""
    s = 1.0
    for v in xs:
        s = s * v + np.sin(v)
    return s


RNG = np.random.default_rng(7)
W, B, X = RNG.normal(size=3), 0.3, RNG.normal(size=(4, 3))


@pytest.mark.parametrize("mode", ["reverse", "forward"])
@pytest.mark.parametrize("k", [0, 1])
def test_fix_all_but_each_argument(mode, k):
    args = (W, B, X)
    f = fix_all_but(layer_loss, k, args)
    at = args[k]
    if mode == "reverse":
        got = ts.grad(f)(at)
    else:  # forward mode: one tangent per coordinate
        dir_grad = ts.autodiff(f, mode="forward")
        got = dir_grad(at) if np.ndim(at) == 0 else np.array(
            [dir_grad(at, np.eye(3)[i]) for i in range(3)])
    assert_close(got, numerical_grad(f, (at,)))


def test_fix_all_but_second_order():
    f = fix_all_but(layer_loss, 1, (W, B, X))
    second = ts.grad(ts.grad(f))(B)
    assert_close(second, numerical_grad(ts.grad(f), (B,)))
    mixed = ts.autodiff(ts.grad(f), mode="forward")(B)
    assert_close(mixed, second)
    hess = ts.hessian(fix_all_but(layer_loss, 0, (W, B, X)))(W)
    g = ts.grad(fix_all_but(layer_loss, 0, (W, B, X)))
    expected = np.array([numerical_grad(lambda w, i=i: g(w)[i], (W,)) for i in range(3)])
    assert_close(hess, expected)


def test_partial_application_of_a_starred_closure_tuple():
    f = partial_apply(running_product, 1.5, -0.4, 2.0)
    assert_close(ts.grad(f)(0.3), numerical_grad(f, (0.3,)))
    assert_close(ts.autodiff(f, mode="forward")(0.3), numerical_grad(f, (0.3,)))


@pytest.mark.parametrize("transform", [derivative, forward_derivative])
def test_nary_decorator_like_autograd(transform):
    def energy(x, y):
        return x * np.sin(y) + y ** 3 / (1.0 + x * x)
    x, y = 0.7, 1.8
    for argnum, at in ((0, x), (1, y)):
        got = transform(energy, argnum)(x, y)
        partial = fix_all_but(energy, argnum, (x, y))
        assert_close(got, numerical_grad(partial, (at,)))


def test_a_tuple_of_another_length_regenerates():
    def make():
        args = (0.5, 1.0)

        def unary(x):
            new = list(args)
            new[0] = x
            return running_product(*new)

        def reset(new_args):
            nonlocal args
            args = new_args
        return unary, reset

    f, reset = make()
    g = ts.grad(f)
    for args in [(0.5, 1.0), (0.5, 1.0, 2.0), (0.5, 1.0, 2.0, -0.7), (0.5, 1.0)]:
        reset(args)
        print("args", args)
        assert_close(g(0.3), numerical_grad(f, (0.3,)))


GLOBAL_ARGS = (1.0, 2.0)


def starred_global(x):
    return running_product(x, *GLOBAL_ARGS)


def test_a_global_tuple_of_another_length_regenerates():
    global GLOBAL_ARGS
    g = ts.grad(starred_global)
    old = GLOBAL_ARGS
    try:
        for args in [(1.0, 2.0), (1.0, 2.0, 3.0), (4.0,)]:
            GLOBAL_ARGS = args
            assert_close(g(0.3), numerical_grad(starred_global, (0.3,)))
    finally:
        GLOBAL_ARGS = old


def test_a_list_in_a_closure_is_not_given_a_length():
    """A list can grow while the code runs: starring it stays refused."""
    items = [1.0, 2.0]

    def f(x):
        return running_product(x, *items)
    with pytest.raises(ts.errors.UnsupportedSyntaxError, match="unknown length"):
        ts.grad(f)(0.3)


@pytest.mark.parametrize("compare", [lambda x, y: x < y, lambda x, y: x == y,
                                     lambda x, y: not x >= y])
def test_a_returned_comparison_has_zero_gradient(compare):
    """Piecewise constant: zero where it is differentiable, in both modes (as `(x < y)
    * 1.0` already had)."""
    x, y = 0.7, 1.8
    assert numerical_grad(compare, (x, y)) == 0.0
    assert ts.grad(compare, wrt=(0, 1))(x, y) == (0.0, 0.0)
    assert ts.autodiff(compare, mode="forward")(x, y) == 0.0
    assert ts.grad(lambda a, b: compare(a, b) * 1.0)(x, y) == 0.0
