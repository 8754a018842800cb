"""Computed functions: calls whose target is a value the source fixes, rewritten to calls of
that function by name, so they are differentiated like any other call.

Before:  `act = np.tanh; h = act(z)` / `acts = {"tanh": np.tanh}; acts["tanh"](z)`
         `sq = functools.partial(power, k=2.0); sq(x)` / `for f in [np.sin, np.cos]: f(x)`
         `list(map(f, xs))` / `operator.mul(a, b)` / `dict(W=w)` / `g(*pair)`
After:   `h = np.tanh(z)` / `np.tanh(z)` / `k1 = 2.0; power(x, k=k1)` / the body once per
         function / `[f(v) for v in xs]` / `a * b` / `{"W": w}` / `g(pair[0], pair[1])`
A name is a function alias only when the function assigns it exactly once; using such a
name in any other way than calling it (or passing a plain alias on) is refused.
"""
from __future__ import annotations

import functools
import operator

import gast

from ...core import build
from ...core.walk import clone, walk
from ..bindings import FixedRef, Guard, ItemRef, LengthGuard
from .common import contains, located
from .partials import PartialCalls, is_function

_BINARY = {operator.add: gast.Add, operator.sub: gast.Sub, operator.mul: gast.Mult,
           operator.truediv: gast.Div, operator.floordiv: gast.FloorDiv,
           operator.pow: gast.Pow, operator.mod: gast.Mod, operator.matmul: gast.MatMult}
_UNARY = {operator.neg: gast.USub, operator.pos: gast.UAdd}


def _literal_pairs(args) -> list | None:
    """`dict([("a", x), ("b", y)])`'s (key, value) pairs when the argument is a list or
    tuple display of pairs, or a dict display, whose keys are constants ([] with no
    argument); else None."""
    if not args:
        return []
    if len(args) == 1 and isinstance(args[0], gast.Dict) and all(
            isinstance(k, gast.Constant) for k in args[0].keys):
        return list(zip(args[0].keys, args[0].values))  # dict({"a": x}): a copy
    if len(args) != 1 or not isinstance(args[0], (gast.List, gast.Tuple)):
        return None
    pairs = []
    for item in args[0].elts:
        if not (isinstance(item, (gast.Tuple, gast.List)) and len(item.elts) == 2 and
                isinstance(item.elts[0], gast.Constant)):
            return None
        pairs.append((item.elts[0], item.elts[1]))
    return pairs


