"""Adjoints of the products: matmul / np.dot (`matmul_lhs`, `matmul_rhs`, `dot_lhs`, `dot_rhs`,
`product`) and np.einsum, the form every other product's derivative is written in
(`einsum_spec`, `einsum_open`; `product_spec` and `kron_shape` turn tensordot, inner and kron
into einsum subscripts; see rules/linalg.py)."""
from __future__ import annotations

import numpy as np

from .broadcasting import unbroadcast
from .refusals import refuse


def matmul_lhs(g, a, b):
    """Adjoint of `a` in `a @ b` (or np.dot) for scalar, 1-D, 2-D and stacked operands."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return unbroadcast(g * b, a)
    if b_nd == 1:
        return unbroadcast(np.multiply.outer(g, b), a) if a_nd > 1 else g * b
    if a_nd == 1:  # a @ b = (a[None, :] @ b)[..., 0, :], summed over b's stack
        return unbroadcast(np.matmul(b, g[..., None])[..., 0], a) if b_nd > 2 else \
            np.matmul(b, g)
    return unbroadcast(np.matmul(g, np.swapaxes(b, -1, -2)), a)


def matmul_rhs(g, a, b):
    """Adjoint of `b` in `a @ b` (or np.dot) for scalar, 1-D, 2-D and stacked operands."""
    a_nd, b_nd = np.ndim(a), np.ndim(b)
    if a_nd == 0 or b_nd == 0:
        return unbroadcast(g * a, b)
    if a_nd == 1:
        return unbroadcast(a[:, None] * np.expand_dims(g, -2), b) if b_nd > 1 else g * a
    if b_nd == 1:
        return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g[..., None])[..., 0], b) \
            if a_nd > 2 else np.matmul(np.swapaxes(a, -1, -2), g)
    return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g), b)


def matmul_lhs_summed(g, a, b, like):
    """unbroadcast(matmul_lhs(g, a, b), like) with the sums taken before the product where
    they commute with it: over the rows of `a` (g's second-to-last axis), over its columns
    (b's second-to-last axis) and over stack axes along which `b` is not stacked. The
    adjoint of `a` when `a` itself was broadcast (`xc - mu[:, :, None]` feeding `Q @ xc`)
    then costs a product of the summed arrays, not the full stacked one."""
    if np.ndim(a) < 2 or np.ndim(b) < 2 or np.ndim(g) < np.ndim(like):
        return unbroadcast(matmul_lhs(g, a, b), like)
    g, b = np.asarray(g), np.asarray(b)
    target = _padded_shape(like, g.ndim)
    if target[-2] == 1 and g.shape[-2] != 1:
        g = g.sum(axis=-2, keepdims=True)
    if target[-1] == 1 and b.shape[-2] != 1:
        b = b.sum(axis=-2, keepdims=True)
    g = _sum_unstacked(g, b, target)
    return unbroadcast(np.matmul(g, np.swapaxes(b, -1, -2)), like)


def matmul_rhs_summed(g, a, b, like):
    """unbroadcast(matmul_rhs(g, a, b), like) with the sums taken before the product (see
    matmul_lhs_summed): over g's last axis, over the columns of `a`, and over stack axes
    along which `a` is not stacked."""
    if np.ndim(a) < 2 or np.ndim(b) < 2 or np.ndim(g) < np.ndim(like):
        return unbroadcast(matmul_rhs(g, a, b), like)
    g, a = np.asarray(g), np.asarray(a)
    target = _padded_shape(like, g.ndim)
    if target[-1] == 1 and g.shape[-1] != 1:
        g = g.sum(axis=-1, keepdims=True)
    if target[-2] == 1 and a.shape[-1] != 1:
        a = a.sum(axis=-1, keepdims=True)
    g = _sum_unstacked(g, a, target)
    return unbroadcast(np.matmul(np.swapaxes(a, -1, -2), g), like)


def _padded_shape(like, ndim: int) -> tuple:
    """`like`'s shape with leading ones up to `ndim` axes (the axes unbroadcast sums)."""
    shape = np.shape(like)
    return (1,) * (ndim - len(shape)) + tuple(shape)


def _sum_unstacked(g, other, target: tuple):
    """g summed (keeping the axes) over the stack axes that `target` reduces to one and
    along which `other`, the product's other operand, has a single matrix."""
    lead = g.ndim - 2
    other_stack = (1,) * (lead - (other.ndim - 2)) + other.shape[:-2]
    axes = tuple(i for i in range(lead)
                 if target[i] == 1 and g.shape[i] != 1 and other_stack[i] == 1)
    return g.sum(axis=axes, keepdims=True) if axes else g


def add_outers(acc, us, vs):
    """acc plus the sum of np.outer(u, v) over the pairs of two equally long lists, the
    sum as one matrix product of the stacked (flattened) values; acc itself for no pairs.
    What a loop's per-step outer products add up to (see optimize/outers.py)."""
    if not len(us):
        return acc
    steps = len(us)
    return acc + np.reshape(np.array(us), (steps, -1)).T @ np.reshape(np.array(vs), (steps, -1))


def product(a, b):
    """a @ b, or a * b when either is a scalar (the map that matmul_lhs/rhs transpose)."""
    if np.ndim(a) == 0 or np.ndim(b) == 0:
        return a * b
    return np.matmul(a, b)


def dot_lhs(g, a, b):
    """Adjoint of `a` in np.dot(a, b): matmul's for operands of at most 2 dimensions;
    above, np.dot contracts a's last axis with b's second-to-last (its last if 1-D)."""
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0 or (na <= 2 and nb <= 2):
        return matmul_lhs(g, a, b)
    return np.tensordot(g, np.moveaxis(b, -2, -1) if nb > 1 else b, axes=nb - 1)


def dot_rhs(g, a, b):
    """Adjoint of `b` in np.dot(a, b) (see dot_lhs)."""
    na, nb = np.ndim(a), np.ndim(b)
    if na == 0 or nb == 0 or (na <= 2 and nb <= 2):
        return matmul_rhs(g, a, b)
    lead = tuple(range(na - 1))
    t = np.tensordot(a, g, axes=(lead, lead))  # (k,) + b's other axes
    return np.moveaxis(t, 0, -2) if nb > 1 else t


def einsum_spec(subscripts, operand=0):
    """Explicit einsum subscripts for `subscripts` ("ij,jk" -> "ij,jk->ik", NumPy's implicit
    output); with operand=k >= 1, the subscripts of the adjoint with respect to operand k:
    its output is operand k's subscripts, its inputs the old output and the other operands,
    in order ("ij,jk->ik", 1 -> "ik,jk->ij")."""
    if not isinstance(subscripts, str):
        refuse("np.einsum subscripts must be a string here (the operand/sublist form is "
               "translated by einsum_sublist_spec)")
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        inputs, output = subscripts.split("->")
    else:
        inputs = subscripts
        letters = inputs.replace(",", "").replace(".", "")
        output = ("..." if "..." in inputs else "") + "".join(
            sorted(c for c in set(letters) if letters.count(c) == 1))
    parts = inputs.split(",")
    if operand:
        k = operand - 1
        output, parts = parts[k], [output] + parts[:k] + parts[k + 1:]
    return ",".join(parts) + "->" + output


_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"  # NumPy's order of labels


def _sublist_letters(sublist) -> str:
    """One sublist ([0, 1], [Ellipsis, 2]) as subscript letters ("AB", "...C")."""
    out = []
    for label in sublist:
        if label is Ellipsis:
            out.append("...")
        elif isinstance(label, (int, np.integer)) and 0 <= int(label) < len(_LABELS):
            out.append(_LABELS[int(label)])
        else:
            refuse(f"np.einsum sublist label {label!r}: labels are Ellipsis or integers "
                   f"in [0, {len(_LABELS)})")
    return "".join(out)


def einsum_sublist_spec(op1, z1, z2=None, z3=None, z4=None, z5=None, z6=None, z7=None,
                        z8=None):
    """The string subscripts of np.einsum(op1, sublist1, op2, sublist2, ..., [output]) over
    its operands (op1, z2, z4, z6): np.einsum(A, [0, 1], B, [1, 2], [0, 2]) is "AB,BC->AC"
    (implicit output without the output sublist, as NumPy's)."""
    args = [op1, z1, z2, z3, z4, z5, z6, z7, z8]
    while args and args[-1] is None:
        args.pop()
    output = _sublist_letters(args.pop()) if len(args) % 2 else None
    inputs = ",".join(_sublist_letters(sub) for sub in args[1::2])
    return inputs if output is None else inputs + "->" + output


def einsum_open(subscripts, shape, z1, z2=None, z3=None, z4=None, z5=None, z6=None, z7=None,
                z8=None):
    """np.einsum(subscripts, z1, z2, ...) (explicit subscripts) with an output of the given
    shape, which may also repeat a letter (a diagonal, zero elsewhere), use a letter no
    operand has (the result is constant along it), or have length 1 where the operands are
    longer (summed: the adjoint of broadcasting). The derivative of an einsum with respect
    to any operand is one call of this (see rules/linalg.py)."""
    ops = [np.asarray(z) for z in (z1, z2, z3, z4, z5, z6, z7, z8) if z is not None]
    shape = tuple(shape)
    inputs, output = subscripts.replace(" ", "").split("->")
    parts = inputs.split(",")
    used = set(subscripts)
    pool = [c for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ" if c not in used]

    def ell_dims(part, ndim):
        return ndim - (len(part) - 3) if "..." in part else 0

    dims = [ell_dims(p, op.ndim) for p, op in zip(parts, ops)] + [ell_dims(output, len(shape))]
    n_ell = max(dims)
    ell, pool = "".join(pool[:n_ell]), pool[n_ell:]

    def expand(part, n):
        return part.replace("...", ell[n_ell - n:] if n else "")

    parts = [expand(p, n) for p, n in zip(parts, dims)]
    output = expand(output, dims[-1])
    sizes = {}
    for part, op in zip(parts, ops):
        for c, n in zip(part, op.shape):
            sizes[c] = max(sizes.get(c, 1), n)
    kept, extra_parts, extra_ops, seen = "", [], [], set()
    for c, n in zip(output, shape):
        if n == 1 and sizes.get(c, 1) > 1:
            continue  # summed over, restored as a length-1 axis by the reshape below
        if c in seen:
            fresh, pool = pool[0], pool[1:]
            extra_parts.append(c + fresh)
            extra_ops.append(np.eye(n))
            kept += fresh
        else:
            if sizes.get(c, 0) < n:
                extra_parts.append(c)
                extra_ops.append(np.ones(n))
                sizes[c] = n
            kept += c
        seen.add(c)
    spec = ",".join(parts + extra_parts) + "->" + kept
    out = np.einsum(spec, *ops, *extra_ops, optimize=len(ops) + len(extra_ops) > 2)
    out = np.reshape(out, shape)
    return out if shape else out[()]


def product_spec(kind, a, b, axes=2):
    """Einsum subscripts equal to np.tensordot(a, b, axes) (kind "tensordot"), np.inner(a, b)
    ("inner") or np.kron(a, b) with its result axes split in pairs ("kron")."""
    na, nb = np.ndim(a), np.ndim(b)
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if kind == "kron":
        n = max(na, nb)
        pa, pb = letters[0:2 * n:2], letters[1:2 * n:2]
        return f"{pa[n - na:]},{pb[n - nb:]}->{letters[:2 * n]}"
    if kind == "inner":
        if na == 0 or nb == 0:
            sa, sb = letters[:na], letters[na:na + nb]
            return f"{sa},{sb}->{sa}{sb}"
        sa, sb = letters[:na], letters[na:na + nb - 1] + letters[na - 1]
        return f"{sa},{sb}->{sa[:-1]}{sb[:-1]}"
    if isinstance(axes, (int, np.integer)):
        axes_a, axes_b = list(range(na - axes, na)), list(range(axes))
    else:
        axes_a, axes_b = axes
        axes_a = [axes_a] if isinstance(axes_a, (int, np.integer)) else list(axes_a)
        axes_b = [axes_b] if isinstance(axes_b, (int, np.integer)) else list(axes_b)
    axes_a, axes_b = [x % na for x in axes_a], [x % nb for x in axes_b]
    sa = list(letters[:na])
    sb = list(letters[na:na + nb])
    for i, j in zip(axes_a, axes_b):
        sb[j] = sa[i]
    out = [c for i, c in enumerate(sa) if i not in axes_a] + \
        [c for j, c in enumerate(sb) if j not in axes_b]
    return f"{''.join(sa)},{''.join(sb)}->{''.join(out)}"


def kron_shape(a, b):
    """The shape of np.kron(a, b) with each axis split in two: (a0, b0, a1, b1, ...)."""
    n = max(np.ndim(a), np.ndim(b))
    sa = (1,) * (n - np.ndim(a)) + np.shape(a)
    sb = (1,) * (n - np.ndim(b)) + np.shape(b)
    return tuple(x for pair in zip(sa, sb) for x in pair)


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("matmul_lhs", "matmul_rhs", "matmul_lhs_summed", "matmul_rhs_summed", "add_outers",
           "product", "dot_lhs", "dot_rhs",
           "einsum_spec",
           "einsum_sublist_spec",
           "einsum_open", "product_spec", "kron_shape")
