"""What the transforms ask of argument values: their shape classes (the key of one
specialization of generated code) and whether a value can be differentiated."""
from __future__ import annotations

import inspect
import numbers

import numpy as np

from .analysis.complexity import with_complex_args
from .analysis.kinds import value_class
from .analysis.shapes import shape_class
from .arity import item_name

# argument types the fast path of a transform keys by type alone (a container or an object
# is keyed by whether it holds a complex number too)
NUMBER_TYPES = frozenset((float, int, bool, complex, type(None), np.float64, np.float32,
                          np.complex128, np.complex64, np.int64))


def arg_classes(sig, args, kwargs, items: bool = False) -> tuple:
    """(parameter, shape class) pairs of a call: the key of one specialization, marked with
    the parameters that receive complex values (numbers, arrays, or inside a tuple, list,
    dict or an object's attributes: see analysis/complexity.py). With `items` (the code
    tests types: analysis/kinds.py), a list or tuple's class says its type and items'."""
    if sig is None:
        return ()
    extra = ()
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError:  # extra trailing arguments: tangents or a seed
        try:
            bound = sig.bind(*args[:len(sig.parameters)], **kwargs)
            extra = args[len(sig.parameters):]
        except TypeError:
            return ()
    bound.apply_defaults()
    pairs = []  # (name, value): *args one entry per item, **kwargs one per keyword (arity.py)
    for name, value in bound.arguments.items():
        kind = sig.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            pairs += [(item_name(name, k), v) for k, v in enumerate(value)]
        elif kind is inspect.Parameter.VAR_KEYWORD:
            pairs += list(value.items())
        else:
            pairs.append((name, value))
    classes = tuple((name, (value_class if items else shape_class)(value))
                    for name, value in pairs)
    # the extra arguments by position (the generated function names them)
    complex_names = [name for name, value in pairs if holds_complex(value)]
    complex_names += [len(sig.parameters) + k for k, v in enumerate(extra) if holds_complex(v)]
    return with_complex_args(classes, complex_names)


def holds_complex(value) -> bool:
    """True if `value` (a number, an array, a tuple/list/dict of them, or a parameter
    holder object's attributes) holds a complex number."""
    if isinstance(value, (complex, np.complexfloating)):
        return True
    dtype = getattr(value, "dtype", None)
    if isinstance(dtype, np.dtype):
        return dtype.kind == "c"
    if isinstance(value, dict):
        return any(holds_complex(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return any(holds_complex(v) for v in value)
    if hasattr(value, "__dict__") and not callable(value) and not isinstance(value, type):
        return any(holds_complex(v) for v in vars(value).values())
    return False


def is_float_value(value) -> bool:
    """A float or complex scalar or array (what a derivative can be taken of)."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (float, complex, np.floating, np.complexfloating)):
        return True
    dtype = getattr(value, "dtype", None)
    return isinstance(value, np.ndarray) and dtype.kind in "fc"


def is_number(value) -> bool:
    """A number or numeric array (an integer result has a zero derivative)."""
    if isinstance(value, (numbers.Number, np.number, np.bool_)):
        return True
    return isinstance(value, np.ndarray) and value.dtype.kind in "biufc"


def not_differentiable(value, depth: int = 0) -> str | None:
    """Why a wrt argument has no derivative, or None when it has one: it is (or holds) a
    float/complex number or array. Integers and bools are refused at the top level; inside
    a container they are constants (their gradient is zero), but a container or object
    with nothing differentiable in it is refused."""
    if is_float_value(value):
        return None
    kind = type(value).__name__
    if isinstance(value, (bool, int, np.integer, np.bool_)) or (
            isinstance(value, np.ndarray) and value.dtype.kind in "biu"):
        return (f"it is an integer/bool value ({kind}); pass a float" if depth == 0 else
                "integer")
    if isinstance(value, (tuple, list, dict)):
        items = list(value.values()) if isinstance(value, dict) else list(value)
    elif hasattr(value, "__dict__") and not callable(value) and \
            not isinstance(value, np.ndarray):
        items = list(vars(value).values())  # a parameter holder: its attributes
    else:
        return f"it is of type {kind} ({value!r:.40}), not a float or an array of floats"
    found = [not_differentiable(item, depth + 1) for item in items]
    if not found or any(f is None for f in found):
        return None
    if depth:
        return "no float"
    return (f"it is a {kind} with no float or float array in it ({value!r:.60}); pass "
            "floats")


def output_seed(out):
    """A grad's cotangent for its output `out`: 1.0 for a scalar; ones in the output's
    shape for an array of one element (shape (1,) or (1, 1): accepted as a scalar, as
    autograd does, so that `np.dot(x.T, A @ x)` of a column x has a gradient)."""
    return np.ones(np.shape(out)) if np.ndim(out) else 1.0


def known_classes(sig, known: dict) -> tuple:
    """(parameter, class) pairs naming the positional arguments in `known` (position ->
    class: what a caller's front end knows of an argument of a transform it calls, a dict
    or a function), None for the others; () when none is known or `sig` has no plain
    parameters to name them (*args, **kwargs)."""
    kind = inspect.Parameter
    if not known or sig is None or any(p.kind in (kind.VAR_POSITIONAL, kind.VAR_KEYWORD)
                                       for p in sig.parameters.values()):
        return ()
    names = [p for p, v in sig.parameters.items()
             if v.kind in (kind.POSITIONAL_ONLY, kind.POSITIONAL_OR_KEYWORD)]
    by_name = {names[k]: cls for k, cls in known.items() if k < len(names)}
    return tuple((p, by_name.get(p)) for p in sig.parameters) if by_name else ()
