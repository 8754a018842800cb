"""Odd code must give correct derivatives or a located error, never a crash (issue 11).

Names: generated code writes `np.cos(x)`, `zeros_like(x)`, `range(n)`, `square_fwd(...)`
and means NumPy, the runtime helper, the builtin and its own forward function. A user
binding spelled the same way (a local `zeros_like`, a global `np = 3.0`, `import math as
np`, a module that imports NumPy only as `jnp`, a user function `square_fwd`) used to
capture those references, or be captured by them (wrong values, TypeErrors, an unlocated
"name(s) np are not defined"). Size: long functions, deeply nested `if`s and very long
expressions must compile (they were quadratic, exponential, or a RecursionError). Lambdas
written across lines, or several on one line, must be found in their file.

Every derivative is checked against central finite differences in float64.
"""
from __future__ import annotations

import _odd_jnp_mod
import _odd_mathnp_mod
import _odd_numpy_mod
import _odd_onp_mod
import _odd_square_mod
import _odd_star_mod
import numpy as np
import pytest
from fdcheck import import_generated, numerical_grad

import tangent_src
from tangent_src.errors import UnsupportedSyntaxError
from tangent_src.runtime import HELPERS

X = np.array([0.3, -0.4, 0.8])
V = np.array([0.7, -1.1, 0.25])


def fd_hvp(f, x, v, h=1e-4):
    """Hessian-vector product by central differences of the finite-difference gradient."""
    def g(y):
        return numerical_grad(f, (y,))
    return (g(x + h * v) - g(x - h * v)) / (2 * h)


def check_all_modes(f, x=X, v=V, second_order=True):
    """grad, value_and_grad, jvp, hvp and (for a scalar x) grad(grad) against differences."""
    expected = numerical_grad(f, (x,))
    np.testing.assert_allclose(tangent_src.grad(f)(x), expected, rtol=1e-5, atol=1e-7)
    value, gradient = tangent_src.value_and_grad(f)(x)
    np.testing.assert_allclose(value, f(x), rtol=1e-12)
    np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-7)
    primal, tangent = tangent_src.jvp(f, (x,), (v,))
    np.testing.assert_allclose(primal, f(x), rtol=1e-12)
    np.testing.assert_allclose(tangent, np.sum(expected * v), rtol=1e-5, atol=1e-7)
    if second_order:
        np.testing.assert_allclose(tangent_src.hvp(f)(x, v), fd_hvp(f, x, v),
                                   rtol=1e-4, atol=1e-5)
        x0 = float(np.ravel(x)[0])
        np.testing.assert_allclose(tangent_src.grad(tangent_src.grad(f))(x0),
                                   fd_hvp(f, x0, 1.0), rtol=1e-4, atol=1e-5)


# -- modules that spell NumPy differently, or use `np` for something else -------------
@pytest.mark.parametrize("module", [_odd_jnp_mod, _odd_onp_mod, _odd_numpy_mod, _odd_star_mod,
                                    _odd_square_mod, _odd_mathnp_mod],
                         ids=lambda m: m.__name__)
def test_module_import_styles(module):
    if module is _odd_mathnp_mod:  # math functions take scalars only
        check_all_modes(module.loss, x=0.4, v=0.7)
    else:
        check_all_modes(module.loss)


def test_jvp_of_jnp_module_names_no_np():
    """It used to fail with the unlocated "name(s) np are not defined"."""
    source = tangent_src.autodiff(_odd_jnp_mod.loss, mode="forward").source
    assert "import numpy as np" in source


def test_global_np_that_is_a_number_is_read_live():
    f = _odd_onp_mod.loss
    check_all_modes(f, second_order=False)
    old = _odd_onp_mod.np
    try:
        _odd_onp_mod.np = 5.0  # the generated code reads the user's `np` when it runs
        np.testing.assert_allclose(tangent_src.grad(f)(X), numerical_grad(f, (X,)),
                                   rtol=1e-5, atol=1e-7)
    finally:
        _odd_onp_mod.np = old


