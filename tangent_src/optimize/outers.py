"""Per-step outer products summed in a loop become one matrix product after the loop.

Before:                                    After:
    for t in range(n - 1, -1, -1):             _dz_steps = []
        h = _h_tape.pop()                      _h_steps = []
        dz = dh * (1.0 - h * h)                for t in range(n - 1, -1, -1):
        dW = dW + np.outer(dz, h)                  h = _h_tape.pop()
        dh = W.T @ dz                              dz = dh * (1.0 - h * h)
                                                   _dz_steps.append(dz)
                                                   _h_steps.append(h)
                                                   dh = W.T @ dz
                                               dW = add_outers(dW, _dz_steps, _h_steps)

The sum of the outer products u_t v_t^T is U^T V for the stacked steps: one product
instead of one (m, n) temporary and one (m, n) addition per step, as a person writes
backpropagation through time. It fires only where that is the same value:
- the loop has no break, continue or return (every step that appends also accumulated);
- the accumulator appears nowhere else in the loop (nothing reads a partial sum) and
  shares its array with no name that add_at updates;
- the two factors keep their values until the loop ends: each is a new value, a tape
  item or a loop-invariant name, never a name (or a view of one) that add_at updates.
`add_outers` of no steps is the accumulator itself (an empty loop leaves it as it was);
a factor two sites read between the same writes goes on one list. Not for code that is
differentiated again (add_outers of lists has no derivative rule).
"""
from __future__ import annotations

import gast

from ..core import build
from ..core.walk import all_nodes, walk
from .facts import is_add_at, is_fresh, names_read, names_written

_EXITS = (gast.Break, gast.Continue, gast.Return)


def outers(body: list, inplace: set, protected: set) -> bool:
    """Hoist the outer-product accumulations of every loop in `body`; whether any moved."""
    state = _Function(body, inplace)
    return state.block(body)


class _Function:
    """What the pass needs to know about the whole function: names whose arrays add_at
    may change (directly or through a copy or view) and every name in use."""

    def __init__(self, body: list, inplace: set) -> None:
        self.used = {n.id for n in all_nodes(body) if isinstance(n, gast.Name)}
        self.mutable = _may_share_mutated(body, inplace)

    def fresh_name(self, base: str) -> str:
        name, k = f"_{base}_steps", 2
        while name in self.used:
            name, k = f"_{base}_steps{k}", k + 1
        self.used.add(name)
        return name

    def block(self, stmts: list) -> bool:
        changed = False
        idx = 0
        while idx < len(stmts):
            stmt = stmts[idx]
            if isinstance(stmt, gast.If):
                changed |= self.block(stmt.body) | self.block(stmt.orelse)
            elif isinstance(stmt, (gast.For, gast.While)):
                changed |= self.block(stmt.body)  # inner loops first
                before, after = self.hoist(stmt)
                if before:
                    stmts[idx:idx + 1] = before + [stmt] + after
                    idx += len(before) + len(after)
                    changed = True
            idx += 1
        return changed

    def hoist(self, loop) -> tuple[list, list]:
        """(statements to put before the loop, after it), the loop's body rewritten."""
        if loop.orelse or any(isinstance(n, _EXITS) for n in walk(loop)):
            return [], []
        reads: dict = {}
        for n in all_nodes([loop]):
            if isinstance(n, gast.Name):
                reads[n.id] = reads.get(n.id, 0) + 1
        written = {n.id for n in all_nodes([loop]) if isinstance(n, gast.Name) and
                   isinstance(n.ctx, gast.Store)}
        before: list = []
        after: list = []
        self.rewrite(loop.body, reads, written, before, after)
        return before, after

    def rewrite(self, stmts, reads, written, before, after) -> None:
        """Replace each qualifying accumulation in `stmts` (and its branches, not nested
        loops: those were done first) by appends of its factors."""
        lists: dict = {}  # factor name -> its list, until a statement writes the name
        idx = 0
        while idx < len(stmts):
            stmt = stmts[idx]
            if isinstance(stmt, gast.If):
                self.rewrite(stmt.body, reads, written, before, after)
                self.rewrite(stmt.orelse, reads, written, before, after)
            site = _site(stmt)
            if site and self.qualifies(site, reads, written):
                appends = self.appends(site, lists, before, after)
                for new in appends:
                    new.lineno = getattr(stmt, "lineno", None)
                stmts[idx:idx + 1] = appends
                idx += len(appends)
                continue
            for name in names_written(stmt):
                lists.pop(name, None)
            idx += 1

    def appends(self, site, lists: dict, before: list, after: list) -> list:
        """The appends that replace one accumulation (none for a factor already on a
        list), its list creations (to `before`) and its product (to `after`)."""
        acc, factors = site
        names, out = [], []
        for factor in factors:
            key = factor.id if isinstance(factor, gast.Name) else None
            if key is not None and key in lists:
                names.append(lists[key])
                continue
            names.append(self.fresh_name(key or acc))
            before.append(build.assign(names[-1], gast.List(elts=[], ctx=gast.Load())))
            out.append(build.expr(build.attr_call(names[-1], "append", [factor])))
            if key is not None:
                lists[key] = names[-1]
        after.append(build.assign(acc, build.call("add_outers", [build.name(acc)] +
                                                  [build.name(n) for n in names])))
        return out

    def qualifies(self, site, reads, written) -> bool:
        acc, factors = site
        if reads.get(acc, 0) != 2 or acc in self.mutable:
            return False  # a partial sum read in the loop, or an array add_at changes
        for factor in factors:
            names = names_read(factor)
            if acc in names:
                return False
            if is_fresh(factor) and not isinstance(factor, gast.Name):
                names = set()  # computed at the site: its own new array
            elif isinstance(factor, gast.Name) and factor.id not in written:
                names = {factor.id}  # loop-invariant: the same value every step
            if names & self.mutable:
                return False
        return True


