"""Clean generated code until nothing changes: zero propagation, copy propagation,
dead-code and dead-tape elimination, inlining of single-use temporaries, algebra.

Each pass returns whether it changed anything; `optimize` runs them to a fixed point.
Statements are pure except tape pushes/pops and `add_at` (in-place accumulation).
"""
from __future__ import annotations

import bisect
import itertools

import gast

from .core.dataflow import names_with_ctx, reads_writes
from .core.walk import all_nodes, clone, walk

MARKER = "__line__"


def _names_read(node) -> set[str]:
    return names_with_ctx(node, gast.Load)


def _names_written(node) -> set[str]:
    return names_with_ctx(node, gast.Store)


def _is_marker(stmt) -> bool:
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant) and \
        isinstance(stmt.value.value, tuple) and stmt.value.value[:1] == (MARKER,)


def _tape_call(stmt, method):
    """The tape name if `stmt` is `_t.append(x)` / `v = _t.pop()`, else None."""
    value = stmt.value if isinstance(stmt, (gast.Expr, gast.Assign)) else None
    if isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) and \
            value.func.attr == method and isinstance(value.func.value, gast.Name):
        return value.func.value.id
    return None


def _target_names(stmt) -> list[str]:
    target = stmt.targets[0]
    if isinstance(target, gast.Name):
        return [target.id]
    return [e.id for e in target.elts]


