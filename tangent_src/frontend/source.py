"""Find and parse a user function's source, keeping its file and line numbers."""
from __future__ import annotations
import __future__

import ast
import contextlib
import functools
import inspect
import linecache
import sys
import textwrap
from dataclasses import dataclass, field

import gast

from ..errors import SourceChangedError, SourceUnavailableError, UnsupportedSyntaxError
from .bindings import CellRef, FixedRef, GlobalRef, Ref

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


def parse_function(func) -> ParsedFunction:
    """Parse `func` into a gast FunctionDef whose line numbers match its file."""
    func = _unwrap(func)
    code = getattr(func, "__code__", func)  # inspect would follow __wrapped__
    generated = _generated_lines(func)
    try:
        if generated is not None:  # generated code: its source is kept in memory
            filename, first_line = code.co_filename, code.co_firstlineno
            src_lines = inspect.getblock(generated[first_line - 1:])
        else:
            filename = inspect.getsourcefile(code) or inspect.getfile(code)
            src_lines, first_line = inspect.getsourcelines(code)
    except (OSError, TypeError) as exc:
        name = getattr(func, "__qualname__", repr(func))
        raise SourceUnavailableError(
            f"cannot read the source of {name}: {exc}; define it in a file (or a notebook cell)"
        ) from exc
    raw = "".join(src_lines)
    if getattr(func, "__name__", "") == "<lambda>":
        found = _lambda_in_file(func, filename)
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
        node = _lambda_def(module, func)
    lines = generated or linecache.getlines(filename) or raw.splitlines(True)
    if node is None:
        raise SourceUnavailableError(f"{filename}:{first_line}: expected a function definition")
    if generated is None and _source_matches(func, dedented) is False:
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

# Python frames the passes spend per level of AST nesting (gast conversion, deepcopy,
# NodeTransformers, ANF): a 1000-term sum is a 1000-deep tree of BinOps
FRAMES_PER_LEVEL = 12


def nesting_depth(tree) -> int:
    """The depth of the deepest node of `tree`, found without recursion."""
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        todo.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def allow_depth(depth: int) -> None:
    """Raise Python's recursion limit (never lower it) so that the recursive AST passes
    handle a tree `depth` levels deep; `keeps_recursion_limit` puts the old limit back."""
    needed = 1000 + FRAMES_PER_LEVEL * depth
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


def keeps_recursion_limit(func):
    """Decorator: the recursion limit in force when `func` is called is restored when it
    returns (what `allow_depth` raised while generating code is not left behind)."""
    @functools.wraps(func)
    def scoped(*args, **kwargs):
        limit = sys.getrecursionlimit()
        try:
            return func(*args, **kwargs)
        finally:
            sys.setrecursionlimit(limit)
    return scoped


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
    taken = {n.id for n in gast.walk(node) if isinstance(n, gast.Name)} | set(namespace)
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


_FILE_TREES: dict = {}  # (filename, text) -> the file's ast, for finding lambdas


def _lambda_in_file(func, filename: str):
    """The lambda `func` was made from, found in its whole file (so a lambda written across
    lines, or one of several on a line, is found): the one that starts on the code's first
    line, has its parameters, and whose body spans where the code's instructions come from
    (`co_positions`). As `def <name>(args): return <body>`; None if not exactly one."""
    lines = linecache.getlines(filename)
    if not lines:
        return None
    text = "".join(lines)
    tree = _FILE_TREES.get((filename, text))
    if tree is None:
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            return None
        if len(_FILE_TREES) > 16:
            _FILE_TREES.clear()
        _FILE_TREES[(filename, text)] = tree
    code = func.__code__
    params = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    spans = [(line, col, end_line, end_col) for line, end_line, col, end_col in
             code.co_positions() if None not in (line, end_line, col, end_col)
             and (line, col) != (end_line, end_col)]
    found, assigned = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda) and \
                isinstance(node.targets[0], ast.Name):
            assigned[id(node.value)] = node.targets[0].id
        if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno and \
                [a.arg for a in node.args.posonlyargs + node.args.args +
                 node.args.kwonlyargs] == params and _spans_inside(node.body, spans):
            found.append(node)
    if len(found) != 1:
        return None
    lam = found[0]
    allow_depth(nesting_depth(lam))
    converted = gast.ast_to_gast(lam)
    ret = gast.copy_location(gast.Return(value=converted.body), converted.body)
    def_node = gast.FunctionDef(name=assigned.get(id(lam), "lambda_"), args=converted.args,
                                body=[ret], decorator_list=[],
                                returns=None, type_comment=None, type_params=[])
    return gast.copy_location(def_node, converted)


