"""One array passed as two arguments of a function that writes into one of them: refused.

The derivative of f is that of f run on fresh copies of its arguments (frontend/aliases.py):
`a[i] = v` or `a += v` on a parameter becomes a new version of `a`. When the caller passes
one array (or overlapping views of one) as `a` and `b`, Python's f sees the write through
`b` too and the derivative would not: silently wrong. Only a function that changes a
parameter in place (`Compiled.written`, from the alias pass's callee summary) is checked,
on every call, the fast entry's included (call_entry.py); the others pay nothing.
"""
from __future__ import annotations

import numpy as np

from .errors import NotDifferentiableError

_DEPTH = 3  # how deep into lists, tuples and dicts the arrays are looked for
_TOO_HARD = getattr(np, "exceptions", np).TooHardError
_MAX_WORK = 1000  # an exact overlap test of strided views beyond this: taken as shared


def _held(value, path: str, out: list, depth: int) -> list:
    """(where, object) for the arrays in `value` and the lists and dicts holding them:
    what a write into `value` can change."""
    if isinstance(value, np.ndarray):
        out.append((path, value))
    elif depth and isinstance(value, (list, tuple, dict)):
        if not isinstance(value, tuple):
            out.append((path, value))  # itself changed in place (`a += [v]`, `d.update`)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            _held(item, f"{path}[{key!r}]", out, depth - 1)
    return out


def _share(x, y) -> bool:
    """Whether a write into `x` can change `y`: the same object, or arrays whose memory
    overlaps (interleaved views `B[::2]`, `B[1::2]` do not)."""
    if x is y:
        return True
    if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)) or \
            not np.may_share_memory(x, y):
        return False
    try:
        return bool(np.shares_memory(x, y, max_work=_MAX_WORK))
    except _TOO_HARD:
        return True


def _shared_pair(params, written, values: dict) -> tuple | None:
    """(written place, other place) of two arguments that share memory, or None."""
    held = {p: _held(values[p], p, [], _DEPTH) for p in params if p in values}
    for p in written:
        mine = held.get(p, ())
        for q, theirs in held.items():
            pairs = ((x, y) for k, x in enumerate(mine) for y in mine[k + 1:]) if q == p \
                else ((x, y) for x in mine for y in theirs)
            for (where, x), (other, y) in pairs:
                if _share(x, y):
                    return where, other
    return None


def refuse_shared(name: str, params: tuple, written: tuple, args: tuple,
                  kwargs: dict | None = None) -> None:
    """Raise NotDifferentiableError when an argument `name` writes into in place (one of
    `written`) shares memory with another argument (or another item of itself)."""
    values = dict(zip(params, args))
    if kwargs:
        values.update((k, v) for k, v in kwargs.items() if k in params)
    found = _shared_pair(params, written, values)
    if found is None:
        return
    where, other = found
    raise NotDifferentiableError(
        f"cannot differentiate {name} at these arguments: '{where}' and '{other}' are the "
        f"same array (or overlapping views of one), and {name} writes into '{where}' in "
        f"place; Python's {name} sees that write through '{other}' too, its derivative "
        f"treats them as separate arrays. Pass a copy for one of them, e.g. "
        f"{name}(B, B.copy()) instead of {name}(B, B)")