class Optimizer:
    def __init__(self, inplace: set[str], protected: set[str]):
        self.inplace = inplace          # adjoints mutated by add_at: never aliased
        self.protected = protected      # user-visible names, never inlined away
        self.needed_tapes: set[str] = set()
        self.peeked: set[str] = set()   # tapes read by zeros_like_last (see _peeked_tapes)

    # -- dead code ---------------------------------------------------------------
    def dce(self, body: list) -> bool:
        """Delete statements whose results nothing reads, and tapes nothing pops."""
        self.needed_tapes: set[str] = set()
        self.peeked = _peeked_tapes(body)
        self._live_block(body, set())          # finds the tapes whose pops are live
        self.removed = False
        body[:] = self._sweep_block(body, set())
        return self.removed

    def _live_block(self, stmts, live: set) -> set:
        """Live names before `stmts` given those live after (no mutation)."""
        return self._scan_block(stmts, live)[0]

    def _scan_block(self, stmts, live: set) -> tuple[set, bool]:
        """(live names before `stmts`, whether any of its statements is kept), in one pass:
        asking the two questions separately visited each nested block twice per level,
        exponential in the nesting depth of `if`s."""
        live = set(live)
        effect = False
        for stmt in reversed(stmts):
            keep, live = self._live_stmt(stmt, live)
            if keep and not _is_marker(stmt) and not isinstance(stmt, gast.Pass):
                effect = True
        return live, effect

    def _live_stmt(self, stmt, live: set):
        """(keep?, live before) for one statement; loops iterate to a fixed point."""
        if isinstance(stmt, gast.Return):
            return True, live | _names_read(stmt)
        if _is_marker(stmt) or isinstance(stmt, gast.Pass):
            return True, live
        if isinstance(stmt, gast.Expr):
            tape = _tape_call(stmt, "append")
            if tape is not None and tape not in live:
                return False, live  # nothing reads the list (or pops the tape) later
            return True, live | _names_read(stmt)
        if isinstance(stmt, gast.Assign):
            targets = _target_names(stmt)
            popped = _tape_call(stmt, "pop")
            if not any(t in live for t in targets) and popped not in self.peeked:
                return False, live
            if isinstance(stmt.value, gast.Name) and targets == [stmt.value.id]:
                return False, live  # x = x
            if popped is not None:
                self.needed_tapes.add(popped)
            return True, (live - set(targets)) | _names_read(stmt.value)
        if isinstance(stmt, gast.If):
            live_b, effect_b = self._scan_block(stmt.body, live)
            live_o, effect_o = self._scan_block(stmt.orelse, live)
            keep = effect_b or effect_o
            return keep, (live_b | live_o | _names_read(stmt.test)) if keep else live
        if isinstance(stmt, (gast.For, gast.While)):
            head = _names_read(stmt.iter if isinstance(stmt, gast.For) else stmt.test)
            target = {stmt.target.id} if isinstance(stmt, gast.For) else set()
            loop_live = self._loop_live(stmt, live)
            live_in, effect = self._scan_block(stmt.body, loop_live)
            keep = effect or bool(target & live)
            return keep, (live | (live_in - target) | head) if keep else live
        return True, live | _names_read(stmt)

    def _loop_live(self, stmt, live: set) -> set:
        """Names live at the end of a loop body: after the loop, or in the next iteration."""
        head = _names_read(stmt.test) if isinstance(stmt, gast.While) else set()
        target = {stmt.target.id} if isinstance(stmt, gast.For) else set()
        loop_live = set(live) | head
        while True:
            live_in = self._live_block(stmt.body, loop_live)
            new_live = loop_live | (live_in - target)
            if new_live == loop_live:
                return loop_live
            loop_live = new_live

    def _sweep_block(self, stmts, live: set) -> list:
        out = []
        live = set(live)
        for stmt in reversed(stmts):
            keep, live_before = self._live_stmt(stmt, live)
            if not keep:
                self.removed = True
                continue
            if isinstance(stmt, gast.If):
                stmt.body = self._sweep_block(stmt.body, live)
                stmt.orelse = self._sweep_block(stmt.orelse, live)
                if not _has_code(stmt.body):  # if c: pass else: X  ->  if not c: X
                    stmt.test = gast.UnaryOp(op=gast.Not(), operand=stmt.test)
                    stmt.body, stmt.orelse = stmt.orelse, []
                    self.removed = True
                if not _has_code(stmt.orelse):
                    stmt.orelse = []
            elif isinstance(stmt, (gast.For, gast.While)):
                stmt.body = self._sweep_block(stmt.body, self._loop_live(stmt, live))
                if not _has_code(stmt.body):
                    stmt.body = [s for s in stmt.body if not isinstance(s, gast.Pass)] + \
                        [gast.Pass()]
            out.append(stmt)
            live = live_before
        out.reverse()
        return out

    # -- zero propagation ---------------------------------------------------------
    def zeros(self, body: list) -> bool:
        self.changed = False
        self._zero_block(body, set())
        return self.changed

    def _zero_block(self, stmts, zero: set) -> set:
        for stmt in stmts:
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name):
                name = stmt.targets[0].id
                value = stmt.value
                if isinstance(value, gast.BinOp) and isinstance(value.op, gast.Add) and \
                        isinstance(value.left, gast.Name) and value.left.id == name and \
                        name in zero and name not in self.inplace and \
                        name not in _names_read(value.right):
                    stmt.value = value.right
                    self.changed = True
                zero -= _names_written(stmt)
                if _is_zeros(stmt.value):
                    zero.add(name)
            elif isinstance(stmt, gast.If):
                zb = self._zero_block(stmt.body, set(zero))
                zo = self._zero_block(stmt.orelse, set(zero))
                zero = zb & zo
            elif isinstance(stmt, (gast.For, gast.While)):
                zero -= _names_written(stmt)
                self._zero_block(stmt.body, set(zero))
            else:
                zero -= _names_written(stmt)
        return zero

    # -- coalescing -----------------------------------------------------------------
    def coalesce(self, body: list) -> bool:
        """`dW_predict = f(...); dW = dW_predict` -> `dW = f(...)`: keep the readable name."""
        counts, defs = _name_counts(body)
        self.changed = False
        self._coalesce_block(body, counts, defs)
        return self.changed

    def _coalesce_block(self, stmts, counts, defs):
        for stmt in stmts:
            for sub in (getattr(stmt, "body", None), getattr(stmt, "orelse", None)):
                if sub and isinstance(stmt, (gast.If, gast.For, gast.While)):
                    self._coalesce_block(sub, counts, defs)
        idx = 0
        while idx < len(stmts):
            stmt = stmts[idx]
            if isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name) and \
                    isinstance(stmt.value, gast.Name):
                a, b = stmt.targets[0].id, stmt.value.id
                if a in self.protected and b not in self.protected and \
                        counts.get(b) == 1 and defs.get(b) == 1 and \
                        a not in self.inplace and b not in self.inplace:
                    for back in range(idx - 1, -1, -1):
                        prev = stmts[back]
                        if _is_marker(prev):
                            continue
                        if isinstance(prev, gast.Assign) and b in _names_written(prev) and \
                                a not in _names_read(prev):
                            for node in walk(prev.targets[0]):
                                if isinstance(node, gast.Name) and node.id == b:
                                    node.id = a
                            del stmts[idx]
                            self.changed = True
                            idx -= 1
                            break
                        if a in _names_read(prev) | _names_written(prev) or \
                                b in _names_read(prev):
                            break
            idx += 1

    # -- copy propagation -----------------------------------------------------------
    def copies(self, body: list) -> bool:
        self.changed = False
        self._copy_block(body)
        return self.changed

    def _copy_block(self, stmts):
        """`a = b`: later reads of `a` read `b`, up to where `a` or `b` is written again.
        Where each name is read and written is indexed once per block, so each copy costs
        the reads it renames rather than a scan of the rest of the block."""
        for stmt in stmts:
            for sub in (getattr(stmt, "body", None), getattr(stmt, "orelse", None)):
                if sub:
                    self._copy_block(sub)
        reads_at: dict = {}
        writes_at: dict = {}
        returns = []
        for j, stmt in enumerate(stmts):
            if _is_marker(stmt):
                continue
            reads, writes = reads_writes(stmt)
            for name in reads:
                reads_at.setdefault(name, []).append(j)
            for name in writes:
                writes_at.setdefault(name, []).append(j)
            if isinstance(stmt, gast.Return):
                returns.append(j)
        for idx, stmt in enumerate(stmts):
            if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                    and isinstance(stmt.value, gast.Name)):
                continue
            a, b = stmt.targets[0].id, stmt.value.id
            if a in self.inplace or b in self.inplace or a == b:
                continue
            stop = min(_next_after(writes_at.get(a, ()), idx), _next_after(
                writes_at.get(b, ()), idx), _next_after(returns, idx), len(stmts))
            if stop < len(stmts) and isinstance(stmts[stop], (gast.If, gast.For, gast.While)):
                last = stop - 1  # a compound statement that writes a or b keeps its reads
            else:
                last = stop
            positions = reads_at.get(a, [])
            start = bisect.bisect_right(positions, idx)
            end = bisect.bisect_right(positions, last)
            renamed = positions[start:end]
            if not renamed:
                continue
            for j in renamed:
                _rename_reads(stmts[j], a, b)
                targets = reads_at.setdefault(b, [])
                k = bisect.bisect_left(targets, j)
                if k == len(targets) or targets[k] != j:
                    targets.insert(k, j)
            del positions[start:end]
            self.changed = True

    # -- inlining single-use temporaries ------------------------------------------
    def inline(self, body: list) -> bool:
        counts, defs = _name_counts(body)
        self.changed = False
        self._inline_block(body, counts, defs)
        return self.changed

    def _inline_block(self, stmts, counts, defs):
        """Move each single-use temporary into the statement that reads it, when nothing
        in between writes (or mutates) what it reads. Where each name is read, written and
        mutated is indexed once per block, so finding that statement costs a few bisections
        instead of a scan (quadratic for forward values the backward pass reads)."""
        for stmt in stmts:
            if isinstance(stmt, (gast.If, gast.For, gast.While)):
                for sub in (stmt.body, stmt.orelse):
                    if sub:
                        self._inline_block(sub, counts, defs)
        index = _BlockIndex(stmts)
        deleted = set()
        for idx, stmt in enumerate(stmts):
            if not self._inlinable(stmt, counts, defs, itertools.islice(stmts, idx + 1, None)):
                continue
            name = stmt.targets[0].id
            reads = _names_read(stmt.value)
            use = index.first(index.reads, (name,), idx)
            stop = min(index.first(index.writes, reads | {name}, idx),
                       index.first(index.mutates, reads, idx),
                       _next_after(index.sections, idx), _next_after(index.other, idx))
            if use > stop or use >= len(stmts):
                continue
            later = stmts[use]
            if not isinstance(later, (gast.Assign, gast.Expr, gast.Return)):
                continue
            written = _names_written(later) if not isinstance(later, gast.Assign) else set()
            if written & reads or _mutates(later, reads - {name}):
                continue
            _replace_read(later, name, stmt.value)
            index.update(use, later)
            deleted.add(idx)
            self.changed = True
        if deleted:
            stmts[:] = [s for k, s in enumerate(stmts) if k not in deleted]

    def _inlinable(self, stmt, counts, defs, rest) -> bool:
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
            return False
        name = stmt.targets[0].id
        if counts.get(name, 0) != 1 or defs.get(name, 0) != 1:
            return False
        if name in self.protected:
            consumer = next((s for s in rest if not _is_marker(s)), None)
            is_copy = isinstance(consumer, gast.Assign) and \
                isinstance(consumer.value, gast.Name) and consumer.value.id == name
            if not is_copy:
                return False
        value = stmt.value
        if _tape_call(stmt, "pop") or name in self.inplace:
            return False
        return not _is_zeros(value) and not (
            isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and
            value.func.id == "add_at")


