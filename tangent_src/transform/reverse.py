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
from dataclasses import dataclass, field

import gast

from ..analysis.activity import (
    array_attribute_without_rule,
    useful_names,
    varied_names,
)
from ..analysis.adjoint_reads import (
    last_overwrites,
    read_at_top,
    same_shape,
)
from ..analysis.complexity import check_complex_statements, complex_facts
from ..core import build
from ..core.dataflow import assigned, definitely_assigned
from ..core.markers import line_marker, section_marker
from ..core.tables import CHECKPOINT, COPY_BACK, is_effect
from ..core.walk import clone, walk
from ..frontend.lower import is_list_method
from ..frontend.source import ParsedFunction
from ..naming import Namer
from .adjoint_values import AdjointValues, output_check
from .base import (
    SharedQueries,
    bool_op_choices,
    constant_read,
    iterated_names,
    no_rule_for_attribute,
    no_rule_for_subscript,
    sequence_names,
    tree_names,
)
from .calls import CallAdjoints
from .hooks import HookAdjoints
from .loops import CARRIED_TAPES, CHECKPOINT_PLAN, WHILE_COUNTER, LoopSweeps, reversed_range
from .recompute import Recompute


@dataclass
class Site:
    """Where the adjoint of a variable is initialised: the block that encloses all its uses."""

    block: int


@dataclass
class ReverseResult:
    node: gast.FunctionDef
    inplace: set = field(default_factory=set)     # adjoints updated in place (add_at)
    seed: str = "dout"
    containers: frozenset = frozenset()  # parameters whose adjoint may be a list/tuple/dict
    complex_output: bool = False  # the result may be complex (a caller must know)


