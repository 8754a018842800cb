"""`return` inside loops (search loops, converged iterations, helpers that return from
their loop), and names first assigned in one branch: every transform against central
finite differences or hand-derived values.

Fuzz seeds 22765 and 24491: value_and_grad and jvp read a `result` variable that only the
return site assigned (UnboundLocalError in the generated code); two returns in one loop
body were refused by grad."""
import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.errors import TangentError

RTOL, ATOL = 1e-6, 1e-8


def _zeros(value):
    """A zero tangent with the structure of `value` (lists of (W, b) tuples included)."""
    if isinstance(value, (list, tuple)):
        return type(value)(_zeros(v) for v in value)
    return np.zeros_like(value) if isinstance(value, np.ndarray) else 0.0


def _direction(x):
    return np.linspace(0.3, 1.1, np.size(x)).reshape(np.shape(x)) if np.ndim(x) else 0.7


def check_first_order(f, *args):
    """grad, value_and_grad (value and gradient) and jvp of `f` with respect to its first
    argument against central differences."""
    expected = numerical_grad(f, args, wrt=0)
    value = f(*args)
    np.testing.assert_allclose(tangent_src.grad(f)(*args), expected, rtol=RTOL, atol=ATOL)
    got_value, got_grad = tangent_src.value_and_grad(f)(*args)
    np.testing.assert_allclose(got_value, value, rtol=1e-12)
    np.testing.assert_allclose(got_grad, expected, rtol=RTOL, atol=ATOL)
    v = _direction(args[0])
    tangents = (v,) + tuple(_zeros(a) for a in args[1:])
    got_value, got_tangent = tangent_src.jvp(f, args, tangents)
    np.testing.assert_allclose(got_value, value, rtol=1e-12)
    np.testing.assert_allclose(got_tangent, np.sum(expected * v), rtol=RTOL, atol=ATOL)
    return expected


def check_second_order(f, *args):
    """vjp and hvp of `f` (hvp against central differences of the checked gradient)."""
    expected = numerical_grad(f, args, wrt=0)
    _, pullback = tangent_src.vjp(f, *args)
    np.testing.assert_allclose(pullback(2.0)[0], 2.0 * expected, rtol=RTOL, atol=ATOL)
    v = _direction(args[0])
    gradient = tangent_src.grad(f)
    expected_hvp = numerical_grad(lambda *a: np.sum(gradient(*a) * v), args, wrt=0)
    np.testing.assert_allclose(tangent_src.hvp(f)(*args, v), expected_hvp, rtol=1e-5,
                               atol=1e-6)


# --------------------------------------------------------------------------- search loops
def first_saturated_layer(x, params):
    """Run the layers until one saturates or collapses; score the layer that stopped."""
    h = x
    for W, b in params:
        h = np.tanh(W @ h + b)
        if np.max(np.abs(h)) > 0.6:
            return np.sum(h ** 2)
        if np.sum(h) < -0.8:
            return np.sum(np.sin(h))
    return np.sum(h)


PARAMS = [(np.array([[0.6, 0.2], [0.1, 0.5]]), np.array([0.05, -0.1])),
          (np.array([[0.8, -0.2], [0.3, 0.7]]), np.array([-0.2, 0.1])),
          (np.array([[0.5, 0.4], [-0.3, 0.6]]), np.array([0.1, 0.0]))]


def _exit_taken(x) -> str:
    """Which exit of first_saturated_layer the input takes (plain Python, for coverage)."""
    h = x
    for W, b in PARAMS:
        h = np.tanh(W @ h + b)
        if np.max(np.abs(h)) > 0.6:
            return "saturated"
        if np.sum(h) < -0.8:
            return "collapsed"
    return "end"


@pytest.mark.parametrize("x, exit_", [([2.0, -0.3], "saturated"), ([-0.6, -0.6], "collapsed"),
                                      ([0.3, -0.4], "end"), ([0.2, 0.1], "end")])
def test_search_over_layers_returns_from_the_first_layer_that_stops(x, exit_):
    x = np.array(x)
    assert _exit_taken(x) == exit_
    check_first_order(first_saturated_layer, x, PARAMS)
    check_second_order(first_saturated_layer, x, PARAMS)


