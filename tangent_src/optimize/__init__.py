"""Clean generated code until nothing changes: one pass per module, run to a fixed point.

Every pass has the signature `pass_(body, inplace, protected) -> bool` (whether it changed
anything): `inplace` are adjoints updated in place by `add_at` (never aliased),
`protected` the user-visible names (never renamed or inlined away). Statements are pure
except tape pushes/pops and `add_at`. Each module's docstring shows a before/after.
"""
from __future__ import annotations

import warnings

import gast

from ..errors import OptimizerWarning
from .accumulate import accumulate_in_place, accumulate_straight, own_accumulators
from .algebra import algebra
from .coalesce import coalesce
from .concat_pieces import concat_pieces
from .copies import copies
from .dead_code import dead_code, live_before
from .direct_numpy import direct_numpy
from .exact_calls import exact_calls
from .fused_at import fused_at
from .inline import inline
from .inplace_writes import write_in_place
from .markers import drop_empty_markers
from .outers import outers
from .reuse_values import reuse_values
from .short_sums import short_sums
from .stack_pops import stack_pops
from .subtract import subtract
from .sum_first import sum_first
from .tiled_slices import join_slices, tiled_slices
from .tuple_adjoints import tuple_adjoints
from .written import written
from .zeros import zeros

# The fixed-point passes, in the order each round runs them.
PASSES = (zeros, coalesce, copies, dead_code, algebra, inline, subtract, written,
          tiled_slices, tuple_adjoints)
MAX_ROUNDS = 50

__all__ = ["PASSES", "MAX_ROUNDS", "optimize", "own_accumulators", "live_before",
           "accumulate_in_place", "concat_pieces", "direct_numpy", "drop_empty_markers",
           "exact_calls", "fused_at", "join_slices", "outers", "reuse_values", "stack_pops",
           "sum_first", "write_in_place"]


def optimize(func: gast.FunctionDef, inplace: set[str], protected: set[str],
             hoist: bool = True, joins: bool = False) -> int:
    """Run every pass until none reports a change, then the one-off finishing passes;
    the number of rounds run. `hoist` adds `outers` (summed per-step outer products as
    one product after the loop) and `sum_first` (a product's adjoint summed before the
    product) to each round: not for code differentiated again. `joins` runs
    `join_slices` (tiled_slices.py) once at the end: slice adjoints the fixed point could
    not join, joined with their values held, by runtime join_slices for constant bounds
    (the Python back end only).
    Reaching MAX_ROUNDS (a pass that keeps reporting changes)
    leaves correct but less simplified code, and says so with an OptimizerWarning."""
    rounds, changed = 0, True
    while changed and rounds < MAX_ROUNDS:
        rounds += 1
        changed = False
        for pass_ in PASSES + ((outers, sum_first) if hoist else ()):
            changed |= pass_(func.body, inplace, protected)
    if changed:
        warnings.warn(f"the optimizer of {func.name} stopped after {MAX_ROUNDS} rounds "
                      "without settling; the generated code is correct but may be less "
                      "simplified (please report it)", OptimizerWarning, stacklevel=2)
    params = {a.id for a in func.args.posonlyargs + func.args.args + func.args.kwonlyargs}
    reuse_values(func)
    if joins:
        join_slices(func.body)
        short_sums(func.body)
    exact_calls(func.body)
    accumulate_in_place(func.body, inplace | params)  # a parameter's array is the caller's
    if joins:
        accumulate_straight(func.body)
    drop_empty_markers(func.body)
    return rounds
