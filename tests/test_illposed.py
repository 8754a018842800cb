"""Ill-posed requests raise NotDifferentiableError (a TangentError) with a useful message."""
from __future__ import annotations

import re

import numpy as np
import pytest

import tangent_src
from tangent_src.errors import NotDifferentiableError, TangentError


def two_inputs(alpha, beta):
    return np.sum(np.sin(alpha) * beta)


def scalar_inputs(alpha, beta):
    return alpha * beta + alpha


def vector_valued(x):
    return np.sin(x) * 2.0


def returns_pair(x):
    return np.sum(x * x), x * 2.0


def returns_scalar_pair(x):
    return x * x, x + 1.0


def test_not_differentiable_error_is_a_tangent_error():
    assert issubclass(NotDifferentiableError, TangentError)


# --------------------------------------------------------------------------- jvp tangent shapes
def _names(message, name, index):
    return name in message or re.search(rf"\b{index}\b", message) is not None


def test_jvp_tangent_shape_mismatch_second_argument():
    alpha, beta = np.array([0.1, 0.2, 0.3]), np.array([1.0, -1.0, 0.5])
    with pytest.raises(NotDifferentiableError) as info:
        tangent_src.jvp(two_inputs, (alpha, beta), (np.ones(3), np.ones(4)))
    assert _names(str(info.value), "beta", 1), str(info.value)


def test_jvp_tangent_shape_mismatch_first_argument():
    alpha, beta = np.ones((2, 3)), 0.5
    with pytest.raises(NotDifferentiableError) as info:
        tangent_src.jvp(two_inputs, (alpha, beta), (np.ones((3, 2)), 0.0))
    assert _names(str(info.value), "alpha", 0), str(info.value)


def test_jvp_array_tangent_for_scalar_primal():
    with pytest.raises(NotDifferentiableError) as info:
        tangent_src.jvp(scalar_inputs, (0.5, 2.0), (1.0, np.ones(3)))
    assert _names(str(info.value), "beta", 1), str(info.value)


def test_jvp_scalar_tangent_for_array_primal():
    with pytest.raises(NotDifferentiableError) as info:
        tangent_src.jvp(two_inputs, (np.ones(3), np.ones(3)), (1.0, np.ones(3)))
    assert _names(str(info.value), "alpha", 0), str(info.value)


# --------------------------------------------------------------------------- jvp tuple lengths
@pytest.mark.parametrize(("primals", "tangents"), [
    pytest.param((0.5, 2.0), (1.0,), id="fewer_tangents"),
    pytest.param((0.5,), (1.0, 0.0), id="more_tangents"),
    pytest.param((0.5, 2.0), (), id="no_tangents"),
])
def test_jvp_primals_and_tangents_of_different_length(primals, tangents):
    with pytest.raises(NotDifferentiableError):
        tangent_src.jvp(scalar_inputs, primals, tangents)


# --------------------------------------------------------------------------- hessian
def test_hessian_of_vector_valued_function():
    x = np.array([0.3, -0.2, 0.9])
    with pytest.raises(NotDifferentiableError):
        tangent_src.hessian(vector_valued)(x)


def test_hessian_of_tuple_valued_function():
    with pytest.raises(NotDifferentiableError):
        tangent_src.hessian(returns_scalar_pair)(0.4)


# --------------------------------------------------------------------------- grad of a tuple
def _mentions_tuple(message):
    return "has_aux" in message or "tuple" in message


def test_grad_of_function_returning_tuple():
    with pytest.raises(NotDifferentiableError) as info:
        tangent_src.grad(returns_pair)(np.array([0.3, -0.2, 0.9]))
    assert _mentions_tuple(str(info.value)), str(info.value)


def test_grad_of_function_returning_tuple_of_scalars():
    with pytest.raises(NotDifferentiableError) as info:
        tangent_src.grad(returns_scalar_pair)(0.4)
    assert _mentions_tuple(str(info.value)), str(info.value)


def test_value_and_grad_of_function_returning_tuple():
    with pytest.raises(NotDifferentiableError) as info:
        tangent_src.value_and_grad(returns_scalar_pair)(0.4)
    assert _mentions_tuple(str(info.value)), str(info.value)
