"""Constructs tangent_src may not support yet: a correct derivative, or a located error.

Each test differentiates a function using one construct (generators, try/except, a class
with `__getattr__`, methods and attributes of user classes, functions passed as arguments
or stored in dicts and lists, recursion, `with tangent_src.insert_grad_of(...)`, `with
tangent_src.checkpoint()`) in reverse and in forward mode. Either

* the derivative is computed, and then it must match central finite differences (or, for
  insert_grad_of, the gradient the block asks for): a wrong derivative always fails; or
* a `tangent_src.errors.TangentError` is raised, and then it must be a located
  `UserCodeError`: this file as its filename, the line of the construct (found with
  inspect.getsourcelines, so the test does not depend on line numbers), the source line
  with a caret under the column, and a non-empty hint.

Any other exception is a failure.
"""
from __future__ import annotations

import copy
import inspect
import linecache
import os

import numpy as np
import pytest
from fdcheck import numerical_grad

import tangent_src
from tangent_src.errors import TangentError, UserCodeError

RTOL = 1e-5
ATOL = 1e-7


# --------------------------------------------------------------------------- checking helpers
def line_of(obj, marker: str) -> int:
    """The file line number of the one line of `obj`'s source that contains `marker`."""
    lines, start = inspect.getsourcelines(obj)
    hits = [start + i for i, text in enumerate(lines) if marker in text]
    assert len(hits) == 1, f"marker {marker!r} found {len(hits)} times in {obj!r}"
    return hits[0]


def assert_located(err: TangentError, places) -> None:
    """`err` is a UserCodeError pointing at one of `places` ((object, marker) pairs)."""
    lines = {line_of(obj, marker) for obj, marker in places}
    assert isinstance(err, UserCodeError), (
        f"{type(err).__name__} is not a located UserCodeError: {err}")
    assert os.path.basename(err.filename) == os.path.basename(__file__), (
        f"error names file {err.filename!r}, not this test file: {err}")
    assert err.lineno in lines, f"error at line {err.lineno}, expected one of {sorted(lines)}"
    expected_text = linecache.getline(__file__, err.lineno)
    assert err.source_line.strip() == expected_text.strip(), (
        f"source line {err.source_line!r} is not line {err.lineno} of the file")
    assert 0 <= err.col < len(err.source_line.rstrip("\n")), f"column {err.col} out of range"
    assert err.hint and err.hint.strip(), f"no hint: {err}"
    text = str(err)
    assert f"{err.lineno}" in text and err.source_line.strip() in text
    caret_lines = [ln for ln in text.splitlines() if ln.strip() == "^"]
    assert caret_lines, f"no caret in the message: {text}"


def directional_fd(func, args, positions, tangents, eps=1e-6):
    def moved(step):
        new = list(copy.deepcopy(args))
        for p, t in zip(positions, tangents):
            new[p] = new[p] + step * t
        return float(func(*new))
    return (moved(eps) - moved(-eps)) / (2.0 * eps)


def check_reverse(func, args, wrt, places, expected=None):
    """grad(func) is correct (vs FD, or `expected`) or raises a located error."""
    try:
        got = tangent_src.grad(func, wrt=wrt)(*copy.deepcopy(args))
    except TangentError as err:
        assert_located(err, places)
        return "error"
    want = numerical_grad(func, args, wrt) if expected is None else expected
    if isinstance(wrt, tuple):
        assert isinstance(got, tuple) and len(got) == len(want)
        for g, w in zip(got, want):
            assert np.shape(g) == np.shape(w)
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL)
    else:
        assert np.shape(got) == np.shape(want)
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    return "supported"


