"""Facts the alias check (aliases.py) works with: the write sites it reports, what a
callee does to its parameters, backward liveness over the user's statements, and which
names surely hold immutable values (so `z += v` rebinds rather than writes in place)."""
from __future__ import annotations

from dataclasses import dataclass, replace

import gast

from ..core.dataflow import reads
from ..core.walk import walk

NUMBER_ATTRIBUTES = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "strides"}
COPY_HINT = "copy first: {z} = {h}.copy(), or write {z} = {z} {op} v (a new array)"
NUMBER_FUNCTIONS = {"len", "int", "float", "round", "abs", "min", "max", "bool", "complex"}


@dataclass(frozen=True)
class InPlaceSite:
    """`name op= value` where `name` may share its array with `partner`, read afterwards.

    `node` is the AugAssign (its lowering `name = name op value` is found in the core by
    location), or, for a user function that updates its parameter in place, the call
    (`arg`: the position or keyword of the argument whose shape class decides)."""

    node: gast.AST
    name: str
    partner: str
    op: str
    arg: int | str | None = None
    via: str = ""
    source: object = None  # the ParsedFunction of a callee inlined into the checked core


def inlined_sites(parsed, sites: list[InPlaceSite]) -> list[InPlaceSite]:
    """A callee's sites, to be decided in the core of a caller it is inlined into (its
    statements keep their columns there, not their lines)."""
    return [replace(site, source=site.source or parsed) for site in sites]


@dataclass(frozen=True)
class Effect:
    """A function changes its parameter in place: `kind` "write" (an element write, so
    always in place) or "aug" (`p op= v`, in place when p is an array)."""

    kind: str
    node: gast.AST
    arg: int | str | None = None


def loads(node) -> set[str]:
    """Names read under `node`."""
    return reads([node])


def stores(targets) -> set[str]:
    """Names a statement rebinds (not the base of a subscript write)."""
    out: set[str] = set()
    for target in targets:
        if isinstance(target, gast.Name):
            out.add(target.id)
        elif isinstance(target, (gast.Tuple, gast.List)):
            out |= stores(target.elts)
        elif isinstance(target, gast.Starred):
            out |= stores([target.value])
    return out


def closure_reads(body) -> set[str]:
    """Names read inside nested defs and lambdas: read whenever those are called."""
    out: set[str] = set()
    for stmt in body:
        for node in walk(stmt):
            if isinstance(node, (gast.FunctionDef, gast.Lambda)):
                out |= loads(node)
    return out


