"""Symbolic sizes, for shape inference (shapes.py): what a dimension's size is in terms of
the arguments' sizes, so that a slice whose bounds are computed from sizes has a known
class.

An LSTM cell reads its gates as `g[0:b]`, `g[b:2 * b]` of `g = concatenate((x, h, x, h))
* w + bias` with `b = h.shape[0]`. Flags alone ("N", "1", "?") call every such slice "?"
(it could have one element, and then it would broadcast), so each gate's adjoint kept an
`unbroadcast`. Here a size is a linear form in symbols, one per dimension of each array
argument (the size it had on entry; a rebound name merges to unknown): `g` has size
2 X + 2 H, `b` is H, `g[0:b]` has size H exactly (0 <= H <= 2 X + 2 H), and since H is
not 1 (h's flag is "N"), the slice's flag is "N".

A form is `(constant, ((symbol, coefficient), ...))`, symbols sorted; None is unknown.
A slice that may be clamped has a size that is the least of several forms (`Least`):
`g[0:3 * b]` of g of size 2 X + 2 H is min(3 H, 2 X + 2 H), of which `[0:b]` has size H
and `[2 * b:]` min(H, 2 X), never 1. Sums and multiples of a `Least` are unknown.
Facts are merged over every binding of a name (like the classes), so they hold wherever
the name is read.
"""
from __future__ import annotations

import gast
import numpy as np

from ..core.walk import walk
from ..errors import TangentError
from ..rules.elementwise import UNARY
from .shape_items import int_const

Form = tuple  # (constant, ((symbol, coefficient), ...))
# the statements ShapeInference.block reads (and what they may contain)
_VISITED = (gast.Assign, gast.Expr, gast.If, gast.For, gast.While, gast.Return, gast.Pass,
            gast.Break, gast.Continue)


def const(n: int) -> Form:
    return (n, ())


class Least(tuple):
    """A size known to be the least of these forms (at least two)."""


def _alternatives(a) -> tuple:
    return tuple(a) if isinstance(a, Least) else (a,)


def _least(forms: list):
    """The size that is the least of `forms` (distinct, in order)."""
    unique = list(dict.fromkeys(forms))
    return unique[0] if len(unique) == 1 else Least(unique)


def _combine(a: Form | None, b: Form | None, sign: int) -> Form | None:
    if a is None or b is None or isinstance(a, Least) or isinstance(b, Least):
        return None
    terms = dict(a[1])
    for sym, k in b[1]:
        terms[sym] = terms.get(sym, 0) + sign * k
    return (a[0] + sign * b[0], tuple(sorted((s, k) for s, k in terms.items() if k)))


def add(a, b):
    return _combine(a, b, 1)


def sub(a, b):
    return _combine(a, b, -1)


def scale(a: Form | None, k: int) -> Form | None:
    if a is None or isinstance(a, Least):
        return None
    return (a[0] * k, tuple((s, c * k) for s, c in a[1] if c * k))


def nonneg(a: Form | None) -> bool:
    """Provably >= 0 (every symbol is a size, so >= 0)."""
    if isinstance(a, Least):
        return all(nonneg(f) for f in a)
    return a is not None and a[0] >= 0 and all(k > 0 for _, k in a[1])


def never_one(a: Form | None, not_one: set) -> bool:
    """Provably not 1: a sum of non-negative multiples of sizes that are not 1 (each term
    is 0 or at least 2), plus a constant other than 1; or the least of such sizes."""
    if isinstance(a, Least):
        return all(never_one(f, not_one) for f in a)
    return nonneg(a) and a[0] != 1 and all(s in not_one for s, _ in a[1])


def _merge(old, new):
    if old == new:
        return old
    if old is None or new is None or len(old) != len(new):
        return None
    return tuple(a if a == b else None for a, b in zip(old, new))


def slice_size(length: Form | None, lower: Form | None, upper: Form | None) -> Form | None:
    """The size of `x[lower:upper]` along a dimension of size `length` (a bound None:
    omitted): with 0 <= lower <= upper and lower <= length proven, min(upper, length) -
    lower, as one form where upper <= length is proven too, else as their `Least`."""
    lo = const(0) if lower is None else lower
    if length is None or not nonneg(lo):
        return None
    lengths = _alternatives(length)
    if not all(nonneg(sub(m, lo)) for m in lengths):
        return None
    if upper is None:
        return _least([sub(m, lo) for m in lengths])
    if not nonneg(sub(upper, lo)):
        return None
    return _least([sub(upper, lo)] + [sub(m, lo) for m in lengths
                                      if not nonneg(sub(m, upper))])


