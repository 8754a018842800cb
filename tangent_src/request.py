"""The request: what one transform differentiates and how, validated once.

Every public entry point (grad, value_and_grad, autodiff, jvp/vjp/hvp/hessian/jacobian,
standalone_source and the command line) builds a `Request` with `make_request`, so an
option means the same thing, and is refused with the same error, wherever it is given.
`resolve_wrt` is the only place that interprets `wrt`; the compiler calls it again on the
lowered function for the entries that can only be resolved there (see `Params`).

The rules for `wrt` (also `argnums`), chosen to match JAX's `argnums`
(https://docs.jax.dev/en/latest/_autosummary/jax.grad.html) where JAX defines them:

- one entry or a tuple/list of entries; an entry is a position (an `int`, or any integer
  that `operator.index` accepts, such as `np.int64`; never a bool) or a parameter name;
- a position counts positional parameters only, and a negative one counts from the end,
  as in Python and in JAX (`argnums=-1`); keyword-only parameters are named;
- every entry must name a parameter of the function (a name that is not one, or a
  position past the end, is refused); for a function with `*args` a position past the
  named parameters, or with `**kwargs` an unknown name, is left for the compiler, which
  refuses such functions with a located error;
- each parameter at most once: `wrt=(0, "x")` or `(0, 0)` is refused. JAX's argnums does
  not support repeats either (`argnums_partial` in jax/_src/api_util.py rebuilds the
  argument list from one slot per entry and fails), and `torch.func` refuses them
  explicitly; a repeated entry would also make two gradients of one value;
- at least one entry (`wrt=()` is refused).
"""
from __future__ import annotations

import inspect
import operator
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from . import guards
from .errors import RequestError

MODES = ("forward", "reverse")
BACKENDS = ("python", "numba")
KINDS = ("grad", "value_and_grad", "reverse", "forward")
NO_OPT_VARIABLE = "TANGENT_SRC_NO_OPT"  # set (non-empty): generated code is not optimized


def default_optimize() -> bool:
    """The default of `Request.optimize`: on, unless $TANGENT_SRC_NO_OPT is set (a debugging
    switch to see the code before the optimizer). The one place that reads it."""
    return not os.environ.get(NO_OPT_VARIABLE)


@dataclass(frozen=True)
class Params:
    """The parameters a `wrt` entry may name, in order: of the user's function (from its
    signature, without a bound method's `self`) or of its lowered definition."""

    owner: str                       # the function's name, for messages
    positional: tuple[str, ...]      # positional-only and positional-or-keyword, in order
    keyword_only: tuple[str, ...] = ()
    var_positional: str | None = None   # the name of *args, if any
    var_keyword: str | None = None      # the name of **kwargs, if any

    @classmethod
    def of(cls, func: Callable) -> Params | None:
        """The parameters of a callable, or None when Python cannot tell (a ufunc, a
        builtin). A transform's entries are resolved against its generated code, when that
        is generated (its displayed signature only predicts the seed's name)."""
        if getattr(func, "resolved_at_generation", False):
            return cls(getattr(func, "__name__", "f"), (), (), "args", "kwargs")
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError):
            return None
        kind = inspect.Parameter
        of_kind = {k: tuple(p.name for p in sig.parameters.values() if p.kind in k)
                   for k in ((kind.POSITIONAL_ONLY, kind.POSITIONAL_OR_KEYWORD),
                             (kind.KEYWORD_ONLY,), (kind.VAR_POSITIONAL,),
                             (kind.VAR_KEYWORD,))}
        positional, keyword_only, star, star_star = of_kind.values()
        return cls(getattr(func, "__name__", "f"), positional, keyword_only,
                   star[0] if star else None, star_star[0] if star_star else None)

    @classmethod
    def of_definition(cls, node: Any) -> Params:
        """The parameters of a (lowered) function definition node."""
        args = node.args
        name = (lambda a: a.id if hasattr(a, "id") else a.arg)  # noqa: E731
        return cls(node.name, tuple(name(a) for a in args.posonlyargs + args.args),
                   tuple(name(a) for a in args.kwonlyargs),
                   name(args.vararg) if args.vararg else None,
                   name(args.kwarg) if args.kwarg else None)

    def describe(self) -> str:
        names = self.positional + self.keyword_only
        return ", ".join(names) if names else "none"

    def position(self, entry: int | str) -> int | None:
        """The index among the positional parameters of a resolved entry, or None for a
        keyword-only parameter (or a position that depends on the call, under *args)."""
        if isinstance(entry, str):
            return self.positional.index(entry) if entry in self.positional else None
        n = len(self.positional)
        if -n <= entry < n:
            return entry % n
        return entry if entry >= 0 and self.var_positional else None


