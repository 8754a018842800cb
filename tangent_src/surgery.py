"""Gradient surgery that user code calls directly."""
from __future__ import annotations

from .rules.registry import nondifferentiable


def stop_gradient(x):
    """`x` itself, treated as a constant: no derivative flows through it (like JAX's)."""
    return x


nondifferentiable(stop_gradient)
