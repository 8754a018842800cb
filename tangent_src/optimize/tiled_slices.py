"""An adjoint built from zeros by adding into slices that tile one axis, as one join.

Before:                                        After:
    dg = np.zeros_like(g)                          dg = np.concatenate((df, di, dc))
    dg = add_at(dg, slice(two_b, None), dc)
    dg = add_at(dg, slice(b, two_b), di)
    dg = add_at(dg, slice(0, b), df)

(the gates of an LSTM cell read as `g[0:b]`, `g[b:2 * b]`, `g[2 * b:]`; the slices may be
of any axis, `(slice(None, None), slice(0, n))`, and then the join is along it). One scan
finds `d = np.zeros_like(x)` followed by at least two `d = add_at(d, slices, v)` into one
slice each of one axis, with nothing else reading `d` in between; `_Joins.decide` picks the join:

- `np.concatenate((...), axis=k)` (every back end) when the tiling is proven: the slices,
  in order of their bounds, start at 0, each begins where the previous one ends, the last
  runs to the end, and no bound is below the one before. Then the clamped slices of any
  array partition the axis, and each value has its slice's shape (an adjoint has its
  value's shape), so the sum into zeros is the concatenation. Bounds are compared as
  linear forms (analysis/shape_sizes.py) of names bound once, at the top of the function,
  to an entry of a shape (`b = h.shape[0]`) or to integer arithmetic of those.
- runtime `join_slices(x, k, ((0, 7), (7, 9)), ...)` (the Python back end: numba has no
  implementation of it) when the bounds are constants from 0 with no gap but whether they
  reach the end is not known here: it is one np.concatenate when they cover the axis and
  each value is an array of its slice's shape and dtype (0 + v is v), and the zeros and
  sums themselves otherwise.

In the fixed point (`tiled_slices`) only proven tilings are joined, and only when every
value still means the same at the last add (it is moved there). After it (`join_slices`)
each value but the last is held in a name of its own where it was added (`dg_7_9 = dc`),
and nothing before the join may add into an array a held value reads.
"""
from __future__ import annotations

import gast

from ..analysis.shape_sizes import bound_forms, const, int_form, nonneg, sub
from ..core import build
from ..core.walk import all_nodes
from .facts import COMPOUND, has_effect, names_read, names_written

_END = "end"


def tiled_slices(body: list, inplace: set, protected: set) -> bool:
    """The fixed-point pass: proven tilings as np.concatenate; whether anything changed."""
    return _Joins(body, hold=False).block(body)


def join_slices(body: list) -> bool:
    """After the fixed point, Python back end only: also constant slices whose coverage
    the runtime checks (runtime join_slices); whether anything changed."""
    return _Joins(body, hold=True).block(body)


def _is_none(node) -> bool:
    return isinstance(node, gast.Constant) and node.value is None


def _is_call(node, func: str) -> bool:
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
        node.func.id == func and not node.keywords


