"""Forward mode: core function -> tangent function `jvp_f(args..., dx=1.0, ...) -> dout`.

Each statement is followed by the statement computing its tangent (`dh = dz * (1.0 - h * h)`);
control flow is kept as it is, since tangents flow forward with the values. Calls to user
functions become calls to their own tangent functions, which return `(value, tangent)`.
"""
from __future__ import annotations

import copy
import inspect

import gast

from .. import runtime as _runtime
from ..analysis.activity import (
    array_attribute_without_rule,
    is_nondifferentiable,
    varied_names,
)
from ..analysis.complexity import check_complex_statements, complex_facts
from ..analysis.shapes import TREE
from ..core import build
from ..core.markers import line_marker
from ..core.tables import COPY_BACK, is_effect
from ..core.walk import Transformer, clone, walk
from ..errors import NoDerivativeRuleError, UnsupportedSyntaxError
from ..frontend.lower import is_list_method
from ..frontend.source import ParsedFunction, is_user_function
from ..naming import Namer
from ..rules.registry import REGISTRY
from ..rules.template import TemplateError, array_operands, bind, instantiate
from .base import (
    SharedQueries,
    adopt_globals,
    bool_op_choices,
    constant_read,
    no_rule_for_attribute,
    no_rule_for_subscript,
    sequence_names,
    tree_names,
)
from .calls import refuse_complex_return


