"""Reverse-mode gradients of a corpus of small functions, checked by finite differences.

The corpus is importable (``from test_reverse_corpus import CORPUS``) so that the same
functions can be run in forward mode or under numba. Every entry is a ``Case`` whose
``make_args()`` returns a fresh tuple of float64 inputs (Python floats or ndarrays), drawn
from a ``np.random.default_rng`` seeded from the case name, at points away from kinks
(``abs`` at 0, ties in ``max``) and away from branch thresholds.
"""
from __future__ import annotations

import math
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from fdcheck import assert_grad_matches, assert_grads_close, normal, numerical_grad, uniform

import tangent_src


@dataclass(frozen=True)
class Case:
    """One corpus entry: a function, a factory of fresh inputs, and what to differentiate."""

    name: str
    func: Callable
    make_args: Callable[[], tuple]
    wrt: int | str | tuple = 0
    tags: tuple[str, ...] = field(default=())


CORPUS: list[Case] = []






def const(value):
    """Spec of a fixed value (a fresh copy every time)."""
    def draw(rng):
        if np.ndim(value) == 0:
            return float(value)
        return np.array(value, dtype=np.float64)
    return draw


def args_factory(seed, *specs):
    """A make_args() that draws every spec from a fresh rng seeded with `seed`."""
    def make_args():
        rng = np.random.default_rng(seed)
        return tuple(spec(rng) for spec in specs)
    return make_args


def case(func, *specs, wrt=0, tags=(), name=None):
    """Register `func` in CORPUS with inputs drawn from `specs`."""
    name = name or func.__name__
    seed = zlib.crc32(name.encode())
    CORPUS.append(Case(name, func, args_factory(seed, *specs), wrt, tuple(tags)))


# --------------------------------------------------------------------------- globals
SCALE = 2.5
OFFSET = -0.75
N_STEPS = 3
WEIGHTS = np.array([0.5, -1.25, 2.0])
MATRIX = np.array([[1.0, -0.5, 0.25], [0.3, 0.8, -1.1]])
TARGET = np.array([0.2, -0.4])


# --------------------------------------------------------------------------- helpers
def helper_square_plus(x):
    """x**2 + x."""
    return x * x + x


def helper_poly(x, a=2.0):
    """A cubic with a default coefficient."""
    return a * x ** 3 - x


def helper_softplus(x):
    """log(1 + exp(x))."""
    return np.log(1.0 + np.exp(x))


def helper_layer(W, x):
    """tanh(W x)."""
    return np.tanh(np.dot(W, x))


def helper_piecewise(x):
    """A helper with a branch and two returns."""
    if x > 0.0:
        return x * x
    return -0.5 * x


def helper_outer(x):
    """A helper that calls other helpers."""
    return helper_square_plus(x) * helper_poly(x)


def helper_pair(x, y):
    """A helper returning a tuple."""
    return x * y, x - y


# --------------------------------------------------------------------------- arithmetic
def arith_add_mul(x, y):
    return x * y + x - y


case(arith_add_mul, normal(), normal(), wrt=0, tags=("arith",))
case(arith_add_mul, normal(), normal(), wrt=1, tags=("arith",), name="arith_add_mul_wrt_y")


def arith_div(x, y):
    return x / y + y / (1.0 + x * x)


case(arith_div, normal(), uniform(0.5, 2.0), wrt=(0, 1), tags=("arith",))


def arith_pow_const(x):
    return x ** 3 + 2.0 * x ** 2 - 0.5 * x ** -1


case(arith_pow_const, uniform(0.5, 2.0), tags=("arith",))


def arith_pow_var(x, y):
    return x ** y


case(arith_pow_var, uniform(0.5, 2.0), uniform(-1.5, 1.5), wrt=(0, 1), tags=("arith",))


def arith_unary(x, y):
    return -x * -y + (+x) - (-(y * y))


case(arith_unary, normal(), normal(), wrt=(0, 1), tags=("arith", "unary"))


def arith_assign_chain(x, y):
    a = x * 2.0
    b = a + y
    c = b * a
    d = c - b / (1.0 + a * a)
    return d


case(arith_assign_chain, normal(), normal(), wrt=(0, 1), tags=("arith", "assign"))


def arith_augassign(x, y):
    z = x
    z += y
    z *= x
    z -= 3.0
    z /= y
    return z


case(arith_augassign, normal(), uniform(0.5, 2.0), wrt=(0, 1), tags=("augassign",))


def arith_augassign_array(x, y):
    z = x * 1.0
    z += y
    z *= x
    z -= 0.5
    z /= y
    return np.sum(z)


case(arith_augassign_array, normal(4), uniform(0.5, 2.0, 4), wrt=(0, 1),
     tags=("augassign", "numpy"))


def arith_augassign_elements(x):
    s = 0.0
    s += x[0]
    s -= 2.0 * x[1]
    s *= x[2]
    s /= 1.5 + x[3] * x[3]
    return s


case(arith_augassign_elements, normal(4), tags=("augassign", "index"))


def arith_unary_array(x, y):
    return np.sum(-x * +y) + np.sum(-(x * x))