def check_forward(func, args, positions, places, seed=0):
    """jvp(func) along a random direction is correct (vs FD) or raises a located error.
    Arguments that are not arrays or floats (functions, ints) get no tangent of their own:
    they are closed over by a wrapper that still calls `func` itself."""
    rng = np.random.default_rng(seed)
    tangents = [rng.normal(size=np.shape(args[p])) for p in positions]
    tangents = [float(t) if np.ndim(t) == 0 else t for t in tangents]
    expected = directional_fd(func, args, positions, tangents)
    all_tangents = []
    for k, a in enumerate(args):
        if k in positions:
            all_tangents.append(tangents[positions.index(k)])
        elif isinstance(a, (float, np.ndarray)):
            all_tangents.append(np.zeros(np.shape(a)) if np.ndim(a) else 0.0)
        else:
            all_tangents.append(None)
    differentiable = [k for k, a in enumerate(args) if all_tangents[k] is not None]
    try:
        if len(differentiable) == len(args):
            _, t = tangent_src.jvp(func, tuple(copy.deepcopy(args)), tuple(all_tangents))
        else:
            # some argument (a function) has no tangent: forward mode by autodiff with wrt
            fwd = tangent_src.autodiff(func, mode="forward", wrt=tuple(positions))
            t = fwd(*copy.deepcopy(args), *tangents)
    except TangentError as err:
        assert_located(err, places)
        return "error"
    assert np.ndim(t) == 0
    np.testing.assert_allclose(t, expected, rtol=RTOL, atol=ATOL)
    return "supported"


X3 = np.array([0.4, -0.9, 1.3])
X3_POS = np.array([0.4, 0.9, 1.3])
W33 = np.array([[0.5, -0.2, 0.1], [0.3, 0.8, -0.6], [-0.4, 0.2, 0.7]])


# --------------------------------------------------------------------------- generators
def _powers(x):
    for k in range(1, 4):
        yield x ** k


def uses_generator(x):
    total = 0.0
    for term in _powers(x):
        total = total + np.sum(term)
    return total


GENERATOR_PLACES = [(uses_generator, "for term in _powers(x)"), (_powers, "yield")]


def test_generator_reverse():
    check_reverse(uses_generator, (X3,), 0, GENERATOR_PLACES)


def test_generator_forward():
    check_forward(uses_generator, (X3,), [0], GENERATOR_PLACES)


# --------------------------------------------------------------------------- try / except
def uses_try(x):
    try:
        y = np.log(x)
    except FloatingPointError:
        y = x
    return np.sum(y * x)


TRY_PLACES = [(uses_try, "try:"), (uses_try, "except FloatingPointError")]


def test_try_reverse():
    check_reverse(uses_try, (X3_POS,), 0, TRY_PLACES)


def test_try_forward():
    check_forward(uses_try, (X3_POS,), [0], TRY_PLACES)


# --------------------------------------------------------------------------- __getattr__
class _LazyParams:
    def __init__(self, values):
        self._values = values

    def __getattr__(self, name):
        return self._values[name]


def uses_getattr_class(W, x):
    p = _LazyParams({"W": W})
    return np.sum(np.tanh(p.W @ x))


GETATTR_PLACES = [(uses_getattr_class, "p = _LazyParams"), (uses_getattr_class, "p.W @ x"),
                  (_LazyParams, "return self._values[name]")]


def test_getattr_class_reverse():
    check_reverse(uses_getattr_class, (W33, X3), (0, 1), GETATTR_PLACES)


def test_getattr_class_forward():
    check_forward(uses_getattr_class, (W33, X3), [0, 1], GETATTR_PLACES)


# --------------------------------------------------------------------------- methods, self.W
class _Model:
    def __init__(self, W):
        self.W = W

    def predict(self, x):
        return np.tanh(x @ self.W)

    def loss(self, x):
        return np.sum(self.predict(x) ** 2)


def uses_method(W, x):
    model = _Model(W)
    return np.sum(model.predict(x))


METHOD_PLACES = [(uses_method, "model = _Model(W)"), (uses_method, "model.predict(x)"),
                 (_Model, "return np.tanh(x @ self.W)")]
BOUND_METHOD_PLACES = [(_Model, "return np.sum(self.predict(x) ** 2)"),
                       (_Model, "def loss(self, x)")]


