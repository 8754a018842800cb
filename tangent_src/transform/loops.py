"""Loops in reverse mode: counting `while` iterations, where each adjoint starts, the
taped loop body, checkpointed loops (save every k-th iteration, recompute segments in the
backward pass) and the reversed `range` the adjoint loop runs over. A mixin of
reverse.Reverse."""
from __future__ import annotations

import copy
from typing import NamedTuple

import gast

from ..core import build
from ..core.dataflow import assigned, upward_exposed
from ..core.tables import CHECKPOINT, COPY_BACK, NodeTable, strip_effects
from ..core.walk import clone, walk

# On a while-loop of the primal: the name of its iteration counter (the adjoint loop runs
# that many times).
WHILE_COUNTER: NodeTable[str] = NodeTable("while_counter", str)

# On a taped loop of the primal: (name, tape) of each value carried into an iteration,
# pushed at its start; the adjoint loop pops them.
CARRIED_TAPES: NodeTable[list] = NodeTable("carried_tapes", list)


class CheckpointPlan(NamedTuple):
    """A checkpointed loop: (name, tape) of each carried value saved every `every`
    iterations, the loop's (start, stop, every), and the taped body a segment reruns."""
    tapes: list
    bounds: tuple
    segment_body: list


# On a checkpointed loop of the primal: how its backward pass recomputes it.
CHECKPOINT_PLAN: NodeTable[CheckpointPlan] = NodeTable("checkpoint_plan", CheckpointPlan)


