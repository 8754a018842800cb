"""Module assembly: everything the generated module reads from outside (its free names,
bound to the user's globals, closure cells and defaults, or to runtime helpers), the
guards that say when it is stale, and its source text (imports, helpers, functions).
A mixin of compiler.ModuleBuilder, which generates the functions it assembles."""
from __future__ import annotations

import builtins
import inspect
import os
from types import BuiltinMethodType

import gast

from ..analysis.shapes import shape_class
from ..core.dataflow import all_names
from ..core.libraries import IMPORTABLE, LIBRARY_MODULES
from ..core.walk import walk
from ..errors import UnsupportedSyntaxError
from ..frontend.bindings import (
    CellRef,
    FixedRef,
    FunctionGuard,
    GlobalRef,
    Guard,
    PathRef,
    ShapeGuard,
    binding_key,
)
from ..frontend.source import ParsedFunction
from ..naming import Namer
from . import emit


class ModuleAssembly:
    """The output half of ModuleBuilder (uses its `functions`, `cores`, `renamed`)."""

    def bindings(self) -> dict:
        """name -> Ref (or None: a builtin, a runtime helper) for every free name of the
        generated module. Each generated function reads a name from its own user
        function's scope (closure cells before globals); where two of them read one name
        from different places, the later one's generated code uses a fresh name, so no
        value silently stands in for another. Computed once, after generation."""
        if self._bindings is not None:
            return self._bindings
        defined = {node.name for fn in self.functions for node in fn.nodes}
        taken = {n for fn in self.functions for node in fn.nodes for n in all_names(node)}
        namer = Namer(taken | defined | set(dir(builtins)) | set(emit.runtime.HELPERS))
        out: dict = {}
        for fn in reversed(self.functions):  # the main function first: it keeps the names
            for name in emit.free_names(fn.nodes):
                if name in defined:
                    continue
                ref = fn.parsed.ref(name)
                if ref is not None and name in emit.runtime.HELPERS and ref.available() and \
                        ref.read() is getattr(emit.runtime, name):
                    ref = None  # generated code (a transform called inside) reading a helper
                if ref is None and hasattr(builtins, name) and out.get(name) is not None:
                    ref = FixedRef(getattr(builtins, name))  # a builtin the module shadows
                if name not in out:
                    out[name] = ref
                    continue
                if ref is None or binding_key(out[name]) == binding_key(ref):
                    continue
                new = namer.fresh(f"{name}_{fn.parsed.node.name}")
                _rename_free(fn.nodes, name, new)
                out[new] = ref
                self.renamed[new] = name
        self._bindings = out
        return out

    def namespace(self) -> dict:
        """name -> its current value, for every bound free name."""
        out = {}
        for name, ref in self.bindings().items():
            if ref is not None and ref.available():
                out[name] = ref.read()
        return out

    def module_of(self) -> dict:
        """name -> the user module whose global it reads (not for imported modules)."""
        return {name: ref.module for name, ref in self.bindings().items()
                if isinstance(ref, GlobalRef) and ref.available()
                and not isinstance(ref.read(), type(os))}

    def guards(self) -> list:
        """Every fact the generated code was specialized on (bindings.Guard), checked before
        each run; when one no longer holds, the code is stale and is generated again:
        - each user function it was built from keeps its code object and defaults;
        - each global or closure cell resolved to a function, class or object (a callee,
          a module) still holds it; each dotted name resolved (`mod.g`, `model.predict`)
          still leads to the same object, or for a number/array (`cfg.w`) to one of the
          same shape class; each method looked up on an argument's class is unchanged;
        - the same for the generated code it differentiates (higher order).
        Values (numbers, arrays) are not guarded: the code reads them when it runs."""
        out, seen = [], set()
        parsed_all = [fn.parsed for fn in self.functions] + [
            p for p, _, _ in self.cores.values()]

        def add(guard):
            if guard.identity() not in seen:
                seen.add(guard.identity())
                out.append(guard)
        for parsed in parsed_all:
            if hasattr(parsed.func, "__code__"):
                add(FunctionGuard(parsed.func))
            for guard in getattr(parsed.live_globals, "guards", None) or ():
                add(guard)
            for name in sorted(parsed.resolved):
                ref, value = parsed.ref(name), parsed.namespace.get(name)
                if isinstance(ref, (GlobalRef, CellRef)) and not _data(value):
                    add(Guard(ref, value))
            for dotted in sorted(parsed.paths):
                guard = _path_guard(parsed, dotted)
                if guard is not None:
                    add(guard)
            for guard in parsed.guards:
                add(guard)
        return out

    def live_globals(self) -> tuple[dict, dict, tuple]:
        """(fixed values, name -> live Ref, user module names) for loading."""
        fixed, live = {}, {}
        modules = set(self.module_of().values())
        for fn in self.functions:
            modules.add(getattr(fn.parsed.func, "__module__", None) or "__main__")
        for name, ref in self.bindings().items():
            if ref is None or not ref.available():
                continue
            if isinstance(ref, FixedRef) or isinstance(ref.read(), type(os)):
                fixed[name] = ref.read()
            else:
                live[name] = ref
        return fixed, live, tuple(sorted(modules))

    def _closure_lines(self, standalone: bool) -> list[str]:
        """Comments naming the values generated code reads from closure cells and default
        values; in a standalone module they cannot be read: a clear error instead."""
        lines = []
        for name, ref in sorted(self.bindings().items()):
            if isinstance(ref, CellRef):
                original = self.renamed.get(name, name)
                if standalone and not _importable(ref.read() if ref.available() else None):
                    raise UnsupportedSyntaxError(
                        f"standalone_source: {ref.owner} reads the closure variable "
                        f"'{original}', which a standalone module cannot read; make it a "
                        "global of the module or pass it as an argument",
                        construct="closure variable", **ref.where())
                if not standalone:
                    label = name if original == name else f"{name} ('{original}')"
                    lines.append(f"# {label}: closure variable of {ref.owner} (read live)")
            elif isinstance(ref, FixedRef) and ref.what:
                if standalone and ref.origin is None and not _importable(ref.value):
                    raise UnsupportedSyntaxError(
                        f"standalone_source: {ref.what} (a value of type "
                        f"{type(ref.value).__name__}) cannot be written into a standalone "
                        "module; pass it explicitly or make the default a literal or a "
                        "module global", construct="default value", **ref.where())
                if not standalone:
                    lines.append(f"# {name}: {ref.what}")
        return lines

    def source(self, main, standalone: bool = False,
               numba: bool = False) -> str:
        nodes = [node for fn in self.functions for node in fn.nodes]
        self.bindings()  # renames clashing free names first
        names = emit.free_names(nodes)
        namespace = self.namespace()
        unknown = [n for n in names if n not in namespace and not hasattr(builtins, n)
                   and n not in emit.runtime.HELPERS]
        if unknown:
            raise UnsupportedSyntaxError(
                f"{main.parsed.filename}: name(s) {', '.join(unknown)} are not defined")
        closure = self._closure_lines(standalone)
        # loaded, cells and defaults are preset (comments say so); standalone, each is
        # imported (or was refused above)
        skip = set() if standalone else {n for n, r in self.bindings().items() if isinstance(
            r, CellRef) or isinstance(r, FixedRef) and r.what}
        module_of = self.module_of()
        originals = {new: old for fn in self.functions for new, old in fn.parsed.renamed.items()}
        originals.update(self.renamed)
        for name, ref in self.bindings().items():
            if isinstance(ref, FixedRef) and ref.what and standalone and ref.origin:
                module_of[name], originals[name] = ref.origin
        imports, helpers = emit.import_lines([n for n in names if n not in skip], namespace,
                                             module_of, standalone, originals)
        imports += closure
        chunks = []
        if numba:
            used, overloads = emit.numba_runtime_source()
            helpers = sorted(set(helpers) | set(used))
            imports.append(emit.numba_header(overloads))
        if standalone and helpers:
            chunks.append(emit.runtime_source(helpers))
            if "import numpy as np" not in imports:
                imports.insert(0, "import numpy as np")
        if numba:
            imports = emit.grouped_imports(imports)
            chunks.append(overloads)
            user_functions = sorted(
                name for name in names if name in namespace and
                inspect.isfunction(namespace[name]) and
                (namespace[name].__module__ or "").split(".")[0] not in IMPORTABLE)
            if user_functions:  # what the gradient calls must be compiled too
                chunks.append("\n".join(f"{n} = numba.njit({n})" for n in user_functions))
        for fn in self.functions:
            for node in fn.nodes:
                text = emit.function_source(node, fn.parsed.lines)
                chunks.append("@numba.njit\n" + text if numba else text)
        where = f"{os.path.basename(main.parsed.filename)}:{main.parsed.node.lineno}"
        wrt = ", ".join(main.wrt)
        what = "Forward-mode derivative" if main.tangent_params else "Gradient"
        doc = (f"{what} of {main.parsed.node.name} ({where}) with respect to {wrt}, "
               "generated by tangent_src.")
        return emit.module_source(doc, imports, chunks)