class Reverse(SharedQueries, LoopSweeps, CallAdjoints, HookAdjoints, AdjointValues):
    """Builds the gradient FunctionDef of one core function."""

    def __init__(self, parsed: ParsedFunction, core: gast.FunctionDef, wrt: list[str],
                 namer: Namer, resolve, subroutine, name: str, return_value: bool = False,
                 classes: dict | None = None, trees: set | None = None,
                 has_aux: bool = False, objects: set | None = None,
                 mutable: frozenset = frozenset(), known: frozenset = frozenset(),
                 check_output: bool = False, seed_from_output: bool = False,
                 recompute_arrays: bool = False):
        self.recompute_arrays = recompute_arrays  # array arithmetic too (recompute.py)
        self.parsed, self.core, self.wrt = parsed, core, wrt
        self.check_output = check_output  # standalone code: refuse a seed unlike the output
        self.seed_from_output = seed_from_output  # nested code: no caller passes a seed
        self.known = known  # parameters whose shape class the caller gave
        self.mutable = mutable  # scalars that may be 0-d arrays (their callees are told)
        self.objects = frozenset(objects or ())  # parameter-holder object arguments
        self.namer, self.resolve, self.subroutine = namer, resolve, subroutine
        self.name = name
        self.return_value = return_value
        self.classes = classes or {}
        self.tree_classes = dict(trees) if isinstance(trees, dict) else {}
        self.trees = set(trees or ())  # tuples/lists/dicts (pytrees): adjoints add with plus()
        self.prebound: set[str] = set()  # names an adjoint reads that may never be assigned
        self.tuple_items: dict = {}  # names always plain tuples -> their items' classes
        self.has_aux = has_aux
        self.adjoints: dict[str, str] = {}
        self.tape_inits: list = []
        self.inplace: set[str] = set()
        self.block_ids: dict[int, int] = {}
        self.pushed: dict[int, list] = {}
        self.recomputes: dict[int, list] = {}  # id(loop body) -> assignments not taped
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
            body.append(build.located(build.assign(loss, gast.Subscript(
                value=build.name(returned_value), slice=build.const(0), ctx=gast.Load())), ret))
            ret = gast.Return(value=build.name(loss))
        self.count_while_loops(body)
        self.mark_user_sums(body)
        params = [a.id for a in core.args.posonlyargs + core.args.args + core.args.kwonlyargs]
        self._params = params
        self.lists = {n.targets[0].id for n in walk(core) if isinstance(n, gast.Assign)
                      and isinstance(n.value, gast.List)}
        self.varied = varied_names(body, set(self.wrt), self.resolve, self.objects,
                                   frozenset({ret.value.id})) & (
            useful_names(body, ret.value.id, self.resolve, self.objects) | set(self.wrt))
        self.complex = complex_facts(body, self.resolve, self.complex_params, self.parsed)
        check_complex_statements(self.parsed, body, self.varied, self.resolve, self.complex,
                                 self.namer)
        self.same_shape = same_shape(body, self.resolve, self.classes)
        self.sequences = sequence_names(body)
        self.trees = tree_names(body, self.trees) | self.sequences
        # general code (no class given): a parameter the function iterates over or unpacks
        # may be a list or tuple, and `+` on its adjoint would concatenate
        unknown = set(params) - self.known - self.trees
        # (asked of the source as written too: lowering turns `W, b = wb` into indexing)
        iterated = iterated_names(body, unknown) | iterated_names(self.parsed.node.body,
                                                                  unknown)
        self.maybe_trees = iterated  # only the parameters: their items are arrays or
        # are unpacked further (adjoints built with add_at, which handles both)
        self.result = ret.value.id
        if self.result not in self.varied:
            self.varied.add(self.result)  # its gradient is zero; still well defined
        self._paths = {p: (id(body),) for p in params}
        self.place_inits(body, ())
        self._paths[self.result] = (id(body),)
        single = {n.targets[0].id for n in walk(self.core) if isinstance(n, gast.Assign)}
        self.recompute = Recompute(body, self.classes, single - self._multi_defined(),
                                   self._paths, self.mutable, self.recompute_arrays)
        # the output's seed is `dout`, never `d<name>`: `dloop(y, n, dy=1.0)` read like a
        # tangent of the input y; the adjoint of a returned name the user wrote (a parameter,
        # a variable) starts as a copy of it, so it keeps its d<name>
        seed = self.namer.fresh("dout")
        named = self.result in params or self.result in assigned(self.parsed.node.body)
        adjoint = self.namer.fresh("d" + self.result) if named else seed
        self.adjoints[self.result] = adjoint

        primal = self.primal_block(body, in_loop=False, restored=set())
        adjoint_of_result = adjoint
        adjoint = self.adjoint_block(body, carried=[], pushed=[], top=True)
        primal = [section_marker("forward pass")] + primal
        if self.check_output:
            primal.append(output_check(self.name, self.parsed.node.name, self.result, seed))
        seeded = [build.assign(adjoint_of_result, build.name(seed))] \
            if adjoint_of_result != seed else []
        args = clone(core.args)
        adjoint = [section_marker("backward pass")] + self.seed_start(args, seed) + seeded + \
            adjoint
        grads = self.returned_gradients()
        returned = grads[0] if len(grads) == 1 else gast.Tuple(elts=grads, ctx=gast.Load())
        if self.return_value:
            # the backward pass restores loop-carried names: keep the value as computed
            value = self.namer.fresh(returned_value + "_value")
            primal.append(build.assign(value, build.name(returned_value)))
            returned = gast.Tuple(elts=[build.name(value), returned], ctx=gast.Load())
        unbound = [build.assign(var, build.const(None)) for var in sorted(self.prebound)]
        fn_body = self.tape_inits + unbound + primal + adjoint + [gast.Return(value=returned)]

        node = gast.FunctionDef(name=self.name, args=args, body=fn_body, decorator_list=[],
                                returns=None, type_comment=None, type_params=[])
        node.lineno = core.lineno
        containers = frozenset(p for p in params if p in self.trees or p in self.maybe_trees)
        return ReverseResult(node, self.inplace, seed, containers,
                             returned_value in self.complex.names)

    # -- primal sweep ------------------------------------------------------------
    def primal_block(self, stmts, in_loop: bool, restored: set) -> list:
        out = []
        defined = []
        # names this block tapes at its end anyway (their value there is the one left)
        own = {s.targets[0].id for s in stmts if isinstance(s, gast.Assign)
               and s not in COPY_BACK} | set(definitely_assigned(
                   [s for s in stmts if isinstance(s, gast.If)]))
        after = last_overwrites(stmts, own - restored) if in_loop else {}
        if in_loop:
            self.check_branch_values(stmts)
        kept = []  # (var, tape): values a nested loop leaves, read by the rest of the block
        self.recomputes[id(stmts)] = again = []  # recomputed by the backward pass instead
        for idx, stmt in enumerate(stmts):
            out += self.keep_values(after.get(id(stmt), ()), kept)
            if isinstance(stmt, gast.Assign) and in_loop and \
                    self.recompute.recomputed(stmts, idx):
                out.append(stmt)
                again.append(stmt)
            elif isinstance(stmt, gast.Assign):
                split = self.split_call(stmt)
                out.append(split or stmt)
                if stmt not in COPY_BACK:
                    defined.append(stmt.targets[0].id)
                if split is not None:
                    defined.append(self.split_calls[id(stmt)][1])
            elif isinstance(stmt, gast.If):
                inner = restored | set(definitely_assigned([stmt]))
                new = copy.copy(stmt)
                new.body = self.primal_block(stmt.body, in_loop, inner)
                new.orelse = self.primal_block(stmt.orelse, in_loop, inner)
                out.append(new)
                defined += definitely_assigned([stmt])
            elif isinstance(stmt, gast.Expr):  # tape.append(x) of code being re-differentiated,
                # or a side effect (print): runs here, on the primal values, once
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
            for var in dict.fromkeys(defined):
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
                     and n not in COPY_BACK} - set(definitely_assigned([stmt]))
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
        out += [clone(s) for s in self.recomputes.get(id(stmts), [])]
        block = id(stmts)
        defined = set(definitely_assigned(stmts)) | (set(self._params) if top else set())
        defined |= read_at_top(stmts)  # bound there, or the forward pass would have failed
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
            elif is_effect(stmt):  # print(...): runs in the primal sweep only
                continue
            elif isinstance(stmt, gast.Expr):
                out += self.adjoint_append(stmt)
            elif isinstance(stmt, gast.With):
                out += self.hook(stmt)
            elif stmt in CHECKPOINT_PLAN:
                out += self.checkpointed_adjoint(stmt)
            elif isinstance(stmt, gast.If):
                body = self.adjoint_block(stmt.body, [], [])
                orelse = self.adjoint_block(stmt.orelse, [], [])
                if body or orelse:
                    out.append(gast.If(test=stmt.test, body=body or [gast.Pass()],
                                       orelse=orelse))
            elif isinstance(stmt, gast.For):
                body = self.adjoint_block(stmt.body, CARRIED_TAPES.get(stmt, []), [])
                out.append(gast.For(target=clone(stmt.target),
                                    iter=reversed_range(stmt.iter), body=body, orelse=[],
                                    type_comment=None))
            elif isinstance(stmt, gast.While):
                body = self.adjoint_block(stmt.body, CARRIED_TAPES.get(stmt, []), [])
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
        out = [line_marker(stmt.lineno)] if stmt not in COPY_BACK else []
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
                out.append(build.assign(self.d(src), self.add_at(src, value.slice, dtarget)))
            elif not constant_read(value, self.varied):
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
        elif isinstance(value, gast.Compare) or isinstance(value, gast.UnaryOp) and \
                isinstance(value.op, gast.Not):
            pass  # a bool (the returned `x < y`): piecewise constant, nothing flows back
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
        if stmt in COPY_BACK:  # the name now holds the value of the iteration's start
            out.append(build.assign(self.d(target), self.zeros(target)))
        elif target in self._multi_defined() or self.outlives_iteration(target):
            out.append(build.assign(self.d(target), self.previous_zeros(target)))
        return out


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


