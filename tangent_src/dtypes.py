"""Gradients come back in the dtype of what they differentiate (as in JAX): float32 in,
float32 out; float16 likewise; a complex argument's gradient is complex (of its dtype),
even where the code computed a real one (the gradient of np.real(z) is 1+0j).

The generated code computes with NumPy's promotion rules, under which the seed 1.0 and
the constants of derivative rules can widen float32 values to float64 along the way.
Rather than constrain every rule, the gradients are cast back at the end: a `plan` per
specialization says which differentiated arguments are narrower floats (None when all
are float64, the common case, which then costs nothing)."""
from __future__ import annotations

import numpy as np

NARROW = (np.dtype(np.float16), np.dtype(np.float32))


def narrow_dtype(value):
    """The dtype of `value` if it is a float16/float32 array or NumPy scalar (or a
    tuple/list/dict of them, all alike), else None."""
    if isinstance(value, (np.ndarray, np.floating)):
        return value.dtype if value.dtype in NARROW else None
    if isinstance(value, (tuple, list)) and value:
        found = {narrow_dtype(v) for v in value}
        return found.pop() if len(found) == 1 else None
    if isinstance(value, dict) and value:
        return narrow_dtype(list(value.values()))
    return None


def gradient_dtype(value):
    """The dtype the gradient of `value` is cast to: a narrow float or a complex dtype (of
    an array, a NumPy scalar or a Python complex); for a tuple/list/dict holding a complex
    leaf, the same structure of such dtypes; None when no cast is needed."""
    if isinstance(value, complex):
        return np.dtype(np.complex128)
    if isinstance(value, (np.ndarray, np.complexfloating)) and value.dtype.kind == "c":
        return value.dtype
    if isinstance(value, (tuple, list, dict)) and _holds_complex(value):
        return _leaf_dtypes(value)
    return narrow_dtype(value)


def _leaf_dtypes(value):
    """Inside a container holding a complex leaf: every float or complex leaf's dtype (a
    real leaf's gradient, computed beside complex values, may come out complex: its real
    part is its gradient)."""
    if isinstance(value, dict):
        return {k: _leaf_dtypes(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return type(value)(_leaf_dtypes(v) for v in value)
    if isinstance(value, (float, complex)):
        return np.dtype(type(value))
    if isinstance(value, (np.ndarray, np.number)) and value.dtype.kind in "fc":
        return value.dtype
    return None


def _holds_complex(value) -> bool:
    if isinstance(value, (tuple, list)):
        return any(_holds_complex(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_complex(v) for v in value.values())
    return isinstance(value, complex) or getattr(value, "dtype", None) is not None and \
        np.dtype(value.dtype).kind == "c"


def dtype_plan(params: list, wrt: list, args: tuple, kwargs: dict) -> tuple | None:
    """For each differentiated argument, the dtype its gradient takes (see gradient_dtype;
    None for float64 and non-floats); None when no gradient needs a cast."""
    values = dict(zip(params, args))
    values.update(kwargs)
    plan = tuple(gradient_dtype(values.get(name)) for name in wrt)
    return plan if any(d is not None for d in plan) else None


def cast(value, dtype):
    """`value` (a gradient: array, number, or tuple/list/dict of them) in `dtype` (or in
    a tuple/list/dict of dtypes of its structure)."""
    if dtype is None:
        return value
    if isinstance(dtype, (tuple, list)) and isinstance(value, (tuple, list)):
        return type(value)(cast(v, d) for v, d in zip(value, dtype))
    if isinstance(dtype, dict) and isinstance(value, dict):
        return {k: cast(v, dtype.get(k)) for k, v in value.items()}
    if isinstance(value, (np.ndarray, np.generic, complex)) and np.iscomplexobj(value) \
            and dtype.kind != "c":
        value = np.real(value)  # the real part pairs with a real argument's tangent
    if isinstance(value, np.ndarray):
        return value.astype(dtype, copy=False)
    if isinstance(value, (int, float, complex, np.number)) and not isinstance(value, bool):
        return dtype.type(value)
    if isinstance(value, tuple):
        return tuple(cast(v, dtype) for v in value)
    if isinstance(value, list):
        return [cast(v, dtype) for v in value]
    if isinstance(value, dict):
        return {k: cast(v, dtype) for k, v in value.items()}
    return value


def restore(grads, plan: tuple, single: bool):
    """The gradients (one, or a tuple in wrt order) cast by `plan`."""
    if single:
        return cast(grads, plan[0])
    return tuple(cast(g, d) for g, d in zip(grads, plan))


def common_narrow(values) -> np.dtype | None:
    """The narrow float dtype shared by every float leaf of `values` (None if there is a
    float64 leaf, no float leaf, or two narrow dtypes)."""
    found: set = set()

    def visit(value) -> None:
        if isinstance(value, (tuple, list)):
            for v in value:
                visit(v)
        elif isinstance(value, dict):
            for v in value.values():
                visit(v)
        elif isinstance(value, (float, np.floating, np.ndarray)) and \
                np.issubdtype(np.asarray(value).dtype, np.floating):
            found.add(np.asarray(value).dtype)
    visit(values)
    return found.pop() if len(found) == 1 and next(iter(found)) in NARROW else None


def widen(value):
    """`value` with its float16/float32 leaves as float64 (numba's generated code then
    meets the float64 seed and constants without mixed-dtype products, which it does not
    compile)."""
    if isinstance(value, np.ndarray) and value.dtype in NARROW:
        return value.astype(np.float64)
    if isinstance(value, np.floating) and value.dtype in NARROW:
        return np.float64(value)
    if isinstance(value, tuple):
        return tuple(widen(v) for v in value)
    if isinstance(value, list):
        return [widen(v) for v in value]
    if isinstance(value, dict):
        return {k: widen(v) for k, v in value.items()}
    return value
