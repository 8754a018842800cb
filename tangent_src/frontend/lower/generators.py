"""Generator functions consumed whole: a user generator iterated by a `for` loop (or passed
to `list(...)`) is differentiated as the function that builds and returns the list of what
it yields.

Before:  `def layers(w): for m, n in shapes: yield w[:m*n].reshape(m, n); w = w[m*n:]`
         ... `for W in layers(weights): h = np.tanh(h @ W)`
After:   `def layers(w): items = []; for m, n in shapes: items.append(...); w = w[m*n:];
         return items` ... the loop iterates that list.

When that is the same computation: Python runs a generator lazily, one item per loop
step, interleaved with the loop body; building the whole list first gives the same
values when nothing in either order can tell the difference. So the generator must
(1) yield only from `yield value` statements (no `yield` used as a value, no `yield
from`), (2) have no other effect (no `print`, no calls as statements, no writes into
arrays, attributes or containers it did not create, no `global`/`nonlocal`), (3) be
finite by construction (`for` loops only: no `while`, no `return` in the middle), and
(4) be called only where it is consumed whole: the iterable of a `for` loop (or an
argument of its `enumerate`/`zip`) whose body writes nothing in place into the call's
arguments, or the argument of `list(...)`, `tuple(...)` or `sum(...)`.
Anything else is refused where it is written.
"""
from __future__ import annotations

import inspect

import gast

from ...core import build
from ...core.walk import walk
from .common import SCOPES, located

_HINT = "return a list of the values instead of yielding them"
# builtins that consume their first argument whole (name -> how many arguments they take)
_CONSUMERS = {"list": 1, "tuple": 1, "sum": 2}


def own_nodes(stmts):
    """The nodes of `stmts`, not those inside the functions and lambdas they hold."""
    todo = list(stmts)
    while todo:
        node = todo.pop()
        yield node
        if not isinstance(node, SCOPES + (gast.ClassDef,)):
            todo.extend(gast.iter_child_nodes(node))


def is_generator(node: gast.FunctionDef) -> bool:
    """Whether the function `node` defines is a generator (a yield of its own)."""
    return any(isinstance(n, (gast.Yield, gast.YieldFrom)) for n in own_nodes(node.body))


def generator_as_list(parsed, node: gast.FunctionDef, namer) -> None:
    """Rewrite generator `node` in place into the function returning the list of what it
    yields; refuse (located) a generator that is not equivalent to that (module doc)."""
    items = namer.fresh("items")
    created = {items} | {t.id for sub in own_nodes(node.body) if isinstance(sub, gast.Assign)
                         and isinstance(sub.value, (gast.List, gast.Dict, gast.ListComp))
                         for t in sub.targets if isinstance(t, gast.Name)}
    for sub in own_nodes(node.body):
        _check(parsed, sub, created)
    node.body = [located(build.assign(items, gast.List(elts=[], ctx=gast.Load())), node)] + \
        _Append(items).visit(gast.Module(body=node.body, type_ignores=[])).body + \
        [located(gast.Return(value=build.name(items)), node)]


def _check(parsed, sub, created: set) -> None:
    """Refuse one node of a generator that makes it differ from its list (module doc)."""
    if isinstance(sub, gast.YieldFrom):
        raise parsed.unsupported(sub, "yield from in a generator", "yield each item")
    if isinstance(sub, gast.Expr) and not isinstance(sub.value, gast.Yield) and not (
            isinstance(sub.value, gast.Call) and isinstance(sub.value.func, gast.Attribute)
            and isinstance(sub.value.func.value, gast.Name) and
            sub.value.func.value.id in created):
        raise parsed.unsupported(sub, "a statement with an effect (a call, print) in a "
                                 "generator", "compute values only in a generator: "
                                 "it runs to completion before the loop that uses it")
    if isinstance(sub, gast.Yield) and sub.value is None:
        raise parsed.unsupported(sub, "yield without a value", "yield the value")
    if isinstance(sub, (gast.While, gast.Return, gast.Global, gast.Nonlocal)):
        construct = {gast.While: "while loop", gast.Return: "return"}.get(
            type(sub), type(sub).__name__.lower())
        raise parsed.unsupported(sub, f"{construct} in a generator", _HINT)
    if isinstance(sub, (gast.Subscript, gast.Attribute)) and \
            isinstance(sub.ctx, gast.Store) and not (
                isinstance(sub.value, gast.Name) and sub.value.id in created):
        raise parsed.unsupported(sub, "a write into a value the generator did not create",
                                 "compute values only in a generator")


