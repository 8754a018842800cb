"""Load generated source as a real module file, so tracebacks, pdb and re-differentiation work."""
from __future__ import annotations

import hashlib
import linecache
import os
import re
import sys
import tempfile


def cache_dir() -> str:
    path = os.environ.get("TANGENT_SRC_CACHE") or os.path.join(
        tempfile.gettempdir(), f"tangent_src_{os.getuid() if hasattr(os, 'getuid') else 'u'}")
    os.makedirs(path, exist_ok=True)
    return path


def load_module(source: str, name: str, namespace: dict) -> tuple[dict, str]:
    """Write `source` to a file named after its hash and execute it with `namespace` preset.

    Import lines of modules that are not importable (a script's __main__ under another
    name, an exec'd module) are commented out; `namespace` already binds their names.
    """
    text = _neutralize_imports(source)
    digest = hashlib.sha1(text.encode()).hexdigest()[:12]
    path = os.path.join(cache_dir(), f"{re.sub(r'[^0-9A-Za-z_]', '_', name)}_{digest}.py")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    linecache.checkcache(path)
    module_ns = dict(namespace)
    module_ns.update({"__name__": f"tangent_src_generated.{name}", "__file__": path,
                      "__builtins__": __builtins__})
    exec(compile(text, path, "exec"), module_ns)
    return module_ns, path


def _neutralize_imports(source: str) -> str:
    out = []
    for line in source.splitlines():
        match = re.match(r"from ([\w.]+) import ", line)
        if match and match.group(1) not in sys.modules and match.group(1) not in (
                "tangent_src.runtime",):
            line = "# " + line + "  (bound at load time)"
        out.append(line)
    return "\n".join(out) + "\n"
