"""Short tracebacks for errors in the user's code.

An unsupported construct or a missing rule is found deep inside the compiler, forty
frames below the user's call; those frames say nothing the located message does not.
Errors raised while code is generated reach the user with the traceback cut at the
transform's entry point (their cause, if any, keeps its message without its frames).
`TANGENT_SRC_FULL_TRACEBACK=1` keeps every frame, for work on tangent_src itself. Errors
raised while generated code runs keep their frames: those are the generated code's,
which is what a user debugs (pdb steps through it)."""
from __future__ import annotations

import functools
import os

from .errors import TangentError


def full_tracebacks() -> bool:
    return os.environ.get("TANGENT_SRC_FULL_TRACEBACK", "") not in ("", "0")


def generation_errors_short(func):
    """Decorator for the functions that generate code: a TangentError they raise loses
    the compiler's frames."""
    @functools.wraps(func)
    def generating(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except TangentError as exc:
            if full_tracebacks():
                raise
            cause = exc.__cause__
            if cause is not None:
                cause = cause.with_traceback(None)
            raise exc.with_traceback(None) from cause
    return generating
