"""pipeline.py names the stages in order; the README's "How it works" table is that list,
every module it names exists, and the options reach the compiler."""
from __future__ import annotations

import pathlib
import re

import numpy as np

import tangent_src
from tangent_src import pipeline
from tangent_src.compiler import ModuleBuilder

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _readme_rows() -> list[tuple[str, str, str]]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## How it works"):]
    section = section[:section.index("\n## ", 5)]
    return [(m.group(1), m.group(2), m.group(3)) for m in
            re.finditer(r"^\| ([^|`]+?) \| `([^`]+)` \| ([^|]+?) \|$", section, re.M)]


def test_readme_lists_the_pipeline_stages_in_order():
    assert _readme_rows() == [(s.name, s.module, s.does) for s in pipeline.STAGES]


def test_every_stage_module_exists():
    for stage in pipeline.STAGES:
        for part in stage.module.split(", "):
            assert (ROOT / "tangent_src" / part).exists(), (stage.name, part)


def test_options_turn_the_optimizer_off(monkeypatch):
    def f(x):
        y = np.sin(x) * 1.0
        return y * y

    plain = ModuleBuilder(options=pipeline.Options(optimize=False))
    tidy = ModuleBuilder(options=pipeline.Options(optimize=True))
    text_plain = plain.source(plain.gradient(f, (0,)))
    text_tidy = tidy.source(tidy.gradient(f, (0,)))
    assert len(text_tidy.splitlines()) < len(text_plain.splitlines())
    monkeypatch.setenv("TANGENT_SRC_NO_OPT", "1")
    assert pipeline.Options().optimize is False
    monkeypatch.delenv("TANGENT_SRC_NO_OPT")
    assert pipeline.Options().optimize is True
    x = 0.7
    expected = 2 * np.sin(x) * np.cos(x)
    assert abs(tangent_src.grad(f)(x) - expected) < 1e-12