class _BlockIndex:
    """For one block: the sorted positions of the statements that read, write or mutate
    (add_at) each name, of the section markers, and of the statements other than
    assignments and expressions (where moving code stops)."""

    def __init__(self, stmts):
        self.reads: dict = {}
        self.writes: dict = {}
        self.mutates: dict = {}
        self.sections, self.other = [], []
        for j, stmt in enumerate(stmts):
            if _is_section(stmt):
                self.sections.append(j)
            elif _is_marker(stmt):
                continue
            elif not isinstance(stmt, (gast.Assign, gast.Expr)):
                self.other.append(j)
            self.update(j, stmt)

    def update(self, j: int, stmt) -> None:
        """Index statement `j` again after it changed (its old entries may stay: a stale
        read only makes a later look-up stop earlier, never move code across a write)."""
        reads, writes = reads_writes(stmt)
        for table, names in ((self.reads, reads), (self.writes, writes),
                             (self.mutates, _mutated(stmt))):
            for name in names:
                positions = table.setdefault(name, [])
                k = bisect.bisect_left(positions, j)
                if k == len(positions) or positions[k] != j:
                    positions.insert(k, j)

    @staticmethod
    def first(table: dict, names, idx: int) -> int:
        """The first position after `idx` listed for any of `names` in `table`."""
        return min((_next_after(table.get(n, ()), idx) for n in names), default=1 << 62)


