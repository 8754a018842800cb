"""Tapes and checkpointing. A tape is a plain list per variable (`_y_tape.append(y)` /
`y = _y_tape.pop()`), so it needs no helper of its own; these two size what it holds: the
zero adjoint of a value read back from a tape (`zeros_like_last`) and the interval between
the loop states a `checkpoint()` stores (`checkpoint_every`)."""
from __future__ import annotations

from .accumulation import zeros_like


def zeros_like_last(tape, like):
    """A zero adjoint for the value a name held before its current one: shaped like the
    last value left on its tape (an earlier loop iteration), else like `like`."""
    return zeros_like(tape[-1] if tape else like)


def checkpoint_every(count, every):
    """Iterations between stored loop states: `every`, or about sqrt(count) when 0."""
    if every:
        return int(every)
    return max(1, int(round(max(count, 1) ** 0.5)))


# the helpers generated code calls by name (imported from tangent_src.runtime)
HELPERS = ("zeros_like_last", "checkpoint_every")
