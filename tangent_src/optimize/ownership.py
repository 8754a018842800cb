"""Which array writes of generated code may go into the array itself: ownership, escapes
and liveness of the arrays `set_at` / `zero_at` copy (optimize/inplace_writes.py uses it).

`B = set_at(A, i, v)` copies A so that every older version stays intact. Writing into A's
array instead gives the same values when nothing can read that array afterwards except
as B. The analysis proves that with three facts, each erring towards "copy":

- **Families** (flow-insensitive). Names are joined into one family by every binding
  that may hand one name's array to another: `y = x` and the array helpers that write
  into or return their first argument (`set_at`, `zero_at`, `add_at` and their in-place
  forms). A family is *owned* when every binding of every member is such a hand-over
  from the family or builds a new array (`np.zeros`, an arithmetic result, a copy), so
  its arrays are all allocated by the function: never an argument (the caller's), a
  global, a tape item, a loop variable or an unpacked item.
- **Holders** of a family: its members and every name bound to a view of one of them
  (`y = x[k]`, `y = x.T`, and their families in turn): the names through which the
  family's arrays may be seen.
- **Escapes** (forward, flow-sensitive): a holder read where its array may be kept by
  something that is not a holder -- appended to a tape, put in a tuple or list,
  returned, passed to a function not known to leave its arguments alone, iterated over.
  A family is *pinned* at a statement when an escape may have run before it on some
  path (loops: any iteration, the back edge included).
- **Liveness** (backward): the names some path still reads before binding them again.

`B = set_at(A, ...)` may write in place when A's family is owned and not pinned there,
the statement reads no holder but A, and no holder other than B is live after it. Then
the old array is referenced by no name anyone reads and by nothing an escape kept, so
no one can tell a copy from the write. Everything is judged on the copying program, by
names rather than arrays, so any number of such writes may be made in place at once:
each write hands its array only to its family, and the family's names are all checked.
"""
from __future__ import annotations

import gast

from ..core.markers import is_marker
from ..core.walk import all_nodes

# Helpers that return their first argument's array (in place) or a copy of it: a
# hand-over within a family.
CHAIN_HELPERS = frozenset({"set_at", "zero_at", "add_at", "set_in_place", "zero_in_place"})
# Attributes that read no elements: reading them keeps nothing.
SHAPE_ATTRS = frozenset({"shape", "ndim", "dtype", "size"})
# Calls whose result is a new value and which keep no reference to any argument.
SAFE_NAMES = frozenset({"len", "zeros_like", "zeros_like_last", "copy_of", "entry_copy",
                        "float", "int", "bool", "abs", "set_at", "zero_at", "cross3",
                        "join_slices", "sum_keepdims"})
SAFE_NP = frozenset({
    "outer", "dot", "matmul", "sum", "zeros_like", "ones_like", "empty_like", "full_like",
    "zeros", "ones", "empty", "full", "exp", "log", "log1p", "expm1", "tanh", "sinh", "cosh",
    "sin", "cos", "tan", "sqrt", "square", "where", "clip", "maximum", "minimum", "abs",
    "absolute", "logaddexp", "power", "multiply", "add", "subtract", "divide",
    "negative", "sign", "shape", "ndim", "size", "copy", "max", "min", "mean", "prod",
    "vdot", "inner", "isfinite", "isnan", "exp2", "log2", "log10", "arctan", "arctan2",
    "arcsin", "arccos", "arctanh", "arcsinh", "arccosh", "eye", "identity", "cross"})
# Calls that may return their first argument itself (the rest is read for its shape).
FIRST_PASSES = frozenset({"unbroadcast", "unreduce"})
SAFE_METHODS = frozenset({"copy", "sum", "max", "min", "mean", "item", "pop"})
# Constructs the analysis does not model: a function holding one is left as it is.
UNMODELLED = (gast.Lambda, gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp,
              gast.NamedExpr, gast.Yield, gast.YieldFrom, gast.Await, gast.FunctionDef,
              gast.AsyncFunctionDef, gast.ClassDef, gast.Global, gast.Nonlocal,
              gast.Delete, gast.Try, gast.With, gast.AsyncWith, gast.AsyncFor, gast.Break,
              gast.Continue, gast.Import, gast.ImportFrom)
INTROSPECTION = frozenset({"locals", "vars", "eval", "exec", "globals"})


