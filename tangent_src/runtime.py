"""The few helpers generated code calls. Each is self-contained NumPy so the CLI can copy it
into a standalone gradient module."""
from __future__ import annotations

import numpy as np

from .errors import (  # noqa: F401  (NotDifferentiableError is read by real_values)
    DerivativeNotImplementedError,
    DerivativeUndefinedError,
    NotDifferentiableError,
)

# what refuse() raises (generated standalone modules copy refuse() without these)
REFUSALS = (DerivativeNotImplementedError, DerivativeUndefinedError)


def unbroadcast(g, like):
    """Sum `g` over the axes NumPy broadcasting added or stretched, to the shape of `like`."""
    if isinstance(like, (tuple, list, dict)):
        return g  # containers are never broadcast
    shape = np.shape(like)
    if np.shape(g) == shape:
        return g
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g.reshape(shape) if shape else g[()]


def real_values(x):
    """`x` as a float array; a complex `x` is refused (the derivative rules that read it are
    written for real arguments, and casting would silently drop the imaginary part)."""
    x = np.asarray(x)
    if x.dtype.kind == "c":
        # NotDifferentiableError here; TypeError in a standalone copy of this helper
        refusal = globals().get("NotDifferentiableError", TypeError)
        raise refusal("a complex value met the differentiated computation; complex inputs "
                      "are not supported: write it in real arithmetic (real and imaginary "
                      "parts as float arrays)")
    return x.astype(float)


def broadcast_like(t, like):
    """A tangent `t` given the shape of `like` (forward mode: the result of broadcasting)."""
    if isinstance(like, (tuple, list, dict)):
        return t
    shape = np.shape(like)
    return t if np.shape(t) == shape else np.broadcast_to(t, shape)


def unreduce(g, like, axis=None, keepdims=False):
    """Broadcast the gradient of a reduction over `axis` back to the shape of `like`."""
    shape = np.shape(like)
    if axis is not None and not keepdims:
        axes = axis if isinstance(axis, tuple) else (axis,)
        g = np.expand_dims(g, tuple(a % len(shape) for a in axes))
    return np.broadcast_to(g, shape) if shape else g


def reduced_size(a, axis=None):
    """How many elements a reduction over `axis` combines into each result (for mean), as a
    NumPy integer so that var/std with ddof >= n divide by 0 as NumPy does (inf, then NaN,
    like their values) instead of raising ZeroDivisionError."""
    if axis is None:
        return np.int64(np.size(a))
    axes = axis if isinstance(axis, tuple) else (axis,)
    shape = np.shape(a)
    return np.int64(np.prod([shape[ax] for ax in axes]))


def extremum_mask(a, y, axis=None, keepdims=False):
    """Where `a` attains its max/min `y` (ties share the gradient evenly)."""
    hit = np.asarray(a) == unreduce(y, a, axis=axis, keepdims=keepdims)
    count = np.sum(hit, axis=axis, keepdims=True)
    return hit / count


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


def inverse_permutation(axes):
    """The axes that undo np.transpose(x, axes) (None reverses, as in NumPy; negative axes
    count from the end)."""
    return None if axes is None else tuple(np.argsort([a % len(axes) for a in axes]))


def refuse(message, undefined=False):
    """Raise the refusal of a derivative case that a rule does not implement (or, with
    `undefined`, where the derivative does not exist): a TangentError that is also a
    NotImplementedError (ValueError); in a standalone module, which has no REFUSALS, the
    built-in error."""
    not_implemented, not_defined = globals().get("REFUSALS", (NotImplementedError, ValueError))
    raise (not_defined if undefined else not_implemented)(message)


def zeros_like(x):
    """A float zero shaped like `x`; for a tuple, list or dict, the same structure of zeros."""
    if isinstance(x, tuple):
        items = tuple(zeros_like(item) for item in x)
        return type(x)(*items) if hasattr(x, "_fields") else items  # keep a named tuple
    if isinstance(x, list):
        return [zeros_like(item) for item in x]
    if isinstance(x, dict):
        return {key: zeros_like(value) for key, value in x.items()}
    if isinstance(x, (float, int)):
        return 0.0
    if hasattr(x, "__dict__") and not isinstance(x, np.ndarray):  # a parameter holder
        return {key: zeros_like(value) for key, value in vars(x).items()
                if isinstance(value, (float, np.ndarray, tuple, list, dict))}
    return np.zeros(np.shape(x))


def copy_of(x):
    """A copy of `x` that generated code may write into: an array, list or dict is copied
    (one level: add_at replaces items, it does not write into them), a number or tuple is
    returned as is. Generated code starts every in-place accumulation (add_at) from a value
    it allocated itself, never from an argument, a seed or tangent, or a global."""
    if isinstance(x, np.ndarray):
        return np.array(x, copy=True)
    if isinstance(x, list):
        return list(x)
    if isinstance(x, dict):
        return dict(x)
    return x


def add_at(acc, index, g):
    """`acc[index] += g` for an adjoint accumulator; repeated indices add up. It writes into
    `acc`, which generated code always allocated itself (see copy_of)."""
    if isinstance(index, str) and not isinstance(acc, dict):
        return add_attribute(acc, index, g)
    if isinstance(acc, tuple):
        items = list(acc)
        items[index] = plus(items[index], g)
        return type(acc)(*items) if hasattr(acc, "_fields") else tuple(items)
    if isinstance(acc, (list, dict)):
        acc[index] = plus(acc[index], g)
        return acc
    if isinstance(index, (int, np.integer, slice)) or (
            isinstance(index, tuple) and all(isinstance(i, (int, np.integer, slice))
                                             for i in index)):
        acc[index] += g
    else:
        np.add.at(acc, index, g)
    return acc


