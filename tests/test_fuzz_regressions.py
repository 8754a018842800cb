"""Programs the differential fuzzer (tests/fuzzgen.py) reduced to their smallest failing
form, each checked against central finite differences."""
import numpy as np
from fdcheck import numerical_grad

import tangent_src


def rows_of_a_loop_value(x):
    for _ in range(2):
        y = np.reshape(x, (1, 2))
    acc = 0.0
    for row in y:
        acc = acc + np.sum(np.tanh(row))
    return acc


def write_of_a_row_reduction(x):
    x[1] = np.tanh(np.sum(x, axis=0) ** 2)
    return np.sum(x)


def test_rows_of_a_value_first_assigned_in_a_loop():
    # the adjoint of y started as the float 0.0, which add_at cannot index (a crash)
    x = np.array([0.3, 0.4])
    np.testing.assert_allclose(tangent_src.grad(rows_of_a_loop_value)(x),
                               numerical_grad(rows_of_a_loop_value, (x,)), rtol=1e-6, atol=1e-8)


def test_write_of_a_reduced_value_into_a_row():
    # the adjoint of the written value was summed as if it had the whole array's shape
    x = np.array([[-0.16, -0.24], [0.77, 0.42]])
    expected = numerical_grad(write_of_a_row_reduction, (x,))
    np.testing.assert_allclose(tangent_src.grad(write_of_a_row_reduction)(x.copy()),
                               expected, rtol=1e-6, atol=1e-8)
    _, tangent = tangent_src.jvp(write_of_a_row_reduction, (x.copy(),), (np.ones((2, 2)),))
    np.testing.assert_allclose(tangent, np.sum(expected), rtol=1e-6)


def modulus_of_complex_arithmetic(x):
    z = x * x + 1j * x
    return np.sum(np.abs(z))


def test_complex_constant_meeting_a_differentiated_value_is_differentiated_correctly():
    # was a complex gradient (reverse) with no error; the real part alone is also wrong.
    # Complex arithmetic through audited rules (docs/conventions.md) now gives the
    # finite-difference value in both modes
    x = np.array([2.0, -1.0])
    expected = numerical_grad(modulus_of_complex_arithmetic, (x,))
    got = tangent_src.grad(modulus_of_complex_arithmetic)(x)
    assert not np.iscomplexobj(got)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    _, tangent = tangent_src.jvp(modulus_of_complex_arithmetic, (x,), (x,))
    np.testing.assert_allclose(tangent, expected @ x, rtol=1e-6)



def default_captured_before_a_rebinding(y):
    a = 0.5
    g = lambda z, c=a: np.tanh(z + c)  # noqa: E731 - the lambda under test
    a = a + 1.0
    return np.sum(g(y) * a)


def test_a_nested_default_is_evaluated_where_the_def_runs():
    # the default was evaluated where the call was expanded: c = 1.5 instead of 0.5
    y = np.array([0.2, -0.4])
    expected = numerical_grad(default_captured_before_a_rebinding, (y,))
    np.testing.assert_allclose(default_captured_before_a_rebinding(y),
                               np.sum(np.tanh(y + 0.5) * 1.5))
    value, grad = tangent_src.value_and_grad(default_captured_before_a_rebinding)(y)
    np.testing.assert_allclose(value, default_captured_before_a_rebinding(y))
    np.testing.assert_allclose(grad, expected, rtol=1e-6, atol=1e-8)
    _, tangent = tangent_src.jvp(default_captured_before_a_rebinding, (y,), (np.ones(2),))
    np.testing.assert_allclose(tangent, np.sum(expected), rtol=1e-6)


def power_of_a_negative_literal(x):
    scale = (-0.45) ** 2
    return x * scale + (-2.0) ** 3 + (-1) ** 2 * x


def test_a_folded_negative_base_keeps_its_parentheses():
    # fuzz seed 24480: the folded constant -0.45 was printed bare, so `(-0.45) ** 2` came out
    # as `-0.45 ** 2` (= -0.2025) and the value of value_and_grad had the wrong sign
    x = 0.7
    value, slope = tangent_src.value_and_grad(power_of_a_negative_literal)(x)
    assert value == power_of_a_negative_literal(x)
    np.testing.assert_allclose(slope, numerical_grad(power_of_a_negative_literal, (x,)),
                               rtol=1e-8)
    primal, tangent = tangent_src.jvp(power_of_a_negative_literal, (x,), (1.0,))
    assert primal == power_of_a_negative_literal(x)
    np.testing.assert_allclose(tangent, 0.2025 + 1.0, rtol=1e-12)