def _spans_inside(body, spans: list) -> bool:
    """Whether every (line, col, end line, end col) span lies within `body`'s extent."""
    start = (body.lineno, body.col_offset)
    end = (body.end_lineno, body.end_col_offset)
    return all(start <= (line, col) and (end_line, end_col) <= end
               for line, col, end_line, end_col in spans)


def _lambda_def(module, func):
    """The lambda `func` was made from, as `def <name>(args): return <body>` (named after
    the variable it is assigned to); None when the line holds no unique match."""
    code = func.__code__
    params = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    found = []
    for node in gast.walk(module):
        if isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda):
            node.value.assigned = node.targets[0].id if isinstance(node.targets[0], gast.Name) \
                else None
        if isinstance(node, gast.Lambda) and node.lineno == code.co_firstlineno:
            args = node.args
            if [a.id for a in args.posonlyargs + args.args + args.kwonlyargs] == params:
                found.append(node)
    if len(found) != 1:
        return None
    lam = found[0]
    name = getattr(lam, "assigned", None) or "lambda_"
    node = gast.FunctionDef(name=name, args=lam.args,
                            body=[gast.Return(value=lam.body)], decorator_list=[],
                            returns=None, type_comment=None, type_params=[])
    return gast.copy_location(node, lam)


def _unwrap(func):
    """Follow `__wrapped__` (functools.wraps) only through wrappers that return the wrapped
    function's value unchanged: a wrapper that computes with it (`k * fn(x)`) is what
    runs, so it is what is differentiated."""
    while hasattr(func, "__wrapped__") and _passes_through(func):
        func = func.__wrapped__
    return func


def _passes_through(wrapper) -> bool:
    """Whether `wrapper`'s only return is `return wrapped(*args, **kwargs)` of its own
    parameters (statements before it, such as logging, do not change the value)."""
    try:
        module = gast.parse(textwrap.dedent(inspect.getsource(wrapper.__code__)))
    except (OSError, TypeError, SyntaxError, AttributeError):
        return True  # not Python source (a C wrapper, a cache object): unwrap it
    node = next((n for n in module.body if isinstance(n, gast.FunctionDef)), None)
    if node is None or not node.body:
        return False
    returns = [n for n in gast.walk(node) if isinstance(n, gast.Return)]
    last = node.body[-1]
    if returns != [last] or not isinstance(last.value, gast.Call):
        return False
    call, args = last.value, node.args
    scope = dict(wrapper.__globals__)
    for name, cell in zip(wrapper.__code__.co_freevars, wrapper.__closure__ or ()):
        with contextlib.suppress(ValueError):
            scope[name] = cell.cell_contents
    star = [a.value.id for a in call.args if isinstance(a, gast.Starred)
            and isinstance(a.value, gast.Name)]
    kw = [k.value.id for k in call.keywords if k.arg is None and isinstance(k.value, gast.Name)]
    return isinstance(call.func, gast.Name) and \
        scope.get(call.func.id) is wrapper.__wrapped__ and \
        len(call.args) == len(star) == (1 if args.vararg else 0) and \
        (not star or star[0] == args.vararg.id) and \
        len(call.keywords) == len(kw) == (1 if args.kwarg else 0) and \
        (not kw or kw[0] == args.kwarg.id)


# -- the source must be the code that runs --------------------------------------------------
GENERATED_SOURCE = "__tangent_source__"  # a generated module's global: its source text
_FUTURE_FLAGS = 0
for _feature in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag


