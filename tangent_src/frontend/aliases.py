"""Writes through an alias: in-place changes of an array that another live name shares.

The lowering turns an array write into a new version (`w[i] = v` -> `w = set_at(w, i, v)`)
and an augmented assignment into a rebinding (`z += v` -> `z = z + v`). That is exactly
Python's behaviour when `w`/`z` is the only name for its array -- including a parameter: the
derivative is that of the function run on a fresh copy of its arguments. When another name
shares the array (`z = h`, a slice `z = h[1:]`, a row `z = M[0]`, `M.T`, `h.reshape(...)`, a
loop over rows, an item of a list) and that name is read afterwards, Python's in-place write
changes it too and the new version would not: the derivative would be silently wrong.

This pass finds those writes on the user's statements, before lowering:

* element writes (`z[i] = v`, `z[...] = v`, `z[i] += v`) through a shared, live array are
  refused at once (only an array, list or dict can be written into, all of them mutable);
* `z += v` on a name is in place only if `z` holds a mutable value (an array, a list);
  for a number or tuple it rebinds. Names that surely hold one (`n = a.shape[0]`,
  `len(...)`, arithmetic on those) are left alone; the other sites are returned as
  `InPlaceSite`s and decided by `check_inplace_sites` once shape inference knows whether
  `z` is a scalar there (unknown: refused) -- and a number, not a 0-d array (a 0-d array
  argument, np.where's result, a view: updated in place like any array);
* a call of a user function or nested def that updates its parameter in place, while the
  caller reads the argument afterwards, is handled like `z op= v` (a summary of the callee:
  which parameters it updates or writes into, which ones its result may share);
* `out=` arguments are refused (the call writes into the array it is given).

The state is the set of pairs of names that may share an array: `t = s` (or a view, item,
container or returned alias of s) pairs t with s and everything paired with s, another
assignment to t unpairs it, branches join by union, loop bodies run to a fixed point. Items
of a parameter under different constant keys (`w = p["w"]`, `b = p["b"]`, `w, b = p`) are
different arrays (the derivative is that of f on fresh copies of its arguments). "Read
afterwards" is a backward liveness over the same statements, plus, for a call, what its
own statement reads after it (`f(x) + np.sin(x)`); names that a nested def or lambda reads
count as always read.
"""
from __future__ import annotations

import types

import gast

from ..core.walk import walk
from ..errors import TangentError
from .alias_calls import CallEffects
from .alias_facts import (
    NUMBER_ATTRIBUTES,
    Effect,
    InPlaceSite,
    Liveness,
    MutationReach,
    arg_name,
    bind_arguments,
    closure_reads,
    immutable_names,
    op_symbol,
    params_of,
    stores,
    untouched,
)

VIEW_FUNCTIONS = {"reshape", "ravel", "transpose", "swapaxes", "moveaxis", "squeeze",
                  "expand_dims", "atleast_1d", "atleast_2d", "atleast_3d", "asarray",
                  "asanyarray", "broadcast_to", "diagonal", "flip", "fliplr", "flipud",
                  "rot90", "view", "real", "imag", "require", "broadcast_arrays"}
ITERATORS = {"zip", "enumerate", "reversed", "iter"}
# methods that change their list, dict or array in place
MUTATING_METHODS = {"append", "extend", "insert", "pop", "remove", "clear", "sort",
                    "reverse", "update", "setdefault", "popitem", "fill", "put",
                    "itemset", "resize", "partition"}
_FRESH = ("<fresh>",)  # a binding to a value that shares no array (`w = np.sin(x)`)


