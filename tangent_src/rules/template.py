"""Instantiate a rule template: substitute argument atoms and adjoint names into its body."""
from __future__ import annotations

from dataclasses import dataclass

import gast

from ..core.libraries import ARRAY_LIBRARIES
from ..core.tables import NodeTable
from ..core.walk import Transformer, clone, walk
from ..errors import TemplateError  # noqa: F401  (its old home: imported from here too)
from .registry import Template


@dataclass
class Contribution:
    """`d[param] = expr` in a template: one contribution to an argument's adjoint."""

    param: str
    expr: object
    accumulates: bool   # False when the template reads d[param] itself (it accumulates in place)


def bind(template: Template, result, args: list, keywords: dict) -> dict:
    """Map template parameter names to gast expressions (atoms of the call)."""
    try:
        bound = template.signature.bind(result, *args, **keywords)
    except TypeError as exc:
        raise TemplateError(str(exc)) from exc
    values = dict(bound.arguments)
    defaulted = set()
    for name in template.params:
        if name not in values and name in template.defaults:
            values[name] = clone(template.defaults[name])
            defaulted.add(name)
    values[DEFAULTED] = defaulted
    return values


DEFAULTED = "<defaulted>"  # key in bind()'s result: parameters left at their default

# On a literal substituted for a parameter left at its default: that parameter's name
_DEFAULT_OF: NodeTable[str] = NodeTable("default_of", str)


class _Substitute(Transformer):
    def __init__(self, values: dict, dnames: dict, locals_: dict, zero_inactive: bool = False):
        self.values, self.dnames, self.locals = values, dnames, locals_
        self.zero_inactive = zero_inactive

    def visit_Subscript(self, node):
        if isinstance(node.value, gast.Name) and node.value.id == "d" \
                and isinstance(node.slice, gast.Name):
            name = self.dnames.get(node.slice.id)
            if name is None and self.zero_inactive and node.slice.id in self.values:
                # derivatives are linear in d[...]: an inactive one is zeros of its value
                return gast.Call(func=gast.Name(id="zeros_like", ctx=gast.Load(),
                                                annotation=None, type_comment=None),
                                 args=[clone(self.values[node.slice.id])],
                                 keywords=[])
            if name is None:
                raise _Inactive(node.slice.id)
            if not isinstance(name, str):  # an expression (see array_operands)
                return clone(name)
            return gast.Name(id=name, ctx=node.ctx, annotation=None, type_comment=None)
        return self.generic_visit(node)

    def visit_Call(self, node):
        node = self.generic_visit(node)
        # drop `keepdims=keepdims` when the rule's keepdims was left at its default, but not
        # a literal the template wrote itself (`np.mean(a, axis=axis, keepdims=True)`)
        node.keywords = [k for k in node.keywords
                         if _DEFAULT_OF.get(k.value) != k.arg]
        return node

    def visit_Name(self, node):
        if node.id in self.locals:
            return gast.Name(id=self.locals[node.id], ctx=node.ctx, annotation=None,
                             type_comment=None)
        if node.id in self.values and isinstance(node.ctx, gast.Load):
            value = clone(self.values[node.id])
            if node.id in self.values.get(DEFAULTED, ()) and isinstance(value, gast.Constant):
                _DEFAULT_OF[value] = node.id
            return value
        return node


class _Inactive(Exception):
    pass


_LITERAL_TYPES = {"str": str, "int": int, "float": float, "bool": bool}


def _decided(test):
    """The truth of a rule's condition when the call's literals decide it (a constant,
    `None is not None`, `isinstance('ij,jk', str)`), else None."""
    if isinstance(test, gast.Constant):
        return bool(test.value)
    if isinstance(test, gast.Compare) and len(test.ops) == 1 and \
            isinstance(test.left, gast.Constant) and \
            isinstance(test.comparators[0], gast.Constant) and \
            isinstance(test.ops[0], (gast.Is, gast.IsNot)):
        same = test.left.value is test.comparators[0].value
        return same if isinstance(test.ops[0], gast.Is) else not same
    if isinstance(test, gast.Call) and isinstance(test.func, gast.Name) and \
            test.func.id == "isinstance" and len(test.args) == 2 and not test.keywords and \
            isinstance(test.args[0], gast.Constant) and isinstance(test.args[1], gast.Name) \
            and test.args[1].id in _LITERAL_TYPES:
        return isinstance(test.args[0].value, _LITERAL_TYPES[test.args[1].id])
    return None


