"""Readable, collision-free names derived from the user's names."""
from __future__ import annotations

import re


class Namer:
    """Hands out names: the base itself if free, else base2, base3, ... (stable across runs)."""

    def __init__(self, used: set[str] | None = None):
        self.used: set[str] = set(used or ())
        # stem -> the number to try first: every number below it is taken (`used` only
        # grows), so numbering stays linear in a function of thousands of statements
        self._next: dict[str, int] = {}
        # names of temporaries the front end made for subexpressions (t2, exp_y): not
        # versions of a user's name that happens to share their stem (a loop's `t`)
        self.temporaries: set[str] = set()

    def reserve(self, name: str) -> None:
        self.used.add(name)

    def fresh(self, base: str) -> str:
        base = re.sub(r"\W", "_", base) or "t"
        if base[0].isdigit():
            base = "_" + base
        if base not in self.used:
            self.used.add(base)
            return base
        stem = re.sub(r"\d+$", "", base) or base
        k = self._next.get(stem, 2)
        while f"{stem}{k}" in self.used:
            k += 1
        self._next[stem] = k + 1
        name = f"{stem}{k}"
        self.used.add(name)
        return name


def adjoint_name(name: str) -> str:
    """The adjoint (or tangent) variable's base name: W -> dW, _t -> d_t."""
    return "d" + name


# Builtins that generated code may call on its own account (loop bounds, container
# rules, reductions): a user binding of one of these names must not capture those calls.
GENERATED_BUILTINS = ("abs", "all", "any", "bool", "dict", "enumerate", "float", "int", "iter",
                      "len", "list", "max", "min", "pow", "range", "reversed", "round", "slice",
                      "sum", "tuple", "zip")


def reserved_meanings() -> dict:
    """name -> the object generated code means by that name: NumPy as `np`, `math`, the
    runtime helpers and the builtins above. A user's name spelled the same way but bound
    to something else is renamed by the front end, so neither captures the other."""
    import builtins
    import math

    import numpy

    from . import runtime
    out: dict = {name: getattr(builtins, name) for name in GENERATED_BUILTINS}
    out.update({name: getattr(runtime, name) for name in runtime.HELPERS})
    out["np"], out["math"] = numpy, math
    return out
