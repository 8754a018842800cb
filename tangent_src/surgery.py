"""Gradient surgery that user code calls directly."""
from __future__ import annotations

from .core.blocks import CHECKPOINT_BLOCK, HOOK_BLOCK, register_block
from .rules.registry import nondifferentiable


def stop_gradient(x):
    """`x` itself, treated as a constant: no derivative flows through it (like JAX's)."""
    return x


nondifferentiable(stop_gradient)


class insert_grad_of:  # noqa: N801 - used as a context manager, like a function
    """`with insert_grad_of(x) as dx:` — the body runs in the backward pass, where the
    adjoint of `x` is computed, with `dx` bound to it (reassign dx to change it: clip,
    scale, print, breakpoint). Outside tangent_src the body runs with dx = 0.0."""

    def __init__(self, x):
        self.x = x

    def __enter__(self):
        return 0.0

    def __exit__(self, *exc):
        return False


register_block(insert_grad_of, HOOK_BLOCK)


class checkpoint:  # noqa: N801 - used as a context manager, like a function
    """`with checkpoint():` around a `for i in range(...)` loop: the gradient stores the
    loop state only every `every` iterations (default: about sqrt(n)) and recomputes the
    iterations in between during the backward pass. Outside tangent_src it does nothing."""

    def __init__(self, every: int | None = None):
        self.every = every

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


register_block(checkpoint, CHECKPOINT_BLOCK)