class LoopSweeps:
    """The loop half of reverse.Reverse."""

    def count_while_loops(self, stmts) -> None:
        """Give every while-loop an iteration counter, which its adjoint loop runs on."""
        for idx in range(len(stmts) - 1, -1, -1):
            stmt = stmts[idx]
            if isinstance(stmt, (gast.If, gast.For, gast.While)):
                self.count_while_loops(stmt.body)
                self.count_while_loops(stmt.orelse)
            if isinstance(stmt, gast.While):
                count = self.namer.fresh("n_iter")
                WHILE_COUNTER[stmt] = count
                stmts.insert(idx, build.located(build.assign(count, build.const(0)), stmt))
                stmt.body.append(build.located(build.assign(
                    count, build.add(build.name(count), build.const(1))), stmt))

    def place_inits(self, stmts, path: tuple) -> None:
        """Record, per variable, the innermost block enclosing every statement that touches it."""
        self.block_ids[id(stmts)] = len(self.block_ids)
        here = path + (id(stmts),)
        for stmt in stmts:
            names = [n.id for n in walk(stmt) if isinstance(n, gast.Name)] \
                if not isinstance(stmt, (gast.If, gast.For, gast.While)) else \
                [n.id for n in walk(getattr(stmt, "test", None) or stmt.iter)
                 if isinstance(n, gast.Name)] + ([stmt.target.id] if isinstance(stmt, gast.For)
                                                 else [])
            for name in names:
                old = self._paths.get(name)
                self._paths[name] = here if old is None else _common(old, here)
            if isinstance(stmt, (gast.If, gast.For, gast.While)):
                if not isinstance(stmt, gast.If):
                    self.loop_bodies.add(id(stmt.body))
                self.place_inits(stmt.body, here)
                self.place_inits(stmt.orelse, here)

    def taped_body(self, loop) -> list:
        """A loop body that records what its adjoint reads (carried values at the start)."""
        carried = sorted(self._carried(loop))
        body = self.primal_block(loop.body, True, set())
        pushes = []
        CARRIED_TAPES[loop] = tapes = []
        for var in carried:
            tape = self.tape(var)
            tapes.append((var, tape))
            pushes.append(build.expr(build.attr_call(tape, "append", [build.name(var)])))
        return pushes + body

    def checkpointed_primal(self, loop) -> list:
        """`for i in range(a, b)` under checkpoint(): store the carried state every
        `every` iterations and nothing else; the backward pass recomputes in between."""
        args = loop.iter.args
        if len(args) > 2 and _int_value(args[2]) != 1:
            raise self.parsed.unsupported(loop, "checkpoint() around a range with a step",
                                          "loop over range(n) or range(a, b)")
        start, stop = (args[0], args[1]) if len(args) > 1 else (build.const(0), args[0])
        every = self.namer.fresh("every")
        count = gast.BinOp(left=clone(stop), op=gast.Sub(), right=clone(start))
        out = [build.assign(every, build.call("checkpoint_every",
                                              [count, clone(CHECKPOINT[loop])]))]
        index = loop.target.id
        self._refuse_mutated_lists(loop)
        saves = []
        checkpoint_tapes = []
        for var in sorted(self._checkpointed_state(loop)):
            tape = self.namer.fresh(f"_{var}_checkpoints")
            self.tape_inits.append(build.assign(tape, gast.List(elts=[], ctx=gast.Load())))
            checkpoint_tapes.append((var, tape))
            saves.append(build.expr(build.attr_call(tape, "append", [build.name(var)])))
        offset = gast.BinOp(left=build.name(index), op=gast.Sub(), right=clone(start))
        due = gast.Compare(left=gast.BinOp(left=offset, op=gast.Mod(), right=build.name(every)),
                           ops=[gast.Eq()], comparators=[build.const(0)])
        plain = copy.copy(loop)
        plain.body = [gast.If(test=due, body=saves, orelse=[])] + clone(loop.body) \
            if saves else clone(loop.body)
        # the backward pass recomputes segments: without the loop's side effects (print),
        # which ran once here
        CHECKPOINT_PLAN[loop] = CheckpointPlan(checkpoint_tapes, (start, stop, every),
                                               strip_effects(self.taped_body(loop)))
        return out + [plain]

    def checkpointed_adjoint(self, loop) -> list:
        """Segments last to first: restore the state, recompute the segment with tapes,
        then run its adjoint."""
        plan = CHECKPOINT_PLAN[loop]
        start, stop, every = plan.bounds
        index = loop.target.id
        seg = self.namer.fresh("segment")
        seg_end = self.namer.fresh("segment_end")
        count = gast.BinOp(left=clone(stop), op=gast.Sub(), right=clone(start))
        last = gast.BinOp(left=clone(start), op=gast.Add(), right=gast.BinOp(
            left=gast.BinOp(left=gast.BinOp(left=count, op=gast.Sub(), right=build.const(1)),
                            op=gast.FloorDiv(), right=build.name(every)),
            op=gast.Mult(), right=build.name(every)))
        body = [build.assign(var, build.attr_call(tape, "pop", []))
                for var, tape in plan.tapes]
        body.append(build.assign(seg_end, build.call("min", [
            gast.BinOp(left=build.name(seg), op=gast.Add(), right=build.name(every)),
            clone(stop)])))
        body.append(gast.For(target=build.name(index, gast.Store()),
                             iter=build.call("range", [build.name(seg), build.name(seg_end)]),
                             body=plan.segment_body, orelse=[], type_comment=None))
        body.append(gast.For(target=build.name(index, gast.Store()),
                             iter=build.call("range", [_sub1(build.name(seg_end)),
                                                       _sub1(build.name(seg)), build.const(-1)]),
                             body=self.adjoint_block(loop.body, CARRIED_TAPES[loop], []),
                             orelse=[], type_comment=None))
        stop_at = gast.BinOp(left=clone(start), op=gast.Sub(), right=build.const(1))
        return [gast.For(target=build.name(seg, gast.Store()),
                         iter=build.call("range", [last, stop_at, gast.UnaryOp(
                             op=gast.USub(), operand=build.name(every))]),
                         body=body, orelse=[], type_comment=None)]

    def _carried(self, loop) -> set[str]:
        """Names a loop assigns that were defined before it (the loop names of anf.py)."""
        names = assigned(loop.body)
        if isinstance(loop, gast.For):
            names.discard(loop.target.id)
        return {n for n in names if any(
            isinstance(s, gast.Assign) and s.targets[0].id == n and s in COPY_BACK
            for s in loop.body)}

    def _refuse_mutated_lists(self, loop) -> None:
        """A checkpoint saves references: a list the loop changes in place (pop, or append
        to a list the loop also reads) would be seen by a recomputed segment as the loop
        left it, not as the segment found it."""
        calls = [n for n in walk(loop) if isinstance(n, gast.Call) and
                 isinstance(n.func, gast.Attribute) and isinstance(n.func.value, gast.Name)
                 and n.func.attr in ("append", "pop")]
        for call in calls:
            name = call.func.value.id
            reads = [n for n in walk(loop) if isinstance(n, gast.Name) and n.id == name and
                     not any(n is c.func.value for c in calls)]
            if call.func.attr == "pop" or reads:
                raise self.parsed.unsupported(
                    loop, f"checkpoint() around a loop that changes the list '{name}' in "
                    "place and reads it", f"build '{name}' as a new list ({name} = {name} "
                    "+ [item]) or move the loop out of checkpoint()")

    def _checkpointed_state(self, loop) -> set[str]:
        """What a segment's recomputation starts from: the names the loop carries (see
        _carried), and those a nested loop or branch carries, which the body reads before
        assigning them in an iteration (a nested loop's copy-back is in its own body)."""
        state = assigned(loop.body) & upward_exposed(loop.body)
        state.discard(loop.target.id)
        return self._carried(loop) | state

    def outlives_iteration(self, var: str) -> bool:
        """Whether the adjoint of `var`, defined here, is initialised outside a loop this
        definition is in: then one adjoint variable spans all the values the definition
        gives `var`, and it must be reset to zero past each (the adjoint of a value
        defined in iteration k must not leak into iteration k-1)."""
        site = self._paths.get(var, ())[-1:]
        blocks = self.open_blocks
        deeper = blocks[blocks.index(site[0]) + 1:] if site and site[0] in blocks else blocks
        return any(block in self.loop_bodies for block in deeper)

    def previous_zeros(self, var: str):
        """The adjoint of the value `var` held before the definition just differentiated:
        zero, shaped like that value. Inside a loop this is the value of an earlier
        iteration (the top of its tape), whose shape may differ (layers of different
        widths); without one no earlier code reads the name, and any zero does."""
        tapes = self.value_tapes.get(var, [])
        if self.classes.get(var) == () or len(tapes) != 1:
            return self.zeros(var)
        return build.call("zeros_like_last", [build.name(tapes[0]), build.name(var)])


