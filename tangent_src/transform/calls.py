"""Adjoints of calls in reverse mode: a registered rule instantiated in place, or a call
of a user function through its forward/backward pair (`f_fwd` in the forward pass, its
saved values passed to `f_bwd` in the backward pass). A mixin of reverse.Reverse."""
from __future__ import annotations

import inspect

import gast

from ..analysis.activity import is_nondifferentiable
from ..core import build
from ..core.tables import HOOK
from ..core.walk import all_nodes, clone
from ..errors import ComplexValueError, NoDerivativeRuleError, UnsupportedSyntaxError
from ..frontend.lower import is_list_method
from ..frontend.source import is_user_function
from ..rules.registry import REGISTRY
from ..rules.template import TemplateError, array_operands, bind, instantiate
from .adjoint_values import is_array_class
from .array_sums import mark_sums
from .base import adopt_globals, describe
from .specialize import Specializer, twice


def refuse_complex_return(parsed, call, func, callee, complex_names=()) -> None:
    """A user function whose result may be complex, called from differentiated code with
    no value that may be complex (`complex_names`): the caller's analysis takes its result
    as real, so its rules could be wrong for it."""
    if callee.complex_output and not any(isinstance(a, gast.Name) and a.id in complex_names
                                         for a in call.args + [k.value for k in call.keywords]):
        name = getattr(func, "__name__", "function")
        raise parsed.error(
            ComplexValueError, call,
            f"'{name}' returns a complex value to differentiated code; complex values do "
            "not cross calls of user functions", construct=f"call of {name}",
            hint=f"write the complex part in the caller, or return np.real/np.abs of it "
                 f"from '{name}'")


