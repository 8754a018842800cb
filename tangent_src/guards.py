"""Checks at the boundary between the user and generated code.

- Complex numbers: a complex argument is differentiated only by code specialized to it
  being complex (analysis/complexity.py: its statements use the rules audited for complex
  values); one the specialization does not cover (an object's attribute, the numba back
  end) is refused up front, and a derivative that comes out complex for a real argument
  (a complex constant met the differentiated values) is refused after the call rather
  than returned.
- Python floats become np.float64 on the way in, so that derivatives at singular points
  follow IEEE arithmetic (d log(x) at 0 is inf, as in JAX) instead of raising
  ZeroDivisionError from `1.0 / x` on a Python float.
- A function that has a derivative rule (np.abs, np.linalg.norm, a user function with a
  registered rule) transformed directly is wrapped in a generated one-line def that calls
  it, so its rule is used; NumPy's or SciPy's own source is never differentiated.
"""
from __future__ import annotations

import inspect
import math
import operator

import numpy as np

from .core.libraries import FOREIGN, root_module
from .errors import NoDerivativeRuleError, NotDifferentiableError, OutputTypeError
from .generated_source import define
from .rules.registry import REGISTRY
from .values import holds_complex, is_number

_COMPLEX_HINT = ("a complex value is differentiated where the generated code is specialized "
                 "to it: a complex argument in wrt (backend='python'), its tangent, or the "
                 "cotangent of a complex output; otherwise pass the real and imaginary parts "
                 "as separate float arguments")


def is_complex(value) -> bool:
    """True if `value` (a number, an array, or a tuple/list/dict of them) holds a complex
    number."""
    return holds_complex(value)


def refuse_complex(value, what: str) -> None:
    """Raise NotDifferentiableError when `value` is complex; `what` names it."""
    if is_complex(value):
        raise NotDifferentiableError(f"cannot differentiate {what}: it is complex; "
                                     + _COMPLEX_HINT)


def refuse_complex_arguments(name: str, params: list, wrt: list, args, kwargs,
                             allowed: frozenset = frozenset()) -> None:
    """Refuse complex values among the arguments being differentiated, except those of the
    `allowed` parameters (the generated code was specialized to them being complex); the
    others may be complex as long as they never meet a differentiated value."""
    values = dict(zip(params, args))
    values.update(kwargs)
    for param in wrt:
        if param in values and param not in allowed:
            refuse_complex(values[param], f"{name} with respect to '{param}'")


