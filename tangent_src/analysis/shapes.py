"""Shape classes: which values are scalars, and for arrays what each dimension can be.

A shape class is None (unknown) or a tuple with one flag per dimension: "N" (a size
greater than one), "1" (size one) or "?" (unknown). `()` is a scalar (a Python number,
NumPy scalar or 0-d array). Classes of the inputs come from the arguments of the call
(one generated gradient per class signature, like a JIT cache); with no arguments
everything but constants is unknown and the generated code stays general. The
reverse transform uses them to drop `unbroadcast` where nothing was broadcast, to sum
over exactly the broadcast axes where something was, and to write matrix products out.
"""
from __future__ import annotations

import math
import types

import gast
import numpy as np

from .. import runtime as _runtime
from ..core.kinds import Tree
from ..core.walk import walk
from ..rules.arrays import REDUCTIONS
from ..rules.elementwise import UNARY
from ..rules.operators import BINARY
from .shape_forms import (
    allocated_class,
    expanded_class,
    reduced_class,
    reshaped_class,
    squeezed_class,
    transposed_class,
)
from .shape_items import ItemInference, list_facts, merge
from .shape_sizes import SizeInference

SCALAR: tuple = ()
# A 0-d ndarray argument: a scalar for shapes (inference starts it as SCALAR), but a mutable
# array for in-place updates (`z = x; z += 1` changes x too), so it keys its own
# specialization and marks the names that may hold it (see mutable_scalars).
ARRAY0 = "array0"
TREE = "tree"  # an argument that is a tuple, list or object (a pytree); unknown inside
DICT = "dict"  # a dict argument (a pytree whose iteration yields its keys)
CONTAINERS = (TREE, DICT)


def is_container(cls) -> bool:
    """A class that stands for a pytree argument (tuple/list/dict/object)."""
    return cls in CONTAINERS or isinstance(cls, Tree) or (
        isinstance(cls, tuple) and len(cls) == 2 and cls[0] == "object")


def call_class(cls, name, trees: set, tree_classes: dict, mutable: frozenset = frozenset()):
    """The class a user function called with the value `name` (of shape class `cls`) is
    specialized to: its shape class, or for a pytree its container class, so the callee
    adds its adjoints with plus(), not + (which would concatenate lists). Objects keep no
    class here (their fields are read through the caller). A scalar that may be a 0-d
    array (`mutable`) is ARRAY0, so the callee's in-place updates of it are checked."""
    if cls == SCALAR and name in mutable:
        return ARRAY0
    if cls is None and name in trees:
        given = tree_classes.get(name, TREE)
        return given if given in CONTAINERS or isinstance(given, Tree) else None
    return cls


def is_object(cls) -> bool:
    """The class of a parameter-holder object argument (its attributes are fields)."""
    return isinstance(cls, tuple) and len(cls) == 2 and cls[0] == "object"


def is_binding(cls) -> bool:
    """A class that the front end uses: a dict, an object (methods), a function value or a
    string (the key of a table of functions: `acts[name](z)`)."""
    return cls == DICT or (isinstance(cls, tuple) and len(cls) == 2 and
                           cls[0] in ("object", "function", "string"))


# What a function-valued argument can be: a user function (differentiated from its
# source), or a NumPy/builtin function (its rule decides). Not a bound method or a callable
# object: those carry state a call of the function alone would lose.
FUNCTION_TYPES = (types.FunctionType, types.BuiltinFunctionType, np.ufunc, type(np.sum))


def is_function_value(value) -> bool:
    """Whether calls of an argument holding `value` go to `value` itself (specialized)."""
    return type(value) in FUNCTION_TYPES


def default_function_classes(func, given) -> tuple:
    """The classes of `func`'s parameters a call leaves to a function-valued or string
    default (`nonlinearity=np.tanh`, `act="tanh"`): the callee is specialized to that
    value, as it is when the caller passes one (the top-level call applies defaults the
    same way)."""
    import inspect
    try:
        params = inspect.signature(func).parameters
    except (TypeError, ValueError):
        return ()
    return tuple((p, shape_class(param.default)) for p, param in params.items()
                 if p not in given and (is_function_value(param.default) or
                                        type(param.default) is str))


