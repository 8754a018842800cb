"""Elementwise runs of generated code as one loop under numba (the numba back end only).

numba fuses the operators of one expression into one loop (its array-expression rewrite),
but not a chain of statements: each named array is allocated and filled by its own loop,
and `unbroadcast` and the `np.exp`/`np.tanh` stubs (numba_ufuncs.py) are calls that break
even one expression's fusion. On small vectors (the LSTM's 14-entry gates, 2,046 cells)
those allocations and loops cost more than the arithmetic.

This pass moves a run of two or more consecutive assignments whose values are elementwise
arithmetic (`+ - * /`, unary minus, `np.exp/log/tanh/sin/cos`, `unbroadcast(g, like)`) of
names and numbers into a function of its own (a kernel), called in its place:

    doutgate, dingate = lstm_cell_bwd_elementwise(dhidden2, tanh_cell2, ...)

The kernel's body is the run itself, so called on the arrays it computes exactly what the
run did. numba compiles the call (numba_elementwise.py) as one loop calling the kernel on
the scalars of each entry, writing the results into one array each, only when every
argument is a 1-D float64 array of one length (then no operation broadcasts, every
intermediate has that shape, and entry i of each result is the same scalar operations on
entry i of the operands, in the same order: the same bits); anything else calls it on
the arrays. Only names read outside the run are returned.

A kernel that numba never runs as a loop only costs a compile (BA's helpers, whose arrays
are (p, 3) and (p, 1), paid 30 s of numba compiles for nothing), so a run becomes one only
where the shape classes prove every argument a 1-D array (_vectors): each name the core
had (or its derivative: x's class) of one dimension, and the generated code's
temporaries bound only to elementwise arithmetic of such names and scalars. Elsewhere
the run stays as it was.
"""
from __future__ import annotations

import gast

from ..analysis.shapes import broadcast
from ..core.dataflow import plain_assignments
from ..core.markers import is_marker

# np.<name> calls whose scalar form under numba is, entry by entry, the array form
UFUNCS = frozenset({"exp", "log", "tanh", "sin", "cos"})
OPERATORS = (gast.Add, gast.Sub, gast.Mult, gast.Div)
MIN_RUN = 2  # statements: one is already one numba expression


def _elementwise_expr(node) -> bool:
    """Whether `node` is elementwise arithmetic of names and numbers."""
    if isinstance(node, gast.Name):
        return True
    if isinstance(node, gast.Constant):
        return type(node.value) in (int, float)
    if isinstance(node, gast.BinOp):
        return isinstance(node.op, OPERATORS) and _elementwise_expr(node.left) and \
            _elementwise_expr(node.right)
    if isinstance(node, gast.UnaryOp):
        return isinstance(node.op, (gast.USub, gast.UAdd)) and _elementwise_expr(node.operand)
    if isinstance(node, gast.Call) and not node.keywords:
        func = node.func
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and \
                func.value.id == "np" and func.attr in UFUNCS and len(node.args) == 1:
            return _elementwise_expr(node.args[0])
        if isinstance(func, gast.Name) and func.id == "unbroadcast" and len(node.args) == 2:
            return isinstance(node.args[1], gast.Name) and _elementwise_expr(node.args[0])
    return False


def _fusable(stmt, ints: set) -> bool:
    return isinstance(stmt, gast.Assign) and len(stmt.targets) == 1 and \
        isinstance(stmt.targets[0], gast.Name) and _elementwise_expr(stmt.value) and \
        not isinstance(stmt.value, (gast.Name, gast.Constant)) and \
        any(name not in ints for name in _operands(stmt.value))


def _operands(node) -> list[str]:
    """The names `node` reads as values (not `np` of `np.exp`, nor a called function)."""
    if isinstance(node, gast.Name):
        return [node.id]
    if isinstance(node, gast.Call):
        return [n for arg in node.args for n in _operands(arg)]
    return [n for child in gast.iter_child_nodes(node) for n in _operands(child)]


