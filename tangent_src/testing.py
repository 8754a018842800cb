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

import numpy as np

from . import guards
from .api import Transform
from .errors import InvalidArgumentError, NotDifferentiableError
from .request import make_request
from .testing_defaults import arity, with_defaults, wrt_positions

_FORWARD, _REVERSE = "fwd", "rev"
_MAX_ELEMENTS = 256  # larger arguments: reverse mode is compared along random directions


class _Mismatch(Exception):
    """A derivative whose structure or shape differs from what it should be."""


# --------------------------------------------------------------------------- pytrees
def _kind(value) -> str:
    """'float', 'int', 'complex', 'str' or 'other' for one pytree leaf."""
    if isinstance(value, (str, bytes)):
        return "str"
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, (complex, np.complexfloating)):
        return "complex"
    if isinstance(value, np.ndarray):
        return {"f": "float", "c": "complex", "b": "int", "i": "int", "u": "int",
                "U": "str", "S": "str"}.get(value.dtype.kind, "other")
    return "other"


def _leaves(tree, path: str = ""):
    """(path, leaf) pairs of a pytree (tuples, lists and dicts are its containers)."""
    if isinstance(tree, dict):
        for key in tree:
            yield from _leaves(tree[key], f"{path}[{key!r}]")
    elif isinstance(tree, (list, tuple)):
        for i, item in enumerate(tree):
            yield from _leaves(item, f"{path}[{i}]")
    else:
        yield path, tree


def _gather(tree, like, path: str = "") -> list:
    """The float leaves of `tree`, walked in the order of `like`'s float leaves, raveled;
    raise _Mismatch where `tree` does not have `like`'s structure and shapes."""
    if isinstance(like, dict):
        if not isinstance(tree, dict) or set(tree) != set(like):
            raise _Mismatch(f"{path or 'the value'} should be a dict with keys "
                            f"{sorted(map(repr, like))}, got {_describe(tree)}")
        return [part for key in like for part in _gather(tree[key], like[key],
                                                          f"{path}[{key!r}]")]
    if isinstance(like, (list, tuple)):
        if not isinstance(tree, (list, tuple)) or len(tree) != len(like):
            raise _Mismatch(f"{path or 'the value'} should be a sequence of {len(like)}, "
                            f"got {_describe(tree)}")
        return [part for k, (t, lk) in enumerate(zip(tree, like))
                for part in _gather(t, lk, f"{path}[{k}]")]
    if _kind(like) not in ("float", "complex"):
        return []
    if isinstance(tree, (dict, list, tuple)) or np.shape(tree) != np.shape(like):
        raise _Mismatch(f"{path or 'the value'} should have shape {np.shape(like)}, got "
                        f"{_describe(tree)}")
    if _kind(like) == "complex":  # a complex output: its real and imaginary parts
        if _kind(tree) not in ("float", "complex"):
            raise _Mismatch(f"{path or 'the value'} should be a number, got "
                            f"{_describe(tree)}")
        return [np.ravel(np.real(tree)).astype(float), np.ravel(np.imag(tree)).astype(float)]
    if _kind(tree) != "float":
        raise _Mismatch(f"{path or 'the value'} should be a real float, got "
                        f"{_describe(tree)}")
    return [np.ravel(np.asarray(tree, dtype=np.float64))]


def _describe(value) -> str:
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(repr, value))}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    dtype = getattr(value, "dtype", None)
    return f"{type(value).__name__} of shape {np.shape(value)}" + \
        (f" and dtype {dtype}" if dtype is not None else "")


def _flat(tree, like) -> np.ndarray:
    parts = _gather(tree, like)
    return np.concatenate(parts) if parts else np.zeros(0)


def _rebuild(like, vec: np.ndarray):
    """`like` with its float leaves replaced, in order, by the entries of `vec`."""
    position = 0

    def build(node):
        nonlocal position
        if isinstance(node, dict):
            return {key: build(value) for key, value in node.items()}
        if isinstance(node, (list, tuple)):
            return type(node)(build(item) for item in node)
        if _kind(node) != "float":
            return node
        size = int(np.size(node))
        chunk = vec[position:position + size]
        position += size
        if isinstance(node, np.ndarray):
            return np.array(chunk, dtype=np.float64).reshape(np.shape(node))
        return float(chunk[0])
    return build(like)


