"""NumPy's own loops for a few transcendental ufuncs on large float arrays under numba.

numba computes `np.tanh`, `np.exp` and `np.log` of an array with one libm call per element;
NumPy (2.x, on CPUs with AVX-512 or AVX2) uses SIMD loops several times faster (issue 14:
tanh of 256x256 float64 takes ~1000 us under numba, ~110 us in NumPy). Generated code
compiled by the numba back end reads `np` as `numpy_namespace()`: NumPy itself except those
ufuncs, which call NumPy through `numba.objmode` for a float array of at least `LARGE[name]`
elements (objmode costs ~2-3 us a call) and are numba's own otherwise. The generated source
is unchanged; only the namespace numba compiles it in differs (a standalone numba module
copies this section and rebinds its own `np` to that namespace once it is built).
"""
from __future__ import annotations

import functools
import types as pytypes

import numba
import numpy as np
from numba import types
from numba.extending import overload

# -- overloads (copied into standalone numba modules from here on) ---------------------

# Smallest float array whose ufunc NumPy computes (below: numba's own loop), measured on
# NumPy 2.4 / numba 0.68 (break-even near 250 elements for tanh, 500 for exp and log).
# np.sin and np.cos are left to numba: NumPy's float64 loops for them are no faster.
LARGE = {"tanh": 512, "exp": 1024, "log": 1024}


def _stub(name: str):
    """The Python function standing for `np.<name>` in the namespace numba compiles
    generated code in (outside numba it is the ufunc's plain call)."""
    ufunc = getattr(np, name)

    def call(x, *args):
        return ufunc(x, *args)
    call.__name__ = call.__qualname__ = name
    call.__module__ = __name__
    return call


def into(ufunc, x, out) -> None:
    """`ufunc(x, out=out)` without NumPy's floating-point warnings or errors (numba's own
    loop, used below the threshold, has none: the same call behaves alike at any size)."""
    with np.errstate(all="ignore"):
        ufunc(x, out=out)


def _implementation(ufunc, large: int):
    """The overload of `ufunc`'s stub: NumPy's loop through objmode for a float array of
    at least `large` elements, numba's own ufunc for anything else."""
    def choose(x, *args):
        if args or not (isinstance(x, types.Array) and isinstance(x.dtype, types.Float)):
            return lambda x, *args: ufunc(x, *args)

        def impl(x, *args):
            if x.size < large:
                return ufunc(x)
            out = np.empty(x.shape, x.dtype)
            with numba.objmode():
                into(ufunc, x, out)
            return out
        return impl
    return choose


STUBS = {name: _stub(name) for name in LARGE}
for _ufunc_name, _ufunc_stub in STUBS.items():
    overload(_ufunc_stub)(_implementation(getattr(np, _ufunc_name), LARGE[_ufunc_name]))


@functools.cache
def numpy_namespace() -> pytypes.ModuleType:
    """NumPy as numba-compiled generated code reads it: every attribute NumPy's own,
    except the ufuncs of `LARGE`, which are their stubs."""
    module = pytypes.ModuleType("numpy_for_numba", np.__doc__)
    module.__dict__.update({k: v for k, v in vars(np).items() if not k.startswith("__")})
    module.__dict__.update(STUBS)
    return module