def test_method_call_reverse():
    check_reverse(uses_method, (W33, X3), (0, 1), METHOD_PLACES)


def test_method_call_forward():
    check_forward(uses_method, (W33, X3), [0, 1], METHOD_PLACES)


def test_grad_of_bound_method_reading_self():
    model = _Model(W33)
    check_reverse(model.loss, (X3,), 0, BOUND_METHOD_PLACES)


# --------------------------------------------------------------------------- functions as values
def _square(u):
    return u * u


def _apply_twice(fn, x):
    return fn(fn(x))


def passes_function_to_helper(x):
    return np.sum(_apply_twice(np.sin, x)) + np.sum(_apply_twice(_square, x))


def takes_function_argument(x, activation):
    return np.sum(activation(x) * x)


FN_HELPER_PLACES = [(_apply_twice, "return fn(fn(x))"),
                    (passes_function_to_helper, "_apply_twice(np.sin, x)")]
FN_ARG_PLACES = [(takes_function_argument, "activation(x) * x")]


def test_function_passed_to_helper_reverse():
    check_reverse(passes_function_to_helper, (X3,), 0, FN_HELPER_PLACES)


def test_function_passed_to_helper_forward():
    check_forward(passes_function_to_helper, (X3,), [0], FN_HELPER_PLACES)


@pytest.mark.parametrize("activation", [np.tanh, _square], ids=["np.tanh", "user_function"])
def test_function_argument_reverse(activation):
    check_reverse(takes_function_argument, (X3, activation), 0, FN_ARG_PLACES)


@pytest.mark.parametrize("activation", [np.tanh, _square], ids=["np.tanh", "user_function"])
def test_function_argument_forward(activation):
    check_forward(takes_function_argument, (X3, activation), [0], FN_ARG_PLACES)


def functions_in_dict(x):
    ops = {"act": np.tanh, "sq": _square}
    return np.sum(ops["act"](x) + ops["sq"](x))


def functions_in_list(x):
    h = x
    for act in [np.tanh, np.sin, _square]:
        h = act(h)
    return np.sum(h)


DICT_FN_PLACES = [(functions_in_dict, 'ops = {"act"'), (functions_in_dict, 'ops["act"](x)')]
LIST_FN_PLACES = [(functions_in_list, "for act in"), (functions_in_list, "h = act(h)")]


def test_functions_in_dict_reverse():
    check_reverse(functions_in_dict, (X3,), 0, DICT_FN_PLACES)


def test_functions_in_dict_forward():
    check_forward(functions_in_dict, (X3,), [0], DICT_FN_PLACES)


def test_functions_in_list_reverse():
    check_reverse(functions_in_list, (X3,), 0, LIST_FN_PLACES)


def test_functions_in_list_forward():
    check_forward(functions_in_list, (X3,), [0], LIST_FN_PLACES)


# --------------------------------------------------------------------------- recursion
def _power(x, n):
    if n == 0:
        return 1.0
    return x * _power(x, n - 1)


def uses_recursive_helper(x):
    return np.sum(_power(x, 3))


def recursive_itself(x, n):
    if n == 0:
        return np.sum(x)
    return recursive_itself(np.sin(x), n - 1)


RECURSIVE_HELPER_PLACES = [(_power, "return x * _power(x, n - 1)"),
                           (_power, "def _power(x, n)"),
                           (uses_recursive_helper, "_power(x, 3)")]
RECURSIVE_SELF_PLACES = [(recursive_itself, "return recursive_itself(np.sin(x), n - 1)"),
                         (recursive_itself, "def recursive_itself(x, n)")]


def test_recursive_helper_reverse():
    check_reverse(uses_recursive_helper, (X3,), 0, RECURSIVE_HELPER_PLACES)


def test_recursive_helper_forward():
    check_forward(uses_recursive_helper, (X3,), [0], RECURSIVE_HELPER_PLACES)