def first_crossing(x, level):
    """A search with two return sites whose values are computed in the loop."""
    acc = 0.0
    for i in range(x.shape[0]):
        step = np.sin(x[i]) * (i + 1.0)
        acc = acc + step
        if acc > level:
            return acc * x[i]
        if acc < -level:
            return -acc * x[0]
    return acc


@pytest.mark.parametrize("x", [[0.9, 0.2, 0.1], [-0.9, -0.2, 0.1], [0.1, -0.1, 0.05],
                               [0.1, 0.3, 0.6]])
def test_two_return_sites_in_one_loop_body(x):
    check_first_order(first_crossing, np.array(x), 0.8)


# ------------------------------------------------------------------------ converged loops
def newton_sqrt(a):
    """Newton's iteration for sqrt(a), returning as soon as it has converged."""
    x = a
    for _ in range(50):
        residual = x * x - a
        if abs(residual) < 1e-13:
            return x
        x = x - residual / (2.0 * x)
    return x


def newton_cbrt(a):
    """The same with `while True`: only the converged return leaves the loop."""
    x = a
    while True:
        residual = x ** 3 - a
        if abs(residual) < 1e-13:
            return 2.0 * x
        x = x - residual / (3.0 * x * x)


@pytest.mark.parametrize("a", [2.0, 0.5])
def test_newton_iteration_that_returns_when_converged(a):
    gradient = check_first_order(newton_sqrt, a)
    np.testing.assert_allclose(gradient, 0.5 / np.sqrt(a), rtol=1e-8)
    # second order, by hand: d2/da2 sqrt(a) = -a^(-3/2) / 4
    np.testing.assert_allclose(tangent_src.grad(tangent_src.grad(newton_sqrt))(a),
                               -0.25 * a ** -1.5, rtol=1e-6)
    np.testing.assert_allclose(tangent_src.hvp(newton_sqrt)(a, 1.0), -0.25 * a ** -1.5,
                               rtol=1e-6)


def test_while_true_left_only_by_return():
    a = 3.0
    gradient = check_first_order(newton_cbrt, a)
    np.testing.assert_allclose(gradient, 2.0 / 3.0 * a ** (-2.0 / 3.0), rtol=1e-8)
    check_second_order(newton_cbrt, a)


def while_loop_with_return(x, tol):
    """A damped fixed-point iteration with a trip limit and a converged return."""
    y = x
    it = 0
    while it < 100:
        y_next = 0.5 * np.cos(y) + 0.1 * x
        if np.max(np.abs(y_next - y)) < tol:
            return np.sum(y_next ** 2)
        y = y_next
        it = it + 1
    return np.sum(y)


def test_fixed_point_iteration_returns_when_converged():
    x = np.array([0.3, -0.2])
    check_first_order(while_loop_with_return, x, 1e-13)


def test_fixed_point_iteration_that_runs_out_of_trips():
    x = np.array([0.3, -0.2])
    check_first_order(while_loop_with_return, x, -1.0)


# ----------------------------------------------------------- helpers that return in a loop
def first_above(v, level):
    for i in range(v.shape[0]):
        if v[i] > level:
            return v[i] * 2.0
    return v[-1]


def sum_of_first_peaks(x):
    """Calls a module-level helper that returns from inside its loop, from a loop."""
    total = 0.0
    for k in range(3):
        total = total + first_above(np.sin(x * (k + 1.0)), 0.5)
    return total


def sum_of_picks(x):
    """A nested helper (expanded in place) with two returns in its loop, called in a loop."""
    def pick(v):
        for i in range(3):
            if v[i] > 0.1 * i:
                return v[i] * 2.0
            if v[i] < -0.5:
                return np.sin(v[i])
        return v[0]

    acc = 0.0
    for k in range(2):
        acc = acc + pick(np.cos(x * (k + 0.5)))
    return acc


def closest_scale(x, scales):
    """A lambda and a nested helper whose only returns are in its loops."""
    energy = lambda t: np.sum(t * t)  # noqa: E731 (a lambda is what is tested)

    def first_large(s):
        for j in range(3):
            for c in s:
                if energy(c * x) > 0.2 * (j + 1.0):
                    return energy(c * x) + j
        return energy(x)

    return first_large(scales) * 2.0


@pytest.mark.parametrize("x", [[0.3, 0.1, 0.9], [0.01, 0.02, 0.03]])
def test_module_helper_returning_from_its_loop_called_in_a_loop(x):
    check_first_order(sum_of_first_peaks, np.array(x))


