"""A bounded differential fuzzing run (issue 10): 200 generated programs with fixed seeds,
each differentiated by tangent_src and compared with central finite differences.

The programs come from tests/fuzzgen.py (loops with first assignments and breaks,
closures, argument mutation, aliasing, pytrees, np.r_, boundary values, ...). Every
program is checked in reverse mode (value_and_grad, called twice: the first call and the
cached one); forward mode (jvp) on every second seed and a Hessian-vector product on
every fourth, which keeps the run under a minute on one core. Refusals (a TangentError)
are allowed; a wrong value, a crash or a mutated input/global is not. A failure prints
each failing program with its seed; `python scripts/fuzz.py --replay SEED` reruns one.
"""
from __future__ import annotations

import collections

import fuzzgen

import tangent_src

SEEDS = range(1_000_000, 1_000_200)


def _modes(seed: int) -> tuple:
    modes = ["rev-light"]
    if seed % 2 == 0:
        modes.append("fwd")
    if seed % 4 == 1:
        modes.append("hvp")
    return tuple(modes)


def test_fuzz_programs_match_finite_differences():
    failures = []
    counts: collections.Counter = collections.Counter()
    for k, seed in enumerate(SEEDS):
        if k % 50 == 0:
            tangent_src.clear_cache()
        program = fuzzgen.generate(seed)
        outcome = fuzzgen.check(program, _modes(seed))
        counts[outcome.category] += 1
        if outcome.category in (fuzzgen.WRONG, fuzzgen.CRASH, fuzzgen.MUTATION):
            failures.append(outcome)
    assert counts[fuzzgen.INVALID] == 0, "the generator wrote an invalid program"
    if failures:
        text = "\n\n".join(
            f"{o.report()}\n# replay: python scripts/fuzz.py --replay {o.seed}\n{o.source}"
            for o in failures)
        raise AssertionError(f"{len(failures)} of {len(SEEDS)} programs failed "
                             f"({dict(counts)}):\n\n{text}")
