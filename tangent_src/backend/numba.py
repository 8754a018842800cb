"""The numba back end: compile a generated module's functions with numba.njit.

The generated source is the same as for the Python back end (and shape-specialized to the
arguments); its functions, the user functions it calls, and the runtime helpers (through
`numba_runtime`'s overloads) are compiled in nopython mode. A compilation failure is
reported at the user's line: the generated file's `# line N:` comments map it back.
"""
from __future__ import annotations

import re

from ..errors import TangentError, UnsupportedSyntaxError
from ..frontend.source import is_user_function


class NumbaUnavailableError(TangentError):
    """backend="numba" was requested but numba is not installed."""


def require_numba():
    try:
        import numba  # noqa: F401
    except ImportError as exc:
        raise NumbaUnavailableError(
            'backend="numba" needs numba: pip install "tangent_src[numba]"') from exc
    import numba

    from . import numba_runtime  # noqa: F401  (registers the helpers' overloads)
    return numba


def frozen_guards(live: dict) -> list:
    """(ref, value) for each live name numba will freeze (it reads globals at compile
    time): rebinding one makes the compiled code stale, which the caller detects. A closure
    cell holding a value that can change in place (an array) cannot be frozen safely:
    refuse it rather than compute with an old value."""
    from ..frontend.bindings import CellRef, is_frozen_safe
    out = []
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
        out.append((ref, value))
    return out


def compile_module(module_ns: dict, names: list[str], main: str, user_modules: tuple):
    """njit every generated function (and the user functions they call) in `module_ns`.

    Returns the compiled main function. Names read from user modules are frozen into the
    namespace (numba treats globals as compile-time constants). numba's disk cache is used
    only for a module file in the checked cache directory (numba unpickles what it finds
    in its cache; a module kept in memory has no file to cache against)."""
    from .cache_dir import numba_cache_ready
    numba = require_numba()
    cache = numba_cache_ready(module_ns.get("__file__"))
    for name, value in list(module_ns.items()):
        if is_user_function(value) and name not in names:
            module_ns[name] = numba.njit(value)
    for name in names:
        module_ns[name] = numba.njit(cache=cache)(module_ns[name])
    return module_ns[main]


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
    message = f"numba cannot compile the gradient of this line: {first.strip()[:200]}"
    return UnsupportedSyntaxError(
        message, filename=user_file, lineno=user_line, col=0,
        source_line=user_lines[user_line - 1] if 0 < user_line <= len(user_lines) else "",
        construct=construct or "code numba cannot compile",
        hint="use NumPy functions numba supports in nopython mode (no Python objects, "
             "dicts, keepdims=, axis= on max/mean), or use the default Python back end")