def _path_guard(parsed: ParsedFunction, dotted: str):
    """The guard of a dotted name generation resolved (None: nothing to guard): a library
    module's functions (np.sin) are taken as fixed; a number or array is guarded by its
    shape class (inference used it), anything else by identity."""
    head, *rest = dotted.split(".")
    ref = parsed.ref(head)
    if ref is None or not ref.available():
        return None
    base = ref.read()
    if isinstance(base, type(os)) and base.__name__.split(".")[0] in LIBRARY_MODULES:
        return None
    path = PathRef(ref, rest)
    try:
        value = path.read()
    except KeyError:
        return None
    if _data(value):
        return ShapeGuard(path, value, shape_class)
    owner = getattr(value, "__self__", None)
    if isinstance(value, BuiltinMethodType) and _data(owner):
        # `X.dot` of an array: a new bound method at every read (an identity guard would
        # never match), fixed by the array's type: guard the array as data is guarded
        return ShapeGuard(PathRef(ref, rest[:-1]), owner, shape_class)
    return Guard(path, value)


def _rename_free(nodes: list, name: str, new: str) -> None:
    """Rename free name `name` to `new` in generated functions (it is never local there)."""
    for node in nodes:
        for sub in walk(node):
            if isinstance(sub, gast.Name) and sub.id == name:
                sub.id = new


def _data(value) -> bool:
    """Arrays and numbers: generated code reads them when it runs, never specializes on
    them (their shape class is unknown to inference), so rebinding them needs no
    regeneration."""
    import numpy as np
    return isinstance(value, (np.ndarray, np.generic, bool, int, float, complex))


def _importable(value) -> bool:
    """A module or a NumPy/SciPy/math function: a standalone module can import it."""
    if isinstance(value, type(os)):
        return True
    module = (getattr(value, "__module__", None) or "").split(".")[0]
    return module in IMPORTABLE and bool(getattr(value, "__name__", None))
