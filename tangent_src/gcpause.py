"""Generating code builds hundreds of thousands of short-lived syntax-tree nodes, none in
reference cycles; Python's cyclic collector would scan them again and again (a third of
the time of a 1,000-line function). It is paused while code is generated and put back
as it was after."""
from __future__ import annotations

import functools
import gc


def pauses_gc(func):
    """Decorator: the cyclic garbage collector is off while `func` runs (reference
    counting still frees everything), and back on after if it was on before (a nested
    or concurrent generation that found it off leaves it to the one that turned it off)."""
    @functools.wraps(func)
    def paused(*args, **kwargs):
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()
    return paused
