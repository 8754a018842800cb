"""numba implementations of the runtime helpers that sum a matrix product's adjoint back
to a broadcast operand (`matmul_lhs_summed`, `matmul_rhs_summed`, see
optimize/sum_first.py): for stacks of matrices, one loop over the stack that sums each
step's factors before its product and adds it into the (possibly stack-summed) result;
other ranks go through the unfused helpers. `nested_sum` writes unbroadcast's sum as a
loop nest for the ranks at hand.
"""
from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import overload

from .. import runtime as rt


# -- overloads (copied into standalone numba modules from here on) ---------------------
def _sums_function(source: str):
    """Compile generated source defining `f` (the standalone module's copy of this file
    runs it in its own globals)."""
    namespace = {"np": np, "rt": rt}
    namespace.update(_rows=_rows, _cols=_cols)
    exec(source, namespace)
    return namespace["f"]


def nested_sum(g_ndim: int, like_ndim: int):
    """`def f(g, like)`: g summed to like's shape (leading axes added and axes of length
    one in like stretched), as one loop nest over g with the output index written out
    for these ranks (typing time knows them): no per-element index arithmetic over a
    tuple, and the additions in g's C order, as a flat loop would do them."""
    extra = g_ndim - like_ndim
    lines = ["def f(g, like):", "    out = np.zeros(like.shape)"]
    lines += [f"    m{d} = 0 if like.shape[{d}] == 1 else 1" for d in range(like_ndim)]
    indent = "    "
    for a in range(g_ndim):
        lines.append(f"{indent}for i{a} in range(g.shape[{a}]):")
        indent += "    "
    out = ", ".join(f"i{extra + d} * m{d}" for d in range(like_ndim))
    lines.append(f"{indent}out[{out}{',' if like_ndim == 1 else ''}] += "
                 f"g[{', '.join(f'i{a}' for a in range(g_ndim))}]")
    lines.append("    return out")
    return _sums_function("\n".join(lines) + "\n")


def kept_strides(shape, reduced):
    """njit-able: for each axis of `shape`, its stride in the flat reduced array (the
    reduction's result with the `reduced` axes dropped), 0 for a reduced axis."""
    out = np.zeros(len(shape), dtype=np.intp)
    stride = 1
    for d in range(len(shape) - 1, -1, -1):
        if not reduced[d]:
            out[d] = stride
            stride *= shape[d]
    return out


def vector_slice(acc, index, g) -> bool:
    """Whether `add_at(acc, index, g)` adds a 1-D array into a slice of a 1-D array."""
    return isinstance(acc, types.Array) and acc.ndim == 1 and \
        isinstance(index, types.SliceType) and isinstance(g, types.Array) and g.ndim == 1


@numba.njit(cache=False)
def add_into_slice(acc, index, g):
    """add_at(acc, a slice, g) of 1-D arrays: a loop into the view (an LSTM's short gate
    slices: numba's generic `acc[index] += g` costs more), the same additions."""
    view = acc[index]
    if view.shape != g.shape:
        acc[index] += g
        return acc
    for j in range(g.shape[0]):
        view[j] += g[j]
    return acc


@numba.njit(cache=False)
def add_into_row(acc, index, g):
    """add_at(acc, k, g) of C-contiguous arrays, g shaped like acc[k]: one flat loop
    (numba's generic `acc[k] += g` broadcasting costs ~100x more per row); a vector into
    acc[k, j] directly, without views (each costs a reference count's atomic increment and
    decrement: more than the additions of an LSTM's short rows). The same additions."""
    if g.shape != acc.shape[1:]:
        acc[index] += g
    elif g.ndim == 1:
        for j in range(g.shape[0]):
            acc[index, j] += g[j]
    else:
        row = acc.reshape((acc.shape[0], g.size))[index]
        flat = g.reshape(g.size)
        for j in range(flat.size):
            row[j] += flat[j]
    return acc


