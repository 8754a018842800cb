"""check_grads catches what it exists to catch.

Each test below makes a derivative wrong on purpose -- a user function registered with a
wrong adjoint or tangent rule (`tangent_src.adjoint` / `tangent_src.tangent`), a rule whose
own derivative is wrong only with respect to the seed, a rule that writes into its input, a
transform whose output is wrong while consistent with its own derivative -- and shows that
check_grads raises an AssertionError that says what, where and by how much. Correct
functions (plain arrays, pytrees, integer and string arguments) pass.
"""
from __future__ import annotations

import numpy as np
import pytest

import tangent_src
from tangent_src import d
from tangent_src.errors import NotDifferentiableError

X = np.array([0.3, -0.7, 1.1, 0.5])


# --------------------------------------------------------------------------- wrong rules
def softplus_bad_adjoint(x):
    return np.logaddexp(0.0, x)


@tangent_src.adjoint(softplus_bad_adjoint)
def _(y, x):
    d[x] = d[y] / (1.0 + np.exp(x))  # wrong: the sign of x


@tangent_src.tangent(softplus_bad_adjoint)
def _(y, x):
    d[y] = d[x] / (1.0 + np.exp(-x))


def uses_bad_adjoint(x):
    return np.sum(np.sin(softplus_bad_adjoint(x)))


def softplus_bad_tangent(x):
    return np.logaddexp(0.0, x)


@tangent_src.adjoint(softplus_bad_tangent)
def _(y, x):
    d[x] = d[y] / (1.0 + np.exp(-x))


@tangent_src.tangent(softplus_bad_tangent)
def _(y, x):
    d[y] = d[x] * 0.5  # wrong: exact only at x = 0


def uses_bad_tangent(x):
    return np.sum(np.sin(softplus_bad_tangent(x)))


def square_bad(x):
    return x * x


@tangent_src.adjoint(square_bad)
def _(y, x):
    d[x] = d[y] * 3.0 * x  # wrong: 2x


@tangent_src.tangent(square_bad)
def _(y, x):
    d[y] = d[x] * 3.0 * x  # wrong: 2x


def cube(x):
    return x * x * x


@tangent_src.adjoint(cube)
def _(y, x):
    d[x] = d[y] * 3.0 * square_bad(x)  # right values, wrong derivative of them


@tangent_src.tangent(cube)
def _(y, x):
    d[y] = d[x] * 3.0 * square_bad(x)


def uses_cube(x):
    return np.sum(np.sin(cube(x)))


def seed_times(g, x):
    """2 g x: the derivative of x**2 applied to a seed or tangent g."""
    return g * 2.0 * x


@tangent_src.adjoint(seed_times)
def _(z, g, x):
    d[g] = d[z] * 3.0 * x  # wrong: 2x, so wrong only with respect to the seed
    d[x] = d[z] * 2.0 * g


@tangent_src.tangent(seed_times)
def _(z, g, x):
    d[z] = d[g] * 3.0 * x + d[x] * 2.0 * g


def square_via_seed_times(x):
    return x * x


@tangent_src.adjoint(square_via_seed_times)
def _(y, x):
    d[x] = seed_times(d[y], x)


@tangent_src.tangent(square_via_seed_times)
def _(y, x):
    d[y] = seed_times(d[x], x)


def uses_seed_times(x):
    # the seed reaches seed_times unchanged, so d/dx of the gradient never meets the wrong
    # part of its rule: only d/dseed does
    return np.sum(square_via_seed_times(x))


def scale_and_scribble(g, x):
    """Twice the seed -- and a write into x, which the rule should never do."""
    x[0] += 1.0
    return 2.0 * g


def doubled(x):
    return 2.0 * x


@tangent_src.adjoint(doubled)
def _(y, x):
    d[x] = scale_and_scribble(d[y], x)


@tangent_src.tangent(doubled)
def _(y, x):
    d[y] = 2.0 * d[x]


def uses_mutating_rule(x):
    return np.sum(doubled(x) ** 2)