def all_zero(value) -> bool:
    """True if every number in the pytree `value` is zero."""
    if isinstance(value, dict):
        return all(all_zero(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return all(all_zero(v) for v in value)
    return not bool(np.any(np.asarray(value) != 0))


def _nonzero_complex(value) -> bool:
    """A complex number or array with a nonzero entry anywhere in a pytree (zeros of a
    complex dtype are the derivative of a complex constant and are exact). Runs after
    every call of a transform: arrays and floats, the usual results, are answered first."""
    kind = type(value)
    if kind is np.ndarray:
        return value.dtype.kind == "c" and bool(np.any(value != 0))
    if kind is float or kind is np.float64:
        return False
    if isinstance(value, dict):
        return any(_nonzero_complex(v) for v in value.values())
    if isinstance(value, (tuple, list)):
        return any(_nonzero_complex(v) for v in value)
    return is_complex(value) and bool(np.any(np.asarray(value) != 0))


def nonzero_complex(value) -> bool:
    """`_nonzero_complex`, answering a tuple of float arrays and floats (a gradient's
    usual result) without a call per item."""
    if type(value) is tuple:
        for item in value:
            kind = type(item)
            if kind is np.ndarray:
                if item.dtype.kind == "c" and bool(np.any(item != 0)):
                    return True
            elif kind is not np.float64 and kind is not float and _nonzero_complex(item):
                return True
        return False
    return _nonzero_complex(value)


def real_result(result, name):
    """`result`, after refuse_complex_result (`name()` names the function)."""
    if nonzero_complex(result):
        refuse_complex_result(result, name())
    return result


def refuse_complex_result(derivative, name: str) -> None:
    """Raise when a derivative came out complex: a complex value met the differentiated
    computation, and the rules (written for real arguments) do not differentiate it
    correctly."""
    if _nonzero_complex(derivative):
        raise NotDifferentiableError(
            f"the derivative of {name} came out complex: a complex value met the "
            "differentiated computation (a complex constant such as 1j, np.fft, or a complex "
            "argument); " + _COMPLEX_HINT + ", and write the computation in real arithmetic")


def real_gradients(derivative, wrt: list, complex_params: frozenset):
    """The gradients (one, or a tuple in `wrt` order) of the arguments that are real, whose
    gradients must be real (a complex argument's may be complex)."""
    if not complex_params:
        return derivative
    grads = (derivative,) if len(wrt) == 1 else derivative
    return tuple(g for g, w in zip(grads, wrt) if w not in complex_params)


def real_scalars(values: tuple) -> tuple:
    """`values` with Python floats as np.float64 (IEEE division by zero: inf, not an
    exception)."""
    for v in values:
        if type(v) is float:
            return tuple([np.float64(v) if type(v) is float else v for v in values])
    return values


# -- transforming a function that has a rule --------------------------------------------
_WRAPPERS: dict = {}


def _has_rule(func) -> bool:
    try:
        return func in REGISTRY.adjoints or func in REGISTRY.tangents or \
            func in REGISTRY.nondifferentiable
    except TypeError:  # unhashable
        return False


def _parameters(func) -> list[str]:
    """The wrapper's parameter list: the rule template's (defaults included), else the
    ufunc's inputs, else the function's own positional parameters."""
    template = REGISTRY.adjoints.get(func) or REGISTRY.tangents.get(func)
    if template is not None:
        params = list(template.signature.parameters.values())[1:]
        # `out=` writes into an array: the wrapper never passes it (and it is refused)
        return [str(p) for p in params if p.name != "out"]
    if isinstance(func, np.ufunc):
        return ["x"] if func.nin == 1 else [f"x{k}" for k in range(1, func.nin + 1)]
    sig = inspect.signature(func)
    return [str(p) for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _spelling(func) -> str:
    """How the wrapper names `func`: `np.tanh`, `np.linalg.norm`, `math.sin` when that is
    where it lives (readable generated code), else `_rule_target` (also for builtins, whose
    name the wrapper itself takes)."""
    name = getattr(func, "__name__", "")
    for prefix, module in (("np", np), ("np.linalg", np.linalg), ("math", math)):
        try:
            if name.isidentifier() and getattr(module, name, None) is func:
                return f"{prefix}.{name}"
        except TypeError:  # numpy comparisons of unusual callables
            continue
    return "_rule_target"


def _optional_operands(func, params: list[str]) -> list[str]:
    """Rule parameters defaulting to None that `func` does not take by keyword: operands
    of a variadic function (np.einsum's z2..z8 stand for `*operands`), passed by position
    only when given."""
    try:
        real = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return []
    if not any(p.kind == p.VAR_POSITIONAL for p in real):
        return []
    keywords = {p.name for p in real if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    return [p.split("=")[0].strip() for p in params
            if p.replace(" ", "").endswith("=None") and p.split("=")[0].strip() not in keywords]


def _wrap(func):
    """A generated `def name(params): return target(params)` whose only call is `func`
    (for a variadic function, one call per number of operands given)."""
    params = _parameters(func)
    names = [p.split("=")[0].strip() for p in params]
    optional = _optional_operands(func, params)
    positional = [n for n, p in zip(names, params) if "=" not in p]
    keywords = [f"{n}={n}" for n, p in zip(names, params) if "=" in p and n not in optional]
    name = getattr(func, "__name__", "f")
    name = name if name.isidentifier() else "f"
    body = ""
    for k in range(len(optional) + 1):  # `if z2 is None: return f(s, z1)`, and so on
        call = ", ".join(positional + optional[:k] + keywords)
        if k < len(optional):
            body += f"    if {optional[k]} is None:\n        return {_spelling(func)}({call})\n"
        else:
            body += f"    return {_spelling(func)}({call})\n"
    source = f"def {name}({', '.join(params)}):\n{body}"
    namespace = {"_rule_target": func, "np": np, "math": math,
                 "__name__": "tangent_src_rule_wrapper"}
    wrapper = define(source, name, namespace, f"rule wrapper: {name}")
    wrapper.__doc__ = f"Calls {name}, so that transforms use its derivative rule."
    return wrapper


# operator.add and the rest (C functions, no source) as the Python expression they compute
_OPERATORS = {operator.add: "a + b", operator.sub: "a - b", operator.mul: "a * b",
              operator.truediv: "a / b", operator.floordiv: "a // b", operator.mod: "a % b",
              operator.pow: "a ** b", operator.matmul: "a @ b", operator.neg: "-a",
              operator.pos: "+a", operator.abs: "abs(a)"}


def _is_operator(func) -> bool:
    try:
        return func in _OPERATORS
    except TypeError:  # unhashable
        return False


def _wrap_operator(func):
    """`def add(a, b): return a + b` for operator.add: transformed like the operator."""
    expr = _OPERATORS[func]
    params = "a, b" if "b" in expr else "a"
    name = func.__name__
    source = f"def {name}({params}):\n    return {expr}\n"
    wrapper = define(source, name, {"__name__": "tangent_src_rule_wrapper"},
                     f"operator wrapper: {name}")
    wrapper.__doc__ = f"Computes operator.{name}, so that transforms differentiate it."
    return wrapper


def rule_wrapper(func):
    """The generated wrapper a transform parses for a function that has a derivative rule
    (its parameters are the rule's), or for an `operator` function (`a + b`); None for a
    function without one."""
    is_op = _is_operator(func)
    if not is_op and not _has_rule(func):
        return None
    wrapper = _WRAPPERS.get(func)
    if wrapper is None:
        wrapper = _WRAPPERS[func] = _wrap_operator(func) if is_op else _wrap(func)
    return wrapper


def differentiable_target(func):
    """The function a transform should parse: `func` itself for a user function; a
    generated wrapper for a function that has a derivative rule; an error for a NumPy or
    SciPy function that has none (its source is NumPy's implementation, not a rule)."""
    wrapper = rule_wrapper(func)
    if wrapper is not None:
        return wrapper
    built_by = getattr(func, "built_by", None)
    if built_by == "jacobian" and getattr(func, "source_form", None) is not None:
        return func.source_form()  # jacobian(jacobian(f)): its source (jacobian_source.py)
    if isinstance(built_by, str) and built_by in ("hvp", "hessian", "jacobian"):
        raise NotDifferentiableError(
            f"cannot differentiate what {built_by}() returns (it assembles its result from "
            "many generated derivatives, so there is no one function to read): for second "
            "derivatives use hessian(f), jacfwd(grad(f)) or jacrev(grad(f))")
    module = root_module(func)
    if module in FOREIGN or isinstance(func, np.ufunc):
        name = getattr(func, "__qualname__", repr(func))
        raise NoDerivativeRuleError(
            f"no derivative rule for {module}.{name}, so it cannot be transformed directly",
            filename="<transform>", construct=name,
            hint="register one with @tangent_src.adjoint / @tangent_src.tangent, or call it "
                 "from a function of your own written with functions that have rules")
    return func


def check_grad_output(out, name_of: str, has_aux: bool) -> None:
    """Refuse what grad cannot differentiate: a has_aux function not returning a pair, a
    tuple, an array of more than one element, a non-number or a complex number."""
    if has_aux:
        if not (isinstance(out, tuple) and len(out) == 2):
            raise OutputTypeError(
                f"has_aux=True requires {name_of} to return a pair (loss, aux)")
        out = out[0]
    if isinstance(out, tuple):
        raise OutputTypeError(
            f"grad requires {name_of} to return a scalar, but it returned a tuple; to "
            "return auxiliary values use has_aux=True (return (loss, aux)) or return only "
            "the loss")
    if np.ndim(out) != 0 and np.size(out) != 1:
        raise OutputTypeError(
            f"grad requires {name_of} to return a scalar, but it returned an array of "
            f"shape {np.shape(out)}; for array outputs use a vector-Jacobian product "
            "(tangent_src.vjp) or sum the output")
    if not is_number(out) or np.iscomplexobj(out):
        raise OutputTypeError(
            f"grad requires {name_of} to return a real number, but it returned a "
            f"{type(out).__name__} ({out!r:.40}); if its output may be complex, "
            "differentiate a real loss (np.real, np.abs of it), or use vjp/jvp")
