"""check_grads: generated derivatives against finite differences of the function itself.

Everything the check compares against is computed from `func`'s own values (central
differences), never from code generated for the derivative under test, so a wrong rule
cannot agree with itself. What it checks, for every differentiable argument (floats,
float arrays, and tuples/lists/dicts of them; integers and strings are skipped):

- reverse mode, as `grad` and as `value_and_grad` run it: the whole cotangent for a random
  seed against element-by-element differences of <seed, func>, the primal value against
  `func`'s value, and the gradient's structure, shapes and dtype;
- forward mode, as `autodiff` and as `jvp` run it: the output tangent along a random
  direction against the directional difference, and jvp's primal value;
- no generated derivative modifies its inputs;
- order > 1: the generated derivative is checked the same way, with respect to the
  original arguments and to its seed or tangent (a derivative is linear in those);
- when `func` is itself a transform (grad(f), autodiff(f), ...), its own output is first
  checked against differences of the function it transforms.
"""
from __future__ import annotations

import copy
import inspect

import numpy as np

from . import derivative_support
from . import testing_trees as trees
from .api import Transform
from .arity import fixed_arity, is_variadic
from .errors import (
    InvalidArgumentError,
    InvalidArgumentTypeError,
    NotDifferentiableError,
    RequestError,
)
from .request import make_request
from .testing_defaults import arity, with_defaults, wrt_positions
from .values import arg_classes

_FORWARD, _REVERSE = "fwd", "rev"
_MAX_ELEMENTS = 256  # larger arguments: reverse mode is compared along random directions


# --------------------------------------------------------------------------- arguments
def _differentiable(args: tuple, name: str) -> list:
    """Positions of the arguments to differentiate (floats, complex numbers, and
    containers of them); refuse strings inside a differentiated container."""
    positions = []
    for k, arg in enumerate(args):
        kinds = {path: trees.kind(leaf) for path, leaf in trees.leaves(arg)}
        if "float" not in kinds.values() and "complex" not in kinds.values():
            continue  # ints, bools, strings, callables, None: not differentiated
        strings = [path for path, kind in kinds.items() if kind == "str"]
        if strings:
            raise NotDifferentiableError(
                f"check_grads: argument {k} of {name} holds a string at "
                f"{strings[0]}; a differentiated container may hold only numbers")
        positions.append(k)
    return positions


def _assert_unchanged(args: tuple, snapshot: tuple, what: str) -> None:
    """Raise AssertionError when `what` changed an argument in place."""
    for k, (now, before) in enumerate(zip(args, snapshot)):
        try:
            trees.gather(now, before)
        except trees.Mismatch as exc:
            raise AssertionError(f"check_grads: {what} changed argument {k} in place: "
                                 f"{exc}") from None
        for (path, a), (_, b) in zip(trees.leaves(now), trees.leaves(before)):
            if isinstance(b, np.ndarray) and not np.array_equal(a, b, equal_nan=b.dtype.kind
                                                                in "fc"):
                raise AssertionError(
                    f"check_grads: {what} changed argument {k}{path} in place "
                    f"(before {b.tolist()}, after {np.asarray(a).tolist()})")


def _name(func) -> str:
    return getattr(func, "__name__", "f")


def _transform(func, ks: list, mode: str, return_value: bool = False) -> Transform:
    """autodiff(func, wrt=ks) (one entry unwrapped: the transform grad(f, wrt=k) runs)."""
    kind = "forward" if mode == _FORWARD else "reverse"
    return Transform(make_request(func, ks[0] if len(ks) == 1 else tuple(ks), kind=kind,
                                  mode=kind, return_value=return_value))


def _modes(modes) -> tuple:
    names = {"fwd": _FORWARD, "forward": _FORWARD, "rev": _REVERSE, "reverse": _REVERSE}
    if isinstance(modes, str):
        modes = (modes,)
    unknown = [m for m in modes if m not in names]
    if unknown or not modes:
        raise InvalidArgumentError(f"unknown mode {unknown[0] if unknown else modes!r}; use 'fwd' "
                         "and/or 'rev'")
    return tuple(dict.fromkeys(names[m] for m in modes))


