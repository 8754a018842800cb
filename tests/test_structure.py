"""The package's structure stays the pipeline's (issue 12): small modules that say their
job, no reaching into another module's private names, and a front end that knows nothing
of derivative rules, the runtime or gradient surgery."""
from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "tangent_src"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_LINES = 450


def _tree(path: pathlib.Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _name(path: pathlib.Path) -> str:
    return str(path.relative_to(PACKAGE.parent))


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_module_is_small_and_says_its_job(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines; split it by job"
    if path.name != "__init__.py" or lines > 5:
        assert ast.get_docstring(_tree(path)), f"{_name(path)} has no module docstring"


def _imports(path: pathlib.Path):
    """(module imported from, names) for every `from ... import ...` of the package."""
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith(
                "tangent_src")):
            yield node.module or "", [a.name for a in node.names]


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_private_names_imported_from_another_module(path):
    private = [(module, name) for module, names in _imports(path) for name in names
               if name.startswith("_")]
    assert not private, f"{_name(path)} imports private names: {private}"


@pytest.mark.parametrize("path", sorted((PACKAGE / "frontend").rglob("*.py")), ids=_name)
def test_the_front_end_knows_no_rules_runtime_or_surgery(path):
    known = {part for module, names in _imports(path)
             for part in [*(module or "").split("."), *names]}
    assert not known & {"rules", "runtime", "surgery", "derivatives", "transform"}, (
        f"{_name(path)} imports {sorted(known & {'rules', 'runtime', 'surgery'})}")