def _raises(func, args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        tangent_src.check_grads(func, args, **kwargs)
    return str(info.value)


# --------------------------------------------------------------------------- detection
def test_wrong_reverse_rule_is_caught_in_reverse_mode_only():
    message = _raises(uses_bad_adjoint, (X,), modes=("rev",))
    assert "uses_bad_adjoint" in message and "argument 0" in message, message
    assert "mode rev" in message and "order 1" in message, message
    assert "worst element" in message, message
    tangent_src.check_grads(uses_bad_adjoint, (X,), modes=("fwd",))


def test_wrong_forward_rule_is_caught_in_forward_mode_only():
    message = _raises(uses_bad_tangent, (X,), modes=("fwd",))
    assert "mode fwd" in message and "order 1" in message, message
    tangent_src.check_grads(uses_bad_tangent, (X,), modes=("rev",))


@pytest.mark.parametrize("modes", [("rev",), ("fwd",)])
def test_wrong_second_order_is_caught_at_order_two(modes):
    tangent_src.check_grads(uses_cube, (X,), order=1, modes=modes)
    message = _raises(uses_cube, (X,), order=2, modes=modes)
    assert "order 1" in message and "-derivative" in message, message


@pytest.mark.parametrize("modes", [("rev",), ("fwd",), ("fwd", "rev")])
def test_derivative_wrong_only_in_the_seed_is_caught(modes):
    """The rule's values are right, and so is its derivative with respect to x: only
    differentiating the generated derivative with respect to its seed (or tangent) shows
    the error."""
    tangent_src.check_grads(uses_seed_times, (X,), order=1, modes=modes)
    message = _raises(uses_seed_times, (X,), order=2, modes=modes)
    assert "argument 1" in message, message  # the seed/tangent is the derivative's argument 1


def test_a_derivative_that_writes_into_its_input_is_caught():
    x = X.copy()
    message = _raises(uses_mutating_rule, (x,), modes=("rev",))
    assert "in place" in message and "argument 0" in message, message


def writes_into_its_argument(x):
    x[0] = 2.0
    return np.sum(x ** 2)


def test_a_function_that_writes_into_its_input_is_reported():
    x = X.copy()
    message = _raises(writes_into_its_argument, (x,))
    assert "in place" in message and "writes_into_its_argument" in message, message


def smooth(x):
    return np.sum(np.tanh(x) * x)


def test_a_wrong_primal_value_of_value_and_grad_is_caught(monkeypatch):
    """value_and_grad runs its own generated function; its value must be func's value."""
    finish = tangent_src.api.Transform._finish

    def off_by_one(self, result, plan=None):
        out = finish(self, result, plan)
        if self.return_value and self.mode == "reverse":
            return out[0] + 1.0, out[1]
        return out
    monkeypatch.setattr(tangent_src.api.Transform, "_finish", off_by_one)
    message = _raises(smooth, (X,), modes=("rev",))
    assert "primal value" in message, message


def test_a_gradient_of_the_wrong_shape_is_caught(monkeypatch):
    """A gradient with an extra axis has the right numbers and would pass a check that only
    contracts it with a direction."""
    finish = tangent_src.api.Transform._finish

    def extra_axis(self, result, plan=None):
        out = finish(self, result, plan)
        return out[None] if self.mode == "reverse" and not self.return_value else out
    monkeypatch.setattr(tangent_src.api.Transform, "_finish", extra_axis)
    message = _raises(smooth, (X,), modes=("rev",))
    assert "shape (4,)" in message, message


def twice_tanh(x):
    return np.sum(np.tanh(_doubled_gradient(x)))


def _doubled_gradient(x):
    return x * 1.0


@tangent_src.adjoint(_doubled_gradient)
def _(y, x):
    d[x] = 2.0 * d[y]  # wrong by a constant factor: its own derivative is consistent


@tangent_src.tangent(_doubled_gradient)
def _(y, x):
    d[y] = d[x]


def test_a_wrong_transform_is_checked_against_its_function():
    """check_grads(grad(f)) differentiates grad(f)'s generated code and differences grad(f):
    those agree even when grad(f) is wrong. The transform is first checked against f."""
    message = _raises(tangent_src.grad(twice_tanh), (X,), modes=("fwd",))
    assert "checked against twice_tanh" in message, message


def test_correct_transforms_pass():
    x = X.copy()
    tangent_src.check_grads(tangent_src.grad(smooth), (x,), order=1)
    tangent_src.check_grads(tangent_src.value_and_grad(smooth), (x,), order=1, modes=("fwd",))
    forward = tangent_src.autodiff(smooth, mode="forward")
    tangent_src.check_grads(forward, (x, np.ones(4)), order=1)
    reverse = tangent_src.autodiff(smooth, mode="reverse")
    tangent_src.check_grads(reverse, (x, 0.5), order=1)


# --------------------------------------------------------------------------- arguments
def mlp_loss(params, inputs, targets):
    for W, b in params:
        inputs = np.tanh(np.dot(inputs, W) + b)
    return np.sum((inputs - targets) ** 2)


def _mlp_args():
    rs = np.random.RandomState(0)
    params = [(0.5 * rs.randn(3, 4), 0.1 * rs.randn(4)), (0.5 * rs.randn(4, 2), 0.0)]
    return params, rs.randn(5, 3), rs.randn(5, 2)


def test_pytree_arguments_pass():
    tangent_src.check_grads(mlp_loss, _mlp_args(), order=1)


def test_pytree_arguments_pass_to_second_order():
    """Reverse over reverse of a layer loop (needs the loop-adjoint reset fix)."""
    tangent_src.check_grads(mlp_loss, _mlp_args(), order=2)


def one_layer(params, x):
    W, b = params
    return np.sum(np.tanh(x @ W + b) ** 2)


def test_a_tuple_argument_passes_to_second_order():
    rs = np.random.RandomState(1)
    tangent_src.check_grads(one_layer, ((rs.randn(3, 2), rs.randn(2)), rs.randn(4, 3)),
                            order=2)


def dict_loss(params, x):
    return np.sum(np.sin(params["w"] * x)) + params["c"] ** 2


def test_dict_arguments_pass():
    tangent_src.check_grads(dict_loss, ({"w": np.array([0.5, -1.0]), "c": 0.3}, X[:2]),
                            order=2)


def indexed_power(x, n, mode):
    y = x ** n
    return np.sum(y) if mode == "sum" else np.sum(y ** 2)


def test_integer_and_string_arguments_are_not_differentiated():
    tangent_src.check_grads(indexed_power, (X, 3, "sum"))


def test_a_string_inside_a_differentiated_container_is_refused():
    with pytest.raises(NotDifferentiableError, match="string"):
        tangent_src.check_grads(dict_loss, ({"w": X[:2], "c": 0.3, "name": "layer"}, X[:2]))


def test_complex_arguments_are_checked_not_refused():  # (they were refused before)
    tangent_src.check_grads(smooth, (X + 1j,))


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="mode"):
        tangent_src.check_grads(smooth, (X,), modes=("backward",))