def test_recursive_function_reverse():
    check_reverse(recursive_itself, (X3, 3), 0, RECURSIVE_SELF_PLACES)


def test_recursive_function_forward():
    check_forward(recursive_itself, (X3, 3), [0], RECURSIVE_SELF_PLACES)


# --------------------------------------------------------------------------- gradient blocks
def uses_insert_grad_of(x):
    y = np.sin(x)
    with tangent_src.insert_grad_of(y) as dy:
        dy = dy * 2.0
    return np.sum(y)


INSERT_PLACES = [(uses_insert_grad_of, "with tangent_src.insert_grad_of(y)")]


def test_insert_grad_of_reverse():
    """If supported, the block doubles the adjoint of y: the gradient is 2 cos(x)."""
    check_reverse(uses_insert_grad_of, (X3,), 0, INSERT_PLACES, expected=2.0 * np.cos(X3))


def uses_checkpoint(x):
    h = x
    for _ in range(3):
        with tangent_src.checkpoint():
            h = np.tanh(1.5 * h) + 0.1 * h
    return np.sum(h ** 2)


CHECKPOINT_PLACES = [(uses_checkpoint, "with tangent_src.checkpoint()")]


def test_checkpoint_reverse():
    check_reverse(uses_checkpoint, (X3,), 0, CHECKPOINT_PLACES)


def test_checkpoint_forward():
    check_forward(uses_checkpoint, (X3,), [0], CHECKPOINT_PLACES)


def breaks_a_checkpointed_loop(x, n):
    with tangent_src.checkpoint(every=2):
        for _i in range(n):
            x = np.tanh(1.5 * x) + 0.1 * x
            if np.sum(x) > 0.5:
                break  # leaves the checkpointed loop
    return np.sum(x ** 2)


def breaks_a_loop_inside_one(x, n):
    with tangent_src.checkpoint(every=2):
        for _i in range(n):
            for _ in range(3):
                x = np.tanh(1.5 * x) + 0.1 * x
                if np.sum(x) > 0.5:
                    break  # leaves the inner loop only
    return np.sum(x ** 2)


def test_break_of_a_checkpointed_loop_is_refused_where_it_is():
    """The segments replay the range (a while-loop has none): refused at the break, by
    name, rather than as a checkpoint() without a loop."""
    with pytest.raises(UserCodeError) as info:
        tangent_src.grad(breaks_a_checkpointed_loop)(X3, 5)
    err = info.value
    assert_located(err, [(breaks_a_checkpointed_loop, "break  # leaves")])
    assert err.construct == "break in a loop under checkpoint()"
    assert err.source_line[err.col:].startswith("break")
    assert "without a for-loop" not in str(err) and "if not done" in err.hint
    assert check_reverse(breaks_a_loop_inside_one, (X3, 5), 0, []) == "supported"


# --------------------------------------------------------------------------- the checker itself
def _bad_location_error():
    return UserCodeError("made up", filename=__file__, lineno=line_of(uses_try, "try:") + 1,
                         col=4, source_line=linecache.getline(__file__,
                                                              line_of(uses_try, "try:") + 1),
                         hint="a hint")


def test_assert_located_rejects_wrong_line_and_missing_hint():
    """The checker is strict: a wrong line, a missing hint or a plain TangentError fail it."""
    with pytest.raises(AssertionError):
        assert_located(_bad_location_error(), TRY_PLACES)
    line = line_of(uses_try, "try:")
    no_hint = UserCodeError("made up", filename=__file__, lineno=line, col=4,
                            source_line=linecache.getline(__file__, line), hint="")
    with pytest.raises(AssertionError):
        assert_located(no_hint, TRY_PLACES)
    with pytest.raises(AssertionError):
        assert_located(TangentError("unlocated"), TRY_PLACES)
    good = UserCodeError("made up", filename=__file__, lineno=line, col=4,
                         source_line=linecache.getline(__file__, line), hint="a hint")
    assert_located(good, TRY_PLACES)