class _Aliases(CallEffects):
    """The forward pass. For a callee (`params` given) every parameter shares its array with
    the caller's argument, which counts as read afterwards: what the pass finds through it
    are the callee's in-place effects on its arguments, recorded in `effects`."""

    def __init__(self, parsed, body, params=(), stack=(), containers=(), memo=None,
                 callee: bool = False):
        self.parsed = parsed
        self.callee = callee
        self.stack = stack  # functions being analysed (recursion guard)
        self.memo = {} if memo is None else memo  # user function -> its summary
        self.returned: set[str] = set()  # parameters whose arrays the result may share
        self.liveness = Liveness(closure_reads(body) | {arg_name(p) for p in params})
        self.liveness.block(body, frozenset(), frozenset())
        self.start = frozenset(frozenset((p, arg_name(p))) for p in params)
        self.sites: dict[int, InPlaceSite] = {}
        self.effects: dict[str, list[Effect]] = {}
        self.nested: dict[str, gast.FunctionDef] = {
            n.name: n for stmt in body for n in walk(stmt)
            if isinstance(n, gast.FunctionDef)}
        self.containers = untouched(body, list(params) + list(containers))
        self.immutable = immutable_names(body, set(params) | set(containers))
        self.items = self.item_names(body)
        self.reach = MutationReach(body)

    # -- items of a parameter: `dw = x['w']`, `db = x['b']` are different arrays ---------
    def item_key(self, value):
        """(param, key) for `param[key]` with a constant key, the param never rebound or
        written into in the body (so each key always names the same item)."""
        if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name) and \
                value.value.id in self.containers and \
                isinstance(value.slice, gast.Constant) and (
                    isinstance(value.slice.value, str) or (
                        type(value.slice.value) is int and value.slice.value >= 0)):
            return value.value.id, value.slice.value
        return None

    def item_names(self, body) -> dict:
        """Names bound to one item of a parameter, or else to new arrays: such a name is
        never another item of that parameter."""
        updated = {id(n.target) for stmt in body for n in walk(stmt)
                   if isinstance(n, gast.AugAssign)}  # `w += v` keeps w's array (or a number)
        same = {id(n.targets[0]) for stmt in body for n in walk(stmt)
                if isinstance(n, gast.Assign) and len(n.targets) == 1 and
                isinstance(n.targets[0], gast.Name) and isinstance(n.value, gast.Name) and
                n.value.id == n.targets[0].id}  # `w = w`
        keys: dict[str, list] = {}
        for stmt in body:
            for node in walk(stmt):
                if isinstance(node, gast.Assign) and id(node.targets[0]) not in same:
                    for target in node.targets:
                        for name, key in self.target_items(target, node.value):
                            keys.setdefault(name, []).append(key)
        stores: dict[str, int] = {}
        for stmt in body:
            for node in walk(stmt):
                if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store) and \
                        id(node) not in updated and id(node) not in same:
                    stores[node.id] = stores.get(node.id, 0) + 1
        out = {}
        for name, found in keys.items():
            items = set(found) - {_FRESH}
            if len(items) == 1 and None not in items and stores.get(name) == len(found):
                out[name] = items.pop()
        return out

    def target_items(self, target, value):
        if isinstance(target, gast.Name):
            key = self.item_key(value)
            return [(target.id, key if key is not None else
                     _FRESH if not self.sources(value) else None)]
        if isinstance(target, (gast.Tuple, gast.List)) and isinstance(value, gast.Name) and \
                value.id in self.containers and \
                all(isinstance(e, gast.Name) for e in target.elts):
            return [(e.id, (value.id, k)) for k, e in enumerate(target.elts)]
        return [(n, None) for n in stores([target])]

    def siblings(self, name: str) -> set[str]:
        """Names bound to other items of the parameter `name` is an item of."""
        mine = self.items.get(name)
        if mine is None:
            return set()
        return {n for n, key in self.items.items() if key[0] == mine[0] and key != mine}

    # -- what a value may share --------------------------------------------------------
    def sources(self, value) -> set[str]:
        """The names whose arrays `value` may share: the name itself, any subscript of it
        (a slice or integer index of a 2-D array is a view; an item of a list is the item),
        an attribute of a local (`.T`, `obj.W`), a view function, a container display."""
        if value is None:
            return set()
        if isinstance(value, gast.Name):
            return {value.id}
        if isinstance(value, gast.Subscript):
            return self.sources(value.value)
        if isinstance(value, gast.Attribute):
            if value.attr in NUMBER_ATTRIBUTES:
                return set()
            base = value.value
            if isinstance(base, gast.Name) and isinstance(
                    self.parsed.namespace.get(base.id), types.ModuleType):
                return set()
            return self.sources(base)
        if isinstance(value, gast.Starred):
            return self.sources(value.value)
        if isinstance(value, (gast.Tuple, gast.List, gast.Set)):
            return set().union(*(self.sources(e) for e in value.elts))
        if isinstance(value, gast.Dict):
            return set().union(*(self.sources(e) for e in value.values))
        if isinstance(value, gast.IfExp):
            return self.sources(value.body) | self.sources(value.orelse)
        if isinstance(value, gast.NamedExpr):
            return self.sources(value.value)
        if isinstance(value, gast.Call):
            return self.call_sources(value)
        return set()

    def call_sources(self, call) -> set[str]:
        func = call.func
        if isinstance(func, gast.Name) and func.id in ITERATORS:
            return set().union(*(self.sources(a) for a in call.args))
        if isinstance(func, gast.Attribute) and func.attr in VIEW_FUNCTIONS:
            receiver = func.value
            if isinstance(receiver, gast.Name) and isinstance(
                    self.parsed.namespace.get(receiver.id), types.ModuleType):
                return self.sources(call.args[0]) if call.args else set()  # np.reshape(x)
            return self.sources(receiver)  # x.reshape(...), x.view()
        found = self.callee_summary(call)
        if found is None:
            return set()
        _, params, _, returned = found
        return set().union(*(self.sources(value) for param, value, _ in bind_arguments(call, params)
                             if param in returned))

    # -- the forward pass --------------------------------------------------------------
    def block(self, stmts, pairs: frozenset) -> frozenset:
        for stmt in stmts:
            self.out_arguments(stmt)
            self.mutating_methods(stmt, pairs)
            self.calls(stmt, pairs)
            pairs = self.stmt(stmt, pairs)
        return pairs

    def stmt(self, stmt, pairs: frozenset) -> frozenset:
        if isinstance(stmt, gast.Assign):
            for target in stmt.targets:
                pairs = self.bind(stmt, target, stmt.value, pairs)
            return pairs
        if isinstance(stmt, gast.AnnAssign):
            return self.bind(stmt, stmt.target, stmt.value, pairs) if stmt.value else pairs
        if isinstance(stmt, gast.AugAssign):
            self.augmented(stmt, pairs)
            return pairs  # in place (an array) or rebound (a number): pairs are kept
        if isinstance(stmt, gast.Expr):
            return self.append(stmt.value, pairs)
        if isinstance(stmt, gast.Return) and self.callee:  # `return a` hands out a's array
            shared = set().union(*(self.group(n, pairs) for n in self.sources(stmt.value)))
            self.returned |= set(self.arguments_changed(sorted(shared)))
            return pairs
        if isinstance(stmt, gast.If):
            return self.block(stmt.body, pairs) | self.block(stmt.orelse, pairs)
        if isinstance(stmt, (gast.For, gast.While)):
            while True:
                start = pairs
                if isinstance(stmt, gast.For):  # the rows of an array are views of it
                    start = self.loop_target(stmt.target, stmt.iter, start)
                new = pairs | self.block(stmt.body, start)
                if new == pairs:
                    break
                pairs = new
            return pairs | self.block(stmt.orelse, pairs)
        if isinstance(stmt, (gast.With, gast.Try)):
            for part in ("body", "orelse", "finalbody"):
                pairs = pairs | self.block(getattr(stmt, part, []) or [], pairs)
            for handler in getattr(stmt, "handlers", []):
                pairs = pairs | self.block(handler.body, pairs)
            return pairs
        return pairs

    def loop_target(self, target, iterable, pairs: frozenset) -> frozenset:
        """`for a, b in zip(A, B)`: a is a row of A, b of B; `for i, row in enumerate(M)`:
        row is a row of M; otherwise every target name may share the iterable's arrays."""
        if isinstance(target, (gast.Tuple, gast.List)) and isinstance(iterable, gast.Call) \
                and isinstance(iterable.func, gast.Name) and not iterable.keywords:
            items = None
            if iterable.func.id == "zip":
                items = iterable.args
            elif iterable.func.id == "enumerate" and len(iterable.args) == 1:
                items = [None, iterable.args[0]]
            if items is not None and len(items) == len(target.elts):
                names = stores(target.elts)
                pairs = self.rebind(names, set(), pairs)
                for elt, item in zip(target.elts, items):
                    pairs = self.bind_loop_item(elt, item, pairs)
                return pairs
        return self.rebind(stores([target]), self.sources(iterable), pairs)

    def bind_loop_item(self, target, item, pairs: frozenset) -> frozenset:
        if item is None:
            return self.rebind(stores([target]), set(), pairs)
        return self.loop_target(target, item, pairs)

    def append(self, value, pairs: frozenset) -> frozenset:
        """`items.append(a)`: the list now holds a's array."""
        if isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) and \
                value.func.attr in ("append", "extend", "insert") and \
                isinstance(value.func.value, gast.Name):
            owner = value.func.value.id
            added = set().union(*(self.sources(a) for a in value.args)) - {owner}
            partners = set().union(*(self.group(s, pairs) for s in added))
            return pairs | {frozenset((owner, p)) for p in partners if p != owner}
        return pairs

    def bind(self, stmt, target, value, pairs: frozenset) -> frozenset:
        if isinstance(target, gast.Subscript):
            self.check_write(stmt, target, pairs)
            return pairs
        if isinstance(target, (gast.Tuple, gast.List)) and \
                isinstance(value, (gast.Tuple, gast.List)) and \
                len(value.elts) == len(target.elts) and \
                not any(isinstance(e, gast.Starred) for e in target.elts + value.elts):
            return self.parallel(stmt, target.elts, value.elts, pairs)
        if isinstance(target, (gast.Tuple, gast.List)):
            for elt in target.elts:  # unpacking: each item may be one of value's arrays
                if isinstance(elt, gast.Subscript):
                    self.check_write(stmt, elt, pairs)
            names = stores(target.elts)
            separate = all(name in self.items for name in names)  # items of a parameter
            return self.rebind(names, self.sources(value) - names, pairs, separate)
        names = stores([target])
        return self.rebind(names, self.sources(value), pairs,
                           distinct=set().union(*(self.siblings(n) for n in names)))

    def parallel(self, stmt, targets, values, pairs: frozenset) -> frozenset:
        """`a, b = b, a`: every value is read before any name is bound."""
        groups = [set().union(*(self.group(s, pairs) for s in self.sources(v)))
                  for v in values]
        for target in targets:
            if isinstance(target, gast.Subscript):
                self.check_write(stmt, target, pairs)
        names = [stores([t]) for t in targets]
        rebound = set().union(*names)
        out = frozenset(p for p in pairs if not set(p) & rebound)
        for i, (mine, group) in enumerate(zip(names, groups)):
            partners = group - rebound
            for j, other in enumerate(groups):  # targets bound to one array
                if j != i and group & other:
                    partners |= names[j]
            out |= {frozenset((n, p)) for n in mine for p in partners if p != n}
        return out

    def group(self, name: str, pairs: frozenset) -> set[str]:
        """`name` and every name that may share its array."""
        return {name} | {other for p in pairs if name in p for other in p}

    def rebind(self, names: set[str], sources: set[str], pairs: frozenset,
               separate: bool = False, distinct: set[str] = frozenset()) -> frozenset:
        """Bind `names` to values that may share the arrays of `sources`: each name is
        paired with everything that shares them (but `distinct` names), and the names with
        one another unless they are `separate` items (`a, b = pair` may give one array
        twice; `w, b = params` of a parameter gives two)."""
        if not names:
            return pairs
        partners = set().union(*(self.group(s, pairs) for s in sources)) if sources else set()
        pairs = frozenset(p for p in pairs if not set(p) & names)
        partners -= names | set(distinct)
        new = {frozenset((n, p)) for n in names for p in partners}
        if sources and not separate:
            new |= {frozenset((a, b)) for a in names for b in names if a != b}
        return pairs | new

    # -- the checks --------------------------------------------------------------------
    def live_partners(self, stmt, name: str, pairs: frozenset) -> list[str]:
        live = self.liveness.after.get(id(stmt), frozenset())
        return sorted(p for p in self.group(name, pairs) - {name} if p in live)

    def arguments_changed(self, others: list[str]) -> list[str]:
        """The callee's parameters whose caller's arguments are among `others`."""
        prefix = arg_name("")
        return [o[len(prefix):] for o in others if o.startswith(prefix)]

    def mutating_methods(self, stmt, pairs: frozenset) -> None:
        """`items.append(v)`, `d.update(...)`, `a.sort()`: a write into the object, seen
        by every name that shares it (the lowering rebinds only `items`)."""
        if isinstance(stmt, (gast.If, gast.For, gast.While, gast.With, gast.Try,
                             gast.FunctionDef)):
            return  # their heads hold no statements; their bodies are visited
        for node in walk(stmt):
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
                    node.func.attr in MUTATING_METHODS and \
                    isinstance(node.func.value, gast.Name):
                name = node.func.value.id
                self.written(stmt, name, node, pairs, self.reach.reach(name))

    def check_write(self, stmt, target, pairs: frozenset) -> None:
        base = target.value
        while isinstance(base, gast.Subscript):
            base = base.value
        if isinstance(base, gast.Name):
            self.written(stmt, base.id, target, pairs)

    def written(self, stmt, name: str, target, pairs: frozenset,
                within: set[str] | None = None) -> None:
        """`name`'s object is changed in place at `target`: refused when another name that
        shares it (among `within`, the names a method's change can reach) is read
        afterwards (a callee records it as an effect on its parameter)."""
        if within is not None:  # a caller's argument: as far as its parameter's name goes
            within = within | {arg_name(n) for n in within}
        others = [o for o in self.live_partners(stmt, name, pairs)
                  if within is None or o in within]
        if self.callee:
            for param in self.arguments_changed(others):
                self.effects.setdefault(param, []).append(Effect("write", target))
            return
        if others:
            raise self.parsed.unsupported(
                target, f"writing into '{name}', which may share its array with "
                f"'{others[0]}' (read afterwards; an assignment, a slice, an index or a view "
                "made them one array)",
                f"give '{name}' and '{others[0]}' separate arrays: copy where one is "
                "made from the other (`b = a.copy()` instead of `b = a`, "
                "`v = np.copy(a[:2])` instead of `v = a[:2]`)")

    def augmented(self, stmt, pairs: frozenset) -> None:
        if isinstance(stmt.target, gast.Subscript):
            self.check_write(stmt, stmt.target, pairs)
            return
        if not isinstance(stmt.target, gast.Name) or stmt.target.id in self.immutable:
            return  # a number or a tuple: `z op= v` rebinds z
        others = self.live_partners(stmt, stmt.target.id, pairs)
        if self.callee:
            for param in self.arguments_changed(others):
                self.effects.setdefault(param, []).append(Effect("aug", stmt))
            return
        if others and id(stmt) not in self.sites:
            self.sites[id(stmt)] = InPlaceSite(stmt, stmt.target.id, others[0],
                                               op_symbol(stmt.op))

    # -- calls of functions that change their arguments in place -------------------------


def check_aliased_writes(parsed, node: gast.FunctionDef) -> list[InPlaceSite]:
    """Raise a located UnsupportedSyntaxError for an element write or `out=` through an
    alias read afterwards; return the `z op= v` sites whose effect depends on z's type."""
    aliases = _Aliases(parsed, node.body, containers=params_of(node))
    aliases.block(node.body, frozenset())
    return sorted(aliases.sites.values(), key=lambda s: (s.node.lineno, s.node.col_offset))




def written_parameters(parsed) -> frozenset[str]:
    """The parameters whose array (list, dict) the function changes in place, itself or
    through a callee: the callee summary of the function asked for. The derivative treats
    its arguments as fresh copies, so one array passed as two of them, one written here,
    is refused at call time (shared_arguments.py)."""
    node = parsed.node
    params = params_of(node) + [a.id for a in node.args.kwonlyargs]
    try:
        aliases = _Aliases(parsed, node.body, params, callee=True)
        aliases.block(node.body, aliases.start)
    except TangentError:  # (the front end refuses the function first): assume every one
        return frozenset(params)
    return frozenset(aliases.effects)
