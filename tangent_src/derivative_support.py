"""What jvp/vjp/hvp/hessian/jacobian share: which arguments a call differentiates (JAX's
`argnums` semantics, via request.resolve_wrt), the transforms they call, pytree leaves and
the blocks of a derivative matrix laid out in JAX's nested structure.

The layout rule (JAX's): a derivative with respect to a pytree argument has that
argument's structure, and each leaf is `out.shape + leaf.shape`; with a tuple of
arguments the result is a tuple with one entry per argument; a Hessian is nested twice
(`H[i][j]` has shape `xi.shape + xj.shape`)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import guards
from .api import Transform
from .dtypes import cast, narrow_dtype
from .errors import NotDifferentiableError, RequestError
from .request import Params, make_request


def name_of(func) -> str:
    """The name of the user's function under any number of transforms."""
    while isinstance(func, Transform):
        func = func.func
    return getattr(func, "__name__", "f")


def fresh_args(args: tuple) -> tuple:
    """The arguments with every array (inside tuples, lists and dicts too) copied, for the
    few places that run the user's function itself to get its value: a function that
    writes into its arguments must not change the caller's arrays."""
    def fresh(value):
        if isinstance(value, np.ndarray):
            return value.copy()
        if isinstance(value, (tuple, list)):
            return type(value)(fresh(v) for v in value)
        if isinstance(value, dict):
            return {k: fresh(v) for k, v in value.items()}
        return value
    return tuple(fresh(a) for a in args)


def make_transform(func, wrt: tuple, mode: str, return_value: bool = False,
                   backend: str = "python", has_aux: bool = False) -> Transform:
    """autodiff(func) with these options (one result per entry of `wrt`, unwrapped when
    there is one)."""
    return Transform(make_request(func, wrt[0] if len(wrt) == 1 else wrt, kind=mode,
                                  mode=mode, return_value=return_value, backend=backend,
                                  has_aux=has_aux))


def gradient(func, positions: tuple, has_aux: bool = False) -> Transform:
    """grad(func, wrt=positions) (a tuple of gradients for several): what hvp and hessian
    differentiate again."""
    wrt = positions[0] if len(positions) == 1 else positions
    return Transform(make_request(func, wrt, has_aux=has_aux))


def positions(func, wrt, argnums, what: str, backend: str = "python",
              argnum=None) -> tuple[tuple, bool]:
    """The positions of the arguments a transform that takes them positionally (hvp,
    hessian, jacobian, vjp, check_grads) differentiates, validated by grad's rules for
    `wrt`/`argnums`, and whether one was given (the result is then not wrapped in a tuple,
    as JAX's int argnums)."""
    request = make_request(func, wrt, argnums=argnums, argnum=argnum, backend=backend)
    # as make_request: a function with a rule has the parameters of its rule's wrapper
    params = Params.of(guards.rule_wrapper(func) or func)
    found = []
    for entry in request.wrt:
        if params is not None:
            position = params.position(entry)
        else:
            position = entry if isinstance(entry, int) and entry >= 0 else None
        if position is None:
            raise RequestError(f"wrt: {what} takes the arguments it differentiates by "
                               f"position; {entry!r} cannot be given that way (keyword-only, "
                               "or a negative position of a function without a signature)",
                               field="wrt")
        found.append(position)
    return tuple(found), request.single


def check_count(args: tuple, where: tuple, what: str, func) -> None:
    """Refuse a call that has fewer positional arguments than `where` differentiates."""
    if where and max(where) >= len(args):
        raise RequestError(f"{what}: differentiates argument {max(where)} of "
                           f"{name_of(func)}, but the call passes {len(args)} positional "
                           "argument(s)", field="wrt")


def require_scalar(grad: Transform, args, what: str) -> None:
    """Refuse a function that does not return a scalar, judged from its source or from the
    value its generated gradient computes (never by running the function itself)."""
    out = grad.output_value(tuple(args))
    if grad.has_aux and isinstance(out, tuple) and len(out) == 2:
        out = out[0]
    if isinstance(out, tuple) or np.ndim(out) != 0:
        raise NotDifferentiableError(
            f"{what} requires {name_of(grad)} to return a scalar, but it returned "
            f"{'a tuple' if isinstance(out, tuple) else f'shape {np.shape(out)}'}; use "
            "jacobian for vector-valued functions")


