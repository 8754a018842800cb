"""numba implementations of the runtime helpers for containers and integer-array indexing,
which the vectorized workloads' generated code calls: `pieces` (the adjoint of
np.concatenate / np.stack), `zeros_like` and `plus` on lists, `add_at` with integer-array
indices (an explicit loop: repeated indices add up, which `acc[index] += g` would not do),
the adjoints of `@` on stacks of matrices, and reading `a[:, index]` with an index array
of more than one dimension (numba reads one 1-d index array only).

Code is generated per container length and index pattern (numba types tuples by their
length), like the tuple helpers of `numba_runtime`.
"""
from __future__ import annotations

import operator

import numpy as np
from numba import types
from numba.extending import overload

from .. import runtime as rt


# -- overloads (copied into standalone numba modules from here on) ---------------------
def _function(source: str, **names):
    namespace = {"np": np, "rt": rt, **names}
    exec(source, namespace)
    return namespace["f"]


def _literal(t):
    """The value of a literal type (a string or int given as a constant), else None."""
    if isinstance(t, (str, int)):
        return t
    return getattr(t, "literal_value", None)


# -- lists --------------------------------------------------------------------------------
@overload(rt.zeros_like)
def _zeros_like_list(x):
    if isinstance(x, (types.List, types.ListType)):
        return lambda x: [rt.zeros_like(v) for v in x]
    return None


@overload(rt.plus)
def _plus_lists(a, b):
    sequences = (types.List, types.ListType)
    if isinstance(a, sequences) and isinstance(b, sequences):
        return lambda a, b: [rt.plus(a[k], b[k]) for k in range(len(a))]
    return None


@overload(rt.add_at)
def _add_at_list(acc, index, g):
    """The adjoint of reading item `index` of a list (`for W in params`), or the items of
    a slice of it (`for W, b in params[:-1]`: g holds one entry per item of the slice)."""
    if not isinstance(acc, (types.List, types.ListType)):
        return None
    if isinstance(index, types.Integer):
        def add(acc, index, g):
            acc[index] = rt.plus(acc[index], g)
            return acc
        return add
    if isinstance(index, types.SliceType) and isinstance(g, (types.List, types.ListType)):
        def add_items(acc, index, g):
            start, stop, step = index.indices(len(acc))
            for k, at in enumerate(range(start, stop, step)):
                acc[at] = rt.plus(acc[at], g[k])
            return acc
        return add_items
    return None


@overload(rt.replicate)
def _replicate_list(g, items):
    """The adjoint of sum(items) for a list of items: g reduced to each item's shape."""
    if isinstance(items, (types.List, types.ListType)):
        return lambda g, items: [rt.unbroadcast(g, item) for item in items]
    return None


# -- the adjoint of joining arrays --------------------------------------------------------
# np.hstack / np.vstack as the join they are, by whether the arrays are 1-D (NumPy's rule).
_STACKED_AS = {("hstack", True): ("concatenate", 0), ("hstack", False): ("concatenate", 1),
               ("vstack", True): ("stack", 0), ("vstack", False): ("concatenate", 0)}


def _joined_as(how, where, arrays) -> tuple:
    """(kind, axis) of the join np.hstack / np.vstack of `arrays` is; others unchanged."""
    if how not in ("hstack", "vstack"):
        return how, where
    items = [arrays.dtype] if isinstance(arrays, (types.List, types.ListType)) else \
        list(arrays) if isinstance(arrays, types.BaseTuple) else []
    if not items or not all(isinstance(t, types.Array) and t.ndim >= 1 for t in items):
        return None, None
    return _STACKED_AS[how, all(t.ndim == 1 for t in items)]


