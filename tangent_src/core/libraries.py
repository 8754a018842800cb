"""Which Python modules are libraries rather than user code: the one table every stage
consults (the front end and transforms: what is differentiated from its source; the
back end: what a generated module imports by name; guards and rules: what has rules)."""
from __future__ import annotations

# Never differentiated from their source: a call of one of their functions needs a
# registered rule (or a nondifferentiable registration), else it is refused.
LIBRARY_MODULES = ("numpy", "scipy", "math", "builtins", "tangent_src", "numba")
# Their functions are imported by name into generated and standalone modules.
IMPORTABLE = ("numpy", "scipy", "math")
# Their functions cannot be transformed directly without a rule (no Python source).
FOREIGN = IMPORTABLE + ("builtins",)
# Their functions take array-likes: a list argument of a rule is read as np.asarray(list).
ARRAY_LIBRARIES = ("numpy", "scipy")


def root_module(obj) -> str:
    """The top-level package that defines `obj` ("" if none is recorded)."""
    return (getattr(obj, "__module__", None) or "").split(".")[0]


def is_library_object(obj) -> bool:
    """Whether `obj` (a function or class) is defined by one of LIBRARY_MODULES."""
    return root_module(obj) in LIBRARY_MODULES
