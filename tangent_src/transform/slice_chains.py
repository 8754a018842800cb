"""One elementwise chain over adjacent slices of an array, instead of one chain per slice
(a transform-stage pass on the core form: what is elementwise is a fact of NumPy's ufuncs).

Before (an LSTM cell's three sigmoid gates, each its own five NumPy calls):
    g_part = g[0:b]; neg_x = -g_part; e = np.exp(neg_x); t = 1.0 + e; forget = 1.0 / t
    g_part2 = g[b:two_b]; neg_x2 = -g_part2; ...; ingate = 1.0 / t2
After:
    g_part = g[0:two_b]; neg_x = -g_part; e = np.exp(neg_x); t = 1.0 + e
    forget_ingate = 1.0 / t; forget = forget_ingate[0:b]; ingate = forget_ingate[b:]

Its adjoint is then one chain too (the gates' adjoints joined by one concatenate, since
the slices tile the fused value). A chain is a slice `v = x[lo:hi]` (first axis, no step)
followed by statements each applying one elementwise operation to the previous value: a
unary minus or plus, a one-input ufunc (np.exp, np.tanh, ...), or an arithmetic operator
with a number literal. Chains are fused when they have the same operations and literals,
slice the same array, and are adjacent: each starts where the one before ends. Exact for
any array: with bounds provably 0 <= lo_1 <= hi_1 = lo_2 <= ... <= hi_k (linear forms of
shape entries, analysis/shape_sizes.py), `x[lo_1:hi_k][lo_i - lo_1:hi_i - lo_1]` is
`x[lo_i:hi_i]` (both clamp at x's length the same way), and elementwise operations
commute with slicing; the last slice runs to the end of the fused value (its length is at
most hi_k - lo_1). It applies only where nothing can tell the values are now views:

- each intermediate value is bound once and read once, by the next operation;
- each chain's result is only ever read as an operand of arithmetic or of a ufunc call
  (never stored, returned, passed on or written into, so no alias escapes);
- between the first chain and the last, other statements only bind names to call-free
  expressions that read no chain value and rebind neither the array nor a bound;
- an operation on the slice itself is a ufunc or a unary operator, or has a float literal
  (a list's slice would raise there as before; `lst[0:2] * 2` would not).
"""
from __future__ import annotations

from dataclasses import dataclass

import gast
import numpy as np

from ..analysis.shape_sizes import bound_forms, const, int_form, nonneg, sub
from ..core import build
from ..core.walk import clone, walk
from ..errors import TangentError

_BINOPS = (gast.Add, gast.Sub, gast.Mult, gast.Div, gast.Pow)
_UNARY = (gast.USub, gast.UAdd)
_MAX_NAME = 3  # chains whose names join into the fused value's name


@dataclass
class _Chain:
    start: int            # index of the slice statement in its block
    stop: int             # one past the last operation
    base: str
    lower: object         # the slice's bound expressions (None: omitted)
    upper: object
    ops: tuple            # each operation's signature
    result: str


def fuse_slice_chains(body: list, resolve, namer) -> list:
    """`body` (a core function's statements) with adjacent slice chains fused."""
    reads, stores, plain = _uses(body, resolve)
    fuser = _Fuser(bound_forms(body), reads, stores, plain, resolve, namer)
    fuser.block(body)
    return body


def _uses(body, resolve) -> tuple[dict, dict, set]:
    """How often each name is read and bound, and the names read only as an operand of
    arithmetic or of a ufunc call."""
    reads, stores, operand = {}, {}, {}
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Name):
            table = stores if isinstance(node.ctx, gast.Store) else reads
            table[node.id] = table.get(node.id, 0) + 1
        for arg in _operands(node, resolve):
            if isinstance(arg, gast.Name):
                operand[arg.id] = operand.get(arg.id, 0) + 1
    return reads, stores, {n for n, k in operand.items() if reads.get(n) == k}


