"""tangent_src: source-to-source automatic differentiation for Python and NumPy."""
from . import errors, optimizers
from .api import autodiff, clear_cache, grad, source, value_and_grad
from .custom import defjvp, defvjp, primitive
from .derivatives import hessian, hvp, jacfwd, jacobian, jacrev, jvp, vjp
from .fixed_points import fixed_point
from .flat_functions import elementwise_grad, flatten_func
from .pytrees import ravel_pytree
from .rules.registry import adjoint, d, nondifferentiable, tangent
from .standalone import standalone_source
from .surgery import checkpoint, insert_grad_of, stop_gradient
from .testing import check_grads

__all__ = ["adjoint", "autodiff", "check_grads", "checkpoint", "clear_cache", "d", "defjvp",
           "defvjp", "elementwise_grad", "errors", "fixed_point", "flatten_func", "grad",
           "hessian", "hvp",
           "insert_grad_of", "jacfwd", "jacobian", "jacrev", "jvp", "nondifferentiable",
           "optimizers", "primitive", "ravel_pytree", "source", "standalone_source",
           "stop_gradient", "tangent", "value_and_grad", "vjp"]
__version__ = "0.1.0"
