"""Readable, collision-free names derived from the user's names."""
from __future__ import annotations

import re


class Namer:
    """Hands out names: the base itself if free, else base2, base3, ... (stable across runs)."""

    def __init__(self, used: set[str] | None = None):
        self.used: set[str] = set(used or ())

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
        k = 2
        while f"{stem}{k}" in self.used:
            k += 1
        name = f"{stem}{k}"
        self.used.add(name)
        return name


def adjoint_name(name: str) -> str:
    """The adjoint (or tangent) variable's base name: W -> dW, _t -> d_t."""
    return "d" + name
