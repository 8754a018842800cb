"""`written_at(g, index)` as the plain read `g[index]` where the index cannot repeat an
entry: ints, slices and tuples of them, a string key. written_at exists only for
integer-array indexes with duplicates (`y[[0, 0]] = v`: NumPy keeps the last write, so the
first value gets no cotangent); for a basic index the two are the same value.

Before:  `for i in range(n): ... dt = written_at(dw2, i)`; `s = slice(1, None)`
After:   `for i in range(n): ... dt = dw2[i]`

A name counts as an int or slice when every binding of it in the function is one: an int
literal, `slice(...)`, a `range(...)` loop target, an entry of a `.shape`, `len(...)`,
integer arithmetic of such names (`i + 1`), or a pop of a tape that only such values are
appended to. Parameters and anything else may hold an array, so they do not.
"""
from __future__ import annotations

import gast

from ..core.walk import all_nodes, walk

_INT_OPS = (gast.Add, gast.Sub, gast.Mult, gast.FloorDiv, gast.Mod)


def written(body: list, inplace: set, protected: set) -> bool:
    """Rewrite every written_at call whose index is basic; whether any changed."""
    calls = [n for stmt in body for n in walk(stmt) if _is_written_at(n)]
    if not calls:
        return False
    basic = _basic_names(body)
    changed = False
    for stmt in body:
        changed |= _Rewrite(basic).apply(stmt)
    return changed


def _is_written_at(node) -> bool:
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) \
        and node.func.id == "written_at" and len(node.args) == 2 and not node.keywords


def _tape_of(call, method: str) -> str | None:
    """The tape name of `tape.append(x)` / `tape.pop()`, else None."""
    if isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) and \
            call.func.attr == method and isinstance(call.func.value, gast.Name):
        return call.func.value.id
    return None


def _bindings(body: list) -> dict:
    """name -> the expressions bound to it (None for a binding of unknown kind); a tape
    pop is bound to the tape's appended values, under the key ("tape", name). Every name
    stored anywhere (augmented assignments, unpacking, comprehensions, parameters of
    nested functions, ...) that is not a plain `name = value` or range loop target gets
    None, so nothing is taken for an int by omission."""
    found: dict = {}
    known = set()  # the target Name nodes whose binding is recorded with its value
    for node in all_nodes(body):
        tape = _tape_of(node.value, "append") if isinstance(node, gast.Expr) else None
        if tape is not None:
            found.setdefault(("tape", tape), []).extend(node.value.args or [None])
        elif isinstance(node, gast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], gast.Name):
            target, popped = node.targets[0], _tape_of(node.value, "pop")
            value = node.value if popped is None else gast.Name(
                id=("tape", popped), ctx=gast.Load(), annotation=None, type_comment=None)
            found.setdefault(target.id, []).append(value)
            known.add(id(target))
        elif isinstance(node, gast.For) and isinstance(node.target, gast.Name) and \
                isinstance(node.iter, gast.Call) and isinstance(node.iter.func, gast.Name) \
                and node.iter.func.id == "range":
            found.setdefault(node.target.id, []).append("int")
            known.add(id(node.target))
    for node in all_nodes(body):
        if isinstance(node, gast.Name) and id(node) not in known and \
                isinstance(node.ctx, (gast.Store, gast.Param, gast.Del)):
            found.setdefault(node.id, []).append(None)
    return found


def _basic_names(body: list) -> set:
    """The names whose every binding is an int or a slice: the greatest such set (a tape
    and the name popped from it and appended to it again support each other; a value in
    that cycle still came from some binding outside it, which must be basic too)."""
    bindings = _bindings(body)
    basic = set(bindings)
    shrank = True
    while shrank:
        shrank = False
        for name in list(basic):
            if not all(v == "int" or (v is not None and _is_basic(v, basic))
                       for v in bindings[name]):
                basic.discard(name)
                shrank = True
    return basic


def _is_basic(expr, basic: set[str]) -> bool:
    """Whether `expr` is an int, a slice, or a tuple of them, given the basic names."""
    if isinstance(expr, gast.Constant):  # a str: a dict key or a field, never repeated
        return type(expr.value) in (int, str) or expr.value is None or expr.value is Ellipsis
    if isinstance(expr, gast.Name):
        return expr.id in basic
    if isinstance(expr, gast.Subscript):  # x.shape[k]
        return isinstance(expr.value, gast.Attribute) and expr.value.attr == "shape" and \
            isinstance(expr.slice, gast.Constant) and type(expr.slice.value) is int
    if isinstance(expr, gast.Tuple):
        return all(_is_basic(e, basic) for e in expr.elts)
    if isinstance(expr, gast.BinOp):
        return isinstance(expr.op, _INT_OPS) and _is_basic(expr.left, basic) and \
            _is_basic(expr.right, basic)
    if isinstance(expr, gast.UnaryOp):
        return isinstance(expr.op, gast.USub) and _is_basic(expr.operand, basic)
    if isinstance(expr, gast.Call) and isinstance(expr.func, gast.Name) and \
            expr.func.id == "slice" and not expr.keywords:
        return all(_is_basic(a, basic) for a in expr.args)
    return isinstance(expr, gast.Call) and isinstance(expr.func, gast.Name) and \
        expr.func.id == "len" and len(expr.args) == 1 and not expr.keywords


class _Rewrite(gast.NodeTransformer):
    def __init__(self, basic: set[str]):
        self.basic, self.changed = basic, False

    def apply(self, stmt) -> bool:
        self.visit(stmt)
        return self.changed

    def visit_Call(self, node):
        self.generic_visit(node)
        if _is_written_at(node) and _is_basic(node.args[1], self.basic):
            self.changed = True
            return gast.Subscript(value=node.args[0], slice=node.args[1], ctx=gast.Load())
        return node
