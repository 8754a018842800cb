"""Dead-code and dead-tape elimination.

Before:                          After:
    t = np.sin(x)                    _t.append(y)
    _t.append(y)                     ...
    u = t * 2.0   # u never read     y = _t.pop()
    ...                              dx = dy * np.cos(y)
    y = _t.pop()
    dx = dy * np.cos(y)

A statement goes when nothing after it reads what it binds; a tape push goes when
nothing pops the tape; a pop goes when nothing reads its value (unless the tape's top is
peeked by `zeros_like_last`). Loops iterate to a fixed point of their live names.
"""
from __future__ import annotations

import gast

from ..core.markers import is_marker
from .facts import COMPOUND, has_code, has_effect, names_read, peeked_tapes, tape_call, target_names


class DeadCode:
    """One run of the pass; `live_before` is also the liveness analysis other stages use."""

    def __init__(self) -> None:
        self.needed_tapes: set[str] = set()
        self.peeked: set[str] = set()   # tapes read by zeros_like_last (see peeked_tapes)
        self.removed = False

    def run(self, body: list) -> bool:
        """Delete statements whose results nothing reads, and tapes nothing pops."""
        self.needed_tapes = set()
        self.peeked = peeked_tapes(body)
        self.live_before(body, set())          # finds the tapes whose pops are live
        self.removed = False
        body[:] = self._sweep_block(body, set())
        return self.removed

    def live_before(self, stmts, live: set) -> set:
        """Live names before `stmts` given those live after (no mutation)."""
        return self._scan_block(stmts, live)[0]

    def _scan_block(self, stmts, live: set) -> tuple[set, bool]:
        """(live names before `stmts`, whether any of its statements is kept), in one pass:
        asking the two questions separately visited each nested block twice per level,
        exponential in the nesting depth of `if`s."""
        live = set(live)
        effect = False
        for stmt in reversed(stmts):
            if self._step(stmt, live) and not is_marker(stmt) and \
                    not isinstance(stmt, gast.Pass):
                effect = True
        return live, effect

    def _step(self, stmt, live: set) -> bool:
        """Whether `stmt` stays; `live` (the names live after it) becomes the names live
        before it, in place: a backward pass keeps a thousand forward values live, and a
        new set per statement made the pass quadratic. Loops iterate to a fixed point."""
        if isinstance(stmt, gast.Return):
            live |= names_read(stmt)
            return True
        if is_marker(stmt) or isinstance(stmt, gast.Pass):
            return True
        if isinstance(stmt, gast.Expr):
            tape = tape_call(stmt, "append")
            if tape is not None and tape not in live:
                return False  # nothing reads the list (or pops the tape) later
            live |= names_read(stmt)
            return True
        if isinstance(stmt, gast.Assign):
            targets = target_names(stmt)
            popped = tape_call(stmt, "pop")
            if not any(t in live for t in targets) and popped not in self.peeked and \
                    not has_effect(stmt.value):
                return False
            if isinstance(stmt.value, gast.Name) and targets == [stmt.value.id]:
                return False  # x = x
            if popped is not None:
                self.needed_tapes.add(popped)
            live.difference_update(targets)
            live |= names_read(stmt.value)
            return True
        if isinstance(stmt, gast.If):
            live_b, effect_b = self._scan_block(stmt.body, live)
            live_o, effect_o = self._scan_block(stmt.orelse, live)
            if not (effect_b or effect_o):
                return False
            live.clear()
            live |= live_b | live_o | names_read(stmt.test)
            return True
        if isinstance(stmt, (gast.For, gast.While)):
            head = names_read(stmt.iter if isinstance(stmt, gast.For) else stmt.test)
            target = {stmt.target.id} if isinstance(stmt, gast.For) else set()
            live_in, effect = self._scan_block(stmt.body, self._loop_live(stmt, live))
            if not (effect or target & live):
                return False
            live |= (live_in - target) | head
            return True
        live |= names_read(stmt)
        return True

    def _loop_live(self, stmt, live: set) -> set:
        """Names live at the end of a loop body: after the loop, or in the next iteration."""
        head = names_read(stmt.test) if isinstance(stmt, gast.While) else set()
        target = {stmt.target.id} if isinstance(stmt, gast.For) else set()
        loop_live = set(live) | head
        while True:
            live_in = self.live_before(stmt.body, loop_live)
            new_live = loop_live | (live_in - target)
            if new_live == loop_live:
                return loop_live
            loop_live = new_live

    def _sweep_block(self, stmts, live: set) -> list:
        out = []
        live = set(live)
        for stmt in reversed(stmts):
            after = set(live) if isinstance(stmt, COMPOUND) else live
            if not self._step(stmt, live):  # live: now the names live before stmt
                self.removed = True
                continue
            if isinstance(stmt, gast.If):
                stmt.body = self._sweep_block(stmt.body, after)
                stmt.orelse = self._sweep_block(stmt.orelse, after)
                if not has_code(stmt.body):  # if c: pass else: X  ->  if not c: X
                    stmt.test = gast.UnaryOp(op=gast.Not(), operand=stmt.test)
                    stmt.body, stmt.orelse = stmt.orelse, []
                    self.removed = True
                if not has_code(stmt.orelse):
                    stmt.orelse = []
            elif isinstance(stmt, (gast.For, gast.While)):
                stmt.body = self._sweep_block(stmt.body, self._loop_live(stmt, after))
                if not has_code(stmt.body):
                    stmt.body = [s for s in stmt.body if not isinstance(s, gast.Pass)] + \
                        [gast.Pass()]
            out.append(stmt)
        out.reverse()
        return out


def dead_code(body: list, inplace: set, protected: set) -> bool:
    """Delete dead statements and tapes in `body`; whether anything went."""
    return DeadCode().run(body)


def live_before(stmts: list, live: set) -> set:
    """The names live before `stmts` when `live` are live after them."""
    return DeadCode().live_before(stmts, live)
