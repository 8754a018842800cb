"""The numba back end: compile a generated module's functions with numba.njit.

The generated source is the same as for the Python back end (and shape-specialized to the
arguments); its functions, the user functions it calls, and the runtime helpers (through
`numba_runtime`'s overloads) are compiled in nopython mode. A compilation failure is
reported at the user's line: the generated file's `# line N:` comments map it back.
"""
from __future__ import annotations

import functools
import re

from ..errors import NumbaUnavailableError, TangentError, UnsupportedSyntaxError
from ..frontend.source import is_user_function
from .load import stable_text


def require_numba():
    try:
        import numba  # noqa: F401
    except ImportError as exc:
        raise NumbaUnavailableError(
            'backend="numba" needs numba: pip install "tangent_src[numba]"') from exc
    import numba

    overload_modules()  # register their implementations
    return numba


# The modules that register numba implementations of NumPy forms and runtime helpers: one
# list, so that what is loaded and what the disk cache's digest covers cannot drift apart.
OVERLOAD_MODULES = ("numba_adjoints", "numba_axis", "numba_containers", "numba_cross",
                    "numba_elementwise", "numba_inplace", "numba_numpy", "numba_runtime",
                    "numba_sums", "numba_ufuncs")


def overload_modules() -> list:
    """Import (and so register) every module of OVERLOAD_MODULES."""
    import importlib
    return [importlib.import_module(f"{__package__}.{name}") for name in OVERLOAD_MODULES]


def frozen_guards(live: dict, guards: list, fixed: dict, source: str) -> list:
    """The guards of numba-compiled code: `guards` (what generation relied on) plus every
    value numba freezes (it reads globals at compile time, and arrays as constants), each
    checked by identity, an array also by its contents:
    - the names the generated code reads live, and the module attributes it reads;
    - the globals, module attributes and closure cells of the user functions it compiles
      (and of the user functions those call).
    A closure cell holding a value that can change in place (an array) cannot be frozen
    safely: refused rather than computed with an old value."""
    from ..frontend.bindings import CellRef, ShapeGuard, is_frozen_safe
    out = [_value_guard(g.ref, g.ref.read()) if isinstance(g, ShapeGuard) and
           g.ref.available() else g for g in guards]
    for name in sorted(live):
        ref = live[name]
        if not ref.available():
            continue
        value = ref.read()
        if isinstance(ref, CellRef) and not is_frozen_safe(value):
            raise UnsupportedSyntaxError(
                f"backend='numba' cannot read the closure variable '{ref.key}' of "
                f"{ref.owner} when the gradient runs (numba freezes it at compile time, "
                f"and a {type(value).__name__} can change in place)",
                construct="closure variable", hint=f"pass '{ref.key}' as an argument, "
                "or use the default Python back end", **ref.where())
        out.append(_value_guard(ref, value))
    values = {**fixed, **{n: r.read() for n, r in live.items() if r.available()}}
    for name, value in sorted(values.items()):
        if _user_module(value):  # `cfg.C` in generated code: frozen too
            from ..frontend.bindings import FixedRef, PathRef
            for attr in sorted(set(re.findall(rf"\b{re.escape(name)}\.(\w+)", source))):
                path = PathRef(FixedRef(value), [attr])
                if path.available():
                    out.append(_value_guard(path, path.read()))
    seen: set = set()
    for value in values.values():
        if is_user_function(value):
            out += _function_globals(value, seen)
    return _unique(out)


def _unique(guards: list) -> list:
    found, out = set(), []
    for guard in guards:
        if guard.identity() not in found:
            found.add(guard.identity())
            out.append(guard)
    return out


def _user_module(value) -> bool:
    import types

    from ..core.libraries import LIBRARY_MODULES
    return isinstance(value, types.ModuleType) and \
        value.__name__.split(".")[0] not in LIBRARY_MODULES


def _value_guard(ref, value):
    """A frozen value's guard: arrays by contents (numba copies them into the code)."""
    import numpy as np

    from ..frontend.bindings import ContentGuard, Guard
    return ContentGuard(ref, value) if isinstance(value, np.ndarray) else Guard(ref, value)