# --------------------------------------------------------------------------- comparison
class _Context:
    """What one check_grads call compares with: tolerances, step and random draws."""

    def __init__(self, eps, rtol, atol, seed):
        self.eps, self.rtol, self.atol = eps, rtol, atol
        self.rng = np.random.default_rng(seed)

    def compare(self, computed, numeric, label: str) -> None:
        computed = np.asarray(computed, dtype=np.float64)
        numeric = np.asarray(numeric, dtype=np.float64)
        err = np.abs(computed - numeric) - (self.atol + self.rtol * np.abs(numeric))
        bad = ~np.isfinite(computed) | (err > 0)
        if np.any(bad):
            worst = int(np.argmax(np.where(np.isfinite(err), err, np.inf)))
            raise AssertionError(
                f"check_grads: {label}: generated {_short(computed)} vs finite differences "
                f"{_short(numeric)}; worst element {worst}: {computed[worst]!r} vs "
                f"{numeric[worst]!r} (rtol={self.rtol}, atol={self.atol}, eps={self.eps})")


def _short(values: np.ndarray) -> str:
    text = np.array2string(values, precision=8, threshold=12)
    return text.replace("\n", "")


def _outputs(func, args: tuple, label: str):
    """func(*args), refusing outputs check_grads cannot difference."""
    out = func(*args)
    kinds = [trees.kind(leaf) for _, leaf in trees.leaves(out)]
    if "float" not in kinds and "complex" not in kinds:
        raise NotDifferentiableError(f"check_grads: {label} returns no float value "
                                     f"({trees.describe(out)}); there is nothing to differentiate")
    return out


def _fd_cotangent(func, args, k, seed_tree, out, ctx, directions=None) -> np.ndarray:
    """d <seed, func(args)> / d args[k]: one central difference per float element, or per
    row of `directions` (vectors over those elements) when given. The outputs are
    differenced element by element before the seed contracts them: differencing the
    contracted sum instead loses the small elements' changes to the rounding of the large
    ones (i1 over [0.2, 20] spans 1e-1 to 4e7; its second derivative at the small
    elements was off by 1e-5 relative, failing a correct rule)."""
    base = trees.flat(args[k], args[k])
    steps = np.eye(base.size) if directions is None else directions
    grad = np.zeros(len(steps))
    seed = trees.flat(trees.conjugate(seed_tree), out)
    for i, step in enumerate(steps):
        values = []
        for sign in (1.0, -1.0):
            shifted = list(args)
            shifted[k] = trees.rebuild(args[k], base + sign * ctx.eps * step)
            values.append(trees.flat(func(*shifted), out))
        grad[i] = np.dot(seed, values[0] - values[1]) / (2 * ctx.eps)
    return grad


def _fd_tangent(func, args, k, direction, out, ctx) -> np.ndarray:
    """d func(args) along `direction` of args[k], by one central difference."""
    base, step = trees.flat(args[k], args[k]), trees.flat(direction, args[k])
    values = []
    for sign in (1.0, -1.0):
        shifted = list(args)
        shifted[k] = trees.rebuild(args[k], base + sign * ctx.eps * step)
        values.append(trees.flat(func(*shifted), out))
    return (values[0] - values[1]) / (2 * ctx.eps)


def _structured(result, like, label: str) -> np.ndarray:
    try:
        return trees.flat(result, like)
    except trees.Mismatch as exc:
        raise AssertionError(f"check_grads: {label}: {exc}") from None


def _check_reverse(func, args, ks, out, snapshot, ctx, labels, variants) -> object:
    """The generated reverse-mode functions for the arguments `ks` (one transform for all
    of them; as grad and, in `variants`, as value_and_grad run them) for a random seed,
    each gradient against its own differences; returns the seed."""
    seed = trees.random_like(out, ctx.rng)
    numeric, directions = {}, {}
    for k in ks:
        size = trees.size(args[k])
        directions[k] = ctx.rng.normal(size=(3, size)) if size > _MAX_ELEMENTS else None
        numeric[k] = _fd_cotangent(func, args, k, seed, out, ctx, directions[k])
    for return_value in variants:
        suffix = ", mode rev" + (" (with value)" if return_value else "")
        result = _transform(func, ks, _REVERSE, return_value).call_with(args, {"seed": seed})
        _assert_unchanged(args, snapshot, f"the reverse-mode derivative of {labels[ks[0]]}")
        if return_value:
            value, result = result
            what = f"{labels[ks[0]]}{suffix}: primal value"
            ctx.compare(_structured(value, out, what), trees.flat(out, out), what)
        if len(ks) > 1 and not (isinstance(result, tuple) and len(result) == len(ks)):
            raise AssertionError(f"check_grads: {labels[ks[0]]}{suffix}: {len(ks)} gradients "
                                 f"expected, got {trees.describe(result)}")
        for k, grad in zip(ks, (result,) if len(ks) == 1 else result):
            what = labels[k] + suffix
            # a complex argument's gradient g pairs with a tangent v as Re(sum(g * v)): its
            # conjugate's parts are the derivatives along the real and imaginary parts
            computed = _structured(trees.conjugate(grad), args[k], what)
            ctx.compare(computed if directions[k] is None else directions[k] @ computed,
                        numeric[k], what)
    return seed


