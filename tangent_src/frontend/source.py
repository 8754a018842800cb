"""Find and parse a user function's source, keeping its file and line numbers."""
from __future__ import annotations

import ast
import contextlib
import inspect
import linecache
import re
import textwrap
from dataclasses import dataclass, field

import gast

from ..core.libraries import is_library_object
from ..core.walk import walk
from ..errors import SourceChangedError, SourceUnavailableError, UnsupportedSyntaxError
from .bindings import CellRef, FixedRef, GlobalRef, Ref
from .depth import allow_depth, nesting_depth
from .find_def import lambda_def, lambda_in_file, unwrap
from .freshness import generated_lines, source_matches


def is_user_function(func) -> bool:
    """A plain Python function outside the libraries: differentiated from its source."""
    if not inspect.isfunction(func):
        return False
    return not is_library_object(func)


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
    adopted: dict = field(default_factory=dict)  # name -> Ref of an inlined callee's name
    fixed: dict = field(default_factory=dict)  # name -> FixedRef (default values)
    resolved: set = field(default_factory=set)  # names resolved to objects while generating
    paths: set = field(default_factory=set)  # dotted names (mod.w, obj.method) resolved
    guards: list = field(default_factory=list)  # other facts generation relied on (Guard)
    renamed: dict = field(default_factory=dict)  # new name -> the user's (see reserved.py)

    def ref(self, name: str) -> Ref | None:
        """Where the function reads free name `name` (None: a builtin or unknown), in
        Python's order: its closure cells, then its globals."""
        if name in self.adopted:
            return self.adopted[name]
        if name in self.fixed:
            return self.fixed[name]
        cells = dict(zip(self.func.__code__.co_freevars, self.func.__closure__ or ())) \
            if hasattr(self.func, "__code__") else {}
        if name in cells:
            return CellRef(cells[name], name, self.func)
        live = getattr(self.live_globals, "live", None)  # generated code: chain to the user's
        if live and name in live and not dict.__contains__(self.live_globals, name):
            return live[name]
        if name in self.live_globals:
            return GlobalRef(self.live_globals, name)
        if name in self.namespace:
            return FixedRef(self.namespace[name])
        return None

    def adopt_into(self, caller: ParsedFunction, free, caller_locals: set, namer) -> dict:
        """Make this function's free names `free` readable from `caller`'s generated code
        (this function's body is being expanded into the caller's): a name the caller
        binds the same way is kept, any other gets a name of its own there, bound to
        where this function reads it. Returns {this function's name: the caller's}."""
        from ..naming import reserved_meanings
        from .bindings import binding_key
        meanings = reserved_meanings()
        mapping = {}
        for name in free:
            theirs = self.ref(name)
            mine = None if name in caller_locals else caller.ref(name)
            if mine is not None and binding_key(mine) == binding_key(theirs):
                continue
            if name in meanings and name not in caller_locals and \
                    self.namespace.get(name) is meanings[name]:
                # a runtime helper (`set_at` from a dict display or an array write), NumPy
                # as `np`, a builtin: generated code means the same object by that name in
                # every function (a renamed copy, `set_at2`, was imported from the runtime
                # under a name it does not have)
                caller.namespace[name] = meanings[name]
                continue
            new = name if name not in namer.used and name not in caller.namespace else \
                namer.fresh(name)
            namer.reserve(new)
            mapping[name] = new
            caller.namespace[new] = self.namespace[name]
            if theirs is not None:
                caller.adopted[new] = theirs
        return mapping

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
        for name, ref in live.items():
            with contextlib.suppress(KeyError):
                namespace.setdefault(name, ref.read())
    if func.__closure__:
        for name, cell in zip(func.__code__.co_freevars, func.__closure__):
            with contextlib.suppress(ValueError):  # empty cell: assigned later
                namespace[name] = cell.cell_contents
    return namespace


_DEF_LINE = re.compile(r"^(\s*def\s)|(\s*async\s+def\s)|(.*(?<!\w)lambda(:|\s))|^(\s*@)")


def _source_lines(func, code) -> tuple[str, list, int]:
    """(file name, the lines of `code`'s definition, its first line number): what
    `inspect.getsourcelines` finds, without its `inspect.getmodule` search, which resolves
    the path of every loaded module (a third of a second on the first call in a process
    that imported numpy). The function's globals stand in for its module's namespace
    (linecache needs them for modules loaded from zip files)."""
    filename = inspect.getsourcefile(code)
    if filename:
        linecache.checkcache(filename)
    else:
        filename = inspect.getfile(code)
        if not (filename.startswith("<") and filename.endswith(">")):
            raise OSError("source code not available")
    lines = linecache.getlines(filename, getattr(func, "__globals__", None))
    if not lines:
        raise OSError("could not get source code")
    lnum = code.co_firstlineno - 1
    while lnum > 0:
        if lnum >= len(lines):
            raise OSError("lineno is out of bounds")
        if _DEF_LINE.match(lines[lnum]):
            break
        lnum -= 1
    return filename, inspect.getblock(lines[lnum:]), lnum + 1


