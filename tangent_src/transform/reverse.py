"""Reverse mode: core function -> one gradient function (primal sweep, then adjoint sweep).

Loops record, per variable, what the adjoint sweep reads: at the start of each
iteration the values of the loop-carried names, at the end of each block the
values it defined (`_h_tape.append(h)`) and, where a nested loop updates a name the
rest of the block reads, the value that loop leaves; the adjoint block pops them first.
A name defined in a loop holds a new value every iteration: past the adjoint of its
definition its adjoint is reset to a zero shaped like the previous value (the top of
its tape, `zeros_like_last`), so nothing leaks into earlier iterations.
Everything is recorded here and the optimizer deletes every tape, adjoint and
statement the gradient does not read, so the rule is simple and the output small.
"""
from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass, field

import gast

from ..analysis.activity import (
    array_attribute_without_rule,
    is_nondifferentiable,
    refuse_complex_constants,
    useful_names,
    varied_names,
)
from ..analysis.shapes import call_class
from ..core import build
from ..core.markers import line_marker, section_marker
from ..core.tables import CHECKPOINT, COPY_BACK, HOOK, NodeTable
from ..core.walk import clone, walk
from ..errors import NoDerivativeRuleError, NotDifferentiableError, UnsupportedSyntaxError
from ..frontend.anf import assigned
from ..frontend.lower import is_list_method
from ..frontend.source import ParsedFunction, is_user_function
from ..naming import Namer
from ..rules.registry import REGISTRY
from ..rules.template import TemplateError, array_operands, bind, instantiate
from .base import (
    adopt_globals,
    bool_op_choices,
    describe,
    no_rule_for_attribute,
    no_rule_for_subscript,
    sequence_names,
    tree_names,
)
from .specialize import Specializer

# On a while-loop of the primal: the name of its iteration counter (the adjoint loop runs
# that many times).
WHILE_COUNTER: NodeTable[str] = NodeTable("while_counter", str)


@dataclass
class Site:
    """Where the adjoint of a variable is initialised: the block that encloses all its uses."""

    block: int


@dataclass
class ReverseResult:
    node: gast.FunctionDef
    inplace: set = field(default_factory=set)     # adjoints updated in place (add_at)
    seed: str = "dout"


