"""Golden files: the generated derivative source of each case in golden/cases.py is fixed text.

A mismatch means the compiler's output changed. If the change is intended, review the diff
and run ``python tests/golden_tools.py --update``. The forward-mode and second-derivative
golden files are also run, and their values compared with central finite differences.
"""
from __future__ import annotations

import ast
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
    unknown = set(getattr(cases_module, "CHECK_ARGS", {})) - {name for name, _, _ in FORWARD}
    assert not unknown, f"CHECK_ARGS for cases that are not in FORWARD: {sorted(unknown)}"


def _golden_function(name: str, function_name: str):
    """Execute golden/<name>.py as a module and return its function `function_name`."""
    text = _read_golden(name)
    defined = [node.name for node in ast.parse(text).body if isinstance(node, ast.FunctionDef)]
    assert function_name in defined, (
        f"golden/{name}.py defines {defined}, not the expected {function_name}")
    path = golden_tools.golden_path(name)
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