def _operands(node, resolve) -> list:
    if isinstance(node, gast.BinOp):
        return [node.left, node.right]
    if isinstance(node, gast.UnaryOp) and not isinstance(node.op, gast.Not):
        return [node.operand]
    if isinstance(node, gast.Call) and not node.keywords and _ufunc(node.func, resolve):
        return list(node.args)
    return []


def _ufunc(func, resolve, nin: int | None = None) -> object:
    try:
        value = resolve(func)
        hash(value)
    except (TypeError, TangentError):  # unhashable, or a name resolve cannot bind
        return None
    if isinstance(value, np.ufunc) and value.nout == 1 and (nin is None or value.nin == nin):
        return value
    return None


def _number(node, floats_only: bool) -> bool:
    return isinstance(node, gast.Constant) and type(node.value) in (
        (float,) if floats_only else (float, int))


class _Fuser:
    def __init__(self, forms, reads, stores, plain, resolve, namer):
        self.forms, self.reads, self.stores = forms, reads, stores
        self.plain, self.resolve, self.namer = plain, resolve, namer

    def block(self, stmts: list) -> None:
        for stmt in stmts:
            for field in ("body", "orelse"):
                if isinstance(getattr(stmt, field, None), list):
                    self.block(getattr(stmt, field))
        chains = []
        idx = 0
        while idx < len(stmts):
            chain = self.chain_at(stmts, idx)
            if chain is not None:
                chains.append(chain)
            idx = chain.stop if chain else idx + 1
        for group in reversed(self.groups(stmts, chains)):
            self.fuse(stmts, group)

    def once(self, name: str) -> bool:
        return self.stores.get(name) == 1 and self.reads.get(name) == 1

    def chain_at(self, stmts: list, idx: int) -> _Chain | None:
        stmt = stmts[idx]
        if not (_assigns_name(stmt) and isinstance(stmt.value, gast.Subscript) and
                isinstance(stmt.value.value, gast.Name) and
                isinstance(stmt.value.slice, gast.Slice) and stmt.value.slice.step is None):
            return None
        current, ops, end = stmt.targets[0].id, [], idx + 1
        while end < len(stmts) and self.once(current) and _assigns_name(stmts[end]):
            op = self.operation(stmts[end].value, current, first=not ops)
            if op is None:
                break
            ops.append(op)
            current = stmts[end].targets[0].id
            end += 1
        if not ops or self.stores.get(current) != 1 or current not in self.plain:
            return None
        part = stmt.value.slice
        return _Chain(idx, end, stmt.value.value.id, part.lower, part.upper, tuple(ops),
                      current)

    def operation(self, value, current: str, first: bool):
        """The signature of an elementwise operation on `current`, or None."""
        def is_current(node):
            return isinstance(node, gast.Name) and node.id == current
        if isinstance(value, gast.UnaryOp) and isinstance(value.op, _UNARY) and \
                is_current(value.operand):
            return ("unary", type(value.op))
        if isinstance(value, gast.Call) and not value.keywords and len(value.args) == 1 \
                and is_current(value.args[0]):
            func = _ufunc(value.func, self.resolve, nin=1)
            return None if func is None else ("ufunc", func)
        if isinstance(value, gast.BinOp) and isinstance(value.op, _BINOPS):
            for side, this, other in (("left", value.left, value.right),
                                      ("right", value.right, value.left)):
                if is_current(this) and _number(other, floats_only=first):
                    return ("binop", type(value.op), side, type(other.value), other.value)
        return None

    def groups(self, stmts: list, chains: list) -> list:
        """Runs of at least two fusable chains, in order."""
        out, run = [], []
        for chain in chains:
            if run and self.follows(stmts, run, chain):
                run.append(chain)
                continue
            if len(run) > 1:
                out.append(run)
            run = [chain]
        if len(run) > 1:
            out.append(run)
        return out

    def bound(self, expr, default):
        return default if expr is None else int_form(expr, self.forms)

    def follows(self, stmts: list, run: list, chain: _Chain) -> bool:
        first, last = run[0], run[-1]
        if chain.base != first.base or chain.ops != first.ops:
            return False
        lo_first = self.bound(first.lower, const(0))
        lo, hi_last = self.bound(chain.lower, const(0)), self.bound(last.upper, None)
        if last.upper is None or lo is None or hi_last != lo or not nonneg(lo_first):
            return False
        if len(run) == 1 and not nonneg(sub(hi_last, lo_first)):
            return False
        hi = self.bound(chain.upper, "end")
        if hi is None or (hi != "end" and not nonneg(sub(hi, lo))):
            return False
        # between the chains: call-free bindings of other names that read no chain value
        # (a bound's name has a form, so is bound once: these may bind it, before it is read)
        chained = {n for c in run + [chain] for s in stmts[c.start:c.stop]
                   for n in _targets(s)}
        guarded = chained | {first.base}
        for stmt in stmts[last.stop:chain.start]:
            if not _assigns_name(stmt) or stmt.targets[0].id in guarded or \
                    any(isinstance(n, gast.Call) for n in walk(stmt.value)) or \
                    any(isinstance(n, gast.Name) and n.id in chained
                        for n in walk(stmt.value)):
                return False
        return True

    def fuse(self, stmts: list, group: list) -> None:
        first, last = group[0], group[-1]
        results = [c.result for c in group]
        fused_name = self.namer.fresh("_".join(results) if len(results) <= _MAX_NAME
                                      else f"{results[0]}_to_{results[-1]}")
        head = stmts[first.start]
        new = [build.located(build.assign(head.targets[0].id, gast.Subscript(
            value=build.name(first.base),
            slice=gast.Slice(lower=clone(first.lower) if first.lower is not None else None,
                             upper=clone(last.upper) if last.upper is not None else None,
                             step=None), ctx=gast.Load())), head)]
        for stmt in stmts[first.start + 1:first.stop]:
            new.append(clone(stmt))
        new[-1].targets[0].id = fused_name
        at_zero = self.bound(first.lower, const(0)) == const(0)
        self.bound_names = sorted({n.id for c in group for e in (c.lower, c.upper)
                                   if e is not None for n in walk(e)
                                   if isinstance(n, gast.Name)})
        for k, chain in enumerate(group):
            lower = self.relative(chain.lower, first.lower, at_zero, new, stmts[chain.start])
            upper = None if k == len(group) - 1 else \
                self.relative(chain.upper, first.lower, at_zero, new, stmts[chain.start])
            new.append(build.located(build.assign(chain.result, gast.Subscript(
                value=build.name(fused_name), slice=gast.Slice(lower=lower, upper=upper,
                                                               step=None),
                ctx=gast.Load())), stmts[chain.stop - 1]))
        fused = {i for c in group for i in range(c.start, c.stop)}
        kept = [s for i, s in enumerate(stmts[first.start:last.start]) if
                first.start + i not in fused]
        stmts[first.start:last.stop] = kept + new

    def relative(self, bound, origin, at_zero: bool, new: list, chain_stmt):
        """`bound - origin` as an atom: `bound` itself from zero, else a literal or a name
        of the same form where there is one, else a name bound in `new`."""
        if bound is None or at_zero:
            return None if bound is None else clone(bound)
        form = sub(int_form(bound, self.forms), self.bound(origin, const(0)))
        if form is not None and not form[1]:
            return build.const(form[0])
        named = next((n for n in self.bound_names if self.forms.get(n) == form), None)
        if named is not None:  # (read by a bound of the group: bound before it)
            return build.name(named)
        name = self.namer.fresh("offset")
        new.append(build.located(build.assign(name, gast.BinOp(
            left=clone(bound), op=gast.Sub(), right=clone(origin))), chain_stmt))
        return build.name(name)


def _assigns_name(stmt) -> bool:
    return isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and \
        isinstance(stmt.targets[0], gast.Name)


def _targets(stmt) -> set:
    return {n.id for n in walk(stmt) if isinstance(n, gast.Name) and
            isinstance(n.ctx, gast.Store)}
