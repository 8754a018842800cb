"""The directory generated modules are written to, checked before every use.

Generated code is executed, and numba unpickles what it finds next to it, so the directory
must be one no other user can write to: a per-user location (`$TANGENT_SRC_CACHE`, else
`$XDG_CACHE_HOME/tangent_src`, else `~/.cache/tangent_src`), created 0700, and refused
unless it is a real directory (not a symbolic link) owned by the current user, not writable
by group or others, under parents only root or the user can rename things in. When it
cannot be used (refused, read-only, full, or a file), the caller keeps the generated module
in memory after one `CacheWarning`. Files are written through `mkstemp` (O_EXCL, no symlink
following, mode 0600) and `os.replace`d into place; the directory is pruned to a bound.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import sys
import tempfile
import threading
import time
import warnings

from ..errors import CacheWarning

MAX_FILES = 2000            # generated modules and numba cache files kept, at most
MAX_BYTES = 64 * 2**20      # and their total size
PRUNE_EVERY = 32            # new files written between two prunings (the first write prunes)
TAG_NAME = "CACHEDIR.TAG"   # https://bford.info/cachedir/: backup tools skip the directory
_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
        "# This file is a cache directory tag created by tangent_src.\n"
        "# It holds generated derivative modules; `tangent-src cache --clear` empties it.\n")

# What tangent_src writes there, and nothing else is ever deleted from it: a generated module
# `<name>_<12 hex>.py`, its temporary file, and numba's cache files for it.
_OWN_FILE = re.compile(r"(?:[0-9A-Za-z_]+_[0-9a-f]{12}\.py"
                       r"|\.[0-9A-Za-z_]+_[0-9a-f]{12}\.py\.[^/]*\.tmp)\Z")
_NUMBA_FILE = re.compile(r"[0-9A-Za-z_]+_[0-9a-f]{12}\.[^/]*\.nb[ic]\Z")
_STALE_TMP_SECONDS = 3600

_WARNED: set = set()
_LOCK = threading.Lock()
_writes = 0


def _new_lock_after_fork() -> None:
    """A forked child must not inherit the lock held by a thread it does not have."""
    global _LOCK
    _LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_after_fork)


def location() -> str:
    """Where the cache lives (whether or not it exists or is usable)."""
    explicit = os.environ.get("TANGENT_SRC_CACHE")
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = xdg if os.path.isabs(xdg) else os.path.join(_home(), ".cache")
    return os.path.join(base, "tangent_src")


def _home() -> str:
    """The user's home directory as an absolute path: $HOME when it is one, else the
    password database's (a relative or empty $HOME put the cache under whatever the
    current directory happened to be)."""
    home = os.path.expanduser("~")
    if os.path.isabs(home) and home != os.sep:
        return home
    with contextlib.suppress(ImportError, KeyError, OSError):
        import pwd
        home = pwd.getpwuid(os.getuid()).pw_dir
    return os.path.abspath(home)


def warn_once(path: str, problem: str, consequence: str = "") -> None:
    """One CacheWarning per (directory, problem) in a process."""
    key = (path, problem)
    with _LOCK:
        if key in _WARNED:
            return
        _WARNED.add(key)
    consequence = consequence or "generated modules are kept in memory instead"
    warnings.warn(f"tangent_src cache {path}: {problem}; {consequence} (set "
                  "TANGENT_SRC_CACHE to a directory of your own to use a disk cache)",
                  CacheWarning, stacklevel=_user_stacklevel())


def _user_stacklevel() -> int:
    """The stacklevel of the first caller outside tangent_src (where the warning is shown)."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame, level = sys._getframe(1), 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def problem_with(path: str) -> str | None:
    """Why `path` must not hold generated code (None: it may). Checks the directory itself
    (a real directory, the user's, not group/world-writable, writable by the user) and its
    parents (owned by root or the user; writable by others only if sticky, like /tmp)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "it does not exist"
    except OSError as exc:
        return f"cannot inspect it ({exc.strerror or exc})"
    if stat.S_ISLNK(st.st_mode):
        return "it is a symbolic link"
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a directory"
    euid = effective_uid()
    if euid is not None and st.st_uid != euid:
        return f"it is owned by uid {st.st_uid}, not by you (uid {euid})"
    if st.st_mode & 0o022:
        return f"it is writable by group or others (mode {stat.S_IMODE(st.st_mode):o})"
    found = _parent_problem(os.path.dirname(path), euid)
    if found:
        return found
    if not os.access(path, os.W_OK | os.X_OK):
        return "it is not writable"
    return None


def effective_uid() -> int | None:
    """The effective user id (None where the platform has none)."""
    return os.geteuid() if hasattr(os, "geteuid") else None


def _parent_problem(parent: str, euid: int | None) -> str | None:
    """A parent another user could rename the cache directory out of (and replace), or a
    symbolic link on the way to it that another user could re-point."""
    if euid is None:
        return None
    current = parent
    while True:  # the path as written: no component may be someone else's link
        with contextlib.suppress(OSError):
            st = os.lstat(current)
            if stat.S_ISLNK(st.st_mode) and st.st_uid not in (0, euid):
                return f"its parent {current} is a symbolic link owned by uid {st.st_uid}"
        up = os.path.dirname(current)
        if up == current:
            break
        current = up
    current = os.path.realpath(parent)
    while True:
        try:
            st = os.stat(current)
        except OSError as exc:
            return f"cannot inspect its parent {current} ({exc.strerror or exc})"
        if st.st_uid not in (0, euid):
            return f"its parent {current} is owned by uid {st.st_uid}"
        if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
            return (f"its parent {current} is writable by group or others and not sticky "
                    f"(mode {stat.S_IMODE(st.st_mode):o})")
        up = os.path.dirname(current)
        if up == current:
            return None
        current = up


def create_directory(path: str) -> bool:
    """Create the directory (and every missing parent) 0700; whether it was created.

    Each directory is made by `_mkdir_private` (os.makedirs gives the mode to the last
    one only: under umask 0 the parents came out 0777, which then made the cache
    unusable and left world-writable directories behind)."""
    missing = []
    parent = os.path.dirname(path)
    while parent and not os.path.isdir(parent):
        missing.append(parent)
        up = os.path.dirname(parent)
        if up == parent:
            break
        parent = up
    for directory in reversed(missing):
        _mkdir_private(directory)
    return _mkdir_private(path)


def _mkdir_private(path: str) -> bool:
    """mkdir 0700 whatever the umask; False if something is already there."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        return False
    # the umask may have taken bits away; never follow a link put there since
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
    with contextlib.suppress(OSError):
        fd = os.open(path, flags)
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o700)
        finally:
            os.close(fd)
    return True


