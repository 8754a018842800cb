"""vjp's reusable pullback: the forward half of the split gradient (transform/split.py)
runs once, and each call of the pullback runs only the backward half on what the forward
half saved, as JAX's vjp does.

The backward half was written to run once: it pops its tapes (and its callees' tapes), and
optimize/inplace_writes.py may have let it write into an array the forward half allocated
where the joint gradient read that array for the last time. `reuse_plan` reads the
generated module to tell which of these can happen, and each call hands the backward half
a fresh copy of what it may consume: the lists and dicts (tapes) as new containers of the
same items, and, when some write in place goes into an array that the function did not
allocate itself in that same call, every array as well (a deep copy: correct, never fast).

vjp's primals are the caller's arrays, which it may write into later: the forward half
runs on them and then what it returns and saves that may share memory with them is
copied (`start(..., detach=True)`), not every argument beforehand.
"""
from __future__ import annotations

import copy

import gast
import numpy as np

from . import guards
from .derivative_support import fresh_args
from .dtypes import dtype_plan
from .optimize.accumulate import added_in_place, blocks_of
from .optimize.ownership import Ownership, call_name, modelled
from .values import arg_classes

# Runtime helpers that write into their first argument.
WRITERS = frozenset({"add_at", "add_outer_at", "add_attribute", "set_in_place",
                     "zero_in_place"})
# NumPy functions that write into their first argument.
NP_WRITERS = frozenset({"np.copyto", "np.put", "np.place", "np.putmask",
                        "np.fill_diagonal", "np.put_along_axis"})
# Methods that only read their object (or build a new value).
READERS = frozenset({"copy", "sum", "max", "min", "mean", "prod", "item", "astype",
                     "reshape", "transpose", "ravel", "flatten", "squeeze", "swapaxes",
                     "dot", "conj", "conjugate", "tolist", "any", "all", "argmax", "argmin",
                     "nonzero", "get", "keys", "values", "items", "index", "count", "std",
                     "var", "cumsum", "cumprod", "trace", "diagonal", "round", "clip",
                     "view", "real", "imag"})
# Methods that change a container: harmless once the containers are fresh copies.
CONTAINER_METHODS = frozenset({"pop", "append", "extend", "insert", "clear", "reverse",
                               "popitem", "setdefault", "update"})


def reuse_plan(source: str) -> str:
    """How the backward halves of a generated module must be fed to run more than once:
    "containers" (fresh lists and dicts: tapes are popped) or "deep" (every array copied
    too: something may write into an array it did not allocate in the same call)."""
    module = gast.parse(source)
    for node in gast.walk(module):
        if isinstance(node, gast.FunctionDef) and _writes_foreign(node):
            return "deep"
    return "containers"


def _writes_foreign(func: gast.FunctionDef) -> bool:
    """Whether `func` may write into an array that it did not allocate itself."""
    func = _element_adds_as_calls(func)
    if not modelled(func):
        return True
    # set_at / zero_at copy: what they return is a new array (Ownership judges a program
    # where they may not, so it is told which ones do)
    copies = frozenset(id(node) for node in gast.walk(func) if isinstance(node, gast.Assign)
                       and isinstance(node.value, gast.Call)
                       and call_name(node.value) in ("set_at", "zero_at"))
    owner = Ownership(func, copies)
    return any(target is None or not owner.owned(target) for target in _written(func))


def _element_adds_as_calls(func: gast.FunctionDef) -> gast.FunctionDef:
    """A copy of `func` with each `x[i] += g` (direct_numpy's form of an adjoint's add into
    an element or slice) as `x = add_at(x, i, g)`: the same write into x's array, in the
    form the ownership analysis models."""
    func = copy.deepcopy(func)
    for node in gast.walk(func):
        for field in ("body", "orelse"):
            block = getattr(node, field, None)
            if isinstance(block, list):
                block[:] = [_as_add_at(stmt) for stmt in block]
    return func


def _as_add_at(stmt):
    target = stmt.target if isinstance(stmt, gast.AugAssign) else None
    if not (isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name)):
        return stmt
    name = target.value.id
    call = gast.Call(func=gast.Name(id="add_at", ctx=gast.Load(), annotation=None,
                                    type_comment=None),
                     args=[gast.Name(id=name, ctx=gast.Load(), annotation=None,
                                     type_comment=None), target.slice, stmt.value],
                     keywords=[])
    return gast.copy_location(gast.Assign(
        targets=[gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None)],
        value=call, type_comment=None), stmt)


def _written(func: gast.FunctionDef) -> list:
    """The names of the arrays `func`'s statements write into (None: not a plain name);
    not an adjoint's `dx += g` into an array built fresh in its block."""
    out: list = []
    own = {id(stmt) for block in blocks_of(func.body) for k, stmt in enumerate(block)
           if isinstance(stmt, gast.AugAssign) and added_in_place(block, k)}
    for node in gast.walk(func):
        if isinstance(node, gast.AugAssign):
            if id(node) not in own:
                out.append(_base(node.target))
        elif isinstance(node, (gast.Assign, gast.AnnAssign)):
            targets = node.targets if isinstance(node, gast.Assign) else [node.target]
            out.extend(_base(t) for t in _stores(targets) if not isinstance(t, gast.Name))
        elif isinstance(node, gast.Call):
            out.extend(_call_writes(node))
    return out