@dataclass(frozen=True)
class Request:
    """One transform, validated: built by `make_request`, hashable (part of cache keys),
    pickled with a transform instead of its generated code."""

    func: Callable           # what the user passed: a function, bound method or transform
    wrt: tuple               # parameter names; a position only where the name is decided
    #                          by the generated code (a transform of a transform, *args)
    single: bool = True      # `wrt` was one entry: the result is not wrapped in a tuple
    kind: str = "grad"       # grad | value_and_grad | reverse | forward (what is returned)
    mode: str = "reverse"    # reverse | forward (and, internally, split)
    return_value: bool = False  # also return the function's value
    has_aux: bool = False    # the function returns (value, aux); aux is passed through
    backend: str = "python"  # python | numba
    order: int = 1           # how many times to differentiate (standalone_source, CLI)
    optimize: bool = True    # run the optimizer on the generated code
    seed_from_output: bool = False  # reverse code nested in a derivative: seeded by ones
    #                                 in its output's shape, not by a `dout` parameter

    def code_key(self) -> tuple:
        """The fields the generated code depends on: transforms that differ only in how
        they return the result (grad vs autodiff, wrt=k vs wrt=(k,)) share one module."""
        return (self.func, self.wrt, self.mode, self.return_value, self.has_aux,
                self.backend, self.optimize, self.seed_from_output)

    def with_func(self, func: Callable, **changes) -> Request:
        """The same request for another function (the code the transform generates from:
        an unbound method, or a nested transform's generated function)."""
        return replace(self, func=func, **changes)

    def one_argument(self, what: str) -> int | str:
        """The single entry of a transform that takes one argument (hvp, hessian,
        jacobian); several are refused."""
        if len(self.wrt) != 1:
            raise RequestError(f"wrt: {what} differentiates with respect to one argument, "
                               f"got {len(self.wrt)} ({', '.join(map(repr, self.wrt))})",
                               field="wrt")
        return self.wrt[0]


def _entries(wrt) -> tuple:
    """`wrt` as a tuple of positions (int) and names (str), every entry's type checked."""
    items = tuple(wrt) if isinstance(wrt, (tuple, list)) else (wrt,)
    if not items:
        raise RequestError("wrt: no argument given; name at least one argument (a position "
                           "or a parameter name)", field="wrt")
    entries = []
    for item in items:
        if isinstance(item, str):
            entries.append(item)
            continue
        try:
            if isinstance(item, bool):
                raise TypeError
            entries.append(operator.index(item))
        except TypeError:
            raise RequestError(f"wrt: entries are argument positions (int) or parameter "
                               f"names (str), got {item!r} ({type(item).__name__})",
                               field="wrt") from None
    return tuple(entries)


def _resolve(entry: int | str, params: Params) -> int | str:
    """One entry as a parameter name (or a position left for the compiler, under *args)."""
    owner = f"{params.owner}()"
    if isinstance(entry, str):
        if entry in params.positional or entry in params.keyword_only:
            return entry
        if entry in (params.var_positional, params.var_keyword):
            stars = "*" if entry == params.var_positional else "**"
            raise RequestError(f"wrt: {entry!r} is the {stars}{entry} parameter of {owner}; "
                               "differentiate with respect to a named parameter",
                               field="wrt")
        if params.var_keyword:
            return entry
        raise RequestError(f"wrt: {owner} has no argument {entry!r} (its arguments: "
                           f"{params.describe()})", field="wrt")
    n = len(params.positional)
    if -n <= entry < n:
        return params.positional[entry]
    if params.var_positional:
        return entry
    if not n:
        detail = f"{owner} takes no positional arguments"
        if params.keyword_only:
            detail += f"; name a keyword-only one ({', '.join(params.keyword_only)})"
    else:
        detail = (f"{owner} takes {n} positional argument{'s' if n > 1 else ''} "
                  f"({', '.join(params.positional)})")
    raise RequestError(f"wrt: position {entry} is out of range: {detail}", field="wrt")


