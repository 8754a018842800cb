"""Bounded recursion: a call of a recursive user function with an integer literal argument
is expanded where it is called, that parameter replaced by the integer and the body's
constant tests and arithmetic folded, so each level calls the next with a literal again
until a branch without the call is taken. The depth is then fixed by the source.

Before:  `def power(x, n): return 1.0 if n == 0 else x * power(x, n - 1)`; `power(x, 2)`
After:   `x2 = x`; `x3 = x2`; `x4 = x3`; `power_out3 = 1.0`; `power_out2 = x3 * power_out3`;
         `power_out = x2 * power_out2` (then flattened as usual)

A recursion whose integer does not reach a branch without the call within `MAX_DEPTH`
levels, or whose recursive call gets no literal, is refused where it is written.
"""
from __future__ import annotations

import ast

import gast

from ...core.walk import walk
from ..source import is_user_function

MAX_DEPTH = 64    # levels of one chain of calls
MAX_LEVELS = 512  # expansions in all (f(n - 1) + f(n - 2) branches)

# what a folded expression may hold: constants and arithmetic on them (no names, no calls,
# no power: 10 ** 10 ** 10 would run for ever)
_FOLDABLE = (gast.Constant, gast.BinOp, gast.UnaryOp, gast.Compare, gast.BoolOp, gast.Load,
             gast.Add, gast.Sub, gast.Mult, gast.FloorDiv, gast.Mod, gast.Div, gast.USub,
             gast.UAdd, gast.Not, gast.Eq, gast.NotEq, gast.Lt, gast.LtE, gast.Gt, gast.GtE,
             gast.And, gast.Or)


class BoundedRecursion:
    """Lowerer's part for bounded recursion (see the module docstring)."""

    def recursive_callee(self, call):
        """The user function `call` calls when it calls itself by its global name and this
        call passes an integer literal; else None."""
        func = self.user_callee(call) if isinstance(call, gast.Call) else None
        if func is None or not any(_is_int(a) for a in call.args + [
                k.value for k in call.keywords]):
            return None
        return func if is_recursive_function(func) else None

    def expand_recursive(self, call):
        """(statements, result name) of one level of a bounded recursion (module doc)."""
        depth = self.__dict__.get("recursion_depth", 0)
        total = self.recursion_levels = self.__dict__.get("recursion_levels", 0) + 1
        if depth >= MAX_DEPTH or total > MAX_LEVELS:
            raise self.parsed.unsupported(
                call, f"recursion deeper than {MAX_DEPTH} levels or expanded more than "
                f"{MAX_LEVELS} times (its integer argument does not reach the case "
                "without the call)", "write the recursion as a loop")
        self.recursion_depth = depth + 1
        try:
            return self.expand_variadic(call, bounded=True)
        finally:
            self.recursion_depth = depth


def substitute_integers(body: list, names: dict) -> list:
    """`body` with each load of a name in `names` (name -> int) replaced by the integer,
    then its constant expressions and branches folded."""
    class Substitute(gast.NodeTransformer):
        def visit_Name(self, node):
            if node.id in names and isinstance(node.ctx, gast.Load):
                return gast.copy_location(gast.Constant(value=names[node.id], kind=None),
                                          node)
            return node
    return fold_constants([Substitute().visit(s) for s in body])


def fold_constants(body: list) -> list:
    """Fold arithmetic and comparisons of constants, and `if`/`a if c else b` whose test is
    a constant, in `body` (not inside nested functions or lambdas)."""
    out = []
    for stmt in body:
        new = _Fold().visit(stmt)
        out += new if isinstance(new, list) else [new]
    return _reachable(out)


def _reachable(body: list) -> list:
    """`body` without the statements after its first `return` (a folded `if n == 0:
    return ...` leaves the recursive case after it, never run: not expanded either)."""
    for k, stmt in enumerate(body):
        if isinstance(stmt, gast.Return):
            return body[:k + 1]
    return body


class _Fold(gast.NodeTransformer):
    def visit_FunctionDef(self, node):
        return node

    def visit_Lambda(self, node):
        return node

    def generic_visit(self, node):
        node = super().generic_visit(node)
        for field in ("body", "orelse"):
            if isinstance(getattr(node, field, None), list) and not isinstance(node, gast.IfExp):
                setattr(node, field, _reachable(getattr(node, field)))
        if isinstance(node, (gast.BinOp, gast.UnaryOp, gast.Compare, gast.BoolOp)) and \
                all(isinstance(n, _FOLDABLE) for n in walk(node)):
            try:
                value = _evaluate(node)
            except (ArithmeticError, TypeError, ValueError):  # 1 // 0: raised where it runs
                return node
            return gast.copy_location(gast.Constant(value=value, kind=None), node)
        return node

    def visit_IfExp(self, node):
        node = self.generic_visit(node)
        if isinstance(node.test, gast.Constant):
            return node.body if node.test.value else node.orelse
        return node

    def visit_If(self, node):
        node = self.generic_visit(node)
        if isinstance(node.test, gast.Constant):
            return (node.body if node.test.value else node.orelse) or [
                gast.copy_location(gast.Pass(), node)]
        return node


def _evaluate(node):
    """The value of a constant expression (only _FOLDABLE nodes), computed by Python."""
    tree = ast.Expression(gast.gast_to_ast(node))
    for sub in ast.walk(tree):  # positions moved by renaming need not be consistent here
        for attr in ("lineno", "end_lineno", "col_offset", "end_col_offset"):
            if hasattr(sub, attr):
                delattr(sub, attr)
    code = compile(ast.fix_missing_locations(tree), "<fold>", "eval")
    return eval(code, {"__builtins__": {}})  # noqa: S307 -- constants and operators only


def _is_int(expr) -> bool:
    return isinstance(expr, gast.Constant) and type(expr.value) is int


def is_recursive_function(func) -> bool:
    """Whether user function `func` calls itself by its global name (as far as its code's
    names tell)."""
    return is_user_function(func) and func.__name__ in func.__code__.co_names and \
        func.__globals__.get(func.__name__) is func
