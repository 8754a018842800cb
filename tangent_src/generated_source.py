"""Small functions tangent_src writes as source and executes (rule and operator wrappers,
fixed-arity wrappers, lifted closures, flatten_func, elementwise_grad): their text is kept
in linecache under a `<tangent_src ...>` name, so the compiler reads them like user code
and tracebacks show their lines."""
from __future__ import annotations

import itertools
import linecache
from collections import OrderedDict
from collections.abc import Callable

_COUNTER = itertools.count()
_CODES: OrderedDict = OrderedDict()  # source -> its code object, for `define_again`
_MAX_CODES = 256


def remember(source: str, label: str) -> str:
    """Keep `source` readable by inspect/linecache under a fresh `<tangent_src label>`
    filename, and return that filename."""
    filename = f"<tangent_src {label.replace(':', f' {next(_COUNTER)}:', 1)}>" \
        if ":" in label else f"<tangent_src {label} {next(_COUNTER)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    return filename


def define(source: str, name: str, namespace: dict, label: str) -> Callable:
    """Execute `source` with `namespace` as its globals and return its function `name`."""
    exec(compile(source, remember(source, label), "exec"), namespace)
    return namespace[name]


def define_again(source: str, name: str, namespace: dict, label: str) -> Callable:
    """`define`, for source made again and again with other values in `namespace` (a
    call's entry for each specialization: call_entry.py): compiled once per distinct
    source (at most `_MAX_CODES` kept, and their linecache text with them)."""
    code = _CODES.get(source)
    if code is None:
        code = _CODES[source] = compile(source, remember(source, label), "exec")
        while len(_CODES) > _MAX_CODES:
            linecache.cache.pop(_CODES.popitem(last=False)[1].co_filename, None)
    exec(code, namespace)
    return namespace[name]