class Liveness:
    """Backward liveness over the user's statements: `after[id(stmt)]` holds the names
    that may be read after `stmt` before being rebound."""

    def __init__(self, always: set[str]):
        self.always = frozenset(always)
        self.after: dict[int, frozenset] = {}

    def block(self, stmts, out: frozenset, loop_exit: frozenset) -> frozenset:
        for stmt in reversed(stmts):
            out = out | self.always
            self.after[id(stmt)] = self.after.get(id(stmt), frozenset()) | out
            out = self.stmt(stmt, out, loop_exit)
        return out | self.always

    def stmt(self, stmt, out: frozenset, loop_exit: frozenset) -> frozenset:
        if isinstance(stmt, gast.Return):
            return frozenset(loads(stmt))
        if isinstance(stmt, (gast.Break, gast.Continue)):
            return out | loop_exit
        if isinstance(stmt, (gast.Assign, gast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, gast.Assign) else [stmt.target]
            value = [stmt.value] if stmt.value is not None else []
            return (out - stores(targets)) | set().union(*(loads(v) for v in value + targets))
        if isinstance(stmt, gast.If):
            return frozenset(loads(stmt.test)) | self.block(stmt.body, out, loop_exit) | \
                self.block(stmt.orelse, out, loop_exit)
        if isinstance(stmt, (gast.For, gast.While)):
            return self.loop(stmt, out)
        if isinstance(stmt, gast.With):
            return self.block(stmt.body, out, loop_exit).union(
                *(loads(item.context_expr) for item in stmt.items))
        if isinstance(stmt, gast.Try):
            parts = stmt.body + stmt.orelse + stmt.finalbody + \
                [s for h in stmt.handlers for s in h.body]
            return out | self.block(parts, out, loop_exit) | loads(stmt)
        if isinstance(stmt, gast.FunctionDef):
            return out  # its reads are in `always`
        return out | loads(stmt)

    def loop(self, stmt, out: frozenset) -> frozenset:
        """A while test is read before every iteration, and so is the array a for-loop
        iterates over (each row is read from it); `range(n)` reads n once, before all."""
        is_for = isinstance(stmt, gast.For)
        head_reads = frozenset(loads(stmt.iter if is_for else stmt.test))
        ranged = is_for and isinstance(stmt.iter, gast.Call) and \
            isinstance(stmt.iter.func, gast.Name) and stmt.iter.func.id == "range"
        each = frozenset() if ranged else head_reads
        target = stores([stmt.target]) if is_for else set()
        head = out | each
        while True:
            body_in = self.block(stmt.body, head, head) - target
            new = out | each | body_in
            if new == head:
                break
            head = new
        return head | head_reads | self.block(stmt.orelse, out, out)


def arg_name(param: str) -> str:
    """The caller's argument bound to `param`, as a pseudo-name no identifier can clash with."""
    return f"<arg>{param}"


def params_of(node: gast.FunctionDef) -> list[str]:
    return [a.id for a in node.args.posonlyargs + node.args.args]


def read_later(stmt, call) -> set[str]:
    """Names the statement holding `call` reads after the call returns (`f(x) + np.sin(x)`:
    the second x sees what f did to it), by source position; a compound statement's head."""
    end = (getattr(call, "end_lineno", None), getattr(call, "end_col_offset", None))
    if None in end:
        return set()
    heads = [stmt] if not isinstance(stmt, (gast.If, gast.For, gast.While, gast.With,
                                            gast.Try, gast.FunctionDef)) else \
        [getattr(stmt, k) for k in ("test", "iter") if hasattr(stmt, k)]
    return {n.id for head in heads for n in walk(head)
            if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load) and
            (getattr(n, "lineno", 0), getattr(n, "col_offset", 0)) >= end}


def is_immutable(expr, names: set[str]) -> bool:
    """Whether `expr` surely gives a number, string or tuple (which `op=` rebinds): a
    constant, an `a.shape`/`a.ndim`/`len(a)`-like value, arithmetic on those, `names`."""
    if isinstance(expr, gast.Constant):
        return True
    if isinstance(expr, gast.Name):
        return expr.id in names
    if isinstance(expr, gast.Attribute):
        return expr.attr in NUMBER_ATTRIBUTES
    if isinstance(expr, gast.Subscript):  # a.shape[1], a.shape[1:]
        return isinstance(expr.value, gast.Attribute) and expr.value.attr == "shape"
    if isinstance(expr, gast.BinOp):
        return is_immutable(expr.left, names) and is_immutable(expr.right, names)
    if isinstance(expr, gast.UnaryOp):
        return is_immutable(expr.operand, names)
    if isinstance(expr, gast.Call) and isinstance(expr.func, gast.Name) and \
            expr.func.id in NUMBER_FUNCTIONS:
        return all(is_immutable(a, names) for a in expr.args) or \
            expr.func.id in ("len", "int", "float", "bool", "round")
    return False