@overload(rt.pieces, prefer_literal=True)
def _pieces(g, arrays, kind="concatenate", axis=0):
    """One piece of g per joined array, shaped like it: np.stack's and np.concatenate's
    adjoint, for a tuple (one entry per array) or a list of arrays along a constant axis."""
    how, where = _joined_as(_literal(kind), _literal(axis), arrays)
    if not isinstance(g, types.Array) or how not in ("stack", "concatenate") or \
            not isinstance(where, int) or isinstance(where, bool):
        return None
    if isinstance(arrays, (types.List, types.ListType)):
        if how == "stack":
            if where != 0:
                return None
            return lambda g, arrays, kind="concatenate", axis=0: [
                np.ascontiguousarray(g[k]) for k in range(len(arrays))]
        lead = ":, " * (where % g.ndim)  # a list's pieces: one slice of g per array
        return _function(
            "def f(g, arrays, kind='concatenate', axis=0):\n"
            "    out = []\n    o = 0\n    for k in range(len(arrays)):\n"
            f"        e = o + arrays[k].shape[{where}]\n"
            f"        out.append(np.ascontiguousarray(g[{lead}o:e]))\n"
            "        o = e\n    return out\n")
    if not isinstance(arrays, types.BaseTuple) or not all(
            isinstance(t, types.Array) for t in arrays):
        return None
    lead = ":, " * (where % g.ndim)
    lines = ["def f(g, arrays, kind='concatenate', axis=0):", "    o = 0"]
    items = []
    for k in range(len(arrays)):
        if how == "stack":
            items.append(f"np.ascontiguousarray(g[{lead}{k}])")
            continue
        lines.append(f"    e{k} = o + arrays[{k}].shape[{where}]")
        lines.append(f"    p{k} = np.ascontiguousarray(g[{lead}o:e{k}])")
        lines.append(f"    o = e{k}")
        items.append(f"p{k}")
    lines.append(f"    return ({', '.join(items)}{',' if len(items) == 1 else ''})")
    return _function("\n".join(lines) + "\n")


# -- integer-array indices ----------------------------------------------------------------
def _array_position(index):
    """(position, count) of the integer index array in a tuple index whose other entries
    are slices; None for any other pattern (ints beside an index array move numpy's
    result dimensions, and are not handled here)."""
    if not isinstance(index, types.BaseTuple):
        return None
    found = [k for k, t in enumerate(index) if isinstance(t, types.Array)]
    if len(found) != 1 or not isinstance(index[found[0]].dtype, types.Integer):
        return None
    if not all(isinstance(t, types.SliceType) for k, t in enumerate(index) if k != found[0]):
        return None
    return found[0], len(index)


@overload(rt.add_at)
def _add_at_integer_array(acc, index, g):
    """acc[index] += g with an integer index array (alone, or beside slices): a loop over
    the index's entries, so that entries repeated in the index add up."""
    if not isinstance(acc, types.Array):
        return None
    if isinstance(index, types.Array) and isinstance(index.dtype, types.Integer):
        where, length = 0, 1
        pick = "flat[j]"
    else:
        found = _array_position(index)
        if found is None:
            return None
        where, length = found
        pick = ", ".join("flat[j]" if k == where else f"index[{k}]" for k in range(length))
    idx = "index" if length == 1 and isinstance(index, types.Array) else f"index[{where}]"
    scalar = isinstance(g, (types.Number, types.Boolean))
    lines = ["def f(acc, index, g):", f"    flat = np.ascontiguousarray({idx}).reshape(-1)"]
    if scalar:
        lines += ["    for j in range(flat.size):", f"        acc[{pick}] += g"]
    else:
        # g: the shape of acc[index]; the index array's dimensions become one
        n_index = index_ndim(index, where)
        if not isinstance(g, types.Array) or g.ndim != acc.ndim - 1 + n_index:
            return None
        shape = _tuple_text([f"g.shape[{d}]" for d in range(where)] + ["flat.size"] + [
            f"g.shape[{d}]" for d in range(where + n_index, g.ndim)])
        lines += [f"    gr = np.ascontiguousarray(g).reshape({shape})",
                  "    for j in range(flat.size):",
                  f"        acc[{pick}] += gr[{':, ' * where}j]"]
    return _function("\n".join(lines) + "\n    return acc\n")


def index_ndim(index, where: int) -> int:
    """The number of dimensions of the index array (alone, or at `where` in a tuple)."""
    return index.ndim if isinstance(index, types.Array) else index[where].ndim


