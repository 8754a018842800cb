"""What the optimizer passes ask about generated statements: names read and written,
tape pushes and pops, fresh zeros, in-place accumulation (`add_at`), and a per-block
index of where each name is used (so a pass finds the next use by bisection, not scan).

Statements are pure except tape pushes/pops, `add_at`, which updates its first
argument in place, and the calls of EFFECT_CALLS (a draw from a random generator changes
its state: it is neither removed nor moved)."""
from __future__ import annotations

import bisect

import gast

from ..core import build
from ..core.dataflow import names_with_ctx
from ..core.markers import is_marker, is_section
from ..core.walk import all_nodes, clone, walk

# Calls whose result is always a new array (never a view of an argument, never read-only).
ZERO_CALLS = ("zeros_like", "zeros_like_last")
FRESH_CALLS = {"outer", "dot", "matmul", "sum", "zeros_like", "zeros", "exp", "log", "tanh",
               "sin", "cos", "sqrt", "square", "where", "clip", "maximum", "minimum"}
COMPOUND = (gast.If, gast.For, gast.While)
# Calls with an effect: kept even when their result is unused, never moved past another.
EFFECT_CALLS = frozenset({"random_draw"})


def has_effect(expr) -> bool:
    """Whether `expr` calls one of EFFECT_CALLS (by its plain name) or a function of
    np.random (np.random.seed, np.random.randn: the global generator's state)."""
    for n in walk(expr):
        if not isinstance(n, gast.Call):
            continue
        if isinstance(n.func, gast.Name) and n.func.id in EFFECT_CALLS:
            return True
        if (build.dotted(n.func) or "").startswith("np.random."):
            return True
    return False


def names_read(node) -> set[str]:
    return names_with_ctx(node, gast.Load)


def names_written(node) -> set[str]:
    return names_with_ctx(node, gast.Store)


def tape_call(stmt, method: str) -> str | None:
    """The tape name if `stmt` is `_t.append(x)` / `v = _t.pop()`, else None."""
    value = stmt.value if isinstance(stmt, (gast.Expr, gast.Assign)) else None
    if isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) and \
            value.func.attr == method and isinstance(value.func.value, gast.Name):
        return value.func.value.id
    return None


def target_names(stmt) -> list[str]:
    """The names an assignment binds (one name, or a tuple of names)."""
    target = stmt.targets[0]
    if isinstance(target, gast.Name):
        return [target.id]
    return [e.id for e in target.elts]


def has_code(stmts) -> bool:
    """Whether `stmts` holds anything but markers and `pass`."""
    return any(not is_marker(s) and not isinstance(s, gast.Pass) for s in stmts)


def is_zeros(value) -> bool:
    """`zeros_like(x)`, `np.zeros_like(x)` or the literal 0.0: a fresh zero adjoint."""
    if isinstance(value, gast.Constant):
        return type(value.value) in (int, float) and value.value == 0
    if isinstance(value, gast.Call):
        func = value.func
        name = func.id if isinstance(func, gast.Name) else \
            func.attr if isinstance(func, gast.Attribute) else None
        return name in ZERO_CALLS
    return False


def is_fresh(value) -> bool:
    """Whether an expression certainly builds a new, writable value."""
    if isinstance(value, gast.BinOp):
        return True
    if isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.USub):
        return True
    if isinstance(value, gast.Constant):
        return True
    if isinstance(value, gast.Call):
        func = value.func
        name = func.attr if isinstance(func, gast.Attribute) and isinstance(
            func.value, gast.Name) and func.value.id == "np" else \
            func.id if isinstance(func, gast.Name) and func.id in ZERO_CALLS else None
        return name in FRESH_CALLS
    return False


def is_add_at(value) -> bool:
    """`add_at(acc, index, g)`: accumulates into `acc`'s array in place."""
    return isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and \
        value.func.id == "add_at" and bool(value.args)


def mutated(stmt) -> set:
    """The names `stmt` changes in place (the first argument of add_at)."""
    return stmt_facts(stmt)[2]


def stmt_facts(stmt) -> tuple[set, set, set]:
    """(names read, names written, names mutated by add_at) under `stmt`, in one
    traversal: BlockIndex asks all three of every statement."""
    reads: set[str] = set()
    writes: set[str] = set()
    mutated_: set[str] = set()
    name_type, call_type, load, store = gast.Name, gast.Call, gast.Load, gast.Store
    for sub in all_nodes([stmt]):
        kind = type(sub)
        if kind is name_type:
            ctx = type(sub.ctx)
            if ctx is load:
                reads.add(sub.id)
            elif ctx is store:
                writes.add(sub.id)
        elif kind is call_type and is_add_at(sub) and type(sub.args[0]) is name_type:
            mutated_.add(sub.args[0].id)
    return reads, writes, mutated_


