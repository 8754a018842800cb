"""Ranges that lowered loops run on: `reversed(range(...))` as a range counting down, and
`range(len(seq))` with `seq[i]` for loops over sequences.
"""
from __future__ import annotations

import gast

from ...core import build
from ...core.walk import clone


def reversed_range_call(rng):
    """reversed(range(...)) as a range: from the last element back to the first."""
    args = rng.args
    if len(args) == 1:
        return gast.Call(func=build.name("range"), args=[
            gast.BinOp(left=clone(args[0]), op=gast.Sub(), right=build.const(1)),
            build.const(-1), build.const(-1)], keywords=[])
    start, stop = args[0], args[1]
    step = args[2] if len(args) > 2 else build.const(1)
    step_value = step.value if isinstance(step, gast.Constant) else (
        -step.operand.value if isinstance(step, gast.UnaryOp) and
        isinstance(step.operand, gast.Constant) else None)
    if step_value == 1:
        return gast.Call(func=build.name("range"), args=[
            gast.BinOp(left=clone(stop), op=gast.Sub(), right=build.const(1)),
            gast.BinOp(left=clone(start), op=gast.Sub(), right=build.const(1)),
            build.const(-1)], keywords=[])
    if step_value == -1:
        return gast.Call(func=build.name("range"), args=[
            gast.BinOp(left=clone(stop), op=gast.Add(), right=build.const(1)),
            gast.BinOp(left=clone(start), op=gast.Add(), right=build.const(1))],
            keywords=[])
    count = gast.Call(func=build.name("len"), args=[clone(rng)], keywords=[])
    last = gast.BinOp(left=clone(start), op=gast.Add(), right=gast.BinOp(
        left=gast.BinOp(left=count, op=gast.Sub(), right=build.const(1)), op=gast.Mult(),
        right=clone(step)))
    end = gast.BinOp(left=clone(start), op=gast.Sub(), right=clone(step))
    return gast.Call(func=build.name("range"), args=[last, end, gast.UnaryOp(
        op=gast.USub(), operand=clone(step))], keywords=[])


def len_of(seq: str):
    return gast.Call(func=build.name("len"), args=[build.name(seq)], keywords=[])


def range_len(seq: str):
    return gast.Call(func=build.name("range"), args=[len_of(seq)], keywords=[])


def item_of(seq: str, index: str):
    return gast.Subscript(value=build.name(seq), slice=build.name(index), ctx=gast.Load())
