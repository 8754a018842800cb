"""Is the source on disk the code Python runs? A file edited after its function was
defined would otherwise be differentiated as the new text while the old code runs; the
parsed source must compile to the function's own bytecode (`code_key` compares them).
Also the source of generated modules, which is kept in memory, not read from disk."""
from __future__ import annotations
import __future__

import ast
import linecache
import textwrap

# -- the source must be the code that runs --------------------------------------------------
GENERATED_SOURCE = "__tangent_source__"  # a generated module's global: its source text
_FUTURE_FLAGS = 0
for _feature in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag


_IMPORTED: dict = {}


def generated_lines(func) -> list[str] | None:
    """The lines of the module that defines `func` when tangent_src generated it (kept in
    memory: the file written for tracebacks is never read back, so editing or replacing
    it cannot change a higher derivative)."""
    scope = getattr(func, "__globals__", None)
    text = dict.get(scope, GENERATED_SOURCE) if isinstance(scope, dict) else None
    if not isinstance(text, str) or func.__code__.co_filename != dict.get(scope, "__file__"):
        return None
    return text.splitlines(True)


def source_matches(func, text: str) -> bool | None:
    """Whether `text` (the dedented source found for `func`) compiles to `func.__code__`:
    False when the file was edited since the function was defined, None when it cannot be
    told (the text does not compile on its own, or pytest rewrote its asserts)."""
    code = getattr(func, "__code__", None)
    if code is None or ("@pytest_ar" in func.__globals__ and "assert" in text):
        return None
    imported = _imported_names(code.co_filename)
    variants = [imported] if imported is not None else [(), _module_names(func)]
    want = code_key(code)
    for names in variants:
        # a name bound by `import` in the defining module is called differently (3.11)
        head = "".join(f"import {n}\n" for n in sorted(names))
        try:
            compiled = compile(head + _compilable(func, text), code.co_filename, "exec",
                               flags=code.co_flags & _FUTURE_FLAGS, dont_inherit=True)
        except (SyntaxError, ValueError):
            return None
        if any(code_key(c) == want for c in _codes(compiled) if c.co_name == code.co_name):
            return True
    return False


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


def code_key(code) -> tuple:
    """What two compilations of the same source share: bytecode, constants, names."""
    return (code.co_code, tuple(_const_key(c) for c in code.co_consts), code.co_names,
            code.co_varnames, code.co_argcount, code.co_kwonlyargcount)


def _const_key(const):
    if isinstance(const, type(_const_key.__code__)):
        return ("code", const.co_name, code_key(const))
    if isinstance(const, tuple):
        return ("tuple", tuple(_const_key(c) for c in const))
    if isinstance(const, frozenset):
        return ("frozenset", tuple(sorted(repr(_const_key(c)) for c in const)))
    return (type(const).__name__, repr(const))