def spread_loops(ndim: int, kind: str):
    """`def f(shape_of, flat, m, [a])` for arrays of `ndim` axes: a loop nest over
    `shape_of` that reads the flat reduced array at the index the strides `m` give:
    kind "spread" copies it (unreduce), "hits" marks where `a` equals it and counts the
    hits (extremum_mask's first sweep), "share" divides the hits by their counts."""
    lines = {"spread": ["def f(out, flat, m, a):"], "hits": ["def f(out, flat, m, a):"],
             "share": ["def f(out, flat, m, a):"]}[kind]
    indent = "    "
    for d in range(ndim):
        lines.append(f"{indent}for i{d} in range(out.shape[{d}]):")
        indent += "    "
    pos = ", ".join(f"i{d}" for d in range(ndim)) + ("," if ndim == 1 else "")
    k = " + ".join(f"i{d} * m[{d}]" for d in range(ndim))
    if kind == "spread":
        lines.append(f"{indent}out[{pos}] = flat[{k}]")
    elif kind == "hits":
        lines += [f"{indent}k = {k}", f"{indent}if a[{pos}] == flat[k]:",
                  f"{indent}    out[{pos}] = 1.0", f"{indent}    a_counts[k] += 1.0"]
        lines[0] = "def f(out, flat, m, a, a_counts):"
    else:
        lines.append(f"{indent}out[{pos}] /= flat[{k}]")
    return numba.njit(_sums_function("\n".join(lines) + "\n"))


def _stacked(g, a, b, like) -> bool:
    return all(isinstance(t, types.Array) and isinstance(t.dtype, types.Float)
               for t in (g, a, b, like)) and g.ndim == like.ndim == 3 and \
        max(a.ndim, b.ndim) == 3 and min(a.ndim, b.ndim) >= 2


def _stack_item(name: str, ndim: int) -> str:
    """Matrix k of a stacked operand (the only one when its stack has length one)."""
    return f"{name}[k if {name}.shape[0] > 1 else 0]" if ndim == 3 else name


@numba.njit(cache=False)
def _rows(m):
    """The column sums of a matrix, as one row."""
    out = np.empty((1, m.shape[1]))
    out[0, :] = np.sum(m, axis=0)
    return out


@numba.njit(cache=False)
def _cols(m):
    """The row sums of a matrix, as one column."""
    out = np.empty((m.shape[0], 1))
    out[:, 0] = np.sum(m, axis=1)
    return out


@overload(rt.matmul_lhs_summed)
def _matmul_lhs_summed(g, a, b, like):
    """sum over the stack of g[k] @ b[k].T, with g's rows summed first where `like` has one
    row and b's rows where it has one column."""
    if not _stacked(g, a, b, like):
        return lambda g, a, b, like: rt.unbroadcast(rt.matmul_lhs(g, a, b), like)
    return _sums_function(f"""
def f(g, a, b, like):
    out = np.zeros(like.shape)
    for k in range(g.shape[0]):
        gk = np.ascontiguousarray(g[k])
        bk = np.ascontiguousarray({_stack_item("b", b.ndim)})
        gs = _rows(gk) if like.shape[1] == 1 else gk
        bs = _rows(bk) if like.shape[2] == 1 else bk
        out[k if like.shape[0] > 1 else 0] += gs @ np.ascontiguousarray(bs.T)
    return out
""")


@overload(rt.matmul_rhs_summed)
def _matmul_rhs_summed(g, a, b, like):
    """sum over the stack of a[k].T @ g[k], with g's columns summed first where `like` has
    one column and a's columns where it has one row."""
    if not _stacked(g, a, b, like):
        return lambda g, a, b, like: rt.unbroadcast(rt.matmul_rhs(g, a, b), like)
    return _sums_function(f"""
def f(g, a, b, like):
    out = np.zeros(like.shape)
    for k in range(g.shape[0]):
        gk = np.ascontiguousarray(g[k])
        ak = np.ascontiguousarray({_stack_item("a", a.ndim)})
        gs = _cols(gk) if like.shape[2] == 1 else gk
        as_ = _cols(ak) if like.shape[1] == 1 else ak
        out[k if like.shape[0] > 1 else 0] += np.ascontiguousarray(as_.T) @ gs
    return out
""")