# --------------------------------------------------------------------------- pytree leaves
def leaves(tree) -> list:
    """The leaves of a pytree (tuples, lists and dicts are its containers), in order."""
    if isinstance(tree, dict):
        return [leaf for key in tree for leaf in leaves(tree[key])]
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in leaves(item)]
    return [tree]


def flat(tree, like) -> np.ndarray:
    """The leaves of `tree` (a derivative shaped like `like`) as one float64 vector (complex128
    where `like` has a complex leaf), walked in `like`'s order; a structure that does not
    match is refused."""
    if isinstance(like, dict):
        if not isinstance(tree, dict) or set(tree) != set(like):
            raise NotDifferentiableError(f"a derivative should be a dict with keys "
                                         f"{sorted(like)}, got {type(tree).__name__}")
        parts = [flat(tree[key], like[key]) for key in like]
    elif isinstance(like, (tuple, list)):
        if not isinstance(tree, (tuple, list)) or len(tree) != len(like):
            raise NotDifferentiableError(f"a derivative should be a sequence of "
                                         f"{len(like)}, got {type(tree).__name__}")
        parts = [flat(t, lk) for t, lk in zip(tree, like)]
    else:
        value = np.asarray(tree, dtype=np.complex128 if np.iscomplexobj(like) else np.float64)
        if value.shape != np.shape(like):
            if value.ndim:  # only a zero scalar stands for a whole array: never broadcast
                raise NotDifferentiableError(f"a derivative has shape {value.shape}, "
                                             f"expected {np.shape(like)}")
            value = np.broadcast_to(value, np.shape(like))
        return np.ravel(value)
    return np.concatenate(parts) if parts else np.zeros(0)


def basis(like, index: int):
    """A pytree shaped like `like` (float64) that is one at flat `index`, zero elsewhere."""
    vec = np.zeros(size(like))
    vec[index] = 1.0
    return unflat(like, vec)


def size(like) -> int:
    return sum(int(np.size(leaf)) for leaf in leaves(like))


def unflat(like, vec: np.ndarray, prefix: tuple = ()):
    """`like` rebuilt from `vec`'s entries (float64), each leaf of shape `prefix +
    leaf.shape`; `vec` is (prod(prefix), size(like)) when `prefix` is given."""
    offset = 0
    rows = vec.reshape((-1, vec.shape[-1]))

    def build(node):
        nonlocal offset
        if isinstance(node, dict):
            return {key: build(value) for key, value in node.items()}
        if isinstance(node, (tuple, list)):
            return type(node)(build(item) for item in node)
        n = int(np.size(node))
        block = rows[:, offset:offset + n].reshape(prefix + np.shape(node))
        offset += n
        if block.shape or isinstance(node, np.ndarray):
            return block
        return complex(block) if np.iscomplexobj(block) else float(block)
    return build(like)


def blocks(row_like, col_like, matrix: np.ndarray):
    """The derivative matrix (rows over `row_like`'s leaves, columns over `col_like`'s) in
    JAX's layout: `row_like`'s structure, each leaf holding `col_like`'s structure of blocks
    of shape row_leaf.shape + col_leaf.shape, in the column leaf's narrow float dtype."""
    offset = 0

    def build(node):
        nonlocal offset
        if isinstance(node, dict):
            return {key: build(value) for key, value in node.items()}
        if isinstance(node, (tuple, list)):
            return type(node)(build(item) for item in node)
        n = int(np.size(node))
        part = matrix[offset:offset + n]
        offset += n
        return with_dtypes(unflat(col_like, part, np.shape(node)), col_like)
    return build(row_like)


def with_dtypes(tree, like):
    """Each leaf of `tree` cast to the narrow float dtype of `like`'s leaf (float32 in,
    float32 out, as the gradients of dtypes.py)."""
    if isinstance(like, dict):
        return {key: with_dtypes(tree[key], like[key]) for key in like}
    if isinstance(like, (tuple, list)):
        return type(like)(with_dtypes(t, lk) for t, lk in zip(tree, like))
    return cast(tree, narrow_dtype(like))


def one_or_tuple(values: list, single: bool):
    return values[0] if single else tuple(values)


def refuse_tuple_output(out, what: str, func: Callable) -> None:
    """jacobian differentiates one array (or number) output."""
    if isinstance(out, (tuple, list, dict)):
        raise NotDifferentiableError(
            f"{what}: {name_of(func)} returned a {type(out).__name__}; jacobian takes a "
            "function with one array (or number) output (with has_aux=True, a pair "
            "(output, aux))")