class _Joins:
    """`hold`: values held where they were added, and runtime joins allowed (after the
    fixed point); else values moved to the last add, proven tilings only."""

    def __init__(self, body: list, hold: bool):
        self.forms, self.hold = bound_forms(body), hold
        # every name of the function, so that a held value's name is fresh in all of it
        self.used = {n.id for s in body for n in all_nodes(s) if isinstance(n, gast.Name)}

    def block(self, stmts: list) -> bool:
        changed = False
        for stmt in stmts:
            if isinstance(stmt, COMPOUND):
                changed |= self.block(stmt.body) | self.block(stmt.orelse)
        idx = 0
        while idx < len(stmts):
            if self.join_at(stmts, idx):  # its zeros are gone: look at what is there now
                changed = True
            else:
                idx += 1
        return changed

    def join_at(self, stmts: list, idx: int) -> bool:
        """At `d = np.zeros_like(x)`: collect the slice adds into d that follow, and join
        them if `decide` can."""
        found = _zeros_like(stmts[idx])
        if found is None or has_effect(found[0]) or (found[1] and not self.hold):
            return False
        like, runtime = found
        name = stmts[idx].targets[0].id
        pieces = []  # (position, axis, lower, upper, value)
        for pos in range(idx + 1, len(stmts)):
            if name not in names_read(stmts[pos]) | names_written(stmts[pos]):
                continue
            piece = self.slice_add(stmts[pos], name)
            if piece is None:
                break
            pieces.append((pos, *piece))
        joined = self.decide(stmts, idx, like, pieces, runtime)
        if joined is None:
            return False
        held = self.held_names(name, pieces) if self.hold else {}
        values = [build.name(held[p[0]]) if p[0] in held else p[4] for p in pieces]
        stmts[pieces[-1][0]] = build.assign(name, joined(values))
        for pos, *_, value in reversed(pieces[:-1]):
            if pos in held:
                stmts[pos] = build.assign(held[pos], value)
            else:
                del stmts[pos]
        del stmts[idx]
        return True

    def decide(self, stmts: list, idx: int, like, pieces: list, runtime: bool = False):
        """The one place that decides: a function of the values (in the order of
        `pieces`) giving the join, or None when there is none to make. `runtime`: d
        starts as runtime zeros_like(x), which may be a list or tuple: only the runtime
        join, which checks that x is an array, told that the zeros are float64."""
        if len(pieces) < 2 or len({p[1] for p in pieces}) != 1:
            return None
        axis, last = pieces[0][1], pieces[-1][0]
        if self.hold:
            if not self.holdable(stmts, pieces):
                return None
        elif not all(self.movable(stmts[p[0] + 1:last], p[4]) for p in pieces[:-1]):
            return None
        order = None if runtime else _tiling([(p[2], p[3]) for p in pieces])
        if order is not None:
            return lambda values: _concatenate([values[k] for k in order], axis)
        bounds = _constant_bounds(pieces)
        if not self.hold or bounds is None or not isinstance(like, gast.Name) or \
                like.id in set().union(*(names_written(s) for s in stmts[idx + 1:last + 1])):
            return None
        order = sorted(range(len(pieces)), key=lambda k: bounds[k])
        spans = gast.Tuple(elts=[gast.Tuple(elts=[build.const(b) for b in bounds[k]],
                                            ctx=gast.Load()) for k in order],
                           ctx=gast.Load())
        flag = [gast.keyword(arg="float_zeros", value=build.const(True))] if runtime else []

        def join(values):
            call = build.call("join_slices", [build.name(like.id), build.const(axis), spans,
                                              *(values[k] for k in order)])
            call.keywords = flag
            return call
        return join

    @staticmethod
    def movable(between: list, value) -> bool:
        """Whether `value` means the same after `between` (nothing there rebinds what it
        reads) and may be evaluated there instead."""
        return not has_effect(value) and \
            not names_read(value) & set().union(*(names_written(s) for s in between))

    @staticmethod
    def holdable(stmts: list, pieces: list) -> bool:
        """Whether each value but the last may be held where it was added: nothing before
        the join changes its array in place."""
        last = pieces[-1][0]
        for pos, *_, value in pieces[:-1]:
            added = set().union(*(_added_to(s) for s in stmts[pos + 1:last + 1]))
            if has_effect(value) or names_read(value) & added:
                return False
        return True

    def held_names(self, name: str, pieces: list) -> dict:
        """position -> a fresh name for its value until the join (`dg_7_9`), for each
        piece but the last."""
        used, held = self.used, {}
        for pos, _, lower, upper, _ in pieces[:-1]:
            base = held[pos] = f"{name}_{_label(lower)}_{_label(upper)}"
            k = 2
            while held[pos] in used:
                held[pos], k = f"{base}_{k}", k + 1
            used.add(held[pos])
        return held

    def slice_add(self, stmt, name: str):
        """(axis, lower, upper, value) of `name = add_at(name, slices, value)` whose slices
        are whole but for the last, `slice(lower, upper)` (upper _END for None; bounds as
        forms), else None."""
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and stmt.targets[0].id == name and _is_call(stmt.value, "add_at") and
                len(stmt.value.args) == 3):
            return None
        acc, index, value = stmt.value.args
        if not (isinstance(acc, gast.Name) and acc.id == name) or name in names_read(value) \
                or any(isinstance(n, gast.Starred) for n in all_nodes(value)):
            return None
        parts = index.elts if isinstance(index, gast.Tuple) else [index]
        bounds = [self.bounds(p) for p in parts]
        if not bounds or None in bounds or any(b != (const(0), _END) for b in bounds[:-1]):
            return None
        return (len(parts) - 1, *bounds[-1], value)

    def bounds(self, node):
        """(lower, upper) forms of `slice(lower, upper)`, else None."""
        if not (_is_call(node, "slice") and len(node.args) in (2, 3)) or \
                (len(node.args) == 3 and not _is_none(node.args[2])):
            return None
        lower, upper = node.args[0], node.args[1]
        lo = const(0) if _is_none(lower) else int_form(lower, self.forms)
        hi = _END if _is_none(upper) else int_form(upper, self.forms)
        return None if lo is None or hi is None else (lo, hi)


