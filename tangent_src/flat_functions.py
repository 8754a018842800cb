"""Functions built from the user's as generated source, so transforms read them like user
code (a Python closure would be opaque to the compiler) and can differentiate them again:

- `flatten_func(f, example)`: a function of a parameter pytree as a function of one flat
  vector (autograd's; what `minimize(flat_f, x0, jac=grad(flat_f), hessp=hvp(flat_f))`
  needs); the tree is rebuilt with slices:

    def objective_flat(flat, data):
        return objective({"means": np.reshape(flat[0:20], (10, 2)), "scale": flat[20]}, data)

- `elementwise_grad(f)`: the gradient of `np.sum(f(x))`, which for an elementwise f is its
  derivative at every element; `elementwise_grad(elementwise_grad(np.tanh))` works.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from . import guards
from .errors import InvalidArgumentTypeError
from .generated_source import define
from .pytrees import ravel_pytree
from .request import Request


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


def _extra_parameters(func: Callable, skip: int = 1) -> list[str]:
    """The parameters of `func` after the first `skip`, as they are spelled in a def."""
    try:
        params = list(inspect.signature(func).parameters.values())[skip:]
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
    flat_func = _define(source, f"{name}_flat", {name: func}, "flatten_func")
    flat_func.__doc__ = f"{name} of a flat parameter vector (tangent_src.flatten_func)."
    return flat_func, unflatten, flat_example


def _define(source: str, name: str, names: dict, what: str) -> Callable:
    """Generated `source` with `names` (and np) as its globals: its function `name`."""
    namespace = {"np": np, "__name__": "tangent_src_generated_wrapper", **names}
    return define(source, name, namespace, f"{what}: {name}")


def elementwise_grad(func: Callable, wrt: int = 0, *, argnums=None,
                     argnum=None) -> Callable:
    """For `func` computing each output element from the matching input element
    (`np.tanh`, a user function of NumPy ufuncs): its derivative at every element at
    once, `d func(x)[i] / d x[i]`, as autograd's elementwise_grad: the gradient of
    `np.sum(func(x))`, one reverse pass. It is a transform, so it can be nested.
    `argnums`/`argnum` are aliases of `wrt` (JAX's, autograd's), as grad's."""
    from .api import grad  # the transforms import this module's package
    name = getattr(func, "__name__", "f")
    name = name if name.isidentifier() else "f"
    inner = func
    while isinstance(getattr(inner, "request", None), Request):  # a transform: the
        inner = inner.func  # parameters of what it differentiates, not its seed
    # a function with a rule (np.tanh): the parameters of its rule
    params = _extra_parameters(guards.rule_wrapper(inner) or inner, skip=0) or ["x"]
    call = ", ".join(_call_arguments(params))
    source = (f"def summed_{name}({', '.join(params)}):\n"
              f"    return np.sum({name}({call}))\n")
    summed = _define(source, f"summed_{name}", {name: func}, "elementwise_grad")
    derivative = grad(summed, wrt=wrt, argnums=argnums, argnum=argnum)
    derivative.__doc__ = f"Elementwise derivative of {name}."
    return derivative
