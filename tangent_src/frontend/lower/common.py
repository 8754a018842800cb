"""What every part of lowering shares: the table of refused constructs, searches that stay
out of nested functions, source locations for synthesized nodes, and small recognizers.
"""
from __future__ import annotations

import builtins

import gast

from ...core.walk import clone, walk

# construct -> (what to call it, hint). One line per unsupported statement or expression.
UNSUPPORTED = {
    gast.Try: ("try/except", "move error handling outside the differentiated function"),
    gast.AsyncWith: ("async with", "differentiate a synchronous function"),
    gast.Yield: ("yield", "generators are not differentiable; return a value or a list"),
    gast.YieldFrom: ("yield from", "generators are not differentiable; return a value"),
    gast.Await: ("await", "differentiate a synchronous function"),
    gast.Global: ("global", "pass the value as an argument and return the new value"),
    gast.Nonlocal: ("nonlocal", "pass the value as an argument and return the new value"),
    gast.ClassDef: ("class definition", "define the class at module level"),
    gast.AsyncFunctionDef: ("nested async def", "define the helper at module level"),
    gast.Delete: ("del", "remove the 'del' statement"),
    gast.Raise: ("raise", "check inputs before calling the differentiated function"),
    gast.Import: ("import inside a function", "import at module level"),
    gast.ImportFrom: ("import inside a function", "import at module level"),
    gast.Starred: ("starred expression (*args)", "pass the arguments one by one"),
    gast.SetComp: ("set comprehension", "write an explicit loop"),
    gast.Set: ("set literal", "use a tuple"),
    gast.JoinedStr: ("f-string", "remove string formatting from the differentiated function"),
    gast.NamedExpr: ("assignment expression (:=)", "assign in a separate statement"),
    gast.Match: ("match statement", "use if/elif/else"),
    gast.AsyncFor: ("async for", "differentiate a synchronous function"),
}

# Builtins that read the running function's namespace: in the generated code it holds other
# names and values than the user's (a derivative through them would be silently wrong).
# builtin -> whether it is refused only without arguments (vars(obj) is obj.__dict__).
INTROSPECTION = {builtins.locals: False, builtins.globals: False, builtins.vars: True,
                 builtins.eval: False, builtins.exec: False}
INTROSPECTION_HINT = "refer to the values by their names (pass a dict built explicitly)"


# Nested scopes: a `return` (or `break`) inside a nested def belongs to that def, never to
# the function being lowered, so no search for the lowered function's own statements looks
# inside one.
SCOPES = (gast.FunctionDef, gast.AsyncFunctionDef, gast.Lambda)


def contains(nodes, kinds, stop=()) -> bool:
    """Whether any node of `kinds` occurs in `nodes`, not looking inside `stop` kinds nor
    inside nested functions (their returns are their own)."""
    todo = list(nodes)
    while todo:
        node = todo.pop()
        if isinstance(node, kinds):
            return True
        if isinstance(node, stop + SCOPES):
            continue
        todo.extend(gast.iter_child_nodes(node))
    return False


def walk_scope(node):
    """gast.walk without descending into nested functions."""
    todo = [node]
    while todo:
        current = todo.pop(0)
        yield current
        todo.extend(child for child in gast.iter_child_nodes(current)
                    if not isinstance(child, SCOPES))


def located(new, old):
    """Give a synthesized node (and its children) the source location of `old`."""
    for node in walk(new):
        if getattr(node, "lineno", None) is None and hasattr(old, "lineno"):
            node.lineno = old.lineno
            node.col_offset = getattr(old, "col_offset", 0)
    return new


def is_list_method(expr, method: str) -> bool:
    """`name.append(x)` / `name.pop()` on a local list (the tapes of generated code)."""
    return isinstance(expr, gast.Call) and isinstance(expr.func, gast.Attribute) and \
        expr.func.attr == method and isinstance(expr.func.value, gast.Name) and \
        len(expr.args) == (1 if method == "append" else 0) and not expr.keywords


def to_load(target):
    node = clone(target)
    for sub in walk(node):
        if hasattr(sub, "ctx"):
            sub.ctx = gast.Load()
    return node


def is_dotted_name(node) -> bool:
    while isinstance(node, gast.Attribute):
        node = node.value
    return isinstance(node, gast.Name)


def is_call_to(node, name: str) -> bool:
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
        node.func.id == name
