"""Lowering of loops: `for` over ranges, sequences, enumerate, zip and dicts becomes `for i
in range(...)`; `break` and `continue` become flags that guard the rest of the body.

Before:  `for x in xs: if x > 0: break; s = s + x`
After:   `stop = len(xs); i = 0; stop_loop = False`
         `while not stop_loop and i < stop: x = xs[i]; if x > 0: stop_loop = True`
         `    if not stop_loop: s = s + x; i = i + 1`  (roughly)
"""
from __future__ import annotations

import gast
import numpy

from ...core import build
from ...core.walk import clone
from ..source import is_user_function
from .common import contains, is_call_to, located
from .ranges import item_of, len_of, range_len, reversed_range_call

# calls whose result a for-loop can index: built lists and arrays
_SEQUENCE_BUILDERS = (sorted, list, tuple, numpy.array, numpy.asarray, numpy.arange,
                      numpy.linspace, numpy.atleast_1d, numpy.stack, numpy.concatenate)


class LoopLowering:
    """Lowerer's part for loops (see the module docstring)."""

    def stmt_Break(self, node):
        return [node]  # lowered with the enclosing loop

    def stmt_Continue(self, node):
        return [node]

    def stmt_While(self, node):
        if node.orelse:
            raise self.parsed.unsupported(node, "while ... else",
                                          "move the else-branch after the loop")
        node.test = self.check_expr(node.test)
        body = self.block(node.body)
        return self.loop_exits(node, node.test, body, prologue=[], step=[])

    def stmt_For(self, node):
        if node.orelse:
            raise self.parsed.unsupported(node, "for ... else",
                                          "move the else-branch after the loop")
        self.dict_iteration(node)
        node.iter = self.check_expr(node.iter)
        pre, target, iter_call, body_head = self.for_header(node)
        body = body_head + self.block(node.body)
        if not contains(body, gast.Break, stop=(gast.For, gast.While)):
            if contains(body, gast.Continue, stop=(gast.For, gast.While)):
                body = self.guard_exits(body, None, self.namer.fresh("skip"))
            loop = gast.For(target=build.name(target, gast.Store()), iter=iter_call, body=body,
                            orelse=[], type_comment=None)
            return pre + [located(loop, node)]
        # A for-loop with break becomes a counted while-loop.
        args = iter_call.args
        start, stop = (args[0], args[1]) if len(args) > 1 else (build.const(0), args[0])
        step = args[2] if len(args) > 2 else build.const(1)
        if not (isinstance(step, gast.Constant) and isinstance(step.value, int)) and not (
                isinstance(step, gast.UnaryOp) and isinstance(step.operand, gast.Constant)):
            raise self.parsed.unsupported(node, "break in a for-loop with a computed step",
                                          "use a constant step or a while-loop")
        negative = isinstance(step, gast.UnaryOp) or step.value < 0
        stop_name = self.namer.fresh("stop")
        cmp = gast.Gt() if negative else gast.Lt()
        test = gast.Compare(left=build.name(target), ops=[cmp], comparators=[build.name(stop_name)])
        prologue = [located(build.assign(stop_name, stop), node),
                    located(build.assign(target, start), node)]
        step_up = gast.BinOp(left=build.name(target), op=gast.Add(), right=clone(step))
        increment = [located(build.assign(target, step_up), node)]
        return pre + self.loop_exits(node, located(test, node), body, prologue, increment)

    def dict_iteration(self, node) -> None:
        """`for k, v in d.items()` / `d.values()` / `d.keys()` -> a loop over the keys, the
        value read as `d[k]` at the top of the body; `for k in d` for a dict parameter too."""
        it = node.iter
        if isinstance(it, gast.Name) and it.id in self.dicts:
            node.iter = located(build.call(self.helper("dict_keys"), [it]), it)
            return
        if not (isinstance(it, gast.Call) and isinstance(it.func, gast.Attribute) and
                it.func.attr in ("items", "values", "keys") and not it.args and
                isinstance(it.func.value, gast.Name) and it.func.value.id in self.locals):
            return
        mapping = it.func.value
        keys = gast.Call(func=self.helper("dict_keys"), args=[mapping], keywords=[])
        kind, target = it.func.attr, node.target
        if kind == "keys":
            node.iter = located(keys, it)
            return
        if kind == "items":
            if not (isinstance(target, gast.Tuple) and len(target.elts) == 2 and
                    isinstance(target.elts[0], gast.Name)):
                raise self.parsed.unsupported(target, "this target for .items()",
                                              "write: for key, value in d.items():")
            key, value_target = target.elts
        else:
            key, value_target = build.name(self.namer.fresh("key"), gast.Store()), target
            self.locals.add(key.id)
        read = gast.Subscript(value=build.name(mapping.id), slice=build.name(key.id),
                              ctx=gast.Load())
        head = gast.Assign(targets=[value_target], value=read, type_comment=None)
        node.target = build.name(key.id, gast.Store())
        node.iter = located(keys, it)
        node.body = [located(head, node)] + node.body

    def for_header(self, node):
        """(statements before the loop, index name, range call, statements opening the body)."""
        it = node.iter
        tgt = node.target
        if is_call_to(it, "reversed") and len(it.args) == 1 and is_call_to(it.args[0], "range"):
            it = node.iter = located(reversed_range_call(it.args[0]), it)
        if is_call_to(it, "range"):
            if not isinstance(tgt, gast.Name):
                raise self.parsed.unsupported(tgt, "unpacking a range index", "use one name")
            if it.keywords or not 1 <= len(it.args) <= 3:
                raise self.parsed.unsupported(it, "range() with these arguments",
                                              "call range(stop), range(start, stop[, step])")
            return [], tgt.id, it, []
        if is_call_to(it, "enumerate") and len(it.args) == 1 and not it.keywords and \
                isinstance(tgt, gast.Tuple) and len(tgt.elts) == 2 and \
                isinstance(tgt.elts[0], gast.Name) and is_call_to(it.args[0], "zip") and \
                isinstance(tgt.elts[1], gast.Tuple) and \
                len(tgt.elts[1].elts) == len(it.args[0].args) and not it.args[0].keywords:
            # for i, (a, b) in enumerate(zip(xs, ys)): the position is the loop index
            return self.zip_header(it.args[0], tgt.elts[1].elts, node, tgt.elts[0].id)
        if is_call_to(it, "enumerate") and 1 <= len(it.args) <= 2 and \
                isinstance(tgt, gast.Tuple) and len(tgt.elts) == 2 and \
                isinstance(tgt.elts[0], gast.Name):
            pre, seq = self.sequence(it.args[0], node)
            start = it.args[1] if len(it.args) > 1 else next(
                (k.value for k in it.keywords if k.arg == "start"), None)
            if start is None:
                index = tgt.elts[0].id
                head = []
            else:  # enumerate(xs, start=k): the count is the position plus k
                index = self.namer.fresh("i_" + tgt.elts[0].id)
                self.locals.add(index)
                head = [located(build.assign(tgt.elts[0].id, gast.BinOp(
                    left=build.name(index), op=gast.Add(), right=start)), node)]
            head += self.assign(tgt.elts[1], item_of(seq, index), node)
            return pre, index, range_len(seq), head
        if is_call_to(it, "zip") and isinstance(tgt, gast.Tuple) and \
                len(tgt.elts) == len(it.args) and not it.keywords:
            return self.zip_header(it, tgt.elts, node, self.namer.fresh("i"))
        if isinstance(it, gast.Call) and not is_call_to(it, "dict_keys") and \
                not self.builds_sequence(it):
            name = build.dotted(it.func) or "this call"
            head, dot, rest = name.partition(".")
            name = self.parsed.renamed.get(head, head) + dot + rest  # the user's spelling
            raise self.parsed.unsupported(it, f"iterating over {name}(...)",
                                          "loop over range(...), an array, enumerate or zip")
        pre, seq = self.sequence(it, node)
        base = tgt.id if isinstance(tgt, gast.Name) else "item"
        index = self.namer.fresh("i_" + base)
        head = self.assign(tgt, item_of(seq, index), node)
        return pre, index, located(range_len(seq), node), head

    def zip_header(self, it, elts, node, index):
        """The header of `for a, b in zip(xs, ys)` with loop index `index`."""
        pre, seqs = [], []
        for arg in it.args:
            p, seq = self.sequence(arg, node)
            pre += p
            seqs.append(seq)
        head = []
        for elt, seq in zip(elts, seqs):
            head += self.assign(elt, item_of(seq, index), node)
        length = build.call("min", [len_of(s) for s in seqs]) if len(seqs) > 1 \
            else len_of(seqs[0])
        rng = gast.Call(func=build.name("range"), args=[length], keywords=[])
        return pre, index, located(rng, node), head

    def builds_sequence(self, call) -> bool:
        """Whether `call` builds a list or array by a global name (sorted, list, np.array...):
        iterated like a variable holding it (named first, so evaluated once)."""
        func = call.func
        dotted = build.dotted(func) if isinstance(func, (gast.Name, gast.Attribute)) else None
        if not dotted or dotted.split(".")[0] in self.locals:
            return False
        target = self.resolve_dotted(func)
        if is_user_function(target):  # a generator: as the list it yields (generators.py)
            return True  # a helper returning a list of layers: its result is indexed
        return any(target is f for f in _SEQUENCE_BUILDERS)

    def sequence(self, expr, node):
        """Name the iterated value so it is evaluated once."""
        if isinstance(expr, gast.Name):
            return [], expr.id
        seq = self.namer.fresh("seq")
        return [located(build.assign(seq, expr), node)], seq

    def loop_exits(self, node, test, body, prologue, step):
        """Lower break/continue in a while-loop body to flags; returns the new statements."""
        has_break = contains(body, gast.Break, stop=(gast.For, gast.While))
        has_continue = contains(body, gast.Continue, stop=(gast.For, gast.While))
        stop_flag = self.namer.fresh("stop_loop") if has_break else None
        skip_flag = self.namer.fresh("skip") if has_continue else None
        if has_break or has_continue:
            body = self.guard_exits(body, stop_flag, skip_flag)
        body = body + step
        if stop_flag:
            prologue = prologue + [located(build.assign(stop_flag, build.const(False)), node)]
            test = gast.BoolOp(op=gast.And(), values=[build.not_(build.name(stop_flag)), test])
        loop = gast.While(test=located(test, node), body=body, orelse=[])
        return prologue + [located(loop, node)]

    def guard_exits(self, stmts, stop_flag, skip_flag) -> list:
        """Replace break/continue by flag writes and guard what follows them."""
        out = []
        if skip_flag is not None and stmts is not None:
            out.append(located(build.assign(skip_flag, build.const(False)), stmts[0])
                       if stmts else None)
            out = [s for s in out if s is not None]
        out += self._guard(stmts, stop_flag, skip_flag)
        return out

    def _guard(self, stmts, stop_flag, skip_flag) -> list:
        out = []
        for idx, stmt in enumerate(stmts):
            if isinstance(stmt, gast.Break):
                out.append(located(build.assign(stop_flag, build.const(True)), stmt))
                return out
            if isinstance(stmt, gast.Continue):
                out.append(located(build.assign(skip_flag, build.const(True)), stmt))
                return out
            exits = contains([stmt], (gast.Break, gast.Continue), stop=(gast.For, gast.While))
            if isinstance(stmt, gast.If) and exits:
                stmt.body = self._guard(stmt.body, stop_flag, skip_flag)
                stmt.orelse = self._guard(stmt.orelse, stop_flag, skip_flag)
                out.append(stmt)
                rest = self._guard(stmts[idx + 1:], stop_flag, skip_flag)
                if rest:
                    flags = [build.name(f) for f in (stop_flag, skip_flag) if f is not None]
                    cond = flags[0] if len(flags) == 1 else gast.BoolOp(op=gast.Or(), values=flags)
                    out.append(located(gast.If(test=build.not_(cond), body=rest, orelse=[]), stmt))
                return out
            out.append(stmt)
        return out
