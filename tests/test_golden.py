"""Golden files: the generated gradient source of each case in golden/cases.py is fixed text.

A mismatch means the compiler's output changed. If the change is intended, review the diff
and run ``python tests/golden_tools.py --update``.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import pytest

_TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
if _TESTS_DIR not in sys.path:  # golden_tools lives next to this file
    sys.path.insert(0, _TESTS_DIR)
golden_tools = importlib.import_module("golden_tools")

CASES = golden_tools.cases()
NAMES = [name for name, _, _ in CASES]


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
