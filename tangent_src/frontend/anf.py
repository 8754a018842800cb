"""A-normal form with static single assignment where it is cheap.

Before:  `y = y + 0.01 * (np.sin(y) * y)`  inside a loop
After:   `sin_y = np.sin(y); t = sin_y * y; t2 = 0.01 * t; y2 = y + t2; y = y2`
One operation per statement; a name assigned again outside a loop gets a fresh
version (`h`, `h2`, ...); a branch that assigns a name assigns the same version
in both arms (`else: h2 = h`); a loop-carried name keeps its name at the loop
head and gets its new value by one copy at the end of the body. The reverse
transform relies on these facts: nothing a branch or straight-line code defines
is ever overwritten, and inside a loop only the carried names are.
"""
from __future__ import annotations

import copy

import gast

from ..core import build
from ..core.dataflow import assigned, reads
from ..core.tables import EFFECT, HOOK, USER_IN_PLACE, Hook
from ..core.walk import Transformer, clone, walk
from ..errors import UnsupportedSyntaxError
from ..naming import Namer
from .anf_loops import LoopVersions
from .lower import is_list_method
from .source import ParsedFunction

OP_WORDS = {gast.Add: "plus", gast.Sub: "minus", gast.Mult: "times", gast.Div: "over",
            gast.Pow: "pow", gast.MatMult: "at", gast.FloorDiv: "floordiv", gast.Mod: "mod"}


class _Rename(Transformer):
    def __init__(self, old: str, new: str):
        self.old, self.new = old, new

    def visit_Name(self, node):
        if node.id == self.old:
            node.id = self.new
        return node


