"""How numba compiles a run of elementwise statements that numba_fusion.py moved into a
function of its own (a "kernel"): entry by entry into one array per result, instead of one
array per statement.

It does so only when every argument is a 1-D float64 array, all of one length n at run
time, and the kernel called on those arrays returns 1-D float64 arrays: then nothing in the
run broadcasts, and entry i of every result is the same scalar operations, in the same
order, on entry i of the arguments (the same bits). Scalars are computed with NumPy's
error model (1.0 / 0.0 is inf, as for arrays, not ZeroDivisionError). A run calling one of
numba_ufuncs' stubs stays whole-array from the length at which the stub hands the array to
NumPy's own loop (whose bits may differ from numba's scalar function). Anything else is
the kernel called on the arrays, as the Python back end runs it.

The kernel is an overload of its Python function (not a function passed as a value, which
numba could not cache to disk), inlined into its caller; its whole-array form (scalars,
broadcasting, matrices) is the kernel compiled as written, and its per-entry form the
kernel compiled for scalars with NumPy's error model.
"""
from __future__ import annotations

import sys

import numba
import numpy as np
from numba import types
from numba.core.registry import cpu_target
from numba.extending import overload

from .numba_ufuncs import LARGE


def _float_vectors(items) -> bool:
    return all(isinstance(t, types.Array) and t.ndim == 1 and t.dtype == types.float64
               for t in items)


def _return_types(dispatcher, arg_types):
    """The tuple of types `dispatcher` returns for `arg_types`, or None."""
    try:
        sig = types.Dispatcher(dispatcher).get_call_type(cpu_target.typing_context,
                                                         tuple(arg_types), {})
    except Exception:  # noqa: BLE001 - not typable so: stay whole-array
        return None
    result = getattr(sig, "return_type", None)
    return tuple(result) if isinstance(result, types.BaseTuple) else None


class _Names:
    """Names for what the generated implementation introduces (the length, the index, the
    results, its globals), chosen apart from its parameters: those are the user's names,
    and a user's `i` or `n` must not be shadowed by the loop's."""

    def __init__(self, params: list[str]):
        self.taken = set(params)

    def own(self, stem: str) -> str:
        name = stem
        while name in self.taken:
            name += "_"
        self.taken.add(name)
        return name


def _loop_source(params: list[str], n_out: int, names: _Names, glob: dict) -> str:
    """The implementation: the length check, then one loop calling the scalar kernel.
    `glob` maps the globals it reads ("np", "whole", "scalar", "limit") to their names."""
    n, i, r = names.own("n"), names.own("i"), names.own("r")
    outs = [names.own(f"out{k}") for k in range(n_out)]
    np_, whole, scalar, limit = (glob[k] for k in ("np", "whole", "scalar", "limit"))
    args = ", ".join(params)
    rest = " or ".join(f"{p}.shape[0] != {n}" for p in params[1:]) or "False"
    lines = [f"def impl({args}):",
             f"    {n} = {params[0]}.shape[0]",
             f"    if {n} == 0 or {n} >= {limit} or {rest}:",
             f"        return {whole}({args})"]
    lines += [f"    {out} = {np_}.empty({n})" for out in outs]
    lines += [f"    for {i} in range({n}):",
              f"        {r} = {scalar}({', '.join(f'{p}[{i}]' for p in params)})"]
    lines += [f"        {out}[{i}] = {r}[{k}]" for k, out in enumerate(outs)]
    lines.append(f"    return ({''.join(f'{out}, ' for out in outs)})")
    return "\n".join(lines)


def register_kernel(py_func) -> None:
    """Make numba compile calls of `py_func` (a kernel of numba_fusion.py) as above."""
    params = list(py_func.__code__.co_varnames[:py_func.__code__.co_argcount])
    whole = numba.njit(py_func)  # (a call LLVM inlines: numba's inline="always" of it
    # measured slower, 1.51 against 1.35 us on the seed logistic gradient)
    state: dict = {}
    names = _Names(params)
    glob = {key: names.own(key) for key in ("np", "whole", "scalar", "limit", "choose")}
    args = ", ".join(params)

    def choose(*arg_types):
        namespace = {glob["whole"]: whole, glob["np"]: np}
        if _float_vectors(arg_types) and arg_types:
            on_arrays = _return_types(whole, arg_types)
            if on_arrays is not None and _float_vectors(on_arrays):
                if "scalar" not in state:
                    state["scalar"] = numba.njit(error_model="numpy")(py_func)
                on_scalars = _return_types(state["scalar"], (types.float64,) * len(params))
                if on_scalars is not None and len(on_scalars) == len(on_arrays) and \
                        all(t == types.float64 for t in on_scalars):
                    stubs = [LARGE[name] for name in LARGE
                             if name in py_func.__code__.co_names]
                    namespace[glob["scalar"]] = state["scalar"]
                    namespace[glob["limit"]] = min(stubs, default=sys.maxsize)
                    exec(_loop_source(params, len(on_arrays), _Names(names.taken), glob),
                         namespace)
                    return namespace["impl"]
        exec(f"def impl({args}):\n    return {glob['whole']}({args})", namespace)
        return namespace["impl"]

    namespace = {glob["choose"]: choose}
    exec(f"def typer({args}):\n    return {glob['choose']}({args})", namespace)
    overload(py_func, inline="always")(namespace["typer"])