# -- locals named like a runtime helper -------------------------------------------------
def _helper_local_module():
    lines = ["import numpy as np", ""]
    for name in sorted(HELPERS):
        lines += [f"def uses_{name}(x):",
                  f"    {name} = np.sin(x) * 2.0",
                  f"    y = {name} * x + np.cos({name})",
                  f"    return np.sum(y * {name})", ""]
    return import_generated("odd_helper_locals", lines)


HELPER_LOCALS = _helper_local_module()


@pytest.mark.parametrize("name", sorted(HELPERS))
def test_local_named_like_a_runtime_helper(name):
    f = getattr(HELPER_LOCALS, f"uses_{name}")
    check_all_modes(f, second_order=name in ("zeros_like", "unreduce", "unbroadcast",
                                             "broadcast_like", "pieces", "plus"))
    expected = numerical_grad(f, (0.3,))
    np.testing.assert_allclose(tangent_src.grad(f)(0.3), expected, rtol=1e-5, atol=1e-7)


ODD = import_generated("odd_names", """
import math as mth
import numpy as onp
import numpy as np


def plus(a, b):  # a user function named like the runtime helper `plus`
    return a * b


def uses_global_plus(x):
    return onp.sum(plus(x, x) + onp.sin(x))


def square(x):
    return x * x


def square_fwd(x):  # the name of square's generated forward function
    return 3.0 * x


def dsquare(x):
    return 5.0 * x


def jvp_square(x):
    return 7.0 * x


def square_fwd_inactive(x):
    return onp.sum(square(x)) * square_fwd(2.0)


def generated_names_taken(x):
    return onp.sum(square(x)) * dsquare(2.0) * jvp_square(1.0) + onp.sum(square_fwd(x))


def local_np(x):
    np = 2.0
    return onp.sum(onp.tanh(x) * np)


def local_math(x):
    math = 2.0
    return onp.sum(onp.sin(x)) * math + mth.sin(1.0)


def sum_accumulator(x):
    sum = 0.0
    for i in range(3):
        sum = sum + onp.sum(onp.sin(x * i))
    return sum


def local_range(x):
    range = 3.0
    s = 0.0
    for v in x:
        s = s + v * range
    return onp.sum(onp.cumsum(x)) + s


def make_closure_np():
    np = 1.5

    def closure_np(x):
        return onp.sum(onp.sin(x) * np)
    return closure_np


closure_np = make_closure_np()


def lambda_param_np(x):
    g = lambda np: np * 2.0  # noqa: E731
    return onp.sum(g(x) * onp.cos(x))


def list_named_pieces(x):
    pieces = []
    for i in range(3):
        pieces.append(onp.sin(x) * i)
    add_at = onp.stack(pieces)
    return onp.sum(add_at * add_at)


def param_zeros_like(x, zeros_like):
    return onp.sum(onp.sin(x) * zeros_like)


def param_np(x, np=2.0):
    return onp.sum(onp.sin(x) * np)
""".splitlines())


@pytest.mark.parametrize("name", ["uses_global_plus", "square_fwd_inactive",
                                  "generated_names_taken", "local_np", "local_math",
                                  "sum_accumulator", "local_range", "closure_np",
                                  "lambda_param_np", "list_named_pieces"])
def test_user_names_and_generated_names_stay_apart(name):
    check_all_modes(getattr(ODD, name), second_order=name != "local_range")


@pytest.mark.parametrize("name", ["param_zeros_like", "param_np"])
def test_parameter_named_like_a_reserved_name_is_refused_where_it_is(name):
    f = getattr(ODD, name)
    with pytest.raises(UnsupportedSyntaxError) as info:
        tangent_src.grad(f)(X, 0.7)
    err = info.value
    assert err.lineno == f.__code__.co_firstlineno and "reserved" in str(err)
    assert err.filename == f.__code__.co_filename


# -- size: long functions, deep nesting, long expressions -----------------------------
def _straight(n):
    lines = ["import numpy as np", "", "def f(x):", "    h = x"]
    lines += [f"    h = np.sin(h) * {0.5 + (i % 7) * 0.01} + x" for i in range(n)]
    return import_generated(f"odd_straight_{n}", lines + ["    return np.sum(h)"])


