"""The `with` blocks of the core language: gradient surgery.

`with insert_grad_of(x) as dx:` lowers to a hook block (a `with` with no items, its
tables.HOOK entry naming x and dx) and `with checkpoint(every):` to its loops, each with
a tables.CHECKPOINT entry. The objects that open these blocks (tangent_src.surgery's
context managers) register here which kind of block they open, so the front end tells
them apart from any other context manager without importing them.
"""
from __future__ import annotations

HOOK_BLOCK = "insert_grad_of"
CHECKPOINT_BLOCK = "checkpoint"
KINDS = (HOOK_BLOCK, CHECKPOINT_BLOCK)

_OPENERS: list[tuple[object, str]] = []  # (opener, kind): compared by identity


def register_block(opener, kind: str) -> None:
    """Declare that `with opener(...)` opens a block of `kind` (one of KINDS)."""
    if kind not in KINDS:
        raise ValueError(f"unknown block kind {kind!r}; expected one of {KINDS}")
    _OPENERS.append((opener, kind))


def block_kind(opener) -> str | None:
    """The kind of block `with opener(...)` opens; None for any other context manager."""
    return next((kind for obj, kind in _OPENERS if obj is opener), None)
