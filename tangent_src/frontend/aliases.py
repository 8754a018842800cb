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
from dataclasses import dataclass, replace

import gast

from ..analysis.shapes import ARRAY0, SCALAR
from ..core.walk import walk

VIEW_FUNCTIONS = {"reshape", "ravel", "transpose", "swapaxes", "moveaxis", "squeeze",
                  "expand_dims", "atleast_1d", "atleast_2d", "atleast_3d", "asarray",
                  "asanyarray", "broadcast_to", "diagonal", "flip", "fliplr", "flipud",
                  "rot90", "view", "real", "imag", "require", "broadcast_arrays"}
ITERATORS = {"zip", "enumerate", "reversed", "iter"}
NUMBER_ATTRIBUTES = {"shape", "ndim", "size", "dtype", "itemsize", "nbytes", "strides"}
NUMBER_FUNCTIONS = {"len", "int", "float", "round", "abs", "min", "max", "bool", "complex"}
_FRESH = ("<fresh>",)  # a binding to a value that shares no array (`w = np.sin(x)`)
COPY_HINT = "copy first: {z} = {h}.copy(), or write {z} = {z} {op} v (a new array)"


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
class _Effect:
    """A function changes its parameter in place: `kind` "write" (an element write, so
    always in place) or "aug" (`p op= v`, in place when p is an array)."""

    kind: str
    node: gast.AST
    arg: int | str | None = None


def _loads(node) -> set[str]:
    return {n.id for n in walk(node) if isinstance(n, gast.Name) and
            isinstance(n.ctx, gast.Load)}


def _stores(targets) -> set[str]:
    """Names a statement rebinds (not the base of a subscript write)."""
    out: set[str] = set()
    for target in targets:
        if isinstance(target, gast.Name):
            out.add(target.id)
        elif isinstance(target, (gast.Tuple, gast.List)):
            out |= _stores(target.elts)
        elif isinstance(target, gast.Starred):
            out |= _stores([target.value])
    return out


def _closure_reads(body) -> set[str]:
    """Names read inside nested defs and lambdas: read whenever those are called."""
    out: set[str] = set()
    for stmt in body:
        for node in walk(stmt):
            if isinstance(node, (gast.FunctionDef, gast.Lambda)):
                out |= _loads(node)
    return out