def _zeros(like):
    return trees.rebuild(like, np.zeros(trees.size(like)))


def _check_forward(func, args, ks, out, snapshot, ctx, labels, variants) -> tuple:
    """The generated forward-mode functions for the arguments `ks` (one transform for all
    of them; as autodiff and, in `variants`, as jvp run them), each along a random
    direction of its own argument (zero tangents for the others); returns the
    directions."""
    directions = {k: trees.random_like(args[k], ctx.rng) for k in ks}
    numeric = {k: _fd_tangent(func, args, k, directions[k], out, ctx) for k in ks}
    for return_value in variants:
        transform = _transform(func, ks, _FORWARD, return_value)
        for k in ks:
            what = f"{labels[k]}, mode fwd" + (" (with value)" if return_value else "")
            tangents = {j: directions[j] if j == k else _zeros(args[j]) for j in ks}
            result = transform.call_with(args, tangents)
            _assert_unchanged(args, snapshot, f"the forward-mode derivative of {labels[k]}")
            if return_value:
                value, result = result
                ctx.compare(_structured(value, out, f"{what}: primal value"),
                            trees.flat(out, out), f"{what}: primal value")
            ctx.compare(_structured(result, out, what), numeric[k], what)
    return tuple(directions[k] for k in ks)


def _check(func, args: tuple, wrt: list, order: int, modes: tuple, ctx: _Context,
           label: str, top: bool = True) -> None:
    """The derivatives of `func` with respect to `wrt`, then (order > 1) theirs. For the
    user's function every argument has transforms of its own, as grad(f, wrt=k) and
    value_and_grad/jvp run them; a derivative is checked with one transform per mode for
    all its arguments, which keeps the code generated at order 2 (the slow part) small."""
    variants = (False, True) if top else (False,)
    snapshot = copy.deepcopy(args)
    out = _outputs(func, args, label)
    _assert_unchanged(args, snapshot, label)
    labels = {k: f"{label}, d/d argument {k}, order {order}" for k in wrt}
    groups = [[k] for k in wrt] if top else [list(wrt)]
    extras = {}
    for ks in groups:
        if _REVERSE in modes:
            extras[tuple(ks), _REVERSE] = _check_reverse(func, args, ks, out, snapshot, ctx,
                                                         labels, variants)
        if _FORWARD in modes:
            extras[tuple(ks), _FORWARD] = _check_forward(func, args, ks, out, snapshot, ctx,
                                                         labels, variants)
    if order <= 1:
        return
    full = with_defaults(func, args)  # the seed goes after every positional parameter
    for (ks, mode), extra in extras.items():
        if all(_empty_tree(args[k]) for k in ks):
            continue  # the derivative along an empty pytree is empty: nothing to check
        # the derivative takes its seed (rev) or tangents (fwd) as more arguments, and is
        # checked with respect to them too: it must be linear in them
        derivative = _transform(func, list(ks), mode)
        extra = (extra,) if mode == _REVERSE else extra
        # a complex seed (of a complex output) is not differentiated: inputs are real
        more = [len(full) + i for i, e in enumerate(extra) if not trees.has_complex(e)]
        what = ", ".join(map(str, ks))
        _check(derivative, (*full, *extra), [*wrt, *more], order - 1, modes, ctx,
               f"{mode}-derivative (d/d argument {what}) of {label}", top=False)