def add_attribute(acc, name, g):
    """acc plus the adjoint g of `value.name`: a field of a named tuple (slogdet's
    .logabsdet), or an attribute of a real array (.T, .mT, .real, .imag)."""
    if isinstance(acc, tuple):
        fields = getattr(acc, "_fields", ())
        return add_at(acc, fields.index(name) if name in fields else tuple_field(name), g)
    if not isinstance(acc, (np.ndarray, float, int)):
        refuse(f"the derivative of the attribute .{name} of a {type(acc).__name__}")
    if name == "real":
        return acc + g
    if name == "imag":  # constant zero for a real array
        return acc
    if name in ("T", "mT"):
        return acc + (np.transpose(g) if name == "T" else np.swapaxes(g, -1, -2))
    refuse(f"the derivative of the attribute .{name} of an array")


def plus(a, b):
    """a + b, item by item for tuples, lists and dicts of arrays (pytree adjoints); a plain
    0.0 stands for a zero of any structure."""
    if _is_zero(b) and not _is_zero(a):
        return a
    if _is_zero(a) and isinstance(b, (dict, tuple, list)):
        return b
    if isinstance(a, dict):  # keys missing on one side are zeros there
        keys = list(a) + [key for key in b if key not in a]
        return {key: plus(a.get(key, 0.0), b.get(key, 0.0)) for key in keys}
    if isinstance(a, (tuple, list)):
        return type(a)(plus(x, y) for x, y in zip(a, b))
    return a + b


def _is_zero(x) -> bool:
    return isinstance(x, float) and x == 0.0


def set_at(a, index, value):
    """A copy of `a` with `a[index] = value` (an array write, made functional so every
    earlier version stays intact for the backward pass)."""
    if isinstance(a, dict):
        out = dict(a)
        out[index] = value
        return out
    if isinstance(a, list):
        out = list(a)
        out[index] = value
        return out
    out = np.array(a, dtype=np.result_type(a, value), copy=True)
    out[index] = value
    return out


def zero_at(g, index):
    """A copy of `g` with `g[index] = 0`: the adjoint that flows past an overwrite."""
    return set_at(g, index, 0.0)


def replicate(g, items):
    """The adjoint of sum(items): g for every item (reduced to the item's shape)."""
    return [unbroadcast(g, item) for item in items]


def zeros_like_last(tape, like):
    """A zero adjoint for the value a name held before its current one: shaped like the
    last value left on its tape (an earlier loop iteration), else like `like`."""
    return zeros_like(tape[-1] if tape else like)


def checkpoint_every(count, every):
    """Iterations between stored loop states: `every`, or about sqrt(count) when 0."""
    if every:
        return int(every)
    return max(1, int(round(max(count, 1) ** 0.5)))


def attribute_tangent(t, name):
    """The tangent of `obj.name` given the tangent of `obj` (a dict or a like object; for
    a tuple, a field of the named tuple `obj` is)."""
    if isinstance(t, tuple) and not hasattr(t, "_fields"):
        return t[tuple_field(name)]
    return t[name] if isinstance(t, dict) else getattr(t, name)


def read_at(x, index):
    """x[index]; for a str index, the field or attribute `index` (an adjoint read back by
    the rules of add_at: `.logabsdet` of slogdet's result, `.real` of an array)."""
    return attribute_tangent(x, index) if isinstance(index, str) else x[index]


def tuple_field(name):
    """The position of field `name` of the named tuples NumPy's linear algebra returns
    (slogdet, eigh, svd, qr), whose derivatives the rules build as plain tuples."""
    fields = {"sign": 0, "logabsdet": 1, "eigenvalues": 0, "eigenvectors": 1, "U": 0,
              "S": 1, "Vh": 2, "Q": 0, "R": 1}
    if name not in fields:
        refuse(f"the derivative of the field .{name} of a tuple; index it instead")
    return fields[name]


def convert_like(items, like):
    """`items` as the same kind of value as `like`: a list, a tuple, or an array (the
    adjoint of an array made from a list, or of a list read as an array)."""
    if isinstance(like, list):
        return list(items)
    if isinstance(like, tuple):
        return tuple(items)
    return np.reshape(np.asarray(items, dtype=float), np.shape(like))


def dict_keys(mapping):
    """The keys of a dict, in order, as a list (for `for k in d.keys()/items()/values()`)."""
    return list(mapping)


def left_part(g, left):
    """The adjoint of `left` in the concatenation `left + right` of lists or tuples."""
    return convert_like(g[:len(left)], left)


def right_part(g, left):
    """The adjoint of `right` in the concatenation `left + right` of lists or tuples."""
    return convert_like(g[len(left):], g)


HELPERS = ("unbroadcast", "broadcast_like", "unreduce", "reduced_size", "extremum_mask",
           "dot_lhs", "dot_rhs", "matmul_lhs", "matmul_rhs", "inverse_permutation",
           "zeros_like", "zeros_like_last", "add_at", "copy_of", "product",
           "set_at", "zero_at", "plus", "replicate", "checkpoint_every",
           "attribute_tangent", "read_at", "convert_like", "dict_keys", "left_part",
           "right_part")


# --- helpers for the NumPy rule families (elementwise, reductions); each has rules of its own
# in rules/runtime_rules.py, or is declared nondifferentiable there.