def _function_globals(func, seen: set) -> list:
    """Guards for what numba freezes when it compiles user function `func`: its code and
    defaults, the globals and cells it reads, attributes of user modules it reads, and
    the same for the user functions among them."""
    from ..frontend.bindings import CellRef, FunctionGuard, GlobalRef, PathRef
    if func in seen:
        return []
    seen.add(func)
    out = [FunctionGuard(func)]
    codes, stack = [], [func.__code__]
    while stack:
        code = stack.pop()
        codes.append(code)
        stack += [c for c in code.co_consts if isinstance(c, type(code))]
    names = sorted({n for c in codes for n in c.co_names})
    refs = [(GlobalRef(func.__globals__, n), func.__globals__[n]) for n in names
            if n in func.__globals__]
    refs += [(CellRef(cell, n, func), cell.cell_contents) for n, cell in
             zip(func.__code__.co_freevars, func.__closure__ or ()) if _full(cell)]
    for ref, value in refs:
        out.append(_value_guard(ref, value))
        if _user_module(value):
            for attr in names:
                if hasattr(value, attr):
                    path = PathRef(ref, [attr])
                    out.append(_value_guard(path, path.read()))
                    if is_user_function(path.read()):
                        out += _function_globals(path.read(), seen)
        elif is_user_function(value):
            out += _function_globals(value, seen)
    return out


def _full(cell) -> bool:
    """Whether a closure cell has been assigned."""
    try:
        return cell.cell_contents is not _full
    except ValueError:
        return False


def frozen_salt(guards: list) -> str:
    """A text naming every frozen value (same text in any process: same compiled code),
    for the on-disk cache's key."""
    lines = set()
    for guard in guards:
        try:
            value = guard.ref.read()
        except KeyError:
            continue
        lines.add(f"{_label(guard.ref)}={stable_text(value)}")
    lines.add(f"overloads={overloads_digest()}")
    return "\n" + "\n".join(sorted(lines))


@functools.cache
def overloads_digest() -> str:
    """A digest of the numba implementations of NumPy forms and runtime helpers (and of
    the runtime they implement): numba's disk cache of a generated module holds code
    compiled through them, so a changed implementation must not be served old code."""
    import hashlib
    import inspect
    import sys

    from .. import runtime
    this = sys.modules[__name__]  # compile_module's NumPy namespace swap is part of it
    modules = [this, *overload_modules(), *(
        getattr(runtime, name) for name in sorted(vars(runtime))
        if inspect.ismodule(getattr(runtime, name)) and
        getattr(runtime, name).__name__.startswith(runtime.__name__))]
    digest = hashlib.sha1()
    for module in modules:
        digest.update(inspect.getsource(module).encode())
    return digest.hexdigest()[:16]


def _label(ref) -> str:
    """Where a frozen value is read, in words that mean the same in another process."""
    from ..frontend.bindings import AttrRef, CellRef, FixedRef, GlobalRef, PathRef
    if isinstance(ref, GlobalRef):
        return f"{ref.module}.{ref.key}"
    if isinstance(ref, CellRef):
        return f"{ref.owner}:{ref.key}"
    if isinstance(ref, PathRef):
        return _label(ref.head) + "." + ".".join(ref.path)
    if isinstance(ref, AttrRef):
        return f"{stable_text(ref.owner)}.{ref.name}"
    if isinstance(ref, FixedRef):
        return stable_text(ref.value)
    return type(ref).__name__


