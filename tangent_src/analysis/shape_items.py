"""Shape classes of the items of tuples and lists, for shape inference (shapes.py).

A function that returns `(h, c)`, or a loop that appends rows to a list and stacks it,
would otherwise hide every shape behind it: `h = h_c[0]` and `np.stack(rows)` were
unknown, and so was everything computed from them, down to the arguments of the
functions called next (their adjoints then kept every `unbroadcast`). Here:

- a name bound only to tuple displays (or to the results of user functions that return
  one) has one class per item; `h_c[0]` reads the item's class;
- a list bound to `[]` and changed only by `.append(v)` has the merged class of what is
  appended; `np.stack(rows)` has an unknown first axis followed by that class; a list
  display never changed (`np.stack([h, c])`) has the items of a tuple;
- np.concatenate / np.stack of a tuple display of arrays of one rank has a class (NumPy
  requires equal sizes off the joined axis).

Scalar items are not reported (an item may be a 0-d array that `z += 1` would update in
place; shapes.mutable_scalars follows names, not items).
"""
from __future__ import annotations

import gast
import numpy as np

from ..core.walk import walk


def merge(old, new):
    """The class of a name bound to values of classes `old` and `new` (ShapeInference.set)."""
    if old == new:
        return old
    if old is None or new is None or len(old) != len(new):
        return None
    return tuple(a if a == b else "?" for a, b in zip(old, new))


def merge_items(old, new):
    """Item classes of a tuple name bound twice: None (unknown) unless lengths agree."""
    if old is None or new is None or len(old) != len(new):
        return None
    return tuple(merge(a, b) for a, b in zip(old, new))


def item_class(cls):
    """The class reported for a tuple or list item (scalars and containers: unknown)."""
    return cls if isinstance(cls, tuple) and cls and all(f in ("N", "1", "?") for f in cls) \
        else None


def list_facts(func: gast.FunctionDef) -> tuple[set, set]:
    """(appended, fixed): names always bound to `[]` whose only uses are `.append(v)`,
    `name[k]` reads and being joined by np.stack / np.concatenate (the classes of their
    items are those of what is appended: the list is never passed on, so nothing else
    adds to it); and names always bound to list displays used only by such reads and joins
    (never changed: their items are the display's, like a tuple's)."""
    displays: dict = {}  # name -> whether every binding is a list display (and "empty")
    for node in walk(func):
        if isinstance(node, gast.Assign):
            for target in walk(node.targets[0]):
                if isinstance(target, gast.Name) and isinstance(target.ctx, gast.Store):
                    is_list = isinstance(node.value, gast.List) and \
                        isinstance(node.targets[0], gast.Name)
                    empty = is_list and not node.value.elts
                    was = displays.get(target.id, (True, True))
                    displays[target.id] = (was[0] and is_list, was[1] and empty)
        elif isinstance(node, (gast.For, gast.AugAssign, gast.AnnAssign)):
            for target in walk(node.target):
                if isinstance(target, gast.Name):
                    displays[target.id] = (False, False)
    reads, appends = set(), set()  # ids of the Name nodes used in an allowed way
    for node in walk(func):
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
                node.func.attr == "append" and isinstance(node.func.value, gast.Name):
            appends.add(id(node.func.value))
        elif isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) and \
                isinstance(node.ctx, gast.Load):
            reads.add(id(node.value))
        elif _joins(node):
            reads.add(id(node.args[0]))
        elif isinstance(node, gast.Assign) and isinstance(node.targets[0], gast.Name):
            reads.add(id(node.targets[0]))
    appended = {name for name, (_, empty) in displays.items() if empty}
    fixed = {name for name, (is_list, _) in displays.items() if is_list}
    for node in walk(func):
        if isinstance(node, gast.Name):
            if id(node) not in reads | appends:
                appended.discard(node.id)
            if id(node) not in reads:
                fixed.discard(node.id)
    return appended, fixed - appended


def _joins(node) -> bool:
    """A call `np.stack(x)` / `np.concatenate(x)` of one positional argument (a guess
    by name; the caller checks the resolved function)."""
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute) and \
        node.func.attr in ("stack", "concatenate") and len(node.args) == 1 and \
        isinstance(node.args[0], gast.Name)