class ComputedCalls(PartialCalls):
    """Lowerer's part for computed function values (see the module docstring)."""

    def stored_once(self) -> set:
        """Names the function assigns exactly once (not parameters): the only ones that
        can be aliases of a function for the whole body."""
        if getattr(self, "_stored_once", None) is None:
            counts: dict = {}
            for n in walk(self.parsed.node):
                if isinstance(n, gast.Name) and isinstance(n.ctx, (gast.Store, gast.Del)):
                    counts[n.id] = counts.get(n.id, 0) + 1
            args = self.parsed.node.args
            params = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs}
            self._stored_once = {n for n, c in counts.items() if c == 1} - params
        return self._stored_once

    def function_spec(self, expr):
        """(callee expression, bound args, bound keywords) when `expr` is a function the
        source fixes; a dict/list spec for a display of them; else None."""
        if isinstance(expr, gast.Name) and expr.id in self.aliases:
            return self.aliases[expr.id]
        if isinstance(expr, gast.Name) and expr.id in self.local_functions:
            return ("call", expr, [], [])
        if isinstance(expr, (gast.Name, gast.Attribute)) and build.dotted(expr):
            base = build.dotted(expr).split(".")[0]
            if base in self.locals:
                return None
            found = self.resolve_dotted(expr)
            if is_function(found):
                return ("call", expr, [], [])
            if isinstance(found, functools.partial):
                return self.partial_value_spec(expr, found)
            if isinstance(found, (list, tuple)) and found and all(
                    is_function(v) for v in found):
                # a global (or closure) list of functions: `for f in FUNS` unrolled, each
                # item called by index (global_table_item); a list that grows is stale
                self.parsed.guards.append(LengthGuard(FixedRef(found), len(found)))
                return ("table", {k: ("call", located(gast.Subscript(
                    value=clone(expr), slice=build.const(k), ctx=gast.Load()), expr), [], [])
                    for k in range(len(found))})
            return None
        if isinstance(expr, gast.Dict) and expr.keys and all(
                isinstance(k, gast.Constant) for k in expr.keys):
            specs = [self.function_spec(v) for v in expr.values]
            if all(s is not None and s[0] == "call" for s in specs):
                return ("table", {k.value: s for k, s in zip(expr.keys, specs)})
        if isinstance(expr, (gast.List, gast.Tuple)) and expr.elts:
            specs = [self.function_spec(v) for v in expr.elts]
            if all(s is not None and s[0] == "call" for s in specs):
                return ("table", dict(enumerate(specs)))
        return None

    def computed_stmt(self, node) -> list | None:
        """Record an alias assignment (returning its replacement), unroll a loop over
        functions, or rewrite the calls in `node` in place (returning None)."""
        once = self.stored_once()
        if isinstance(node, gast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], gast.Name) and node.targets[0].id in once:
            found = self.alias_of(node.targets[0].id, node.value, node)
            if found is not None:
                return found
        if isinstance(node, gast.For) and isinstance(node.target, gast.Name) and (
                node.target.id in once or not any(  # or a comprehension's fresh name
                    isinstance(n, gast.Name) and n.id == node.target.id
                    for n in walk(self.parsed.node))):
            spec = self.function_spec(node.iter)
            if spec is not None and spec[0] == "table":
                return self.unroll(node, spec)
        pre = self.hoist_starred_calls(node) + self.hoist_transform_calls(node)
        if pre:  # `g(*f(x))`, `grad(f)(x)`: computed first, the statement reads the result
            return self.block(pre) + self.stmt(node)
        _CallRewriter(self).visit(node)
        return None

    def alias_of(self, name: str, value, node) -> list | None:
        """Make `name` (assigned once, or a parameter bound at an expanded call and never
        rebound) an alias of the function `value` fixes (a function, a partial, a table,
        a transform built where it is called: `dE = grad(energy)`): the statements that
        replace the binding, or None when `value` is no such function."""
        found = self.partial_spec(value, node)
        if found is not None:
            self.aliases[name] = found[1]
            return self.block(found[0])
        spec = self.function_spec(value)
        if spec is None and self.builds_transform(value):
            spec = ("call", value, [], [])
        if spec is None or isinstance(value, gast.Name) and value.id in self.local_functions:
            return None
        self.aliases[name] = spec
        return []

    def known_key(self, expr):
        """The key `expr` is when the lowering knows it: a constant, or a string argument
        the function never rebinds (its value is part of the specialization, as a
        function-valued argument is); else None."""
        if isinstance(expr, gast.Constant):
            return expr.value
        if isinstance(expr, gast.Name) and expr.id in self.strings and not any(
                isinstance(n, gast.Name) and n.id == expr.id and
                isinstance(n.ctx, (gast.Store, gast.Del)) for n in walk(self.parsed.node)):
            return self.strings[expr.id]
        return None

    def global_table_item(self, func):
        """`ACTS[key](z)` with ACTS a module-level dict (or list/tuple) of functions and
        the key known (known_key): the spec of a call of that function, bound to a fixed
        name and guarded (the table still holding it there); None otherwise."""
        key = self.known_key(func.slice)
        dotted = build.dotted(func.value) if isinstance(func.value, (gast.Name,
                                                                     gast.Attribute)) else None
        if key is None or not dotted or dotted.split(".")[0] in self.locals:
            return None
        table = self.resolve_dotted(func.value)
        if not isinstance(table, (dict, list, tuple)):
            return None
        try:
            value = table[key]
        except (KeyError, IndexError, TypeError):
            raise self.parsed.unsupported(func, f"key {key!r}, which {dotted} does not hold",
                                          f"use one of the keys of {dotted}") from None
        if not is_function(value):
            return None
        name = self.namer.fresh(getattr(value, "__name__", "table_item"))
        self.namer.reserve(name)
        self.parsed.fixed[name] = FixedRef(value, f"{dotted}[{key!r}]")
        self.parsed.namespace[name] = value
        self.parsed.guards.append(Guard(ItemRef(table, key), value))  # ACTS[key] = other
        return ("call", located(build.name(name), func), [], [])

    def unroll(self, node, spec) -> list:
        """`for f in [g, h]: body` -> body with f = g, then body with f = h."""
        if node.orelse or contains(node.body, (gast.Break, gast.Continue),
                                   stop=(gast.For, gast.While)):
            raise self.parsed.unsupported(node, "break, continue or else in a loop over "
                                          "functions", "compute a flag and test it instead")
        out = []
        for item in spec[1].values():
            self.aliases[node.target.id] = item
            out += self.block([clone(s) for s in node.body])
        self.aliases.pop(node.target.id, None)
        return out

    def display_of(self, expr):
        """The tuple/list display `expr` is, or holds (a name assigned once to one and never
        written into or extended, or an item of such), else None."""
        if isinstance(expr, (gast.Tuple, gast.List)):
            return None if any(isinstance(e, gast.Starred) for e in expr.elts) else expr
        if isinstance(expr, gast.Subscript) and isinstance(expr.slice, gast.Constant) and \
                type(expr.slice.value) is int:
            outer = self.display_of(expr.value)
            if outer is None or not -len(outer.elts) <= expr.slice.value < len(outer.elts):
                return None
            return self.display_of(outer.elts[expr.slice.value])
        if not (isinstance(expr, gast.Name) and expr.id in self.stored_once()):
            return None
        found = None
        for n in walk(self.parsed.node):
            if isinstance(n, gast.Assign) and len(n.targets) == 1 and \
                    isinstance(n.targets[0], gast.Name) and n.targets[0].id == expr.id:
                found = n.value
            if isinstance(n, gast.Subscript) and isinstance(n.ctx, gast.Store) and \
                    isinstance(n.value, gast.Name) and n.value.id == expr.id:
                return None  # written into
            if isinstance(n, gast.Attribute) and isinstance(n.value, gast.Name) and \
                    n.value.id == expr.id:
                return None  # xs.append(...) and the like
        return self.display_of(found) if found is not None else None

    def known_items(self, expr) -> list | None:
        """The items of `*expr` when its length is fixed by the source: a tuple or list
        display, or a name assigned once to one (then its items are read by index)."""
        if isinstance(expr, (gast.Tuple, gast.List)):
            return None if any(isinstance(e, gast.Starred) for e in expr.elts) \
                else list(expr.elts)
        if isinstance(expr, gast.Subscript) and isinstance(expr.slice, gast.Slice):
            whole = self.known_items(expr.value)
            bounds = [b.value if isinstance(b, gast.Constant) else b for b in (
                expr.slice.lower, expr.slice.upper, expr.slice.step)]
            if whole is None or not all(b is None or type(b) is int for b in bounds) or \
                    bounds[2] == 0:
                return None
            return whole[slice(*bounds)]  # `*args[1:]`
        if isinstance(expr, gast.BinOp) and isinstance(expr.op, gast.Add):  # `(a,) + rest`
            left, right = self.known_items(expr.left), self.known_items(expr.right)
            return None if left is None or right is None else left + right
        if isinstance(expr, gast.Call) and isinstance(expr.func, gast.Name) and \
                len(expr.args) == 1 and not expr.keywords and \
                expr.func.id not in self.locals and \
                self.resolve_dotted(expr.func) in (list, tuple):  # `*list(args)`
            return self.known_items(expr.args[0])
        length = getattr(self, "known_lengths", {}).get(getattr(expr, "id", None))
        if isinstance(expr, gast.Name) and length is not None:
            return [located(gast.Subscript(value=clone(expr), slice=build.const(k),
                                           ctx=gast.Load()), expr) for k in range(length)]
        display = self.display_of(expr)
        if display is None:
            return None
        return [located(gast.Subscript(value=clone(expr), slice=build.const(k),
                                       ctx=gast.Load()), expr)
                for k in range(len(display.elts))]