def bound_forms(body: list) -> dict:
    """Linear forms of the names bound once in the function, at its top level, to shape
    entries or integer arithmetic of those (symbols: the names of shape entries)."""
    counts: dict = {}
    for node in walk(gast.Module(body=body, type_ignores=[])):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
            counts[node.id] = counts.get(node.id, 0) + 1
    forms: dict = {}
    shapes: set = set()  # names bound once to `x.shape`
    for stmt in body:
        if not (isinstance(stmt, gast.Assign) and isinstance(stmt.targets[0], gast.Name)
                and counts.get(stmt.targets[0].id) == 1):
            continue
        name, value = stmt.targets[0].id, stmt.value
        if isinstance(value, gast.Attribute) and value.attr == "shape":
            shapes.add(name)
        elif _shape_entry(value, shapes):
            forms[name] = (0, ((name, 1),))
        else:
            form = int_form(value, forms)
            if form is not None:
                forms[name] = form
    return forms


def _shape_entry(value, shapes: set) -> bool:
    if not (isinstance(value, gast.Subscript) and isinstance(value.slice, gast.Constant)
            and type(value.slice.value) is int):
        return False
    base = value.value
    return (isinstance(base, gast.Attribute) and base.attr == "shape") or (
        isinstance(base, gast.Name) and base.id in shapes)


def int_form(expr, forms: dict) -> Form | None:
    """The linear form of an integer expression over `forms` (bound_forms), or None."""
    if isinstance(expr, gast.Constant) and type(expr.value) is int:
        return const(expr.value)
    if isinstance(expr, gast.Name):
        return forms.get(expr.id)
    if isinstance(expr, gast.BinOp):
        left, right = int_form(expr.left, forms), int_form(expr.right, forms)
        if isinstance(expr.op, gast.Add):
            return add(left, right)
        if isinstance(expr.op, gast.Sub):
            return sub(left, right)
        if isinstance(expr.op, gast.Mult) and left is not None and right is not None:
            return scale(right, left[0]) if not left[1] else \
                scale(left, right[0]) if not right[1] else None
    return None


