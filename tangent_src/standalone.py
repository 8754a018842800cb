"""Standalone derivative modules: the source `tangent-src grad/jvp` writes and
`standalone_source` returns, complete and runnable without tangent_src (the general
version, for arguments of any shape)."""
from __future__ import annotations

from . import guards
from .analysis.complexity import with_complex_args
from .compiled import compiled_module
from .compiler import ModuleBuilder
from .errors import NotDifferentiableError
from .gcpause import pauses_gc
from .pipeline import Options
from .request import Request, make_request
from .tracebacks import generation_errors_short


def standalone_request(func, wrt=0, mode: str = "reverse", order: int = 1,
                       numba: bool = False) -> Request:
    """The request `standalone_source` (and the command line) builds: `numba=True` is the
    numba back end, as `backend="numba"` is for grad."""
    return make_request(func, wrt, kind=mode, mode=mode, order=order,
                        backend="numba" if numba else "python")


@generation_errors_short
@pauses_gc  # generating code: see gcpause
def standalone_source(func, wrt=0, name: str | None = None, mode: str = "reverse",
                      order: int = 1, numba: bool = False, complex_args=()) -> str:
    """A complete module defining the derivative of `func`, runnable without tangent_src.

    order > 1 differentiates the generated derivative again (the same `wrt` each time),
    e.g. order=2 with mode="reverse" gives d/dx of the gradient of a scalar function.
    numba=True decorates the generated functions with numba.njit. The code is for real
    arguments, except those named (or given by position) in `complex_args`, for which it
    is generated as grad generates it for complex values (docs/conventions.md)."""
    request = standalone_request(func, wrt, mode, order, numba)
    if complex_args and numba:
        raise NotDifferentiableError("numba=True does not compile code for complex arguments")
    classes = with_complex_args((), complex_args)
    func = guards.differentiable_target(func)
    for _ in range(order - 1):  # each time the generated derivative, as plain Python
        func = compiled_module(request.with_func(func, backend="python"), classes,
                               inline=True).function
    builder = ModuleBuilder(options=Options(optimize=request.optimize, numpy_joins=not numba,
                                            fused_products=numba, recompute_arrays=numba))
    if mode == "reverse":  # a first derivative's output not proven scalar is checked
        check = order == 1 and not numba and builder.output_kind(func, ()) != "scalar"
        main = builder.gradient(func, request.wrt, name=name, check_output=check,
                                arg_classes=classes)
    else:
        main = builder.tangent(func, request.wrt, name=name, arg_classes=classes)
    return builder.source(main, standalone=True, numba=request.backend == "numba")