def _site(stmt):
    """(accumulator, (u, v)) for `acc = acc + np.outer(u, v)` (either order), else None."""
    if not (isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and
            isinstance(stmt.targets[0], gast.Name) and isinstance(stmt.value, gast.BinOp) and
            isinstance(stmt.value.op, gast.Add)):
        return None
    acc = stmt.targets[0].id
    left, right = stmt.value.left, stmt.value.right
    if isinstance(right, gast.Name) and right.id == acc:
        left, right = right, left
    if not (isinstance(left, gast.Name) and left.id == acc and _is_outer(right)):
        return None
    return acc, tuple(right.args)


def _is_outer(node) -> bool:
    return isinstance(node, gast.Call) and build.dotted(node.func) == "np.outer" and \
        len(node.args) == 2 and not node.keywords and \
        not any(isinstance(a, gast.Starred) for a in node.args)


def _may_share_mutated(body: list, inplace: set) -> set:
    """Names whose array add_at may update: the inplace adjoints, every first argument of
    add_at, and (to a fixed point) both sides of every binding whose value is not new
    (a copy, a view, a call that may return its argument): `y = x` shares one array
    whichever of the two add_at is given."""
    found = set(inplace)
    assigns = []
    for node in all_nodes(body):
        if isinstance(node, gast.Call) and is_add_at(node):
            found |= names_read(node.args[0])
        elif isinstance(node, gast.Assign) and not is_fresh(node.value):
            targets = {t.id for t in walk(node.targets[0]) if isinstance(t, gast.Name)}
            shared = node.value.args[0] if is_add_at(node.value) else node.value
            assigns.append((targets, names_read(shared)))  # add_at returns its first
    changed = True
    while changed:
        changed = False
        for targets, reads in assigns:
            if (targets | reads) & found and not (targets | reads) <= found:
                found |= targets | reads
                changed = True
    return found
