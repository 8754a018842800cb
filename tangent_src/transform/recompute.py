"""Values of a loop body the backward pass recomputes instead of taping: `Qs_k = Qs[k]`,
`t = k, j`, `first = k == 0`, `j1 = j + 1` (an index, a tuple, a comparison or scalar
arithmetic of names), when every name the expression reads holds, at the top of the
body's backward block, the value it had where the forward pass evaluated it:

    for k in range(K):                         for k in range(K - 1, -1, -1):
        Qs_k = Qs[k]          # no tape            Qs_k = Qs[k]
        y = Qs_k @ x                               ... adjoint of y = Qs_k @ x

A tape append costs more than the expression (a view, under numba a reflected list of
arrays), and an index into an array the loop never writes is the same view again. With
`arrays` (the numba back end), elementwise arithmetic of such operands too
(`xc = x[i] - means[k]`): under numba a tape of small arrays keeps every one alive until
the backward pass, which costs more than computing it again (the same operation on the
same values gives the same value). Matrix products stay taped: recomputing `Qs_k @ xc`
measured no gain over its tape for GMM's 20 x 20, and costs more for larger matrices.

A name read holds that value when (checked from the body outwards, block by block):
- it is the target of an enclosing `for` that its body never assigns (the backward loop
  runs the same indices);
- the body assigns it only before the read (the body's tape restores the value it has at
  the body's end, or a nested loop's kept value: the same one) and never as a copy-back;
- the body assigns it only after the read, and only by copy-backs (the carried tape
  restores the iteration's starting value);
- nothing in the block assigns it and the same holds one block further out; at the
  function's top level, where nothing after the loop assigns it (its final value).
Only arrays are indexed this way: a list or dict may change through an alias (`xs.append`).
"""
from __future__ import annotations

import gast

from ..core.dataflow import assigned
from ..core.tables import COPY_BACK
from ..core.walk import walk

_SCALAR_OPS = (gast.Add, gast.Sub, gast.Mult, gast.FloorDiv, gast.Mod)
# array forms recomputed under `arrays`: elementwise arithmetic, whose cost is that of
# the tape's own memory traffic (a matrix product costs more than the tape: not these)
_ARRAY_OPS = (gast.Add, gast.Sub, gast.Mult, gast.Div)