def usable() -> str | None:
    """The checked cache directory, created if missing; None (after one CacheWarning) when
    it must not or cannot be used."""
    path = location()
    try:
        created = create_directory(path)
    except OSError as exc:
        warn_once(path, f"cannot create it ({why_failed(exc)})")
        return None
    problem = problem_with(path)
    if problem:
        warn_once(path, problem)
        return None
    if created:  # only once checked: nothing is written to a directory before that
        with contextlib.suppress(OSError):
            write_file(path, TAG_NAME, _TAG)
    return path


def why_failed(exc: OSError) -> str:
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        return "a file is in the way"
    return exc.strerror or str(exc)


def checked_subdirectory(directory: str, name: str, consequence: str = "") -> str | None:
    """`directory/name` (created 0700), if it passes the same checks; else None (after
    one CacheWarning saying `consequence`)."""
    path = os.path.join(directory, name)
    try:
        _mkdir_private(path)
    except OSError as exc:
        warn_once(path, f"cannot create it ({why_failed(exc)})", consequence)
        return None
    problem = problem_with(path)
    if problem:
        warn_once(path, problem, consequence)
        return None
    return path


# --------------------------------------------------------------------------- writing


# Opening an entry of the cache to inspect it: never through a symbolic link, and never
# waiting (a FIFO planted under a generated module's name blocked open() for ever).
READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)