def compile_module(module_ns: dict, names: list[str], main: str, user_modules: tuple,
                   kernels: tuple = ()):
    """njit every generated function (and the user functions they call) in `module_ns`;
    the `kernels` of elementwise runs are compiled where they are called
    (numba_elementwise.py).

    Returns the compiled main function. Names read from user modules are frozen into the
    namespace (numba treats globals as compile-time constants). numba's disk cache is used
    only for a module file in the checked cache directory (numba unpickles what it finds
    in its cache; a module kept in memory has no file to cache against). The generated
    code reads NumPy as `numba_ufuncs.numpy_namespace()` (NumPy's SIMD loops for large
    arrays' tanh, exp and log)."""
    import numpy as np

    from .numba_cache import numba_cache_ready
    from .numba_elementwise import register_kernel
    from .numba_ufuncs import numpy_namespace
    numba = require_numba()
    cache = numba_cache_ready(module_ns.get("__file__"))
    for name, value in list(module_ns.items()):
        if value is np:
            module_ns[name] = numpy_namespace()
    for name in kernels:
        register_kernel(module_ns[name])
    for name, value in list(module_ns.items()):
        if is_user_function(value) and name not in names and name not in kernels:
            module_ns[name] = numba.njit(value)
    for name in names:
        function = module_ns[name]
        compiled = numba.njit(cache=cache)(function)
        if cache and not _cache_files_safe(compiled):
            compiled = numba.njit(function)
        module_ns[name] = compiled
    return module_ns[main]


def _cache_place(dispatcher) -> tuple[str, str] | None:
    """(directory, file name prefix) of numba's disk cache for `dispatcher`, or None."""
    cache = getattr(dispatcher, "_cache", None)
    files = getattr(cache, "_cache_file", None)
    directory = getattr(files, "_cache_path", None)
    index = getattr(files, "_index_name", "")
    if not directory or not index.endswith(".nbi"):
        return None
    return directory, index[:-len(".nbi")]


def _cache_files_safe(dispatcher) -> bool:
    """Whether numba may read its disk cache for `dispatcher`: the directory numba chose
    passes the cache directory's checks, and every file there under the function's name
    that another user could have planted or changed (not a regular file of ours, or
    writable by group/others) is deleted first, since numba unpickles its index and data
    files. False (after one CacheWarning): compile without the disk cache."""
    from . import cache_dir, numba_cache
    place = _cache_place(dispatcher)
    consequence = "numba compiles the generated code without its disk cache"
    if place is None:
        return False
    directory, prefix = place
    problem = cache_dir.problem_with(directory)
    if problem:
        cache_dir.warn_once(directory, problem, consequence)
        return False
    try:
        numba_cache.remove_foreign_files(directory, prefix + ".")
    except OSError as exc:
        cache_dir.warn_once(directory, f"cannot remove a file not written by you "
                            f"({exc.strerror or exc})", consequence)
        return False
    return True


def restrict_cache_files(dispatcher) -> None:
    """Make numba's cache files for `dispatcher` readable by the owner only (numba writes
    them with the umask's mode, like any file)."""
    from . import numba_cache
    place = _cache_place(dispatcher)
    if place is not None:
        numba_cache.make_private(place[0], place[1] + ".")


def located_numba_error(exc: Exception, source: str, path: str, user_file: str,
                        user_lines: list[str], def_line: int = 0) -> TangentError:
    """Map a numba typing error inside the generated file to the user's line."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    import os
    match = re.search(re.escape(os.path.basename(path)) + r'", line (\d+)', text)
    gen_line = int(match.group(1)) if match else 0
    lines = source.splitlines()
    user_line, construct = 0, ""
    for k in range(min(gen_line, len(lines)) - 1, -1, -1):
        found = re.match(r"\s*# line (\d+): (.*)", lines[k])
        if found:
            user_line, construct = int(found.group(1)), found.group(2)
            break
    if not user_line and 0 < gen_line <= len(lines):
        construct = lines[gen_line - 1].strip()
    if not user_line:
        user_line = def_line
    first = next((ln for ln in text.splitlines() if ln.strip() and "Failed in" not in ln),
                 text.splitlines()[0] if text else "")
    reason = first.strip()[:200] or f"an internal {type(exc).__name__} of numba's compiler"
    message = f"numba cannot compile the gradient of this line: {reason}"
    return UnsupportedSyntaxError(
        message, filename=user_file, lineno=user_line, col=0,
        source_line=user_lines[user_line - 1] if 0 < user_line <= len(user_lines) else "",
        construct=construct or "code numba cannot compile",
        hint="use NumPy functions numba supports in nopython mode (no Python objects, "
             "dicts or caches in module globals), or use the default Python back end")
