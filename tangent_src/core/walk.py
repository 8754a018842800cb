"""Walking and copying syntax trees, fast.

Every analysis and pass of the compiler asks "which nodes are under this statement" many
times per function, so these replace `gast.walk` (same nodes, same order, about 2.5 times
faster) and `copy.deepcopy` of trees (several times faster). They work on gast and on
Python `ast` trees alike (gast's node classes derive from `ast.AST`).
"""
from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator

_AST = ast.AST


def walk(node) -> Iterator:
    """Every node under `node` (itself included), breadth first: what `ast.walk` yields,
    in the same order."""
    todo = deque([node])
    pop, push = todo.popleft, todo.append
    while todo:
        sub = pop()
        yield sub
        for field in sub._fields:
            value = getattr(sub, field, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, _AST):
                        push(item)
            elif isinstance(value, _AST):
                push(value)


def all_nodes(body) -> list:
    """Every node under the statements `body` (a list, or one node), in no particular
    order: for the many set-building questions where the order does not matter."""
    out: list = []
    todo = list(body) if type(body) is list else [body]
    pop, push, add = todo.pop, todo.append, out.append
    while todo:
        sub = pop()
        add(sub)
        for field in sub._fields:
            value = getattr(sub, field, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, _AST):
                        push(item)
            elif isinstance(value, _AST):
                push(value)
    return out


def clone(node):
    """A deep copy of a tree or a list of trees. Lists and nodes are copied; leaf values
    (names, numbers, strings, tuples of those) are immutable and shared. Facts set as
    attributes on nodes are copied with them."""
    if type(node) is list:
        return [clone(item) for item in node]
    if not isinstance(node, _AST):
        return node
    new = node.__class__.__new__(node.__class__)
    new.__dict__.update({key: clone(value) for key, value in node.__dict__.items()})
    return new
