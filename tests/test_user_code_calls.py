"""Calls as user code writes them (issue 13): functions held in variables, defaults, dicts
and lists of functions, functools.partial, map, sorted; random generators, astype,
dict(...)/.get/.items, the operator module; *args/**kwargs helpers, starred calls,
zip(*pairs); loops over arrays built in the function and enumerate(zip(...)).
Every derivative is checked in both modes against central finite differences."""
import copy
import functools
import operator

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.errors import UnsupportedSyntaxError


def relu(z):
    return np.maximum(z, 0.0)


def softplus(z):
    return np.log1p(np.exp(z))


def layer(x, W, b, nonlinearity=np.tanh):
    return nonlinearity(W @ x + b)


def mlp_loss(W1, b1, W2, b2, x, y):
    params = [(W1, b1), (W2, b2)]
    h = x
    for W, b in params[:-1]:
        h = layer(h, W, b)                       # the default nonlinearity
    out = layer(h, params[-1][0], params[-1][1], nonlinearity=softplus)
    return np.sum((out - y) ** 2)


def activations_net(W, x):
    act = np.tanh                                # a function held in a variable
    acts = {"relu": relu, "tanh": act, "softplus": softplus}
    h = acts["softplus"](W @ x)
    return np.sum(act(h) + acts["relu"](h))


def fourier_features(w, x):
    total = 0.0
    for f in [np.sin, np.cos]:                   # a list of functions
        total = total + np.sum(f(w * x))
    return total


def power(z, k=1.0):
    return z ** k


def partial_net(w, x):
    square = functools.partial(power, k=2.0)
    cube = functools.partial(power, k=3.0)
    return np.sum(square(w * x)) + np.sum(cube(w))


def mapped(w, x):
    parts = list(map(np.sin, [w[0] * x[0], w[1] * x[1]]))
    total = parts[0] * parts[1]
    for v in map(softplus, [w[0], w[1] * x[2]]):
        total = total + v
    return total


def sorted_keys(params, x):
    total = 0.0
    for k in sorted(params):                     # the keys, not differentiated
        total = total * 0.5 + np.sum(params[k] * x)
    for k in sorted(params.keys()):
        total = total + np.sum(np.sin(params[k]))
    return total


def random_features(w, x, rs):
    h = x
    for i in range(3):
        proj = rs.randn(3, 3) * 0.5              # drawn once, in the forward pass
        h = np.tanh(proj @ h * w[i])
    return np.sum(h ** 2)


def local_generators(w, x):
    rs = np.random.RandomState(0)
    _burn = rs.randn(2)                          # unused: still drawn, as Python does
    a = rs.randn(3)
    rng = np.random.default_rng(1)
    b = rng.normal(size=3)
    return np.sum(np.sin(w * a * x) + b * w)


def astype_model(w, x):
    bins = np.floor(np.abs(x) * 2.0).astype(int)  # integer indices: no derivative
    table = w.astype(float) * 2.0                # float: the identity
    return np.sum(table[bins] ** 2) + np.sum(w * (x > 0).astype(float))


def dict_model(w, x):
    params = dict(W=w, b=0.5)
    scale = params.get("scale", 2.0)
    total = 0.0
    for _name, value in params.items():
        total = total + np.sum(value * x) * params.get("b", 1.0)
    return total * scale + np.sum(params["W"] ** 2)


def operator_model(w, x):
    y = operator.add(w, 1.0)
    y = operator.mul(y, x)
    y = operator.truediv(operator.sub(y, 0.5), 2.0)
    return np.sum(operator.pow(operator.neg(y), 2))


def total_of(*terms):
    s = 0.0
    for t in terms:
        s = s + t
    return s


def scaled(z, **options):
    return z * options["scale"] + options.get("shift", 0.0)


def two(a, b):
    return a * b


def variadic_model(w, x):
    pair = (w, np.sin(x))
    pairs = [(w[0], x[1]), (w[2], w[1])]
    firsts, seconds = zip(*pairs)
    return np.sum(total_of(w * x, w ** 2, 3.0)) + np.sum(scaled(w, scale=3.0)) + \
        np.sum(two(*pair)) + firsts[0] * seconds[1] + firsts[1]


def iteration_model(w, x):
    total = 0.0
    for v in np.array([1.0, 2.0, 3.0]):
        total = total + np.sum(w * v)
    X = np.array([[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]])
    for row in X:
        total = total + np.sum(np.sin(row * w))
    for i, (a, c) in enumerate(zip(w, x)):
        total = total + a * c * i
    return total


W1 = np.array([[0.5, -0.3, 0.1], [0.2, 0.8, -0.4]])
B1 = np.array([0.1, -0.2])
W2 = np.array([[0.3, -0.6]])
B2 = np.array([0.05])
X = np.array([0.3, -0.7, 1.1])
W = np.array([0.9, -0.4, 0.6])
V = np.array([0.4, -1.1, 0.7])


