"""Deeply nested code (an expression of hundreds of terms, dozens of nested blocks): the
recursion limit is raised for the duration of a compilation, by the depth the parsed
source needs, and restored after."""
from __future__ import annotations

import ast
import functools
import sys

# Python frames the passes spend per level of AST nesting (gast conversion, deepcopy,
# NodeTransformers, ANF): a 1000-term sum is a 1000-deep tree of BinOps
FRAMES_PER_LEVEL = 12


def nesting_depth(tree) -> int:
    """The depth of the deepest node of `tree`, found without recursion."""
    deepest, todo = 0, [(tree, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        todo.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def allow_depth(depth: int) -> None:
    """Raise Python's recursion limit (never lower it) so that the recursive AST passes
    handle a tree `depth` levels deep; `keeps_recursion_limit` puts the old limit back."""
    needed = 1000 + FRAMES_PER_LEVEL * depth
    if sys.getrecursionlimit() < needed:
        sys.setrecursionlimit(needed)


def keeps_recursion_limit(func):
    """Decorator: the recursion limit in force when `func` is called is restored when it
    returns (what `allow_depth` raised while generating code is not left behind)."""
    @functools.wraps(func)
    def scoped(*args, **kwargs):
        limit = sys.getrecursionlimit()
        try:
            return func(*args, **kwargs)
        finally:
            sys.setrecursionlimit(limit)
    return scoped