def mutates(stmt, names: set) -> bool:
    """Whether `stmt` may change one of `names` in place."""
    return not mutated(stmt).isdisjoint(names)


def peeked_tapes(body) -> set[str]:
    """Tapes whose top `zeros_like_last(tape, x)` reads: their pops must all stay, even
    those whose value nothing reads, or the top is not the value it stands for."""
    return {node.args[0].id for node in all_nodes(body)
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and
            node.func.id == "zeros_like_last" and node.args and
            isinstance(node.args[0], gast.Name)}


def name_counts(body) -> tuple[dict, dict]:
    """(reads, writes) of every name in `body`: how many times each is read and bound."""
    counts: dict[str, int] = {}
    defs: dict[str, int] = {}
    for node in all_nodes(body):
        if type(node) is gast.Name:
            table = counts if isinstance(node.ctx, gast.Load) else defs
            table[node.id] = table.get(node.id, 0) + 1
    return counts, defs


def rename_reads(node, old: str, new: str) -> None:
    """Every read of `old` under `node` reads `new` instead (in place)."""
    for sub in walk(node):
        if isinstance(sub, gast.Name) and isinstance(sub.ctx, gast.Load) and sub.id == old:
            sub.id = new


def replace_read(stmt, name: str, expr) -> None:
    """Replace each read of `name` in `stmt` by `expr` (in place): the first read gets
    `expr` itself and any later one a copy, so `expr` must not be used elsewhere after."""
    todo, spare = [stmt], [expr]

    def take():
        return spare.pop() if spare else clone(expr)
    while todo:
        node = todo.pop()
        for field in node._fields:
            value = getattr(node, field, None)
            if type(value) is list:
                for k, item in enumerate(value):
                    if _is_read_of(item, name):
                        value[k] = take()
                    elif isinstance(item, gast.AST):
                        todo.append(item)
            elif _is_read_of(value, name):
                setattr(node, field, take())
            elif isinstance(value, gast.AST):
                todo.append(value)


def _is_read_of(node, name: str) -> bool:
    return type(node) is gast.Name and node.id == name and type(node.ctx) is gast.Load


def next_after(positions, idx: int) -> int:
    """The first of the sorted `positions` after `idx` (a large number if none)."""
    k = bisect.bisect_right(positions, idx)
    return positions[k] if k < len(positions) else 1 << 62


def next_use(index, stmts: list, idx: int, name: str, reads: set) -> int | None:
    """The position of the statement that next reads `name` (bound at `idx` from a value
    reading `reads`), when it is an assignment, expression or return that comes before
    anything rebinds `name` or those reads, mutates the reads, or crosses a section marker
    or a compound statement; else None. Where inline and sum_first may move the value."""
    use = index.first(index.reads, (name,), idx)
    stop = min(index.first(index.writes, reads | {name}, idx),
               index.first(index.mutates, reads, idx),
               next_after(index.sections, idx), next_after(index.other, idx))
    if use > stop or use >= len(stmts):
        return None
    return use if isinstance(stmts[use], (gast.Assign, gast.Expr, gast.Return)) else None


class BlockIndex:
    """For one block: the sorted positions of the statements that read, write or mutate
    (add_at) each name, of the section markers, and of the statements other than
    assignments and expressions (where moving code stops)."""

    def __init__(self, stmts):
        self.reads: dict = {}
        self.writes: dict = {}
        self.mutates: dict = {}
        self.sections, self.other = [], []
        for j, stmt in enumerate(stmts):
            if is_section(stmt):
                self.sections.append(j)
            elif is_marker(stmt):
                continue
            elif not isinstance(stmt, (gast.Assign, gast.Expr)):
                self.other.append(j)
            self.update(j, stmt)

    def update(self, j: int, stmt) -> None:
        """Index statement `j` again after it changed (its old entries may stay: a stale
        read only makes a later look-up stop earlier, never move code across a write)."""
        reads, writes, mutated_ = stmt_facts(stmt)
        for table, names in ((self.reads, reads), (self.writes, writes),
                             (self.mutates, mutated_)):
            for name in names:
                positions = table.setdefault(name, [])
                k = bisect.bisect_left(positions, j)
                if k == len(positions) or positions[k] != j:
                    positions.insert(k, j)

    @staticmethod
    def first(table: dict, names, idx: int) -> int:
        """The first position after `idx` listed for any of `names` in `table`."""
        return min((next_after(table.get(n, ()), idx) for n in names), default=1 << 62)
