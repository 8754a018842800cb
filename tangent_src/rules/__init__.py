"""Derivative rules, one module per family; importing this package registers them all."""
from . import arrays, containers, elementwise, nondiff, operators, runtime_rules  # noqa: F401
from .registry import REGISTRY, adjoint, nondifferentiable, tangent

__all__ = ["REGISTRY", "adjoint", "nondifferentiable", "tangent"]