case(arith_unary_array, normal(5), normal(5), wrt=(0, 1), tags=("unary", "numpy"))


def arith_pow_array(x):
    return np.sum(x ** 2.0) + np.sum(x ** 3)


case(arith_pow_array, normal(5), tags=("arith", "numpy"))


# --------------------------------------------------------------------------- tuple unpacking
def unpack_tuple(x, y):
    a, b = x * y, x + y
    return a * b


case(unpack_tuple, normal(), normal(), wrt=(0, 1), tags=("unpack",))


def unpack_swap(x, y):
    a, b = x, y
    a, b = b, a * b
    return a + b * b


case(unpack_swap, normal(), normal(), wrt=(0, 1), tags=("unpack",))


def unpack_from_helper(x, y):
    p, q = helper_pair(x, y)
    return p * q + q


case(unpack_from_helper, normal(), normal(), wrt=(0, 1), tags=("unpack", "call"))


# --------------------------------------------------------------------------- matmul operator
def matmul_op_vec(A, x):
    return np.sum(np.tanh(A @ x))


case(matmul_op_vec, normal(3, 4), normal(4), wrt=(0, 1), tags=("matmul",))


def matmul_op_mat(A, B):
    C = A @ B
    return np.sum(C * C)


case(matmul_op_mat, normal(3, 4), normal(4, 2), wrt=(0, 1), tags=("matmul",))


def matmul_quadratic_form(x, A):
    return x @ A @ x


case(matmul_quadratic_form, normal(3), normal(3, 3), wrt=(0, 1), tags=("matmul",))


# --------------------------------------------------------------------------- broadcasting
def bcast_scalar_array(s, x):
    return np.sum(s * x + s) + np.sum(x / s)


case(bcast_scalar_array, uniform(0.5, 2.0), normal(3), wrt=(0, 1), tags=("broadcast",))


def bcast_row(x, y):
    return np.sum(np.sin(x + y))


case(bcast_row, normal(3, 4), normal(4), wrt=(0, 1), tags=("broadcast",))


def bcast_outer(a, b):
    return np.sum((a * b) ** 2)


case(bcast_outer, normal(3, 1), normal(1, 4), wrt=(0, 1), tags=("broadcast",))


def bcast_column_div(x, y):
    return np.sum(np.cos(x) / y)


case(bcast_column_div, normal(3, 4), uniform(0.5, 2.0, 3, 1), wrt=(0, 1), tags=("broadcast",))


def bcast_3d(x, y):
    return np.sum(np.tanh(x - y) * x)


case(bcast_3d, normal(2, 3, 4), normal(3, 1), wrt=(0, 1), tags=("broadcast",))


def bcast_scalar_minus_array(s, x):
    return np.sum((1.0 - s * x) ** 2)


case(bcast_scalar_minus_array, normal(), normal(2, 3), wrt=0, tags=("broadcast",))


def bcast_global(x):
    return np.sum(x * WEIGHTS) + np.sum(np.dot(MATRIX, WEIGHTS) * x[:, 0] ** 2)


case(bcast_global, normal(2, 3), tags=("broadcast", "global", "index"))


# --------------------------------------------------------------------------- builtins
def builtin_abs(x, y):
    return abs(x) * y + abs(y - 1.0)


case(builtin_abs, const(-0.8), const(1.7), wrt=(0, 1), tags=("builtin",))
case(builtin_abs, const(1.3), const(0.4), wrt=(0, 1), tags=("builtin",),
     name="builtin_abs_other_signs")


def builtin_min_max(x, y):
    return max(x, y) * min(x, 2.0 * y)


case(builtin_min_max, const(0.9), const(0.6), wrt=(0, 1), tags=("builtin",))
case(builtin_min_max, const(-0.3), const(1.1), wrt=(0, 1), tags=("builtin",),
     name="builtin_min_max_other_order")


def builtin_max_const(x, y):
    return max(x, 0.0) + min(y, 1.0) * x


case(builtin_max_const, const(0.7), const(0.3), wrt=(0, 1), tags=("builtin",))


# --------------------------------------------------------------------------- math module
def math_exp_log(x, y):
    return math.exp(x) + math.log(y) * x


case(math_exp_log, normal(), uniform(0.5, 2.0), wrt=(0, 1), tags=("math",))


def math_trig(x, y):
    return math.sin(x) * math.cos(y)


case(math_trig, normal(), normal(), wrt=(0, 1), tags=("math",))


def math_tanh_sqrt(x, y):
    return math.tanh(x) + math.sqrt(y) * x


case(math_tanh_sqrt, normal(), uniform(0.5, 2.0), wrt=(0, 1), tags=("math",))


def math_composite(x, y):
    return math.exp(math.sin(x)) / math.sqrt(1.0 + y * y)


case(math_composite, normal(), normal(), wrt=(0, 1), tags=("math", "nested"))


# --------------------------------------------------------------------------- numpy elementwise
def np_exp_log(x, y):
    return np.sum(np.exp(x) * np.log(y))


case(np_exp_log, normal(4), uniform(0.5, 2.0, 4), wrt=(0, 1), tags=("numpy",))