def call_name(call) -> str | None:
    """`f` for `f(...)`, `np.f` for `np.f(...)`, else None."""
    func = call.func
    if isinstance(func, gast.Name):
        return func.id
    if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and \
            func.value.id == "np":
        return "np." + func.attr
    return None


def modelled(func: gast.FunctionDef) -> bool:
    """Whether every statement and expression of `func` is one the analysis models."""
    for node in all_nodes(func.body):
        if isinstance(node, UNMODELLED):
            return False
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
                node.func.id in INTROSPECTION:
            return False
        if isinstance(node, gast.Assign) and (len(node.targets) != 1 or not _plain_target(
                node.targets[0])):
            return False
        if isinstance(node, gast.AugAssign) and not isinstance(node.target, gast.Name):
            return False
        if isinstance(node, gast.For) and (node.orelse or not _plain_target(node.target)):
            return False
        if isinstance(node, gast.While) and node.orelse:
            return False
    return True


def _plain_target(target) -> bool:
    if isinstance(target, gast.Name):
        return True
    return isinstance(target, (gast.Tuple, gast.List)) and all(
        isinstance(e, gast.Name) for e in target.elts)


def _new_value(value) -> bool:
    """Whether an expression certainly builds a new array (or a number): arithmetic, a
    copy, an allocation, a NumPy function known to return a new array."""
    if isinstance(value, (gast.BinOp, gast.Constant, gast.Compare)):
        return True
    if isinstance(value, gast.UnaryOp):
        return True
    if isinstance(value, gast.Call):
        if any(k.arg == "out" or k.arg is None for k in value.keywords):
            return False
        name = call_name(value)
        return name in ("copy_of", "zeros_like", "zeros_like_last", "entry_copy",
                        "sum_keepdims") or (
            name is not None and name.startswith("np.") and name[3:] in SAFE_NP)
    return False


def _view_base(value) -> str | None:
    """`x` for `x[i]`, `x.T`, `x[i][j]` (a value that may view x's array), else None."""
    node, seen = value, False
    while isinstance(node, gast.Subscript) or (
            isinstance(node, gast.Attribute) and node.attr not in SHAPE_ATTRS):
        node, seen = node.value, True
    return node.id if seen and isinstance(node, gast.Name) else None


def escaping_names(node, escaping: bool) -> set:
    """Names read under `node` where their array may be kept by what `node` builds (when
    `escaping`: the result itself is kept) or by a call's side: see the module doc."""
    out: set = set()
    _scan(node, escaping, out)
    return out


def _scan(node, escaping: bool, out: set) -> None:  # noqa: C901  (one case per node kind)
    if isinstance(node, gast.Name):
        if escaping:
            out.add(node.id)
    elif isinstance(node, gast.Constant):
        return
    elif isinstance(node, (gast.BinOp, gast.UnaryOp, gast.Compare)):
        for child in gast.iter_child_nodes(node):
            _scan(child, False, out)
    elif isinstance(node, gast.IfExp):
        _scan(node.test, False, out)
        _scan(node.body, escaping, out)
        _scan(node.orelse, escaping, out)
    elif isinstance(node, gast.Subscript):
        _scan(node.value, escaping, out)
        _scan(node.slice, False, out)
    elif isinstance(node, gast.Attribute):
        _scan(node.value, escaping and node.attr not in SHAPE_ATTRS, out)
    elif isinstance(node, gast.Slice):
        for child in gast.iter_child_nodes(node):
            _scan(child, False, out)
    elif isinstance(node, gast.Call):
        _scan_call(node, escaping, out)
    else:  # tuples, lists, dicts, starred, boolean operators (they return an operand)...
        for child in gast.iter_child_nodes(node):
            _scan(child, True, out)


def _scan_call(call, escaping: bool, out: set) -> None:
    name = call_name(call)
    args = list(call.args) + [k.value for k in call.keywords]
    if any(isinstance(a, gast.Starred) for a in call.args) or any(
            k.arg is None or k.arg == "out" for k in call.keywords):
        name = None
    if name in SAFE_NAMES or (name or "").startswith("np.") and name[3:] in SAFE_NP:
        for arg in args:
            _scan(arg, False, out)
    elif name in FIRST_PASSES or name in CHAIN_HELPERS:
        # the first argument may come back as the result; a written value may be kept
        # (set_at into a list keeps the item itself)
        if args:
            _scan(args[0], escaping if name not in ("set_at", "zero_at") else False, out)
        for k, arg in enumerate(args[1:], start=1):
            keeps = name in CHAIN_HELPERS and k == 2
            _scan(arg, keeps, out)
    elif isinstance(call.func, gast.Attribute) and call.func.attr in SAFE_METHODS:
        _scan(call.func.value, False, out)
        for arg in args:
            _scan(arg, False, out)
    else:
        _scan(call.func, True, out)
        for arg in args:
            _scan(arg, True, out)