def _nested(n):
    lines = ["import numpy as np", "", "def f(x):", "    y = x * 1.0"]
    for i in range(n):
        indent = "    " * (i + 1)
        lines += [f"{indent}if x > {-1.0 - 0.1 * i}:",
                  f"{indent}    y = y * {1.0 + 0.01 * i} + np.sin(x)"]
    return import_generated(f"odd_nested_{n}", lines + ["    return y"])


def _long_sum(n):
    terms = " + ".join(f"{1.0 + 0.001 * i} * np.sin(x * {1.0 + 0.01 * i})" for i in range(n))
    return import_generated(f"odd_sum_{n}", ["import numpy as np", "", "def f(x):",
                                             f"    return {terms}"])


def test_long_straight_line_function_is_correct():
    f = _straight(300).f
    np.testing.assert_allclose(tangent_src.grad(f)(0.3), numerical_grad(f, (0.3,)),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("x", [0.3, -2.05, -3.3])  # all, some, none of the ifs taken
def test_thirty_nested_ifs_compile_and_are_correct(x):
    f = _nested(30).f
    np.testing.assert_allclose(tangent_src.grad(f)(x), numerical_grad(f, (x,)),
                               rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("n", [250, 1000])
def test_very_long_expression_compiles_and_is_correct(n):
    f = _long_sum(n).f
    np.testing.assert_allclose(tangent_src.grad(f)(0.3), numerical_grad(f, (0.3,)),
                               rtol=1e-5, atol=1e-7)


def test_deep_expression_leaves_the_recursion_limit_alone():
    import sys
    before = sys.getrecursionlimit()
    tangent_src.grad(_long_sum(400).f)(0.3)
    assert sys.getrecursionlimit() == before


# -- lambdas across lines, several on a line ---------------------------------------------
def test_lambda_written_across_lines():
    df = tangent_src.grad(
        lambda x: x * np.sin(x))
    np.testing.assert_allclose(df(0.3), np.sin(0.3) + 0.3 * np.cos(0.3), rtol=1e-12)


def test_lambda_body_on_the_next_line():
    df = tangent_src.grad(lambda x:
                          np.exp(x) * 2.0)
    np.testing.assert_allclose(df(0.3), 2.0 * np.exp(0.3), rtol=1e-12)


def test_several_lambdas_on_one_line_each_get_their_own_gradient():
    d1, d2 = tangent_src.grad(lambda x: np.sin(x)), tangent_src.grad(lambda x: x * np.cos(x))
    np.testing.assert_allclose(d1(0.3), np.cos(0.3), rtol=1e-12)
    np.testing.assert_allclose(d2(0.3), np.cos(0.3) - 0.3 * np.sin(0.3), rtol=1e-12)


def test_lambda_with_default_across_lines_in_a_call():
    def build():
        return tangent_src.value_and_grad(
            lambda x, s=2.0: s * np.tanh(x),
        )
    value, gradient = build()(0.3)
    np.testing.assert_allclose(value, 2.0 * np.tanh(0.3), rtol=1e-12)
    np.testing.assert_allclose(gradient, 2.0 * (1 - np.tanh(0.3) ** 2), rtol=1e-12)


def test_identical_lambdas_on_one_line_are_told_apart_by_column():
    fs = [lambda x: x * 3.0, lambda x: x * np.sin(x)]
    np.testing.assert_allclose(tangent_src.grad(fs[0])(0.3), 3.0, rtol=1e-12)
    np.testing.assert_allclose(tangent_src.grad(fs[1])(0.3),
                               np.sin(0.3) + 0.3 * np.cos(0.3), rtol=1e-12)


@pytest.mark.parametrize("module", [_odd_onp_mod, _odd_mathnp_mod], ids=lambda m: m.__name__)
def test_standalone_source_imports_the_users_np_under_its_new_name(module):
    """The renamed user binding is imported from its module (`from m import np as np2`)."""
    x = np.array([0.3, -0.4]) if module is _odd_onp_mod else 0.4
    namespace: dict = {}
    exec(compile(tangent_src.standalone_source(module.loss), "<standalone>", "exec"), namespace)
    np.testing.assert_allclose(namespace["dloss"](x), numerical_grad(module.loss, (x,)),
                               rtol=1e-5, atol=1e-7)
