"""Nothing is treated as a constant unless a rule says so (issue 10, case 5).

Every operation into which a differentiated value flows either has a derivative (checked
here against central finite differences, in reverse and forward mode) or is refused with a
located NoDerivativeRuleError / UnsupportedSyntaxError -- never a silent zero. The
inactive uses of the same constructs (np.r_ of constants, np.ogrid, shape queries) still
work.
"""
from __future__ import annotations

import functools
import math
import operator

import numpy as np
import pytest
from fdcheck import assert_grad_matches, numerical_grad

import tangent_src
from tangent_src.errors import NoDerivativeRuleError, TangentError, UnsupportedSyntaxError

X = np.array([1.2, -0.7, 2.3])


def check_both_modes(f, x=X, rtol=1e-6, atol=1e-8):
    """Reverse mode vs finite differences, and forward mode along every basis direction."""
    expected = numerical_grad(f, (x.copy(),))
    assert_grad_matches(f, (x.copy(),), rtol=rtol, atol=atol)
    for k in range(x.size):
        direction = np.zeros_like(x)
        direction[k] = 1.0
        _, slope = tangent_src.jvp(f, (x.copy(),), (direction,))
        np.testing.assert_allclose(slope, expected[k], rtol=rtol, atol=atol,
                                   err_msg=f"forward mode, direction {k}")
    return expected


def refused_in_both_modes(f, kind=NoDerivativeRuleError, x=X):
    """The gradient and the tangent are refused with a located error; returns one."""
    with pytest.raises(kind) as reverse:
        tangent_src.grad(f)(x.copy())
    with pytest.raises(kind):
        tangent_src.jvp(f, (x.copy(),), (np.ones_like(x),))
    error = reverse.value
    assert error.filename == __file__
    assert error.lineno > 0
    return error


# -- np.r_ and np.c_ --------------------------------------------------------------------

def r_of_the_issue(x):
    return np.sum(np.r_[x, x] ** 2)


def test_r_of_the_issue():
    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(tangent_src.grad(r_of_the_issue)(x), [4.0, 8.0])
    check_both_modes(r_of_the_issue)


def c_of_columns(x):
    cols = np.c_[x, 2.0 * x, np.sin(x)]
    return np.sum(cols @ np.array([1.0, -0.5, 3.0]) ** 2) + np.sum(cols[:, 2] * cols[:, 0])


def test_c_builds_columns():
    check_both_modes(c_of_columns)


def r_with_slices_scalars_and_lists(x):
    head = x[0]
    padded = np.r_[head, 0:3, x * x, [1.5, head], -1.0]
    weights = np.linspace(0.5, 2.0, padded.shape[0])
    return np.sum(weights * padded ** 2)


def test_r_with_slices_scalars_and_lists():
    check_both_modes(r_with_slices_scalars_and_lists)


def r_with_directives(x):
    rows = np.r_["0,2", x, np.cos(x)]            # stacked as rows
    cols = np.r_["-1,2,0", x, x ** 3]            # as columns
    flat = np.r_["-1", x[:2], x[1:]]
    return np.sum(rows @ cols) + np.sum(flat * np.arange(4.0))


def test_r_with_directives():
    check_both_modes(r_with_directives)


def layers_joined_with_r(params, x):
    h = x
    outs = []
    for W in params:
        h = np.tanh(W @ h)
        outs.append(np.sum(h))
    summary = np.r_[h, np.mean(h)]
    return np.sum(summary ** 2) + outs[0]


def test_r_in_a_layer_loop_over_params():
    rng = np.random.default_rng(0)
    params = [rng.normal(size=(3, 3)) * 0.5 for _ in range(2)]
    assert_grad_matches(layers_joined_with_r, (params, X.copy()), wrt=1)
    expected = numerical_grad(layers_joined_with_r, (params, X.copy()), wrt=1)
    for k in range(3):
        direction = np.eye(3)[k]
        still = [np.zeros_like(W) for W in params]
        _, slope = tangent_src.jvp(layers_joined_with_r, (params, X.copy()), (still, direction))
        np.testing.assert_allclose(slope, expected[k], rtol=1e-6, atol=1e-8)


def test_second_derivative_through_r():
    """Hand-derived: padded = [x0, 0, 1, 2, x0^2, x1^2, x2^2, 1.5, x0, -1], f = sum w p^2."""
    hess = tangent_src.hessian(r_with_slices_scalars_and_lists)(X.copy())
    w = np.linspace(0.5, 2.0, 10)
    expected = np.diag([2.0 * w[0] + 2.0 * w[8] + 12.0 * w[4] * X[0] ** 2,
                        12.0 * w[5] * X[1] ** 2, 12.0 * w[6] * X[2] ** 2])
    np.testing.assert_allclose(hess, expected, rtol=1e-10)


def r_building_a_matrix(x):
    return np.sum(np.r_["r", x, x])


