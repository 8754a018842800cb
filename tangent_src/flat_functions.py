"""`flatten_func(f, example)`: a function of a parameter pytree as a function of one flat
vector that transforms can differentiate (autograd's `flatten_func`, what
`scipy.optimize.minimize(flat_f, x0, jac=grad(flat_f), hessp=hvp(flat_f))` needs).

The flat function is generated source that rebuilds the tree with slices, so the compiler
reads it like user code (a closure over `unravel` would be opaque to it):

    def objective_flat(flat, data):
        return objective({"means": np.reshape(flat[0:20], (10, 2)), "scale": flat[20]}, data)
"""
from __future__ import annotations

import inspect
import itertools
import linecache
from collections.abc import Callable

import numpy as np

from .errors import InvalidArgumentTypeError
from .pytrees import ravel_pytree

_COUNTER = itertools.count()


def _rebuild(tree, start: int) -> tuple[str, int]:
    """Source that rebuilds `tree` from `flat[start:]`, and where the next leaf starts
    (dict keys in sorted order, as ravel_pytree lays them out)."""
    if isinstance(tree, dict):
        parts = []
        for key in sorted(tree):
            if not isinstance(key, (str, int)):
                raise InvalidArgumentTypeError(
                    f"flatten_func: dict key {key!r} is not a string or an integer")
            text, start = _rebuild(tree[key], start)
            parts.append(f"{key!r}: {text}")
        return "{" + ", ".join(parts) + "}", start
    if isinstance(tree, (list, tuple)) and not hasattr(tree, "_fields"):
        parts = []
        for item in tree:
            text, start = _rebuild(item, start)
            parts.append(text)
        if isinstance(tree, list):
            return "[" + ", ".join(parts) + "]", start
        return "(" + "".join(p + ", " for p in parts) + ")", start
    size = ravel_pytree(tree)[0].size  # validates the leaf
    if not isinstance(tree, np.ndarray):
        return f"flat[{start}]", start + 1
    return f"np.reshape(flat[{start}:{start + size}], {tree.shape!r})", start + size


def _extra_parameters(func: Callable) -> list[str]:
    """The parameters of `func` after the first, as they are spelled in a def."""
    try:
        params = list(inspect.signature(func).parameters.values())[1:]
    except (TypeError, ValueError):
        return []
    return [str(p) for p in params]


def _call_arguments(params: list[str]) -> list[str]:
    names = []
    for text in params:
        name = text.split("=")[0].split(":")[0].strip()
        names.append(name if name.startswith("*") or "=" not in text else f"{name}={name}")
    return names


def flatten_func(func: Callable, example) -> tuple[Callable, Callable, np.ndarray]:
    """`(flat_func, unflatten, flat_example)`: `flat_func(v, *rest)` is `func(unflatten(v),
    *rest)`, written as source every transform differentiates; `unflatten` and
    `flat_example` are `ravel_pytree(example)`'s."""
    flat_example, unflatten = ravel_pytree(example)
    tree_source, _ = _rebuild(example, 0)
    name = getattr(func, "__name__", "f")
    name = name if name.isidentifier() else "f"
    params = _extra_parameters(func)
    call = ", ".join([tree_source] + _call_arguments(params))
    source = (f"def {name}_flat({', '.join(['flat'] + params)}):\n"
              f"    return {name}({call})\n")
    filename = f"<tangent_src flatten_func {next(_COUNTER)}: {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"np": np, name: func, "__name__": "tangent_src_flat_function"}
    exec(compile(source, filename, "exec"), namespace)
    flat_func = namespace[f"{name}_flat"]
    flat_func.__doc__ = f"{name} of a flat parameter vector (tangent_src.flatten_func)."
    return flat_func, unflatten, flat_example
