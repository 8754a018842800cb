"""Finding a function's definition in its source: a lambda among several on one line or
spread over lines (by the code object's positions), and decorator wrappers that only pass
their arguments through (`functools.wraps` wrappers that change the result are not)."""
from __future__ import annotations

import ast
import contextlib
import inspect
import linecache
import textwrap

import gast

from ..core.walk import walk
from .depth import allow_depth, nesting_depth

_FILE_TREES: dict = {}  # (filename, text) -> the file's ast, for finding lambdas


def lambda_in_file(func, filename: str):
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
    for node in walk(tree):
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


def lambda_def(module, func):
    """The lambda `func` was made from, as `def <name>(args): return <body>` (named after
    the variable it is assigned to); None when the line holds no unique match."""
    code = func.__code__
    params = list(code.co_varnames[:code.co_argcount + code.co_kwonlyargcount])
    found, assigned = [], {}  # assigned: id of a lambda -> the name it is assigned to
    for node in walk(module):
        if isinstance(node, gast.Assign) and isinstance(node.value, gast.Lambda) and \
                isinstance(node.targets[0], gast.Name):
            assigned[id(node.value)] = node.targets[0].id
        if isinstance(node, gast.Lambda) and node.lineno == code.co_firstlineno:
            args = node.args
            if [a.id for a in args.posonlyargs + args.args + args.kwonlyargs] == params:
                found.append(node)
    if len(found) != 1:
        return None
    lam = found[0]
    name = assigned.get(id(lam), "lambda_")
    node = gast.FunctionDef(name=name, args=lam.args,
                            body=[gast.Return(value=lam.body)], decorator_list=[],
                            returns=None, type_comment=None, type_params=[])
    return gast.copy_location(node, lam)


def unwrap(func):
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
    returns = [n for n in walk(node) if isinstance(n, gast.Return)]
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
