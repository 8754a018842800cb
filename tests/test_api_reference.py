"""docs/api.md is generated from the docstrings and signatures of the public API (issue 15:
an API reference kept in sync by a test)."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import tangent_src

ROOT = Path(__file__).resolve().parents[1]


def load_script():
    spec = importlib.util.spec_from_file_location("api_reference",
                                                  ROOT / "scripts" / "api_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_api_reference_is_fresh():
    assert (ROOT / "docs" / "api.md").read_text() == load_script().render(), \
        "docs/api.md is stale: run python scripts/api_reference.py"


def test_every_export_is_documented_once_with_a_docstring():
    text = (ROOT / "docs" / "api.md").read_text()
    for name in tangent_src.__all__:
        # the heading is the name, then its signature or the closing backtick
        assert len(re.findall(rf"^### `tangent_src\.{name}[(`]", text, re.M)) == 1, name
    assert "(no docstring)" not in text