def shape_class(value):
    """The shape class of a runtime argument."""
    if isinstance(value, (bool, int, float, complex, np.number, np.bool_)):
        return SCALAR
    if isinstance(value, dict):
        return DICT
    if isinstance(value, (tuple, list)):
        return TREE
    if is_function_value(value):
        return ("function", value)  # calls of this argument go to this function
    if type(value) is str:
        return ("string", value)  # a key of a table of functions: specialized on it
    if hasattr(value, "__dict__") and not isinstance(value, np.ndarray) and \
            not callable(value):
        return ("object", type(value))  # its methods are those of this class
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return ARRAY0
        return tuple("1" if n == 1 else "N" for n in value.shape)
    return None


def derivative_classes(classes: dict, derivatives: dict) -> dict:
    """The shape classes of the names of a generated function: its core's `classes`, and
    each derivative's (`derivatives` maps x to the name of its adjoint or tangent, which
    has x's shape)."""
    return {**classes, **{d: classes.get(x) for x, d in derivatives.items()}}


def start_class(cls):
    """The shape class inference starts a parameter of argument class `cls` with."""
    return SCALAR if cls == ARRAY0 else cls


# Calls whose result, when it is a scalar, is a new number (a NumPy scalar or a Python
# number), never a 0-d array: ufuncs and the elementwise and reduction rules return NumPy
# scalars for 0-d inputs. np.where, views (reshape, transpose, x[...]), constructors and user
# functions can return a 0-d array, possibly one another name shares.
_NUMBER_CALLS = (len, int, float, abs, min, max, round, bool, np.dot, np.matmul, np.inner,
                 np.vdot, np.linalg.norm, np.float64, np.float32)


def _number_call(func, call) -> bool:
    try:
        hash(func)
    except TypeError:
        return False
    if func in REDUCTIONS:
        return not any(k.arg in ("keepdims", "out") for k in call.keywords)
    return isinstance(func, np.ufunc) or func in UNARY or func in BINARY or \
        func in _NUMBER_CALLS or func in vars(math).values()


def _may_hold_array0(value, found: set, resolve) -> bool:
    if isinstance(value, gast.Name):
        return value.id in found
    if isinstance(value, gast.Subscript):  # x[...] of a 0-d array is a view of it
        return isinstance(value.value, gast.Name) and value.value.id in found
    if isinstance(value, gast.Call):
        func = value.func
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and \
                func.attr in ("pop", "append"):
            return True  # an item taken off a tape (code being differentiated again)
        return not _number_call(resolve(func), value)
    return False  # constants, operators (NumPy scalars), module constants, displays


def mutable_scalars(func: gast.FunctionDef, classes: dict, arg_classes, resolve) -> set:
    """Names of shape class SCALAR that may hold a 0-d ndarray rather than a number: a 0-d
    array argument (class ARRAY0), a copy or view of one, or the result of a call that can
    return one. `z op= v` updates such a value in place (Python rebinds a number)."""
    found = {p for p, c in arg_classes if c == ARRAY0}
    defs = [n for n in walk(func) if isinstance(n, gast.Assign) and
            len(n.targets) == 1 and isinstance(n.targets[0], gast.Name)]
    changed = True
    while changed:
        changed = False
        for node in defs:
            name = node.targets[0].id
            if name not in found and _may_hold_array0(node.value, found, resolve):
                found.add(name)
                changed = True
    return {n for n in found if classes.get(n) == SCALAR}


def broadcast(*classes):
    if any(c is None for c in classes):
        return None
    ndim = max(len(c) for c in classes)
    out = []
    for i in range(-ndim, 0):
        flags = {c[i] for c in classes if len(c) >= -i}
        out.append("N" if "N" in flags else "?" if "?" in flags else "1")
    return tuple(out)


def matmul_class(a, b):
    if a is None or b is None:
        return None
    if a == SCALAR or b == SCALAR:
        return broadcast(a, b)
    if len(a) == 1 and len(b) == 1:
        return SCALAR
    if len(b) == 1:
        return a[:-1]
    if len(a) == 1:
        return b[:-2] + b[-1:]
    batch = broadcast(a[:-2], b[:-2])
    return None if batch is None else batch + (a[-2], b[-1])


def _const_class(node):
    if isinstance(node, gast.Constant) and isinstance(node.value, (int, float, bool)):
        return SCALAR
    return None


