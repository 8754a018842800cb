"""hessian and jacobian (jacfwd, jacrev): whole derivative matrices, built a row (reverse
mode) or a column (forward mode) at a time from generated code, with JAX's semantics for
`argnums`/`wrt` (an int: one result; a tuple: a tuple of results, a Hessian a tuple of
tuples), `has_aux` and pytree arguments (derivative_support.blocks gives the layout)."""
from __future__ import annotations

import numpy as np

from . import pullback
from .derivative_support import (
    basis,
    blocks,
    check_count,
    flat,
    fresh_args,
    gradient,
    make_transform,
    one_or_tuple,
    positions,
    refuse_tuple_output,
    require_scalar,
    size,
)
from .errors import InvalidArgumentError, NotDifferentiableError, RequestError
from .jacobian_source import jacobian_source
from .values import holds_complex

__all__ = ["hessian", "jacfwd", "jacobian", "jacrev"]


def _rebuild(builder, args: tuple, kwargs: dict):
    return builder(*args, **kwargs)


class Rebuildable:
    """What hvp/hessian/jacobian return: their function, pickled as the call that built
    it (the function by reference and the options), so that it runs in another process
    (multiprocessing) where it generates its code again."""

    def __init__(self, call, builder, *args, source_form=None, **kwargs):
        self._call = call
        self._recipe = (builder, args, kwargs)
        self.source_form = source_form  # () -> the function as source (jacobian_source)
        self.built_by = builder.__name__  # read by guards.differentiable_target
        self.__name__ = call.__name__
        self.__qualname__ = call.__qualname__
        self.__doc__ = call.__doc__

    def __call__(self, *args):
        return self._call(*args)

    def __reduce__(self):
        return (_rebuild, self._recipe)

    def __tangent_src_callee__(self, known: dict | None = None) -> tuple:
        """What a differentiated function calling this (`jacobian(f)(x)` written inside
        it) calls instead: its source form (see api.Transform.__tangent_src_callee__)."""
        if self.source_form is None:
            raise NotDifferentiableError(f"cannot differentiate what {self.built_by}() "
                                         "returns; differentiate a function of f instead")
        return self.source_form(), self._recipe[1][0], None


def _split_aux(out, has_aux: bool, what: str, func):
    """(output, aux) of what the function returned."""
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise NotDifferentiableError(f"{what}: has_aux=True requires the function to return "
                                     "a pair (output, aux)")
    return out


def _refuse_complex_arguments(args: tuple, where: tuple, what: str) -> None:
    """Forward-mode matrices take real basis directions: for a complex argument they would
    hold the derivatives along the real parts only (JAX's jacfwd and hessian refuse them)."""
    for p in where:
        if holds_complex(args[p]):
            raise NotDifferentiableError(
                f"{what} of complex argument {p}: its columns would be the derivatives "
                "along the real parts only; use jacobian(mode='rev') (gradients under the "
                "convention of docs/conventions.md), jvp/hvp along complex directions, or "
                "pass the real and imaginary parts as float arguments")


def hessian(func, wrt=0, *, argnums=None, argnum=None, has_aux: bool = False,
            backend: str = "python"):
    """`H(*args)`: second derivatives of scalar `func` (forward mode over the generated
    gradient, a column at a time). One argument: shape x.shape + x.shape (a float for a
    scalar x); a tuple: `H[i][j]` of shape xi.shape + xj.shape; a pytree argument: its
    structure, nested twice. has_aux=True (JAX's) is refused: a gradient built with it
    cannot be differentiated again here."""
    if has_aux:
        raise RequestError("has_aux: hessian does not take has_aux=True (the gradient of a "
                           "function returning (loss, aux) cannot be differentiated again); "
                           "differentiate a function that returns only the loss",
                           field="has_aux")
    where, single = positions(func, wrt, argnums, "hessian", backend, argnum)
    grad = gradient(func, where)
    columns = {p: make_transform(grad, (p,), "forward", backend=backend) for p in where}

    def H(*args):
        check_count(args, where, "hessian", func)
        _refuse_complex_arguments(args, where, "hessian")
        require_scalar(grad, args, "hessian")
        rows = {p: size(args[p]) for p in where}
        matrices = {(i, j): np.zeros((rows[i], rows[j])) for i in where for j in where}
        for j in where:
            for c in range(rows[j]):
                tangent = columns[j].call_with(args, {j: basis(args[j], c)})
                for i, part in zip(where, (tangent,) if len(where) == 1 else tangent):
                    matrices[i, j][:, c] = flat(part, args[i])
        return one_or_tuple([one_or_tuple([blocks(args[i], args[j], matrices[i, j])
                                           for j in where], single) for i in where], single)

    return Rebuildable(H, hessian, func, wrt, argnums=argnums, argnum=argnum, has_aux=has_aux,
                       backend=backend)


