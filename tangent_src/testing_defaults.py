"""How check_grads calls what it checks: how many positional arguments a transform takes,
which positions it differentiates, and, at higher order, the defaults of the positional
parameters left out (the seed or tangent is appended after them, or it lands in `axis`)."""
from __future__ import annotations

import inspect

from . import guards
from .api import Transform
from .request import Params


def with_defaults(func, args: tuple) -> tuple:
    """`args` followed by the defaults of the positional parameters they leave out (so an
    argument appended after them is not taken for `axis`: np.sum's rule wrapper is
    `sum(a, axis=None, dtype=None, keepdims=...)`)."""
    if isinstance(func, Transform):
        return args
    try:  # a function with a rule is transformed as its rule's wrapper: those parameters
        params = [p for p in inspect.signature(guards.rule_wrapper(func) or func)
                  .parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return args
    rest = params[len(args):]
    if not rest or any(p.default is p.empty for p in rest):
        return args
    return (*args, *(p.default for p in rest))


def arity(func) -> int | None:
    """How many positional arguments a call of `func` takes with every derivative input
    (tangent, seed) given, or None when that is not known."""
    if isinstance(func, Transform):
        inner = arity(func.func)
        if inner is None or func.has_aux:
            return None
        if func.kind == "forward":
            return inner + len(func.wrt)
        if func.kind == "reverse":
            return inner + 1
        return inner
    try:
        params = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def wrt_positions(transform: Transform, n: int) -> list | None:
    """The argument positions a transform differentiates (names resolved), or None."""
    inner = transform.func
    while isinstance(inner, Transform):
        inner = inner.func
    params = Params.of(inner)
    if params is None:
        return None
    positions = [params.position(w) for w in transform.wrt]
    if any(p is None or not 0 <= p < n for p in positions):
        return None
    return positions