def _next_after(positions, idx: int) -> int:
    """The first of the sorted `positions` after `idx` (a large number if none)."""
    k = bisect.bisect_right(positions, idx)
    return positions[k] if k < len(positions) else 1 << 62


def _name_counts(body) -> tuple[dict, dict]:
    """(reads, writes) of every name in `body`."""
    counts: dict[str, int] = {}
    defs: dict[str, int] = {}
    for node in _name_nodes(body):
        table = counts if isinstance(node.ctx, gast.Load) else defs
        table[node.id] = table.get(node.id, 0) + 1
    return counts, defs


def _name_nodes(body: list) -> list:
    """Every Name node in the statements `body` (in no particular order)."""
    return [node for node in all_nodes(body) if type(node) is gast.Name]


def _peeked_tapes(body) -> set[str]:
    """Tapes whose top `zeros_like_last(tape, x)` reads: their pops must all stay, even
    those whose value nothing reads, or the top is not the value it stands for."""
    return {node.args[0].id for node in all_nodes(body)
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and
            node.func.id == "zeros_like_last" and node.args and
            isinstance(node.args[0], gast.Name)}


def _is_zeros(value) -> bool:
    """`zeros_like(x)`, `np.zeros_like(x)` or the literal 0.0: a fresh zero adjoint."""
    if isinstance(value, gast.Constant):
        return value.value == 0.0 and not isinstance(value.value, bool)
    if isinstance(value, gast.Call):
        func = value.func
        name = func.id if isinstance(func, gast.Name) else \
            func.attr if isinstance(func, gast.Attribute) else None
        return name in ZERO_CALLS
    return False


