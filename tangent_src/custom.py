"""autograd's way of giving a function its own derivative: `primitive`, `defvjp`, `defjvp`.

    @primitive
    def logsumexp(x): ...
    defvjp(logsumexp, lambda ans, x: lambda g: g * np.exp(x - ans))

`defvjp(f, maker0, maker1, ...)` registers a reverse-mode rule for f whose code calls the
maker of argument i as autograd does: `maker_i(ans, *args)(g)`; `defjvp(f, ...)` a forward
rule, `maker_i(g, ans, *args)` the tangent of the output along argument i's tangent g. The
generated code calls them through `custom_vjp` / `custom_jvp`, looked up by the function's
qualified name when it runs (so the cached code follows a maker redefined later). Makers
are Python closures, not source the compiler reads: the generated derivative of code using
them cannot be differentiated again (DerivativeNotImplementedError when it runs).
`@tangent_src.adjoint` templates, which can, are the native way (README: "A custom rule").
"""
from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from .errors import TangentError
from .rules.registry import REGISTRY, Template, adjoint, d, register_template, tangent
from .runtime.refusals import refuse

_VJP_MAKERS: dict[str, tuple] = {}
_JVP_MAKERS: dict[str, tuple] = {}


def _key(func: Callable) -> str:
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def primitive(func: Callable) -> Callable:
    """Mark `func` as a unit with derivatives of its own (autograd's decorator): give them
    with `defvjp`/`defjvp`. In a mode without one its source is differentiated as usual
    (autograd would refuse)."""
    func.__tangent_src_primitive__ = True
    return func


def _maker(table: dict, key: str, argnum: int, what: str) -> Callable:
    makers = table.get(key, ())
    maker = makers[argnum] if argnum < len(makers) else None
    if maker is None:
        refuse(f"{what} of {key} with respect to argument {argnum} is not defined; give "
               f"one with tangent_src.{'defvjp' if table is _VJP_MAKERS else 'defjvp'}")
    return maker


def custom_vjp(key: str, argnum: int, g, ans, *args):
    """Argument `argnum`'s adjoint for the output's adjoint `g` (defvjp's maker)."""
    return _maker(_VJP_MAKERS, key, argnum, "the VJP")(ans, *args)(g)


def custom_jvp(key: str, argnum: int, tangent, ans, *args):
    """The output's tangent along argument `argnum`'s `tangent` (defjvp's maker); 0 for a
    zero tangent (an argument not differentiated) of an argument without a maker."""
    makers = _JVP_MAKERS.get(key, ())
    if (argnum >= len(makers) or makers[argnum] is None) and not np.any(tangent):
        return 0.0
    return _maker(_JVP_MAKERS, key, argnum, "the JVP")(tangent, ans, *args)


def _params(func: Callable) -> list[str]:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError) as exc:
        raise TangentError(f"defvjp/defjvp: cannot read the parameters of {func!r}") from exc
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        raise TangentError(f"defvjp/defjvp: {_key(func)} has *args or **kwargs; name its "
                           "parameters")
    return [p.name for p in params]


def _register(table: dict, func: Callable, makers: tuple, body_of: Callable) -> None:
    params = _params(func)
    if len(makers) > len(params):
        raise TangentError(f"{len(makers)} derivative makers for {_key(func)}, which takes "
                           f"{len(params)} arguments")
    key = _key(func)
    # every argument gets a line: one without a maker raises when it is differentiated
    # (no line would read as a zero derivative)
    body = "".join(body_of(key, k, params) for k in range(len(params)))
    register_template(table, func, ", ".join(["y"] + params), body)
    template: Template = table[func]
    template.namespace = {"custom_vjp": custom_vjp, "custom_jvp": custom_jvp}


def defvjp(func: Callable, *makers: Callable | None) -> None:
    """Reverse-mode rule of `func` from autograd-style makers, one per argument (None, or
    fewer makers, for arguments without one: differentiating those raises
    NoDerivativeRuleError): `maker(ans, *args)` returns `g -> adjoint of that argument`."""
    _VJP_MAKERS[_key(func)] = makers
    args = ", ".join

    def body(key, k, params):
        return f"d[{params[k]}] = custom_vjp({key!r}, {k}, d[y], y, {args(params)})\n"
    _register(REGISTRY.adjoints, func, makers, body)


def defjvp(func: Callable, *makers: Callable | None) -> None:
    """Forward-mode rule of `func` from makers `maker(g, ans, *args)`, one per argument:
    the output's tangent is the sum over arguments of their makers at their tangents."""
    _JVP_MAKERS[_key(func)] = makers

    def body(key, k, params):
        call = f"custom_jvp({key!r}, {k}, d[{params[k]}], y, {', '.join(params)})"
        return f"d[y] = {call}\n" if k == 0 else f"d[y] = d[y] + {call}\n"
    _register(REGISTRY.tangents, func, makers, body)



@adjoint(custom_vjp, custom_jvp)
def _custom_adjoint(y, key, argnum, g, ans, *args):
    # `ans` varies whenever an argument does (it is the primal result of them)
    d[g] = refuse("second derivatives through a defvjp/defjvp maker (a closure the "
                  "compiler cannot read): write the rule as a @tangent_src.adjoint template")
    d[ans] = refuse("second derivatives through a defvjp/defjvp maker (a closure the "
                    "compiler cannot read): write the rule as a @tangent_src.adjoint template")


@tangent(custom_vjp, custom_jvp)
def _custom_tangent(y, key, argnum, g, ans, *args):
    d[y] = refuse("second derivatives through a defvjp/defjvp maker (a closure the "
                  "compiler cannot read): write the rule as a @tangent_src.tangent template")
