"""Errors: unsupported syntax and missing derivative rules are reported at the user's line."""
from __future__ import annotations

import inspect
import os
import re

import numpy as np
import pytest

import tangent_src
from tangent_src.errors import (
    NoDerivativeRuleError,
    NotDifferentiableError,
    TangentError,
    UnsupportedSyntaxError,
    UserCodeError,
)

COUNTER = 0.0
SIGNAL = np.array([1.0, 2.0, 0.5, -1.0])


def two_sum(a, b):
    return a + b


# --------------------------------------------------------------------------- unsupported syntax
def uses_try(x):
    y = x * 2.0
    try:
        y = y * x
    except ValueError:
        y = x
    return y


def uses_with(x):
    y = x * 2.0
    with np.errstate(all="ignore"):
        y = y * x
    return y


def uses_yield(x):
    y = x * 2.0
    yield y


def uses_global_write(x):
    global COUNTER
    COUNTER = x
    return x * 2.0


def uses_nested_class(x):
    class Box:
        pass
    return x * 2.0


def uses_starred_call(x):
    pair = [x]
    pair.append(x)  # a length the source does not fix (a fixed one is supported)
    return two_sum(*pair)


def uses_lambda(x):
    return np.sum(np.apply_along_axis(lambda v: v * v, 0, x))


def uses_nested_def(x):
    def inner(v):
        return inner(v - 1.0) if v > 0.0 else v
    return inner(x) + x


def uses_locals(x):  # locals() in generated code holds other names: silently wrong before
    y = x * 2.0
    names = locals()
    return names["y"]


def uses_vars(x):
    y = x * 2.0  # noqa: F841 - read through vars()
    return vars()["y"]


def uses_eval(x):
    y = x * 2.0  # noqa: F841 - read through eval
    return eval("y * y")


# (function, substrings identifying the acceptable offending lines, keyword whose column is
# the statement's column, or None when the column is not pinned down by the contract)
UNSUPPORTED = [
    (uses_try, ("try:",), "try"),
    (uses_with, ("with np.errstate",), "with"),
    (uses_yield, ("yield y",), "yield"),
    (uses_global_write, ("global COUNTER", "COUNTER = x"), None),
    (uses_nested_class, ("class Box",), "class"),
    (uses_starred_call, ("two_sum(*pair)",), None),
    (uses_lambda, ("lambda v",), None),
    (uses_nested_def, ("return inner(v",), None),
    (uses_locals, ("names = locals()",), None),
    (uses_vars, ('return vars()["y"]',), None),
    (uses_eval, ('return eval("y * y")',), None),
]


def expected_lines(func, markers):
    """Absolute line numbers of the lines of `func` that contain one of `markers`."""
    lines, start = inspect.getsourcelines(func)
    found = {start + i: line for i, line in enumerate(lines)
             if any(marker in line for marker in markers)}
    assert found, f"test bug: no line of {func.__name__} contains {markers}"
    return found


def check_located(err, func, markers, keyword=None):
    """The error names this file, one of the expected lines, a column, and shows a caret."""
    assert isinstance(err, UserCodeError)
    assert isinstance(err, TangentError)
    lines = expected_lines(func, markers)
    assert err.filename.endswith("test_errors.py"), err.filename
    assert err.lineno in lines, f"line {err.lineno} not in {sorted(lines)}:\n{err}"
    line = lines[err.lineno]
    assert err.source_line.strip() == line.strip()
    assert 0 <= err.col < len(line.rstrip("\n"))
    if keyword is not None:
        assert err.col == line.index(keyword), f"col {err.col} for {keyword!r} in {line!r}"
    text = str(err)
    assert re.search(rf"{re.escape(err.filename)}:{err.lineno}:\d+", text), text
    shown = text.splitlines()
    source_rows = [i for i, row in enumerate(shown) if line.strip() in row]
    assert source_rows, f"source line not shown:\n{text}"
    after = source_rows[0] + 1
    assert after < len(shown) and re.fullmatch(r"\s*\^+\s*", shown[after]), text


@pytest.mark.parametrize("trigger", ["call", "source"])
@pytest.mark.parametrize("func,markers,keyword", UNSUPPORTED,
                         ids=[u[0].__name__ for u in UNSUPPORTED])
def test_unsupported_syntax(func, markers, keyword, trigger):
    """Each unsupported construct raises UnsupportedSyntaxError at its line, with a hint."""
    df = tangent_src.grad(func)  # generation is lazy: no error yet
    with pytest.raises(UnsupportedSyntaxError) as info:
        if trigger == "call":
            df(1.5)
        else:
            tangent_src.source(df)
    err = info.value
    check_located(err, func, markers, keyword)
    assert isinstance(err.hint, str) and err.hint.strip()
    assert isinstance(err.construct, str) and err.construct.strip()


# ------------------------------------------------------------------- missing derivative rules
def uses_fft(x):  # np.fft.hfft: the one member of np.fft without a rule
    spectrum = np.fft.hfft(x)
    return np.sum(np.abs(spectrum))