def immutable_names(body, params) -> set[str]:
    """Names every binding of which is immutable (see `is_immutable`; a `for` over
    `range(...)` counts): a fixed point from all assigned names down."""
    bindings: dict[str, list] = {}
    stores: dict[str, int] = {}
    for stmt in body:
        for node in walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Param)):
                stores[node.id] = stores.get(node.id, 0) + 1  # a nested def's parameter too
            if isinstance(node, gast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], gast.Name):
                bindings.setdefault(node.targets[0].id, []).append(node.value)
            elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
                bindings.setdefault(node.target.id, []).append(node.value)
            elif isinstance(node, gast.For) and isinstance(node.target, gast.Name) and \
                    isinstance(node.iter, gast.Call) and \
                    isinstance(node.iter.func, gast.Name) and node.iter.func.id == "range":
                bindings.setdefault(node.target.id, []).append(gast.Constant(0, None))
    names = {n for n, found in bindings.items()
             if stores.get(n) == len(found) and n not in params}
    while True:
        kept = {n for n in names if all(is_immutable(v, names) for v in bindings[n])}
        if kept == names:
            return names
        names = kept


def untouched(body, params) -> set[str]:
    """Parameters the body never rebinds nor writes an item of (`p[k] = ...`)."""
    out = set(params)
    for stmt in body:
        for node in walk(stmt):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                out.discard(node.id)
            elif isinstance(node, gast.Subscript) and isinstance(node.ctx, gast.Store) and \
                    isinstance(node.value, gast.Name):
                out.discard(node.value.id)
    return out


def bind_arguments(call, params: list[str]) -> list:
    """(parameter, argument, position or keyword) for the arguments of `call`."""
    bound = list(zip(params, call.args, range(len(call.args))))
    return bound + [(k.arg, k.value, k.arg) for k in call.keywords if k.arg in params]


def op_symbol(op) -> str:
    symbols = {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/",
               gast.FloorDiv: "//", gast.Mod: "%", gast.Pow: "**", gast.MatMult: "@",
               gast.BitAnd: "&", gast.BitOr: "|", gast.BitXor: "^", gast.LShift: "<<",
               gast.RShift: ">>"}
    return symbols.get(type(op), "+")



class MutationReach:
    """Who sees a change made through a method (`c.append(w)`, `d.update(...)`): names of
    the same object (`c2 = c`), holders of it (`outer = [c]`, `outer.append(c)`,
    `c = outer[i]`, `for c in outer`) and, conservatively, everything those holders hold.
    Flow-insensitive over the whole body; the alias pairs and liveness narrow it. What `c`
    holds (`c.append(h)`: `h`) is not changed by a change of `c` itself."""

    def __init__(self, body):
        self.aliases: dict[str, set[str]] = {}
        self.holders: dict[str, set[str]] = {}  # item -> containers holding it
        self.items: dict[str, set[str]] = {}  # container -> its items
        for stmt in body:
            for node in walk(stmt):
                self.visit(node)

    def hold(self, container, item) -> None:
        if isinstance(container, gast.Name):
            for name in loads(item):
                self.holders.setdefault(name, set()).add(container.id)
                self.items.setdefault(container.id, set()).add(name)

    def visit(self, node) -> None:
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
                node.func.attr in ("append", "insert") and node.args:
            self.hold(node.func.value, node.args[-1])
        elif isinstance(node, gast.Assign):
            for target in node.targets:
                if isinstance(target, gast.Name) and isinstance(node.value, gast.Name):
                    self.aliases.setdefault(target.id, set()).add(node.value.id)
                    self.aliases.setdefault(node.value.id, set()).add(target.id)
                elif isinstance(target, gast.Subscript):
                    self.hold(target.value, node.value)
                elif isinstance(node.value, (gast.List, gast.Tuple, gast.Dict, gast.Set)):
                    self.hold(target, node.value)
                elif isinstance(node.value, gast.Subscript):
                    self.hold(node.value.value, target)
        elif isinstance(node, gast.For):
            for source in [node.iter] + list(getattr(node.iter, "args", [])):
                self.hold(source, node.target)

    def reach(self, name: str) -> set[str]:
        seen, todo = {name}, [name]
        while todo:
            current = todo.pop()
            near = set(self.aliases.get(current, ()))
            for holder in self.holders.get(current, ()):
                near |= {holder} | self.items.get(holder, set())
            for other in near - seen:
                seen.add(other)
                todo.append(other)
        return seen