def check_both_modes(f, args, wrt=0):
    """grad and jvp of f in argument `wrt` against central differences."""
    expected = numerical_grad(f, copy.deepcopy(args), wrt)
    got = tangent_src.grad(f, wrt=wrt)(*copy.deepcopy(args))
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    tangent = np.ones_like(args[wrt]) * 0.3 + 0.1 * np.arange(np.size(args[wrt])).reshape(
        np.shape(args[wrt]))
    df = tangent_src.autodiff(f, mode="forward", wrt=wrt)
    out = df(*copy.deepcopy(args), tangent)
    np.testing.assert_allclose(out, np.sum(expected * tangent), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f,args", [
    (activations_net, (W1, X)),
    (fourier_features, (W, X)),
    (partial_net, (W, X)),
    (mapped, (W, X)),
    (astype_model, (W, X)),
    (dict_model, (W, X)),
    (operator_model, (W, X)),
    (variadic_model, (W, X)),
    (iteration_model, (W, X)),
    (local_generators, (W, X)),
], ids=lambda v: getattr(v, "__name__", ""))
def test_user_code_both_modes(f, args):
    check_both_modes(f, args)


@pytest.mark.parametrize("wrt", [0, 1, 2, 3])
def test_mlp_with_a_nonlinearity_default_and_a_passed_one(wrt):
    args = (W1, B1, W2, B2, X, np.array([0.7]))
    check_both_modes(mlp_loss, args, wrt)


def test_sorted_keys_of_a_parameter_dict():
    params = {"b": np.array([0.3, 1.2, -0.5]), "a": np.array([0.9, -0.1, 0.4])}
    got = tangent_src.grad(sorted_keys)(params, X)
    for k in params:
        def along(v, k=k):
            return sorted_keys({**params, k: v}, X)
        np.testing.assert_allclose(got[k], numerical_grad(along, (params[k],)), rtol=1e-6)


def test_random_generator_passed_in_is_drawn_once_in_the_forward_pass():
    value, slope = tangent_src.value_and_grad(random_features)(W, X, np.random.RandomState(3))
    assert np.isclose(value, random_features(W, X, np.random.RandomState(3)))
    expected = numerical_grad(random_features, (W, X, np.random.RandomState(3)))
    np.testing.assert_allclose(slope, expected, rtol=1e-6)
    df = tangent_src.autodiff(random_features, mode="forward")
    out = df(W, X, np.random.RandomState(3), V)
    np.testing.assert_allclose(out, expected @ V, rtol=1e-6)


@pytest.mark.parametrize("f", [fourier_features, partial_net, variadic_model, dict_model])
def test_second_order_through_computed_calls(f):
    hv = tangent_src.hvp(f)(W, X, V)
    gradient = tangent_src.grad(f)
    eps = 1e-5
    expected = (gradient(W + eps * V, X) - gradient(W - eps * V, X)) / (2 * eps)
    np.testing.assert_allclose(hv, expected, rtol=1e-5, atol=1e-7)


def global_generator(w):
    _seeded = np.random.seed(0)                  # (a bare call: the print/side-effect work)
    _burn = np.random.randn(2)
    a = np.random.randn(3)
    return np.sum(np.sin(w * a))


def test_draws_of_the_global_generator_are_kept_in_order():
    """Was silently wrong: the unused seed and draw were removed as dead code, so the
    gradient was taken at other draws than the function's."""
    expected = numerical_grad(global_generator, (W,))
    np.testing.assert_allclose(tangent_src.grad(global_generator)(W), expected, rtol=1e-6)
    _, tangent = tangent_src.jvp(global_generator, (W,), (V,))
    assert tangent == pytest.approx(expected @ V, rel=1e-6)


def test_local_generators_give_the_values_python_gives():
    value, _ = tangent_src.value_and_grad(local_generators)(W, X)
    assert value == pytest.approx(local_generators(W, X), rel=1e-12)


def draws_from(w, x):
    source = x * 2.0                             # an array, not a generator
    return np.sum(w * source.choice(3))


def test_a_random_method_of_another_value_is_refused():
    with pytest.raises(TypeError, match="RandomState/Generator"):
        tangent_src.grad(draws_from)(W, X)


def computed_key(w, names):
    acts = {"relu": relu, "tanh": np.tanh}
    return np.sum(acts[names[0]](w))  # a string argument is specialized on; an item is not


def partial_as_value(w):
    square = functools.partial(power, k=2.0)
    return np.sum(np.apply_along_axis(square, 0, w))


def unknown_star(w, n):
    parts = [w]
    parts.append(w * float(n))
    return np.sum(two(*parts))


@pytest.mark.parametrize("f,args,marker", [
    (computed_key, (W, ["tanh"]), "acts[names[0]](w)"),
    (partial_as_value, (W,), "np.apply_along_axis(square, 0, w)"),
    (unknown_star, (W, 2), "two(*parts)"),
], ids=lambda v: getattr(v, "__name__", ""))
def test_what_the_source_does_not_fix_is_refused_where_it_is_written(f, args, marker):
    with pytest.raises(UnsupportedSyntaxError) as info:
        tangent_src.grad(f)(*args)
    assert marker in str(info.value) and info.value.hint