class ShapeInference(ItemInference, SizeInference):
    """Forward dataflow over a core function, to a fixed point over loops."""

    def __init__(self, resolve, call_class=None, call_items=None):
        self.resolve = resolve
        self.call_class = call_class or (lambda func, classes: None)
        # the item classes of a user function's tuple result (see shape_items.py)
        self.call_items = call_items or (lambda func, classes: None)
        self.items: dict = {}       # name -> the classes of its tuple's items, or None
        self.lists: set = set()     # lists only appended to (shape_items.list_facts)
        self.fixed: set = set()     # list displays never changed (shape_items.list_facts)
        self.list_items: dict = {}  # such a list -> the merged class of its items
        self.classes: dict = {}
        self.shapes: set = set()    # names holding an array's `.shape`
        self.lengths: dict = {}     # names holding a tuple display of scalars: its length
        self.other: set = set()     # names also bound to something else (neither of those)
        self.param_items: dict = {}  # list/tuple parameters (never rebound): their items' class

    def run(self, func: gast.FunctionDef, arg_classes: dict) -> dict:
        self.classes = dict(arg_classes)
        self.lists, self.fixed = list_facts(func)
        # a parameter (or loop target) holds what the caller passed: no items known
        self.lists -= set(arg_classes)
        self.fixed -= set(arg_classes)
        self.items = dict.fromkeys(arg_classes)
        rebound = {n.id for n in walk(func) if isinstance(n, gast.Name) and
                   isinstance(n.ctx, gast.Store)}
        self.param_items = {p: c for p, c in self.param_items.items() if p not in rebound}
        self.start_sizes(func, arg_classes)
        for _ in range(10):
            before = (dict(self.classes), dict(self.items), dict(self.list_items),
                      self.size_facts())
            self.block(func.body)
            if before == (self.classes, self.items, self.list_items, self.size_facts()):
                break
        for name in self.poisoned:  # also bound where `block` does not look: items unknown
            self.items[name] = None
        return self.classes

    def of(self, atom):
        if isinstance(atom, gast.Name):
            cls = self.classes.get(atom.id)
            return None if isinstance(cls, Tree) else cls  # a list: no array arithmetic
        if isinstance(atom, gast.Constant):
            return _const_class(atom)
        if isinstance(atom, gast.Attribute):
            value = self.resolve(atom)
            return SCALAR if isinstance(value, (int, float)) else None
        return None

    def set(self, name: str, cls) -> None:
        old = self.classes.get(name, cls) if name in self.classes else cls
        if old != cls and (isinstance(old, Tree) or isinstance(cls, Tree)):
            self.classes[name] = None
        else:
            self.classes[name] = merge(old, cls)

    def block(self, stmts) -> None:
        for stmt in stmts:
            if isinstance(stmt, gast.Assign):
                self.note_sizes(stmt.targets[0], stmt.value)
                self.set(stmt.targets[0].id, self.value(stmt.value))
                self.set_items(stmt.targets[0].id, stmt.value)
                self.note_forms(stmt.targets[0].id, stmt.value)
            elif isinstance(stmt, gast.Expr):
                self.appended(stmt)
            elif isinstance(stmt, gast.If):
                self.block(stmt.body)
                self.block(stmt.orelse)
            elif isinstance(stmt, gast.For):
                self.set(stmt.target.id, SCALAR)
                self.items[stmt.target.id] = None
                self.unknown(stmt.target.id)
                self.block(stmt.body)
            elif isinstance(stmt, gast.While):
                self.block(stmt.body)

    def note_sizes(self, target, value) -> None:
        """Remember names that hold an array's shape (`t = x.shape`: `t[0]` is a number)
        or a tuple of numbers (`t = (K, d, d)`: `np.zeros(t)` has three dimensions)."""
        if not isinstance(target, gast.Name):
            return
        if isinstance(value, gast.Attribute) and value.attr == "shape" and \
                isinstance(value.value, gast.Name) and \
                isinstance(self.classes.get(value.value.id), tuple):
            self.shapes.add(target.id)
        elif isinstance(value, gast.Tuple) and all(self.of(e) == SCALAR for e in value.elts) \
                and self.lengths.get(target.id, len(value.elts)) == len(value.elts):
            self.lengths[target.id] = len(value.elts)
        else:
            self.other.add(target.id)
        if target.id in self.other:
            self.shapes.discard(target.id)
            self.lengths.pop(target.id, None)

    def value(self, expr):
        if isinstance(expr, gast.Name):
            return self.classes.get(expr.id)
        if isinstance(expr, gast.Constant):
            return self.of(expr)
        if isinstance(expr, gast.Attribute):
            if isinstance(expr.value, gast.Name) and expr.value.id in self.classes:
                cls = self.classes[expr.value.id]
                return tuple(reversed(cls)) if expr.attr == "T" and cls is not None else None
            return self.of(expr)
        if isinstance(expr, gast.BinOp):
            left, right = self.of(expr.left), self.of(expr.right)
            if isinstance(expr.op, gast.MatMult):
                return matmul_class(left, right)
            return broadcast(left, right)
        if isinstance(expr, gast.UnaryOp):
            return SCALAR if isinstance(expr.op, gast.Not) else self.of(expr.operand)
        if isinstance(expr, gast.BoolOp):
            return SCALAR
        if isinstance(expr, gast.List):
            return None
        if isinstance(expr, gast.Compare):
            return broadcast(self.of(expr.left), self.of(expr.comparators[0]))
        if isinstance(expr, gast.Subscript):
            return self.subscript(expr)
        if isinstance(expr, gast.Call):
            return self.call(expr)
        return None

    def subscript(self, expr):
        if isinstance(expr.value, gast.Name) and expr.value.id in self.shapes and \
                expr.value.id not in self.other and \
                self.of(expr.slice) == SCALAR:
            return SCALAR  # one entry of a shape
        item = self.item(expr)
        if item is not None:
            return item
        if isinstance(expr.value, gast.Name) and not isinstance(expr.slice, gast.Slice) and \
                self.of(expr.slice) == SCALAR:
            tree = self.classes.get(expr.value.id)
            if isinstance(tree, Tree):
                return tree.item
            if expr.value.id in self.param_items:
                return self.param_items[expr.value.id]
        base = self.of(expr.value)
        if not base:
            return None
        parts = expr.slice.elts if isinstance(expr.slice, gast.Tuple) else [expr.slice]
        out, dim = [], 0
        for part in parts:
            if isinstance(part, gast.Constant) and part.value is None:
                out.append("1")
                continue
            if dim >= len(base):
                return None
            if isinstance(part, gast.Slice):
                whole = part.lower is None and part.upper is None and part.step is None
                out.append(base[dim] if whole else "?" if len(parts) > 1 or
                           not isinstance(expr.value, gast.Name) else
                           self.slice_flag(expr.value.id, dim, part))
            elif self.of(part) != SCALAR or (isinstance(part, gast.Constant) and
                                              type(part.value) is not int):
                return None  # fancy indexing or an unknown index
            dim += 1
        return tuple(out) + base[dim:]

    def call(self, expr):
        if isinstance(expr.func, gast.Attribute) and expr.func.attr in ("pop", "append") and \
                isinstance(expr.func.value, gast.Name) and expr.func.value.id in self.classes:
            return None  # an item taken off a tape
        func = self.resolve(expr.func)
        args = [self.of(a) for a in expr.args]
        keywords = {k.arg: k.value for k in expr.keywords}
        try:
            hash(func)
        except TypeError:
            return None
        if func in UNARY and args:
            return args[0]
        if (func in BINARY or func in (np.power, np.float_power)) and len(args) == 2:
            return broadcast(*args)
        if func in (np.dot, np.matmul) and len(args) == 2:
            return matmul_class(*args)
        if func is np.where and len(args) == 3:
            return broadcast(*args)
        if func in REDUCTIONS and args:
            return reduced_class(args[0], expr, keywords)
        if func in (np.stack, np.concatenate) and len(expr.args) == 1 and \
                set(keywords) <= {"axis"}:
            return self.joined(func, expr, keywords)
        if func is np.transpose and args:
            return transposed_class(args[0], expr.args[1] if len(expr.args) > 1 else
                               keywords.get("axes"))
        if func is np.reshape and len(expr.args) >= 2:
            return reshaped_class(expr.args[1])
        if func in (np.squeeze, np.expand_dims) and args and len(expr.args) <= 2:
            axis = keywords.get("axis", expr.args[1] if len(expr.args) > 1 else None)
            if func is np.squeeze:
                return squeezed_class(args[0], axis)
            return None if axis is None else expanded_class(args[0], axis)
        if func in (_runtime.set_at, _runtime.zero_at, np.zeros_like, np.ones_like,
                    np.empty_like, np.copy, _runtime.zeros_like) and args:
            return args[0]
        if func in (np.zeros, np.ones, np.empty, np.full) and expr.args:
            first = expr.args[0]
            if isinstance(first, gast.Name) and first.id in self.lengths and \
                    first.id not in self.other:
                return ("?",) * self.lengths[first.id]
            return allocated_class(first, args[0])
        if func in (len, int, float, abs, min, max, round) or func in vars(math).values():
            return SCALAR
        return self.call_class(func, tuple(args))