def _integers(func: gast.FunctionDef) -> set:
    """Names that hold integers (shapes, lengths, range loop counters and their
    arithmetic): a run of index arithmetic is left alone."""
    shapes, ints = set(), set()

    def integer(node) -> bool:
        if isinstance(node, gast.Constant):
            return type(node.value) is int
        if isinstance(node, gast.Name):
            return node.id in ints
        if isinstance(node, gast.BinOp):
            return integer(node.left) and integer(node.right)
        if isinstance(node, gast.Subscript):
            return isinstance(node.value, gast.Name) and node.value.id in shapes or \
                isinstance(node.value, gast.Attribute) and node.value.attr == "shape"
        if isinstance(node, gast.Attribute):
            return node.attr in ("ndim", "size")
        return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
            node.func.id == "len"
    changed = True
    while changed:
        changed = False
        for node in gast.walk(func):
            new = set()
            if isinstance(node, gast.For) and isinstance(node.target, gast.Name) and \
                    isinstance(node.iter, gast.Call) and \
                    isinstance(node.iter.func, gast.Name) and node.iter.func.id == "range":
                new.add(node.target.id)
            elif isinstance(node, gast.Assign) and len(node.targets) == 1 and \
                    isinstance(node.targets[0], gast.Name):
                if isinstance(node.value, gast.Attribute) and node.value.attr == "shape":
                    if node.targets[0].id not in shapes:
                        shapes.add(node.targets[0].id)
                        changed = True
                elif integer(node.value):
                    new.add(node.targets[0].id)
            if new - ints:
                ints |= new
                changed = True
    return ints


def _value_class(node, known: dict):
    """The shape class of elementwise `node` given the classes `known` of names (None:
    unknown)."""
    if isinstance(node, gast.Name):
        return known.get(node.id)
    if isinstance(node, gast.Constant):
        return () if type(node.value) in (int, float) else None
    if isinstance(node, gast.BinOp):
        return broadcast(_value_class(node.left, known), _value_class(node.right, known))
    if isinstance(node, gast.UnaryOp):
        return _value_class(node.operand, known)
    if isinstance(node, gast.Call) and isinstance(node.func, gast.Name):  # unbroadcast
        return known.get(node.args[1].id)
    return _value_class(node.args[0], known) if isinstance(node, gast.Call) else None


def _array_class(cls) -> bool:
    return cls == () or isinstance(cls, tuple) and all(f in ("N", "1", "?") for f in cls)


def _vectors(func: gast.FunctionDef, classes: dict) -> set:
    """Names of `func` that hold a 1-D array wherever they are bound: of a class of one
    dimension in `classes`, or temporaries (names `classes` lacks) bound only by
    assignments of elementwise arithmetic of such names and scalars."""
    known = {n: c for n, c in classes.items() if _array_class(c)}
    values, stores = plain_assignments(func)
    temporaries = {n: v for n, v in values.items() if n not in classes and
                   len(v) == stores[n] and all(map(_elementwise_expr, v))}
    changed = True
    while changed:  # a temporary's class once its operands' are all known
        changed = False
        for name, exprs in temporaries.items():
            if name in known or any(n not in known for v in exprs for n in _operands(v)):
                continue
            found = {_value_class(v, known) for v in exprs}
            known[name] = found.pop() if len(found) == 1 else None
            changed = True
    return {n for n, c in known.items() if isinstance(c, tuple) and len(c) == 1}


def _runs(body: list, ints: set) -> list[tuple[int, int]]:
    """(start, stop) of each maximal run of fusable statements (markers inside a run
    belong to it; at its ends they do not) with at least MIN_RUN assignments."""
    out, i = [], 0
    while i < len(body):
        if not _fusable(body[i], ints):
            i += 1
            continue
        j, last, count = i, i, 0
        while j < len(body) and (_fusable(body[j], ints) or is_marker(body[j])):
            if _fusable(body[j], ints):
                last, count = j, count + 1
            j += 1
        if count >= MIN_RUN:
            out.append((i, last + 1))
        i = last + 1
    return out