class ANF(LoopVersions):
    """Flattens expressions and versions names; see the module docstring."""

    def __init__(self, parsed: ParsedFunction, namer: Namer, user_locals: set[str]):
        self.parsed = parsed
        self.namer = namer
        self.user_locals = user_locals      # every name the function assigns or takes
        self.versions: dict[str, str] = {}
        self.out: list = []                 # statements of the block being built
        # version -> where to bind it before a copy reads it: the arms (statement lists) of
        # earlier ifs that never assign it, or the outermost loop around such an if
        self.unbound_in: dict[str, list] = {}
        self.loop_frame: dict | None = None  # the outermost loop being built

    # -- names -------------------------------------------------------------------
    def new_version(self, var: str) -> str:
        if var not in self.versions and var not in self.namer.used:
            self.namer.reserve(var)
            return var
        if var not in self.versions and not self._ever_versioned(var):
            return var
        return self.namer.fresh(var)

    def _ever_versioned(self, var: str) -> bool:
        return var in self._seen

    def define(self, var: str) -> str:
        name = self.new_version(var)
        self._seen.add(var)
        self.versions[var] = name
        return name

    def load(self, node):
        var = node.id
        if var in self.versions:
            return build.name(self.versions[var])
        if var in self.user_locals:
            raise self.parsed.error(
                UnsupportedSyntaxError, node, f"'{var}' may be used before it is assigned",
                construct="possibly unassigned variable",
                hint=f"assign '{var}' before the loop or branch that reads it")
        return build.name(var)  # a global or builtin

    # -- expressions -------------------------------------------------------------
    def emit(self, stmt, loc) -> None:
        for node in walk(stmt):
            if getattr(node, "lineno", None) is None:
                node.lineno = getattr(loc, "lineno", None)
                node.col_offset = getattr(loc, "col_offset", 0)
        self.out.append(stmt)

    def temp(self, expr, loc) -> gast.Name:
        """Evaluate `expr` (already flat) into a fresh temporary."""
        name = self.namer.fresh(self.hint(expr))
        self.namer.temporaries.add(name)
        self.emit(build.assign(name, expr), loc)
        return build.name(name)

    def hint(self, expr) -> str:
        if isinstance(expr, gast.Call):
            func = (build.dotted(expr.func) or "call").split(".")[-1]
            if expr.args and isinstance(expr.args[0], gast.Name):
                return f"{func}_{expr.args[0].id}"
            return func
        if isinstance(expr, gast.BinOp) and all(isinstance(s, (gast.Name, gast.Constant))
                                                for s in (expr.left, expr.right)):
            word = OP_WORDS.get(type(expr.op), "op")
            parts = [s.id if isinstance(s, gast.Name) else _const_word(s.value)
                     for s in (expr.left, expr.right)]
            text = f"{parts[0]}_{word}_{parts[1]}"
            return text if len(text) <= 16 else "t"
        if isinstance(expr, gast.UnaryOp) and isinstance(expr.operand, gast.Name):
            return f"neg_{expr.operand.id}" if isinstance(expr.op, gast.USub) else "t"
        if isinstance(expr, gast.Subscript) and isinstance(expr.value, gast.Name):
            index = expr.slice
            if isinstance(index, gast.Name):
                return f"{expr.value.id}_{index.id}"
            if isinstance(index, gast.Constant) and isinstance(index.value, int):
                return f"{expr.value.id}_{index.value}".replace("-", "m")
            return f"{expr.value.id}_part"
        if isinstance(expr, (gast.Compare, gast.BoolOp)) or (
                isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.Not)):
            return "cond"
        return "t"

    def atom(self, expr):
        """Flatten `expr` to a name, constant or global reference."""
        if isinstance(expr, gast.Constant):
            return expr
        if isinstance(expr, gast.UnaryOp) and isinstance(expr.operand, gast.Constant):
            flat = self.flat(expr)
            if isinstance(flat, gast.Constant):
                return flat
        if isinstance(expr, gast.Name):
            return self.load(expr)
        if isinstance(expr, gast.Attribute) and build.dotted(expr) and \
                build.dotted(expr).split(".")[0] not in self.user_locals:
            return expr  # a module attribute such as np.pi
        if isinstance(expr, gast.Tuple) and all(isinstance(e, gast.Constant) for e in expr.elts):
            return expr
        flat = self.flat(expr)
        if isinstance(flat, (gast.Name, gast.Constant)):
            return flat
        return self.temp(flat, expr)

    def flat(self, expr):
        """Flatten the operands of `expr`, returning one operation on atoms."""
        kind = type(expr)
        if kind in (gast.Constant, gast.Name):
            return self.atom(expr)
        if kind is gast.BinOp:
            out = gast.BinOp(left=self.atom(expr.left), op=expr.op, right=self.atom(expr.right))
            if expr in USER_IN_PLACE:  # (the user's `x += v`: optimize/accumulate.py)
                USER_IN_PLACE[out] = True
            return out
        if kind is gast.UnaryOp:
            if isinstance(expr.op, gast.USub) and isinstance(expr.operand, gast.Constant) and \
                    isinstance(expr.operand.value, (int, float)) and \
                    not isinstance(expr.operand.value, bool):
                return build.const(-expr.operand.value)
            operand = self.atom(expr.operand)
            if isinstance(expr.op, gast.UAdd):
                return operand
            return gast.UnaryOp(op=expr.op, operand=operand)
        if kind is gast.Call:
            return self.flat_call(expr)
        if kind is gast.Subscript:
            return gast.Subscript(value=self.atom(expr.value), slice=self.index(expr.slice),
                                  ctx=gast.Load())
        if kind is gast.List and not expr.elts:
            return gast.List(elts=[], ctx=gast.Load())  # a new tape or list
        if kind is gast.Dict and not expr.keys:
            return gast.Dict(keys=[], values=[])  # a new dict (filled by set_at)
        if kind is gast.List:
            return gast.List(elts=[self.atom(e) for e in expr.elts], ctx=gast.Load())
        if kind is gast.Tuple:
            return gast.Tuple(elts=[self.atom(e) for e in expr.elts], ctx=gast.Load())
        if kind is gast.Compare:
            if len(expr.ops) > 1:  # a < b < c  ->  a < b and b < c
                pairs = []
                left = expr.left
                for op, right in zip(expr.ops, expr.comparators):
                    pairs.append(gast.Compare(left=left, ops=[op], comparators=[right]))
                    left = right
                return self.flat(gast.BoolOp(op=gast.And(), values=pairs))
            return gast.Compare(left=self.atom(expr.left), ops=expr.ops,
                                comparators=[self.atom(expr.comparators[0])])
        if kind is gast.Attribute:
            if not isinstance(expr.value, (gast.Name, gast.Attribute)):
                return gast.Attribute(value=self.atom(expr.value), attr=expr.attr,
                                      ctx=gast.Load())
            base = self.atom(expr.value)
            return gast.Attribute(value=base, attr=expr.attr, ctx=gast.Load())
        if kind is gast.IfExp:
            return self.branch_value(expr.test, expr.body, expr.orelse, expr)
        if kind is gast.BoolOp:
            return self.bool_op(expr)
        raise self.parsed.unsupported(expr, f"'{kind.__name__}' expression",
                                      "rewrite it with simpler expressions")

    def flat_call(self, expr):
        func = expr.func
        if is_list_method(expr, "pop") and func.value.id in self.user_locals:
            return gast.Call(func=gast.Attribute(value=self.load(func.value), attr="pop",
                                                 ctx=gast.Load()), args=[], keywords=[])
        if isinstance(func, gast.Name) and func.id in self.user_locals:
            raise self.parsed.unsupported(
                expr, f"calling the local variable '{func.id}'",
                "call a module-level function by its name")
        if not build.dotted(func):
            raise self.parsed.unsupported(expr, "call of a computed function",
                                          "call a module-level function by its name")
        args = [self.atom(a) for a in expr.args]
        keywords = [gast.keyword(arg=k.arg, value=self.atom(k.value)) for k in expr.keywords]
        return gast.Call(func=func, args=args, keywords=keywords)

    def index(self, node):
        if isinstance(node, gast.Slice):
            return gast.Slice(lower=node.lower and self.atom(node.lower),
                              upper=node.upper and self.atom(node.upper),
                              step=node.step and self.atom(node.step))
        if isinstance(node, gast.Tuple):
            return gast.Tuple(elts=[self.index(e) for e in node.elts], ctx=gast.Load())
        return self.atom(node)

    def branch_value(self, test, body, orelse, loc):
        """`body if test else orelse` as an if-statement assigning one temporary."""
        var = self.namer.fresh("choice")
        self.user_locals.add(var)
        stmt = gast.If(test=test, body=[build.assign(var, body)],
                       orelse=[build.assign(var, orelse)])
        self.stmt_If(build.located(stmt, loc))
        return build.name(self.versions[var])

    def bool_op(self, expr):
        """`a and b` as `t = a; if t: t = b` (short-circuit preserved), or as one eager
        operation when evaluating `b` early cannot fail (names, constants, comparisons)."""
        if all(_safe(v) for v in expr.values[1:]):
            return gast.BoolOp(op=expr.op, values=[self.atom(v) for v in expr.values])
        var = self.namer.fresh("cond")
        self.user_locals.add(var)
        first, *rest = expr.values
        self.stmt_Assign(build.located(build.assign(var, first), expr))
        for value in rest:
            test = build.name(var) if isinstance(expr.op, gast.And) else \
                gast.UnaryOp(op=gast.Not(), operand=build.name(var))
            branch = gast.If(test=test, body=[build.assign(var, value)], orelse=[])
            self.stmt_If(build.located(branch, expr))
        return build.name(self.versions[var])

    # -- statements --------------------------------------------------------------
    def block(self, stmts, after_reads: set[str]) -> list:
        saved, self.out = self.out, []
        for idx, stmt in enumerate(stmts):
            # only a loop, or an if holding one, needs what the rest of the block reads
            # (a loop's carried names): computing it for every statement was quadratic
            later = reads(stmts[idx + 1:]) | after_reads if _holds_loop(stmt) \
                else after_reads
            self.stmt(stmt, later)
        built, self.out = self.out, saved
        return built

    def stmt(self, node, after_reads=frozenset()):
        getattr(self, "stmt_" + type(node).__name__)(node, after_reads) \
            if type(node) in (gast.For, gast.While, gast.If) else \
            getattr(self, "stmt_" + type(node).__name__)(node)

    def stmt_Expr(self, node):
        """`tape.append(x)`, or a side-effect statement (EFFECT: kept whole, reading the
        current versions of the names it reads)."""
        if node in EFFECT:
            call = clone(node.value)
            bound = {n.id for n in walk(call) if isinstance(n, gast.Name) and
                     isinstance(n.ctx, (gast.Store, gast.Param))}
            for sub in walk(call):
                if isinstance(sub, gast.Name) and isinstance(sub.ctx, gast.Load) and \
                        sub.id not in bound:
                    sub.id = self.load(sub).id
            stmt = gast.Expr(value=call)
            EFFECT[stmt] = True
            self.emit(stmt, node)
            return
        call = node.value
        tape = self.load(call.func.value)
        value = self.atom(call.args[0])
        self.emit(gast.Expr(value=gast.Call(
            func=gast.Attribute(value=tape, attr="append", ctx=gast.Load()), args=[value],
            keywords=[])), node)

    def stmt_Assign(self, node):
        target = node.targets[0].id
        value = self.flat(node.value)
        name = self.define(target)
        self.emit(build.assign(name, value), node)

    def stmt_Return(self, node):
        if isinstance(node.value, gast.Name):
            value = self.atom(node.value)
        else:  # the returned expression is computed into `out`, so the seed reads `dout`
            flat = self.flat(node.value)
            value = build.name(self.namer.fresh("out"))
            self.emit(build.assign(value.id, flat), node)
        self.emit(gast.Return(value=value), node)

    def stmt_If(self, node, after_reads=frozenset()):
        """Each arm a block of its own, the versions they leave merged; a loop in an arm
        carries what is read after the if too (`after_reads`)."""
        test = self.atom(node.test)
        before = dict(self.versions)
        body = self.block(node.body, set(after_reads))
        after_body, self.versions = self.versions, dict(before)
        orelse = self.block(node.orelse, set(after_reads))
        after_else = self.versions
        merged = {}
        for var in sorted(set(after_body) | set(after_else)):
            b, o, p = after_body.get(var), after_else.get(var), before.get(var)
            if b == o:
                merged[var] = b
            elif b is None or o is None:
                merged[var] = b or o
                self.unbound_in.setdefault(b or o, []).append(
                    self.loop_frame or (orelse if b else body))
            elif b != p and o != p:
                for stmt in orelse:
                    _Rename(o, b).visit(stmt)
                merged[var] = b
            elif b != p:
                self.bind_placeholder(o, node)
                orelse.append(build.located(build.assign(b, build.name(o)), node))
                merged[var] = b
            else:
                self.bind_placeholder(b, node)
                body.append(build.located(build.assign(o, build.name(b)), node))
                merged[var] = o
        self.versions = merged
        self.emit(gast.If(test=test, body=body, orelse=orelse), node)

    def bind_placeholder(self, version: str, loc) -> None:
        """Before a branch copies `version` (`else: h2 = h`), bind it to None where it may
        be unbound: in the arms of earlier ifs that never assign it or, for such an if in a
        loop body (where the value of an earlier iteration persists), before the outermost
        loop. The user's program reads it only where it is bound, but the copy reads it on
        every path (and so do its tangent and adjoint); None has a zero derivative and
        keeps a wrong read loud."""
        for where in self.unbound_in.pop(version, ()):
            if isinstance(where, list):
                where.append(build.located(build.assign(version, build.const(None)), loc))
            elif version not in where["pending"]:
                where["pending"].append(version)
                if where["loop"] is not None:
                    self.emit_placeholders(where, [version])


    def stmt_With(self, node):
        """insert_grad_of: its body reads the current versions of the names it uses."""
        var, alias = HOOK[node]
        if var not in self.versions:
            raise self.parsed.unsupported(node, f"insert_grad_of of '{var}' before it is "
                                          "assigned", "call it after the assignment")
        hook = gast.With(items=[], body=node.body, type_comment=None)
        HOOK[hook] = Hook(self.versions[var], alias)
        versions = dict(self.versions)

        class Current(Transformer):
            def visit_Name(self, name):
                if isinstance(name.ctx, gast.Load) and name.id != alias and \
                        name.id in versions:
                    name.id = versions[name.id]
                return name

        hook.body = [Current().visit(clone(s)) for s in node.body]
        self.emit(hook, node)