def _stores(targets: list) -> list:
    found = []
    for target in targets:
        if isinstance(target, (gast.Tuple, gast.List)):
            found.extend(_stores(target.elts))
        elif isinstance(target, gast.Starred):
            found.extend(_stores([target.value]))
        else:
            found.append(target)
    return found


def _call_writes(call: gast.Call) -> list:
    out = [_base(k.value) for k in call.keywords if k.arg == "out"]
    name = call_name(call)
    func = call.func
    if name in WRITERS or name in NP_WRITERS or (name or "").endswith("in_place") or \
            isinstance(func, gast.Attribute) and func.attr == "at":  # np.add.at(a, ...)
        out.append(_base(call.args[0]) if call.args else None)
    elif isinstance(func, gast.Attribute) and name is None and \
            func.attr not in READERS and func.attr not in CONTAINER_METHODS and \
            not _ufunc_method(func):
        out.append(_base(func.value))  # a method that may change its array
    return out


def _ufunc_method(func: gast.Attribute) -> bool:
    """`np.add.reduce` and the like: a NumPy ufunc's method that builds a new array."""
    owner = func.value
    return func.attr in ("reduce", "accumulate", "outer", "reduceat") and \
        isinstance(owner, gast.Attribute) and isinstance(owner.value, gast.Name) and \
        owner.value.id == "np"


def _base(node) -> str | None:
    """`x` for `x`, `x[i]`, `x.attr[j]`: the name whose value a write goes into."""
    while isinstance(node, (gast.Subscript, gast.Attribute)):
        node = node.value
    return node.id if isinstance(node, gast.Name) else None


def fresh(value, deep: bool):
    """`value` with every list and dict (inside tuples too) a new container of the same
    items; with `deep`, every array copied as well."""
    kind = type(value)
    if kind is list:
        return [fresh(v, deep) for v in value]
    if kind is tuple:
        return tuple(fresh(v, deep) for v in value)
    if kind is dict:
        return {k: fresh(v, deep) for k, v in value.items()}
    if deep and isinstance(value, np.ndarray):
        return value.copy()
    return value


def start(transform, primals: tuple, given: tuple | None = None, detach: bool = False):
    """(value, pullback) for the reverse-mode `transform` at `primals`: the forward half
    run once; `pullback(seed)` runs the backward half and returns what
    `transform.call_with(primals, {"seed": seed})` returns. None where the split form does
    not apply (complex values): the caller then runs the whole gradient per cotangent.
    `given`: the caller's arguments that `primals` copy, refused if one array is passed as
    two of them to a function writing into one (shared_arguments.py). `detach`: `primals`
    are the caller's own arrays, which it may change later: the forward half runs on them
    (on copies if the function writes into an argument) and then what it returns and saves
    that may share memory with them is copied (BA: four column views instead of every
    argument: 1.8 of 4.3 MB)."""
    args = transform._bound + guards.real_scalars(primals)
    classes = arg_classes(transform._sig, args, {}, transform._items)
    split = transform._split(classes)
    if detach and split.written:
        return start(transform, fresh_args(primals), primals)
    if split.written and given is not None:
        split.refuse_shared(transform._bound + tuple(given))
    if split.complex_params or split.main.complex_output:
        return None
    plan = dtype_plan(split.params, split.main.wrt, args, {})
    value, saved = split.call(args, {})
    if detach:
        arrays = []
        _arrays(primals, arrays)
        if arrays:
            value, saved = _detached((value, saved), arrays)
    reuse = getattr(split, "reuse", None)
    if reuse is None:
        reuse = split.reuse = reuse_plan(split.source)
    deep = reuse == "deep"
    name = transform._name()

    def pullback(seed):
        (seed,) = guards.real_scalars((seed,))
        guards.refuse_complex(seed, f"{name} along this cotangent")
        grads = split.backward(fresh(saved, deep), seed)
        transform._last = split  # what _finish's complex checks read
        return transform._finish((value, grads) if transform.has_aux else grads, plan)

    return value, pullback


def _arrays(value, out: list) -> None:
    """The arrays in `value` (inside tuples, lists and dicts too): what fresh_args copies."""
    if isinstance(value, np.ndarray):
        out.append(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            _arrays(v, out)
    elif isinstance(value, dict):
        for v in value.values():
            _arrays(v, out)


def _detached(value, arrays: list):
    """`value` with every array (inside tuples, lists and dicts too) whose memory may
    overlap one of `arrays` copied (np.may_share_memory: bounds only, so never a miss),
    and every list and dict a new one (the caller's may be among them)."""
    kind = type(value)
    if kind is np.ndarray or isinstance(value, np.ndarray):
        if any(np.may_share_memory(value, a) for a in arrays):
            return value.copy()
        return value
    if kind is list:  # always a new list: the caller's may change
        return [_detached(v, arrays) for v in value]
    if kind is tuple:
        items = [_detached(v, arrays) for v in value]
        return value if all(a is b for a, b in zip(items, value)) else tuple(items)
    if kind is dict:
        return {k: _detached(v, arrays) for k, v in value.items()}
    return value