def parse_function(func) -> ParsedFunction:
    """Parse `func` into a gast FunctionDef whose line numbers match its file."""
    func = unwrap(func)
    code = getattr(func, "__code__", func)  # inspect would follow __wrapped__
    generated = generated_lines(func)
    try:
        if generated is not None:  # generated code: its source is kept in memory
            filename, first_line = code.co_filename, code.co_firstlineno
            src_lines = inspect.getblock(generated[first_line - 1:])
        else:
            filename, src_lines, first_line = _source_lines(func, code)
    except (OSError, TypeError) as exc:
        name = getattr(func, "__qualname__", repr(func))
        raise SourceUnavailableError(
            f"cannot read the source of {name}: {exc}; define it in a file (or a notebook cell)"
        ) from exc
    raw = "".join(src_lines)
    if getattr(func, "__name__", "") == "<lambda>":
        found = lambda_in_file(func, filename)
        if found is not None:
            return _finish(func, found, filename, linecache.getlines(filename), 0)
    dedented = textwrap.dedent(raw)
    col_shift = len(src_lines[0]) - len(src_lines[0].lstrip()) if src_lines else 0
    col_shift -= len(dedented.splitlines()[0]) - len(dedented.splitlines()[0].lstrip())
    try:
        tree = ast.parse(dedented)
        allow_depth(nesting_depth(tree))
        module = gast.ast_to_gast(tree)
    except SyntaxError as exc:  # a lambda inside a longer expression
        raise SourceUnavailableError(
            f"{filename}:{first_line}: cannot parse the source of "
            f"{getattr(func, '__qualname__', func)} on its own ({exc.msg}); define it with "
            "def") from None
    gast.increment_lineno(module, first_line - 1)
    kinds = (gast.FunctionDef, gast.AsyncFunctionDef)
    node = next((n for n in module.body if isinstance(n, kinds)), None)
    if node is None and func.__name__ == "<lambda>":
        node = lambda_def(module, func)
    lines = generated or linecache.getlines(filename) or raw.splitlines(True)
    if node is None:
        raise SourceUnavailableError(f"{filename}:{first_line}: expected a function definition")
    if generated is None and source_matches(func, dedented) is False:
        raise SourceChangedError(
            f"{filename}:{first_line}: the source of {func.__qualname__} in this file is not "
            "the code Python runs for it (the file was edited after the function was "
            "defined); reload the module (importlib.reload) or re-run the cell that defines "
            "it, then differentiate again")
    return _finish(func, node, filename, lines, col_shift)


def _finish(func, node, filename: str, lines: list, col_shift: int) -> ParsedFunction:
    """The ParsedFunction of `node`, with defaults bound and reserved names kept apart."""
    parsed = ParsedFunction(func, node, filename, lines, col_shift, _namespace(func),
                            func.__globals__)
    parsed.fixed = _bind_defaults(node, func, parsed.namespace)
    for name, ref in parsed.fixed.items():
        parsed.namespace[name] = ref.value
    if isinstance(node, gast.AsyncFunctionDef):
        raise parsed.unsupported(node, "async def", "differentiate a plain (synchronous) function")
    from .reserved import protect_reserved
    protect_reserved(parsed)
    return parsed


_SIMPLE = (bool, int, float, complex, str, bytes, type(None))



def _is_literal(expr) -> bool:
    if isinstance(expr, gast.UnaryOp) and isinstance(expr.op, (gast.USub, gast.UAdd)):
        expr = expr.operand
    if isinstance(expr, gast.Tuple):
        return all(_is_literal(e) for e in expr.elts)
    return isinstance(expr, gast.Constant)


def _literal_is(expr, value) -> bool:
    """Whether literal `expr` still is the default `value` (`f.__defaults__` may have
    been replaced since the def ran)."""
    import ast
    try:
        literal = ast.literal_eval(gast.gast_to_ast(expr))
    except (ValueError, TypeError, SyntaxError):
        return False
    return type(literal) is type(value) and repr(literal) == repr(value)


def _default_expr(expr, value, param: str, func, taken: set, fixed: dict):
    """The expression generated code uses for a default: the function's own default value
    (evaluated once, where the function was defined), never the default's source text
    re-evaluated in the generated module, where its names (an enclosing function's
    locals, a since-rebound global) mean something else or nothing."""
    if expr is not None and _is_literal(expr) and _literal_is(expr, value):
        return expr
    if type(value) in _SIMPLE:
        return gast.Constant(value=value, kind=None)
    name, k = f"{param}_default", 2
    while name in taken:
        name, k = f"{param}_default{k}", k + 1
    taken.add(name)
    owner = getattr(func, "__qualname__", "?")
    fixed[name] = FixedRef(value, f"the default value of {owner}'s parameter '{param}'", func)
    if isinstance(expr, gast.Name) and expr.id not in func.__code__.co_freevars and \
            func.__globals__.get(expr.id, fixed) is value:  # a standalone module imports it
        fixed[name].origin = (func.__globals__.get("__name__", "__main__"), expr.id)
    return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)


def _bind_defaults(node, func, namespace: dict) -> dict:
    """Rewrite `node`'s default expressions to the function's `__defaults__` and
    `__kwdefaults__`; returns the names bound to non-literal values (name -> FixedRef)."""
    fixed: dict = {}
    if not hasattr(func, "__code__"):
        return fixed
    taken = {n.id for n in walk(node) if isinstance(n, gast.Name)} | set(namespace)
    args = node.args
    positional = [a.id for a in args.posonlyargs + args.args]
    values = func.__defaults__ or ()
    exprs = list(args.defaults) if len(args.defaults) == len(values) else [None] * len(values)
    params = positional[len(positional) - len(values):]
    args.defaults = [_default_expr(e, v, p, func, taken, fixed)
                     for e, v, p in zip(exprs, values, params)]
    kw_values = func.__kwdefaults__ or {}
    args.kw_defaults = [
        _default_expr(e, kw_values[a.id], a.id, func, taken, fixed) if a.id in kw_values
        else None for a, e in zip(args.kwonlyargs, args.kw_defaults)]
    return fixed