CONST_WORDS = {0: "zero", 1: "one", 2: "two", 3: "three", 0.5: "half"}


def _const_word(value) -> str:
    """How a constant reads inside a temporary's name: 1.0 - y -> one_minus_y."""
    try:
        return CONST_WORDS.get(value, "c") if not isinstance(value, bool) else "c"
    except TypeError:
        return "c"


def _safe(expr) -> bool:
    """Whether evaluating `expr` can neither fail nor have an effect."""
    return all(isinstance(n, (gast.Name, gast.Constant, gast.Compare, gast.BoolOp, gast.UnaryOp,
                              gast.Load, gast.cmpop, gast.boolop, gast.unaryop))
               for n in walk(expr))


def to_anf(parsed: ParsedFunction, lowered: gast.FunctionDef, namer: Namer) -> gast.FunctionDef:
    """Return the core-language version of a lowered function."""
    params = [a.id for a in lowered.args.posonlyargs + lowered.args.args +
              lowered.args.kwonlyargs]
    user_locals = assigned(lowered.body) | set(params)
    anf = ANF(parsed, namer, user_locals)
    anf._seen = set(params)
    anf.loop_indices = set()
    for p in params:
        anf.versions[p] = p
        namer.reserve(p)
    body = anf.block(lowered.body, set())
    node = copy.copy(lowered)
    node.body = body
    return node


def _holds_loop(stmt) -> bool:
    """Whether `stmt` is a loop or an if with a loop in an arm (what needs `after_reads`)."""
    if isinstance(stmt, (gast.For, gast.While)):
        return True
    return isinstance(stmt, gast.If) and any(
        isinstance(n, (gast.For, gast.While)) for n in walk(stmt))