class _Liveness:
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
            return frozenset(_loads(stmt))
        if isinstance(stmt, (gast.Break, gast.Continue)):
            return out | loop_exit
        if isinstance(stmt, (gast.Assign, gast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, gast.Assign) else [stmt.target]
            value = [stmt.value] if stmt.value is not None else []
            return (out - _stores(targets)) | set().union(*(_loads(v) for v in value + targets))
        if isinstance(stmt, gast.If):
            return frozenset(_loads(stmt.test)) | self.block(stmt.body, out, loop_exit) | \
                self.block(stmt.orelse, out, loop_exit)
        if isinstance(stmt, (gast.For, gast.While)):
            return self.loop(stmt, out)
        if isinstance(stmt, gast.With):
            return self.block(stmt.body, out, loop_exit).union(
                *(_loads(item.context_expr) for item in stmt.items))
        if isinstance(stmt, gast.Try):
            parts = stmt.body + stmt.orelse + stmt.finalbody + \
                [s for h in stmt.handlers for s in h.body]
            return out | self.block(parts, out, loop_exit) | _loads(stmt)
        if isinstance(stmt, gast.FunctionDef):
            return out  # its reads are in `always`
        return out | _loads(stmt)

    def loop(self, stmt, out: frozenset) -> frozenset:
        """A while test is read before every iteration, and so is the array a for-loop
        iterates over (each row is read from it); `range(n)` reads n once, before all."""
        is_for = isinstance(stmt, gast.For)
        head_reads = frozenset(_loads(stmt.iter if is_for else stmt.test))
        ranged = is_for and isinstance(stmt.iter, gast.Call) and \
            isinstance(stmt.iter.func, gast.Name) and stmt.iter.func.id == "range"
        each = frozenset() if ranged else head_reads
        target = _stores([stmt.target]) if is_for else set()
        head = out | each
        while True:
            body_in = self.block(stmt.body, head, head) - target
            new = out | each | body_in
            if new == head:
                break
            head = new
        return head | head_reads | self.block(stmt.orelse, out, out)


def _arg_name(param: str) -> str:
    """The caller's argument bound to `param`, as a pseudo-name no identifier can clash with."""
    return f"<arg>{param}"


def _params(node: gast.FunctionDef) -> list[str]:
    return [a.id for a in node.args.posonlyargs + node.args.args]


class _Aliases:
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
        self.liveness = _Liveness(_closure_reads(body) | {_arg_name(p) for p in params})
        self.liveness.block(body, frozenset(), frozenset())
        self.start = frozenset(frozenset((p, _arg_name(p))) for p in params)
        self.sites: dict[int, InPlaceSite] = {}
        self.effects: dict[str, list[_Effect]] = {}
        self.nested: dict[str, gast.FunctionDef] = {
            n.name: n for stmt in body for n in walk(stmt)
            if isinstance(n, gast.FunctionDef)}
        self.containers = _untouched(body, list(params) + list(containers))
        self.immutable = _immutable_names(body, set(params) | set(containers))
        self.items = self.item_names(body)

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
        return [(n, None) for n in _stores([target])]

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
        return set().union(*(self.sources(value) for param, value, _ in _bind(call, params)
                             if param in returned))

    # -- the forward pass --------------------------------------------------------------
    def block(self, stmts, pairs: frozenset) -> frozenset:
        for stmt in stmts:
            self.out_arguments(stmt)
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
                names = _stores(target.elts)
                pairs = self.rebind(names, set(), pairs)
                for elt, item in zip(target.elts, items):
                    pairs = self.bind_loop_item(elt, item, pairs)
                return pairs
        return self.rebind(_stores([target]), self.sources(iterable), pairs)

    def bind_loop_item(self, target, item, pairs: frozenset) -> frozenset:
        if item is None:
            return self.rebind(_stores([target]), set(), pairs)
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
            names = _stores(target.elts)
            separate = all(name in self.items for name in names)  # items of a parameter
            return self.rebind(names, self.sources(value) - names, pairs, separate)
        names = _stores([target])
        return self.rebind(names, self.sources(value), pairs,
                           distinct=set().union(*(self.siblings(n) for n in names)))

    def parallel(self, stmt, targets, values, pairs: frozenset) -> frozenset:
        """`a, b = b, a`: every value is read before any name is bound."""
        groups = [set().union(*(self.group(s, pairs) for s in self.sources(v)))
                  for v in values]
        for target in targets:
            if isinstance(target, gast.Subscript):
                self.check_write(stmt, target, pairs)
        names = [_stores([t]) for t in targets]
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
        prefix = _arg_name("")
        return [o[len(prefix):] for o in others if o.startswith(prefix)]

    def check_write(self, stmt, target, pairs: frozenset) -> None:
        base = target.value
        while isinstance(base, gast.Subscript):
            base = base.value
        if not isinstance(base, gast.Name):
            return
        others = self.live_partners(stmt, base.id, pairs)
        if self.callee:
            for param in self.arguments_changed(others):
                self.effects.setdefault(param, []).append(_Effect("write", target))
            return
        if others:
            raise self.parsed.unsupported(
                target, f"writing into '{base.id}', which may share its array with "
                f"'{others[0]}' (read afterwards; an assignment, a slice, an index or a view "
                "made them one array)",
                f"give '{base.id}' and '{others[0]}' separate arrays: copy where one is "
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
                self.effects.setdefault(param, []).append(_Effect("aug", stmt))
            return
        if others and id(stmt) not in self.sites:
            self.sites[id(stmt)] = InPlaceSite(stmt, stmt.target.id, others[0],
                                               _op_symbol(stmt.op))

    # -- calls of functions that change their arguments in place -------------------------
    def callee_summary(self, call):
        """(effects by parameter, parameter names, whether the lowering inlines it, the
        parameters the result may share) of the function `call` calls, when it is a nested
        def or a user function; None otherwise."""
        from .source import is_user_function, parse_function
        if not isinstance(call.func, gast.Name):
            return None
        name = call.func.id
        if name in self.nested:
            node, parsed, key = self.nested[name], self.parsed, id(self.nested[name])
        else:
            func = self.parsed.namespace.get(name)
            if not is_user_function(func):
                return None
            key = func
            if key not in self.memo:
                try:
                    parsed = parse_function(func)
                except Exception:  # noqa: BLE001  (no source: its call is refused elsewhere)
                    return None
                node = parsed.node
        if key in self.stack:
            return None  # recursion: refused by the front end
        if key not in self.memo:
            self.memo[key] = (*_summary(parsed, node, self.stack + (key,), self.memo),
                              name in self.nested)
        effects, params, returned, inlined = self.memo[key]
        return effects, params, inlined, returned

    def calls(self, stmt, pairs: frozenset) -> None:
        heads = [stmt] if not isinstance(stmt, (gast.If, gast.For, gast.While, gast.With,
                                                gast.Try, gast.FunctionDef)) else \
            [getattr(stmt, k) for k in ("test", "iter") if hasattr(stmt, k)]
        for head in heads:
            for call in walk(head):
                if isinstance(call, gast.Call):
                    self.call(stmt, call, pairs)

    def call(self, stmt, call, pairs: frozenset) -> None:
        found = self.callee_summary(call)
        if found is None:
            return
        effects, params, inlined, _ = found
        live = self.liveness.after.get(id(stmt), frozenset()) | _read_later(stmt, call)
        for param, value, key in _bind(call, params):
            if param not in effects or isinstance(value, gast.Starred) or \
                    _is_immutable(value, self.immutable):
                continue
            group = set().union(*(self.group(s, pairs) for s in self.sources(value)))
            shared = sorted(group & live)
            if not shared:
                continue
            if self.callee:
                for other in self.arguments_changed(shared):
                    kinds = {e.kind for e in effects[param]}
                    kind = "write" if "write" in kinds else "aug"
                    self.effects.setdefault(other, []).append(_Effect(kind, call, key))
                continue
            self.changed_argument(call, value, key, param, shared, effects[param], inlined)

    def changed_argument(self, call, value, key, param, shared, effects, inlined) -> None:
        """The caller passes an array read afterwards (`shared`) to a function that
        changes its parameter `param` in place: refuse now (an element write) or record the
        sites that shape classes decide (`param op= v`)."""
        callee = call.func.id
        if any(e.kind == "write" for e in effects):
            raise self.parsed.unsupported(
                value, f"passing '{shared[0]}' to '{callee}', which writes into its "
                f"parameter '{param}', while '{shared[0]}' is read afterwards",
                f"pass a copy: {callee}(..., np.copy(...)), or copy inside '{callee}'")
        via = f" (through the call of '{callee}' at line {call.lineno})"
        if not inlined:
            self.sites.setdefault(id(call), InPlaceSite(call, param, shared[0], "", key, via))
            return
        for effect in effects:
            op = _op_symbol(effect.node.op) if isinstance(effect.node, gast.AugAssign) else ""
            self.sites.setdefault(id(effect.node), InPlaceSite(
                effect.node, param, shared[0], op, effect.arg, via))

    def out_arguments(self, stmt) -> None:
        """`np.add(a, b, out=a)`: a call that writes into the array it is given."""
        if isinstance(stmt, (gast.If, gast.For, gast.While, gast.With, gast.Try,
                             gast.FunctionDef)):
            heads = [getattr(stmt, k) for k in ("test", "iter") if hasattr(stmt, k)]
        else:
            heads = [stmt]
        for head in heads:
            for node in walk(head):
                if not isinstance(node, gast.Call):
                    continue
                for keyword in node.keywords:
                    if keyword.arg == "out" and not (isinstance(keyword.value, gast.Constant)
                                                     and keyword.value.value is None):
                        raise self.parsed.unsupported(
                            keyword.value, "out= (a call that writes into an existing "
                            "array)", "assign the result instead: write `a = np.add(a, b)` "
                            "rather than `np.add(a, b, out=a)`")


def _read_later(stmt, call) -> set[str]:
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


def _is_immutable(expr, names: set[str]) -> bool:
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
        return _is_immutable(expr.left, names) and _is_immutable(expr.right, names)
    if isinstance(expr, gast.UnaryOp):
        return _is_immutable(expr.operand, names)
    if isinstance(expr, gast.Call) and isinstance(expr.func, gast.Name) and \
            expr.func.id in NUMBER_FUNCTIONS:
        return all(_is_immutable(a, names) for a in expr.args) or \
            expr.func.id in ("len", "int", "float", "bool", "round")
    return False


def _immutable_names(body, params) -> set[str]:
    """Names every binding of which is immutable (see `_is_immutable`; a `for` over
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
        kept = {n for n in names if all(_is_immutable(v, names) for v in bindings[n])}
        if kept == names:
            return names
        names = kept


def _untouched(body, params) -> set[str]:
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


def _summary(parsed, node: gast.FunctionDef, stack: tuple, memo: dict):
    """How `node` (a nested def or a user function) changes its parameters in place, its
    parameter names, and which parameters' arrays its result may share."""
    params = _params(node)
    aliases = _Aliases(parsed, node.body, params, stack, memo=memo, callee=True)
    aliases.block(node.body, aliases.start)
    return aliases.effects, params, aliases.returned


def _bind(call, params: list[str]) -> list:
    """(parameter, argument, position or keyword) for the arguments of `call`."""
    bound = list(zip(params, call.args, range(len(call.args))))
    return bound + [(k.arg, k.value, k.arg) for k in call.keywords if k.arg in params]


def check_aliased_writes(parsed, node: gast.FunctionDef) -> list[InPlaceSite]:
    """Raise a located UnsupportedSyntaxError for an element write or `out=` through an
    alias read afterwards; return the `z op= v` sites whose effect depends on z's type."""
    aliases = _Aliases(parsed, node.body, containers=_params(node))
    aliases.block(node.body, frozenset())
    return sorted(aliases.sites.values(), key=lambda s: (s.node.lineno, s.node.col_offset))


def _op_symbol(op) -> str:
    symbols = {gast.Add: "+", gast.Sub: "-", gast.Mult: "*", gast.Div: "/",
               gast.FloorDiv: "//", gast.Mod: "%", gast.Pow: "**", gast.MatMult: "@",
               gast.BitAnd: "&", gast.BitOr: "|", gast.BitXor: "^", gast.LShift: "<<",
               gast.RShift: ">>"}
    return symbols.get(type(op), "+")


def _located_at(node, site) -> bool:
    """At the site's line and column (an inlined callee's statement: at its column)."""
    return (site.source is not None or getattr(node, "lineno", None) == site.node.lineno) \
        and getattr(node, "col_offset", None) == site.node.col_offset


def _site_classes(core, site: InPlaceSite, classes, mutable=frozenset()) -> list:
    """Shape classes that decide `site`: of the left operand of the core statements an
    AugAssign was lowered to (same line, column and operator), or of the argument of the
    core call at the site's call. None found (inlined, say) means unknown."""
    out = []
    for node in walk(core):
        if isinstance(site.node, gast.AugAssign):
            if isinstance(node, gast.Assign) and isinstance(node.value, gast.BinOp) and \
                    type(node.value.op) is type(site.node.op) and _located_at(node, site) \
                    and isinstance(node.value.left, gast.Name):
                out.append(node.value.left.id)
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
                node.func.id == site.node.func.id and \
                getattr(node, "lineno", None) == site.node.lineno:  # ANF moves columns
            if isinstance(site.arg, int) and site.arg < len(node.args):
                out.append(node.args[site.arg])
            out += [k.value for k in node.keywords if k.arg == site.arg]
    if not out and isinstance(site.node, gast.Call) and site.source is None:
        out = _inlined_arguments(core, site.node.lineno)
    names = [n.id if isinstance(n, gast.Name) else n for n in out]
    return [ARRAY0 if n in mutable else _class_of(n, classes) for n in names] or [None]


def _inlined_arguments(core, lineno: int) -> list:
    """A call inlined into its caller (higher order) leaves `param = argument` copies on
    its line: their values stand for the arguments (every copy on the line, to be safe)."""
    return [node.value for node in walk(core) if isinstance(node, gast.Assign) and
            getattr(node, "lineno", None) == lineno and
            isinstance(node.value, (gast.Name, gast.Constant))]


def _class_of(atom, classes):
    if isinstance(atom, gast.Constant):
        return SCALAR if isinstance(atom.value, (int, float, complex, bool)) else None
    if isinstance(atom, str) and classes is not None:
        return classes.get(atom)
    return None


def check_inplace_sites(parsed, core, sites, classes,
                        mutable: frozenset = frozenset()) -> None:
    """Refuse `z op= v` where z may share its array with a name read afterwards, unless
    shape inference (`classes`, None when nothing is known) says z is a number there (then
    Python rebinds z and the lowering's `z = z op v` is exact). A scalar that may be a 0-d
    array (`mutable`: a 0-d array argument, np.where's result, a view) is updated in place."""
    for site in sites:
        found = _site_classes(core, site, classes, mutable)
        if all(cls == SCALAR for cls in found):
            continue
        owner = site.source or parsed
        what = "an array" if all(cls is not None for cls in found) else "an array or list"
        op, z, h = site.op or "+", site.name, site.partner
        if isinstance(site.node, gast.Call):
            callee = site.node.func.id
            raise owner.unsupported(
                site.node, f"passing '{h}' ({what}) to '{callee}', which updates its "
                f"parameter '{z}' in place (`{z} op= ...`), while '{h}' is read afterwards",
                f"pass a copy: {callee}(..., {h}.copy()), or write `{z} = {z} + v` in "
                f"'{callee}'")
        raise owner.unsupported(
            site.node, f"'{z} {op}= ...' on {what} that shares its memory with "
            f"'{h}'{site.via} (Python's in-place update changes '{h}' too, and '{h}' is "
            "read afterwards)", COPY_HINT.format(z=z, h=h, op=op))