def test_r_matrix_directive_is_refused():
    error = refused_in_both_modes(r_building_a_matrix, UnsupportedSyntaxError)
    assert "np.matrix" in str(error)


def constant_tables(x):
    knots = np.r_[0.0, 0.5:2.0:0.5, 3.0]
    grid_x, grid_y = np.ogrid[0:2, 0:3]
    dense = np.mgrid[0:2, 0:3]
    counts = np.arange(x.shape[0]) + len(x) + x.ndim + x.size
    scale = np.sum(grid_x * grid_y) + np.sum(dense) + np.sum(counts) + x.itemsize + \
        x.strides[0]
    return np.sum(knots[:3] * x) * scale + np.sum(x[np.index_exp[1:]]) + np.sum(x[np.s_[::2]])


def test_inactive_uses_still_work():
    check_both_modes(constant_tables)


# -- subscripts with a varying index of an object without a rule ---------------------------

TABLE = np.array([10.0, 20.0, 30.0, 40.0])


def bucket(v):
    return min(int(v), 3)


def bucket_clamped(v):
    if v > 3.0:  # a branch: called as a forward/backward pair, not inlined
        return 3
    return int(v)


def table_at_varying_index(x):
    return TABLE[bucket_clamped(x[2])] * x[0]


def table_at_inlined_index(x):
    return TABLE[bucket(x[2])] * x[0]


def table_at_integer_index(x):
    return TABLE[int(bucket(x[2]))] * x[0]


def test_constant_table_at_a_varying_index_is_refused():
    error = refused_in_both_modes(table_at_varying_index)
    assert "TABLE" in error.construct
    assert "int(" in error.hint


def test_constant_table_at_an_integer_index():
    check_both_modes(table_at_integer_index)


def test_constant_table_at_an_index_a_small_inlined_helper_computes():
    # bucket is inlined into first-order code, where int(...) shows the index is constant
    check_both_modes(table_at_inlined_index)


# -- attributes of varying arrays ------------------------------------------------------------

def first_of_flat(x):
    return x.flat[0] * np.sum(x)


def imaginary_part(x):
    return np.sum(x.imag + x)


def through_base(x):
    y = x[1:]
    return np.sum(y.base)


def through_data(x):
    return np.sum(np.asarray(x.data) * x)


@pytest.mark.parametrize("f", [first_of_flat, through_base, through_data])
def test_array_attribute_without_a_rule_is_refused(f):
    error = refused_in_both_modes(f)
    assert error.construct.startswith(".")
    assert "tangent_src.adjoint" in error.hint


def real_and_transposed(x):
    m = np.outer(x, x[::-1])
    return np.sum(m.real * m.T) + np.sum(x.real ** 3)


def test_real_and_T_are_differentiated():
    check_both_modes(real_and_transposed)


def test_imag_is_differentiated():
    """`x.imag` lowers to np.imag(x) (a constant zero for a real x; docs/conventions.md)."""
    check_both_modes(imaginary_part)


# -- and / or return one of their operands -----------------------------------------------------

def either(x, gate=1.0):
    first = x[0] * gate              # falsy (0.0) for every x when gate is 0.0
    second = x[1]
    chosen = first or second
    both = first and second
    return chosen * 3.0 + both * 5.0 + second


def either_closed(x):
    return either(x, 0.0)


def test_and_or_follow_the_operand_they_return():
    np.testing.assert_allclose(check_both_modes(either), [3.0, 6.0, 0.0], rtol=1e-6)
    np.testing.assert_allclose(check_both_modes(either_closed), [0.0, 4.0, 0.0], atol=1e-6)


# -- methods and library functions without rules ----------------------------------------------

def method_astype(x):
    return np.sum(x.astype(np.float32))


def method_view(x):
    return np.sum(x.view())


def method_tolist(x):
    return sum(x.tolist())


def method_item(x):
    return x[0].item() * x[1]


@pytest.mark.parametrize("f", [method_astype, method_view, method_tolist, method_item])
def test_array_methods_without_a_rule_are_refused(f):
    refused_in_both_modes(f, TangentError)


def with_math_fsum(x):
    return math.fsum([x[0], x[1]])


def with_reduce(x):
    return functools.reduce(operator.add, [x[0], x[1]])


def with_sorted(x):
    return sorted([x[0], x[1]])[0]


def with_divmod(x):
    return divmod(x[0], 1.0)[1]


def with_apply_along_axis(x):
    return np.sum(np.apply_along_axis(np.cumsum, 0, x))


SQUARE = np.vectorize(lambda t: t * t)


def with_vectorize(x):
    return np.sum(SQUARE(x))


class Scaler:
    def __init__(self, factor):
        self.factor = factor

    def __call__(self, v):
        return v * self.factor


SCALE = Scaler(2.0)


def with_unknown_callable(x):
    return np.sum(SCALE(x))


def with_unknown_class(x):
    return np.sum(Scaler(x).factor)


