"""gast -> Python source: astor printing, line comments, and the module header."""
from __future__ import annotations

import ast
import inspect
import math
import re
import sys
import types

import astor
import gast

from .. import runtime
from ..core.dataflow import names_with_ctx
from ..core.libraries import IMPORTABLE
from ..core.markers import MARKER, marker_text
from ..core.walk import all_nodes

_MARKER_LINE = re.compile(rf"^(\s*)(?:'|\"\"\"|\"){MARKER}:(.+?)(?:'|\"\"\"|\")\s*$")


def _signed(node):
    """A negative number as `-(literal)`, so astor parenthesizes it like Python parses it
    (None for anything else). A folded constant such as -0.45 is one `Constant` node, which
    astor prints bare: as the base of a power, `(-0.45) ** 2` would come out as
    `-0.45 ** 2`, i.e. -(0.45 ** 2)."""
    if type(node) is not ast.Constant:
        return None
    value = node.value
    if isinstance(value, (int, float)) and not isinstance(value, bool) and \
            math.copysign(1.0, value) < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(value=-value))
    return None


def _prepare(func: gast.FunctionDef):
    """The function as a Python ast astor can print: negative numbers signed (see
    `_signed`), line markers as string statements. One pass over the nodes."""
    tree = gast.gast_to_ast(func)
    for node in all_nodes([tree]):
        if type(node) is ast.Expr and type(node.value) is ast.Constant:
            text = marker_text(node.value.value)
            if text is not None:
                node.value = ast.Constant(value=text)
                continue
        for field in node._fields:
            value = getattr(node, field, None)
            if type(value) is list:
                for k, item in enumerate(value):
                    signed = _signed(item)
                    if signed is not None:
                        value[k] = signed
            else:
                signed = _signed(value)
                if signed is not None:
                    setattr(node, field, signed)
    return tree


def function_source(func: gast.FunctionDef, lines: list[str]) -> str:
    """Print one generated function, with `# line N: <source>` comments."""
    text = astor.to_source(_prepare(func), indent_with=" " * 4)
    out = []
    for line in text.splitlines():
        match = _MARKER_LINE.match(line)
        if match:
            indent, what = match.group(1), match.group(2)
            if not what.isdigit():
                out.append(f"{indent}# {what}")
                continue
            lineno = int(what)
            src = lines[lineno - 1].strip() if 0 < lineno <= len(lines) else ""
            out.append(f"{indent}# line {lineno}: {src}".rstrip())
        else:
            out.append(line.rstrip())
    return "\n".join(out) + "\n"


def free_names(funcs: list[gast.FunctionDef]) -> list[str]:
    """Names the functions read but do not define: globals, builtins, helpers."""
    defined = {f.name for f in funcs}
    free = set()
    for func in funcs:
        local = {a.id for a in func.args.posonlyargs + func.args.args + func.args.kwonlyargs}
        local |= names_with_ctx(func, gast.Store)
        free |= names_with_ctx(func, gast.Load) - local - defined
    return sorted(free)


def import_lines(names: list[str], namespace: dict, module_of: dict,
                 inline_runtime: bool, originals: dict | None = None
                 ) -> tuple[list[str], list[str]]:
    """Import statements for the free names, and the runtime helpers used (`originals`:
    generated name -> the user's name it stands for, imported under the generated one)."""
    originals = originals or {}
    modules, froms, helpers = set(), {}, []
    for name in names:
        if name in runtime.HELPERS:
            helpers.append(name)
            continue
        if name not in namespace:
            continue  # a builtin
        value = namespace[name]
        if isinstance(value, types.ModuleType):
            mod = value.__name__
            modules.add(f"import {mod}" if mod == name else f"import {mod} as {name}")
            continue
        obj_module = getattr(value, "__module__", None) or ""
        obj_name = getattr(value, "__name__", None)
        if obj_name and obj_module.split(".")[0] in IMPORTABLE and \
                getattr(sys.modules.get(obj_module), obj_name, None) is value:
            entry = obj_name if obj_name == name else f"{obj_name} as {name}"
            froms.setdefault(obj_module, []).append(entry)
        else:
            original = originals.get(name, name)
            entry = name if original == name else f"{original} as {name}"
            # a value bound under a generated name (`Model_predict`) has no module global
            # of its own: it comes from the module that defines it; so does a library
            # object its module does not hold by that name (`logpdf = norm.logpdf`)
            froms.setdefault(module_of.get(name) or obj_module or "__main__", []).append(entry)
    lines = sorted(modules)
    if helpers and not inline_runtime:
        lines.append(f"from tangent_src.runtime import {', '.join(sorted(helpers))}")
    for module in sorted(froms):
        lines.append(f"from {module} import {', '.join(sorted(froms[module]))}")
    return lines, helpers




