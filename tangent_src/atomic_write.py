"""Writing a file all at once: a temporary file in the same directory, then `os.replace`,
so a failure (a full disk, an interrupt) never leaves a half-written module behind and an
existing file is left untouched."""
from __future__ import annotations

import contextlib
import os
import tempfile

from tangent_src.errors import CLIError


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomically(path: str, text: str) -> None:
    """Write text to path via a temporary file in the same directory and os.replace."""
    target = os.path.abspath(path)
    directory = os.path.dirname(target)
    if os.path.isdir(target):
        raise CLIError(f"cannot write {path}: it is a directory")
    if not os.path.isdir(directory):
        raise CLIError(f"cannot write {path}: directory {directory} does not exist")
    try:
        mode = os.stat(target).st_mode & 0o777 if os.path.exists(target) else _new_file_mode()
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp",
                                   dir=directory)
    except OSError as exc:
        raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise CLIError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
