"""The compiler's stages, in the order a function goes through them, and its options.

    user function
      -> source -> aliases -> lower -> anf -> [inline] -> analyses
      -> reverse or forward -> optimize -> accumulators -> [split] -> emit -> load

`STAGES` names each stage, the module that does it and what it does; the README's
"How it works" is this table (a test checks that they agree). `front_end` and
`back_end` run the stages on either side of the transform, with the options as
parameters; compiler.ModuleBuilder calls them for each function it generates.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import gast

from .frontend.aliases import check_aliased_writes
from .frontend.anf import to_anf
from .frontend.lower import lower
from .frontend.source import ParsedFunction
from .naming import Namer
from .optimize import (
    concat_pieces,
    direct_numpy,
    fused_at,
    optimize,
    own_accumulators,
    stack_pops,
    write_in_place,
)
from .request import default_optimize


@dataclass(frozen=True)
class Stage:
    name: str
    module: str
    does: str


STAGES = (
    Stage("source", "frontend/source.py",
          "read the source (file and line numbers kept), parse it, bind every free name"),
    Stage("aliases", "frontend/aliases.py",
          "refuse in-place writes into arrays that may share memory with another name"),
    Stage("lower", "frontend/lower/",
          "desugar to the core language: loops with flags for break/continue, one return"),
    Stage("anf", "frontend/anf.py",
          "one operation per statement, versioned names (h, h2) instead of overwrites"),
    Stage("inline", "transform/inline.py",
          "inline user functions (only for code that will be differentiated again)"),
    Stage("analyses", "analysis/",
          "activity (what varies with the inputs) and shape classes"),
    Stage("reverse or forward", "transform/",
          "reverse: primal and adjoint sweeps, tapes in loops; forward: tangents beside values"),
    Stage("optimize", "optimize/",
          "zero and copy propagation, dead code and tapes, inlining temporaries, algebra"),
    Stage("accumulators", "optimize/accumulate.py",
          "every array updated in place by add_at is one the function allocated"),
    Stage("split", "transform/split.py",
          "a called function's gradient as a forward/backward pair"),
    Stage("emit", "backend/emit.py, backend/assemble.py",
          "gast -> source with line comments, imports and the module's free names"),
    Stage("load", "backend/load.py, backend/numba.py",
          "execute in memory (linecache for tracebacks) or compile with numba"),
)


@dataclass(frozen=True)
class Options:
    """How the pipeline runs (not what it differentiates: that is the request)."""
    optimize: bool = field(default_factory=default_optimize)
    inline: bool = False  # inline user functions: for generated code differentiated again
    # inline small straight-line user functions into first-order code (both back ends: a
    # pair costs two calls and a saved tuple, and inlined bodies fuse with their callers)
    inline_small: bool = True
    # adjoints added into constant slices of an axis that may tile it built by one runtime
    # join_slices (the Python back end: numba has no implementation of it, and compiles
    # add_at as a loop); proven tilings are np.concatenate in every back end regardless
    numpy_joins: bool = True
    # accumulations of matrix-vector products fused into one helper (optimize/fused_at.py):
    # the numba back end, where they save a temporary and a BLAS call per small row
    fused_products: bool = False
    # loop values that are elementwise arithmetic of recomputable arrays recomputed by the
    # backward pass instead of taped (transform/recompute.py): the numba back end, where a
    # tape of arrays costs more than the arithmetic
    recompute_arrays: bool = False


def front_end(parsed: ParsedFunction, namer: Namer, dicts: frozenset,
              callee: bool = False) -> tuple:
    """source -> aliases -> lower -> anf: (core function, the in-place write sites that
    later stages decide on). `dicts` names the parameters known to be dicts; a `callee`
    (not the function asked for) that is a generator is lowered to the list it yields."""
    sites = check_aliased_writes(parsed, parsed.node)
    lowered = lower(parsed, namer, dicts, consumed_whole=callee)
    return to_anf(parsed, lowered, namer), sites


def back_end(node: gast.FunctionDef, inplace: set, protected: set, options: Options) -> None:
    """optimize -> accumulators -> in-place writes -> fused accumulations, on a generated
    function in place."""
    if options.optimize:
        optimize(node, inplace, protected, hoist=not options.inline,
                 joins=options.numpy_joins and not options.inline)
    own_accumulators(node)
    if options.optimize and not options.inline:  # in-place writes have no rules
        write_in_place(node)
        fused_at(node.body, inplace, protected, products=options.fused_products)
        if options.numpy_joins:  # the Python back end (numba compiles its own loops)
            direct_numpy(node.body)
        concat_pieces(node)  # both back ends: views of the adjoint, no helper call
        stack_pops(node)  # both back ends: a stack's adjoint popped as its rows
