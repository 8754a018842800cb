"""Gradient surgery in reverse mode: `with insert_grad_of(x) as dx:` runs its body in the
backward pass where x's adjoint is complete, with `dx` naming that adjoint (to print,
clip or rescale it). A mixin of reverse.Reverse."""
from __future__ import annotations

import gast

from ..core.markers import line_marker
from ..core.tables import HOOK
from ..core.walk import clone


class HookAdjoints:
    """The gradient-surgery part of reverse.Reverse."""

    def hook(self, stmt) -> list:
        """insert_grad_of(x) as dx: the body, with dx naming x's adjoint at this point."""
        var, alias = HOOK[stmt]
        dname = self.d(var) if var in self.varied else None
        if dname is None:
            return []
        mapping = {alias: dname}

        class Alias(gast.NodeTransformer):
            def visit_Name(self, name):
                name.id = mapping.get(name.id, name.id)
                return name

        return [line_marker(stmt.lineno)] + [Alias().visit(clone(s)) for s in stmt.body]
