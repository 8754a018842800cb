"""Comment markers: placeholder statements the transforms leave in generated code and the
emitter prints as comments (`# line 12: h = np.tanh(h)` above an adjoint block, or a
section title such as `# backward pass`). One spelling, used by every stage."""
from __future__ import annotations

import gast

MARKER = "__line__"


def line_marker(lineno: int):
    """A placeholder for `# line N: <source line N>`."""
    marker = gast.Expr(value=gast.Constant(value=(MARKER, lineno), kind=None))
    marker.lineno = lineno
    return marker


def section_marker(title: str):
    """A placeholder for `# title`."""
    return gast.Expr(value=gast.Constant(value=(MARKER, title), kind=None))


def is_marker(stmt) -> bool:
    """Whether `stmt` is a line or section placeholder."""
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant) and \
        isinstance(stmt.value.value, tuple) and stmt.value.value[:1] == (MARKER,)


def is_section(stmt, title: str | None = None) -> bool:
    """Whether `stmt` is a section placeholder (with that `title`, if given)."""
    if not is_marker(stmt) or not isinstance(stmt.value.value[1], str):
        return False
    return title is None or stmt.value.value[1] == title


def marker_text(value) -> str | None:
    """For the value of a marker's constant, the string the emitter prints in its place
    (`__line__:12`, `__line__:backward pass`); None for any other value."""
    if isinstance(value, tuple) and value[:1] == (MARKER,):
        return f"{MARKER}:{value[1]}"
    return None