class Reverse:
    """Builds the gradient FunctionDef of one core function."""

    def __init__(self, parsed: ParsedFunction, core: gast.FunctionDef, wrt: list[str],
                 namer: Namer, resolve, subroutine, name: str, return_value: bool = False,
                 classes: dict | None = None, trees: set | None = None,
                 has_aux: bool = False, objects: set | None = None,
                 mutable: frozenset = frozenset()):
        self.parsed, self.core, self.wrt = parsed, core, wrt
        self.mutable = mutable  # scalars that may be 0-d arrays (their callees are told)
        self.objects = frozenset(objects or ())  # parameter-holder object arguments
        self.namer, self.resolve, self.subroutine = namer, resolve, subroutine
        self.name = name
        self.return_value = return_value
        self.classes = classes or {}
        self.tree_classes = dict(trees) if isinstance(trees, dict) else {}
        self.trees = set(trees or ())  # tuples/lists/dicts (pytrees): adjoints add with plus()
        self.prebound: set[str] = set()  # names an adjoint reads that may never be assigned
        self.has_aux = has_aux
        self.adjoints: dict[str, str] = {}
        self.tape_inits: list = []
        self.inplace: set[str] = set()
        self.block_ids: dict[int, int] = {}
        self.pushed: dict[int, list] = {}
        self.split_calls: dict[int, tuple] = {}
        self.value_tapes: dict[str, list[str]] = {}  # var -> tapes of the values blocks define
        self.loop_bodies: set[int] = set()   # ids of the statement lists of loop bodies
        self.open_blocks: list[int] = []     # the blocks adjoint_block is inside, outermost first

    # -- names -------------------------------------------------------------------
    def d(self, var: str) -> str:
        if var not in self.adjoints:
            self.adjoints[var] = self.namer.fresh("d" + var)
        return self.adjoints[var]

    def tape(self, var: str) -> str:
        tape = self.namer.fresh(f"_{var}_tape")
        self.tape_inits.append(build.assign(tape, gast.List(elts=[], ctx=gast.Load())))
        return tape

    # -- analysis ----------------------------------------------------------------
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
                stmts.insert(idx, _located(build.assign(count, build.const(0)), stmt))
                stmt.body.append(_located(build.assign(
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

    # -- driver ------------------------------------------------------------------
    def build(self) -> ReverseResult:
        core = clone(self.core)
        body = core.body
        ret = body[-1]
        if not isinstance(ret, gast.Return):
            raise AssertionError("core functions end with one return")
        body = body[:-1]
        returned_value = ret.value.id
        if self.has_aux:  # f returns (loss, aux): differentiate the loss, hand back both
            loss = self.namer.fresh("loss")
            body.append(_located(build.assign(loss, gast.Subscript(
                value=build.name(returned_value), slice=build.const(0), ctx=gast.Load())), ret))
            ret = gast.Return(value=build.name(loss))
        self.count_while_loops(body)
        params = [a.id for a in core.args.posonlyargs + core.args.args + core.args.kwonlyargs]
        self._params = params
        self.lists = {n.targets[0].id for n in walk(core) if isinstance(n, gast.Assign)
                      and isinstance(n.value, gast.List)}
        self.varied = varied_names(body, set(self.wrt), self.resolve, self.objects) & (
            useful_names(body, ret.value.id, self.resolve, self.objects) | set(self.wrt))
        refuse_complex_constants(self.parsed, body, self.varied)
        self.same_shape = _same_shape(body, self.resolve)
        self.sequences = sequence_names(body)
        self.trees = tree_names(body, self.trees) | self.sequences
        self.result = ret.value.id
        if self.result not in self.varied:
            self.varied.add(self.result)  # its gradient is zero; still well defined
        self._paths = {p: (id(body),) for p in params}
        self.place_inits(body, ())
        self._paths[self.result] = (id(body),)
        seed = self.namer.fresh("d" + self.result)
        self.adjoints[self.result] = seed

        primal = self.primal_block(body, in_loop=False, restored=set())
        adjoint = self.adjoint_block(body, carried=[], pushed=[], top=True)
        primal = [section_marker("forward pass")] + primal
        adjoint = [section_marker("backward pass")] + adjoint
        grads = [build.name(self.d(w)) for w in self.wrt]
        returned = grads[0] if len(grads) == 1 else gast.Tuple(elts=grads, ctx=gast.Load())
        if self.return_value:
            # the backward pass restores loop-carried names: keep the value as computed
            value = self.namer.fresh(returned_value + "_value")
            primal.append(build.assign(value, build.name(returned_value)))
            returned = gast.Tuple(elts=[build.name(value), returned], ctx=gast.Load())
        unbound = [build.assign(var, build.const(None)) for var in sorted(self.prebound)]
        fn_body = self.tape_inits + unbound + primal + adjoint + [gast.Return(value=returned)]

        args = clone(core.args)
        seed_arg = build.name(seed, gast.Param())
        if args.kwonlyargs:
            args.kwonlyargs.append(seed_arg)
            args.kw_defaults.append(build.const(1.0))
        else:
            args.args.append(seed_arg)
            args.defaults.append(build.const(1.0))
        node = gast.FunctionDef(name=self.name, args=args, body=fn_body, decorator_list=[],
                                returns=None, type_comment=None, type_params=[])
        node.lineno = core.lineno
        return ReverseResult(node, self.inplace, seed)

    # -- primal sweep ------------------------------------------------------------
    def primal_block(self, stmts, in_loop: bool, restored: set) -> list:
        out = []
        defined = []
        # names this block tapes at its end anyway (their value there is the one left)
        own = {s.targets[0].id for s in stmts if isinstance(s, gast.Assign)
               and not _is_copy_back(s)} | set(_definitely_assigned(
                   [s for s in stmts if isinstance(s, gast.If)]))
        after = _last_overwrites(stmts, own - restored) if in_loop else {}
        if in_loop:
            self.check_branch_values(stmts)
        kept = []  # (var, tape): values a nested loop leaves, read by the rest of the block
        for stmt in stmts:
            out += self.keep_values(after.get(id(stmt), ()), kept)
            if isinstance(stmt, gast.Assign):
                split = self.split_call(stmt)
                out.append(split or stmt)
                if not _is_copy_back(stmt):
                    defined.append(stmt.targets[0].id)
                if split is not None:
                    defined.append(self.split_calls[id(stmt)][1])
            elif isinstance(stmt, gast.If):
                inner = restored | set(_definitely_assigned([stmt]))
                new = copy.copy(stmt)
                new.body = self.primal_block(stmt.body, in_loop, inner)
                new.orelse = self.primal_block(stmt.orelse, in_loop, inner)
                out.append(new)
                defined += _definitely_assigned([stmt])
            elif isinstance(stmt, gast.Expr):  # tape.append(x) of code being re-differentiated
                out.append(stmt)
            elif isinstance(stmt, gast.With):  # insert_grad_of: runs in the backward pass only
                continue
            elif stmt in CHECKPOINT:
                if in_loop:
                    raise self.parsed.unsupported(stmt, "checkpoint() inside another loop",
                                                  "checkpoint the outermost loop")
                out += self.checkpointed_primal(stmt)
            else:  # a loop
                new = copy.copy(stmt)
                new.body = self.taped_body(stmt)
                out.append(new)
        out += self.keep_values(after.get(None, ()), kept)
        if in_loop:
            pushed = []
            for var in _unique(defined):
                if var in restored:
                    continue
                tape = self.tape(var)
                pushed.append((var, tape))
                self.value_tapes.setdefault(var, []).append(tape)
                out.append(build.expr(build.attr_call(tape, "append", [build.name(var)])))
            # popped last: they override the value the iteration started with
            self.pushed[id(stmts)] = pushed + kept
        return out

    def check_branch_values(self, stmts) -> None:
        """Refuse, in a loop body, a name that only one arm of a branch assigns and that the
        rest of the body reads: in an iteration that skips the assignment, it holds the
        value of an earlier iteration (or none), which the tapes cannot restore."""
        for idx, stmt in enumerate(stmts):
            if not isinstance(stmt, gast.If):
                continue
            maybe = {n.targets[0].id for n in walk(stmt) if isinstance(n, gast.Assign)
                     and not _is_copy_back(n)} - set(_definitely_assigned([stmt]))
            for later in stmts[idx + 1:]:
                for node in walk(later):
                    if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and \
                            node.id in maybe and self._matters(node.id, stmts[idx + 1:]):
                        where = node if getattr(node, "lineno", None) else later
                        raise self.parsed.unsupported(
                            where, f"reading '{node.id}' in a loop after a branch that may "
                            "not assign it", f"assign '{node.id}' in every branch (or before "
                            "the branch) in each iteration")

    def _matters(self, var: str, stmts) -> bool:
        """Whether the gradient depends on `var`'s value: it is differentiated, or an
        assignment of a differentiated name reads it."""
        if var in self.varied:
            return True
        return any(isinstance(n, gast.Assign) and n.targets[0].id in self.varied and
                   var in {m.id for m in walk(n.value) if isinstance(m, gast.Name)}
                   for stmt in stmts for n in walk(stmt))

    def keep_values(self, names, kept: list) -> list:
        """Record the current values of `names` (each on a tape of its own, added to `kept`)."""
        out = []
        for var in names:
            tape = self.tape(var)
            kept.append((var, tape))
            out.append(build.expr(build.attr_call(tape, "append", [build.name(var)])))
        return out

    def taped_body(self, loop) -> list:
        """A loop body that records what its adjoint reads (carried values at the start)."""
        carried = sorted(self._carried(loop))
        body = self.primal_block(loop.body, True, set())
        pushes = []
        loop.carried_tapes = []
        for var in carried:
            tape = self.tape(var)
            loop.carried_tapes.append((var, tape))
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
        saves = []
        loop.checkpoint_tapes = []
        for var in sorted(self._carried(loop)):
            tape = self.namer.fresh(f"_{var}_checkpoints")
            self.tape_inits.append(build.assign(tape, gast.List(elts=[], ctx=gast.Load())))
            loop.checkpoint_tapes.append((var, tape))
            saves.append(build.expr(build.attr_call(tape, "append", [build.name(var)])))
        offset = gast.BinOp(left=build.name(index), op=gast.Sub(), right=clone(start))
        due = gast.Compare(left=gast.BinOp(left=offset, op=gast.Mod(), right=build.name(every)),
                           ops=[gast.Eq()], comparators=[build.const(0)])
        plain = copy.copy(loop)
        plain.body = [gast.If(test=due, body=saves, orelse=[])] + clone(loop.body) \
            if saves else clone(loop.body)
        loop.checkpoint_bounds = (start, stop, every)
        loop.segment_body = self.taped_body(loop)
        return out + [plain]

    def checkpointed_adjoint(self, loop) -> list:
        """Segments last to first: restore the state, recompute the segment with tapes,
        then run its adjoint."""
        start, stop, every = loop.checkpoint_bounds
        index = loop.target.id
        seg = self.namer.fresh("segment")
        seg_end = self.namer.fresh("segment_end")
        count = gast.BinOp(left=clone(stop), op=gast.Sub(), right=clone(start))
        last = gast.BinOp(left=clone(start), op=gast.Add(), right=gast.BinOp(
            left=gast.BinOp(left=gast.BinOp(left=count, op=gast.Sub(), right=build.const(1)),
                            op=gast.FloorDiv(), right=build.name(every)),
            op=gast.Mult(), right=build.name(every)))
        body = [build.assign(var, build.attr_call(tape, "pop", []))
                for var, tape in loop.checkpoint_tapes]
        body.append(build.assign(seg_end, build.call("min", [
            gast.BinOp(left=build.name(seg), op=gast.Add(), right=build.name(every)),
            clone(stop)])))
        body.append(gast.For(target=build.name(index, gast.Store()),
                             iter=build.call("range", [build.name(seg), build.name(seg_end)]),
                             body=loop.segment_body, orelse=[], type_comment=None))
        body.append(gast.For(target=build.name(index, gast.Store()),
                             iter=build.call("range", [_sub1(build.name(seg_end)),
                                                       _sub1(build.name(seg)), build.const(-1)]),
                             body=self.adjoint_block(loop.body, loop.carried_tapes, []),
                             orelse=[], type_comment=None))
        stop_at = gast.BinOp(left=clone(start), op=gast.Sub(), right=build.const(1))
        return [gast.For(target=build.name(seg, gast.Store()),
                         iter=build.call("range", [last, stop_at, gast.UnaryOp(
                             op=gast.USub(), operand=build.name(every))]),
                         body=body, orelse=[], type_comment=None)]

    def hook(self, stmt) -> list:
        """insert_grad_of(x) as dx: the body, with dx naming x's adjoint at this point."""
        var, alias = HOOK[stmt]
        dname = self.d(var) if var in self.varied else None
        if dname is None:
            return []
        mapping = {alias: dname}

        class Alias(gast.NodeTransformer):
            def visit_Name(self, name):
                name.id = mapping.get(name.id, name.id)
                return name

        return [line_marker(stmt.lineno)] + [Alias().visit(clone(s)) for s in stmt.body]

    def _carried(self, loop) -> set[str]:
        """Names a loop assigns that were defined before it (the loop names of anf.py)."""
        names = assigned(loop.body)
        if isinstance(loop, gast.For):
            names.discard(loop.target.id)
        return {n for n in names if any(
            isinstance(s, gast.Assign) and s.targets[0].id == n and _is_copy_back(s)
            for s in loop.body)}

    # -- adjoint sweep -----------------------------------------------------------
    def adjoint_block(self, stmts, carried, pushed, top=False) -> list:
        self.open_blocks.append(id(stmts))
        try:
            return self._adjoint_block(stmts, carried, top)
        finally:
            self.open_blocks.pop()

    def _adjoint_block(self, stmts, carried, top) -> list:
        out = []
        for var, tape in carried + self.pushed.get(id(stmts), []):
            out.append(build.assign(var, build.attr_call(tape, "pop", [])))
        block = id(stmts)
        defined = set(_definitely_assigned(stmts)) | (set(self._params) if top else set())
        defined |= _read_at_top(stmts)  # bound there, or the forward pass would have failed
        for var in sorted(v for v, path in self._paths.items()
                          if path[-1] == block and v in self.varied and v != self.result):
            if var in defined or self.classes.get(var) == ():
                zero = self.zeros(var) if var in defined else build.const(0.0)
            else:  # maybe never assigned: bound to None at the start, zeros of its shape
                self.prebound.add(var)
                zero = build.call("zeros_like", [build.name(var)])
            out.append(build.assign(self.d(var), zero))
        for stmt in reversed(stmts):
            if isinstance(stmt, gast.Assign):
                out += self.adjoint_assign(stmt)
            elif isinstance(stmt, gast.Expr):
                out += self.adjoint_append(stmt)
            elif isinstance(stmt, gast.With):
                out += self.hook(stmt)
            elif hasattr(stmt, "checkpoint_bounds"):
                out += self.checkpointed_adjoint(stmt)
            elif isinstance(stmt, gast.If):
                body = self.adjoint_block(stmt.body, [], [])
                orelse = self.adjoint_block(stmt.orelse, [], [])
                if body or orelse:
                    out.append(gast.If(test=stmt.test, body=body or [gast.Pass()],
                                       orelse=orelse))
            elif isinstance(stmt, gast.For):
                body = self.adjoint_block(stmt.body, getattr(stmt, "carried_tapes", []), [])
                out.append(gast.For(target=clone(stmt.target),
                                    iter=_reversed_range(stmt.iter), body=body, orelse=[],
                                    type_comment=None))
            elif isinstance(stmt, gast.While):
                body = self.adjoint_block(stmt.body, getattr(stmt, "carried_tapes", []), [])
                out.append(gast.For(target=build.name(self.namer.fresh("_"), gast.Store()),
                                    iter=build.call("range", [build.name(WHILE_COUNTER[stmt])]),
                                    body=body, orelse=[], type_comment=None))
        return out

    def adjoint_assign(self, stmt) -> list:
        target = stmt.targets[0].id
        if target not in self.varied:
            return []
        value = stmt.value
        dtarget = build.name(self.d(target))
        out = [line_marker(stmt.lineno)] if not _is_copy_back(stmt) else []
        if isinstance(value, gast.Name):
            if value.id in self.varied:
                out.append(self.accumulate(value.id, dtarget))
        elif isinstance(value, (gast.Constant, gast.Dict)) or (
                isinstance(value, gast.List) and not value.elts):
            pass
        elif isinstance(value, gast.Subscript):
            if isinstance(value.value, gast.Name) and value.value.id in self.varied:
                src = value.value.id
                self.inplace.add(self.d(src))
                out.append(build.assign(self.d(src), build.call(
                    "add_at", [build.name(self.d(src)), _index_value(value.slice), dtarget])))
            else:
                raise no_rule_for_subscript(self.parsed, value)
        elif isinstance(value, (gast.Tuple, gast.List)):
            for k, elt in enumerate(value.elts):
                if isinstance(elt, gast.Name) and elt.id in self.varied:
                    item = gast.Subscript(value=dtarget, slice=build.const(k), ctx=gast.Load())
                    out.append(self.accumulate(elt.id, item))
        elif isinstance(value, gast.Attribute) and value.attr == "T":
            if isinstance(value.value, gast.Name) and value.value.id in self.varied:
                out.append(self.accumulate(value.value.id, gast.Call(
                    func=gast.Attribute(value=build.name("np"), attr="transpose", ctx=gast.Load()),
                    args=[dtarget], keywords=[])))
        elif isinstance(value, gast.Attribute):  # obj.W of a parameter-holder object
            if array_attribute_without_rule(value.attr) and \
                    build.dotted(value.value) not in self.trees:
                raise no_rule_for_attribute(self.parsed, value)
            if isinstance(value.value, gast.Name) and value.value.id in self.varied:
                src = value.value.id
                self.inplace.add(self.d(src))
                out.append(build.assign(self.d(src), build.call(
                    "add_at", [build.name(self.d(src)), build.const(value.attr), dtarget])))
        elif is_list_method(value, "pop"):
            tape = value.func.value.id
            if tape in self.varied:
                out.append(build.expr(build.attr_call(self.d(tape), "append", [dtarget])))
        elif isinstance(value, gast.BinOp) and isinstance(value.op, gast.Add) and any(
                isinstance(v, gast.Name) and v.id in self.sequences for v in (value.left,
                                                                             value.right)):
            # list/tuple concatenation: each operand gets its own part of the adjoint
            left, right = value.left, value.right
            if isinstance(left, gast.Name) and left.id in self.varied:
                out.append(self.accumulate(left.id, build.call("left_part", [dtarget, left])))
            if isinstance(right, gast.Name) and right.id in self.varied:
                out.append(self.accumulate(right.id, build.call("right_part", [dtarget, left])))
        elif isinstance(value, (gast.BinOp, gast.UnaryOp)):
            args = [value.left, value.right] if isinstance(value, gast.BinOp) else [value.operand]
            out += self.apply_rule(type(value.op), stmt, args, {}, value)
        elif isinstance(value, gast.BoolOp):
            out += self.adjoint_bool_op(value, dtarget)
        elif isinstance(value, gast.Call):
            out += self.adjoint_call(stmt, value)
        else:
            raise self.parsed.unsupported(value, f"'{type(value).__name__}' of a varying value",
                                          "rewrite the expression with NumPy functions")
        if _is_copy_back(stmt):  # the name now holds the value of the iteration's start
            out.append(build.assign(self.d(target), self.zeros(target)))
        elif target in self._multi_defined() or self.outlives_iteration(target):
            out.append(build.assign(self.d(target), self.previous_zeros(target)))
        return out

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

    def adjoint_bool_op(self, value, dtarget) -> list:
        """`y = a or b` is whichever operand decided: `if a: da += dy else: db += dy`."""
        chain: list = []
        for test, operand in reversed(bool_op_choices(value)):
            body = [self.accumulate(operand.id, clone(dtarget))] if \
                isinstance(operand, gast.Name) and operand.id in self.varied else [gast.Pass()]
            chain = body if test is None else [gast.If(test=test, body=body, orelse=chain)]
        return chain

    def adjoint_append(self, stmt) -> list:
        """The adjoint of `tape.append(x)` takes x's adjoint back off the adjoint tape."""
        call = stmt.value
        tape, item = call.func.value.id, call.args[0]
        if tape not in self.varied or not (isinstance(item, gast.Name) and
                                           item.id in self.varied):
            return []
        part = self.namer.fresh(f"{self.d(item.id)}_popped")
        return [line_marker(stmt.lineno),
                build.assign(part, build.attr_call(self.d(tape), "pop", [])),
                self.accumulate(item.id, build.name(part))]

    def _multi_defined(self) -> set[str]:
        """Names assigned by more than one statement: past the adjoint of one of their
        definitions, the adjoint belongs to the value before it, which starts from zero."""
        if not hasattr(self, "_multi"):
            counts: dict[str, int] = {p: 1 for p in self._params}
            for node in walk(self.core):
                if isinstance(node, gast.Assign):
                    name = node.targets[0].id
                    counts[name] = counts.get(name, 0) + 1
            self._multi = {n for n, c in counts.items() if c > 1}
        return self._multi

    def call_class(self, atom):
        """The class a user function called with `atom` is specialized to."""
        name = atom.id if isinstance(atom, gast.Name) else None
        return call_class(self.shape(atom), name, self.trees, self.tree_classes,
                          self.mutable)

    def shape(self, atom):
        """The shape class of an atom (see analysis/shapes.py)."""
        if isinstance(atom, gast.Name):
            return self.classes.get(atom.id)
        if isinstance(atom, gast.Constant) and isinstance(atom.value, (int, float, bool)):
            return ()
        return None

    def zeros(self, var: str):
        """A zero adjoint for `var`: 0.0 for a scalar, else an array of its shape."""
        cls = self.classes.get(var)
        if var in self.lists:
            # a tape: [] at that point; a list: zeros
            return build.call("zeros_like", [build.name(var)])
        if cls == ():
            return build.const(0.0)
        if cls:
            return gast.Call(func=gast.Attribute(value=build.name("np"), attr="zeros_like",
                                                 ctx=gast.Load()),
                             args=[build.name(var)], keywords=[])
        return build.call("zeros_like", [build.name(var)])

    def accumulate(self, var: str, expr):
        dvar = self.d(var)
        if var in self.trees:
            return build.assign(dvar, build.call("plus", [build.name(dvar), expr]))
        return build.assign(dvar, build.add(build.name(dvar), expr))

    def adjoint_call(self, stmt, call) -> list:
        func = self.resolve(call.func)
        label = build.dotted(call.func) or "function"
        active = [a for a in call.args + [k.value for k in call.keywords]
                  if isinstance(a, gast.Name) and a.id in self.varied]
        if not active:
            return []
        if is_nondifferentiable(func):
            return []
        if REGISTRY.lookup(REGISTRY.adjoints, func) is not None:
            return self.apply_rule(func, stmt, call.args,
                                   {k.arg: k.value for k in call.keywords}, call)
        if is_user_function(func):
            return self.call_subroutine(stmt, call, func)
        raise self.parsed.error(
            NoDerivativeRuleError, call,
            f"no derivative rule for {label} ({describe(func)})",
            construct=label,
            hint=f"register one with @tangent_src.adjoint({label}) (and @tangent_src.tangent), "
                 f"or mark it with tangent_src.nondifferentiable({label})")

    def apply_rule(self, key, stmt, args, keywords, loc) -> list:
        template = REGISTRY.adjoints.get(key)
        label = build.dotted(loc.func) if isinstance(loc, gast.Call) else type(loc).__name__
        if template is None:
            raise self.parsed.error(NoDerivativeRuleError, loc,
                                    f"no derivative rule for {label}", construct=label,
                                    hint="register one with @tangent_src.adjoint(...)")
        result = stmt.targets[0]
        try:
            values = bind(template, build.name(result.id), list(args), dict(keywords))
        except TemplateError as exc:
            raise self.parsed.unsupported(loc, f"this call of {label} ({exc})",
                                          "call it with the arguments its rule declares") \
                from exc
        dnames = {}
        for param, value in values.items():
            if isinstance(value, gast.Name) and value.id in self.varied:
                dnames[param] = self.d(value.id)
        converted = array_operands(template, values, dnames, self.sequences)
        dnames[template.params[0]] = self.d(result.id)
        helpers, contributions = instantiate(template, values, dnames,
                                             lambda base: self.namer.fresh(base))
        adopt_globals(self.parsed, template, helpers + [c.expr for c in contributions])
        operands = [values[p] for p in template.params[1:] if p not in template.defaults]
        co_atoms = {}
        for atom in operands:
            if isinstance(atom, gast.Name):
                co_atoms[atom.id] = [o for o in operands if o is not atom]
        specializer = Specializer(self.shape, self.shape(result), co_atoms, self.same_shape)
        for c in contributions:
            c.expr = specializer.visit(c.expr)
        out = list(helpers)
        for c in contributions:
            var = converted.get(c.param) or values[c.param].id
            if c.param in converted:  # an array's adjoint, for a list: a list again
                c.expr = build.call("convert_like", [c.expr, build.name(var)])
            if c.accumulates:
                out.append(self.accumulate(var, c.expr))
            else:
                self.inplace.add(self.d(var))
                out.append(build.assign(self.d(var), c.expr))
        return out

    def split_call(self, stmt):
        """`v = g(x)` with g a user function -> `v, g_saved = g_fwd(x)`, its backward half
        called in the adjoint sweep (so g's forward computation is not repeated)."""
        call = stmt.value
        target = stmt.targets[0].id
        if not isinstance(call, gast.Call) or target not in self.varied or \
                is_list_method(call, "pop"):
            return None
        func = self.resolve(call.func)
        if not is_user_function(func) or REGISTRY.lookup(REGISTRY.adjoints, func) is not None:
            return None
        bound, active = self._bind_call(call, func)
        if not active:
            return None
        arg_ranks = tuple((p, self.call_class(v)) for p, v in bound.arguments.items())
        sub = self.subroutine(func, tuple(active), arg_ranks)
        saved = self.namer.fresh(f"{func.__name__}_saved")
        self.split_calls[id(stmt)] = (sub, saved, active, bound)
        targets = gast.Tuple(elts=[build.name(target, gast.Store()),
                                   build.name(saved, gast.Store())],
                             ctx=gast.Store())
        fwd_call = gast.Call(func=build.name(sub.fwd_name), args=clone(call.args),
                             keywords=clone(call.keywords))
        new = gast.Assign(targets=[targets], value=fwd_call, type_comment=None)
        return _located(new, stmt)

    def _bind_call(self, call, func):
        sig = inspect.signature(func)
        try:
            bound = sig.bind(*call.args, **{k.arg: k.value for k in call.keywords})
        except TypeError as exc:
            raise self.parsed.error(UnsupportedSyntaxError, call, f"bad call: {exc}",
                                    construct="call", hint="match the function's parameters") \
                from exc
        active = [p for p, v in bound.arguments.items()
                  if isinstance(v, gast.Name) and v.id in self.varied]
        return bound, active

    def call_subroutine(self, stmt, call, func) -> list:
        sub, saved, active, bound = self.split_calls[id(stmt)]
        seed = build.name(self.d(stmt.targets[0].id))
        grad_call = build.call(sub.bwd_name, [build.name(saved), seed])
        callee = getattr(func, "__name__", "call")
        parts = [self.namer.fresh(f"{self.d(bound.arguments[p].id)}_{callee}") for p in active]
        target = build.name(parts[0], gast.Store()) if len(parts) == 1 else gast.Tuple(
            elts=[build.name(p, gast.Store()) for p in parts], ctx=gast.Store())
        out = [gast.Assign(targets=[target], value=grad_call, type_comment=None)]
        for p, part in zip(active, parts):
            out.append(self.accumulate(bound.arguments[p].id, build.name(part)))
        return out


def _read_at_top(stmts) -> set:
    """Names that a statement directly in `stmts` (not inside a loop or branch) reads: when
    the backward pass of `stmts` runs, each of them is bound, even one that only a loop
    assigns, so its adjoint can start as zeros of its shape (a float 0.0 cannot take
    add_at's element-wise contributions)."""
    names = set()
    for stmt in stmts:
        if isinstance(stmt, (gast.Assign, gast.Expr)):
            value = stmt.value
            names |= {n.id for n in walk(value)
                      if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Load)}
    return names


def is_hashable(obj) -> bool:
    try:
        hash(obj)
    except TypeError:
        return False
    return True


def _same_shape(stmts, resolve) -> dict:
    """name -> argument name, for single-definition results of shape-preserving
    elementwise operations (`log_q = np.log(q)`): a shape can be read from the argument."""
    from ..rules.elementwise import UNARY
    counts: dict = {}
    found: dict = {}
    for node in walk(gast.Module(body=stmts, type_ignores=[])):
        if isinstance(node, gast.Assign):
            name = node.targets[0].id
            counts[name] = counts.get(name, 0) + 1
            value = node.value
            if isinstance(value, gast.UnaryOp) and isinstance(value.op, gast.USub) and \
                    isinstance(value.operand, gast.Name):
                found[name] = value.operand.id
            elif isinstance(value, gast.BinOp) and not isinstance(value.op, gast.MatMult):
                left, right = value.left, value.right
                if isinstance(left, gast.Name) and (
                        isinstance(right, gast.Constant) or
                        (isinstance(right, gast.Name) and right.id == left.id)):
                    found[name] = left.id
                elif isinstance(right, gast.Name) and isinstance(left, gast.Constant):
                    found[name] = right.id
            elif isinstance(value, gast.Call) and len(value.args) == 1 and \
                    not value.keywords and isinstance(value.args[0], gast.Name):
                func = resolve(value.func)
                if is_hashable(func) and func in UNARY:
                    found[name] = value.args[0].id
    return {k: v for k, v in found.items() if counts.get(k) == 1 and counts.get(v, 0) <= 1}


def _common(a: tuple, b: tuple) -> tuple:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def _unique(names):
    seen, out = set(), []
    for n in names:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def _overwritten(stmt) -> set[str]:
    """Names a compound statement may leave with a new value: the copy-backs of its loops,
    every name assigned inside it (also one first assigned in a nested loop, `for j ...:
    v = ...`, which is no copy-back) and the targets of its for-loops."""
    names = {n.targets[0].id for n in walk(stmt) if isinstance(n, gast.Assign)}
    return names | {n.target.id for n in walk(stmt)
                    if isinstance(n, gast.For) and isinstance(n.target, gast.Name)}


def _last_overwrites(stmts, taped: set) -> dict:
    """id(statement after S) -> names whose last overwrite in `stmts` is inside the
    compound statement S (a nested loop, or a branch holding one), except the `taped`
    names, which the block records at its end anyway. In a loop body, the
    statements after S read the value S leaves, not the one the iteration started with
    (nor the one the nested loop's own tapes restore only inside its adjoint, which runs
    after theirs), so that value is recorded where S ends (the id key is the next
    statement, or None)."""
    last: dict = {}
    for idx, stmt in enumerate(stmts):
        if isinstance(stmt, (gast.If, gast.For, gast.While)):
            for var in _overwritten(stmt) - taped:
                last[var] = idx
    out: dict = {}
    for var, idx in sorted(last.items()):
        following = id(stmts[idx + 1]) if idx + 1 < len(stmts) else None
        out.setdefault(following, []).append(var)
    return out


def _definitely_assigned(stmts) -> list[str]:
    out = []
    for stmt in stmts:
        if isinstance(stmt, gast.Assign):
            out.append(stmt.targets[0].id)
        elif isinstance(stmt, gast.If):
            body = _definitely_assigned(stmt.body)
            orelse = set(_definitely_assigned(stmt.orelse))
            out += [n for n in body if n in orelse]
    return out


def _is_copy_back(stmt) -> bool:
    return stmt in COPY_BACK


def _located(stmt, loc):
    for node in walk(stmt):
        if getattr(node, "lineno", None) is None:
            node.lineno = getattr(loc, "lineno", None)
            node.col_offset = getattr(loc, "col_offset", 0)
    return stmt


def _reversed_range(iter_call):
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


def _index_value(index):
    """An index expression (slices included) as a runtime value: 1:3 -> slice(1, 3)."""
    if isinstance(index, gast.Slice):
        parts = [index.lower, index.upper, index.step]
        if parts[2] is None:
            parts.pop()
        return build.call("slice", [clone(p) if p is not None else build.const(None)
                               for p in parts] or [build.const(None)])
    if isinstance(index, gast.Tuple):
        return gast.Tuple(elts=[_index_value(e) for e in index.elts], ctx=gast.Load())
    return clone(index)


def check_wrt(parsed: ParsedFunction, core: gast.FunctionDef, wrt) -> list[str]:
    """Normalize `wrt` (index, name or tuple of them) to parameter names."""
    params = [a.id for a in core.args.posonlyargs + core.args.args + core.args.kwonlyargs]
    out = []
    for w in wrt:
        if isinstance(w, bool) or not isinstance(w, (int, str)):
            raise NotDifferentiableError(f"wrt entries are argument indices or names, got {w!r}")
        if isinstance(w, int):
            if not -len(params) <= w < len(params):
                raise NotDifferentiableError(
                    f"wrt={w} is out of range: {parsed.node.name} has {len(params)} arguments")
            out.append(params[w])
        else:
            if w not in params:
                raise NotDifferentiableError(
                    f"wrt={w!r} is not an argument of {parsed.node.name}; its arguments are "
                    f"{', '.join(params)}")
            out.append(w)
    return out