def np_trig(x):
    return np.sum(np.sin(x) * np.cos(x) + np.tan(x) * x)


case(np_trig, uniform(-1.0, 1.0, 5), tags=("numpy",))


def np_tanh_sqrt(x, y):
    return np.sum(np.tanh(x) * np.sqrt(y))


case(np_tanh_sqrt, normal(4), uniform(0.5, 2.0, 4), wrt=(0, 1), tags=("numpy",))


def np_square_abs(x):
    return np.sum(np.square(x) + 2.0 * np.abs(x))


case(np_square_abs, const([0.5, -1.2, 0.8, -0.3, 2.1]), tags=("numpy",))


def np_power_const(x):
    return np.sum(np.power(x, 3.0)) + np.sum(np.power(x, 2))


case(np_power_const, normal(5), tags=("numpy",))


def np_power_var(x, y):
    return np.sum(np.power(x, y))


case(np_power_var, uniform(0.5, 2.0, 4), uniform(-1.5, 1.5, 4), wrt=(0, 1), tags=("numpy",))


def np_on_floats(x, y):
    return np.exp(x) * np.sin(y) + np.sqrt(1.0 + np.square(x))


case(np_on_floats, normal(), normal(), wrt=(0, 1), tags=("numpy",))


def np_maximum_minimum(x, y):
    return np.sum(np.maximum(x, y) + np.minimum(x, 0.5) * y)


case(np_maximum_minimum, const([0.1, -0.7, 1.4, 0.9, -1.5]), const([0.6, -1.1, 0.3, 1.8, 0.2]),
     wrt=(0, 1), tags=("numpy",))


def np_relu(x, w):
    return np.sum(np.maximum(0.0, x) * w)


case(np_relu, const([0.4, -0.9, 1.3, -0.2, 0.7]), normal(5), wrt=(0, 1), tags=("numpy",))


def np_where(x, y):
    return np.sum(np.where(x > 0.0, x * y, y ** 2))


case(np_where, const([0.4, -0.9, 1.3, -0.2, 0.7]), normal(5), wrt=(0, 1), tags=("numpy",))


def np_leaky_relu(x):
    return np.sum(np.where(x > 0.0, x, 0.1 * x) ** 2)


case(np_leaky_relu, const([[0.4, -0.9, 1.3], [-0.2, 0.7, -1.6]]), tags=("numpy",))


# --------------------------------------------------------------------------- dot and reductions
def np_dot_vec(x, y):
    return np.dot(x, y) * np.dot(x, x)


case(np_dot_vec, normal(4), normal(4), wrt=(0, 1), tags=("dot",))


def np_dot_mat_vec(A, x):
    return np.sum(np.dot(A, x) ** 2)


case(np_dot_mat_vec, normal(3, 4), normal(4), wrt=(0, 1), tags=("dot",))


def np_dot_vec_mat(x, A):
    return np.sum(np.sin(np.dot(x, A)))


case(np_dot_vec_mat, normal(3), normal(3, 4), wrt=(0, 1), tags=("dot",))


def np_dot_mat_mat(A, B):
    return np.sum(np.tanh(np.dot(A, B)))


case(np_dot_mat_mat, normal(2, 3), normal(3, 4), wrt=(0, 1), tags=("dot",))


def np_matmul(A, B, C):
    return np.sum(np.matmul(A, B) * C)


case(np_matmul, normal(2, 3), normal(3, 4), normal(2, 4), wrt=(0, 1), tags=("matmul",))


def np_mean(x):
    return np.mean(x ** 2) + np.mean(np.sin(x))


case(np_mean, normal(3, 4), tags=("numpy", "reduce"))


def np_max_min(x):
    return np.max(x) - 2.0 * np.min(x) + np.max(np.exp(x))


case(np_max_min, normal(6), tags=("numpy", "reduce"))


# --------------------------------------------------------------------------- axis= and keepdims=
def axis_sum0(x):
    return np.sum(np.sum(x, axis=0) ** 2)


case(axis_sum0, normal(3, 4), tags=("axis",))


def axis_sum1_keepdims(x):
    return np.sum((x / np.sum(x, axis=1, keepdims=True)) ** 2)


case(axis_sum1_keepdims, uniform(0.5, 2.0, 3, 4), tags=("axis", "broadcast"))


def axis_mean(x, w):
    return np.sum(np.mean(x, axis=1) * w)


case(axis_mean, normal(3, 4), normal(3), wrt=(0, 1), tags=("axis",))


def axis_mean_keepdims(x):
    return np.sum((x - np.mean(x, axis=0, keepdims=True)) ** 2)


case(axis_mean_keepdims, normal(4, 3), tags=("axis", "broadcast"))


def axis_max(x):
    return np.sum(np.max(x, axis=1) ** 2)


case(axis_max, normal(3, 4), tags=("axis",))


def axis_min_keepdims(x):
    return np.sum(np.exp(np.min(x, axis=0, keepdims=True) - x))


case(axis_min_keepdims, normal(3, 4), tags=("axis", "broadcast"))


def axis_logsumexp(x):
    m = np.max(x, axis=1, keepdims=True)
    return np.sum(m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)))


