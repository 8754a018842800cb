"""Golden files: the generated derivative source of each case in golden/cases.py is fixed text.

A mismatch means the compiler's output changed. If the change is intended, review the diff
and run ``python tests/golden_tools.py --update``. Every golden file is also run: the
gradients, the forward-mode and the second derivatives are compared with central finite
differences of the case's function in float64.
"""
from __future__ import annotations

import ast
import copy
import difflib
import importlib
import importlib.util
import inspect
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if _TESTS_DIR not in sys.path:  # golden_tools lives next to this file
    sys.path.insert(0, _TESTS_DIR)
golden_tools = importlib.import_module("golden_tools")

CASES = golden_tools.cases()
NAMES = [name for name, _, _ in CASES]
FORWARD = golden_tools.cases_of_kind("forward")
SECOND = golden_tools.cases_of_kind("second")
GRADIENT = golden_tools.cases_of_kind("grad")  # the CASES and SPECIALIZED tables
NAMES_OF_GRADIENT = [name for name, _, _ in GRADIENT]


def _read_golden(name: str) -> str:
    path = golden_tools.golden_path(name)
    if not path.exists():
        pytest.fail(f"missing golden file golden/{name}.py; create it with "
                    f"`{golden_tools.UPDATE_COMMAND} {name}`", pytrace=False)
    return path.read_text(encoding="utf-8")


def _ruff_command() -> list[str]:
    if importlib.util.find_spec("ruff") is not None:  # the pip package, as in the test extra
        return [sys.executable, "-m", "ruff"]
    exe = shutil.which("ruff")
    if exe is None:
        pytest.fail("ruff is not installed; it is part of the test extra: "
                    "pip install -e '.[test]'", pytrace=False)
    return [exe]


@pytest.fixture(scope="module")
def ruff_diagnostics() -> dict[str, list[str]]:
    """Run ruff once over all golden files; map each file's real path to its findings."""
    files = [str(golden_tools.golden_path(n)) for n in NAMES
             if golden_tools.golden_path(n).exists()]
    if not files:
        return {}
    cmd = _ruff_command() + ["check", "--isolated", "--no-cache", "--select", "F,E,W",
                             "--ignore", "E501", "--output-format", "json", *files]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=golden_tools.REPO,
                          check=False)
    if proc.returncode not in (0, 1):
        pytest.fail(f"ruff failed (exit {proc.returncode}):\n{proc.stderr}", pytrace=False)
    findings: dict[str, list[str]] = {}
    for item in json.loads(proc.stdout or "[]"):
        loc = item.get("location") or {}
        text = (f"{os.path.basename(item['filename'])}:{loc.get('row')}:{loc.get('column')}: "
                f"{item.get('code') or 'error'} {item.get('message')}")
        findings.setdefault(os.path.realpath(item["filename"]), []).append(text)
    return findings


def test_case_table_is_well_formed():
    assert len(CASES) >= 22
    assert len(set(NAMES)) == len(NAMES), "case names must be unique"
    for name, func, wrt in CASES:
        assert name.isidentifier() and name not in golden_tools.NOT_GOLDEN, name
        assert callable(func), name
        assert isinstance(wrt, (int, str, tuple)), name


def test_no_stale_golden_files():
    stale = [p.name for p in golden_tools.stale_golden_files()]
    assert not stale, (f"golden files without a case: {stale}; delete them or run "
                       f"`{golden_tools.UPDATE_COMMAND}`")


@pytest.mark.parametrize("name", NAMES)
def test_source_matches_golden(name):
    expected = _read_golden(name)
    actual = golden_tools.render(name)
    if actual != expected:
        diff = "".join(difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True),
            fromfile=f"golden/{name}.py", tofile=f"regenerated {name}"))
        pytest.fail(f"generated source for {name!r} differs from golden/{name}.py:\n{diff}\n"
                    f"If this change is intended, run `{golden_tools.UPDATE_COMMAND}` "
                    f"and commit the updated golden files.", pytrace=False)


@pytest.mark.parametrize("name", NAMES)
def test_golden_is_ruff_clean(name, ruff_diagnostics):
    _read_golden(name)
    found = ruff_diagnostics.get(os.path.realpath(golden_tools.golden_path(name)), [])
    if found:
        pytest.fail("ruff (F, E, W; E501 ignored) reports:\n" + "\n".join(found),
                    pytrace=False)


@pytest.mark.parametrize("name", NAMES)
def test_golden_compiles(name):
    text = _read_golden(name)
    compile(text, str(golden_tools.golden_path(name)), "exec")


# --------------------------------------------------------------------------- forward, second