def _rows(func, args, where, has_aux, backend, reverse):
    """(output, aux, {position: matrix}) by reverse mode: one row per output element."""
    out, aux = _split_aux(func(*fresh_args(args)), has_aux, "jacobian", func)
    refuse_tuple_output(out, "jacobian", func)
    out_shape = np.shape(out)
    if np.iscomplexobj(out) and any(holds_complex(args[p]) for p in where):
        raise NotDifferentiableError(
            "jacobian: a complex output of complex arguments: the derivative of a function "
            "that need not be holomorphic is no complex matrix (JAX's jacrev refuses it "
            "too); take the Jacobians of np.real and np.imag of the output")
    complex_out = np.iscomplexobj(out)  # of real arguments: a complex matrix, whose row r
    # is vjp(e_r) + i vjp(-i e_r) (a vjp pairs as Re(sum(u * out)): Re and Im of row r)
    matrices = {p: np.zeros((int(np.prod(out_shape)), size(args[p])),
                            dtype=complex if complex_out or holds_complex(args[p]) else float)
                for p in where}
    # the forward pass once, a backward pass per row (pullback.py; None: complex values,
    # the numba back end: the whole gradient per row)
    started = pullback.start(reverse, fresh_args(args), args) \
        if backend == "python" and not complex_out else None
    for r, idx in enumerate(np.ndindex(*out_shape)):
        for part in ((1.0, -1j) if complex_out else (1.0,)):
            seed = np.zeros(out_shape, dtype=type(part))
            seed[idx] = part
            seed = seed if out_shape else part
            grads = started[1](seed) if started else reverse.call_with(args, {"seed": seed})
            if has_aux:
                grads = grads[0]
            for p, g in zip(where, (grads,) if len(where) == 1 else grads):
                matrices[p][r] += flat(g, args[p]) * (1j if part == -1j else 1.0)
    return out, aux, matrices


def _columns(func, args, where, has_aux, forward):
    """(output, aux, {position: matrix}) by forward mode: one column per input element."""
    out = aux = None
    found = {}
    for p in where:
        cols = []
        for c in range(size(args[p])):
            value, tangent = forward[p].call_with(args, {p: basis(args[p], c)})
            out, aux = _split_aux(value, has_aux, "jacobian", func)
            if has_aux:
                tangent = tangent[0]
            refuse_tuple_output(out, "jacobian", func)
            cols.append(np.ravel(np.asarray(  # a complex output: complex columns
                tangent, dtype=complex if np.iscomplexobj(tangent) else np.float64)))
        found[p] = cols
    if out is None:  # every argument empty: the output's shape from the function itself
        out, aux = _split_aux(func(*fresh_args(args)), has_aux, "jacobian", func)
        refuse_tuple_output(out, "jacobian", func)
    n = int(np.size(out))
    matrices = {p: np.stack(cols, axis=1) if cols else np.zeros((n, 0))
                for p, cols in found.items()}
    return out, aux, matrices


def jacobian(func, wrt=0, mode: str = "rev", *, argnums=None, argnum=None,
             has_aux: bool = False,
             backend: str = "python"):
    """`J(*args)`: d func / d argument `wrt`, shape out.shape + x.shape (a tuple of them
    for a tuple `wrt`; a pytree argument's structure with out.shape + leaf.shape leaves);
    mode "rev" builds it a row at a time (vjp), "fwd" a column at a time (jvp). With
    has_aux=True, `func` returns (output, aux) and J returns (J, aux)."""
    where, single = positions(func, wrt, argnums, "jacobian", backend, argnum)
    if mode not in ("rev", "fwd", "reverse", "forward"):
        raise InvalidArgumentError(f"mode must be 'rev' or 'fwd', not {mode!r}")
    forward_mode = mode in ("fwd", "forward")
    reverse = None if forward_mode else \
        make_transform(func, where, "reverse", backend=backend, has_aux=has_aux)
    # forward mode ignores has_aux: it differentiates the pair, and the aux part is dropped
    forward = {p: make_transform(func, (p,), "forward", return_value=True, backend=backend)
               for p in where} if forward_mode else None

    def J(*args):
        check_count(args, where, "jacobian", func)
        if forward_mode:
            _refuse_complex_arguments(args, where, "jacobian in forward mode")
            out, aux, matrices = _columns(func, args, where, has_aux, forward)
        else:
            out, aux, matrices = _rows(func, args, where, has_aux, backend, reverse)
        result = one_or_tuple([blocks(out, args[p], matrices[p]) for p in where], single)
        return (result, aux) if has_aux else result

    return Rebuildable(J, jacobian, func, wrt, mode, argnums=argnums, argnum=argnum,
                       has_aux=has_aux, backend=backend,
                       source_form=lambda: jacobian_source(func, where, has_aux))


def jacfwd(func, wrt=0, *, argnums=None, argnum=None, has_aux: bool = False,
           backend: str = "python"):
    """jacobian in forward mode (JAX's jacfwd)."""
    return jacobian(func, wrt, mode="fwd", argnums=argnums, argnum=argnum, has_aux=has_aux,
                    backend=backend)


def jacrev(func, wrt=0, *, argnums=None, argnum=None, has_aux: bool = False,
           backend: str = "python"):
    """jacobian in reverse mode (JAX's jacrev)."""
    return jacobian(func, wrt, mode="rev", argnums=argnums, argnum=argnum, has_aux=has_aux,
                    backend=backend)


# transforms a differentiated function may build where it is written: jacobian(f)(x) there
# calls its source form (frontend/lower/nested.py)
jacobian.__tangent_src_transform__ = True
jacfwd.__tangent_src_transform__ = True
jacrev.__tangent_src_transform__ = True