class _Fuser:
    """Rewrites the runs of one generated function; collects their functions."""

    def __init__(self, func: gast.FunctionDef, fresh, classes: dict):
        self.func, self.fresh, self.kernels = func, fresh, []
        self.ints = _integers(func)
        self.vectors = _vectors(func, classes)

    def body(self, body: list) -> list:
        for stmt in body:
            for field in ("body", "orelse"):
                inner = getattr(stmt, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], gast.stmt) \
                        and not isinstance(stmt, gast.FunctionDef):
                    setattr(stmt, field, self.body(inner))
        runs = _runs(body, self.ints)
        calls = [self.run(body[start:stop]) for start, stop in runs]  # named in order
        for (start, stop), call in reversed(list(zip(runs, calls))):
            if call is not None:
                body[start:stop] = [call]
        return body

    def run(self, run: list):
        """The kernel of `run` (recorded) and the statement calling it; None when nothing
        it assigns is read outside it, or an argument is not proven a 1-D array."""
        inputs, assigned = [], []
        for stmt in run:
            if is_marker(stmt):
                continue
            for name in _operands(stmt.value):
                if name not in assigned and name not in inputs:
                    inputs.append(name)
            target = stmt.targets[0].id
            if target not in assigned:
                assigned.append(target)
        inside = {id(n) for stmt in run for n in gast.walk(stmt)}
        outside = {n.id for n in gast.walk(self.func) if isinstance(n, gast.Name) and
                   id(n) not in inside}
        outputs = [name for name in assigned if name in outside]
        if not outputs or not inputs or not self.vectors.issuperset(inputs):
            return None
        kernel_name = self.fresh(f"{self.func.name}_elementwise")
        kernel = gast.FunctionDef(
            name=kernel_name,
            args=gast.arguments(args=[gast.Name(id=n, ctx=gast.Param(), annotation=None,
                                                type_comment=None) for n in inputs],
                                posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                                kwarg=None, defaults=[]),
            body=list(run) + [gast.Return(value=gast.Tuple(
                elts=[gast.Name(id=n, ctx=gast.Load(), annotation=None, type_comment=None)
                      for n in outputs], ctx=gast.Load()))],
            decorator_list=[], returns=None, type_comment=None, type_params=[])
        self.kernels.append(kernel)
        value = gast.Call(func=gast.Name(id=kernel_name, ctx=gast.Load(), annotation=None,
                                         type_comment=None),
                          args=[gast.Name(id=n, ctx=gast.Load(), annotation=None,
                                          type_comment=None) for n in inputs], keywords=[])
        stores = [gast.Name(id=n, ctx=gast.Store(), annotation=None, type_comment=None)
                  for n in outputs]
        if len(stores) == 1:
            value = gast.Subscript(value=value, slice=gast.Constant(value=0, kind=None),
                                   ctx=gast.Load())
            target = stores[0]
        else:
            target = gast.Tuple(elts=stores, ctx=gast.Store())
        return gast.Assign(targets=[target], value=value, type_comment=None)


def fuse_elementwise(nodes: list, fresh, kernels: list | None = None,
                     classes: dict | None = None) -> list:
    """`nodes` (generated functions) with their elementwise runs of proven 1-D arrays
    (`classes`: the shape classes of their names) moved into functions of their own
    (placed before their caller, their names added to `kernels`); `fresh(base)` names
    each one."""
    out = []
    for func in nodes:
        fuser = _Fuser(func, fresh, classes or {})
        func.body = fuser.body(func.body)
        out += fuser.kernels + [func]
        if kernels is not None:
            kernels += [kernel.name for kernel in fuser.kernels]
    return out
