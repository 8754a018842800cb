"""Load generated source as a module whose source tracebacks, pdb and re-differentiation
find: written to the checked per-user cache directory (see `cache_dir`) when it can be,
and always kept in `linecache`, from where it is read back (never from the file, which
another process could replace). When the cache cannot be used the module lives in memory
only, under a `<tangent_src generated ...>` file name."""
from __future__ import annotations

import builtins
import hashlib
import linecache
import re
import sys

from . import cache_dir as _cache_dir


def cache_dir() -> str | None:
    """The checked cache directory, or None when generated modules stay in memory."""
    return _cache_dir.usable()


def _place(stem: str, text: str) -> str:
    """Store `text` as the module file `<stem>.py` in the cache (or, when the cache cannot
    be used, nowhere) and pin it in linecache; returns the file name to compile it under."""
    path = _cache_dir.store(f"{stem}.py", text) or f"<tangent_src generated {stem}>"
    # mtime None: checkcache() never drops or re-reads the entry from the disk
    linecache.cache[path] = (len(text), None, text.splitlines(True), path)
    return path


def _stem(name: str, digest: str) -> str:
    return f"{re.sub(r'[^0-9A-Za-z_]', '_', name)}_{digest}"


class LiveGlobals(dict):
    """Module globals that read the user's globals when the gradient runs (as the user's
    own function does), so rebinding a global constant is seen by its gradient too."""

    def __init__(self, fixed: dict, live: dict, guards: list | None = None):
        super().__init__(fixed)
        self.live = live          # name -> Ref: where the user's code reads it (global, cell)
        self.guards = guards or []  # (ref, value) the generated code is specialized on

    def __missing__(self, key):
        ref = self.live.get(key)
        if ref is None:
            if hasattr(builtins, key):  # remember builtins: later look-ups are plain hits
                self[key] = getattr(builtins, key)
            raise KeyError(key)
        return ref.read()


def load_module(source: str, name: str, namespace: dict, live: dict | None = None,
                user_modules: tuple = (), guards: list | None = None) -> tuple[dict, str]:
    """Write `source` to a file named after its hash (or keep it in memory) and execute
    it with `namespace` preset.

    Imports from the user's modules are commented out in the loaded copy: those names
    are read live from the user's globals and closure cells (`live`: name -> Ref).
    """
    text = _neutralize_imports(source, user_modules)
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    path = _place(_stem(name, digest), text)
    module_ns = LiveGlobals(namespace, live or {}, guards)
    module_ns.update({"__name__": f"tangent_src_generated.{name}", "__file__": path,
                      "__builtins__": __builtins__})
    remember_source(module_ns, path, text)
    exec(compile(text, path, "exec"), module_ns)
    return module_ns, path


def _neutralize_imports(source: str, user_modules: tuple) -> str:
    out = []
    for line in source.splitlines():
        match = re.match(r"from ([\w.]+) import ", line)
        if match and (match.group(1) in user_modules or match.group(1) not in sys.modules):
            line = "# " + line + "  (read from the module when the gradient runs)"
        out.append(line)
    return "\n".join(out) + "\n"


def remember_source(namespace: dict, path: str, text: str) -> None:
    """Keep a generated module's source in memory: in its namespace (higher derivatives
    parse it from there, never from the file, which may have been edited or replaced
    since) and in linecache for tracebacks and pdb (an entry without a modification time,
    which checkcache leaves alone)."""
    from ..frontend.freshness import GENERATED_SOURCE
    namespace[GENERATED_SOURCE] = text
    linecache.cache[path] = (len(text), None, text.splitlines(True), path)


def load_real_module(source: str, name: str, namespace: dict, live: dict,
                     user_modules: tuple, guards: list | None = None, salt: str = ""):
    """Like `load_module`, but as a module registered in sys.modules (numba's on-disk cache
    re-imports the module that defined a function by its name). The values numba freezes
    are part of the file's name (`salt` describes those outside `live`: module attributes,
    the globals of user functions it compiles): its cache never serves code compiled for
    other values."""
    import types
    text = _neutralize_imports(source, user_modules)
    frozen = {key: ref.read() for key, ref in live.items() if ref.available()}
    fingerprint = "\n".join(f"{k}={stable_text(v)}" for k, v in sorted(frozen.items()))
    fingerprint += salt
    digest = hashlib.sha1((text + fingerprint).encode()).hexdigest()[:12]
    stem = _stem(name, digest)
    path = _place(stem, text)
    modname = f"tangent_src_generated_{stem}"
    module = types.ModuleType(modname)
    module.__file__ = path
    module.__dict__.update(namespace)
    module.__dict__.update(frozen)  # numba reads globals at compile time
    remember_source(module.__dict__, path, text)
    exec(compile(text, path, "exec"), module.__dict__)
    sys.modules[modname] = module
    return module.__dict__, path


def stable_text(value) -> str:
    """A text standing for `value` that is the same in every process for the same value
    (arrays by contents, functions by their code and defaults): what numba freezes,
    named in the generated file's name so its disk cache never serves other values."""
    import types

    import numpy as np
    if isinstance(value, np.ndarray):
        data = hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest()
        return f"array({value.dtype},{value.shape},{data})"
    if isinstance(value, (bool, int, float, complex, str, bytes, type(None), np.generic)):
        return f"{type(value).__name__}({value!r})"
    if isinstance(value, tuple):
        return "(" + ",".join(stable_text(v) for v in value) + ")"
    if isinstance(value, types.ModuleType):
        return f"module({value.__name__})"
    name = f"{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', '')}"
    code = getattr(value, "__code__", None)
    if code is None:
        return name or type(value).__name__
    from ..frontend.freshness import code_key
    digest = hashlib.sha1(repr(code_key(code)).encode()).hexdigest()
    return f"{name}[{digest}]{stable_text(value.__defaults__)}"


def release_with(owner, namespace: dict) -> None:
    """Drop the module `load_real_module` registered for `namespace` from sys.modules when
    `owner` (the in-memory cache entry using it) is garbage collected, so that generated
    modules, and the values and user functions frozen into them, do not accumulate in
    sys.modules for the life of the process. A newer module loaded under the same name
    (the same source and frozen values) is left alone."""
    import weakref
    name = namespace.get("__name__", "")
    module = sys.modules.get(name)
    if module is None or module.__dict__ is not namespace:
        return
    weakref.finalize(owner, _forget, name, weakref.ref(module))


def _forget(name: str, module_ref) -> None:
    module = module_ref()
    if module is not None and sys.modules.get(name) is module:
        del sys.modules[name]