case(axis_logsumexp, normal(3, 4), tags=("axis",))


def axis_negative(x):
    return np.sum(np.sum(x, axis=-1) ** 2) + np.sum(np.mean(x, axis=-2) ** 3)


case(axis_negative, normal(3, 4), tags=("axis",))


def axis_3d(x):
    return np.sum(np.max(np.sum(x, axis=2), axis=0) ** 2)


case(axis_3d, normal(2, 3, 4), tags=("axis",))


def axis_tuple(x):
    return np.sum(np.sum(x, axis=(0, 2)) ** 2)


case(axis_tuple, normal(2, 3, 4), tags=("axis",))


def axis_softmax_xent(x, t):
    m = np.max(x, axis=1, keepdims=True)
    e = np.exp(x - m)
    p = e / np.sum(e, axis=1, keepdims=True)
    return -np.sum(t * np.log(p))


case(axis_softmax_xent, normal(3, 4), uniform(0.0, 1.0, 3, 4), wrt=0, tags=("axis",))


# --------------------------------------------------------------------------- reshape, transpose
def np_reshape(x, y):
    return np.sum(np.dot(np.reshape(x, (3, 4)), y) ** 2)


case(np_reshape, normal(12), normal(4), wrt=(0, 1), tags=("shape",))


def np_reshape_minus_one(x):
    m = np.reshape(x, (2, -1))
    return np.sum(m[0] * m[1])


case(np_reshape_minus_one, normal(6), tags=("shape", "index"))


def np_transpose(x, y):
    return np.sum(np.sin(np.transpose(x)) * y)


case(np_transpose, normal(3, 4), normal(4, 3), wrt=(0, 1), tags=("shape",))


def np_transpose_axes(x):
    y = np.transpose(x, (1, 0, 2))
    return np.sum(y[0] ** 2) + np.sum(y[1] * y[2])


case(np_transpose_axes, normal(2, 3, 4), tags=("shape", "index"))


# --------------------------------------------------------------------------- indexing
def index_first_last(x):
    return x[0] * x[-1] + x[1] ** 2


case(index_first_last, normal(4), tags=("index",))


def index_slices(x):
    return np.sum(x[1:3] ** 2) + np.sum(x[:2] * x[2:4]) + np.sum(x[::2])


case(index_slices, normal(5), tags=("index",))


def index_columns(x):
    return np.sum(x[:, 0] * x[:, 1]) + np.sum(np.exp(x[:, -1]))


case(index_columns, normal(3, 4), tags=("index",))


def index_row_and_element(x):
    return np.sum(x[1] ** 2) + x[0, 2] * x[2, 0]


case(index_row_and_element, normal(3, 4), tags=("index",))


def index_repeated(x):
    return x[0] * x[0] + x[0] * x[1] + np.sum(x[0:2]) * x[0]


case(index_repeated, normal(3), tags=("index",))


def index_negative_slice(x):
    return np.sum(x[-3:] * x[:3])


case(index_negative_slice, normal(5), tags=("index",))


def index_block(x):
    return np.sum(x[1:, :2] ** 2)


case(index_block, normal(3, 4), tags=("index",))


# --------------------------------------------------------------------------- for loops
def loop_range1(x):
    s = 0.0
    for i in range(5):
        s = s * x + 1.0
    return s


case(loop_range1, normal(), tags=("loop",))


def loop_range2_power(x):
    s = 0.0
    for i in range(1, 4):
        s += x ** i / i
    return s


case(loop_range2_power, normal(), tags=("loop",))


def loop_range3_step(x):
    s = 0.0
    for i in range(0, 6, 2):
        s += x[i] * x[i + 1]
    return s


case(loop_range3_step, normal(6), tags=("loop", "index"))


def loop_range_negative_step(x):
    s = 0.0
    for i in range(len(x) - 1, -1, -1):
        s = s * 0.5 + np.sin(x[i])
    return s


case(loop_range_negative_step, normal(5), tags=("loop", "index"))


def loop_range_negative_step2(x):
    s = 1.0
    for i in range(5, 0, -2):
        s = s * x[i] + x[i - 1]
    return s


case(loop_range_negative_step2, normal(6), tags=("loop", "index"))


def loop_range_len(x, w):
    s = 0.0
    for i in range(len(x)):
        s += x[i] * w[i]
    return s * s


case(loop_range_len, normal(4), normal(4), wrt=(0, 1), tags=("loop", "index"))


def loop_range_shape(x, w):
    s = 0.0
    for i in range(x.shape[0]):
        s += np.tanh(np.sum(x[i] * w))
    return s


case(loop_range_shape, normal(3, 4), normal(4), wrt=(0, 1), tags=("loop", "index"))


def loop_over_rows(x, w):
    s = 0.0
    for row in x:
        s += np.tanh(np.dot(row, w))
    return s


case(loop_over_rows, normal(3, 4), normal(4), wrt=(0, 1), tags=("loop",))


def loop_over_elements(x):
    s = 0.0
    for v in x:
        s = s + v * v * s + v
    return s