class SizeInference:
    """The size facts of ShapeInference (which supplies `of`, the flag class of an atom)."""

    def start_sizes(self, func: gast.FunctionDef, arg_classes: dict) -> None:
        # names bound where `block` does not look (inside a with block): never known
        self.poisoned = {n.id for top in func.body for stmt in walk(top)
                         if isinstance(stmt, gast.stmt) and
                         not isinstance(stmt, _VISITED) for n in walk(stmt)
                         if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
        self.sizes: dict = {}    # name -> one Form (or None) per dimension
        self.ints: dict = {}     # name -> the Form of the integer it holds
        self.shape_of: dict = {}  # name bound to `x.shape` -> x's dimension forms
        self.tuple_sizes: dict = {}  # tuple display of arrays -> each item's forms
        self.not_one: set = set()
        for p, cls in arg_classes.items():
            if isinstance(cls, tuple) and all(f in ("N", "1", "?") for f in cls):
                self.sizes[p] = tuple(const(1) if f == "1" else (0, (((p, k), 1),))
                                      for k, f in enumerate(cls))
                self.not_one |= {(p, k) for k, f in enumerate(cls) if f == "N"}
            else:
                self.sizes[p] = None

    def size_facts(self) -> tuple:
        return (dict(self.sizes), dict(self.ints), dict(self.shape_of),
                dict(self.tuple_sizes))

    def note_forms(self, name: str, value) -> None:
        """What `name = value` says of the sizes of name's dimensions, or of its value."""
        for table, new in ((self.sizes, self.dims(value)), (self.ints, self.int_of(value)),
                           (self.shape_of, self._shape_value(value)),
                           (self.tuple_sizes, self._tuple_value(value))):
            if name in self.poisoned:
                new = None
            if name in table:
                table[name] = _merge(table[name], new) if table is not self.ints else (
                    table[name] if table[name] == new else None)
            else:
                table[name] = new

    def unknown(self, name: str) -> None:
        """A name bound by something else (a loop target)."""
        for table in (self.sizes, self.ints, self.shape_of, self.tuple_sizes):
            table[name] = None

    def _shape_value(self, value):
        if isinstance(value, gast.Attribute) and value.attr == "shape" and \
                isinstance(value.value, gast.Name):
            return self.sizes.get(value.value.id)
        return None

    def _tuple_value(self, value):
        if isinstance(value, gast.Tuple):
            return tuple(self.dims(e) for e in value.elts)
        return None

    def int_of(self, expr) -> Form | None:
        """The form of an integer expression: a literal, a name holding one, an entry of a
        shape, or sums, differences and literal multiples of those."""
        k = int_const(expr)
        if k is not None:
            return const(k)
        if isinstance(expr, gast.Name):
            return self.ints.get(expr.id)
        if isinstance(expr, gast.Subscript):
            k = int_const(expr.slice)
            base = expr.value
            dims = self.shape_of.get(base.id) if isinstance(base, gast.Name) else \
                self._shape_value(base)
            if k is None or dims is None or not -len(dims) <= k < len(dims):
                return None
            return dims[k]
        if isinstance(expr, gast.BinOp):
            left, right = self.int_of(expr.left), self.int_of(expr.right)
            if isinstance(expr.op, gast.Add):
                return add(left, right)
            if isinstance(expr.op, gast.Sub):
                return sub(left, right)
            if isinstance(expr.op, gast.Mult) and left is not None and right is not None:
                if not left[1]:
                    return scale(right, left[0])
                if not right[1]:
                    return scale(left, right[0])
        return None

    def dims(self, expr):
        """The forms of the dimensions of an array expression, or None."""
        if isinstance(expr, gast.Name):
            return self.sizes.get(expr.id)
        if isinstance(expr, gast.BinOp) and not isinstance(expr.op, gast.MatMult):
            return self._broadcast([expr.left, expr.right])
        if isinstance(expr, gast.UnaryOp) and not isinstance(expr.op, gast.Not):
            return self.dims(expr.operand)
        if isinstance(expr, gast.Subscript):
            return self._subscript(expr)
        if isinstance(expr, gast.Call):
            return self._call(expr)
        return None

    def _broadcast(self, atoms):
        classes = [self.of(a) for a in atoms]
        if any(c is None for c in classes):
            return None
        forms = [self.dims(a) or (None,) * len(c) for a, c in zip(atoms, classes)]
        ndim = max(len(c) for c in classes)
        out = []
        for i in range(-ndim, 0):
            have = [(c[i], f[i]) for c, f in zip(classes, forms) if len(c) >= -i]
            if all(flag == "1" for flag, _ in have):
                out.append(const(1))
                continue
            # sizes other than 1 must be equal (NumPy refuses the rest): any one of them
            known = [form for flag, form in have if flag == "N" and form is not None]
            out.append(known[0] if known else None)
        return tuple(out)

    def _subscript(self, expr):
        base = self.dims(expr.value) if isinstance(expr.value, gast.Name) else None
        if isinstance(expr.value, gast.Name) and int_const(expr.slice) is not None:
            items = self.tuple_sizes.get(expr.value.id)
            if items is not None:
                k = int_const(expr.slice)
                return items[k] if -len(items) <= k < len(items) else None
        if not base:
            return None
        part = expr.slice
        if isinstance(part, gast.Slice):
            return (self.slice_form(base[0], part),) + base[1:]
        if self.of(part) == () and self.int_of(part) is not None:
            return base[1:]  # one integer index: the first dimension goes
        return None

    def slice_form(self, length, part) -> Form | None:
        if part.step is not None:
            return None
        lower = None if part.lower is None else self.int_of(part.lower)
        upper = None if part.upper is None else self.int_of(part.upper)
        if (part.lower is not None and lower is None) or \
                (part.upper is not None and upper is None):
            return None
        return slice_size(length, lower, upper)

    def slice_flag(self, base_name, dim: int, part) -> str:
        """The flag of a slice's dimension: "N" where its size is provably not 1."""
        dims = self.sizes.get(base_name)
        if dims is None or dim >= len(dims):
            return "?"
        form = self.slice_form(dims[dim], part)
        return "N" if never_one(form, self.not_one) else "?"

    def _call(self, expr):
        root = expr.func
        while isinstance(root, gast.Attribute):
            root = root.value
        if isinstance(root, gast.Name) and root.id in self.classes:
            return None  # a method of a local value (a tape's pop): nothing to resolve
        try:
            func = self.resolve(expr.func)
            hash(func)
        except (TypeError, TangentError):  # unhashable, or a name resolve cannot bind
            return None
        if func in UNARY and len(expr.args) == 1 and not expr.keywords:
            return self.dims(expr.args[0])
        if func is np.concatenate and len(expr.args) == 1 and not expr.keywords:
            seq = expr.args[0]
            parts = self.tuple_sizes.get(seq.id) if isinstance(seq, gast.Name) else \
                self._tuple_value(seq)
            if not parts or any(p is None or len(p) != len(parts[0]) or not p
                                for p in parts):
                return None
            first = parts[0][0]
            for p in parts[1:]:
                first = add(first, p[0])
            return (first,) + parts[0][1:]
        return None
