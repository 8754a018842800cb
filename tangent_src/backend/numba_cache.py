"""numba's on-disk cache inside tangent_src's checked cache directory: before numba reads
its index for a generated function, every entry under that function's name that is not a
regular, unshared file of this user is removed (numba unpickles what it finds there); the
files numba writes are made private (0600)."""
from __future__ import annotations

import contextlib
import os
import stat

from .cache_dir import (
    READ_FLAGS,
    checked_subdirectory,
    create_directory,
    effective_uid,
    problem_with,
    warn_once,
    why_failed,
)


def _foreign(st: os.stat_result) -> bool:
    """A directory entry another user could have planted or can change."""
    euid = effective_uid()
    return not stat.S_ISREG(st.st_mode) or bool(st.st_mode & 0o022) or \
        (euid is not None and st.st_uid != euid)


def _entries(directory: str, prefix: str) -> list:
    return [entry for entry in os.scandir(directory) if entry.name.startswith(prefix)]


def remove_foreign_files(directory: str, prefix: str) -> int:
    """Delete every entry of `directory` whose name starts with `prefix` and that is not a
    regular file of the current user's, unwritable by group and others (a symbolic link,
    another user's file, a world-writable one). Returns how many were deleted."""
    removed = 0
    for entry in _entries(directory, prefix):
        if _foreign(entry.stat(follow_symlinks=False)):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed += 1
    return removed


def make_private(directory: str, prefix: str) -> None:
    """chmod 0600 the user's own regular files in `directory` whose names start with
    `prefix` (never following a symbolic link)."""
    with contextlib.suppress(OSError):
        for entry in _entries(directory, prefix):
            with contextlib.suppress(OSError):
                fd = os.open(entry.path, READ_FLAGS)
                try:
                    st = os.fstat(fd)
                    if not _foreign(st) and stat.S_IMODE(st.st_mode) != 0o600 and \
                            hasattr(os, "fchmod"):
                        os.fchmod(fd, 0o600)
                finally:
                    os.close(fd)


def numba_cache_ready(path: str | None) -> bool:
    """Whether numba may keep a disk cache for functions defined in the generated file
    `path` (numba unpickles what it finds there): `path` is a file in the checked cache
    directory, and numba's cache for it (`$NUMBA_CACHE_DIR` if set, else `__pycache__`
    beside the file) is a checked directory too. Otherwise numba compiles without one."""
    if not path or not os.path.isabs(path) or not os.path.isfile(path):
        return False
    directory = os.path.dirname(path)
    if problem_with(directory):
        return False
    from numba.core import config
    consequence = "numba compiles the generated code without its disk cache"
    if not config.CACHE_DIR:
        return checked_subdirectory(directory, "__pycache__", consequence) is not None
    target = os.path.abspath(os.path.expanduser(config.CACHE_DIR))
    try:
        create_directory(target)
    except OSError as exc:
        warn_once(target, f"cannot create NUMBA_CACHE_DIR ({why_failed(exc)})", consequence)
        return False
    problem = problem_with(target)
    if problem:
        warn_once(target, f"NUMBA_CACHE_DIR: {problem}", consequence)
        return False
    return True
