"""Adjoint variables of reverse mode: how one starts (a zero of its value's kind), how a
contribution is added (`+`, or plus() where the value may be a list, tuple or dict), and
which names have several definitions (their adjoint restarts from zero)."""
from __future__ import annotations

import gast

from ..core import build
from ..core.walk import walk


class AdjointValues:
    """Zeros, accumulation and multiply-defined names of reverse mode's adjoints."""

    def _multi_defined(self) -> set[str]:
        """Names assigned by more than one statement: past the adjoint of one of their
        definitions, the adjoint belongs to the value before it, which starts from zero."""
        if not hasattr(self, "_multi"):
            counts: dict[str, int] = {p: 1 for p in self._params}
            for node in walk(self.core):
                if isinstance(node, gast.Assign):
                    name = node.targets[0].id
                    counts[name] = counts.get(name, 0) + 1
            self._multi = {n for n, c in counts.items() if c > 1}
        return self._multi

    def zeros(self, var: str):
        """A zero adjoint for `var`: 0.0 for a scalar, else an array of its shape."""
        cls = self.classes.get(var)
        if var in self.lists:
            # a tape: [] at that point; a list: zeros
            return build.call("zeros_like", [build.name(var)])
        if cls == ():
            return build.const(0.0)
        if cls:
            return gast.Call(func=gast.Attribute(value=build.name("np"), attr="zeros_like",
                                                 ctx=gast.Load()),
                             args=[build.name(var)], keywords=[])
        return build.call("zeros_like", [build.name(var)])

    def accumulate(self, var: str, expr, container: bool = False):
        """`dvar = dvar + expr`; with plus() where var may hold a container (`container`:
        a callee says its parameter may)."""
        dvar = self.d(var)
        if container:
            self.maybe_trees.add(var)
        if var in self.trees or var in self.maybe_trees:
            return build.assign(dvar, build.call("plus", [build.name(dvar), expr]))
        return build.assign(dvar, build.add(build.name(dvar), expr))

    def returned_gradients(self) -> list:
        """The gradients returned, in wrt order; a complex argument's as `like_kinds(dp, p)`:
        complex, and its real leaves' (computed beside complex values) real, also when the
        code is differentiated again."""
        out = []
        for w in self.wrt:
            grad = build.name(self.d(w))
            if w in self.complex_params:
                grad = build.call("like_kinds", [grad, build.name(w)])
            out.append(grad)
        return out