def test_forward_and_second_tables_are_well_formed():
    assert len(FORWARD) >= 5 and len(SECOND) >= 3
    cases_module = golden_tools.load_cases_module()
    for row in cases_module.FORWARD + cases_module.SECOND:
        assert len(row) == 4, row
        name, _, _, make_args = row
        assert make_args is None or callable(make_args), name
    for name, _, wrt in SECOND:
        assert isinstance(wrt, (int, str)), f"{name}: SECOND cases take one wrt argument"
        assert golden_tools.example_args(name) is not None, f"{name}: SECOND is specialized"
    unknown = (set(getattr(cases_module, "CHECK_ARGS", {}))
               - {name for name, _, _ in FORWARD + GRADIENT})
    assert not unknown, ("CHECK_ARGS for cases that are not in FORWARD, CASES or "
                         f"SPECIALIZED: {sorted(unknown)}")


def test_every_gradient_case_has_check_arguments():
    """Every gradient golden file is run; a general case needs CHECK_ARGS for that, and
    CHECK_ARGS of a specialized case must have the shapes its source is specialized to."""
    from tangent_src.analysis.shapes import shape_class

    assert len(GRADIENT) >= 30
    cases_module = golden_tools.load_cases_module()
    check_args = getattr(cases_module, "CHECK_ARGS", {})
    for name, func, _ in GRADIENT:
        args = golden_tools.check_args(name)
        assert isinstance(args, tuple), (
            f"{name}: add arguments for running golden/{name}.py to CHECK_ARGS in "
            "golden/cases.py")
        inspect.signature(func).bind(*args)
        example = golden_tools.example_args(name)
        if example is not None and name in check_args:
            assert [shape_class(a) for a in args] == [shape_class(a) for a in example], (
                f"{name}: CHECK_ARGS differ in shape from the example arguments")
    unknown = set(getattr(cases_module, "HAND_GRADIENTS", {})) - set(NAMES_OF_GRADIENT)
    assert not unknown, f"HAND_GRADIENTS for cases that are not gradients: {sorted(unknown)}"


def _golden_function(name: str, function_name: str):
    """Execute golden/<name>.py as a module and return its function `function_name`."""
    text = _read_golden(name)
    defined = [node.name for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)]
    assert function_name in defined, (
        f"golden/{name}.py defines {defined}, not the expected {function_name}")
    path = golden_tools.golden_path(name)
    # Golden files reach the globals of cases.py (SCALE, softplus) by importing them from
    # golden_cases; a fresh namespace keeps a missing import an error here too.
    golden_tools.load_cases_module()
    namespace = {"__name__": f"_golden_{name}", "__file__": str(path)}
    exec(compile(text, str(path), "exec"), namespace)
    return namespace[function_name]


def _positions(func, wrt) -> list[int]:
    params = list(inspect.signature(func).parameters)
    return [w if isinstance(w, int) else params.index(w)
            for w in (wrt if isinstance(wrt, tuple) else (wrt,))]


def _shifted(args: tuple, direction: dict, step: float) -> list:
    new = list(args)
    for index, tangent in direction.items():
        new[index] = args[index] + step * tangent
    return new


@pytest.mark.parametrize("name", [name for name, _, _ in FORWARD])
def test_forward_golden_computes_the_directional_derivative(name):
    _, func, wrt = next(case for case in FORWARD if case[0] == name)
    args = golden_tools.check_args(name)
    assert args is not None, (f"{name}: a general FORWARD case needs arguments for this "
                              "check in CHECK_ARGS (golden/cases.py)")
    jvp = _golden_function(name, "jvp_" + func.__name__)
    positions = _positions(func, wrt)
    rng = np.random.default_rng(1)
    direction = {p: rng.normal(size=np.shape(args[p])) if np.ndim(args[p]) else
                 float(rng.normal()) for p in positions}
    # the tangent parameters follow all of func's parameters, one per wrt argument, in order
    tangent_names = list(inspect.signature(jvp).parameters)[
        len(inspect.signature(func).parameters):]
    assert len(tangent_names) == len(positions), tangent_names
    result = jvp(*args, **{t: direction[p] for t, p in zip(tangent_names, positions)})

    h = 1e-6
    expected = (np.asarray(func(*_shifted(args, direction, h)), dtype=float)
                - np.asarray(func(*_shifted(args, direction, -h)), dtype=float)) / (2 * h)
    assert np.shape(result) == np.shape(expected)
    np.testing.assert_allclose(np.asarray(result, dtype=float), expected, rtol=1e-5,
                               atol=1e-7)