class _Append(gast.NodeTransformer):
    """`yield v` statements -> `items.append(v)`; a `yield` elsewhere is refused later
    (the lowering's table of unsupported expressions) with its location."""

    def __init__(self, items: str):
        self.items = items

    def visit_FunctionDef(self, node):
        return node

    def visit_Lambda(self, node):
        return node

    def visit_Expr(self, node):
        if not isinstance(node.value, gast.Yield):
            return node
        append = gast.Attribute(value=build.name(self.items), attr="append", ctx=gast.Load())
        return located(gast.Expr(value=gast.Call(func=append, args=[node.value.value],
                                                 keywords=[])), node)


def consumed_whole(func) -> bool:
    """Whether calls of the user function `func` are consumed whole as a list (it is a
    generator function; where it is called is checked by `check_generator_calls`)."""
    return inspect.isgeneratorfunction(func)


def generator_calls(lowerer, node) -> list:
    """The calls of user generator functions in the statement `node`'s own expressions."""
    exprs = [getattr(node, f, None) for f in ("value", "test", "iter")]
    found = []
    for expr in exprs:
        for sub in walk(expr) if expr is not None else ():
            if isinstance(sub, gast.Call) and consumed_whole(_target(lowerer, sub)):
                found.append(sub)
    return found


def _target(lowerer, call):
    dotted = build.dotted(call.func) if isinstance(call.func, (gast.Name, gast.Attribute)) \
        else None
    if not dotted or dotted.split(".")[0] in lowerer.locals or dotted in \
            lowerer.local_functions:
        return None
    return lowerer.resolve_dotted(call.func)


class GeneratorCalls:
    """Lowerer's part for calls of generator functions (see the module docstring)."""

    def check_generator_calls(self, node) -> None:
        """Refuse a call of a user generator function in `node` other than as the iterable
        of a `for` loop (or an argument of its `enumerate`/`zip`) that writes nothing in
        place into the call's arguments, or as the argument of `list(...)`, `tuple(...)`
        or `sum(...)`."""
        whole = {id(sub.args[0]) for sub in walk(node) if isinstance(sub, gast.Call) and
                 sub.args and not sub.keywords and isinstance(sub.func, gast.Name) and
                 sub.func.id in _CONSUMERS and sub.func.id not in self.locals and
                 len(sub.args) <= _CONSUMERS[sub.func.id]}
        looped = [node.iter] if isinstance(node, gast.For) else []
        if looped and isinstance(node.iter, gast.Call) and isinstance(node.iter.func, gast.Name) \
                and node.iter.func.id in ("enumerate", "zip") and \
                node.iter.func.id not in self.locals:
            looped += node.iter.args  # for i, x in enumerate(gen(...)), zip(gen(...), ys)
        for call in generator_calls(self, node):
            if any(call is c for c in looped):
                self._check_loop_writes(node, call)
            elif id(call) not in whole:
                raise self.parsed.unsupported(
                    call, f"calling the generator function '{build.dotted(call.func)}' "
                    "other than in a for loop, list(...), tuple(...) or sum(...)",
                    "iterate it with for, or make it return a list")

    def _check_loop_writes(self, loop, call) -> None:
        """A loop body writing in place into what the generator reads would see the
        generator's items computed before its writes, not interleaved with them."""
        names = {n.id for a in call.args + [k.value for k in call.keywords]
                 for n in walk(a) if isinstance(n, gast.Name)}
        for sub in own_nodes(loop.body):
            base = sub.target if isinstance(sub, gast.AugAssign) else \
                sub.value if isinstance(sub, (gast.Subscript, gast.Attribute)) and \
                not isinstance(sub.ctx, gast.Load) else \
                sub.func.value if isinstance(sub, gast.Call) and \
                isinstance(sub.func, gast.Attribute) else None
            if isinstance(base, gast.Name) and base.id in names:
                raise self.parsed.unsupported(
                    sub, f"changing '{base.id}' in a loop over a generator that reads it",
                    "change a copy, or build the generator's list before the loop")