case(loop_over_elements, normal(4, scale=0.5), tags=("loop",))


def loop_nested(x, y):
    s = 0.0
    for i in range(3):
        for j in range(i, 4):
            s += x[i] * y[j] * (j - i + 1)
    return s * s


case(loop_nested, normal(3), normal(4), wrt=(0, 1), tags=("loop", "index"))


def loop_product(x):
    p = 1.0
    for i in range(len(x)):
        p *= x[i]
    return p


case(loop_product, normal(5), tags=("loop", "augassign"))


def loop_recurrent(W, h):
    for i in range(N_STEPS):
        h = np.tanh(np.dot(W, h))
    return np.sum(h)


case(loop_recurrent, normal(4, 4, scale=0.5), normal(4), wrt=(0, 1), tags=("loop", "global"))


def loop_differences(x):
    n = len(x)
    s = 0.0
    for i in range(n - 1):
        s += (x[i + 1] - x[i]) ** 2
    return s


case(loop_differences, normal(6), tags=("loop", "index"))


def loop_empty_ranges(x):
    s = x * x
    for i in range(2, 2):
        s = s * 100.0
    for i in range(3, 0):
        s = s + 100.0
    return s


case(loop_empty_ranges, normal(), tags=("loop",))


def loop_array_accumulate(x):
    acc = x[0] * 0.0
    for i in range(1, 4):
        acc = acc + x[i] * x[i - 1]
    return np.sum(acc ** 2)


case(loop_array_accumulate, normal(4, 3), tags=("loop", "index"))


def loop_var_after_loop(x):
    s = 0.0
    for i in range(4):
        s += x * i
    return s * i


case(loop_var_after_loop, normal(), tags=("loop",))


# --------------------------------------------------------------------------- branches
def branch_if_else_return(x, y):
    if x > 0.0:
        return x * x * y
    else:
        return -x * y


case(branch_if_else_return, uniform(0.5, 2.0), normal(), wrt=(0, 1), tags=("branch", "return"))
case(branch_if_else_return, uniform(-2.0, -0.5), normal(), wrt=(0, 1), tags=("branch", "return"),
     name="branch_if_else_return_neg")


def branch_elif(x, y):
    if x < -1.0:
        z = x * y
    elif x < 1.0:
        z = x * x * y
    else:
        z = np.exp(y) * x
    return z + y


case(branch_elif, uniform(-3.0, -1.5), normal(), wrt=(0, 1), tags=("branch",),
     name="branch_elif_low")
case(branch_elif, uniform(-0.8, 0.8), normal(), wrt=(0, 1), tags=("branch",),
     name="branch_elif_mid")
case(branch_elif, uniform(1.5, 3.0), normal(), wrt=(0, 1), tags=("branch",),
     name="branch_elif_high")


def branch_and_or(x, y):
    if (x > 0.0 and y < 1.0) or x < -5.0:
        return x * y
    return x + y * y


case(branch_and_or, const(0.7), const(0.2), wrt=(0, 1), tags=("branch", "boolop"),
     name="branch_and_or_true")
case(branch_and_or, const(0.7), const(1.8), wrt=(0, 1), tags=("branch", "boolop"),
     name="branch_and_or_false")
case(branch_and_or, const(-6.0), const(1.8), wrt=(0, 1), tags=("branch", "boolop"),
     name="branch_and_or_second")


def branch_not(x, y):
    if not x > y:
        r = y - x * x
    else:
        r = x * y
    return r * 2.0


case(branch_not, const(0.3), const(1.2), wrt=(0, 1), tags=("branch", "boolop"))
case(branch_not, const(1.3), const(-0.2), wrt=(0, 1), tags=("branch", "boolop"),
     name="branch_not_else")


def branch_array_cond(x):
    if np.sum(x) > 0.0:
        r = np.sum(x ** 2)
    else:
        r = np.sum(np.exp(x))
    return r


case(branch_array_cond, uniform(0.2, 1.0, 4), tags=("branch",))
case(branch_array_cond, uniform(-1.0, -0.2, 4), tags=("branch",), name="branch_array_cond_neg")


def branch_ifexp(x, y):
    a = x * x if x > y else y * y
    return a * x


case(branch_ifexp, const(1.5), const(0.4), wrt=(0, 1), tags=("branch", "ifexp"))
case(branch_ifexp, const(-0.5), const(0.4), wrt=(0, 1), tags=("branch", "ifexp"),
     name="branch_ifexp_else")


def branch_ifexp_nested(x, y):
    return (x if x > 0.0 else -x) * y + (y * y if y > 1.0 else (y if y > 0.0 else -0.5 * y))


case(branch_ifexp_nested, const(-0.6), const(0.7), wrt=(0, 1), tags=("branch", "ifexp"))


def branch_no_else(x):
    y = x * 2.0
    if x > 1.0:
        y = y * y
    return y + x


case(branch_no_else, uniform(1.5, 2.5), tags=("branch",))
case(branch_no_else, uniform(-1.0, 0.5), tags=("branch",), name="branch_no_else_skip")


def branch_chained_compare(x, y):
    if 0.0 < x < 2.0:
        return np.sin(x) * y
    return np.cos(x) * y