def _generated_lines(func) -> list[str] | None:
    """The lines of the module that defines `func` when tangent_src generated it (kept in
    memory: the file written for tracebacks is never read back, so editing or replacing
    it cannot change a higher derivative)."""
    scope = getattr(func, "__globals__", None)
    text = dict.get(scope, GENERATED_SOURCE) if isinstance(scope, dict) else None
    if not isinstance(text, str) or func.__code__.co_filename != dict.get(scope, "__file__"):
        return None
    return text.splitlines(True)


def _source_matches(func, text: str) -> bool | None:
    """Whether `text` (the dedented source found for `func`) compiles to `func.__code__`:
    False when the file was edited since the function was defined, None when it cannot be
    told (the text does not compile on its own, or pytest rewrote its asserts)."""
    code = getattr(func, "__code__", None)
    if code is None or ("@pytest_ar" in func.__globals__ and "assert" in text):
        return None
    imported = _imported_names(code.co_filename)
    variants = [imported] if imported is not None else [(), _module_names(func)]
    want = _code_key(code)
    for names in variants:
        # a name bound by `import` in the defining module is called differently (3.11)
        head = "".join(f"import {n}\n" for n in sorted(names))
        try:
            compiled = compile(head + _compilable(func, text), code.co_filename, "exec",
                               flags=code.co_flags & _FUTURE_FLAGS, dont_inherit=True)
        except (SyntaxError, ValueError):
            return None
        if any(_code_key(c) == want for c in _codes(compiled) if c.co_name == code.co_name):
            return True
    return False


_IMPORTED: dict = {}


def _imported_names(filename: str) -> frozenset | None:
    """Names the module (or notebook cell) in `filename` binds by `import` at its top level
    (None when its text cannot be parsed); cached by the text."""
    text = "".join(linecache.getlines(filename))
    key = (filename, hash(text))
    if key not in _IMPORTED:
        import ast
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            return None
        names = set()
        for node in _top_level(tree.body):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names
                          if a.name != "*"}
        if len(_IMPORTED) > 256:
            _IMPORTED.clear()
        _IMPORTED[key] = frozenset(names)
    return _IMPORTED[key]


def _top_level(stmts):
    """Statements in the module's own scope (not in function or class bodies)."""
    import ast
    for stmt in stmts:
        yield stmt
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody"):
            yield from _top_level(getattr(stmt, name, []) or [])
        for handler in getattr(stmt, "handlers", []) or []:
            yield from _top_level(handler.body)


def _module_names(func) -> tuple:
    """Global names `func` reads that hold modules."""
    import types
    names = {n for c in _codes(func.__code__) for n in c.co_names}
    return tuple(n for n in names if isinstance(func.__globals__.get(n), types.ModuleType))


def _compilable(func, text: str) -> str:
    """`text` placed where `func` was defined, as far as the compiler can tell: inside a
    function that binds its free variables (closure reads stay closure reads) and inside
    its class (private names are mangled the same way)."""
    code = func.__code__
    parts = getattr(func, "__qualname__", "").split(".")
    owner = parts[-2] if len(parts) > 1 and parts[-2] != "<locals>" else None
    free = [n for n in code.co_freevars if n != "__class__"]
    head, indent = [], ""
    if free or (parts and "<locals>" in parts):
        head.append("def __tangent_outer__():")
        indent = "    "
        if free:
            head.append(indent + " = ".join(free) + " = None")
    if owner and owner.isidentifier():
        head.append(f"{indent}class {owner}:")
        indent += "    "
    body = textwrap.indent(text, indent) if indent else text
    return "\n".join(head + [body])


def _codes(code):
    yield code
    for const in code.co_consts:
        if isinstance(const, type(code)):
            yield from _codes(const)


def _code_key(code) -> tuple:
    """What two compilations of the same source share: bytecode, constants, names."""
    return (code.co_code, tuple(_const_key(c) for c in code.co_consts), code.co_names,
            code.co_varnames, code.co_argcount, code.co_kwonlyargcount)


def _const_key(const):
    if isinstance(const, type(_const_key.__code__)):
        return ("code", const.co_name, _code_key(const))
    if isinstance(const, tuple):
        return ("tuple", tuple(_const_key(c) for c in const))
    if isinstance(const, frozenset):
        return ("frozenset", tuple(sorted(repr(_const_key(c)) for c in const)))
    return (type(const).__name__, repr(const))
