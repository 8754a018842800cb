"""Inline calls to user functions into the caller's core form (a transform-stage pass:
whether a call is inlined depends on the rule registry, which the front end knows nothing of).

Before:  `p = predict(W, b)`  (predict: `z = W * b; out = np.tanh(z); return out`)
After:   `W2 = W; b2 = b; z = W2 * b2; out = np.tanh(z); p = out`
Used when generated code will itself be differentiated (higher derivatives): the result
has no forward/backward function pairs or tuple-valued calls, only the caller's own
statements. Names are renamed apart; comments point at the call's line.
"""
from __future__ import annotations

import inspect

import gast

from ..analysis.activity import is_nondifferentiable
from ..core import build
from ..core.walk import Transformer, clone, walk
from ..errors import UnsupportedSyntaxError
from ..frontend.source import ParsedFunction
from ..naming import Namer
from ..rules.registry import REGISTRY


class _Rename(Transformer):
    def __init__(self, mapping: dict, lineno: int):
        self.mapping, self.lineno = mapping, lineno

    def generic_visit(self, node):
        if hasattr(node, "lineno"):
            node.lineno = self.lineno
        return super().generic_visit(node)

    def visit_Name(self, node):
        new = self.mapping.get(node.id, node.id)
        if not isinstance(new, str):  # a literal default (only ever read)
            return clone(new)
        node.id = new
        return node


def _params(core) -> list[str]:
    return [a.id for a in core.args.posonlyargs + core.args.args + core.args.kwonlyargs]


def _defaults(core) -> dict:
    args = core.args
    positional = args.posonlyargs + args.args
    out = dict(zip([a.id for a in positional[len(positional) - len(args.defaults):]],
                   args.defaults))
    out.update({a.id: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    return out


def inline_calls(parsed: ParsedFunction, body: list, namer: Namer, resolve, front_end,
                 is_user_function) -> list:
    """Return `body` with every call to a user function replaced by the callee's body."""
    out = []
    for stmt in body:
        if isinstance(stmt, (gast.If, gast.For, gast.While)):
            stmt.body = inline_calls(parsed, stmt.body, namer, resolve, front_end,
                                     is_user_function)
            stmt.orelse = inline_calls(parsed, stmt.orelse, namer, resolve, front_end,
                                       is_user_function)
            out.append(stmt)
            continue
        call = stmt.value if isinstance(stmt, gast.Assign) else None
        func = resolve(call.func) if isinstance(call, gast.Call) and not (
            isinstance(call.func, gast.Attribute) and isinstance(call.func.value, gast.Name)
            and call.func.attr in ("pop", "append")) else None
        if func is None or not is_user_function(func) or _has_rule(func):
            out.append(stmt)
            continue
        callee_parsed, callee_core, _ = front_end(func)
        out += _expand(parsed, stmt, call, callee_parsed, callee_core, namer)
    return out


def _has_rule(func) -> bool:
    """A registered rule, or a nondifferentiable registration, decides, not the source."""
    return REGISTRY.lookup(REGISTRY.adjoints, func) is not None or \
        REGISTRY.lookup(REGISTRY.tangents, func) is not None or is_nondifferentiable(func)


def _expand(parsed, stmt, call, callee_parsed, callee_core, namer) -> list:
    params = _params(callee_core)
    try:
        bound = inspect.Signature([inspect.Parameter(p, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                                   for p in params]).bind_partial(
            *call.args, **{k.arg: k.value for k in call.keywords})
    except TypeError as exc:
        raise parsed.error(UnsupportedSyntaxError, call, f"bad call: {exc}", construct="call",
                           hint="match the function's parameters") from exc
    defaults = _defaults(callee_core)
    local = set(params) | {n.id for n in walk(callee_core)
                           if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    stored = {n.id for st in callee_core.body for n in walk(st)
              if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    mapping = {}
    direct = not writes_in_place(callee_parsed.node)  # else its writes are checked on copies
    for name in sorted(local):  # a parameter never rebound reads the caller's name itself
        arg = bound.arguments.get(name)
        if not direct:
            mapping[name] = namer.fresh(name)
            continue
        value = arg if arg is not None else defaults.get(name)
        if name in params and name not in stored and _literal(value):
            mapping[name] = value  # a literal (argument or default): written where read
            continue
        mapping[name] = arg.id if name in params and name not in stored and \
            isinstance(arg, gast.Name) else namer.fresh(name)
    free = sorted({n.id for n in walk(callee_core) if isinstance(n, gast.Name)
                   and n.id not in local and n.id in callee_parsed.namespace})
    # the callee's free names join the caller's, renamed apart if needed
    mapping.update(callee_parsed.adopt_into(parsed, free, _locals(parsed), namer))
    lineno = stmt.lineno
    out = []
    defaults = {p: _Rename(mapping, stmt.lineno).visit(clone(d))  # callee's scope
                for p, d in defaults.items()}
    for p in params:
        if not isinstance(mapping[p], str):
            continue  # a literal, substituted
        value = bound.arguments.get(p, defaults.get(p))
        if value is None:
            raise parsed.error(UnsupportedSyntaxError, call, f"missing argument '{p}'",
                               construct="call", hint="pass every argument")
        if isinstance(value, gast.Name) and mapping[p] == value.id:
            continue  # read directly
        new = build.assign(mapping[p], clone(value))
        new.lineno, new.col_offset = lineno, stmt.col_offset
        out.append(new)
    body = clone(callee_core.body)
    ret = body.pop()
    target = stmt.targets[0].id
    returned = ret.value.id
    if returned not in params and returned in local and target not in mapping.values() \
            and _assignments(body, returned) == 1:
        mapping[returned] = target  # computed under the caller's name: no `preds = out3`
    renamer = _Rename(mapping, lineno)
    for s in body:
        out.append(renamer.visit(s))
    if mapping[returned] == target:
        return out
    source = mapping[returned]
    result = build.assign(target, build.name(source) if isinstance(source, str)
                          else clone(source))
    result.lineno, result.col_offset = lineno, stmt.col_offset
    out.append(result)
    return out


def writes_in_place(node) -> bool:
    """Whether a user function's source writes into something (`z op= v`, `a[i] = v`,
    `obj.f = v`, `out=`): what it does to its arguments depends on their types."""
    for n in walk(node):
        if isinstance(n, gast.AugAssign) or isinstance(n, gast.keyword) and n.arg == "out":
            return True
        if isinstance(n, (gast.Assign, gast.AnnAssign)) and any(
                isinstance(t, (gast.Subscript, gast.Attribute)) for target in (
                    n.targets if isinstance(n, gast.Assign) else [n.target])
                for t in walk(target)):
            return True
    return False


def _literal(node) -> bool:
    """A number, string, bool or None literal (a default substituted where it is read)."""
    if isinstance(node, gast.UnaryOp) and isinstance(node.op, gast.USub):
        node = node.operand
    return isinstance(node, gast.Constant)


def _assignments(body: list, name: str) -> int:
    """How many statements of `body` (straight-line or not) assign `name`."""
    return sum(1 for st in body for n in walk(st) if isinstance(n, gast.Name) and
               n.id == name and isinstance(n.ctx, gast.Store))


def _locals(parsed: ParsedFunction) -> set:
    """The caller's parameters and assigned names (a callee's free name must not be
    captured by them)."""
    args = parsed.node.args
    return {a.id for a in args.posonlyargs + args.args + args.kwonlyargs} | {
        n.id for n in walk(parsed.node) if isinstance(n, gast.Name)
        and isinstance(n.ctx, gast.Store)}