case(branch_chained_compare, uniform(0.5, 1.5), normal(), wrt=(0, 1), tags=("branch", "return"))


def branch_compare_ops(x, y):
    r = x * y
    if x <= y:
        r = r + x
    if x != y:
        r = r * 2.0
    if x == 0.0:
        r = r * 0.0
    if y >= 10.0:
        r = r - y
    return r


case(branch_compare_ops, const(0.4), const(1.1), wrt=(0, 1), tags=("branch",))
case(branch_compare_ops, const(1.4), const(-0.3), wrt=(0, 1), tags=("branch",),
     name="branch_compare_ops_else")


def branch_in_loop(x):
    s = 0.0
    for i in range(len(x)):
        if x[i] > 0.0:
            s += x[i] ** 2
        else:
            s -= x[i] * 0.5
    return s


case(branch_in_loop, const([0.4, -0.9, 1.3, -0.2, 0.7]), tags=("branch", "loop"))


def branch_return_in_loop(x):
    s = 0.0
    for i in range(len(x)):
        s = s + x[i] * x[i]
        if s > 2.0:
            return s * x[0]
    return s


case(branch_return_in_loop, const([0.6, -0.9, 1.1, 0.5, 0.8]), tags=("branch", "loop", "return"))
case(branch_return_in_loop, const([0.3, -0.4, 0.2]), tags=("branch", "loop", "return"),
     name="branch_return_after_loop")


def branch_multiple_returns(x):
    if x > 1.0:
        return x ** 2
    if x > 0.0:
        return 2.0 * x - 1.0
    return -x * x * x


case(branch_multiple_returns, const(1.4), tags=("branch", "return"))
case(branch_multiple_returns, const(0.4), tags=("branch", "return"),
     name="branch_multiple_returns_mid")
case(branch_multiple_returns, const(-0.7), tags=("branch", "return"),
     name="branch_multiple_returns_low")


# --------------------------------------------------------------------------- while loops
def while_counter(x, y):
    i = 0
    s = 1.0
    while i < 4:
        s = s * x + y
        i += 1
    return s


case(while_counter, normal(), normal(), wrt=(0, 1), tags=("while",))


def while_data_dependent(x):
    s = x
    while s < 10.0:
        s = s * 1.5 + x
    return s


case(while_data_dependent, const(0.8), tags=("while",))


def while_array_norm(x):
    h = x * 1.0
    while np.sum(h * h) > 0.1:
        h = h * 0.5
    return np.sum(h ** 3) + np.sum(h)


case(while_array_norm, const([0.9, -1.3, 0.4]), tags=("while",))


def while_true_break(x):
    s = x
    n = 0
    while True:
        s = np.sin(s) + x
        n += 1
        if n >= 3:
            break
    return s


case(while_true_break, normal(), tags=("while", "break"))


def while_reverse_index(x, y):
    i = len(x) - 1
    s = 0.0
    while i >= 0:
        s = s * y + x[i]
        i -= 1
    return s


case(while_reverse_index, normal(4), normal(), wrt=(0, 1), tags=("while", "index"))


def while_continue(x):
    i = 0
    s = 0.0
    while i < len(x):
        v = x[i]
        i += 1
        if v < 0.0:
            continue
        s += v * v
    return s


case(while_continue, const([0.4, -0.9, 1.3, -0.2, 0.7]), tags=("while", "continue"))


def while_break_data(x):
    s = 0.0
    i = 0
    while i < len(x):
        s += np.exp(x[i])
        if s > 3.0:
            break
        i += 1
    return s * x[0]


case(while_break_data, const([0.5, -0.3, 0.6, 0.9, 0.1]), tags=("while", "break"))


# --------------------------------------------------------------------------- break / continue
def for_break(x):
    s = 0.0
    for i in range(len(x)):
        if x[i] > 1.0:
            break
        s += x[i] ** 2
    return s


case(for_break, const([0.3, -0.5, 0.7, 1.6, 0.2, 0.9]), tags=("loop", "break"))


def for_continue(x):
    s = 0.0
    for i in range(len(x)):
        if x[i] < 0.0:
            continue
        s += np.exp(x[i])
    return s


case(for_continue, const([0.3, -0.5, 0.7, 1.6, -0.2, 0.9]), tags=("loop", "continue"))


def for_break_continue(x, y):
    s = 0.0
    for i in range(len(x)):
        if x[i] < -0.5:
            continue
        if s > 3.0:
            break
        s += x[i] * y
    return s


case(for_break_continue, const([1.2, -0.8, 0.9, 1.5, 0.6, 2.0]), const(1.1), wrt=(0, 1),
     tags=("loop", "break", "continue"))


def for_nested_break(x):
    s = 0.0
    for i in range(3):
        for j in range(4):
            if j > i:
                break
            s += x[i, j] * x[j, i]
    return s


case(for_nested_break, normal(3, 4), tags=("loop", "break"))


def for_rows_break(x, w):
    s = 0.0
    for row in x:
        s += np.dot(row, w)
        if s > 1.0:
            break
    return s * s