def _holds(path: str, data: bytes) -> bool:
    """Whether `path` is a regular file of ours holding exactly `data` (never following a
    symbolic link): then it need not be written again (and numba's cache of it stays
    valid, as its time stamp does not change)."""
    try:
        fd = os.open(path, READ_FLAGS)
    except OSError:
        return False
    try:
        st = os.fstat(fd)
        euid = effective_uid()
        if not stat.S_ISREG(st.st_mode) or st.st_size != len(data) or \
                (euid is not None and st.st_uid != euid) or st.st_mode & 0o077:
            return False
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read() == data
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_file(directory: str, filename: str, text: str) -> str:
    """Write `text` as `directory/filename`, mode 0600, atomically: through a new file made
    by mkstemp in the same directory, then os.replace. Raises OSError (having removed the
    temporary file) when it cannot. Returns the path."""
    path = os.path.join(directory, filename)
    data = text.encode("utf-8")
    if _holds(path, data):
        return path
    fd, tmp = tempfile.mkstemp(prefix=f".{filename}.", suffix=".tmp", dir=directory)
    try:
        try:
            if hasattr(os, "fchmod"):
                os.fchmod(fd, 0o600)
            _write_all(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _count_write(directory, path)
    return path


def store(filename: str, text: str) -> str | None:
    """Write a generated module into the cache; its path, or None (after one CacheWarning)
    when the cache cannot be used: the caller then keeps the module in memory."""
    directory = usable()
    if directory is None:
        return None
    try:
        return write_file(directory, filename, text)
    except OSError as exc:
        warn_once(directory, f"cannot write to it ({exc.strerror or exc})")
        return None


# --------------------------------------------------------------------------- size bound


def _count_write(directory: str, keep: str) -> None:
    global _writes
    with _LOCK:
        _writes += 1
        due = _writes % PRUNE_EVERY == 1 or PRUNE_EVERY <= 1
    if due:
        with contextlib.suppress(OSError):
            prune(directory, keep=keep)


def _own_files(directory: str) -> list[tuple[float, int, str]]:
    """(mtime, size, path) of every file tangent_src wrote in `directory` (and numba's
    `__pycache__` in it); symbolic links are listed too (removing one removes the link)."""
    found = []
    now = time.time()
    for folder, pattern in ((directory, _OWN_FILE),
                            (os.path.join(directory, "__pycache__"), _NUMBA_FILE)):
        if folder != directory and problem_with(folder):
            continue  # a link planted as __pycache__: never delete through it
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if not pattern.match(entry.name):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if stat.S_ISDIR(st.st_mode):
                continue
            if entry.name.endswith(".tmp") and now - st.st_mtime < _STALE_TMP_SECONDS:
                continue  # another process is writing it
            found.append((st.st_mtime, st.st_size, entry.path))
    return found


def prune(directory: str, max_files: int | None = None, max_bytes: int | None = None,
          keep: str | None = None) -> int:
    """Delete the oldest generated files until at most `max_files` files of at most
    `max_bytes` in all remain (each pruning goes down to 3/4 of the bound, so that it does
    not run on every write). Returns the number of files deleted."""
    max_files = MAX_FILES if max_files is None else max_files
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    files = sorted(_own_files(directory))
    count, total = len(files), sum(size for _, size, _ in files)
    if count <= max_files and total <= max_bytes:
        return 0
    target_files, target_bytes = max_files * 3 // 4, max_bytes * 3 // 4
    removed = 0
    for _, size, path in files:
        if count <= target_files and total <= target_bytes:
            break
        if path == keep:
            continue
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        count, total, removed = count - 1, total - size, removed + 1
    return removed


# --------------------------------------------------------------------------- CLI


def info() -> dict:
    """Facts about the cache for `tangent-src cache --info`."""
    path = location()
    problem = problem_with(path)
    files = _own_files(path) if problem is None else []
    return {"path": path, "problem": problem, "files": len(files),
            "bytes": sum(size for _, size, _ in files), "max_files": MAX_FILES,
            "max_bytes": MAX_BYTES}


def clear() -> tuple[str, int]:
    """Delete every file tangent_src wrote in the cache (nothing else: the directory may be
    one the user chose for other things too). Returns (path, files deleted). Raises
    OSError (with the reason) when the directory is not one of the user's own."""
    path = location()
    problem = problem_with(path)
    if problem == "it does not exist":
        return path, 0
    if problem:
        raise OSError(errno.EPERM, f"not clearing {path}: {problem}")
    removed = 0
    for _, _, file in _own_files(path):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(file)
            removed += 1
    numba_dir = os.path.join(path, "__pycache__")
    if os.path.isdir(numba_dir) and not os.path.islink(numba_dir) and \
            not os.listdir(numba_dir):
        shutil.rmtree(numba_dir, ignore_errors=True)
    return path, removed