class _FoldChoices(Transformer):
    """`a if test else b` in an instantiated rule, reduced to the branch the call's
    literals choose (np.einsum's string form vs its sublist form, an absent operand)."""

    def visit_IfExp(self, node):
        node = self.generic_visit(node)
        decided = _decided(node.test)
        if decided is None:
            return node
        return node.body if decided else node.orelse


def instantiate(template: Template, values: dict, dnames: dict, fresh) -> tuple[list, list]:
    """Returns (helper statements, contributions) for one use of a rule.

    `dnames` maps a parameter to the name of its adjoint (absent when inactive);
    `fresh(base)` returns a new local name. A statement that reads only adjoints of
    inactive parameters is dropped, so rules never compute unused derivatives; one that
    also reads an active one (`d[y] = d[a] * b + d[b] * a` with only `a` varying) keeps its
    active terms, the inactive adjoints read as zeros.
    """
    locals_: dict = {}
    helpers, contributions = [], []
    for stmt in template.body:
        if isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant):
            continue  # docstring
        if not isinstance(stmt, gast.Assign) or len(stmt.targets) != 1:
            raise TemplateError("rule bodies contain only assignments")
        target = stmt.targets[0]
        try:
            if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) \
                    and target.value.id == "d":
                param = target.slice.id
                if param not in dnames or dnames[param] is None:
                    continue
                reads_self = _reads_adjoint(stmt.value, param)
                mixed = any(dnames.get(p) is not None for p in _adjoints_read(stmt.value))
                value = _FoldChoices().visit(_Substitute(
                    values, dnames, locals_, zero_inactive=mixed).visit(clone(stmt.value)))
                contributions.append(Contribution(param, value, not reads_self))
            else:
                value = _FoldChoices().visit(
                    _Substitute(values, dnames, locals_).visit(clone(stmt.value)))
                locals_[target.id] = fresh(target.id)
                helpers.append(gast.Assign(
                    targets=[gast.Name(id=locals_[target.id], ctx=gast.Store(), annotation=None,
                                       type_comment=None)], value=value, type_comment=None))
        except _Inactive:
            continue
    return helpers, contributions


def _reads_adjoint(expr, param: str) -> bool:
    for node in walk(expr):
        if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name) and \
                node.value.id == "d" and isinstance(node.slice, gast.Name) and \
                node.slice.id == param:
            return True
    return False


def _adjoints_read(expr) -> set:
    """The parameters whose adjoint (or tangent) `expr` reads as d[param]."""
    return {node.slice.id for node in walk(expr)
            if isinstance(node, gast.Subscript) and isinstance(node.value, gast.Name)
            and node.value.id == "d" and isinstance(node.slice, gast.Name)}


# Parameters that take a sequence as such (np.concatenate's arrays, np.array's object, the
# builtins' items, cho_solve's (c, lower), odeint's extra arguments `args`, the structure
# `obj`/`like` of runtime helpers).
SEQUENCE_PARAMS = frozenset({"arrays", "tup", "object", "items", "parts", "obj", "like",
                             "choicelist", "condlist",
                             "c_and_lower", "args"})


def array_operands(template: Template, values: dict, dnames: dict, sequences: set) -> dict:
    """A list or tuple built in the function (`np.mean(np.multiply([a, b], 2))`) and passed
    where a rule expects an array is read as the array NumPy makes of it: its value and its
    derivative become `np.asarray(...)` in the rule (a list tangent times 2 would repeat the
    list, and list + list concatenate). Updates `values` and `dnames` in place; returns
    {parameter: the list's name} for the parameters converted."""
    converted: dict = {}
    module = getattr(template.key, "__module__", None) or type(template.key).__module__
    if module.split(".")[0] not in ARRAY_LIBRARIES:  # operators, builtins, helpers
        return converted
    for param in template.params[1:]:
        value = values.get(param)
        if param in SEQUENCE_PARAMS or param not in dnames or not isinstance(value, gast.Name) \
                or value.id not in sequences:
            continue
        converted[param] = value.id
        values[param] = _asarray(value.id)
        if isinstance(dnames[param], str):
            dnames[param] = _asarray(dnames[param])
    return converted


def _asarray(name: str):
    func = gast.Attribute(value=gast.Name(id="np", ctx=gast.Load(), annotation=None,
                                          type_comment=None), attr="asarray", ctx=gast.Load())
    return gast.Call(func=func, args=[gast.Name(id=name, ctx=gast.Load(), annotation=None,
                                                type_comment=None)], keywords=[])