def _tiling(spans: list):
    """The order (indices into `spans`) in which the (lower, upper) spans tile [0, end),
    or None."""
    order, at, left = [], const(0), list(range(len(spans)))
    while left:
        nxt = [k for k in left if spans[k][0] == at]
        if len(nxt) != 1:
            return None
        k = nxt[0]
        hi = spans[k][1]
        if hi != _END and not nonneg(sub(hi, at)):
            return None
        order.append(k)
        left.remove(k)
        if hi == _END:
            return order if not left else None
        at = hi
    return None


def _constant_bounds(pieces: list):
    """The (start, stop) constants of each piece when, in order, they run from 0 with no
    gap and each is not empty, else None."""
    spans = [(p[2], p[3]) for p in pieces]
    if any(hi == _END or lo[1] or hi[1] for lo, hi in spans):
        return None
    bounds = [(lo[0], hi[0]) for lo, hi in spans]
    ordered = sorted(bounds)
    if ordered[0][0] != 0 or any(a >= b for a, b in ordered) or \
            any(a[1] != b[0] for a, b in zip(ordered, ordered[1:])):
        return None
    return bounds


def _concatenate(values: list, axis: int) -> gast.Call:
    """`np.concatenate((values...))`, with `axis=k` unless k is 0."""
    call = build.attr_call("np", "concatenate", [gast.Tuple(elts=values, ctx=gast.Load())])
    if axis:
        call.keywords = [gast.keyword(arg="axis", value=build.const(axis))]
    return call


def _label(form) -> str:
    """A bound in a name: `3`, `end`, `n` (a size), else `k`."""
    if form == _END or not form[1]:
        return str(form if form == _END else form[0])
    return form[1][0][0] if form[0] == 0 and form[1] == ((form[1][0][0], 1),) else "k"


def _added_to(stmt) -> set:
    """The names whose arrays `stmt` changes in place (add_at's first argument)."""
    return {n.args[0].id for n in all_nodes(stmt) if isinstance(n, gast.Call) and
            isinstance(n.func, gast.Name) and n.func.id == "add_at" and n.args and
            isinstance(n.args[0], gast.Name)}


def _zeros_like(stmt):
    """(x, whether runtime) of `d = np.zeros_like(x)` / `d = zeros_like(x)` (the runtime's:
    float64 zeros whatever x's dtype, or a container of them), else None."""
    if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)):
        return None
    value = stmt.value
    if isinstance(value, gast.Call) and len(value.args) == 1 and not value.keywords:
        func = build.dotted(value.func)
        if func in ("np.zeros_like", "zeros_like"):
            return value.args[0], func == "zeros_like"
    return None