def _random_like(like, rng):
    """A float pytree shaped like `like`: normal draws for float leaves, zeros elsewhere."""
    if isinstance(like, dict):
        return {key: _random_like(value, rng) for key, value in like.items()}
    if isinstance(like, (list, tuple)):
        return type(like)(_random_like(item, rng) for item in like)
    if _kind(like) == "complex":  # the cotangent of a complex output is complex
        draw = rng.normal(size=np.shape(like)) + 1j * rng.normal(size=np.shape(like))
        return draw if isinstance(like, np.ndarray) else complex(draw)
    draw = rng.normal(size=np.shape(like)) if _kind(like) == "float" else \
        np.zeros(np.shape(like))
    return draw if isinstance(like, np.ndarray) else float(draw)


def _conjugate(tree):
    """The pytree conjugated: the convention's <seed, out> = Re(sum(seed * out))."""
    if isinstance(tree, dict):
        return {key: _conjugate(value) for key, value in tree.items()}
    if isinstance(tree, (list, tuple)):
        return type(tree)(_conjugate(item) for item in tree)
    return np.conj(tree) if _kind(tree) == "complex" else tree


def _has_complex(tree) -> bool:
    return any(_kind(leaf) == "complex" for _, leaf in _leaves(tree))


def _size(like) -> int:
    return sum(int(np.size(leaf)) for _, leaf in _leaves(like) if _kind(leaf) == "float")


# --------------------------------------------------------------------------- arguments
def _differentiable(args: tuple, name: str) -> list:
    """Positions of the arguments to differentiate; refuse complex values and strings
    inside a differentiated container."""
    positions = []
    for k, arg in enumerate(args):
        kinds = {path: _kind(leaf) for path, leaf in _leaves(arg)}
        complex_at = [path for path, kind in kinds.items() if kind == "complex"]
        if complex_at:
            guards.refuse_complex(arg, f"check_grads: {name} with respect to argument "
                                  f"{k}{complex_at[0]}")
        if "float" not in kinds.values():
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
            _gather(now, before)
        except _Mismatch as exc:
            raise AssertionError(f"check_grads: {what} changed argument {k} in place: "
                                 f"{exc}") from None
        for (path, a), (_, b) in zip(_leaves(now), _leaves(before)):
            if isinstance(b, np.ndarray) and not np.array_equal(a, b, equal_nan=b.dtype.kind
                                                                in "fc"):
                raise AssertionError(
                    f"check_grads: {what} changed argument {k}{path} in place "
                    f"(before {b.tolist()}, after {np.asarray(a).tolist()})")


def _name(func) -> str:
    return getattr(func, "__name__", "f")


def _transform(func, k: int, mode: str, return_value: bool = False) -> Transform:
    kind = "forward" if mode == _FORWARD else "reverse"
    return Transform(make_request(func, k, kind=kind, mode=kind, return_value=return_value))


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
    kinds = [_kind(leaf) for _, leaf in _leaves(out)]
    if "float" not in kinds and "complex" not in kinds:
        raise NotDifferentiableError(f"check_grads: {label} returns no float value "
                                     f"({_describe(out)}); there is nothing to differentiate")
    return out


def _fd_cotangent(func, args, k, seed_tree, out, ctx, directions=None) -> np.ndarray:
    """d <seed, func(args)> / d args[k]: one central difference per float element, or per
    row of `directions` (vectors over those elements) when given."""
    base = _flat(args[k], args[k])
    steps = np.eye(base.size) if directions is None else directions
    grad = np.zeros(len(steps))
    seed = _flat(_conjugate(seed_tree), out)
    for i, step in enumerate(steps):
        values = []
        for sign in (1.0, -1.0):
            shifted = list(args)
            shifted[k] = _rebuild(args[k], base + sign * ctx.eps * step)
            values.append(np.dot(seed, _flat(func(*shifted), out)))
        grad[i] = (values[0] - values[1]) / (2 * ctx.eps)
    return grad


def _fd_tangent(func, args, k, direction, out, ctx) -> np.ndarray:
    """d func(args) along `direction` of args[k], by one central difference."""
    base, step = _flat(args[k], args[k]), _flat(direction, args[k])
    values = []
    for sign in (1.0, -1.0):
        shifted = list(args)
        shifted[k] = _rebuild(args[k], base + sign * ctx.eps * step)
        values.append(_flat(func(*shifted), out))
    return (values[0] - values[1]) / (2 * ctx.eps)


def _structured(result, like, label: str) -> np.ndarray:
    try:
        return _flat(result, like)
    except _Mismatch as exc:
        raise AssertionError(f"check_grads: {label}: {exc}") from None