case(for_rows_break, const([[0.2, 0.1], [0.5, 0.4], [0.3, 0.9], [0.1, 0.2]]), const([1.0, 0.5]),
     wrt=(0, 1), tags=("loop", "break"))


def for_continue_in_rows(x):
    s = 0.0
    for row in x:
        if np.sum(row) < 0.0:
            continue
        s += np.sum(np.tanh(row))
    return s


case(for_continue_in_rows, const([[0.2, 0.1], [-0.5, -0.4], [0.3, 0.9]]), tags=("loop", "continue"))


# --------------------------------------------------------------------------- calls
def call_simple(x, y):
    return helper_square_plus(x) * y


case(call_simple, normal(), normal(), wrt=(0, 1), tags=("call",))


def call_nested(x):
    return helper_softplus(helper_square_plus(x))


case(call_nested, normal(), tags=("call", "nested"))


def call_in_loop(x):
    s = x
    for i in range(3):
        s = helper_poly(s * 0.5) + x
    return s


case(call_in_loop, uniform(-0.8, 0.8), tags=("call", "loop"))


def call_keyword(x, y):
    return helper_poly(x, a=y)


case(call_keyword, normal(), normal(), wrt=(0, 1), tags=("call",))


def call_default(x):
    return helper_poly(x) + helper_poly(x, 0.5)


case(call_default, normal(), tags=("call", "default"))


def call_with_branch(x, y):
    return helper_piecewise(x) + helper_piecewise(y)


case(call_with_branch, uniform(0.5, 1.5), uniform(-1.5, -0.5), wrt=(0, 1), tags=("call", "branch"))


def call_array_helper(W, x):
    return np.sum(helper_layer(W, x) ** 2)


case(call_array_helper, normal(3, 4), normal(4), wrt=(0, 1), tags=("call",))


def call_chain(x):
    return helper_outer(x) * 0.5


case(call_chain, normal(), tags=("call",))


def call_rows_in_loop(x):
    s = 0.0
    for row in x:
        s += np.sum(helper_softplus(row))
    return s


case(call_rows_in_loop, normal(3, 2), tags=("call", "loop"))


# --------------------------------------------------------------------------- defaults, globals
def default_param(x, scale=3.0):
    return scale * x ** 2


case(default_param, normal(), tags=("default",))
case(default_param, normal(), uniform(1.0, 2.0), wrt=(0, 1), tags=("default",),
     name="default_param_overridden")


def default_params_partial(x, y=2.0, z=0.5):
    return x * y + z * x * x


case(default_params_partial, normal(), normal(), wrt=(0, 1), tags=("default",))


def global_scalars(x):
    return SCALE * x ** 2 + OFFSET * x


case(global_scalars, normal(), tags=("global",))


def global_arrays(x):
    return np.sum((np.dot(MATRIX, x) - TARGET) ** 2)


case(global_arrays, normal(3), tags=("global", "dot"))


# =========================================================================== tests
CASE_IDS = [c.name for c in CORPUS]


@pytest.mark.parametrize("c", CORPUS, ids=CASE_IDS)
def test_corpus_gradient_matches_finite_differences(c):
    """The generated gradient agrees with central differences."""
    assert_grad_matches(c.func, c.make_args(), c.wrt)


def test_corpus_is_large_and_well_formed():
    """The corpus has enough cases, unique names, and covers each construct family."""
    assert len(CORPUS) >= 75
    assert len(set(CASE_IDS)) == len(CASE_IDS)
    counts = Counter(tag for c in CORPUS for tag in c.tags)
    for tag in ("loop", "branch", "while", "break", "continue", "call", "broadcast", "axis",
                "index", "augassign", "unpack", "math", "numpy", "builtin", "return", "global"):
        assert counts[tag] >= 3, f"only {counts[tag]} corpus cases tagged {tag!r}"


@pytest.mark.parametrize("c", CORPUS, ids=CASE_IDS)
def test_corpus_inputs_are_fresh_float64_and_output_scalar(c):
    """make_args() gives fresh float64 inputs; the function returns a finite scalar."""
    args = c.make_args()
    again = c.make_args()
    for a, b in zip(args, again):
        assert isinstance(a, (float, np.ndarray))
        if isinstance(a, np.ndarray):
            assert a.dtype == np.float64
            assert a is not b
        np.testing.assert_array_equal(a, b)
    value = c.func(*args)
    assert np.ndim(value) == 0 and np.isfinite(value)


