"""Calls in the alias check: a user function or nested def that changes its parameters in
place (summarised once per callee), what the caller reads afterwards, and `out=`
arguments. A mixin of aliases._Aliases."""
from __future__ import annotations

import gast

from ..core.walk import walk
from .alias_facts import (
    Effect,
    InPlaceSite,
    bind_arguments,
    is_immutable,
    op_symbol,
    params_of,
    read_later,
)
from .resolve import lookup


class CallEffects:
    """The call half of _Aliases."""

    def summarize(self, parsed, node: gast.FunctionDef, stack: tuple):
        """How `node` (a nested def or a user function) changes its parameters in place,
        its parameter names, and which parameters' arrays its result may share."""
        params = params_of(node)
        aliases = type(self)(parsed, node.body, params, stack, memo=self.memo, callee=True)
        aliases.block(node.body, aliases.start)
        return aliases.effects, params, aliases.returned

    def callee_summary(self, call):
        """(effects by parameter, parameter names, whether the lowering inlines it, the
        parameters the result may share) of the function `call` calls, when it is a nested
        def or a user function; None otherwise."""
        from .source import is_user_function, parse_function
        if not isinstance(call.func, gast.Name):
            return None
        name = call.func.id
        if name in self.nested:
            node, parsed, key = self.nested[name], self.parsed, id(self.nested[name])
        else:
            func = lookup(self.parsed, call.func)
            if not is_user_function(func):
                return None
            key = func
            if key not in self.memo:
                try:
                    parsed = parse_function(func)
                except Exception:  # noqa: BLE001  (no source: its call is refused elsewhere)
                    return None
                node = parsed.node
        if key in self.stack:
            return None  # recursion: refused by the front end
        if key not in self.memo:
            self.memo[key] = (*self.summarize(parsed, node, self.stack + (key,)),
                              name in self.nested)
        effects, params, returned, inlined = self.memo[key]
        return effects, params, inlined, returned

    def calls(self, stmt, pairs: frozenset) -> None:
        heads = [stmt] if not isinstance(stmt, (gast.If, gast.For, gast.While, gast.With,
                                                gast.Try, gast.FunctionDef)) else \
            [getattr(stmt, k) for k in ("test", "iter") if hasattr(stmt, k)]
        for head in heads:
            for call in walk(head):
                if isinstance(call, gast.Call):
                    self.call(stmt, call, pairs)

    def call(self, stmt, call, pairs: frozenset) -> None:
        found = self.callee_summary(call)
        if found is None:
            return
        effects, params, inlined, _ = found
        live = self.liveness.after.get(id(stmt), frozenset()) | read_later(stmt, call)
        for param, value, key in bind_arguments(call, params):
            if param not in effects or isinstance(value, gast.Starred) or \
                    is_immutable(value, self.immutable):
                continue
            group = set().union(*(self.group(s, pairs) for s in self.sources(value)))
            shared = sorted(group & live)
            if not shared:
                continue
            if self.callee:
                for other in self.arguments_changed(shared):
                    kinds = {e.kind for e in effects[param]}
                    kind = "write" if "write" in kinds else "aug"
                    self.effects.setdefault(other, []).append(Effect(kind, call, key))
                continue
            self.changed_argument(call, value, key, param, shared, effects[param], inlined)

    def changed_argument(self, call, value, key, param, shared, effects, inlined) -> None:
        """The caller passes an array read afterwards (`shared`) to a function that
        changes its parameter `param` in place: refuse now (an element write) or record the
        sites that shape classes decide (`param op= v`)."""
        callee = call.func.id
        if any(e.kind == "write" for e in effects):
            raise self.parsed.unsupported(
                value, f"passing '{shared[0]}' to '{callee}', which writes into its "
                f"parameter '{param}', while '{shared[0]}' is read afterwards",
                f"pass a copy: {callee}(..., np.copy(...)), or copy inside '{callee}'")
        via = f" (through the call of '{callee}' at line {call.lineno})"
        if not inlined:
            self.sites.setdefault(id(call), InPlaceSite(call, param, shared[0], "", key, via))
            return
        for effect in effects:
            op = op_symbol(effect.node.op) if isinstance(effect.node, gast.AugAssign) else ""
            self.sites.setdefault(id(effect.node), InPlaceSite(
                effect.node, param, shared[0], op, effect.arg, via))

    def out_arguments(self, stmt) -> None:
        """`np.add(a, b, out=a)`: a call that writes into the array it is given."""
        if isinstance(stmt, (gast.If, gast.For, gast.While, gast.With, gast.Try,
                             gast.FunctionDef)):
            heads = [getattr(stmt, k) for k in ("test", "iter") if hasattr(stmt, k)]
        else:
            heads = [stmt]
        for head in heads:
            for node in walk(head):
                if not isinstance(node, gast.Call):
                    continue
                for keyword in node.keywords:
                    if keyword.arg == "out" and not (isinstance(keyword.value, gast.Constant)
                                                     and keyword.value.value is None):
                        raise self.parsed.unsupported(
                            keyword.value, "out= (a call that writes into an existing "
                            "array)", "assign the result instead: write `a = np.add(a, b)` "
                            "rather than `np.add(a, b, out=a)`")
