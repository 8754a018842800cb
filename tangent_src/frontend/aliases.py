"""Refuse writes through an alias: `w[i] = v` where `w` may share its array with another name.

The lowering turns an array write into a new version (`w = set_at(w, i, v)`), which is
exactly Python's behaviour when `w` is the only name for its array -- including a parameter:
the derivative is that of the function run on a fresh copy of its arguments. When another
name shares the array (`y = x`, a slice `v = x[:2]`, `x.T`, `np.reshape(x, ...)`), Python's
write changes that name too and the new version would not, so the derivative would be
silently wrong. Such writes are refused with a located error and a hint (copy the array).

A small forward dataflow over the user's statements: the state is the set of pairs of
names that may share an array; `t = s` (or a view of s) pairs t with s and with everything
paired with s, any other assignment to t unpairs it, branches join by union and loop
bodies are run twice (a pair made late in an iteration reaches the next one).
"""
from __future__ import annotations

import gast

VIEW_FUNCTIONS = {"reshape", "ravel", "transpose", "swapaxes", "moveaxis", "squeeze",
                  "expand_dims", "atleast_1d", "atleast_2d", "atleast_3d", "asarray",
                  "broadcast_to", "diagonal", "flip", "fliplr", "flipud", "rot90", "view",
                  "real", "imag"}


def _shared_source(value) -> str | None:
    """The name whose array `value` may share (a name, a slice, `.T`, a view function)."""
    if isinstance(value, gast.Name):
        return value.id
    if isinstance(value, gast.Subscript) and isinstance(value.value, gast.Name):
        parts = value.slice.elts if isinstance(value.slice, gast.Tuple) else [value.slice]
        if any(isinstance(p, gast.Slice) or (isinstance(p, gast.Constant) and
                                             p.value in (None, Ellipsis)) for p in parts):
            return value.value.id
        return None
    if isinstance(value, gast.Attribute) and value.attr in ("T", "mT", "real", "imag") and \
            isinstance(value.value, gast.Name):
        return value.value.id
    if isinstance(value, gast.Call) and isinstance(value.func, gast.Attribute) and \
            value.func.attr in VIEW_FUNCTIONS:
        receiver = value.func.value
        if isinstance(receiver, gast.Name) and receiver.id not in ("np", "numpy"):
            return receiver.id  # x.reshape(...), x.view()
        if value.args and isinstance(value.args[0], gast.Name):
            return value.args[0].id  # np.reshape(x, ...)
    return None


class _Aliases:
    def __init__(self, parsed):
        self.parsed = parsed

    def block(self, stmts, pairs: frozenset) -> frozenset:
        for stmt in stmts:
            pairs = self.stmt(stmt, pairs)
        return pairs

    def stmt(self, stmt, pairs: frozenset) -> frozenset:
        if isinstance(stmt, gast.Assign):
            for target in stmt.targets:
                pairs = self.bind(target, stmt.value, pairs)
            return pairs
        if isinstance(stmt, (gast.AugAssign, gast.AnnAssign)):
            target = stmt.target
            if isinstance(target, gast.Subscript):
                self.check(target, pairs)
                return pairs
            if isinstance(stmt, gast.AnnAssign) and stmt.value is not None:
                return self.bind(target, stmt.value, pairs)
            return pairs  # `s += v` on a name: for arrays an in-place add (left alone)
        if isinstance(stmt, gast.If):
            return self.block(stmt.body, pairs) | self.block(stmt.orelse, pairs)
        if isinstance(stmt, (gast.For, gast.While)):
            for _ in range(2):
                start = pairs
                if isinstance(stmt, gast.For):
                    source = stmt.iter.id if isinstance(stmt.iter, gast.Name) else None
                    start = self.rebind(stmt.target, source, start)  # rows of a 2-D array
                pairs = pairs | self.block(stmt.body, start)
            return pairs | self.block(stmt.orelse, pairs)
        if isinstance(stmt, (gast.With, gast.Try)):
            for part in ("body", "orelse", "finalbody"):
                pairs = pairs | self.block(getattr(stmt, part, []) or [], pairs)
            for handler in getattr(stmt, "handlers", []):
                pairs = pairs | self.block(handler.body, pairs)
            return pairs
        return pairs

    def bind(self, target, value, pairs: frozenset) -> frozenset:
        if isinstance(target, gast.Subscript):
            self.check(target, pairs)
            return pairs
        if isinstance(target, gast.Name):
            return self.rebind(target, _shared_source(value), pairs)
        if isinstance(target, (gast.Tuple, gast.List)):
            values = value.elts if isinstance(value, (gast.Tuple, gast.List)) and \
                len(value.elts) == len(target.elts) else [None] * len(target.elts)
            for elt, val in zip(target.elts, values):
                pairs = self.bind(elt, val, pairs) if val is not None else \
                    self.rebind(elt, None, pairs)
            return pairs
        return pairs

    def rebind(self, target, source: str | None, pairs: frozenset) -> frozenset:
        names = [n.id for n in gast.walk(target) if isinstance(n, gast.Name)]
        if not names:
            return pairs
        pairs = frozenset(p for p in pairs if not set(p) & set(names))
        if source is None or len(names) != 1 or source == names[0]:
            return pairs
        name = names[0]
        partners = {source} | {other for p in pairs if source in p for other in p}
        partners.discard(name)
        return pairs | {frozenset((name, other)) for other in partners}

    def check(self, target, pairs: frozenset) -> None:
        base = target.value
        while isinstance(base, gast.Subscript):
            base = base.value
        if not isinstance(base, gast.Name):
            return
        others = sorted(other for p in pairs if base.id in p for other in p
                        if other != base.id)
        if others:
            raise self.parsed.unsupported(
                target, f"writing into '{base.id}', which may share its array with "
                f"'{others[0]}' (an assignment, a slice or a view made them one array)",
                f"give '{base.id}' and '{others[0]}' separate arrays: copy where one is "
                "made from the other (`b = a.copy()` instead of `b = a`, "
                "`v = np.copy(a[:2])` instead of `v = a[:2]`)")


def check_aliased_writes(parsed, node: gast.FunctionDef) -> None:
    """Raise a located UnsupportedSyntaxError for an array write through an alias."""
    _Aliases(parsed).block(node.body, frozenset())
