"""Keep the user's names apart from the names generated code reserves (`np`, `math`, the
runtime helpers, a few builtins).

Rule templates and the transforms write `np.cos(x)`, `zeros_like(x)`, `range(n)` and mean
NumPy, the runtime helper and the builtin. A user function may bind one of those names to
something else: a local `zeros_like = ...`, a global `np = 3.0`, `import math as np`, a
module without `np` at all (`import numpy as jnp`). Before lowering, every such user name
is renamed to a fresh one (`zeros_like2`, `np2`) that still reads the user's binding, and
the reserved name is bound to what generated code means by it.

    def f(x):                         def f(x):
        zeros_like = np.sin(x)    ->      zeros_like2 = np.sin(x)
        return zeros_like * x             return zeros_like2 * x
"""
from __future__ import annotations

import builtins
import types

import gast

from ..core.walk import walk
from ..errors import UnsupportedSyntaxError
from ..naming import Namer, reserved_meanings
from .bindings import FixedRef

_BUILTIN = object()  # the value of a name the function's scope does not bind


def protect_reserved(parsed) -> None:
    """Rename the user's bindings of reserved names in `parsed` (in place) and bind the
    reserved names to their generated meaning where the user's scope binds them otherwise."""
    meanings = reserved_meanings()
    node = parsed.node
    names = {n.id for n in walk(node) if isinstance(n, gast.Name)}
    nested = _nested_definitions(node)
    names |= set(nested)
    local = {n.id for n in walk(node) if isinstance(n, gast.Name)
             and not isinstance(n.ctx, gast.Load)} | set(nested)
    renames = {}
    namer = Namer(names | set(parsed.namespace) | set(dir(builtins)) | set(meanings))
    for name in sorted(names & set(meanings)):
        if name in local or not _means(parsed, name, meanings[name]):
            renames[name] = namer.fresh(name)
    renames = _refuse_params(parsed, renames, meanings)
    for name, new in renames.items():
        ref = parsed.ref(name)
        if ref is not None:  # the user's global, cell or default, now under the new name
            parsed.adopted[new] = ref
            parsed.namespace[new] = parsed.namespace.get(name)
            parsed.renamed[new] = name
    _rename(node, renames)
    for name, meaning in meanings.items():
        # a helper the scope does not bind is already read as the helper (by its name);
        # `np` and `math` must be bound where the module has no such global
        if not _means(parsed, name, meaning) and (
                name in parsed.namespace or isinstance(meaning, types.ModuleType)):
            _bind(parsed, name, meaning)


def _means(parsed, name: str, meaning) -> bool:
    """Whether `name`, read free in the user's function, is `meaning` already."""
    value = parsed.namespace.get(name, _BUILTIN)
    if value is _BUILTIN:
        return getattr(builtins, name, _BUILTIN) is meaning
    return value is meaning


def _bind(parsed, name: str, meaning) -> None:
    if getattr(builtins, name, _BUILTIN) is meaning:
        parsed.adopted[name] = None  # the builtin
        parsed.namespace.pop(name, None)
    else:
        parsed.adopted[name] = FixedRef(meaning)
        parsed.namespace[name] = meaning


def _nested_definitions(node) -> list:
    """Names bound by `def` (or `class`) statements inside the function: bindings too,
    though not Name nodes (a nested `def unbroadcast` was renamed at its uses only)."""
    return [sub.name for sub in gast.walk(node) if sub is not node and
            isinstance(sub, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef))]


def _rename(node, renames: dict) -> None:
    for sub in walk(node):
        if isinstance(sub, gast.Name) and sub.id in renames:
            sub.id = renames[sub.id]
        elif isinstance(sub, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)) \
                and sub is not node and sub.name in renames:
            sub.name = renames[sub.name]


def _refuse_params(parsed, renames: dict, meanings: dict) -> dict:
    """A parameter keeps its name (callers pass it by keyword, `wrt` names it), so it
    cannot be renamed: one named like NumPy's `np`, `math` or a runtime helper is refused
    (generated code would read it for the library); one named like a builtin is kept as
    it is (a parameter `max` is common; generated code calls that builtin rarely)."""
    args = parsed.node.args
    params = args.posonlyargs + args.args + args.kwonlyargs + [
        a for a in (args.vararg, args.kwarg) if a is not None]
    for param in params:
        if param.id not in renames:
            continue
        if getattr(builtins, param.id, _BUILTIN) is meanings[param.id]:
            del renames[param.id]
            continue
        raise parsed.error(
            UnsupportedSyntaxError, param,
            f"the parameter name '{param.id}' is reserved: generated code uses it for "
            f"{_describe(meanings[param.id])}", construct="reserved parameter name",
            hint=f"rename the parameter '{param.id}'")
    return renames


def _describe(meaning) -> str:
    if meaning.__name__ in ("numpy", "math"):
        return f"the module {meaning.__name__}"
    return f"the runtime helper tangent_src.runtime.{meaning.__name__}"