class _CallRewriter(gast.NodeTransformer):
    """Rewrites the calls of one statement (its nested statements are lowered later)."""

    def __init__(self, lowerer):
        self.lowerer = lowerer

    def visit_FunctionDef(self, node):
        return node  # a nested def's body is lowered where it is expanded

    def visit_Lambda(self, node):
        return node

    def spec_call(self, spec, node):
        _, func, args, keywords = spec
        call = gast.Call(func=clone(func), args=[clone(a) for a in args] + node.args,
                         keywords=[gast.keyword(arg=k.arg, value=clone(k.value))
                                   for k in keywords] + node.keywords)
        return located(call, node)

    def visit_Call(self, node):
        low = self.lowerer
        func = node.func
        spec = None
        if isinstance(func, gast.Name) and func.id in low.aliases:
            spec = low.aliases[func.id]
        elif isinstance(func, gast.Subscript) and isinstance(func.value, gast.Name) and \
                func.value.id in low.aliases and low.known_key(func.slice) is not None:
            table = low.aliases[func.value.id]
            spec = table[1].get(low.known_key(func.slice)) if table[0] == "table" else None
            if spec is None:
                raise low.parsed.unsupported(func, "this key of a table of functions",
                                             "use one of the keys the table was built with")
        if spec is None and isinstance(func, gast.Subscript):
            spec = low.global_table_item(func)
        head = build.dotted(func).split(".")[0] if isinstance(
            func, (gast.Name, gast.Attribute)) and build.dotted(func) else None
        if spec is None and head and (head not in low.locals or head in low.parsed.adopted) \
                and isinstance(low.resolve_dotted(func), functools.partial):
            # a global or closure partial (an expanded helper's free name: adopted)
            spec = low.partial_value_spec(func, low.resolve_dotted(func))
        if spec is None:
            spec = self.inline_partial(func)
        if spec is not None and spec[0] == "call":
            return self.visit(self.spec_call(spec, node))
        target = self.target(node)
        if target is map and len(node.args) >= 2 and not node.keywords:
            return self.visit(self.map_comprehension(node))
        node = self.generic_visit(node)
        if any(isinstance(a, gast.Starred) for a in node.args):
            node.args = self.unstar(node.args)
        if any(k.arg is None for k in node.keywords):
            node.keywords = self.unstar_keywords(node.keywords)
        return self.library_call(node, target)

    def inline_partial(self, func):
        """The spec of `functools.partial(f, a, k=b)` called where it is built
        (`partial(f, a)(x)`, also as map's function: `map(partial(f, a), xs)`) when f is a
        function the source fixes and the bound values are names, constants or attributes,
        which evaluating once per call does not change; else None."""
        low = self.lowerer
        if not (isinstance(func, gast.Call) and func.args and
                low.resolve_dotted(func.func) is functools.partial and
                all(k.arg is not None for k in func.keywords) and
                all(isinstance(v, (gast.Name, gast.Constant, gast.Attribute))
                    for v in func.args[1:] + [k.value for k in func.keywords])):
            return None
        inner = low.function_spec(func.args[0])
        if inner is None or inner[0] != "call":
            return None
        return ("call", inner[1], inner[2] + func.args[1:], inner[3] + func.keywords)

    def unstar_keywords(self, keywords) -> list:
        """`f(**kwargs)` with the keys of kwargs known (a `**kwargs` parameter of a helper
        expanded at its call, a dict display): one keyword per key, read by key."""
        out = []
        for k in keywords:
            value = k.value
            if k.arg is not None:
                out.append(k)
            elif isinstance(value, gast.Dict) and all(
                    isinstance(key, gast.Constant) and isinstance(key.value, str)
                    for key in value.keys):
                out += [gast.keyword(arg=key.value, value=v)
                        for key, v in zip(value.keys, value.values)]
            elif isinstance(value, gast.Name) and \
                    value.id in getattr(self.lowerer, "known_keys", {}):
                out += [gast.keyword(arg=key, value=located(gast.Subscript(
                    value=clone(value), slice=build.const(key), ctx=gast.Load()), value))
                    for key in self.lowerer.known_keys[value.id]]
            else:
                out.append(k)  # refused where the call is checked
        return out

    def target(self, node):
        """The library object a call by a global (dotted) name calls, else None."""
        low = self.lowerer
        if not isinstance(node.func, (gast.Name, gast.Attribute)) or not build.dotted(
                node.func) or build.dotted(node.func).split(".")[0] in low.locals:
            return None
        return low.resolve_dotted(node.func)

    def map_comprehension(self, node):
        """`map(f, xs, ys)` -> `[f(a, b) for a, b in zip(xs, ys)]`."""
        low = self.lowerer
        names = [low.namer.fresh("item") for _ in node.args[1:]]
        low.locals.update(names)
        call = located(gast.Call(func=node.args[0], args=[build.name(n) for n in names],
                                 keywords=[]), node)
        it = node.args[1] if len(names) == 1 else gast.Call(
            func=build.name("zip"), args=node.args[1:], keywords=[])
        tgt = build.name(names[0], gast.Store()) if len(names) == 1 else gast.Tuple(
            elts=[build.name(n, gast.Store()) for n in names], ctx=gast.Store())
        comp = gast.comprehension(target=tgt, iter=it, ifs=[], is_async=0)
        return located(gast.ListComp(elt=call, generators=[comp]), node)

    def library_call(self, node, target):
        """list(<comprehension>), operator.*, dict(k=v), zip of sequences of known length,
        as the expressions they compute."""
        if target in (sorted, list) and len(node.args) == 1 and isinstance(
                node.args[0], gast.Name) and node.args[0].id in self.lowerer.dicts:
            keys = build.call(self.lowerer.helper("dict_keys"), [node.args[0]])
            node.args = [located(keys, node.args[0])]  # sorted(d): its keys, no derivative
            return node
        if target is zip and node.args and not node.keywords:
            columns = [self.lowerer.known_items(a) for a in node.args]
            if all(c is not None for c in columns):
                rows = [gast.Tuple(elts=list(row), ctx=gast.Load()) for row in zip(*columns)]
                return located(gast.List(elts=rows, ctx=gast.Load()), node)
        if target is list and len(node.args) == 1 and isinstance(node.args[0], gast.ListComp):
            return node.args[0]
        if target in _BINARY and len(node.args) == 2 and not node.keywords:
            return located(gast.BinOp(left=node.args[0], op=_BINARY[target](),
                                      right=node.args[1]), node)
        if target in _UNARY and len(node.args) == 1 and not node.keywords:
            return located(gast.UnaryOp(op=_UNARY[target](), operand=node.args[0]), node)
        if target is dict and all(k.arg for k in node.keywords):
            pairs = _literal_pairs(node.args)
            if pairs is not None and (pairs or node.keywords):
                pairs += [(build.const(k.arg), k.value) for k in node.keywords]
                return located(gast.Dict(keys=[k for k, _ in pairs],
                                         values=[v for _, v in pairs]), node)
        return node

    def visit_List(self, node):
        """`[*pair, x]` with the starred length known: its items written out."""
        node = self.generic_visit(node)
        if isinstance(node.ctx, gast.Load) and any(isinstance(e, gast.Starred)
                                                   for e in node.elts):
            items = [[e] if not isinstance(e, gast.Starred) else
                     self.lowerer.known_items(e.value) for e in node.elts]
            if all(i is not None for i in items):
                node.elts = [e for i in items for e in i]
        return node

    visit_Tuple = visit_List

    def unstar(self, args) -> list:
        out = []
        for a in args:
            if not isinstance(a, gast.Starred):
                out.append(a)
                continue
            items = self.lowerer.known_items(a.value)
            if items is None:
                raise self.lowerer.parsed.unsupported(
                    a, "a starred argument of unknown length",
                    "star a tuple or list written out in the function (xs = (a, b); f(*xs)), "
                    "or a call of a function that returns one (return a, b) on every path")
            out += items
        return out

    def visit_Name(self, node):
        low = self.lowerer
        if isinstance(node.ctx, gast.Load) and node.id in low.aliases:
            spec = low.aliases[node.id]
            if spec[0] == "call" and not spec[2] and not spec[3]:
                return located(clone(spec[1]), node)  # a plain alias passed on
            raise low.parsed.unsupported(node, f"using '{node.id}' (a partial or a table of "
                                         "functions) other than by calling it",
                                         "call it here, or pass the function itself")
        return node
