"""Lowering of lambdas where they are not bound by a plain assignment: several bound by one
tuple assignment, called where they are written, or passed to a user function. Each
becomes a nested function of the function being lowered (expanded where it is called,
functions.py); a user function that receives one is expanded at the call as well, its
parameter bound to that nested function.

Before:  `f, g = lambda z: 2 * z, lambda z: np.sin(z)`; `y = (lambda z: z * z)(x)`
After:   `f = lambda z: 2 * z`; `g = lambda z: np.sin(z)`; `lambda_fn = lambda z: z * z`;
         `y = lambda_fn(x)` (each then expanded in place)
Before:  `y = apply(lambda t: np.sin(t), x)` with `def apply(f, x): return f(x)`
After:   `x2 = x; t = x2; y = np.sin(t)` (apply's body, with `f` the lambda)
"""
from __future__ import annotations

import gast

from ...core import build
from ...core.walk import clone, walk
from ...errors import TangentError
from ..bindings import FunctionGuard
from ..source import is_user_function, parse_function
from .common import located


class LambdaLowering:
    """Lowerer's part for lambdas (see the module docstring)."""

    def split_lambda_tuple(self, node) -> list | None:
        """`f, g = lambda ..., lambda ...` as one assignment per name (a lambda evaluates
        nothing where it is written, so the order does not matter); None for any other
        statement."""
        if not (isinstance(node, gast.Assign) and len(node.targets) == 1 and
                isinstance(node.targets[0], (gast.Tuple, gast.List)) and
                isinstance(node.value, (gast.Tuple, gast.List))):
            return None
        pairs = list(zip(node.targets[0].elts, node.value.elts))
        if len(node.targets[0].elts) != len(node.value.elts) or not any(
                isinstance(v, gast.Lambda) for _, v in pairs) or not all(
                isinstance(t, gast.Name) for t, _ in pairs):
            return None
        out = []
        rest = [(t, v) for t, v in pairs if not isinstance(v, gast.Lambda)]
        if rest:  # the other values first, still in parallel
            out += self.stmt(located(gast.Assign(
                targets=[gast.Tuple(elts=[t for t, _ in rest], ctx=gast.Store())],
                value=gast.Tuple(elts=[v for _, v in rest], ctx=gast.Load()),
                type_comment=None), node))
        for target, value in pairs:
            if isinstance(value, gast.Lambda):
                out += self.stmt(located(gast.Assign(targets=[target], value=value,
                                                     type_comment=None), node))
        return out

    def passes_function(self, call) -> bool:
        """Whether `call` is expanded because of a lambda: the lambda is called where it is
        written, or a lambda or nested function is passed to a user function."""
        if not isinstance(call, gast.Call):
            return False
        if isinstance(call.func, gast.Lambda):
            return True
        values = call.args + [k.value for k in call.keywords]
        if not any(isinstance(v, gast.Lambda) or isinstance(v, gast.Name) and
                   v.id in self.local_functions or self.module_lambda(v) is not None
                   for v in values):
            return False
        return self.user_callee(call) is not None

    def module_lambda(self, expr):
        """The lambda a module-level name refers to (`square = lambda z: z * z`), or None."""
        if not isinstance(expr, gast.Name) or expr.id in self.locals or \
                expr.id in self.local_functions:
            return None
        func = self.parsed.namespace.get(expr.id)
        return func if is_user_function(func) and func.__name__ == "<lambda>" else None

    def user_callee(self, call):
        """The user function a call names (not a local variable or nested function)."""
        dotted = build.dotted(call.func)
        if dotted is None or dotted.split(".")[0] in self.locals or \
                dotted in self.local_functions:
            return None
        func = self.resolve_dotted(call.func)
        return func if is_user_function(func) else None

    def bind_lambdas(self, call, pre: list):
        """Make `call` a call of a nested function whose function-valued arguments are
        nested functions: each lambda in it (callee or argument) is bound to a fresh name,
        and a user function receiving one is adopted as a nested function. The
        statements that bind them go to `pre`; returns the call."""
        if isinstance(call.func, gast.Lambda):
            call.func = self._bind(call.func, pre)
            return call
        callee = self.user_callee(call)
        call.args = [self._bind_value(a, pre) for a in call.args]
        for keyword in call.keywords:
            keyword.value = self._bind_value(keyword.value, pre)
        call.func = located(build.name(self.adopt_function(callee, call)), call.func)
        return call

    def _bind_value(self, value, pre: list):
        """A lambda argument bound to a nested function's name; a module-level lambda
        adopted as one; any other argument as it is."""
        if isinstance(value, gast.Lambda):
            return self._bind(value, pre)
        func = self.module_lambda(value)
        if func is not None:
            self.parsed.resolved.add(value.id)  # rebinding it makes the code stale
            return located(build.name(self.adopt_function(func, value)), value)
        return value

    def _bind(self, lam, pre: list) -> gast.Name:
        name = self.namer.fresh("lambda_fn")
        self.locals.add(name)
        pre.extend(self.stmt(located(gast.Assign(
            targets=[build.name(name, gast.Store())], value=lam, type_comment=None), lam)))
        return located(build.name(name), lam)

    def adopt_function(self, func, call) -> str:
        """`func`'s definition as a nested function of the function being lowered (its
        free names made readable here); returns its name there."""
        adopted = self.__dict__.setdefault("adopted_counts", {})
        adopted[func] = adopted.get(func, 0) + 1
        if adopted[func] > 64:  # each expansion adopts it again: a recursion never ends
            raise self.parsed.unsupported(call, f"recursive function '{func.__name__}' "
                                          "called with a lambda", "write it as a loop")
        try:
            callee = parse_function(func)
        except TangentError as exc:
            raise self.parsed.unsupported(
                call, f"passing a lambda to '{func.__name__}' (its source: {exc})",
                "define the function in a source file") from exc
        self.parsed.guards.append(FunctionGuard(func))  # its code changing makes ours stale
        node = clone(callee.node)
        args = node.args
        if args.vararg or args.kwarg or args.kwonlyargs or node.decorator_list:
            raise self.parsed.unsupported(
                call, f"passing a lambda to '{node.name}', which has *args, **kwargs, "
                "keyword-only parameters or decorators", "list its parameters by name")
        own = {a.id for a in args.posonlyargs + args.args} | {
            n.id for n in walk(node) if isinstance(n, gast.Name) and
            not isinstance(n.ctx, gast.Load)} | {
            n.name for n in walk(node) if isinstance(n, gast.FunctionDef) and n is not node}
        free = sorted({n.id for n in walk(node) if isinstance(n, gast.Name) and
                       n.id not in own and n.id in callee.namespace})
        mapping = callee.adopt_into(self.parsed, free, self.locals, self.namer)
        for sub in walk(node):
            if isinstance(sub, gast.Name):
                sub.id = mapping.get(sub.id, sub.id)
            if hasattr(sub, "lineno"):
                sub.lineno, sub.col_offset = call.lineno, getattr(call, "col_offset", 0)
        node.name = self.namer.fresh(node.name)
        self.locals.add(node.name)
        self.local_functions[node.name] = node
        return node.name
