"""Lengths of tuples and lists that the source fixes, so that `f(*xs)` passes their items
one by one: a name every assignment of which gives a value of one length, computed from
displays, `list(...)`/`tuple(...)`, constant slices, `+` and `* k` of such values.

A name the statements never assign (a closure cell or global) holding a tuple has that
tuple's length, read when the code is generated (the caller guards it).

Before:  `args = (W, v)` (a *args bound at the call); `args = list(args)`;
         `args[0] = sym(args[0])`; `return fun(*args)`
After:   `args` has length 2 everywhere, so `fun(*args)` is `fun(args[0], args[1])`.

The answer is the largest set of assumptions that confirms itself: each name's every
assignment, its length computed with the other names' assumed lengths, gives the assumed
length (then, by induction along any execution, every value the name holds has it). A
list may also change length in place, so a list is only trusted when nothing can reach
it but reads: no method call, slice write, `del`, augmented assignment, and no use other
than indexing, starring, `list`/`tuple`/`len`, `+`/`*` and copying it to another name
(which is then held to the same rules).
"""
from __future__ import annotations

import gast

from ...core.dataflow import plain_assignments

_READS = (gast.Subscript, gast.Starred, gast.BinOp, gast.Compare, gast.For)


def fixed_lengths(stmts: list, is_sequence_call, free_length=None) -> dict[str, int]:
    """Name -> length for the names of `stmts` whose length is fixed (module docstring).
    `is_sequence_call(call)`: whether `call` is `list(x)`, `tuple(x)` or `len(x)` of the
    builtins (the caller resolves names); `free_length(name)`: the length of a tuple that
    a name `stmts` never assigns holds (a closure cell's, known when the code is
    generated and guarded by the caller), or None."""
    tree = gast.Module(body=list(stmts), type_ignores=[])
    parents = {id(child): node for node in gast.walk(tree)
               for child in gast.iter_child_nodes(node)}
    values, stores = plain_assignments(tree)
    candidates = {n: v for n, v in values.items() if len(v) == stores.get(n, 0)}
    lists = set(candidates) - _tuples(candidates, is_sequence_call)
    unsafe = _unsafe_lists(tree, parents, lists, is_sequence_call)
    candidates = {n: v for n, v in candidates.items() if n not in unsafe}
    given = _free_lengths(tree, stores, free_length) if free_length else {}
    return _confirmed(candidates, is_sequence_call, given)


def _free_lengths(tree, stores: dict, free_length) -> dict[str, int]:
    """The lengths of the tuples that the names `tree` reads but never stores to (free
    names: `args` of `new = list(args)` in a closure) hold."""
    out: dict[str, int] = {}
    for node in gast.walk(tree):
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load) and \
                node.id not in stores and node.id not in out:
            length = free_length(node.id)
            if length is not None:
                out[node.id] = length
    return out


def _tuples(candidates: dict, is_sequence_call) -> set:
    """The names every assignment of which builds a tuple (immutable: its length cannot
    change in place), assuming so of each other until one is refuted."""
    tuples = set(candidates)
    changed = True
    while changed:
        changed = False
        for name in list(tuples):
            if not all(_is_tuple(v, tuples, is_sequence_call) for v in candidates[name]):
                tuples.discard(name)
                changed = True
    return tuples


def _is_tuple(expr, tuples: set, is_sequence_call) -> bool:
    """`expr` builds a tuple: a display, `tuple(...)`, a slice of one, `+` with one."""
    if isinstance(expr, gast.Tuple):
        return True
    if isinstance(expr, gast.Name):
        return expr.id in tuples
    if isinstance(expr, gast.Call) and isinstance(expr.func, gast.Name) and \
            expr.func.id == "tuple":
        return is_sequence_call(expr)
    if isinstance(expr, gast.Subscript) and isinstance(expr.slice, gast.Slice):
        return _is_tuple(expr.value, tuples, is_sequence_call)
    if isinstance(expr, gast.BinOp) and isinstance(expr.op, gast.Add):
        return _is_tuple(expr.left, tuples, is_sequence_call) or \
            _is_tuple(expr.right, tuples, is_sequence_call)
    return False