def _is_section(stmt) -> bool:
    """A `# forward pass` / `# backward pass` marker (the boundary between the sweeps)."""
    return _is_marker(stmt) and isinstance(stmt.value.value[1], str)


def _mutated(stmt) -> set:
    """The names `stmt` changes in place (the first argument of add_at)."""
    return {node.args[0].id for node in all_nodes([stmt])
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and
            node.func.id == "add_at" and node.args and isinstance(node.args[0], gast.Name)}


def _mutates(stmt, names: set) -> bool:
    """Whether `stmt` may change one of `names` in place (add_at, tape ops)."""
    for node in walk(stmt):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
                node.func.id == "add_at" and node.args and isinstance(node.args[0], gast.Name) \
                and node.args[0].id in names:
            return True
    return False


def _has_code(stmts) -> bool:
    return any(not _is_marker(s) and not isinstance(s, gast.Pass) for s in stmts)


def _rename_reads(node, old: str, new: str) -> None:
    for sub in walk(node):
        if isinstance(sub, gast.Name) and isinstance(sub.ctx, gast.Load) and sub.id == old:
            sub.id = new


def _replace_read(stmt, name, expr):
    """Replace each read of `name` in `stmt` by a copy of `expr` (in place)."""
    todo = [stmt]
    while todo:
        node = todo.pop()
        for field in node._fields:
            value = getattr(node, field, None)
            if type(value) is list:
                for k, item in enumerate(value):
                    if _is_read_of(item, name):
                        value[k] = clone(expr)
                    elif isinstance(item, gast.AST):
                        todo.append(item)
            elif _is_read_of(value, name):
                setattr(node, field, clone(expr))
            elif isinstance(value, gast.AST):
                todo.append(value)


def _is_read_of(node, name: str) -> bool:
    return type(node) is gast.Name and node.id == name and type(node.ctx) is gast.Load