def helper_closure(helpers) -> list[str]:
    """The helpers and every runtime function they call, in a stable order."""
    names = runtime.functions()
    todo, found = list(helpers), set()
    while todo:
        name = todo.pop()
        if name in found or name not in names:
            continue
        found.add(name)
        source = inspect.getsource(names[name])
        todo += [n for n in names if re.search(rf"\b{n}\(", source) and n not in found]
    return sorted(found)


def runtime_source(helpers: list[str]) -> str:
    """The source of the runtime helpers (and what they call), for standalone modules."""
    functions = runtime.functions()
    chunks = [inspect.getsource(functions[h]) for h in helper_closure(helpers)]
    return "\n\n".join(chunks)


# Imports the copied overloads need, by what their text uses.
_HEADER_IMPORTS = (("operator.", "import operator"), ("functools.", "import functools"),
                   ("pytypes.", "import types as pytypes"))


def numba_header(overloads: str) -> str:
    """The imports a standalone numba module's copied overloads need."""
    extra = "".join(line + "\n" for used, line in _HEADER_IMPORTS if used in overloads)
    return extra + "import numba\nfrom numba import types\nfrom numba.extending import overload"

# The modules whose numba implementations a standalone module copies, in dependency order
# (numba_runtime uses numba_sums' loop builders, numba_numpy numba_axis' reductions);
# numba_ufuncs last: its section ends with NUMPY_REBOUND, after which the module's code
# (generated functions and copied helpers alike) reads NumPy as numba_ufuncs' namespace.
STANDALONE_OVERLOADS = ("numba_sums", "numba_runtime", "numba_containers", "numba_axis",
                        "numba_numpy", "numba_inplace", "numba_cross", "numba_adjoints",
                        "numba_ufuncs")
OVERLOADS_MARKER = "\n# -- overloads (copied into standalone numba modules from here on)"
NUMPY_REBOUND = ("\n\n# NumPy's own loops for large arrays' tanh, exp and log (numba_ufuncs)\n"
                 "np = numpy_namespace()\n")


def numba_runtime_source() -> tuple[list[str], str]:
    """(helpers it needs, source) of the numba implementations of the runtime helpers and
    NumPy call forms, rewritten to refer to the module's own copies (`rt.unbroadcast` ->
    `unbroadcast`); each module of STANDALONE_OVERLOADS gives its text after the marker."""
    import importlib
    texts = [inspect.getsource(importlib.import_module(f"{__package__}.{name}"))
             for name in STANDALONE_OVERLOADS]
    body = "".join(text[text.index(OVERLOADS_MARKER):] for text in texts)
    body = re.sub(r"\brt\.", "", body)
    # code the helpers compile from strings runs in (a copy of) the module's own globals
    body = body.replace('{"np": np, "rt": rt', "{**globals()").replace('{"rt": rt', "{**globals()")
    used = sorted(set(re.findall(r"@overload\((\w+)[,)]", body)))
    return used, body.strip() + NUMPY_REBOUND


def grouped_imports(lines: list[str]) -> list[str]:
    """`lines` with its import statements first, in isort's order (the standard library,
    then the rest, each `import x` before `from x import y`); other lines keep theirs."""
    imports = [ln for chunk in lines for ln in chunk.split("\n")
               if ln.startswith(("import ", "from "))]
    rest = [chunk for chunk in lines if not chunk.startswith(("import ", "from "))]

    def order(line: str) -> tuple:
        module = line.split()[1].split(".")[0]
        return module not in sys.stdlib_module_names, line.startswith("from "), line
    imports = sorted(set(imports), key=order)
    split = next((k for k, ln in enumerate(imports) if order(ln)[0]), len(imports))
    head = ["\n".join(imports[:split]) + "\n"] if 0 < split < len(imports) else []
    return head + ["\n".join(imports[len(head) and split:])] + rest


def module_source(docstring: str, imports: list[str], body_chunks: list[str]) -> str:
    parts = [f'"""{docstring}"""', "\n".join(imports)] if imports else [f'"""{docstring}"""']
    text = "\n".join(parts) + "\n"
    for chunk in body_chunks:
        text += "\n\n" + chunk.rstrip("\n") + "\n"
    return text