def _unsafe_lists(tree, parents: dict, lists: set, is_sequence_call) -> set:
    """The list names (and the names copied to or from them) that may change length in
    place: used any way but the reads the module docstring lists."""
    linked: dict = {n: {n} for n in lists}
    unsafe: set = set()
    for node in gast.walk(tree):
        if not (isinstance(node, gast.Name) and node.id in lists):
            continue
        parent = parents.get(id(node))
        if isinstance(node.ctx, gast.Load) and isinstance(parent, gast.Assign) and \
                parent.value is node:
            for target in parent.targets:
                if isinstance(target, gast.Name):
                    linked[node.id].add(target.id)
                    linked.setdefault(target.id, {target.id}).add(node.id)
                else:
                    unsafe.add(node.id)
            continue
        if isinstance(node.ctx, gast.Store) and not isinstance(parent, gast.AugAssign):
            continue  # a rebinding: judged by its value
        if not _read_only(node, parent, parents, is_sequence_call):
            unsafe.add(node.id)
    grown = True
    while grown:  # a copy shares the list: one unsafe name makes all its copies unsafe
        grown = False
        for name in list(unsafe):
            for other in linked.get(name, ()):
                if other not in unsafe:
                    unsafe.add(other)
                    grown = True
    return unsafe


def _read_only(node, parent, parents: dict, is_sequence_call) -> bool:
    """Whether this use of a list name only reads it."""
    if not isinstance(node.ctx, gast.Load):
        return False
    if isinstance(parent, gast.Subscript):
        above = parents.get(id(parent))
        writes = not isinstance(parent.ctx, gast.Load)
        return parent.value is node and not (writes and isinstance(parent.slice, gast.Slice)) \
            and not (writes and isinstance(above, gast.Delete)) and \
            not isinstance(above, gast.AugAssign)
    if isinstance(parent, gast.Call):
        return parent.func is not node and len(parent.args) == 1 and \
            not parent.keywords and is_sequence_call(parent)
    if isinstance(parent, gast.For):
        return parent.iter is node
    return isinstance(parent, _READS)


def _confirmed(candidates: dict, is_sequence_call, given: dict) -> dict[str, int]:
    """The self-confirming lengths: assumed from the values computable so far (and the
    `given` lengths of free names), then every name whose assignments do not all give its
    length dropped, until none is."""
    assumed: dict[str, int] = dict(given)
    changed = True
    while changed:
        changed = False
        for name, vals in candidates.items():
            lengths = {_length(v, assumed, is_sequence_call) for v in vals} - {None}
            if name not in assumed and len(lengths) == 1:
                assumed[name] = lengths.pop()
                changed = True
    changed = True
    while changed:
        changed = False
        for name in [n for n in assumed if n in candidates]:
            if any(_length(v, assumed, is_sequence_call) != assumed[name]
                   for v in candidates[name]):
                del assumed[name]
                changed = True
    return assumed


def _length(expr, known: dict, is_sequence_call) -> int | None:
    """The length of the tuple or list `expr` builds, when `known` fixes it."""
    if isinstance(expr, gast.Name):
        return known.get(expr.id)
    if isinstance(expr, (gast.Tuple, gast.List)):
        total = 0
        for item in expr.elts:
            part = _length(item.value, known, is_sequence_call) \
                if isinstance(item, gast.Starred) else 1
            if part is None:
                return None
            total += part
        return total
    if isinstance(expr, gast.Call) and isinstance(expr.func, gast.Name) and \
            expr.func.id in ("list", "tuple") and len(expr.args) == 1 and \
            not expr.keywords and is_sequence_call(expr):
        return _length(expr.args[0], known, is_sequence_call)
    if isinstance(expr, gast.Subscript) and isinstance(expr.slice, gast.Slice):
        whole = _length(expr.value, known, is_sequence_call)
        bounds = [_constant_int(b) for b in (expr.slice.lower, expr.slice.upper,
                                             expr.slice.step)]
        if whole is None or not all(b is None or type(b) is int for b in bounds) or \
                bounds[2] == 0:
            return None
        return len(range(whole)[slice(*bounds)])
    if isinstance(expr, gast.BinOp) and isinstance(expr.op, gast.Add):
        left = _length(expr.left, known, is_sequence_call)
        right = _length(expr.right, known, is_sequence_call)
        return None if left is None or right is None else left + right
    if isinstance(expr, gast.BinOp) and isinstance(expr.op, gast.Mult):
        for seq, count in ((expr.left, expr.right), (expr.right, expr.left)):
            if isinstance(count, gast.Constant) and type(count.value) is int:
                part = _length(seq, known, is_sequence_call)
                return None if part is None else part * max(count.value, 0)
    return None


def _constant_int(expr):
    """A slice bound: None, an integer literal (also negative), or _NO (not fixed)."""
    if expr is None:
        return None
    if isinstance(expr, gast.UnaryOp) and isinstance(expr.op, gast.USub):
        inner = _constant_int(expr.operand)
        return -inner if type(inner) is int else _NO
    return expr.value if isinstance(expr, gast.Constant) and type(expr.value) is int else _NO


_NO = object()  # a bound the source does not fix