# --------------------------------------------------------------------------- fdcheck itself
def test_numerical_grad_matches_hand_derivatives():
    """The finite-difference helper agrees with hand-derived derivatives."""
    def f(x, y):
        return np.sum(np.sin(x) * y) + y * y

    x = np.array([0.3, -1.2, 2.0])
    y = 0.7
    gx, gy = numerical_grad(f, (x, y), wrt=(0, 1))
    np.testing.assert_allclose(gx, np.cos(x) * y, rtol=1e-8, atol=1e-9)
    assert isinstance(gy, float)
    np.testing.assert_allclose(gy, np.sum(np.sin(x)) + 2 * y, rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(numerical_grad(f, (x, y), wrt="y"), gy)
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(numerical_grad(lambda a: np.sum(a ** 3), (m,), 0), 3 * m ** 2,
                               rtol=1e-8)


# --------------------------------------------------------------------------- API of wrt
def two_args(x, y):
    return np.sum(np.sin(x) * y) + np.sum(y * y * x)


def _two_args_inputs():
    rng = np.random.default_rng(7)
    return rng.normal(size=3), rng.normal(size=3)


def _fd(f, args, wrt, kwargs=None):
    return numerical_grad(f, args, wrt, kwargs=kwargs)


@pytest.mark.parametrize("wrt", ["x", "y", ("x", "y"), ("y", "x"), (0, "y"), (1,), ("x",)])
def test_wrt_by_name_and_tuple(wrt):
    """wrt accepts names, tuples of names or indices, and one-element tuples."""
    assert_grad_matches(two_args, _two_args_inputs(), wrt)


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), "y"])
def test_argnums_alias(argnums):
    """argnums= is an alias of wrt=."""
    args = _two_args_inputs()
    got = tangent_src.grad(two_args, argnums=argnums)(*args)
    assert_grads_close(got, _fd(two_args, args, argnums), two_args, args, argnums)


def test_keyword_arguments_at_call_time():
    """The gradient accepts arguments by keyword, like the original function."""
    x, y = _two_args_inputs()
    expected_x, expected_y = _fd(two_args, (x, y), (0, 1))
    np.testing.assert_allclose(tangent_src.grad(two_args, wrt="y")(x, y=y), expected_y,
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(tangent_src.grad(two_args, wrt="x")(y=y, x=x), expected_x,
                               rtol=1e-5, atol=1e-7)
    gx, gy = tangent_src.grad(two_args, wrt=("x", "y"))(x=x, y=y)
    np.testing.assert_allclose(gx, expected_x, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(gy, expected_y, rtol=1e-5, atol=1e-7)


def with_defaults(x, scale=3.0, shift=0.5):
    return np.sum(scale * x ** 2 + shift * x)


def test_default_arguments():
    """Omitted arguments take their defaults; passed ones override them."""
    x = np.array([0.2, -1.1, 0.9])
    df = tangent_src.grad(with_defaults)
    np.testing.assert_allclose(df(x), 6.0 * x + 0.5, rtol=1e-12)
    np.testing.assert_allclose(df(x, 2.0), 4.0 * x + 0.5, rtol=1e-12)
    np.testing.assert_allclose(df(x, shift=-1.0), 6.0 * x - 1.0, rtol=1e-12)
    np.testing.assert_allclose(df(x, scale=1.0, shift=0.0), 2.0 * x, rtol=1e-12)
    d_scale = tangent_src.grad(with_defaults, wrt="scale")(x, scale=2.0)
    np.testing.assert_allclose(d_scale, np.sum(x ** 2), rtol=1e-12)
    d_shift = tangent_src.grad(with_defaults, wrt="shift")(x, 2.0, 1.0)
    np.testing.assert_allclose(d_shift, np.sum(x), rtol=1e-12)


def keyword_only(x, *, c=2.0):
    return np.sum(c * np.exp(x))


def test_keyword_only_parameter():
    """Keyword-only parameters with defaults work and can be differentiated by name."""
    x = np.array([0.1, -0.4])
    np.testing.assert_allclose(tangent_src.grad(keyword_only)(x), 2.0 * np.exp(x), rtol=1e-12)
    np.testing.assert_allclose(tangent_src.grad(keyword_only)(x, c=0.5), 0.5 * np.exp(x),
                               rtol=1e-12)
    np.testing.assert_allclose(tangent_src.grad(keyword_only, wrt="c")(x, c=0.5),
                               np.sum(np.exp(x)), rtol=1e-12)


def test_value_and_grad_single():
    """value_and_grad returns the function's value and its gradient."""
    args = _two_args_inputs()
    value, g = tangent_src.value_and_grad(two_args, wrt=0)(*args)
    np.testing.assert_allclose(value, two_args(*args), rtol=1e-12)
    assert_grads_close(g, _fd(two_args, args, 0), two_args, args, 0)


def test_value_and_grad_tuple():
    """value_and_grad with a tuple wrt returns (value, (g1, g2))."""
    args = _two_args_inputs()
    value, grads = tangent_src.value_and_grad(two_args, wrt=(0, 1))(*args)
    np.testing.assert_allclose(value, two_args(*args), rtol=1e-12)
    assert_grads_close(grads, _fd(two_args, args, (0, 1)), two_args, args, (0, 1))


@pytest.mark.parametrize("c", [c for c in CORPUS if c.tags and "branch" in c.tags][:6],
                         ids=lambda c: c.name)
def test_value_and_grad_on_branches(c):
    """value_and_grad's value is the function's value, also with branches and early returns."""
    args = c.make_args()
    value, grads = tangent_src.value_and_grad(c.func, wrt=c.wrt)(*args)
    np.testing.assert_allclose(value, c.func(*args), rtol=1e-12)
    assert_grads_close(grads, _fd(c.func, args, c.wrt), c.func, args, c.wrt)