@overload(operator.getitem)
def _getitem_index_array(a, index):
    """a[..., index, ...] with one integer index array of two or more dimensions beside
    slices (numba reads a 1-d index array only): read with the flattened index, then give
    the index's dimensions back."""
    if not isinstance(a, types.Array):
        return None
    if isinstance(index, types.Array) and isinstance(index.dtype, types.Integer) and \
            index.ndim >= 2:
        where, code = 0, "a[flat]"
    else:
        found = _array_position(index)
        if found is None or index[found[0]].ndim < 2:
            return None
        where = found[0]
        code = "a[" + ", ".join("flat" if k == where else f"index[{k}]"
                                for k in range(found[1])) + "]"
    idx = "index" if isinstance(index, types.Array) else f"index[{where}]"
    n_index = index_ndim(index, where)
    shape = _tuple_text([f"got.shape[{d}]" for d in range(where)] + [
        f"{idx}.shape[{d}]" for d in range(n_index)] + [
        f"got.shape[{d}]" for d in range(where + 1, a.ndim)])
    lines = ["def f(a, index):", f"    flat = np.ascontiguousarray({idx}).reshape(-1)",
             f"    got = np.ascontiguousarray({code})", f"    return got.reshape({shape})"]
    return _function("\n".join(lines) + "\n")


def _tuple_text(items: list[str]) -> str:
    return f"({', '.join(items)}{',' if len(items) == 1 else ''})"


# -- adjoints of `@` on stacks of matrices ------------------------------------------------
def _stacked_operands(g, a, b) -> bool:
    return all(isinstance(t, types.Array) and isinstance(t.dtype, types.Float)
               for t in (g, a, b)) and max(a.ndim, b.ndim) == 3 and min(a.ndim, b.ndim) >= 2


@overload(rt.matmul_lhs)
def _matmul_lhs_stacked(g, a, b):
    """The adjoint of `a` in `a @ b` with 3-d operands: g[k] @ b[k].T, summed over the
    stack when `a` is one matrix."""
    if not _stacked_operands(g, a, b):
        return None
    bk = "b[k if b.shape[0] > 1 else 0]" if b.ndim == 3 else "b"
    if a.ndim == 3 and g.dtype == a.dtype == b.dtype == types.float64:
        return _direct("a", "g[k]", f"{bk}.T")
    ak = "out[k if a.shape[0] > 1 else 0]" if a.ndim == 3 else "out"
    return _function(f"def f(g, a, b):\n    out = np.zeros(a.shape)\n"
                     f"    for k in range(g.shape[0]):\n"
                     f"        {ak} += g[k] @ np.ascontiguousarray({bk}.T)\n"
                     f"    return out\n")


@overload(rt.matmul_rhs)
def _matmul_rhs_stacked(g, a, b):
    """The adjoint of `b` in `a @ b` with 3-d operands: a[k].T @ g[k], summed over the
    stack when `b` is one matrix."""
    if not _stacked_operands(g, a, b):
        return None
    ak = "a[k if a.shape[0] > 1 else 0]" if a.ndim == 3 else "a"
    if b.ndim == 3 and g.dtype == a.dtype == b.dtype == types.float64:
        return _direct("b", f"{ak}.T", "g[k]")
    bk = "out[k if b.shape[0] > 1 else 0]" if b.ndim == 3 else "out"
    return _function(f"def f(g, a, b):\n    out = np.zeros(b.shape)\n"
                     f"    for k in range(g.shape[0]):\n"
                     f"        {bk} += np.ascontiguousarray({ak}.T) @ g[k]\n"
                     f"    return out\n")


def _direct(like: str, left: str, right: str):
    """`def f(g, a, b)` for a stacked operand `like`, all three float64 arrays: each
    product left @ right written straight into the result by BLAS (a transpose read in
    place) when `like`'s stack is g's; added up into its one matrix otherwise."""
    return _function(f"""def f(g, a, b):
    if {like}.shape[0] != g.shape[0]:
        out = np.zeros({like}.shape)
        for k in range(g.shape[0]):
            out[0] += {left} @ {right}
        return out
    out = np.empty({like}.shape)
    for k in range(g.shape[0]):
        np.dot({left}, {right}, out[k])
    return out
""")