class _Families:
    """Union-find over names."""

    def __init__(self) -> None:
        self.parent: dict = {}
        self.names: set = set()   # every name a hand-over joined

    def find(self, name: str) -> str:
        root = name
        while self.parent.get(root, root) != root:
            root = self.parent[root]
        while self.parent.get(name, name) != root:
            self.parent[name], name = root, self.parent[name]
        return root

    def join(self, a: str, b: str) -> None:
        self.names |= {a, b}
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[ra] = rb


class Ownership:
    """The facts of one generated function (see the module doc); `allows(site)` answers
    for an assignment `B = set_at(A, ...)` / `B = zero_at(A, ...)` of that function."""

    def __init__(self, func: gast.FunctionDef, copying: frozenset = frozenset()) -> None:
        # `copying`: ids of the writes taken to stay copies: each builds a new array
        self.copying = copying
        self.families = _Families()
        self.unowned: set = set()       # family roots with a binding from outside
        self.views: dict = {}           # family root -> roots of families viewing it
        self.bound: set = set()
        params = [a.id for a in func.args.posonlyargs + func.args.args +
                  func.args.kwonlyargs]
        for extra in (func.args.vararg, func.args.kwarg):
            if extra is not None:
                params.append(extra.id)
        self._bindings(func.body)
        outside = set(params)
        self._kinds(func.body, outside)
        self.holders = self._holders()
        self.live_after: dict = {}
        self._live_block(func.body, set())
        self.pinned_before: dict = {}
        self._pins_block(func.body, frozenset())

    # -- families, ownership, holders -------------------------------------------------
    def _bindings(self, stmts) -> None:
        for node in all_nodes(stmts):
            if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name):
                target, value = node.targets[0].id, node.value
                source = _handed_over(value)
                if source is not None and id(node) not in self.copying:
                    self.families.join(target, source)

    def _kinds(self, stmts, outside: set) -> None:
        """Mark the families some binding fills from outside (or with a view)."""
        views: list = []
        for node in all_nodes(stmts):
            if isinstance(node, gast.Assign):
                target = node.targets[0]
                if not isinstance(target, gast.Name):
                    outside |= {e.id for e in target.elts}
                    continue
                self.bound.add(target.id)
                value = node.value
                if _handed_over(value) is not None or _new_value(value) or \
                        id(node) in self.copying:
                    continue
                base = _view_base(value)
                if base is not None:
                    views.append((base, target.id))
                outside.add(target.id)
            elif isinstance(node, gast.For):
                target = node.target
                outside |= {target.id} if isinstance(target, gast.Name) else \
                    {e.id for e in target.elts}
        # a member never bound here is a parameter or a global: the caller's array
        outside |= self.families.names - self.bound
        self.unowned = {self.families.find(n) for n in outside}
        for base, viewer in views:
            self.views.setdefault(self.families.find(base), set()).add(
                self.families.find(viewer))

    def _holders(self) -> dict:
        """family root -> every name through which its arrays may be seen."""
        members: dict = {}
        for name in self.families.names | self.bound:
            members.setdefault(self.families.find(name), set()).add(name)
        holders: dict = {}
        for root in members:
            seen, todo = {root}, [root]
            while todo:
                for viewer in self.views.get(todo.pop(), ()):
                    if viewer not in seen:
                        seen.add(viewer)
                        todo.append(viewer)
            holders[root] = set().union(*(members.get(r, {r}) for r in seen))
        return holders

    def owned(self, name: str) -> bool:
        """Whether every array `name`'s family holds was allocated by the function."""
        return name in self.bound and self.families.find(name) not in self.unowned

    def holders_of(self, name: str) -> set:
        root = self.families.find(name)
        return self.holders.get(root, {name})

    # -- liveness ----------------------------------------------------------------------
    def _live_block(self, stmts, live: set) -> set:
        live = set(live)
        for stmt in reversed(stmts):
            self.live_after[id(stmt)] = frozenset(live)
            live = self._live_step(stmt, live)
        return live

    def _live_step(self, stmt, live: set) -> set:
        if isinstance(stmt, gast.If):
            return self._live_block(stmt.body, live) | self._live_block(stmt.orelse, live) \
                | _reads(stmt.test)
        if isinstance(stmt, (gast.For, gast.While)):
            head = _reads(stmt.iter if isinstance(stmt, gast.For) else stmt.test)
            target = _reads_store(stmt.target) if isinstance(stmt, gast.For) else set()
            end = set(live) | (head if isinstance(stmt, gast.While) else set())
            while True:
                start = self._live_block(stmt.body, end)
                new_end = end | (start - target)
                if new_end == end:
                    return live | (start - target) | head
                end = new_end
        if isinstance(stmt, gast.Assign):
            return (live - _reads_store(stmt.targets[0])) | _reads(stmt.value)
        if isinstance(stmt, gast.AugAssign):
            return live | {stmt.target.id} | _reads(stmt.value)
        return live | _reads(stmt)

    # -- escapes -----------------------------------------------------------------------
    def _escapes(self, stmt) -> frozenset:
        """The family roots whose arrays `stmt` (its own expressions, not nested blocks)
        may let something other than a holder keep."""
        if is_marker(stmt) or isinstance(stmt, gast.Pass):
            return frozenset()
        if isinstance(stmt, gast.Assign):
            names = _assign_escapes(stmt)
        elif isinstance(stmt, gast.AugAssign):
            names = escaping_names(stmt.value, True)
        elif isinstance(stmt, gast.Expr):
            names = escaping_names(stmt.value, False)
        elif isinstance(stmt, (gast.If, gast.While)):
            names = escaping_names(stmt.test, False)
        elif isinstance(stmt, gast.For):
            names = escaping_names(stmt.iter, True)
        else:  # return, anything else
            names = escaping_names(stmt, True)
        return frozenset(root for root, held in self.holders.items() if held & names)

    def _pins_block(self, stmts, pinned: frozenset) -> frozenset:
        for stmt in stmts:
            self.pinned_before[id(stmt)] = pinned
            pinned = pinned | self._escapes(stmt)
            if isinstance(stmt, gast.If):
                pinned = self._pins_block(stmt.body, pinned) | \
                    self._pins_block(stmt.orelse, pinned)
            elif isinstance(stmt, (gast.For, gast.While)):
                head = pinned
                while True:
                    end = self._pins_block(stmt.body, head)
                    if end <= head:
                        break
                    head = head | end
                pinned = head
        return pinned

    # -- the question ------------------------------------------------------------------
    def allows(self, site: gast.Assign) -> bool:
        """Whether `B = set_at(A, i, v)` / `B = zero_at(A, i)` may write into A's array."""
        target, call = site.targets[0], site.value
        source = call.args[0].id
        if not self.owned(source):
            return False
        root = self.families.find(source)
        holders = self.holders_of(source)
        if root in self.pinned_before.get(id(site), {root}):
            return False
        if _reads(gast.Tuple(elts=list(call.args[1:]), ctx=gast.Load())) & holders:
            return False  # the index or value reads the array being written
        return not (self.live_after.get(id(site), holders) & (holders - {target.id}))