# -- algebra -------------------------------------------------------------------------
class _Algebra(gast.NodeTransformer):
    """x * 1.0 -> x, 1.0 * x -> x, x + 0 -> x, -(-x) -> x, (c - 1) folded for int constants."""

    changed = False

    def visit_BinOp(self, node):
        slope = _constant_slope(node.right)
        if isinstance(node.op, gast.Mult) and slope is not None:
            self.changed = True  # e * power_slope(a, 3) -> e * 3 * a ** (3 - 1)
            factor, power = slope
            node = gast.BinOp(left=gast.BinOp(left=node.left, op=gast.Mult(), right=factor),
                              op=gast.Mult(), right=power)
        node = self.generic_visit(node)
        left, right = node.left, node.right
        one = lambda n: isinstance(n, gast.Constant) and n.value in (1, 1.0) and \
            not isinstance(n.value, bool)  # noqa: E731
        zero = lambda n: isinstance(n, gast.Constant) and n.value in (0, 0.0) and \
            not isinstance(n.value, bool)  # noqa: E731
        if isinstance(node.op, (gast.Mult, gast.Pow, gast.Div)) and one(right):
            self.changed = True
            return left
        if isinstance(node.op, gast.Mult) and one(left):
            self.changed = True
            return right
        if isinstance(node.op, (gast.Add, gast.Sub)) and zero(right):
            self.changed = True
            return left
        if isinstance(node.op, gast.Add) and zero(left):
            self.changed = True
            return right
        if isinstance(node.op, (gast.Mult, gast.Div)) and isinstance(left, gast.UnaryOp) and \
                isinstance(left.op, gast.USub):
            self.changed = True
            return gast.UnaryOp(op=gast.USub(), operand=gast.BinOp(left=left.operand,
                                                                   op=node.op, right=right))
        if isinstance(node.op, gast.Add) and isinstance(right, gast.UnaryOp) and \
                isinstance(right.op, gast.USub):
            self.changed = True
            return gast.BinOp(left=left, op=gast.Sub(), right=right.operand)
        if isinstance(node.op, (gast.Add, gast.Sub)) and isinstance(left, gast.BinOp) and \
                isinstance(left.op, (gast.Add, gast.Sub)) and type(left.op) is not type(node.op) \
                and isinstance(right, gast.Constant) and isinstance(left.right, gast.Constant) \
                and left.right.value == right.value and type(right.value) is int:
            self.changed = True  # (n - 1) + 1 -> n
            return left.left
        folded = _fold(node)
        if folded is not None:
            self.changed = True
            return folded
        return node

    def visit_Call(self, node):
        node = self.generic_visit(node)
        slope = _constant_slope(node)
        if slope is None:
            return node
        self.changed = True  # power_slope(a, 3) -> 3 * a ** (3 - 1)
        return gast.BinOp(left=slope[0], op=gast.Mult(), right=slope[1])

    def visit_UnaryOp(self, node):
        node = self.generic_visit(node)
        if isinstance(node.op, gast.USub) and isinstance(node.operand, gast.UnaryOp) and \
                isinstance(node.operand.op, gast.USub):
            self.changed = True
            return node.operand.operand
        return node


def _constant_slope(node):
    """For `power_slope(a, c)` with a nonzero numeric constant c (the derivative of a ** c,
    which needs power_slope's guard only for c == 0): (c, a ** (c - 1)) as gast; else None."""
    if not (isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and
            node.func.id == "power_slope" and len(node.args) == 2 and not node.keywords):
        return None
    base, exponent = node.args
    value = exponent
    negative = isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.USub)
    value = value.operand if negative else value
    if not (isinstance(value, gast.Constant) and type(value.value) in (int, float)) or \
            value.value == 0:
        return None
    lowered = gast.BinOp(left=clone(exponent), op=gast.Sub(),
                         right=gast.Constant(value=1, kind=None))
    return exponent, gast.BinOp(left=base, op=gast.Pow(), right=lowered)


FOLDABLE = {gast.Add: lambda a, b: a + b, gast.Sub: lambda a, b: a - b,
            gast.Mult: lambda a, b: a * b, gast.Div: lambda a, b: a / b}


def _fold(node):
    """Constant-fold arithmetic on two numeric literals when the result prints exactly."""
    left, right = node.left, node.right
    if not (isinstance(left, gast.Constant) and isinstance(right, gast.Constant)):
        return None
    a, b = left.value, right.value
    if type(a) not in (int, float) or type(b) not in (int, float) or type(node.op) not in \
            FOLDABLE or (isinstance(node.op, gast.Div) and b == 0):
        return None
    value = FOLDABLE[type(node.op)](a, b)
    if isinstance(value, float) and len(repr(value)) > 8:
        return None  # keep 1.0 / 3 readable rather than 0.3333333333333333
    return gast.Constant(value=value, kind=None)


def algebra(body: list) -> bool:
    pass_ = _Algebra()
    for stmt in body:
        pass_.visit(stmt)
    return pass_.changed


