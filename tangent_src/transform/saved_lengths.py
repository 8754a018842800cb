"""Lengths a split gradient's backward half reads, saved instead of the arrays they are
the lengths of (the numba back end):

    def dt2_fwd(inp, ...):                      def dt2_bwd(saved, dout):
        ...                                         (inp_len, ...) = saved
        return out, (len(inp), ...)                 dt2_stop1 = inp_len

A concatenation's adjoint reads its pieces only for their lengths (`len(inp)`); an int in
the saved tuple costs no reference count and keeps no array alive (saved_views.py says why
the tuple's size matters). A saved name is replaced so when the backward half reads it
only as the one argument of `len(...)` and never assigns it, and the forward half binds
it on every path (else its `None` placeholder would have no length). Its length is taken
when the forward half returns, where the tuple would have taken the object; an array's
length never changes, and the backward half, which only takes lengths, changes no list's.
"""
from __future__ import annotations

import gast

from ..core.walk import walk


def length_only(statements: list, saved: list, bound: set) -> list:
    """The `saved` names in `bound` that `statements` read only as `len(name)`."""
    inside = {id(node.args[0]) for stmt in statements for node in walk(stmt)
              if _length_of_name(node)}
    seen, other = set(), set()
    for stmt in statements:
        for node in walk(stmt):
            if isinstance(node, gast.Name):
                (seen if id(node) in inside else other).add(node.id)
    return [n for n in saved if n in bound and n in seen and n not in other]


def read_lengths(statements: list, names: dict) -> list:
    """`statements` (rewritten in place) with each `len(n)` of `names` read as names[n]."""
    class Rewrite(gast.NodeTransformer):
        def visit_Call(self, node):
            if _length_of_name(node) and node.args[0].id in names:
                return gast.Name(id=names[node.args[0].id], ctx=gast.Load(),
                                 annotation=None, type_comment=None)
            self.generic_visit(node)
            return node
    return [Rewrite().visit(stmt) for stmt in statements]


def _length_of_name(node) -> bool:
    return isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and \
        node.func.id == "len" and len(node.args) == 1 and not node.keywords and \
        isinstance(node.args[0], gast.Name)