def _handed_over(value) -> str | None:
    """The name whose array an assigned value is (or is a copy of the chain of): `x` for
    `x`, `set_at(x, ...)`, `add_at(x, ...)`; else None."""
    if isinstance(value, gast.Name):
        return value.id
    if isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and \
            value.func.id in CHAIN_HELPERS and value.args and \
            isinstance(value.args[0], gast.Name) and not value.keywords:
        return value.args[0].id
    return None


def _assign_escapes(stmt) -> set:
    value = stmt.value
    if not isinstance(stmt.targets[0], gast.Name):
        return escaping_names(value, True)
    if _handed_over(value) is not None:
        if isinstance(value, gast.Name):
            return set()
        # the first argument is handed over; the rest as in any call
        out: set = set()
        for k, arg in enumerate(value.args[1:], start=1):
            _scan(arg, k == 2, out)
        return out
    if _view_base(value) is not None:  # a view: its name becomes a holder
        out = set()
        node = value
        while isinstance(node, (gast.Subscript, gast.Attribute)):
            if isinstance(node, gast.Subscript):
                _scan(node.slice, False, out)
            node = node.value
        return out
    return escaping_names(value, True)


def _reads(node) -> set:
    return {n.id for n in all_nodes([node]) if isinstance(n, gast.Name) and
            isinstance(n.ctx, gast.Load)}


def _reads_store(target) -> set:
    return {n.id for n in all_nodes([target]) if isinstance(n, gast.Name)}
