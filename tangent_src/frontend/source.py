"""Find and parse a user function's source, keeping its file and line numbers."""
from __future__ import annotations

import contextlib
import inspect
import linecache
import textwrap
from dataclasses import dataclass, field

import gast

from ..errors import SourceUnavailableError, UnsupportedSyntaxError

# Libraries whose Python functions are never differentiated from their source: a call of
# one needs a registered rule (or a nondifferentiable registration), else it is refused.
# The one list every stage consults (reverse/forward/compiler via is_user_function, the
# method lowering in lower.py, the numba back end).
LIBRARY_MODULES = ("numpy", "scipy", "math", "builtins", "tangent_src", "numba")


def is_user_function(func) -> bool:
    """A plain Python function outside the libraries: differentiated from its source."""
    if not inspect.isfunction(func):
        return False
    return not is_library_object(func)


def is_library_object(obj) -> bool:
    """Whether `obj` (a function or class) is defined by one of LIBRARY_MODULES."""
    module = (getattr(obj, "__module__", "") or "").split(".")[0]
    return module in LIBRARY_MODULES


@dataclass
class ParsedFunction:
    """A user function's gast FunctionDef with the facts needed to report errors."""

    func: object
    node: gast.FunctionDef
    filename: str
    lines: list[str]          # the file's lines (1-based via lines[lineno - 1])
    col_shift: int            # columns removed by dedenting
    namespace: dict = field(default_factory=dict)  # globals and closure values
    live_globals: dict = field(default_factory=dict)  # the function's own __globals__
    adopted: dict = field(default_factory=dict)  # name -> globals dict of an inlined callee

    def error(self, cls, node, message: str, construct: str = "", hint: str = ""):
        """Build a located error of class `cls` about `node`."""
        lineno = getattr(node, "lineno", None) or self.node.lineno
        col = (getattr(node, "col_offset", 0) or 0) + self.col_shift
        source_line = self.lines[lineno - 1] if 0 < lineno <= len(self.lines) else ""
        return cls(message, filename=self.filename, lineno=lineno, col=col,
                   source_line=source_line, construct=construct, hint=hint)

    def unsupported(self, node, construct: str, hint: str):
        return self.error(UnsupportedSyntaxError, node, f"{construct} is not supported",
                          construct=construct, hint=hint)


def _namespace(func) -> dict:
    """The names a function body can read: its globals overlaid by its closure cells."""
    namespace = dict(func.__globals__)
    live = getattr(func.__globals__, "live", None)  # generated code: names read from user modules
    if live:
        for name, source in live.items():
            if name in source:
                namespace.setdefault(name, source[name])
    if func.__closure__:
        for name, cell in zip(func.__code__.co_freevars, func.__closure__):
            with contextlib.suppress(ValueError):  # empty cell: assigned later
                namespace[name] = cell.cell_contents
    return namespace


def parse_function(func) -> ParsedFunction:
    """Parse `func` into a gast FunctionDef whose line numbers match its file."""
    func = inspect.unwrap(func)
    try:
        filename = inspect.getsourcefile(func) or inspect.getfile(func)
        src_lines, first_line = inspect.getsourcelines(func)
    except (OSError, TypeError) as exc:
        name = getattr(func, "__qualname__", repr(func))
        raise SourceUnavailableError(
            f"cannot read the source of {name}: {exc}; define it in a file (or a notebook cell)"
        ) from exc
    raw = "".join(src_lines)
    dedented = textwrap.dedent(raw)
    col_shift = len(src_lines[0]) - len(src_lines[0].lstrip()) if src_lines else 0
    col_shift -= len(dedented.splitlines()[0]) - len(dedented.splitlines()[0].lstrip())
    module = gast.parse(dedented)
    gast.increment_lineno(module, first_line - 1)
    kinds = (gast.FunctionDef, gast.AsyncFunctionDef)
    node = next((n for n in module.body if isinstance(n, kinds)), None)
    lines = linecache.getlines(filename) or raw.splitlines(True)
    if node is None:
        raise SourceUnavailableError(f"{filename}:{first_line}: expected a function definition")
    parsed = ParsedFunction(func, node, filename, lines, col_shift, _namespace(func),
                            func.__globals__)
    if isinstance(node, gast.AsyncFunctionDef):
        raise parsed.unsupported(node, "async def", "differentiate a plain (synchronous) function")
    return parsed
