"""What a name or dotted name in the user's code refers to: the one place that looks
names up (a local binding, closure cell, global or builtin of the user's function, then
attributes), and records each lookup in the ParsedFunction, because every object the
generated code was specialized on must be guarded (see bindings.py)."""
from __future__ import annotations

import builtins
import functools

from ..core import build
from ..errors import UnsupportedSyntaxError


def lookup(parsed, expr, strict: bool = False, helpers=None):
    """The object `expr` (a Name or dotted Attribute chain) refers to in `parsed`'s scope.
    None for any other expression; an undefined name or attribute is None, or with
    `strict` a located UnsupportedSyntaxError. `helpers` (name -> object) are looked up
    after the user's names and before builtins: the core helpers lowering writes."""
    dotted = build.dotted(expr)
    if dotted is None:
        return None
    head, *rest = dotted.split(".")
    parsed.resolved.add(head)
    if rest:
        parsed.paths.add(dotted)
    if head in parsed.namespace:
        obj = parsed.namespace[head]
    elif helpers and head in helpers:
        obj = helpers[head]
    elif hasattr(builtins, head):
        obj = getattr(builtins, head)
    elif strict:
        raise parsed.error(UnsupportedSyntaxError, expr, f"name '{head}' is not defined",
                           construct="undefined name", hint="define or import it")
    else:
        return None
    for part in rest:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            if not strict:
                return None
            raise parsed.error(UnsupportedSyntaxError, expr, f"'{dotted}' does not exist",
                               construct="undefined name", hint="check the spelling") from None
    return obj


def resolver(parsed):
    """`lookup` in `parsed`'s scope, strict: what the transforms call to find a callee."""
    return functools.partial(lookup, parsed, strict=True)