def drop_empty_markers(stmts: list) -> None:
    """A line comment stays only if code follows it before the next comment, and only
    once per run of statements from the same source line."""
    out = []
    last = None
    for idx, stmt in enumerate(stmts):
        for sub in (getattr(stmt, "body", None), getattr(stmt, "orelse", None)):
            if sub and isinstance(stmt, (gast.If, gast.For, gast.While)):
                drop_empty_markers(sub)
        if _is_section(stmt):
            out.append(stmt)
            last = None
            continue
        if _is_marker(stmt):
            nxt = stmts[idx + 1] if idx + 1 < len(stmts) else None
            if nxt is None or _is_marker(nxt) or isinstance(nxt, gast.Return):
                continue
            if stmt.value.value == last:
                continue
            last = stmt.value.value
        elif isinstance(stmt, (gast.If, gast.For, gast.While)):
            last = None
        out.append(stmt)
    stmts[:] = out


def optimize(func: gast.FunctionDef, inplace: set[str], protected: set[str]) -> None:
    """Run every pass until none reports a change."""
    opt = Optimizer(inplace, protected)
    for _ in range(50):
        changed = opt.zeros(func.body)
        changed |= opt.coalesce(func.body)
        changed |= opt.copies(func.body)
        changed |= opt.dce(func.body)
        changed |= algebra(func.body)
        changed |= opt.inline(func.body)
        if not changed:
            break
    params = {a.id for a in func.args.posonlyargs + func.args.args + func.args.kwonlyargs}
    accumulate_in_place(func.body, inplace | params)  # a parameter's array is the caller's
    drop_empty_markers(func.body)


# Calls whose result is always a new array (never a view of an argument, never read-only).
ZERO_CALLS = ("zeros_like", "zeros_like_last")
FRESH_CALLS = {"outer", "dot", "matmul", "sum", "zeros_like", "zeros", "exp", "log", "tanh",
               "sin", "cos", "sqrt", "square", "where", "clip", "maximum", "minimum"}


def _fresh(value) -> bool:
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


def accumulate_in_place(body: list, inplace: set) -> None:
    """`dW = dW + g` inside a loop -> `dW += g` when dW never shares its array with another
    name: every assignment to it builds a new value and it is never copied, stored or
    passed on whole. Saves one allocation per iteration (it matters under numba)."""
    assigned: dict = {}
    shared = set(inplace)
    returned = {id(n.value) for n in walk(gast.Module(body=body, type_ignores=[]))
                if isinstance(n, gast.Return)}
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Assign):
            for target in walk(node.targets[0]):
                if isinstance(target, gast.Name) and isinstance(target.ctx, gast.Store):
                    assigned.setdefault(target.id, []).append(node.value)
            if isinstance(node.value, gast.Name):
                shared.add(node.value.id)  # y = x: y and x would share one array
            if not isinstance(node.targets[0], gast.Name):
                shared |= _names_read(node.value)
        elif isinstance(node, gast.Call):
            if isinstance(node.func, gast.Attribute) and node.func.attr == "append":
                shared |= _names_read(node)
        elif isinstance(node, (gast.Tuple, gast.List)) and isinstance(node.ctx, gast.Load) \
                and id(node) not in returned:
            shared |= {e.id for e in node.elts if isinstance(e, gast.Name)}
    shared |= _viewed_names(body)
    owned = {name for name, values in assigned.items()
             if name not in shared and all(_fresh(v) or (
                 isinstance(v, gast.BinOp) and isinstance(v.left, gast.Name) and
                 v.left.id == name) for v in values)}
    _rewrite_accumulations(body, owned, in_loop=False)


# Runtime helpers whose result is a new value that nothing else refers to.
OWNED_HELPERS = {"copy_of", "zeros_like", "set_at", "zero_at"}


def _owned(value) -> bool:
    """Whether an expression builds a value that no other name, argument or global holds."""
    if _fresh(value):
        return True
    return isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and \
        value.func.id in OWNED_HELPERS