def resolve_wrt(wrt, params: Params | None) -> tuple:
    """THE validator of `wrt` (the rules are in this module's docstring): the entries as
    parameter names, in the order given. Without `params` (no signature) the entries are
    only checked for type and repeats, and resolved when the code is generated."""
    entries = _entries(wrt)
    resolved = entries if params is None else tuple(_resolve(e, params) for e in entries)
    first: dict = {}
    for given, target in zip(entries, resolved):
        if target in first:
            spelled = f"as {first[target]!r} and {given!r}" if first[target] != given else \
                f"as {given!r}"
            what = f"argument {target!r}" if isinstance(target, str) else f"position {target}"
            raise RequestError(f"wrt: {what} is listed twice ({spelled}); each argument can "
                               "be differentiated with respect to once", field="wrt")
        first[target] = given
    return resolved


def _check_choice(field: str, value, allowed: tuple) -> None:
    if value not in allowed:
        choices = " or ".join(repr(a) for a in allowed)
        raise RequestError(f"{field} must be {choices}, not {value!r}", field=field)


def chosen_wrt(wrt, argnums=None, argnum=None, default=0):
    """The one selection of a transform given its three spellings: `wrt` (ours), `argnums`
    (JAX's) and `argnum` (autograd's, so `grad(f, argnum=1)` runs as written). Any one may
    be given; two given with different values are refused rather than one silently
    winning (`wrt` counts as given when it differs from its default, `default`)."""
    given = [(label, value) for label, value in
             (("wrt", wrt), ("argnums", argnums), ("argnum", argnum))
             if value is not None and not (label == "wrt" and _same(value, default))]
    for label, value in given[1:]:
        if not _same(value, given[0][1]):
            raise RequestError(f"wrt: {given[0][0]}={given[0][1]!r} and {label}={value!r} "
                               "both select the arguments to differentiate; give one of "
                               "them (argnums is JAX's name for wrt, argnum autograd's)",
                               field="wrt")
    return given[0][1] if given else wrt


def _same(a, b) -> bool:
    """Whether two `wrt` selections are spelled alike (ints, names, tuples of them)."""
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple))
                and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b)))
    return _entry_key(a) == _entry_key(b)


def _entry_key(entry):
    """An entry as compared by `_same`: a name, a position (any integer), else itself."""
    if isinstance(entry, (str, bool)):
        return (type(entry), entry)
    try:
        return (int, operator.index(entry))
    except TypeError:
        return (type(entry), id(entry))


def make_request(func: Callable, wrt=0, *, argnums=None, argnum=None, kind: str = "grad",
                 mode: str = "reverse", return_value: bool = False, has_aux: bool = False,
                 backend: str = "python", order: int = 1,
                 optimize: bool | None = None) -> Request:
    """Validate the options of one transform of `func` and return them as a `Request`
    (`argnums`, JAX's name, or `argnum`, autograd's, stands for `wrt`: `chosen_wrt`)."""
    wrt = chosen_wrt(wrt, argnums, argnum)
    _check_choice("mode", mode, MODES)
    _check_choice("backend", backend, BACKENDS)
    _check_choice("kind", kind, KINDS)
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise RequestError(f"order must be at least 1, not {order!r}", field="order")
    single = not isinstance(wrt, (tuple, list))
    # a function with a derivative rule is parsed as a wrapper with the rule's parameters
    params = Params.of(guards.rule_wrapper(func) or func)
    return Request(func, resolve_wrt(wrt, params), single, kind, mode,
                   bool(return_value), bool(has_aux), backend, order,
                   default_optimize() if optimize is None else bool(optimize))
