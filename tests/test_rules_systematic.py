"""Every registered derivative rule called the way other autodiff libraries' test suites
call NumPy and SciPy (autograd's test_numpy / test_systematic / test_scipy / test_linalg,
JAX's lax_numpy autodiff tests): the table of call forms is tests/rulecases.py. Each case is
checked in float64 against central finite differences in reverse mode (every element),
forward mode (a random direction and every coordinate) and, where marked, at order 2.

A case may be refused with a TangentError (a located, explained refusal: a function with
no rule, an argument its rule does not take, a case a rule does not implement); refusals
are listed in the terminal summary, not failed. A wrong value (WRONG) or any other
exception (CRASH) fails. TANGENT_SRC_LONG=1 runs every case and more shapes.
"""
from __future__ import annotations

import re

import pytest
import rulecases as rc

from tangent_src import runtime
from tangent_src.rules import REGISTRY
from tangent_src.rules import stats as stats_rules

CASES = rc.selected(rc.CASES)
MODULE, SAMPLES = rc.build(CASES, "systematic_cases")
REFUSED: list[tuple[str, str]] = []


@pytest.fixture(scope="module")
def refusals(request):
    """Collects the refused cases and prints them once, after the module's tests."""
    yield REFUSED
    plugins = request.config.pluginmanager
    reporter = plugins.get_plugin("terminalreporter")
    capture = plugins.get_plugin("capturemanager")
    if reporter is None or capture is None or not REFUSED:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line("")
        reporter.write_line(f"test_rules_systematic: {len(REFUSED)} of {len(CASES)} call "
                            "forms refused with a TangentError:")
        for case_id, detail in REFUSED:
            reason = re.sub(r"\S*systematic_cases\.py:\d+:\d+: ", "", detail.splitlines()[0])
            reporter.write_line(f"  {case_id}: {reason[:150]}")


@pytest.mark.parametrize("n", [pytest.param(n, id=c.id) for n, c in enumerate(CASES)])
def test_call_form(n, refusals):
    case = CASES[n]
    outcome, detail = rc.run_case(MODULE, case, SAMPLES[n])
    if outcome == "refused":
        refusals.append((case.id, detail))
        return
    assert outcome == "ok", f"{outcome}: {case.id}: {detail}"


def test_every_registered_function_has_a_call_form():
    """Every NumPy, SciPy, math and builtin callable and every operator with a rule is
    called by some case of the table (the runtime helpers are exercised through them)."""
    helpers = {getattr(runtime, h) for h in dir(runtime) if callable(getattr(runtime, h))}
    registered = {k for k in REGISTRY.adjoints if k not in helpers and _library(k)}
    registered -= set(stats_rules.CALLABLES)  # each checked by tests/test_rules_stats.py
    covered = rc.exercised(MODULE, rc.CASES)
    missing = sorted(map(repr, registered - covered))
    assert not missing, f"no call form for {missing}"


def _library(key) -> bool:
    """A NumPy, SciPy, math or builtin callable or an operator class (not a rule that a
    user, or another test, registered for its own function)."""
    if isinstance(key, str) or "Missing" in type(key).__name__:
        return False
    module = getattr(key, "__module__", None) or type(key).__module__
    return module.split(".")[0] in ("numpy", "scipy", "math", "builtins", "gast")