# --------------------------------------------------------------------------- transforms
def _check_transform(func: Transform, args: tuple, ctx: _Context) -> None:
    """The transform's own output against finite differences of the function it
    transforms (recursively: grad(grad(f)) is checked against grad(f), which is checked
    against f)."""
    inner = func.func
    n = arity(inner)
    if n is None or arity(func) != len(args) or (func.return_value and
                                                  func.kind in ("forward", "reverse")):
        return
    positions = wrt_positions(func, n)
    if positions is None:
        return
    primal = args[:n]
    if isinstance(inner, Transform):
        _check_transform(inner, primal, ctx)
    name = f"{func.__name__} (checked against {_name(inner)})"
    out = _outputs(inner, primal, _name(inner))
    result = func(*args)
    if func.kind == "forward":
        numeric = sum(_fd_tangent(inner, primal, k, t, out, ctx)
                      for k, t in zip(positions, args[n:]))
        ctx.compare(_structured(result, out, name), numeric, name)
        return
    seed = args[n] if func.kind == "reverse" else 1.0
    if func.kind != "reverse" and np.ndim(out) != 0:
        return  # grad of a non-scalar function: the transform refuses it when called
    if func.kind == "value_and_grad":
        value, result = result
        ctx.compare(_structured(value, out, f"{name}: value"), trees.flat(out, out),
                    f"{name}: value")
    grads = (result,) if func.single else tuple(result)
    for k, g in zip(positions, grads):
        numeric = _fd_cotangent(inner, primal, k, seed, out, ctx)
        ctx.compare(_structured(trees.conjugate(g), primal[k], f"{name}, d/d argument {k}"),
                    numeric,
                    f"{name}, d/d argument {k}")


def _selected(func, args: tuple, wrt, argnums, argnum=None) -> list:
    """The positions check_grads checks: every differentiable argument by default, or
    those `wrt`/`argnums` select (grad's rules), each of which must hold a float."""
    found = _differentiable(args, _name(func))
    if wrt is None and argnums is None and argnum is None:
        return found
    where, _ = derivative_support.positions(func, wrt, argnums, "check_grads",
                                            argnum=argnum)
    derivative_support.check_count(args, where, "check_grads", func)
    for k in where:
        if k not in found and not _empty_tree(args[k]):
            raise RequestError(f"wrt: check_grads: argument {k} of {_name(func)} holds no "
                               f"float value ({trees.describe(args[k])}); there is nothing "
                               "to differentiate", field="wrt")
    return list(where)


def _empty_tree(value) -> bool:
    """A tuple, list or dict with no leaf at all (`{}`, `[]`, `((), {})`): an empty pytree,
    whose gradient is itself, as grad (and JAX's grad) returns; selected explicitly, it
    is checked with nothing in it to compare."""
    return isinstance(value, (tuple, list, dict)) and not list(trees.leaves(value))


def _curried(func, order, modes, eps, rtol, atol, seed, wrt, argnums, argnum):
    """check_grads(func, ...) without its arguments: a function of them (autograd's form)."""
    def check_at(*args) -> None:
        check_grads(func, args, order, modes, eps, rtol, atol, seed, wrt=wrt,
                    argnums=argnums, argnum=argnum)
    check_at.__name__ = f"check_grads_{_name(func)}"
    return check_at


def check_grads(func, args=None, order: int = 1, modes=("fwd", "rev"), eps: float = 1e-6,
                rtol: float = 1e-5, atol: float = 1e-6, seed: int = 0, *, wrt=None,
                argnums=None, argnum=None):
    """Compare the generated derivatives of `func` at `args` (every mode in `modes`, up to
    `order`) with central finite differences of `func`; raise AssertionError naming the
    function, argument, mode, order, both values and the worst element on a mismatch. A
    complex output is compared by its real and imaginary parts, with a complex seed in
    reverse mode paired as Re(sum(seed * output)); a complex argument is differenced along
    its real and imaginary parts, its gradient g paired with a tangent v as Re(sum(g * v)),
    its forward mode along a complex direction (docs/conventions.md). `args` is a tuple of
    arguments, each a number, array or pytree; `wrt`/`argnums`/`argnum` (grad's rules)
    restrict the check to those arguments (default: every one holding a float or complex number).
    Without `args`, autograd's curried form: `check_grads(f, modes=["rev"])(x, y)` checks
    f at (x, y)."""
    if args is None:
        return _curried(func, order, modes, eps, rtol, atol, seed, wrt, argnums, argnum)
    if order < 1:
        raise InvalidArgumentError(f"order must be at least 1, not {order}")
    if not isinstance(args, (tuple, list)):
        raise InvalidArgumentTypeError(
            f"check_grads: args is a tuple with one entry per argument, got "
            f"{type(args).__name__} (write check_grads(f, (x,)) for a function of one "
            "argument)")
    args = tuple(args)
    if is_variadic(func):  # its fixed-arity form, whose derivatives take their seed or
        func = fixed_arity(func, arg_classes(inspect.signature(func), args, {}))  # tangents
    modes = _modes(modes)                              # after its own arguments
    ctx = _Context(eps, rtol, atol, seed)
    wrt = _selected(func, args, wrt, argnums, argnum)
    if isinstance(func, Transform):
        _check_transform(func, args, ctx)
    _check(func, args, wrt, order, modes, ctx, _name(func))
