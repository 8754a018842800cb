"""Lowering of the `with` blocks the core language has (core/blocks.py): gradient surgery.

Before:  `with insert_grad_of(h) as dh: dh = np.clip(dh, -1, 1)`
After:   a `with` statement without items, its HOOK entry (h, dh) (core/tables.py)
Before:  `with checkpoint(every=4): for i in range(n): ...`
After:   the loop, its CHECKPOINT entry `4` (a `break` of its own is refused: the loop's
         range is replayed in segments). Any other `with` is refused.
"""
from __future__ import annotations

import gast

from ...core import blocks, build
from ...core.tables import CHECKPOINT, HOOK, Hook
from .common import SCOPES, located


class BlockLowering:
    """Lowerer's part for `with` blocks (see the module docstring)."""

    def stmt_With(self, node):
        """Only the gradient-surgery blocks (core/blocks.py): insert_grad_of(x) as dx, and
        checkpoint()."""
        hint = ("only 'with tangent_src.insert_grad_of(x) as dx:' and "
                "'with tangent_src.checkpoint():' are supported; move this block out")
        if len(node.items) != 1 or not isinstance(node.items[0].context_expr, gast.Call):
            raise self.parsed.unsupported(node, "with", hint)
        item = node.items[0]
        call = item.context_expr
        kind = blocks.block_kind(self.resolve_dotted(call.func))
        if kind == blocks.HOOK_BLOCK:
            if len(call.args) != 1 or not isinstance(call.args[0], gast.Name) or \
                    not isinstance(item.optional_vars, gast.Name) or call.keywords:
                raise self.parsed.unsupported(node, "insert_grad_of without 'as'",
                                              "write: with insert_grad_of(x) as dx:")
            hook = gast.With(items=[], body=node.body, type_comment=None)
            HOOK[hook] = Hook(call.args[0].id, item.optional_vars.id)
            return [located(hook, node)]
        if kind == blocks.CHECKPOINT_BLOCK:
            every = call.args[0] if call.args else next(
                (k.value for k in call.keywords if k.arg == "every"), None)
            for loop in node.body:
                stop = _own_break(loop) if isinstance(loop, gast.For) else None
                if stop is not None:  # the loop would become a while-loop, not segmented
                    raise self.parsed.unsupported(
                        stop, "break in a loop under checkpoint()",
                        "checkpoint() replays the loop's range in segments: run the whole "
                        "range and guard the body with a flag (if not done: ...), or move "
                        "the loop out of checkpoint()")
            body = self.block(node.body)
            loops = [s for s in body if isinstance(s, gast.For)]
            if not loops:
                raise self.parsed.unsupported(node, "checkpoint() without a for-loop",
                                              "put a 'for i in range(n):' loop inside it")
            for loop in loops:
                CHECKPOINT[loop] = every if every is not None else build.const(0)
            return body
        raise self.parsed.unsupported(node, "with", hint)


def _own_break(loop):
    """The first `break` that leaves `loop` itself (not a loop nested in it), else None."""
    todo = list(loop.body)
    while todo:
        node = todo.pop(0)
        if isinstance(node, gast.Break):
            return node
        if not isinstance(node, (gast.For, gast.While) + SCOPES):
            todo.extend(gast.iter_child_nodes(node))
    return None