def joined_class(stack: bool, parts, count_known: bool, axis):
    """The class of np.stack (`stack`) or np.concatenate of arrays of classes `parts`
    along the literal int `axis` (None: unknown). `count_known`: len(parts) is the number
    of arrays joined (a tuple display); otherwise parts is the merged class of a list's
    items, of unknown number."""
    if not parts or any(c is None for c in parts) or len({len(c) for c in parts}) != 1 \
            or axis is None:
        return None
    ndim = len(parts[0])
    merged = ["N" if "N" in flags else "1" if "1" in flags else "?"
              for flags in (set(dims) for dims in zip(*parts))]
    if stack:
        if not -ndim - 1 <= axis <= ndim:
            return None
        axis %= ndim + 1
        count = ("N" if len(parts) > 1 else "1") if count_known else "?"
        return tuple(merged[:axis]) + (count,) + tuple(merged[axis:])
    if not ndim or not -ndim <= axis < ndim:
        return None
    axis %= ndim
    sizes = [c[axis] for c in parts]
    # sizes add up: two items, or one of size > 1, make the axis longer than 1; an
    # unknown size may be 0
    grown = count_known and ("N" in sizes or sizes.count("1") > 1)
    merged[axis] = "N" if grown else "?"
    return tuple(merged)


def int_const(node):
    """The value of a literal int (or its negation), else None."""
    if isinstance(node, gast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        inner = int_const(node.operand)
        return None if inner is None else -inner
    return None


class ItemInference:
    """The item facts of ShapeInference (which supplies of, resolve, call_items, items,
    lists, fixed and list_items)."""

    def set_items(self, name: str, value) -> None:
        """What `name = value` says of the items of name's tuple (None: not a tuple)."""
        new = None
        if isinstance(value, gast.Tuple) or (isinstance(value, gast.List) and
                                             name in self.fixed):
            new = tuple(item_class(self.of(e)) for e in value.elts)
        elif isinstance(value, gast.Call) and not value.keywords and not (
                isinstance(value.func, gast.Attribute) and
                value.func.attr in ("pop", "append")):  # a tape's item: not resolved
            try:
                new = self.call_items(self.resolve(value.func),
                                      tuple(self.of(a) for a in value.args))
            except TypeError:  # an unhashable callee: nothing known
                new = None
        self.items[name] = merge_items(self.items[name], new) if name in self.items else new

    def appended(self, stmt) -> None:
        """`rows.append(v)` of a list only appended to: v's class joins its items'."""
        call = stmt.value
        if isinstance(call, gast.Call) and isinstance(call.func, gast.Attribute) and \
                call.func.attr == "append" and isinstance(call.func.value, gast.Name) and \
                call.func.value.id in self.lists and len(call.args) == 1:
            name, new = call.func.value.id, item_class(self.of(call.args[0]))
            self.list_items[name] = merge(self.list_items[name], new) if \
                name in self.list_items else new

    def item(self, expr):
        """The class of `t[k]` for a tuple `t` of known items or a list only appended to
        (a literal int k), else None."""
        k = int_const(expr.slice)
        if not isinstance(expr.value, gast.Name) or k is None:
            return None
        name = expr.value.id
        items = self.items.get(name)
        if items is not None and -len(items) <= k < len(items):
            return items[k]
        return self.list_items.get(name) if name in self.lists else None

    def joined(self, func, expr, keywords):
        """np.stack / np.concatenate of a tuple display or of a list only appended to."""
        seq = expr.args[0]
        axis = keywords.get("axis")
        axis = 0 if axis is None else int_const(axis)
        if isinstance(seq, gast.Tuple):
            parts, known = [self.of(e) for e in seq.elts], True
        elif isinstance(seq, gast.Name) and self.items.get(seq.id) is not None:
            parts, known = list(self.items[seq.id]), True
        elif isinstance(seq, gast.Name) and seq.id in self.lists:
            parts, known = [self.list_items.get(seq.id)], False
        else:
            return None
        return joined_class(func is np.stack, parts, known, axis)