@pytest.mark.parametrize("name", [name for name, _, _ in SECOND])
def test_second_derivative_golden_computes_the_second_derivative(name):
    _, func, wrt = next(case for case in SECOND if case[0] == name)
    args = golden_tools.check_args(name)
    second = _golden_function(name, "dd" + func.__name__)
    (position,) = _positions(func, wrt)
    result = second(*args)  # both seeds default to 1.0
    assert np.ndim(result) == 0

    h = 1e-4
    def at(step):
        return float(func(*_shifted(args, {position: 1.0}, step)))

    expected = (at(h) - 2.0 * at(0.0) + at(-h)) / (h * h)
    np.testing.assert_allclose(float(result), expected, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- gradients

FD_STEP = 1e-6


def _central(loss, value: float) -> float:
    return (loss(value + FD_STEP) - loss(value - FD_STEP)) / (2.0 * FD_STEP)


def _replaced(items, index: int, new):
    """A copy of the list or tuple (named tuples too) `items` with items[index] = new."""
    changed = list(items)
    changed[index] = new
    if isinstance(items, list):
        return changed
    return type(items)(*changed) if hasattr(items, "_fields") else tuple(changed)


def _with_attribute(obj, attribute: str, new):
    obj = copy.copy(obj)
    setattr(obj, attribute, new)
    return obj


def _fd_gradient(value, loss):
    """Central differences of the scalar `loss(v)` at `v = value`, one entry at a time, in
    the structure tangent_src returns for the gradient of `value`: a dict, list or tuple of
    the gradients of its items; a dict of the float, array and container attributes of a
    parameter object; zero for an integer inside a container (a constant)."""
    if isinstance(value, dict):
        return {key: _fd_gradient(item, lambda new, key=key: loss({**value, key: new}))
                for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_fd_gradient(item, lambda new, i=i: loss(_replaced(value, i, new)))
                 for i, item in enumerate(value)]
        if isinstance(value, list):
            return items
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    if isinstance(value, np.ndarray):
        grad = np.zeros(value.shape)
        for index in np.ndindex(value.shape):
            def moved(entry, index=index):
                new = value.astype(float)  # a copy
                new[index] = entry
                return loss(new)
            grad[index] = _central(moved, float(value[index]))
        return grad
    if isinstance(value, (bool, int, np.integer)):
        return 0.0
    if isinstance(value, (float, np.floating)):
        return _central(loss, float(value))
    if hasattr(value, "__dict__"):
        return {key: _fd_gradient(item, lambda new, key=key: loss(
                    _with_attribute(value, key, new)))
                for key, item in vars(value).items()
                if isinstance(item, (float, np.ndarray, tuple, list, dict))}
    raise TypeError(f"no finite differences for a {type(value).__name__}")


def _assert_tree_close(actual, expected, where: str) -> None:
    """`actual` has the structure of `expected`, and agrees with it at every leaf."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {type(actual).__name__}, not a dict"
        assert set(actual) == set(expected), f"{where}: keys {set(actual)} != {set(expected)}"
        for key in expected:
            _assert_tree_close(actual[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert isinstance(actual, type(expected)), (
            f"{where}: {type(actual).__name__}, not a {type(expected).__name__}")
        assert len(actual) == len(expected), f"{where}: {len(actual)} != {len(expected)} items"
        for i, (a, e) in enumerate(zip(actual, expected)):
            _assert_tree_close(a, e, f"{where}[{i}]")
    else:
        assert np.shape(actual) == np.shape(expected), (
            f"{where}: shape {np.shape(actual)}, expected {np.shape(expected)}")
        np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=1e-5,
                                   atol=1e-7, err_msg=where)


def _seeded_loss(func, seed):
    """sum(seed * func(*args)) in float64 (func's value when it is a scalar and seed None)."""
    def loss(args):
        value = np.asarray(func(*copy.deepcopy(args)), dtype=float)
        return float(value) if seed is None else float(np.sum(seed * value))
    return loss


@pytest.mark.parametrize("name", NAMES_OF_GRADIENT)
def test_gradient_golden_matches_finite_differences(name):
    _, func, wrt = next(case for case in GRADIENT if case[0] == name)
    args = golden_tools.check_args(name)
    assert args is not None, (f"{name}: a general case needs arguments for this check in "
                              "CHECK_ARGS (golden/cases.py)")
    gradient = _golden_function(name, "d" + func.__name__)
    params = inspect.signature(gradient).parameters
    # the output's seed follows all of func's parameters and defaults to 1.0
    seeds = list(params)[len(inspect.signature(func).parameters):]
    assert len(seeds) == 1 and params[seeds[0]].default == 1.0, list(params)
    output = func(*copy.deepcopy(args))
    seed = None
    if np.ndim(output):  # seed a non-scalar output with random weights
        seed = np.random.default_rng(3).normal(size=np.shape(output))
    result = gradient(*copy.deepcopy(args), **({} if seed is None else {seeds[0]: seed}))

    positions = _positions(func, wrt)
    if isinstance(wrt, tuple):
        assert isinstance(result, tuple) and len(result) == len(positions), result
    results = result if isinstance(wrt, tuple) else (result,)
    hand = getattr(golden_tools.load_cases_module(), "HAND_GRADIENTS", {}).get(name)
    loss = _seeded_loss(func, seed)
    names = list(inspect.signature(func).parameters)
    for position, actual in zip(positions, results):
        if hand is not None:
            expected = hand(*args)
        else:
            expected = _fd_gradient(args[position], lambda new, p=position: loss(
                _replaced(args, p, new)))
        _assert_tree_close(actual, expected, f"{name}: gradient wrt {names[position]}")