def _is_add_at(value) -> bool:
    return isinstance(value, gast.Call) and isinstance(value.func, gast.Name) and \
        value.func.id == "add_at" and bool(value.args)


def _copy_of(expr):
    return gast.Call(func=gast.Name(id="copy_of", ctx=gast.Load(), annotation=None,
                                    type_comment=None), args=[expr], keywords=[])


def own_accumulators(func: gast.FunctionDef) -> None:
    """`acc = add_at(acc, i, g)` writes into acc's array; make every such array one the
    function allocated itself. Follows each accumulator back through the add_at chain to
    where it starts; a start that may share its array (a parameter -- an argument, a seed
    or a tangent --, a name, a view, a helper that may return its argument) becomes
    `copy_of(...)`. One copy where the chain starts, none per update; most chains start
    at zeros and need none. Without this, `d[y] = broadcast_like(d[x], y)` followed by
    add_at wrote into the caller's tangent array."""
    params = {a.id for a in func.args.posonlyargs + func.args.args + func.args.kwonlyargs}
    defs: dict = {}
    opaque = set(params)  # names bound other than by `name = value`
    tree = gast.Module(body=func.body, type_ignores=[])
    plain = set()
    for node in walk(tree):
        if isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name):
            defs.setdefault(node.targets[0].id, []).append(node)
            plain.add(id(node.targets[0]))
    for node in walk(tree):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store) and \
                id(node) not in plain:
            opaque.add(node.id)
    sites = [node for node in walk(tree) if _is_add_at(node)]
    settled: set = set()

    def own(name: str) -> bool:
        """Make every definition of `name` owned; False when some binding cannot be."""
        if name in settled:
            return True
        settled.add(name)
        for assign in defs.get(name, []):
            value = assign.value
            if _is_add_at(value):
                settle(value)
            elif not _owned(value):
                assign.value = _copy_of(value)
        return name not in opaque

    def settle(call) -> None:
        first = call.args[0]
        if isinstance(first, gast.Name):
            if not own(first.id):
                call.args[0] = _copy_of(first)  # bound by a parameter or unpacking: copy here
        elif not _owned(first):
            call.args[0] = _copy_of(first)

    for call in sites:
        settle(call)


def _viewed_names(body) -> set:
    """Names whose array may be viewed by another value: a subscript (`x[1:]`), an
    attribute (`x.T`) or an argument of a call that may return a view (np.reshape...)."""
    viewed = set()
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, (gast.Subscript, gast.Attribute)) and \
                isinstance(node.value, gast.Name):
            viewed.add(node.value.id)
        elif isinstance(node, gast.Call) and not _fresh(node) and not (
                isinstance(node.func, gast.Attribute) and node.func.attr == "pop"):
            viewed |= {a.id for a in node.args if isinstance(a, gast.Name)}
            viewed |= {k.value.id for k in node.keywords if isinstance(k.value, gast.Name)}
    return viewed


def _rewrite_accumulations(stmts, owned: set, in_loop: bool) -> None:
    for idx, stmt in enumerate(stmts):
        if isinstance(stmt, (gast.For, gast.While)):
            _rewrite_accumulations(stmt.body, owned, True)
        elif isinstance(stmt, gast.If):
            _rewrite_accumulations(stmt.body, owned, in_loop)
            _rewrite_accumulations(stmt.orelse, owned, in_loop)
        elif in_loop and isinstance(stmt, gast.Assign) and \
                isinstance(stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.BinOp) \
                and isinstance(stmt.value.op, (gast.Add, gast.Sub)) and \
                isinstance(stmt.value.left, gast.Name) and \
                stmt.value.left.id == stmt.targets[0].id and stmt.targets[0].id in owned and \
                stmt.targets[0].id not in _names_read(stmt.value.right):
            new = gast.AugAssign(target=stmt.targets[0], op=stmt.value.op,
                                 value=stmt.value.right)
            new.lineno = getattr(stmt, "lineno", None)
            stmts[idx] = new
