"""tangent_src: source-to-source automatic differentiation for Python and NumPy."""
from . import errors
from .api import autodiff, clear_cache, grad, source, standalone_source, value_and_grad
from .rules.registry import adjoint, nondifferentiable, tangent

__all__ = ["adjoint", "autodiff", "clear_cache", "errors", "grad", "nondifferentiable",
           "source", "standalone_source", "tangent", "value_and_grad"]
__version__ = "0.1.0"