class Recompute:
    """Which statements of a loop body the backward pass recomputes (one per function)."""

    def __init__(self, body: list, classes: dict, single: set, paths: dict,
                 mutable: frozenset = frozenset(), arrays: bool = False):
        self.classes = classes
        self.arrays = arrays      # elementwise array arithmetic too (numba)
        self.mutable = mutable    # scalars that may be 0-d arrays updated in place
        self.single = single      # names assigned by exactly one statement
        self.paths = paths        # name -> blocks enclosing every statement touching it
        self.parents: dict[int, tuple] = {}   # id(block) -> (owner, parent block, index)
        self._index(body, None, None, -1)
        self.mutated = {n.func.value.id for n in walk(gast.Module(body=body, type_ignores=[]))
                        if isinstance(n, gast.Call) and isinstance(n.func, gast.Attribute)
                        and isinstance(n.func.value, gast.Name)}

    def _index(self, stmts: list, owner, parent, pos: int) -> None:
        self.parents[id(stmts)] = (owner, parent, pos)
        for idx, stmt in enumerate(stmts):
            for field in ("body", "orelse"):
                inner = getattr(stmt, field, None)
                if isinstance(stmt, (gast.If, gast.For, gast.While, gast.With)) and inner:
                    self._index(inner, (stmt, field), stmts, idx)

    def recomputed(self, stmts: list, idx: int) -> bool:
        """Whether the assignment stmts[idx] of a loop body is recomputed, not taped."""
        stmt = stmts[idx]
        owner = self.parents.get(id(stmts), (None,))[0]
        if owner is None or not isinstance(owner[0], (gast.For, gast.While)) or \
                owner[1] != "body" or not isinstance(stmt, gast.Assign) or stmt in COPY_BACK:
            return False
        var = stmt.targets[0].id
        if var not in self.single or self.paths.get(var, ())[-1:] != (id(stmts),):
            return False
        reads = self._cheap_reads(stmt.value, var)
        return reads is not None and var not in reads and all(
            self._stable(n, stmts, idx) for n in reads)

    def _cheap_reads(self, value, var: str):
        """The names a cheap pure expression reads, or None for any other expression."""
        if isinstance(value, gast.Subscript):
            base = value.value
            index = _atoms(value.slice)
            if not isinstance(base, gast.Name) or not _is_array(self.classes.get(base.id)) or \
                    base.id in self.mutated or index is None or not self._scalars(index):
                return None
            return index | {base.id}
        if isinstance(value, gast.Tuple):
            return _atoms(value) if all(isinstance(e, (gast.Name, gast.Constant))
                                        for e in value.elts) else None
        if self.arrays and isinstance(value, gast.BinOp) and \
                isinstance(value.op, _ARRAY_OPS) and _is_array(self.classes.get(var)):
            return self._array_reads(value)
        if isinstance(value, gast.Compare) and len(value.ops) == 1 or \
                isinstance(value, gast.BinOp) and isinstance(value.op, _SCALAR_OPS):
            parts = [value.left] + (value.comparators if isinstance(value, gast.Compare)
                                    else [value.right])
            names = _atoms(gast.Tuple(elts=parts, ctx=gast.Load()))
            if names is None or self.classes.get(var) != () or not self._scalars(names) or \
                    not all(isinstance(p, (gast.Name, gast.Constant)) for p in parts):
                return None
            return names
        return None

    def _array_reads(self, value):
        """The names `a - b`, `a * b`... reads when each operand is a number, a
        name of an array or scalar, or an index into an array the function never changes
        through a method (as for `Qs[k]` alone); else None."""
        out: set = set()
        for part in (value.left, value.right):
            if isinstance(part, gast.Constant) and type(part.value) in (int, float):
                continue
            if isinstance(part, gast.Subscript):
                found = self._cheap_reads(part, "")
            elif isinstance(part, gast.Name) and part.id not in self.mutated and \
                    part.id not in self.mutable and (
                        self.classes.get(part.id) == () or
                        _is_array(self.classes.get(part.id))):
                found = {part.id}
            else:
                return None
            if found is None:
                return None
            out |= found
        return out

    def _scalars(self, names: set) -> bool:
        return all(self.classes.get(n) == () and n not in self.mutable for n in names)

    def _stable(self, name: str, stmts: list, idx: int) -> bool:
        """Whether `name` holds, at the top of the backward block of `stmts` (the loop
        body, after its pops), the value it had just before stmts[idx] ran."""
        while True:
            owner, parent, pos = self.parents[id(stmts)]
            loop = owner[0] if owner and owner[1] == "body" and \
                isinstance(owner[0], (gast.For, gast.While)) else None
            target = loop.target.id if isinstance(loop, gast.For) and \
                isinstance(loop.target, gast.Name) else None
            earlier = [s for s in stmts[:idx] if name in assigned([s])]
            later = [s for s in stmts[idx + 1:] if name in assigned([s])]
            if name == target:
                return not earlier and not later
            if later:   # a carried value: the copy-back at the end is its only assignment
                return loop is not None and not earlier and all(
                    isinstance(s, gast.Assign) and s in COPY_BACK for s in later)
            if earlier:
                if owner is None:
                    return True
                return loop is not None and not any(
                    isinstance(s, gast.Assign) and s in COPY_BACK for s in earlier)
            if owner is None:
                return True
            if isinstance(owner[0], gast.With):
                return False
            stmts, idx = parent, pos


def _is_array(cls) -> bool:
    """An array's shape class (a list, dict or tuple may be mutated through an alias)."""
    return isinstance(cls, tuple) and bool(cls) and all(f in ("N", "1", "?") for f in cls)


def _atoms(node):
    """The names of an index made of names, constants, tuples and slices of them; None
    for anything else."""
    if isinstance(node, gast.Name):
        return {node.id}
    if isinstance(node, gast.Constant):
        return set()
    parts = node.elts if isinstance(node, gast.Tuple) else \
        [node.lower, node.upper, node.step] if isinstance(node, gast.Slice) else None
    if parts is None:
        return None
    out: set = set()
    for part in parts:
        if part is None:
            continue
        found = _atoms(part)
        if found is None or isinstance(part, gast.Slice) and isinstance(node, gast.Slice):
            return None
        out |= found
    return out