class Forward(SharedQueries):
    """Builds the tangent FunctionDef of one core function."""

    def __init__(self, parsed: ParsedFunction, core: gast.FunctionDef, wrt: list[str],
                 namer: Namer, resolve, subroutine, name: str, return_value: bool = False,
                 classes: dict | None = None, trees: set | None = None,
                 objects: set | None = None, mutable: frozenset = frozenset()):
        self.parsed, self.core, self.wrt = parsed, core, wrt
        self.mutable = mutable  # scalars that may be 0-d arrays (their callees are told)
        self.tree_classes = dict(trees) if isinstance(trees, dict) else {}
        self.trees = set(trees or ())  # tuples/lists/dicts/objects (their attributes: fields)
        self.objects = frozenset(objects or ())  # parameter-holder object arguments
        self.namer, self.resolve, self.subroutine = namer, resolve, subroutine
        self.name, self.return_value = name, return_value
        self.classes = classes or {}
        self.tangents: dict[str, str] = {}
        self.sequences: set[str] = set()  # locals built as tuples/lists (`+` concatenates)
        self.tangent_params: dict[str, str] = {}
        self.inplace: set[str] = set()  # tangents updated in place (add_at): never aliased
        self.statement = None  # the statement being differentiated
        self.complex_output = False  # the result may be complex

    def d(self, var: str) -> str:
        if var not in self.tangents:
            self.tangents[var] = self.namer.fresh("d" + var)
        return self.tangents[var]

    def zeros(self, var: str):
        if self.classes.get(var) == ():
            return build.const(0.0)
        return build.call("zeros_like", [build.name(var)])

    # -- driver ------------------------------------------------------------------
    def build(self) -> gast.FunctionDef:
        core = clone(self.core)
        body, ret = core.body[:-1], core.body[-1]
        self.mark_user_sums(body)
        self.varied = varied_names(body, set(self.wrt), self.resolve, self.objects,
                                   frozenset({ret.value.id}))
        self.complex = complex_facts(body, self.resolve, self.complex_params, self.parsed)
        check_complex_statements(self.parsed, body, self.varied, self.resolve, self.complex,
                                 self.namer)
        self.trees = tree_names(body, self.trees)
        self.sequences = sequence_names(body)
        result = ret.value.id
        self.complex_output = result in self.complex.names
        for w in self.wrt:
            self.tangent_params[w] = self.d(w)
        params = [a.id for a in core.args.posonlyargs + core.args.args + core.args.kwonlyargs]
        # a parameter outside `wrt` that is reassigned from varying values starts at zero
        starts = [build.assign(self.d(p), self.zeros(p)) for p in params
                  if p in self.varied and p not in self.wrt]
        new_body = starts + self.block(body)
        dresult = build.name(self.d(result)) if result in self.varied else self.zeros(result)
        value = gast.Tuple(elts=[build.name(result), dresult], ctx=gast.Load()) \
            if self.return_value else dresult
        args = clone(core.args)
        for w in self.wrt:  # tangents follow every original parameter (keyword-only
            tangent = build.name(self.d(w), gast.Param())  # after keyword-only ones)
            if args.kwonlyargs:
                args.kwonlyargs.append(tangent)
                args.kw_defaults.append(build.const(1.0))
            else:
                args.args.append(tangent)
                args.defaults.append(build.const(1.0))
        node = gast.FunctionDef(name=self.name, args=args,
                                body=new_body + [gast.Return(value=value)], decorator_list=[],
                                returns=None, type_comment=None, type_params=[])
        node.lineno = core.lineno
        return node

    def block(self, stmts) -> list:
        out = []
        for stmt in stmts:
            if isinstance(stmt, gast.Assign):
                out += self.assign(stmt)
            elif isinstance(stmt, gast.If):
                new = copy.copy(stmt)
                new.body, new.orelse = self.block(stmt.body), self.block(stmt.orelse)
                new.body = new.body or [gast.Pass()]
                out.append(new)
            elif isinstance(stmt, (gast.For, gast.While)):
                new = copy.copy(stmt)
                new.body = self.block(stmt.body)
                out.append(new)
            elif isinstance(stmt, gast.With):  # insert_grad_of acts in reverse mode only
                continue
            elif is_effect(stmt):  # print(...): runs on the values, once
                out.append(stmt)
            elif isinstance(stmt, gast.Expr):  # tape.append(x): the tangent tape follows
                out.append(stmt)
                tape, item = stmt.value.func.value.id, stmt.value.args[0]
                if tape in self.varied:
                    tangent = build.name(self.d(item.id)) if self.active(item) else \
                        self.zeros(item.id) if isinstance(item, gast.Name) else build.const(0.0)
                    out.append(gast.Expr(value=gast.Call(
                        func=gast.Attribute(value=build.name(self.d(tape)), attr="append",
                                            ctx=gast.Load()), args=[tangent], keywords=[])))
            else:
                out.append(stmt)
        return out

    def assign(self, stmt) -> list:
        target = stmt.targets[0].id
        value = stmt.value
        if isinstance(value, (gast.Tuple, gast.List)) or (
                isinstance(value, gast.BinOp) and isinstance(value.op, gast.Add) and
                self.is_sequence(value.left, value.right)):
            self.sequences.add(target)
        if target not in self.varied:
            return [stmt]
        value = stmt.value
        markers = [] if stmt in COPY_BACK else [line_marker(stmt.lineno)]
        if isinstance(value, gast.Call) and not is_list_method(value, "pop"):
            func = self.resolve(value.func)
            if is_user_function(func) and REGISTRY.lookup(REGISTRY.tangents, func) is None:
                return [*markers, self.call_subroutine(stmt, value, func)]
        self.statement = stmt  # apply_rule picks the complex rule of a complex statement
        tangent = self.tangent_of(stmt, target, value)
        return [*markers, stmt, build.assign(self.d(target), tangent)]

    def active(self, atom) -> bool:
        return isinstance(atom, gast.Name) and atom.id in self.varied

    def tangent_of(self, stmt, target, value):
        if isinstance(value, gast.Name):
            return build.name(self.d(value.id)) if self.active(value) else self.zeros(target)
        if isinstance(value, gast.List):
            return gast.List(elts=[build.name(self.d(e.id)) if self.active(e) else
                                   build.call("zeros_like", [clone(e)])
                                   for e in value.elts], ctx=gast.Load())
        if isinstance(value, gast.Dict):
            return gast.Dict(keys=[], values=[])
        if is_list_method(value, "pop"):
            return gast.Call(func=gast.Attribute(value=build.name(self.d(value.func.value.id)),
                                                 attr="pop", ctx=gast.Load()),
                             args=[], keywords=[])
        if isinstance(value, gast.Attribute) and value.attr == "T":
            if not self.active(value.value):
                return self.zeros(target)
            return gast.Attribute(value=build.name(self.d(value.value.id)), attr="T",
                                  ctx=gast.Load())
        if isinstance(value, gast.Attribute):  # obj.W: the tangent of an object is a dict
            if not self.active(value.value):
                return self.zeros(target)
            if array_attribute_without_rule(value.attr) and \
                    build.dotted(value.value) not in self.trees:
                raise no_rule_for_attribute(self.parsed, value)
            return build.call("attribute_tangent", [build.name(self.d(value.value.id)),
                                               build.const(value.attr)])
        if isinstance(value, gast.Constant):
            return self.zeros(target)
        if isinstance(value, gast.Subscript):
            if not self.active(value.value) and constant_read(value, self.varied):
                return self.zeros(target)
            if not self.active(value.value):  # a constant read at a varying index
                raise no_rule_for_subscript(self.parsed, value)
            return gast.Subscript(value=build.name(self.d(value.value.id)),
                                  slice=clone(value.slice), ctx=gast.Load())
        if isinstance(value, gast.Tuple):
            return gast.Tuple(elts=[build.name(self.d(e.id)) if self.active(e) else
                                    build.call("zeros_like", [clone(e)])
                                    for e in value.elts], ctx=gast.Load())
        if isinstance(value, gast.BinOp) and isinstance(value.op, gast.Add) and \
                self.is_sequence(value.left, value.right):
            # `args + (c,)` concatenates: every operand keeps its place in the tangent
            return gast.BinOp(left=self.tangent_or_zeros(value.left), op=gast.Add(),
                              right=self.tangent_or_zeros(value.right))
        if isinstance(value, (gast.BinOp, gast.UnaryOp)):
            args = [value.left, value.right] if isinstance(value, gast.BinOp) else \
                [value.operand]
            return self.apply_rule(type(value.op), target, args, {}, value)
        if isinstance(value, gast.BoolOp):  # the tangent of whichever operand decided
            tangent = None
            for test, operand in reversed(bool_op_choices(value)):
                mine = build.name(self.d(operand.id)) if self.active(operand) else build.const(0.0)
                tangent = mine if test is None else gast.IfExp(test=test, body=mine,
                                                                orelse=tangent)
            return tangent
        if isinstance(value, gast.Call):
            func = self.resolve(value.func)
            if is_nondifferentiable(func):
                return self.zeros(target)
            return self.apply_rule(func, target, value.args,
                                   {k.arg: k.value for k in value.keywords}, value)
        raise self.parsed.unsupported(value, f"'{type(value).__name__}' of a varying value",
                                      "rewrite the expression with NumPy functions")

    def is_sequence(self, *atoms) -> bool:
        """Whether one of `atoms` is a tuple or list (so `+` concatenates)."""
        return any(self.shape(a) == TREE or isinstance(a, (gast.Tuple, gast.List)) or
                   (isinstance(a, gast.Name) and a.id in self.sequences) for a in atoms)

    def tangent_or_zeros(self, atom):
        if self.active(atom):
            return build.name(self.d(atom.id))
        return build.call("zeros_like", [clone(atom)])

    def apply_rule(self, key, target, args, keywords, loc):
        label = build.dotted(loc.func) if isinstance(loc, gast.Call) else type(loc).__name__
        template = REGISTRY.lookup(REGISTRY.tangents, key)
        complex_stmt = self.complex.involved(self.statement)
        if complex_stmt:
            template = REGISTRY.lookup(REGISTRY.complex_tangents, key) or template
        if template is None:
            raise self.parsed.error(
                NoDerivativeRuleError, loc, f"no forward-mode rule for {label}",
                construct=label,
                hint=f"register one with @tangent_src.tangent({label}), or mark it with "
                     f"tangent_src.nondifferentiable({label})")
        try:
            values = bind(template, build.name(target), list(args), dict(keywords))
        except TemplateError as exc:
            raise self.parsed.unsupported(loc, f"this call of {label} ({exc})",
                                          "call it with the arguments its rule declares") \
                from exc
        dnames = {p: self.d(v.id) for p, v in values.items()
                  if isinstance(v, gast.Name) and v.id in self.varied}
        array_operands(template, values, dnames, self.sequences)
        result_param = template.params[0]
        dnames[result_param] = self.d(target)
        helpers, contributions = instantiate(template, values, dnames, self.namer.fresh)
        if complex_stmt:
            _checked_real(contributions, {dnames[p] for p, v in values.items() if p in dnames
                                          and p != result_param and isinstance(v, gast.Name)
                                          and v.id not in self.complex.names})
        adopt_globals(self.parsed, template, helpers + [c.expr for c in contributions])
        if helpers:
            raise AssertionError("tangent templates are single expressions")
        operands = [values[p] for p in template.params[1:] if p not in template.defaults]
        terms = []
        for c in contributions:
            source = next((o for o in operands if isinstance(o, gast.Name) and
                           _reads(c.expr, dnames.get(_param_of(values, o)))), None)
            expr = c.expr
            if source is not None and self.fills(source, operands, target):
                expr = _StripBroadcast().visit(expr)
            terms.append(expr)
        if key is _runtime.add_at:
            return self.add_at_tangent(values)
        if key is _runtime.set_at:
            return self.set_at_tangent(values)
        if key is _runtime.plus:  # structure-preserving sum of two pytrees
            parts = [build.name(self.d(values[p].id)) if self.active(values[p]) else
                     build.call("zeros_like", [values[p]]) for p in ("a", "b")]
            return build.call("plus", parts)
        if not terms:
            return self.zeros(target)
        total = terms[0]
        itemwise = _in(REGISTRY.sequence_results, key)  # tuples: `+` would concatenate
        for term in terms[1:]:
            total = build.call("plus", [total, term]) if itemwise else \
                gast.BinOp(left=total, op=gast.Add(), right=term)
        return total

    def add_at_tangent(self, values):
        """add_at(acc, index, g) is linear in (acc, g); either may be constant."""
        acc, index, g = values["acc"], values["index"], values["g"]
        if not self.active(g):
            if self.active(acc):
                return build.name(self.d(acc.id))
            return build.call("zeros_like", [acc])
        start = build.name(self.d(acc.id)) if self.active(acc) else build.call("zeros_like", [acc])
        if self.active(acc):
            self.inplace.add(self.d(acc.id))
        self.inplace.add(self.d(values["y"].id))
        return build.call("add_at", [start, clone(index), build.name(self.d(g.id))])

    def set_at_tangent(self, values):
        """set_at(a, index, value) is linear in (a, value); either may be constant."""
        a, index, value = values["a"], values["index"], values["value"]
        start = build.name(self.d(a.id)) if self.active(a) else build.call("zeros_like", [a])
        new = build.name(self.d(value.id)) if self.active(value) else build.const(0.0)
        return build.call("set_at", [start, clone(index), new])

    def fills(self, operand, operands, target) -> bool:
        """Whether `operand` already has the result's shape (so its tangent does too)."""
        others = [o for o in operands if o is not operand]
        if all(self.shape(o) == () for o in others):
            return True
        if any(isinstance(o, gast.Name) and o.id == operand.id for o in others):
            return True
        mine, result = self.shape(operand), self.classes.get(target)
        return mine is not None and mine == result and "?" not in mine

    def call_subroutine(self, stmt, call, func):
        sig = inspect.signature(func)
        try:
            bound = sig.bind(*call.args, **{k.arg: k.value for k in call.keywords})
        except TypeError as exc:
            raise self.parsed.error(UnsupportedSyntaxError, call, f"bad call: {exc}",
                                    construct="call", hint="match the function's parameters") \
                from exc
        active = tuple(p for p, v in bound.arguments.items() if self.active(v))
        classes = self.call_classes(func, bound)
        callee = self.subroutine(func, active, classes)
        refuse_complex_return(self.parsed, call, func, callee, self.complex.names)
        keywords = [gast.keyword(arg=k.arg, value=clone(k.value))
                    for k in call.keywords]
        keywords += [gast.keyword(arg=callee.tangent_params[p],
                                  value=build.name(self.d(bound.arguments[p].id))) for p in active]
        target = stmt.targets[0].id
        targets = gast.Tuple(elts=[build.name(target, gast.Store()),
                                   build.name(self.d(target), gast.Store())], ctx=gast.Store())
        new = gast.Assign(targets=[targets], value=gast.Call(
            func=build.name(callee.name), args=clone(call.args), keywords=keywords),
            type_comment=None)
        new.lineno = stmt.lineno
        return new


class _RealOnly(gast.NodeTransformer):
    """`dx` -> `real_only(dx)` for the tangents of real operands of a complex statement: a
    complex tangent there means a complex value reached an unaudited rule upstream."""

    def __init__(self, names: set):
        self.names = names

    def visit_Name(self, node):
        if node.id in self.names and isinstance(node.ctx, gast.Load):
            return build.call("real_only", [node])
        return node


def _checked_real(contributions, names: set) -> None:
    for c in contributions:
        c.expr = _RealOnly(names).visit(c.expr)


def _param_of(values: dict, atom) -> str | None:
    for p, v in values.items():
        if v is atom:
            return p
    return None


def _reads(expr, name) -> bool:
    return name is not None and any(isinstance(n, gast.Name) and n.id == name
                                    for n in walk(expr))


class _StripBroadcast(Transformer):
    def visit_Call(self, node):
        node = self.generic_visit(node)
        if isinstance(node.func, gast.Name) and node.func.id == "broadcast_like":
            return node.args[0]
        return node


def _in(keys: set, key) -> bool:
    """`key in keys` for any callee (an unhashable one is in no set)."""
    try:
        return key in keys
    except TypeError:
        return False