@pytest.mark.parametrize("f", [with_math_fsum, with_reduce, with_sorted,
                               with_divmod, with_apply_along_axis, with_vectorize,
                               with_unknown_callable, with_unknown_class])
def test_library_calls_without_a_rule_are_refused(f):
    error = refused_in_both_modes(f)
    assert "tangent_src.adjoint" in error.hint


def conversions(x):
    scale = float(x[0])
    steps = int(x[2]) + round(x[1])
    return scale * x[1] + steps * x[2] + abs(x[1]) + max(x[0], x[2]) + sum(x)


def test_float_keeps_the_derivative_int_and_round_are_explicitly_zero():
    grad = check_both_modes(conversions)
    # float(x0) * x1: x1 + ...; int(x2) + round(x1) contribute nothing through themselves
    np.testing.assert_allclose(grad[0], X[1] + 1.0, rtol=1e-6)


# -- nondifferentiable registrations also hold when a user function is inlined -----------------

def frozen_scale(v):
    return 2.0 * v


tangent_src.nondifferentiable(frozen_scale)  # the user declares: no gradient through it


def with_frozen_scale(x):
    return np.sum(x ** 3) * frozen_scale(x[0])


def test_nondifferentiable_user_function_is_not_inlined_into_higher_derivatives():
    """standalone_source(order=2) inlines user functions into the generated gradient; a
    function registered as nondifferentiable must stay a constant there too."""
    expected = np.diag(6.0 * X) * frozen_scale(X[0])
    np.testing.assert_allclose(tangent_src.hessian(with_frozen_scale)(X.copy()), expected,
                               rtol=1e-10)
    module = {}
    exec(compile(tangent_src.standalone_source(with_frozen_scale, order=2), "<hessian>",
                 "exec"), module)
    rows = [module["ddwith_frozen_scale"](X.copy(), 1.0, e) for e in np.eye(3)]
    np.testing.assert_allclose(np.array(rows), expected, rtol=1e-10)


# -- a field named like array metadata is a field of a parameter-holder object ------------------

class Blob:
    def __init__(self, size, weights):
        self.size = size          # a parameter, not the array metadata x.size
        self.weights = weights


def blob_loss(blob, x):
    n = x.size                    # metadata: constant
    return blob.size * np.sum(blob.weights * x) * n + blob.size ** 2


def test_object_field_named_size_is_differentiated():
    blob = Blob(2.0, np.array([1.0, -2.0, 0.5]))
    grad = tangent_src.grad(blob_loss)(blob, X.copy())
    expected_size = np.sum(blob.weights * X) * 3 + 2.0 * blob.size
    np.testing.assert_allclose(grad["size"], expected_size, rtol=1e-12)
    np.testing.assert_allclose(grad["weights"], blob.size * X * 3, rtol=1e-12)
    tangent = {"size": 1.0, "weights": np.zeros(3)}
    _, slope = tangent_src.jvp(blob_loss, (blob, X.copy()), (tangent, np.zeros(3)))
    np.testing.assert_allclose(slope, expected_size, rtol=1e-12)


# -- constructors filled from differentiated values (once nondifferentiable as a whole) --------

def filled(x):
    ones = np.full(3, x[0])
    table = np.full((2, 3), x)                       # an array fill value, broadcast
    same = np.full_like(x, x[1])
    return np.sum(ones * x) + np.sum(table * np.arange(6.0).reshape(2, 3)) + np.sum(same ** 2)


def test_full_and_full_like_are_linear_in_the_fill_value():
    check_both_modes(filled)


def ramps(x):
    grid = np.linspace(x[0], x[1], 5)
    fans = np.linspace(x[0], x, 4, endpoint=False)   # array stop: one ramp per entry
    return np.sum(grid ** 2) + np.sum(fans ** 3)


def test_linspace_is_affine_in_start_and_stop():
    check_both_modes(ramps)
    # hand-derived second derivatives of sum(linspace(a, b, 5) ** 2): 2 sum [(1-t)^2, ...]
    t = np.linspace(0.0, 1.0, 5)

    def grid_only(x):
        return np.sum(np.linspace(x[0], x[1], 5) ** 2)

    hess = tangent_src.hessian(grid_only)(X.copy())
    expected = np.zeros((3, 3))
    expected[:2, :2] = 2.0 * np.array([[np.sum((1 - t) ** 2), np.sum((1 - t) * t)],
                                       [np.sum((1 - t) * t), np.sum(t ** 2)]])
    np.testing.assert_allclose(hess, expected, rtol=1e-12)


def stepped(x):
    steps = np.arange(x[0], 4.0, x[2] + 0.05)        # start + k * step
    counted = np.arange(len(x)) * x                   # integer arange: a constant
    only_stop = np.arange(x[1]) * x[0]               # np.arange(stop): no value moves
    return np.sum(steps ** 2) + np.sum(counted) + np.sum(only_stop)


def test_arange_is_start_plus_k_step():
    check_both_modes(stepped)
