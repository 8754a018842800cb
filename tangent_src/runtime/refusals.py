"""How generated code refuses: `refuse` raises the refusal of a derivative case a rule does
not implement (or where the derivative does not exist), `real_values` and `real_only` refuse a
complex value that met the differentiated computation.

Both read the error classes from their module's globals, so a standalone module, which copies
their source without tangent_src's errors, raises the built-in errors instead."""
from __future__ import annotations

import numpy as np

from ..errors import (  # noqa: F401  (read from globals() by real_values, check_output)
    DerivativeNotImplementedError,
    DerivativeUndefinedError,
    NotDifferentiableError,
    OutputTypeError,
)

# what refuse() raises (generated standalone modules copy refuse() without these)
REFUSALS = (DerivativeNotImplementedError, DerivativeUndefinedError)


def real_values(x):
    """`x` as a float array; a complex `x` is refused (the derivative rules that read it are
    written for real arguments, and casting would silently drop the imaginary part)."""
    x = np.asarray(x)
    if x.dtype.kind == "c":
        # NotDifferentiableError here; TypeError in a standalone copy of this helper
        refusal = globals().get("NotDifferentiableError", TypeError)
        raise refusal("a complex value met a derivative rule written for real values; "
                      "write it in real arithmetic (real and imaginary parts as float "
                      "arrays)")
    return x.astype(float)


def refuse(message, undefined=False):
    """Raise the refusal of a derivative case that a rule does not implement (or, with
    `undefined`, where the derivative does not exist): a TangentError that is also a
    NotImplementedError (ValueError); in a standalone module, which has no REFUSALS, the
    built-in error."""
    not_implemented, not_defined = globals().get("REFUSALS", (NotImplementedError, ValueError))
    raise (not_defined if undefined else not_implemented)(message)


def real_only(t):
    """The tangent of np.real(z): `t` itself for real `t`; a complex `t` is refused, since it
    means a complex value met the differentiated computation upstream, where the rules
    (written for real arguments: abs, norm, ...) may already be wrong (taking the real part
    would hide it)."""
    if np.iscomplexobj(t):
        real_values(t)  # raises
    return t


def check_assert(condition, message=None) -> None:
    """`assert condition, message` of the user's code, run on the primal values (lowering
    writes an assert as a call of this, a side-effect statement)."""
    if not condition:
        raise AssertionError(message) if message is not None else AssertionError()


# generated code read again (second order) calls it as a statement: the front end keeps it
# as a side effect, as it kept the user's `assert` (lower/effects.py reads this mark)
check_assert.__tangent_src_effect__ = True


def check_output(condition, message) -> None:
    """A nested `grad(f)(x)`'s check that f returned one number: the OutputTypeError (a
    TypeError) that grad itself raises, not an AssertionError of the generated code."""
    if not condition:
        # OutputTypeError here; TypeError in a standalone copy of this helper
        raise globals().get("OutputTypeError", TypeError)(message)


check_output.__tangent_src_effect__ = True

# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("real_only", "check_assert", "check_output")