def uses_cond(x):  # np.linalg.cond: no rule (np.linalg.eig, used here before, has one now)
    return np.linalg.cond(x)


@pytest.mark.parametrize("func,marker,name,arg", [
    (uses_fft, "np.fft.hfft(x)", "hfft", np.array([1.0, 2.0, 0.5, -1.0])),
    (uses_cond, "np.linalg.cond(x)", "cond", np.array([[2.0, 1.0], [0.5, 3.0]])),
], ids=["fft", "cond"])
def test_no_derivative_rule(func, marker, name, arg):
    """A C function with no rule, applied to a differentiated value, names itself and `register`."""
    with pytest.raises(NoDerivativeRuleError) as info:
        tangent_src.grad(func)(arg)
    err = info.value
    check_located(err, func, (marker,))
    assert name in str(err)
    assert "register" in str(err)
    with pytest.raises(NoDerivativeRuleError):
        tangent_src.source(tangent_src.grad(func))


def uses_fft_on_constant(x):
    spectrum = np.abs(np.fft.fft(SIGNAL))
    return np.sum(spectrum * x)


def test_rule_not_needed_for_constant_input():
    """A function without a rule is fine when nothing differentiated flows into it."""
    x = np.array([0.5, -1.0, 2.0, 0.25])
    g = tangent_src.grad(uses_fft_on_constant)(x)
    np.testing.assert_allclose(g, np.abs(np.fft.fft(SIGNAL)), rtol=1e-12)


# --------------------------------------------------------------------------- ill-posed requests
def scale_by(x, n):
    return x * n


def sum_scaled(x, n):
    return np.sum(x * n)


@pytest.mark.parametrize("func,args,wrt", [
    (scale_by, (2.0, 3), 1),
    (scale_by, (2.0, True), 1),
    (scale_by, (2, 3.0), 0),
    (sum_scaled, (np.array([1.0, 2.0]), np.array([1, 2])), 1),
    (sum_scaled, (np.array([1, 2], dtype=np.int32), 1.5), "x"),
    (scale_by, (2.0, 3), (0, 1)),
], ids=["int", "bool", "int-first", "int-array", "int32-array-by-name", "tuple"])
def test_integer_wrt_is_not_differentiable(func, args, wrt):
    """Differentiating with respect to an int/bool argument raises NotDifferentiableError."""
    with pytest.raises(NotDifferentiableError):
        tangent_src.grad(func, wrt=wrt)(*args)


def test_integer_argument_not_in_wrt_is_fine():
    """An int argument that is not differentiated is just a constant."""
    assert tangent_src.grad(scale_by, wrt=0)(2.0, 3) == pytest.approx(3.0)


def double(x):
    return x * 2.0


def test_array_output_is_not_differentiable():
    """grad of a function returning an array raises and points at vjp."""
    with pytest.raises(NotDifferentiableError) as info:
        tangent_src.grad(double)(np.array([1.0, 2.0, 3.0]))
    assert "vjp" in str(info.value)


def test_error_hierarchy():
    """The error classes form the documented hierarchy."""
    assert issubclass(UserCodeError, TangentError)
    assert issubclass(UnsupportedSyntaxError, UserCodeError)
    assert issubclass(NoDerivativeRuleError, UserCodeError)
    assert issubclass(NotDifferentiableError, TangentError)
    assert tangent_src.errors.UnsupportedSyntaxError is UnsupportedSyntaxError


def rotate(x):
    return x * (1.0 + 0.2j)


def pair(x):
    return x, 2.0 * x


def test_what_grad_cannot_differentiate_is_a_type_error_as_in_jax():
    # a complex output, a tuple, a vector: TypeError (JAX's and autograd's type), and still
    # a NotDifferentiableError naming the function
    for func, shown, x in ((rotate, "real number", 1.0), (pair, "tuple", 1.0),
                           (np.sin, "shape \\(3,\\)", np.ones(3))):
        with pytest.raises(TypeError, match=shown) as info:
            tangent_src.grad(func)(x)
        assert isinstance(info.value, NotDifferentiableError)


def _raise_from(filename: str) -> BaseException:
    code = compile("raise AssertionError()", filename, "exec")
    try:
        exec(code, {})
    except AssertionError as exc:
        return exc
    raise RuntimeError("not raised")


def test_an_internal_error_of_numbas_compiler_is_told_apart_from_the_codes_own():
    # numba's typing passes fail with bare AssertionErrors (seen on a fuzz program whose
    # variable is None on one branch); those become located refusals, while an
    # AssertionError of the running code (a user's assert) stays what it is
    from tangent_src.compiled import raised_compiling
    internal = os.path.join(os.sep, "site", "numba", "core", "typing", "templates.py")
    assert raised_compiling(_raise_from(internal))
    assert not raised_compiling(_raise_from(os.path.join(os.sep, "home", "user", "model.py")))