def test_check_grads_is_importable_from_its_old_home():
    from tangent_src.derivatives import check_grads
    from tangent_src.testing import check_grads as new_home
    assert check_grads is new_home is tangent_src.check_grads


# --------------------------------------------------------------------------- found by check_grads
def weighted(a, b):
    return a * b + a


@tangent_src.tangent(weighted)
def _(z, a, b):
    d[z] = d[a] * (b + 1.0) + d[b] * a  # one expression for both tangents


@tangent_src.adjoint(weighted)
def _(z, a, b):
    d[a] = d[z] * (b + 1.0)
    d[b] = d[z] * a


def uses_weighted(x, w):
    return np.sum(np.tanh(weighted(x, w)))


@pytest.mark.parametrize("wrt", [0, 1])
def test_a_one_expression_forward_rule_with_one_constant_argument(wrt):
    """A user's forward rule `d[z] = d[a] * ... + d[b] * ...` used to be dropped whole when
    one argument did not vary, giving a zero tangent."""
    x, w = X, np.array([0.5, -1.0, 2.0, 0.1])
    v = np.array([0.3, 1.0, -0.5, 2.0])
    forward = tangent_src.autodiff(uses_weighted, mode="forward", wrt=wrt)
    moved = [(x, w), (x, w)]
    moved[0] = tuple(a + 1e-6 * v if k == wrt else a for k, a in enumerate((x, w)))
    moved[1] = tuple(a - 1e-6 * v if k == wrt else a for k, a in enumerate((x, w)))
    expected = (uses_weighted(*moved[0]) - uses_weighted(*moved[1])) / 2e-6
    np.testing.assert_allclose(forward(x, w, v), expected, rtol=1e-6)


def test_jvp_of_value_and_grad_differentiates_the_value_too():
    """Differentiating value_and_grad(f) used to differentiate grad(f): the pair lost its
    value."""
    x, v = X, np.array([1.0, -0.5, 0.25, 2.0])
    (value, grad), (dvalue, dgrad) = tangent_src.jvp(tangent_src.value_and_grad(smooth),
                                                     (x,), (v,))
    assert value == pytest.approx(smooth(x))
    true_grad = np.tanh(x) + x * (1 - np.tanh(x) ** 2)
    np.testing.assert_allclose(grad, true_grad, rtol=1e-12)
    assert dvalue == pytest.approx(np.dot(true_grad, v), rel=1e-12)
    step = 1e-6 * v
    fd = (np.tanh(x + step) + (x + step) * (1 - np.tanh(x + step) ** 2)
          - np.tanh(x - step) - (x - step) * (1 - np.tanh(x - step) ** 2)) / 2e-6
    np.testing.assert_allclose(dgrad, fd, rtol=1e-6)


def loss_with_aux(x):
    return np.sum(x ** 2), x * 3.0


def test_differentiating_a_has_aux_transform_is_refused():
    with pytest.raises(NotDifferentiableError, match="has_aux"):
        tangent_src.jvp(tangent_src.grad(loss_with_aux, has_aux=True), (X,), (X,))


def first_of_concatenation(x):
    c = np.ones(3)
    pair = (c,) + (x,)
    return np.sum(pair[0] * x)


def test_forward_mode_of_a_tuple_concatenation_with_a_constant_part():
    """`(c,) + (x,)` concatenates; its tangent used to be (dx,) alone, so pair[0] read x's
    tangent in place of the constant's zeros."""
    tangent_src.check_grads(first_of_concatenation, (X[:3],), order=1, modes=("fwd",))


def test_curried_form_as_autograd_writes_it():
    """check_grads(f, modes=..., order=...)(x, y): autograd's curried form checks f at
    those arguments -- it passes for a correct gradient and catches a wrong one."""
    def loss(w, x):
        return np.sum(np.tanh(x @ w) ** 2)

    w, x = np.linspace(-1.0, 1.0, 3), np.linspace(0.5, 1.5, 6).reshape(2, 3)
    tangent_src.check_grads(loss, modes=["rev"], order=2)(w, x)
    tangent_src.check_grads(loss, argnums=0)(w, x)

    def frozen(w):
        return np.sum(tangent_src.stop_gradient(w) ** 3)

    with pytest.raises(AssertionError, match="frozen"):
        tangent_src.check_grads(frozen, modes=["rev"])(w)