class CallAdjoints:
    """The call half of reverse.Reverse."""

    def adjoint_call(self, stmt, call) -> list:
        func = self.resolve(call.func)
        label = build.dotted(call.func) or "function"
        active = [a for a in call.args + [k.value for k in call.keywords]
                  if isinstance(a, gast.Name) and a.id in self.varied]
        if not active:
            return []
        if is_nondifferentiable(func):
            return []
        if REGISTRY.lookup(REGISTRY.adjoints, func) is not None:
            return self.apply_rule(func, stmt, call.args,
                                   {k.arg: k.value for k in call.keywords}, call)
        if is_user_function(func):
            return self.call_subroutine(stmt, call, func)
        raise self.parsed.error(
            NoDerivativeRuleError, call,
            f"no derivative rule for {label} ({describe(func)})",
            construct=label,
            hint=f"register one with @tangent_src.adjoint({label}) (and @tangent_src.tangent), "
                 f"or mark it with tangent_src.nondifferentiable({label})")

    def apply_rule(self, key, stmt, args, keywords, loc) -> list:
        template = REGISTRY.adjoints.get(key)
        complex_stmt = self.complex.involved(stmt)
        if complex_stmt:
            template = REGISTRY.lookup(REGISTRY.complex_adjoints, key) or template
        label = build.dotted(loc.func) if isinstance(loc, gast.Call) else type(loc).__name__
        if template is None:
            raise self.parsed.error(NoDerivativeRuleError, loc,
                                    f"no derivative rule for {label}", construct=label,
                                    hint="register one with @tangent_src.adjoint(...)")
        result = stmt.targets[0]
        try:
            values = bind(template, build.name(result.id), list(args), dict(keywords))
        except TemplateError as exc:
            raise self.parsed.unsupported(loc, f"this call of {label} ({exc})",
                                          "call it with the arguments its rule declares") \
                from exc
        dnames = {}
        for param, value in values.items():
            if isinstance(value, gast.Name) and value.id in self.varied:
                dnames[param] = self.d(value.id)
        converted = array_operands(template, values, dnames, self.sequences)
        dnames[template.params[0]] = self.d(result.id)
        helpers, contributions = instantiate(template, values, dnames,
                                             lambda base: self.namer.fresh(base))
        adopt_globals(self.parsed, template, helpers + [c.expr for c in contributions])
        operands = [values[p] for p in template.params[1:] if p not in template.defaults]
        co_atoms = {}
        for atom in operands:
            if isinstance(atom, gast.Name):
                co_atoms[atom.id] = [o for o in operands if o is not atom]
        specializer = Specializer(self.shape, self.shape(result), co_atoms, self.same_shape)
        for c in contributions:
            c.expr = specializer.visit(c.expr)
        specializer.share_shape_names([c.expr for c in contributions])
        # sums of the result's adjoint (an array of its shape, unless a hook may replace
        # it) and of array operands
        if not hasattr(self, "_hooked"):
            self._hooked = {HOOK[n].target for n in all_nodes(self.core.body) if n in HOOK}
        arrays = {self.d(result.id)} if is_array_class(self.shape(result)) and \
            result.id not in self._hooked else set()
        mark_sums(helpers + [c.expr for c in contributions], self.classes, arrays)
        if not converted and not complex_stmt:
            contributions = twice(contributions, values)
        out = list(helpers)
        for c in contributions:
            var = converted.get(c.param) or values[c.param].id
            if c.param in converted:  # an array's adjoint, for a list: a list again
                c.expr = build.call("convert_like", [c.expr, build.name(var)])
            elif complex_stmt and var not in self.complex.names:
                # the cotangent of a complex result, for a real operand: its real part
                c.expr = build.call("real_like", [c.expr, build.name(var)])
            if c.accumulates:
                out.append(self.accumulate(var, c.expr))
            else:
                self.inplace.add(self.d(var))
                out.append(build.assign(self.d(var), c.expr))
        return out

    def split_call(self, stmt):
        """`v = g(x)` with g a user function -> `v, g_saved = g_fwd(x)`, its backward half
        called in the adjoint sweep (so g's forward computation is not repeated)."""
        call = stmt.value
        target = stmt.targets[0].id
        if not isinstance(call, gast.Call) or target not in self.varied or \
                is_list_method(call, "pop"):
            return None
        func = self.resolve(call.func)
        if not is_user_function(func) or REGISTRY.lookup(REGISTRY.adjoints, func) is not None:
            return None
        bound, active = self._bind_call(call, func)
        if not active:
            return None
        arg_ranks = self.call_classes(func, bound)
        sub = self.subroutine(func, tuple(active), arg_ranks)
        refuse_complex_return(self.parsed, call, func, sub, self.complex.names)
        saved = self.namer.fresh(f"{func.__name__}_saved")
        self.split_calls[id(stmt)] = (sub, saved, active, bound)
        targets = gast.Tuple(elts=[build.name(target, gast.Store()),
                                   build.name(saved, gast.Store())],
                             ctx=gast.Store())
        fwd_call = gast.Call(func=build.name(sub.fwd_name), args=clone(call.args),
                             keywords=clone(call.keywords))
        new = gast.Assign(targets=[targets], value=fwd_call, type_comment=None)
        return build.located(new, stmt)

    def _bind_call(self, call, func):
        sig = inspect.signature(func)
        try:
            bound = sig.bind(*call.args, **{k.arg: k.value for k in call.keywords})
        except TypeError as exc:
            raise self.parsed.error(UnsupportedSyntaxError, call, f"bad call: {exc}",
                                    construct="call", hint="match the function's parameters") \
                from exc
        active = [p for p, v in bound.arguments.items()
                  if isinstance(v, gast.Name) and v.id in self.varied]
        return bound, active

    def call_subroutine(self, stmt, call, func) -> list:
        if id(stmt) not in self.split_calls:  # its differentiated arguments are not names
            raise self.parsed.unsupported(call, f"this call of '{func.__name__}'",
                                          "pass each differentiated value by name")
        sub, saved, active, bound = self.split_calls[id(stmt)]
        seed = build.name(self.d(stmt.targets[0].id))
        if self.complex.involved(stmt) and not sub.complex_output:  # a real result's
            seed = build.call("real_like", [seed, build.name(stmt.targets[0].id)])  # seed
        grad_call = build.call(sub.bwd_name, [build.name(saved), seed])
        callee = getattr(func, "__name__", "call")
        parts = [self.namer.fresh(f"{self.d(bound.arguments[p].id)}_{callee}") for p in active]
        target = build.name(parts[0], gast.Store()) if len(parts) == 1 else gast.Tuple(
            elts=[build.name(p, gast.Store()) for p in parts], ctx=gast.Store())
        out = [gast.Assign(targets=[target], value=grad_call, type_comment=None)]
        for p, part in zip(active, parts):
            out.append(self.accumulate(bound.arguments[p].id, build.name(part),
                                       container=p in sub.containers))
        return out
