"""Lowering of simple statements: assignments (chained, annotated, augmented, unpacking,
writes into arrays as `set_at`), expression statements, `return` and `if`.

Before:  `a, b = f(x)`; `a += b`; `w[i] = v`
After:   `a_b = f(x); a = a_b[0]; b = a_b[1]`; `a = a + b`; `w = set_at(w, i, v)`
"""
from __future__ import annotations

import gast

from ...core import build
from ...core.tables import EFFECT, USER_IN_PLACE
from .common import is_list_method, located, to_load


class StatementLowering:
    """Lowerer's part for simple statements (see the module docstring)."""

    def stmt_Pass(self, node):
        return []

    def stmt_Expr(self, node):
        if isinstance(node.value, gast.Constant) and isinstance(node.value.value, str):
            return []  # docstring
        if EFFECT.get(node):
            return [node]  # already a side-effect statement (nested.py's output check)
        if is_list_method(node.value, "append"):
            node.value = self.check_expr(node.value)
            return [node]
        if isinstance(node.value, (gast.Name, gast.Constant)):
            return []  # a value left unused (a hoisted call of a nested function)
        effect = self.effect_call(node)
        if effect is not None:
            return effect
        raise self.parsed.unsupported(
            node, "expression statement",
            "a call whose result is unused must only report (print, logging, warnings, "
            "plotting, a function that writes into none of its arguments); assign the "
            "result, or move the call outside the differentiated function")

    def stmt_Assign(self, node):
        if isinstance(node.value, gast.Lambda) and len(node.targets) == 1 and \
                isinstance(node.targets[0], gast.Name):
            lam = node.value
            fn = gast.FunctionDef(name=node.targets[0].id, args=lam.args,
                                  body=[located(gast.Return(value=lam.body), lam)],
                                  decorator_list=[], returns=None, type_comment=None,
                                  type_params=[])
            return self.stmt_FunctionDef(located(fn, node))
        effect = self.reporting_assign(node)
        if effect is not None:
            return effect
        node.value = self.check_expr(node.value)
        if len(node.targets) > 1:  # a = b = value
            first, *rest = node.targets
            out = self.stmt_Assign(located(gast.Assign(targets=[first], value=node.value,
                                                        type_comment=None), node))
            source = first
            for target in rest:
                out += self.stmt_Assign(located(gast.Assign(
                    targets=[target], value=to_load(source), type_comment=None), node))
            return out
        return self.assign(node.targets[0], node.value, node)

    def stmt_AnnAssign(self, node):
        if node.value is None:
            return []
        node.value = self.check_expr(node.value)
        return self.assign(node.target, node.value, node)

    def stmt_AugAssign(self, node):
        node.value = self.check_expr(node.value)
        current = to_load(node.target)
        value = gast.BinOp(left=current, op=node.op, right=node.value)
        out = self.assign(node.target, located(value, node), node)
        if isinstance(node.target, gast.Name) and isinstance(node.op, (gast.Add, gast.Sub)):
            USER_IN_PLACE[out[0]] = USER_IN_PLACE[value] = True
        return out

    def assign(self, target, value, node) -> list:
        if isinstance(target, gast.Name):
            return [located(build.assign(target.id, value), node)]
        if isinstance(target, (gast.Tuple, gast.List)):
            return self.unpack(target, value, node)
        if isinstance(target, gast.Subscript):
            return self.write(target, value, node)
        if isinstance(target, gast.Attribute):
            raise self.parsed.unsupported(target, "assignment to an attribute",
                                          "use a local variable")
        raise self.parsed.unsupported(target, f"assignment to {type(target).__name__}",
                                      "assign to a plain name")

    def write(self, target, value, node) -> list:
        """`w[i] = v` -> `w = set_at(w, i, v)`: each write makes a new version of the
        array, so earlier versions stay intact for the backward pass (it costs a copy)."""
        if not isinstance(target.value, gast.Name):
            raise self.parsed.unsupported(target, "assignment into a nested element",
                                          "assign to a local array: a[i, j] = v")
        call = gast.Call(func=self.helper("set_at"),
                         args=[build.name(target.value.id), build.index_value(target.slice), value],
                         keywords=[])
        return [located(build.assign(target.value.id, located(call, node)), node)]

    def unpack(self, target, value, node) -> list:
        elts = target.elts
        if any(isinstance(e, gast.Starred) for e in elts):
            raise self.parsed.unsupported(target, "starred assignment",
                                          "unpack a fixed number of names")
        if isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(elts):
            # Parallel assignment: evaluate every value before binding any name.
            temps, out = [], []
            for elt, val in zip(elts, value.elts):
                base = elt.id if isinstance(elt, gast.Name) else "t"
                tmp = self.namer.fresh(base + "_new")
                temps.append(tmp)
                out.append(located(build.assign(tmp, val), node))
            for elt, tmp in zip(elts, temps):
                out += self.assign(elt, build.name(tmp), node)
            return out
        base = "_".join(e.id for e in elts if isinstance(e, gast.Name)) or "packed"
        packed = self.namer.fresh(base)
        out = [located(build.assign(packed, value), node)]
        for k, elt in enumerate(elts):
            item = gast.Subscript(value=build.name(packed), slice=build.const(k), ctx=gast.Load())
            out += self.assign(elt, located(item, node), node)
        return out

    def stmt_Return(self, node):
        if node.value is None:
            raise self.parsed.unsupported(node, "return without a value",
                                          "return the value to differentiate")
        effect = self.reporting_assign(node) if self.inlining else None
        if effect is not None:
            return effect
        node.value = self.check_expr(node.value)
        return [node]

    def stmt_If(self, node):
        node.test = self.check_expr(node.test)
        before = dict(self.local_functions)
        node.body = self.block(node.body)
        after_body, self.local_functions = self.local_functions, dict(before)
        node.orelse = self.block(node.orelse)
        self.local_functions = self.merge_branches(node, before, after_body,
                                                   self.local_functions)
        return [node]

    def merge_branches(self, node, before: dict, body: dict, orelse: dict) -> dict:
        """The nested functions visible after an if: those both branches leave as they were.
        One (re)defined in a branch depends on the branch taken, which lowering (that
        expands each call in place) cannot know: calling it after the if is refused."""
        merged = {}
        for name in set(before) | set(body) | set(orelse):
            if before.get(name) is body.get(name) is orelse.get(name):
                merged[name] = before[name]
            else:
                self.branch_functions[name] = node
        for name in merged:
            self.branch_functions.pop(name, None)
        return merged