def _common(a: tuple, b: tuple) -> tuple:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def reversed_range(iter_call):
    """The iterations of `range(...)` in reverse order, as another range."""
    args = iter_call.args
    if len(args) == 1:
        return build.call("range", [_sub1(args[0]), build.const(-1), build.const(-1)])
    step = _int_value(args[2]) if len(args) == 3 else 1
    if step == 1:   # range(a, b) backwards: b - 1 down to a
        return build.call("range", [_sub1(args[1]), _sub1(args[0]), build.const(-1)])
    if step == -1:  # range(a, b, -1) backwards: b + 1 up to a
        return build.call("range", [_add1(args[1]), _add1(args[0])])
    # range(a, b, c) backwards, for a step of either sign: from its last element down to a
    start, _, step_node = (clone(a) for a in args)
    count = build.call("len", [clone(iter_call)])
    last = gast.BinOp(left=start, op=gast.Add(), right=gast.BinOp(
        left=gast.BinOp(left=count, op=gast.Sub(), right=build.const(1)), op=gast.Mult(),
        right=clone(step_node)))
    stop = gast.BinOp(left=clone(args[0]), op=gast.Sub(), right=clone(step_node))
    return build.call("range", [last, stop, gast.UnaryOp(op=gast.USub(), operand=step_node)])


def _int_value(node):
    if isinstance(node, gast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        inner = _int_value(node.operand)
        return None if inner is None else -inner
    return None


def _add1(atom):
    if isinstance(atom, gast.Constant) and isinstance(atom.value, int):
        return build.const(atom.value + 1)
    return gast.BinOp(left=clone(atom), op=gast.Add(), right=build.const(1))


def _sub1(atom):
    if isinstance(atom, gast.Constant) and isinstance(atom.value, int):
        return build.const(atom.value - 1)
    return gast.BinOp(left=clone(atom), op=gast.Sub(), right=build.const(1))