@pytest.mark.parametrize("x", [[0.3, 0.1, 0.9], [2.0, 2.1, 1.9], [1.7, 2.1, 1.9]])
def test_nested_helper_with_two_returns_in_its_loop(x):
    check_first_order(sum_of_picks, np.array(x))
    check_second_order(sum_of_picks, np.array(x))


@pytest.mark.parametrize("x", [[0.3, 0.2], [0.1, 0.05], [0.01, 0.02]])
def test_return_from_a_nested_loop_of_a_helper(x):
    check_first_order(closest_scale, np.array(x), [0.5, 1.0, 2.0])


# ------------------------------------------------------------------- nested loops, else
def nested_search(x, tb):
    for k in range(2):
        for j in range(3):
            y = x * (j + 1.0)
            if tb > 0.1 * (j + k):
                if tb > 0.3:
                    return np.sum(np.sin(y))
                return np.sum(y * y)
        z = x * k
    return np.sum(x) + np.sum(z)


def return_in_else(x, tb):
    acc = x
    for i in range(3):
        if tb < 0.1 * i:
            acc = acc * 2.0
        else:
            return np.sum(acc * x)
        acc = acc + 1.0
    return np.sum(acc)


@pytest.mark.parametrize("tb", [0.6, 0.15, -0.5])
def test_return_from_inner_loop_leaves_both_loops(tb):
    check_first_order(nested_search, np.array([0.3, -0.4]), tb)
    check_second_order(nested_search, np.array([0.3, -0.4]), tb)


@pytest.mark.parametrize("tb", [0.6, 0.15, -0.5])
def test_return_in_the_else_branch_of_a_loop_body(tb):
    check_first_order(return_in_else, np.array([0.3, -0.4]), tb)


def test_the_value_returned_is_the_one_at_the_return():
    # the loop index moves on after the break that lowers the return; the value may not
    def indexed(x):
        for i in range(4):
            if x[i] > 0.5:
                return x[i] * i
        return x[0]

    check_first_order(indexed, np.array([0.1, 0.2, 0.7, 0.9]))


# ----------------------------------------------- names first assigned in one branch only
def scale_by_case(x, tb):
    """`z` is bound only when tb > 0, and read only then."""
    if tb > 0:
        z = x * 2.0
    if tb > 0.5:
        z = np.sin(x) * 3.0
    if tb > 0:
        return np.sum(z * x)
    return np.sum(x)


def last_hit(x, tb):
    found = False
    for i in range(3):
        if tb > 0.1 * i:
            z = x * (i + 1.0)
            found = True
        if tb > 0.5:
            z = x * 3.0
            found = True
    if found:
        return np.sum(z * x)
    return np.sum(x)


def last_hit_then_refine(x, tb):
    for i in range(3):
        if tb > 0.1 * i:
            z = x * (i + 1.0)
    if tb > 0.5:
        z = z * x
    return np.sum(z * x)


@pytest.mark.parametrize("tb", [0.6, 0.3, -0.5])
def test_name_bound_in_one_branch_then_copied_by_another(tb):
    check_first_order(scale_by_case, np.array([0.3, -0.4]), tb)


@pytest.mark.parametrize("tb", [0.6, 0.15, 0.05])
def test_name_bound_in_a_loop_branch_then_updated_after_the_loop(tb):
    check_first_order(last_hit_then_refine, np.array([0.3, -0.4]), tb)


@pytest.mark.parametrize("tb", [0.6, 0.15, -0.5])
def test_name_bound_in_a_loop_branch_forward_mode(tb):
    # the value of an earlier iteration persists into the next one: forward mode follows
    # it; reverse mode cannot restore it and says where
    x = np.array([0.3, -0.4])
    expected = numerical_grad(last_hit, (x, tb), wrt=0)
    value, tangent = tangent_src.jvp(last_hit, (x, tb), (np.ones(2), 0.0))
    np.testing.assert_allclose(value, last_hit(x, tb), rtol=1e-12)
    np.testing.assert_allclose(tangent, np.sum(expected), rtol=RTOL, atol=ATOL)
    with pytest.raises(TangentError, match="test_early_return_loops.py:[0-9]+"):
        tangent_src.grad(last_hit)(x, tb)
