"""Derivative rules, one module per family; importing this package registers them all."""
from . import (  # noqa: F401  (linalg and shaping come after arrays: they refine its rules)
    arrays,
    complex_audit,
    constructors,
    containers,
    elementwise,
    fft,
    integrate,
    linalg,
    linalg_complex,
    linalg_extra,
    matrix_equations,
    nondiff,
    numpy_extra,
    operators,
    ranges,
    runtime_rules,
    shaping,
    signals,
    special,
    special_families,
    stats,
    ufunc_methods,
)
from .registry import REGISTRY, adjoint, nondifferentiable, tangent

__all__ = ["REGISTRY", "adjoint", "nondifferentiable", "tangent"]