def clip_part(a, a_min, a_max, part, min=None, max=None):
    """Where np.clip(a, a_min, a_max) takes its value from `part` ("a", "lo" or "hi"), as
    0/1 floats of the result's shape; `a` wins ties. `min`/`max` are NumPy 2's spellings."""
    lo = a_min if a_min is not None else min
    hi = a_max if a_max is not None else max
    a = np.asarray(a)
    low = a if lo is None else np.maximum(a, lo)
    from_hi = np.zeros(np.shape(low), dtype=bool) if hi is None else low > hi
    from_lo = np.zeros(np.shape(low), dtype=bool) if lo is None else (lo > a) & ~from_hi
    mask = {"a": ~(from_hi | from_lo), "lo": from_lo, "hi": from_hi}[part]
    shape = np.broadcast_shapes(np.shape(a), np.shape(lo), np.shape(hi))
    out = np.broadcast_to(mask, shape).astype(float)
    return out if shape else out[()]


def sinc_derivative(x, n):
    """The n-th derivative of np.sinc at x: a Maclaurin series near 0, Leibniz's rule for
    sin(u) * (1/u) elsewhere; exact at 0 to every order."""
    import math
    u = np.pi * real_values(x)
    small = np.abs(u) < 1.0
    us, ul = np.where(small, u, 0.0), np.where(small, 1.0, u)
    series = np.zeros(np.shape(u))
    for j in range((n + 1) // 2, (n + 1) // 2 + 20):
        coef = (-1) ** j * math.factorial(2 * j) / (
            math.factorial(2 * j - n) * math.factorial(2 * j + 1))
        series = series + coef * us ** (2 * j - n)
    leibniz = np.zeros(np.shape(u))
    for k in range(n + 1):
        m = n - k
        leibniz = leibniz + math.comb(n, k) * np.sin(ul + k * np.pi / 2) * (
            (-1) ** m * math.factorial(m) / ul ** (m + 1))
    out = np.where(small, series, leibniz) * np.pi ** n
    return out if np.ndim(x) else out[()]


def group_axes(a, axis=None):
    """`a` with the reduced `axis` (an int, a tuple, or None for all) moved to the end and
    flattened into one: shape (kept..., n)."""
    a = np.asarray(a)
    if axis is None:
        return np.reshape(a, (-1,))
    axes = [ax % a.ndim for ax in (axis if isinstance(axis, tuple) else (axis,))]
    kept = [i for i in range(a.ndim) if i not in axes]
    moved = np.transpose(a, kept + axes)
    return np.reshape(moved, moved.shape[:len(kept)] + (-1,))


def ungroup_axes(v, like, axis=None):
    """The inverse of group_axes(like, axis): `v` of shape (kept..., n) in like's shape."""
    shape = np.shape(like)
    if axis is None:
        return np.reshape(v, shape)
    axes = [ax % len(shape) for ax in (axis if isinstance(axis, tuple) else (axis,))]
    kept = [i for i in range(len(shape)) if i not in axes]
    moved = np.reshape(v, tuple(shape[i] for i in kept + axes))
    return np.transpose(moved, tuple(int(i) for i in np.argsort(kept + axes)))


def masked_rows(v, fill, kind):
    """(..., n) -> (..., n, n): row i is `v` with the entries k outside row i's mask set to
    `fill`; the mask keeps k != i (kind "others") or k <= i (kind "prefix")."""
    v = np.asarray(v)
    i, k = np.indices((v.shape[-1],) * 2)
    keep = k != i if kind == "others" else k <= i
    return np.where(keep, v[..., None, :], fill)


def masked_rows_t(h, kind):
    """The transpose of masked_rows(., 0.0, kind): (..., n, n) -> (..., n), the sum over rows
    i of h[..., i, k] where row i's mask keeps k."""
    h = np.asarray(h)
    i, k = np.indices(h.shape[-2:])
    keep = k != i if kind == "others" else k <= i
    return np.sum(np.where(keep, h, 0.0), axis=-2)


def prod_others(v):
    """Along the last axis, the product of all the other entries (no division, so exact
    where entries are zero)."""
    v = np.asarray(v)
    ones = np.ones(v.shape[:-1] + (1,), dtype=v.dtype)
    left = np.cumprod(np.concatenate([ones, v[..., :-1]], axis=-1), axis=-1)
    right = np.cumprod(np.concatenate([ones, v[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
    return left * right


def cumsum_t(g, like, axis=None):
    """The transpose of np.cumsum(., axis): sums from each position to the end along `axis`
    (the flattened array for None), in like's shape."""
    g = np.asarray(g)
    if axis is None:
        g, axis = np.reshape(g, (-1,)), 0
    out = np.flip(np.cumsum(np.flip(g, axis), axis=axis), axis)
    return np.reshape(out, np.shape(like))


def average_weights(w, a, axis=None):
    """np.average's weights, shaped to broadcast against `a` (ones for None)."""
    shape = np.shape(a)
    if w is None:
        return np.ones(shape)
    if np.shape(w) == shape:
        return w
    axes = [ax % len(shape) for ax in (axis if isinstance(axis, tuple) else (axis,))]
    if axes != sorted(axes):
        refuse("average: with weights, give the axes in increasing order", undefined=True)
    return np.reshape(w, tuple(n if i in axes else 1 for i, n in enumerate(shape)))


def _elementwise(out):
    """A 0-d result as a NumPy scalar (the helpers below keep scalars scalar)."""
    return out[()] if np.ndim(out) == 0 else out


def reciprocal_or_zero(x):
    """1 / x, taken as 0 where x == 0: the factor 1 / |v| of the derivative v / |v| of a norm,
    std or hypot, whose numerator is 0 there too (the subgradient of least norm, 0)."""
    x = np.asarray(x) + 0.0
    zero = x == 0
    return _elementwise(np.where(zero, 0.0, 1.0 / np.where(zero, 1.0, x)))


def log_or_zero(x):
    """log(x), taken as 0 where x == 0: the factor of d/db a**b = a**b log(a), which JAX
    takes as 0 at a = 0 (a**b is 0 there for every b > 0)."""
    x = np.asarray(x) + 0.0
    zero = x == 0
    return _elementwise(np.where(zero, 0.0, np.log(np.where(zero, 1.0, x))))


def pow_term(a, e):
    """a ** e in floating point without warnings or ZeroDivisionError (0 ** -1 is inf)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return _elementwise(np.power(np.asarray(a) + 0.0, e))


def falling(b, n, m=0):
    """The m-th derivative in b of the falling factorial b (b - 1) ... (b - n + 1) (n
    factors): the coefficient of the n-th derivative of a ** b."""
    coefficients = np.polyder(np.poly(np.arange(int(n), dtype=float)), int(m)) \
        if int(m) else np.poly(np.arange(int(n), dtype=float))
    return _elementwise(np.polyval(np.atleast_1d(coefficients), np.asarray(b) + 0.0))


def power_slope(a, b, n=1):
    """The n-th derivative of a ** b in a: falling(b, n) * a ** (b - n), taken as 0 where
    falling(b, n) is 0 (b = 0, 1, ..., n - 1: a ** b is then a polynomial of degree below
    n, also at a = 0, where the formula reads 0 * inf)."""
    coefficient = np.asarray(falling(b, n))
    zero = coefficient == 0
    exponent = np.where(zero, 1.0, np.asarray(b) - n)
    return _elementwise(np.where(zero, 0.0, coefficient * pow_term(a, exponent)))


def real_only(t):
    """The tangent of np.real(z): `t` itself for real `t`; a complex `t` is refused, since it
    means a complex value met the differentiated computation upstream, where the rules
    (written for real arguments: abs, norm, ...) may already be wrong (taking the real part
    would hide it)."""
    if np.iscomplexobj(t):
        real_values(t)  # raises
    return t


def linspace_weights(start, stop, num=50, endpoint=True, axis=0):
    """The weights t of np.linspace(start, stop, num, endpoint, axis) = (1 - t) start + t stop,
    with the result's shape (they do not depend on start and stop)."""
    shape = np.broadcast_shapes(np.shape(start), np.shape(stop))
    return np.linspace(np.zeros(shape), np.ones(shape), num, endpoint=endpoint, axis=axis)


HELPERS += ("real_only", "linspace_weights", "reciprocal_or_zero", "log_or_zero", "pow_term",
            "falling", "power_slope")


HELPERS += ("clip_part", "sinc_derivative", "group_axes", "ungroup_axes", "masked_rows",
            "masked_rows_t", "prod_others", "cumsum_t", "average_weights")


# --- helpers for linear algebra, shape functions and scipy.special (rules/linalg.py,
# rules/shaping.py, rules/special.py). Each is self-contained NumPy; each has reverse and
# forward rules in rules/runtime_rules.py or is declared nondifferentiable there.


def einsum_spec(subscripts, operand=0):
    """Explicit einsum subscripts for `subscripts` ("ij,jk" -> "ij,jk->ik", NumPy's implicit
    output); with operand=k >= 1, the subscripts of the adjoint with respect to operand k:
    its output is operand k's subscripts, its inputs the old output and the other operands,
    in order ("ij,jk->ik", 1 -> "ik,jk->ij")."""
    if not isinstance(subscripts, str):
        refuse("the derivative of np.einsum in the operand/sublist form; "
               "pass the subscripts as a string")
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


def undiagonal(g, like, offset=0, axis1=0, axis2=1):
    """An array shaped like `like`, zero except for its diagonal (offset, axis1, axis2), which
    holds g (shaped like np.diagonal's result): the adjoint of np.diagonal."""
    out = np.zeros(np.shape(like), dtype=np.result_type(np.asarray(g).dtype, float))
    moved = np.moveaxis(out, (axis1, axis2), (-2, -1))
    n = np.shape(np.diagonal(moved, offset, -2, -1))[-1]
    i = np.arange(n)
    moved[..., i + max(-offset, 0), i + max(offset, 0)] = g
    return out


def diag_adjoint(g, v, k=0):
    """The adjoint of np.diag(v, k): the k-th diagonal of g for a vector v, and for a
    matrix v an array shaped like v that holds g on its k-th diagonal."""
    if np.ndim(v) == 1:
        return np.diagonal(g, k).copy()
    out = np.zeros(np.shape(v), dtype=np.result_type(np.asarray(g).dtype, float))
    i = np.arange(np.size(g))
    out[i + max(-k, 0), i + max(k, 0)] = g
    return out


def pair_diff(w):
    """D[..., i, j] = w[..., j] - w[..., i]: the gaps between eigen- or singular values."""
    w = np.asarray(w)
    return w[..., None, :] - w[..., :, None]


def inv_offdiag(d):
    """1 / d off the diagonal of the last two axes, 0 on it (infinite where two eigen- or
    singular values coincide: there the vectors are not differentiable)."""
    d = real_values(d)
    eye = np.eye(np.shape(d)[-1], dtype=bool)
    with np.errstate(divide="ignore"):
        return np.where(eye, 0.0, 1.0 / np.where(eye, 1.0, d))


def symmetrize(x, upper=False):
    """The symmetric matrix that np.linalg.eigh / cholesky read from x: its lower triangle
    mirrored (`upper` true or "U": its upper triangle)."""
    upper = upper == "U" if isinstance(upper, str) else bool(upper)
    if upper:
        return np.triu(x) + np.swapaxes(np.triu(x, 1), -1, -2)
    return np.tril(x) + np.swapaxes(np.tril(x, -1), -1, -2)


def symmetrize_t(g, upper=False):
    """The adjoint of symmetrize: g's triangle plus the mirror of the other one."""
    upper = upper == "U" if isinstance(upper, str) else bool(upper)
    gt = np.swapaxes(g, -1, -2)
    if upper:
        return np.triu(g) + np.triu(gt, 1)
    return np.tril(g) + np.tril(gt, -1)


def transpose_if(x, trans=False):
    """np.swapaxes(x, -1, -2) if trans (True, 1, 2, "T" or "C"), else x."""
    if not trans or trans == "N":
        return x
    return np.swapaxes(x, -1, -2)


def triangle(a, lower=False, unit_diagonal=False):
    """The triangle of `a` that scipy.linalg.solve_triangular reads (its diagonal zeroed when
    unit_diagonal; add unit_eye for the ones)."""
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        t = t - np.tril(np.triu(t))
    return t


def unit_eye(a, unit_diagonal=False):
    """The identity shaped like the matrix `a` if unit_diagonal, else 0.0."""
    return np.eye(np.shape(a)[-1]) if unit_diagonal else 0.0


def svd_checked(x, a, full_matrices=True):
    """x, a factor of np.linalg.svd(a, full_matrices), after checking that the factors are
    differentiable: full_matrices=False, or a square `a` (else the extra singular vectors
    are not unique)."""
    m, n = np.shape(a)[-2:]
    if full_matrices and m != n:
        refuse("the derivative of np.linalg.svd(a, full_matrices=True) is defined "
               "only for square a; pass full_matrices=False", undefined=True)
    return x


def solve_checked(x, a, b):
    """x, after checking that np.linalg.solve(a, b) is not a 1-D b solved against a stack of
    matrices (NumPy 2 broadcasts it; its derivative is not implemented)."""
    if np.ndim(b) == 1 and np.ndim(a) > 2:
        refuse("the derivative of np.linalg.solve(a, b) with a stacked `a` "
               "and a 1-D `b`; pass b[..., None] (and take [..., 0])")
    return x


def qr_checked(x, a, mode="reduced"):
    """x, a factor of np.linalg.qr(a, mode), after checking that the factorization is one
    whose derivative is implemented: mode "reduced" (or "complete" with a square `a`), m >= n."""
    m, n = np.shape(a)[-2:]
    if mode not in ("reduced", "complete") or m < n or (mode == "complete" and m != n):
        refuse(f"the derivative of np.linalg.qr is implemented for mode='reduced' "
               f"and m >= n, not mode={mode!r} with shape {np.shape(a)}",
               undefined=True)
    return x


def pad_checked(t, mode="constant"):
    """t, the tangent of np.pad's array, after checking that np.pad is linear in the array
    for `mode` (maximum, minimum and median pick the border by value, not by position)."""
    if mode not in ("constant", "edge", "reflect", "symmetric", "wrap", "mean", "linear_ramp"):
        refuse(f"the derivative of np.pad with mode={mode!r}")
    return t


def cross_checked(x, a, b):
    """x, after checking that np.cross(a, b) is of 3-vectors (the rules' case; 2-vectors
    have a scalar cross product)."""
    if np.shape(a)[-1:] != (3,) or np.shape(b)[-1:] != (3,):
        refuse("the derivative of np.cross of 2-vectors; pad them with a zero third "
               "component")
    return x


def block_embed(g, i, j):
    """A (2n, 2n) matrix (stacked over leading axes) that is zero except block (i, j) = g."""
    g = np.asarray(g)
    n = np.shape(g)[-1]
    out = np.zeros(np.shape(g)[:-2] + (2 * n, 2 * n), dtype=np.result_type(g.dtype, float))
    out[..., i * n:(i + 1) * n, j * n:(j + 1) * n] = g
    return out


def block_part(c, i, j):
    """Block (i, j) of a (2n, 2n) matrix (stacked over leading axes)."""
    n = np.shape(c)[-1] // 2
    return c[..., i * n:(i + 1) * n, j * n:(j + 1) * n]


def norm_dual(x, y, ord=None, axis=None, keepdims=False, kind="norm"):
    """The derivative of y = np.linalg.norm(x, ord, axis, keepdims) with respect to x, shaped
    like x: dy = sum(norm_dual * dx) over the reduced axes (kind "vector" / "matrix":
    np.linalg.vector_norm / matrix_norm). Conventions: 0 where the norm is 0 (the
    subgradient of least norm); ties of max/min-type norms share equally."""
    x = real_values(x)
    nd = x.ndim
    if kind == "matrix":
        axes = (nd - 2, nd - 1)
    elif axis is None:
        axes = tuple(range(nd))
    else:
        axes = tuple(a % nd for a in (axis if isinstance(axis, tuple) else (axis,)))
    matrix = kind == "matrix" or (kind == "norm" and ord is not None and len(axes) == 2)
    big = np.broadcast_to(y if keepdims else np.expand_dims(y, axes), x.shape)
    if ord is None or ord == "fro" or (ord == 2 and not matrix):
        return x / np.where(big == 0, 1.0, big)
    sign = np.sign(x)
    if not matrix:
        if ord == 1:
            return sign
        if ord in (np.inf, -np.inf):
            hit = np.abs(x) == big
            return sign * hit / np.sum(hit, axis=axes, keepdims=True)
        if ord == 0:  # the number of nonzero entries: piecewise constant
            return np.zeros(x.shape)
        if isinstance(ord, (int, float, np.integer, np.floating)):
            return sign * (np.abs(x) / np.where(big == 0, 1.0, big)) ** (ord - 1)
        refuse(f"the derivative of the vector norm ord={ord!r}")
    r, c = axes
    if ord in (1, -1, np.inf, -np.inf):
        along = r if ord in (1, -1) else c
        sums = np.sum(np.abs(x), axis=along, keepdims=True)
        hit = sums == np.take(big, [0], axis=along)
        return sign * hit / np.sum(hit, axis=(r, c), keepdims=True)
    if ord in (2, -2, "nuc"):
        u, s, vh = np.linalg.svd(np.moveaxis(x, (r, c), (-2, -1)), full_matrices=False)
        if ord == "nuc":
            w = np.ones_like(s)
        else:
            hit = s == (np.max(s, axis=-1, keepdims=True) if ord == 2 else
                        np.min(s, axis=-1, keepdims=True))
            w = hit / np.sum(hit, axis=-1, keepdims=True)
        return np.moveaxis((u * w[..., None, :]) @ vh, (-2, -1), (r, c))
    refuse(f"the derivative of the matrix norm ord={ord!r}")


def norm_inv(x, y, ord=None, axis=None, keepdims=False, kind="norm"):
    """1 / y broadcast to x's shape for the 2-norm and the Frobenius norm (0 where y is 0:
    second derivatives at 0 are 0, as for std and hypot; docs/conventions.md),
    0 for the other norms: norm_dual is x * norm_inv plus a piecewise-constant part (or, for
    the spectral and nuclear norms, a part built from singular vectors)."""
    x = real_values(x)
    nd = x.ndim
    if kind == "matrix":
        axes = (nd - 2, nd - 1)
    elif axis is None:
        axes = tuple(range(nd))
    else:
        axes = tuple(a % nd for a in (axis if isinstance(axis, tuple) else (axis,)))
    matrix = kind == "matrix" or (kind == "norm" and ord is not None and len(axes) == 2)
    if not (ord is None or ord == "fro" or (ord == 2 and not matrix)):
        return np.zeros(x.shape)
    big = np.broadcast_to(y if keepdims else np.expand_dims(y, axes), x.shape)
    return reciprocal_or_zero(big)


def norm_curvature_check(x, ord=None, axis=None, kind="norm"):
    """0.0 where second derivatives of the norm are implemented (the 2-norm and Frobenius
    norm, through norm_inv, and the piecewise-linear norms, whose duals are constant);
    raises for the spectral and nuclear matrix norms and the vector p-norms of other p."""
    nd = np.ndim(x)
    n_axes = nd if axis is None else len(axis) if isinstance(axis, tuple) else 1
    matrix = kind == "matrix" or (kind == "norm" and ord is not None and n_axes == 2)
    if matrix and ord in (2, -2, "nuc"):
        refuse(f"second derivatives of the matrix norm ord={ord!r}")
    if not matrix and ord not in (None, "fro", 0, 1, 2, np.inf, -np.inf):
        refuse(f"second derivatives of the vector norm ord={ord!r}")
    return 0.0


def norm_axes(axis=None, kind="norm"):
    """The axes a norm reduces: (-2, -1) for np.linalg.matrix_norm, else `axis`."""
    return (-2, -1) if kind == "matrix" else axis


def one_if_none(b):
    """b, or 1.0 for None (logsumexp's optional weights)."""
    return 1.0 if b is None else b


def sum_to(g, shape):
    """Sum g over the axes that np.broadcast_to(x, np.shape(g)) added or stretched, for an x
    of the given shape (the adjoint of np.broadcast_to)."""
    shape = (int(shape),) if np.ndim(shape) == 0 else tuple(int(n) for n in shape)
    g = np.asarray(g)
    extra = g.ndim - len(shape)
    if extra > 0:
        g = g.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if stretched:
        g = g.sum(axis=stretched, keepdims=True)
    return g.reshape(shape) if shape else g[()]


def pieces(g, arrays, kind="concatenate", axis=0):
    """The adjoint of joining `arrays` into g with np.concatenate (`axis`; None flattens),
    np.stack, np.hstack, np.vstack, np.dstack or np.column_stack (`kind`): one piece of g per
    array, shaped like it, in a tuple (a single array stands for the sequence of its rows)."""
    g = np.asarray(g)
    if kind == "stack":
        return tuple(np.take(g, k, axis=axis) for k in range(np.shape(g)[axis]))
    if not isinstance(arrays, (tuple, list)):  # an array: the sequence of its rows
        return np.reshape(np.stack(pieces(g, tuple(arrays), kind, axis)), np.shape(arrays))
    shapes = [np.shape(a) for a in arrays]
    if kind == "concatenate":
        if axis is None:
            g, axis, grown = np.ravel(g), 0, [(int(np.prod(s)),) for s in shapes]
        else:
            grown = shapes
    elif kind == "hstack":
        grown = [s or (1,) for s in shapes]
        axis = 0 if len(grown[0]) == 1 else 1
    elif kind == "vstack":
        grown = [(1,) * (2 - len(s)) + s if len(s) < 2 else s for s in shapes]
        axis = 0
    elif kind == "dstack":
        grown = [{0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}.get(len(s), s)
                 for s in shapes]
        axis = 2
    else:  # column_stack
        grown = [s + (1,) if len(s) == 1 else s or (1, 1) for s in shapes]
        axis = 1
    ends = np.cumsum([s[axis] for s in grown])
    parts = np.split(g, ends[:-1], axis=axis)
    out = tuple(np.reshape(p, s) if s else np.reshape(p, ())[()] for p, s in zip(parts, shapes))
    return out


def join(parts, kind="concatenate", axis=0):
    """np.concatenate(parts, axis) / np.hstack / vstack / dstack / column_stack / stack by
    `kind`: the adjoint of pieces."""
    if kind == "concatenate":
        return np.concatenate(parts, axis=axis)
    if kind == "stack":
        return np.stack(parts, axis=axis)
    return {"hstack": np.hstack, "vstack": np.vstack, "dstack": np.dstack,
            "column_stack": np.column_stack}[kind](parts)


def untile(g, a, reps):
    """The adjoint of np.tile(a, reps): g summed over its repetitions, shaped like a."""
    reps = (reps,) if np.ndim(reps) == 0 else tuple(reps)
    shape = np.shape(a)
    n = max(len(shape), len(reps))
    full = (1,) * (n - len(shape)) + shape
    reps = (1,) * (n - len(reps)) + reps
    split = np.reshape(g, tuple(x for pair in zip(reps, full) for x in pair))
    out = np.reshape(np.sum(split, axis=tuple(range(0, 2 * n, 2))), shape)
    return out if shape else out[()]


def unrepeat(g, a, repeats, axis=None):
    """The adjoint of np.repeat(a, repeats, axis): g summed over each element's copies."""
    g = np.asarray(g)
    if axis is None:
        target = (np.size(a),)
        axis = 0
    else:
        target = np.shape(a)
        axis = axis % len(target)
    n = target[axis]
    counts = np.broadcast_to(np.asarray(repeats), (n,))
    owner = np.repeat(np.arange(n), counts)
    moved = np.moveaxis(g, axis, 0)
    out = np.zeros((n,) + moved.shape[1:], dtype=np.result_type(g.dtype, float))
    np.add.at(out, owner, moved)
    return np.reshape(np.moveaxis(out, 0, axis), np.shape(a))


def unpad(g, array, pad_width, mode="constant"):
    """The adjoint of np.pad(array, pad_width, mode): every element of g added to the element
    of `array` it was copied from (padding constants receive nothing)."""
    if mode not in ("constant", "edge", "reflect", "symmetric", "wrap"):
        refuse(f"the derivative of np.pad with mode={mode!r}")
    shape = np.shape(array)
    size = int(np.prod(shape))
    source = np.arange(size).reshape(shape)
    if mode == "constant":
        index = np.pad(source, pad_width, mode="constant", constant_values=-1)
    else:
        index = np.pad(source, pad_width, mode=mode)
    index, weights = np.ravel(index), np.ravel(g)
    keep = index >= 0
    out = np.bincount(index[keep], weights=weights[keep], minlength=size)
    return np.reshape(out, shape)


def untake(g, a, indices, axis=None):
    """The adjoint of np.take(a, indices, axis): g added at the taken places (repeats add)."""
    out = np.zeros(np.size(a) if axis is None else np.shape(a),
                   dtype=np.result_type(np.asarray(g).dtype, float))
    if axis is None:
        np.add.at(out, indices, g)
        return np.reshape(out, np.shape(a))
    axis = axis % np.ndim(a)
    index = (slice(None),) * axis + (indices,)
    np.add.at(out, index, g)
    return out


def untake_along_axis(g, arr, indices, axis=-1):
    """The adjoint of np.take_along_axis(arr, indices, axis): g added at the taken places."""
    g = np.asarray(g)
    if axis is None:
        out = np.zeros(np.size(arr), dtype=np.result_type(g.dtype, float))
        np.add.at(out, np.ravel(indices), np.ravel(g))
        return np.reshape(out, np.shape(arr))
    out = np.zeros(np.shape(arr), dtype=np.result_type(g.dtype, float))
    axis = axis % out.ndim
    indices = np.asarray(indices)
    grid = list(np.indices(indices.shape, sparse=True))
    grid[axis] = indices
    np.add.at(out, tuple(grid), g)
    return out


def unarray(g, obj):
    """The adjoint of np.array(obj) / np.asarray(obj): g split back into obj's nesting of
    tuples and lists (a tuple per level), each leaf shaped like the value it came from."""
    if isinstance(obj, (tuple, list)):
        return tuple(unarray(g[k], item) for k, item in enumerate(obj))
    if np.ndim(obj) == 0 and not isinstance(obj, np.ndarray):
        return np.asarray(g)[()]
    return np.reshape(g, np.shape(obj))


def polygamma_np(n, x):
    """The polygamma function psi^(n)(x) (n = 0: digamma), in NumPy: shifted by the recurrence
    psi^(n)(x) = psi^(n)(x + 1) - (-1)^n n! / x^(n + 1) until x >= 12 + n, then the
    asymptotic series (relative error ~1e-16 for x > 0; poles at 0, -1, -2, ...)."""
    import math
    n = int(n)
    x = real_values(x)
    start = 12.0 + n
    shift = np.where(np.isfinite(x), np.maximum(np.ceil(start - x), 0.0), 0.0)
    total = np.zeros(np.shape(x))
    sign = -1.0 if n % 2 else 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        for k in range(int(np.max(shift, initial=0.0))):
            here = k < shift
            xk = np.where(here, x + k, 1.0)
            total = total - np.where(here, sign * math.factorial(n) / xk ** (n + 1), 0.0)
        z = x + shift
        bernoulli = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6,
                     -3617 / 510, 43867 / 798, -174611 / 330)
        if n == 0:
            series = np.log(z) - 0.5 / z
            for k, b in enumerate(bernoulli, start=1):
                series = series - b / (2 * k * z ** (2 * k))
        else:
            series = math.factorial(n - 1) / z ** n + math.factorial(n) / (2 * z ** (n + 1))
            for k, b in enumerate(bernoulli, start=1):
                series = series + b * math.factorial(2 * k + n - 1) / (
                    math.factorial(2 * k) * z ** (2 * k + n))
            series = series * (1.0 if n % 2 else -1.0)
    out = total + series
    return out if np.ndim(out) else out[()]


HELPERS += (
    "einsum_spec", "einsum_open", "product_spec", "kron_shape", "undiagonal", "diag_adjoint",
    "pair_diff", "inv_offdiag", "symmetrize", "symmetrize_t", "transpose_if", "triangle",
    "unit_eye", "svd_checked", "qr_checked", "solve_checked", "block_embed",
    "block_part", "pad_checked", "cross_checked", "norm_dual", "norm_inv",
    "norm_curvature_check", "norm_axes",
    "one_if_none",
    "sum_to", "pieces", "join", "untile", "unrepeat", "unpad", "untake",
    "untake_along_axis", "unarray", "polygamma_np")


def expm_np(a):
    """The matrix exponential of `a` (stacked over leading axes), in NumPy: scaling and
    squaring with the [13/13] Pade approximant (Higham 2005)."""
    a = real_values(a)
    n = a.shape[-1]
    norm = float(np.max(np.sum(np.abs(a), axis=-2), initial=0.0))
    squarings = max(0, int(np.ceil(np.log2(norm / 5.371920351148152)))) if norm > 0 else 0
    a = a / 2.0 ** squarings
    b = (64764752532480000.0, 32382376266240000.0, 7771770303897600.0, 1187353796428800.0,
         129060195264000.0, 10559470521600.0, 670442572800.0, 33522128640.0, 1323241920.0,
         40840800.0, 960960.0, 16380.0, 182.0, 1.0)
    eye = np.eye(n)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 +
             b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + \
        b[0] * eye
    out = np.linalg.solve(v - u, v + u)
    for _ in range(squarings):
        out = out @ out
    return out


HELPERS += ("expm_np",)


# --- np.r_ / np.c_ (and any NumPy AxisConcatenator): `np.r_[a, 1:3, b]` is lowered to
# `index_concat(np.r_, (a, slice(1, 3), b))`. The result is a rearrangement of the value
# items (arrays, numbers, lists) next to constants made from the slices, so it is affine
# in the value items: the tangent is f(tangents) - f(zeros), and each item's adjoint reads
# g where a labelled probe of that item lands.


def _is_value_item(item) -> bool:
    """An item of np.r_[...] that holds values (not a slice or a directive string)."""
    return not isinstance(item, (slice, str))


def _zeroed_items(items) -> tuple:
    return tuple(np.zeros(np.shape(i)) if _is_value_item(i) else i for i in items)


def index_concat(maker, items):
    """`maker[items]` for np.r_ / np.c_, refusing the np.matrix results of 'r'/'c'."""
    out = maker[tuple(items)]
    if isinstance(out, np.matrix):
        raise TypeError("np.r_['r', ...] / np.r_['c', ...] build np.matrix, which "
                        "tangent_src does not differentiate; use np.r_['0,2', ...]")
    return out


def index_concat_jvp(maker, items, tangents):
    """The tangent of index_concat(maker, items) for the tangents of its value items."""
    moved = tuple(t if _is_value_item(i) else i for i, t in zip(items, tangents))
    zeroed = _zeroed_items(items)
    return np.asarray(maker[moved], dtype=float) - np.asarray(maker[zeroed], dtype=float)


def index_concat_vjp(g, maker, items):
    """The adjoint of index_concat(maker, items): per item, the part of g it filled,
    shaped like the item (0.0 for slices and directive strings)."""
    zeroed = _zeroed_items(items)
    base = np.asarray(maker[zeroed], dtype=float)
    g = np.broadcast_to(g, base.shape)
    parts = []
    for k, item in enumerate(items):
        if not _is_value_item(item):
            parts.append(0.0)
            continue
        shape = np.shape(item)
        size = int(np.prod(shape))
        probe = list(zeroed)
        probe[k] = np.arange(1.0, size + 1.0).reshape(shape)
        where = np.asarray(maker[tuple(probe)], dtype=float) - base
        hit = where != 0
        part = np.zeros(size)
        np.add.at(part, where[hit].astype(np.intp) - 1, g[hit])
        parts.append(part.reshape(shape) if shape else part[0])
    return tuple(parts)


HELPERS += ("index_concat", "index_concat_jvp", "index_concat_vjp")


# --- arrays filled from values (rules/constructors.py): np.linspace is affine in start and
# stop with weights `ramp`; np.arange(start, stop, step) is start + k * step (its length is
# piecewise constant in the arguments, so it has no derivative).


def linspace_ramp(num, endpoint=True, like=0.0):
    """The weights t_k of np.linspace(start, stop, num) = (1 - t) * start + t * stop, shaped
    to broadcast against start/stop arrays shaped like `like` (axis 0)."""
    ramp = np.linspace(0.0, 1.0, num, endpoint=endpoint)
    return np.reshape(ramp, (-1,) + (1,) * np.ndim(like))


def arange_count(y, stop):
    """k for each element of y = np.arange(start, stop, step); with one argument (stop is
    None: the argument was the stop) zeros, since then no argument moves the values."""
    if stop is None:
        return np.zeros(np.shape(y))
    return np.arange(float(np.shape(y)[0]))


def arange_unit(y, stop):
    """d(element)/d(start) of y = np.arange(start, stop, step): ones, or zeros when the one
    argument was the stop (stop is None)."""
    return np.zeros(np.shape(y)) if stop is None else np.ones(np.shape(y))


HELPERS += ("linspace_ramp", "arange_count", "arange_unit")