def _check_reverse(func, args, k, out, snapshot, ctx, label, variants) -> object:
    """The generated reverse-mode functions (as grad and, in `variants`, as value_and_grad
    run them) for a random seed; returns the seed."""
    seed = _random_like(out, ctx.rng)
    size = _size(args[k])
    directions = ctx.rng.normal(size=(3, size)) if size > _MAX_ELEMENTS else None
    numeric = _fd_cotangent(func, args, k, seed, out, ctx, directions)
    for return_value in variants:
        what = f"{label}, mode rev" + (" (with value)" if return_value else "")
        result = _transform(func, k, _REVERSE, return_value).call_with(args, {"seed": seed})
        _assert_unchanged(args, snapshot, f"the reverse-mode derivative of {label}")
        if return_value:
            value, result = result
            ctx.compare(_structured(value, out, f"{what}: primal value"), _flat(out, out),
                        f"{what}: primal value")
        computed = _structured(result, args[k], what)
        ctx.compare(computed if directions is None else directions @ computed, numeric, what)
    return seed


def _check_forward(func, args, k, out, snapshot, ctx, label, variants) -> object:
    """The generated forward-mode functions (as autodiff and, in `variants`, as jvp run
    them) along a random direction; returns the direction."""
    direction = _random_like(args[k], ctx.rng)
    numeric = _fd_tangent(func, args, k, direction, out, ctx)
    for return_value in variants:
        what = f"{label}, mode fwd" + (" (with value)" if return_value else "")
        result = _transform(func, k, _FORWARD, return_value).call_with(args, {k: direction})
        _assert_unchanged(args, snapshot, f"the forward-mode derivative of {label}")
        if return_value:
            value, result = result
            ctx.compare(_structured(value, out, f"{what}: primal value"), _flat(out, out),
                        f"{what}: primal value")
        ctx.compare(_structured(result, out, what), numeric, what)
    return direction


def _check(func, args: tuple, wrt: list, order: int, modes: tuple, ctx: _Context,
           label: str, top: bool = True) -> None:
    # the with-value variants (value_and_grad, jvp) only for the user's function: inside
    # higher derivatives they would double the code generated for little gain
    variants = (False, True) if top else (False,)
    snapshot = copy.deepcopy(args)
    out = _outputs(func, args, label)
    _assert_unchanged(args, snapshot, label)
    extras = {}
    for k in wrt:
        where = f"{label}, d/d argument {k}, order {order}"
        if _REVERSE in modes:
            extras[k, _REVERSE] = _check_reverse(func, args, k, out, snapshot, ctx, where,
                                                  variants)
        if _FORWARD in modes:
            extras[k, _FORWARD] = _check_forward(func, args, k, out, snapshot, ctx, where,
                                                  variants)
    if order <= 1:
        return
    full = with_defaults(func, args)
    for (k, mode), extra in extras.items():
        # the derivative takes its seed (rev) or tangent (fwd) as one more argument (after
        # every positional parameter), checked too: the derivative must be linear in it
        derivative = _transform(func, k, mode)
        # a complex seed (of a complex output) is not differentiated: inputs are real
        more = [] if _has_complex(extra) else [len(full)]
        _check(derivative, (*full, extra), [*wrt, *more], order - 1, modes, ctx,
               f"{mode}-derivative (d/d argument {k}) of {label}", top=False)



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
        ctx.compare(_structured(value, out, f"{name}: value"), _flat(out, out),
                    f"{name}: value")
    grads = (result,) if func.single else tuple(result)
    for k, g in zip(positions, grads):
        numeric = _fd_cotangent(inner, primal, k, seed, out, ctx)
        ctx.compare(_structured(g, primal[k], f"{name}, d/d argument {k}"), numeric,
                    f"{name}, d/d argument {k}")


def check_grads(func, args, order: int = 1, modes=("fwd", "rev"), eps: float = 1e-6,
                rtol: float = 1e-5, atol: float = 1e-6, seed: int = 0) -> None:
    """Compare the generated derivatives of `func` at `args` (every mode in `modes`, up to
    `order`) with central finite differences of `func`; raise AssertionError naming the
    function, argument, mode, order, both values and the worst element on a mismatch, and
    NotDifferentiableError for complex arguments. A complex output (an FFT of real inputs)
    is compared by its real and imaginary parts, with a complex seed in reverse mode paired
    as Re(sum(seed * output)) (docs/conventions.md)."""
    if order < 1:
        raise InvalidArgumentError(f"order must be at least 1, not {order}")
    args = tuple(args)
    modes = _modes(modes)
    ctx = _Context(eps, rtol, atol, seed)
    wrt = _differentiable(args, _name(func))
    if isinstance(func, Transform):
        _check_transform(func, args, ctx)
    _check(func, args, wrt, order, modes, ctx, _name(func))
