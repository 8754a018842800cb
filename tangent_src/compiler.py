"""The pipeline, one pass after another: source -> lower -> ANF -> reverse -> optimize -> emit.

`ModuleBuilder` collects the gradient of a function and of every user function it
calls (each differentiated once per set of active arguments) into one module.
"""
from __future__ import annotations

import builtins
import copy
import inspect
import os
import re
from dataclasses import dataclass, field

import gast

from . import rules  # noqa: F401  (registers the rule tables)
from .analysis.shapes import (
    ShapeInference,
    is_binding,
    is_container,
    is_object,
    mutable_scalars,
    shape_class,
    start_class,
)
from .backend import emit
from .errors import TangentError, UnsupportedSyntaxError
from .frontend.aliases import check_aliased_writes, check_inplace_sites, inlined_sites
from .frontend.anf import assigned, to_anf
from .frontend.bindings import (
    CellRef,
    FixedRef,
    FunctionGuard,
    GlobalRef,
    Guard,
    PathRef,
    ShapeGuard,
    binding_key,
)
from .frontend.inline import inline_calls
from .frontend.lower import _dotted, lower
from .frontend.source import LIBRARY_MODULES, ParsedFunction, parse_function
from .naming import Namer
from .optimize import Optimizer, optimize, own_accumulators
from .request import Params, resolve_wrt
from .transform.forward import Forward
from .transform.reverse import Reverse


@dataclass
class GeneratedFunction:
    name: str
    node: gast.FunctionDef
    parsed: ParsedFunction
    seed: str
    wrt: list[str]
    fwd_name: str = ""
    bwd_name: str = ""
    tangent_params: dict = field(default_factory=dict)  # forward mode: param -> tangent name
    nodes: list = field(default_factory=list)   # what is emitted: [node] or [fwd, bwd]


@dataclass
class ModuleBuilder:
    """Generates gradient functions into one module namespace."""

    functions: list[GeneratedFunction] = field(default_factory=list)
    by_key: dict = field(default_factory=dict)
    in_progress: set = field(default_factory=set)
    module_names: set = field(default_factory=set)
    cores: dict = field(default_factory=dict)
    class_cache: dict = field(default_factory=dict)
    expanding: set = field(default_factory=set)  # functions being inlined (recursion check)
    inplace: dict = field(default_factory=dict)  # front-end key -> `z op= v` sites to decide
    inline: bool = False  # inline user functions (for code that is differentiated again)
    run_optimizer: bool = True  # Request.optimize
    renamed: dict = field(default_factory=dict)  # generated name -> the user's name
    namers: list = field(default_factory=list)  # of the functions being generated
    _bindings: dict | None = None

    def _recursion(self, func):
        parsed = parse_function(func)
        return parsed.unsupported(parsed.node, f"recursion ({parsed.node.name} calls itself)",
                                  "write the recursion as a loop")

    def front_end(self, func, dicts: frozenset = frozenset()):
        """Parse, lower and flatten `func` (cached): (parsed, core function, namer).
        `dicts` names the parameters known to be dicts (iterating one yields its keys)."""
        if func in self.expanding:
            raise self._recursion(func)
        key = (func, dicts)
        if key not in self.cores:
            parsed = parse_function(func)
            # runtime helpers too: a generated `cumsum_t = np.cumsum(t)` would hide the
            # helper cumsum_t that the derivative calls
            namer = Namer(_all_names(parsed.node) | set(self.module_names) | set(dir(builtins))
                          | set(parsed.namespace) | set(emit.runtime.HELPERS))
            sites = check_aliased_writes(parsed, parsed.node)
            lowered = lower(parsed, namer, dicts)
            core = to_anf(parsed, lowered, namer)
            if self.inline:
                from .transform.reverse import _is_user_function
                *body, ret = core.body
                self.expanding.add(func)

                def callee_front_end(callee):
                    found = self.front_end(callee)
                    sites.extend(inlined_sites(found[0], self.inplace[(callee, frozenset())]))
                    return found
                try:
                    core.body = inline_calls(parsed, body, namer, _resolver(parsed),
                                             callee_front_end, _is_user_function) + [ret]
                finally:
                    self.expanding.discard(func)
            self.cores[key] = (parsed, core, namer)
            self.inplace[key] = sites
        parsed, core, namer = self.cores[key]
        return parsed, core, copy.deepcopy(namer)

    def infer_classes(self, func, arg_classes: tuple) -> dict:
        """Shape classes of every name in `func`'s core form, given (param, class) pairs."""
        key = (func, arg_classes)
        if key not in self.class_cache:
            self.class_cache[key] = {}  # recursion: unknown
            parsed, core, _ = self.front_end(func, _dicts(arg_classes))
            given = dict(arg_classes)
            start = {p: None if is_container(given.get(p)) or is_binding(given.get(p))
                     else start_class(given.get(p)) for p in _params(core)}
            inference = ShapeInference(_resolver(parsed), self.return_class)
            self.class_cache[key] = inference.run(core, start)
        return self.class_cache[key]

    def mutable_scalars(self, func, arg_classes: tuple) -> frozenset:
        """Scalar-class names of `func`'s core that may hold a 0-d array (see
        analysis/shapes.py: mutable_scalars)."""
        parsed, core, _ = self.front_end(func, _dicts(arg_classes))
        return frozenset(mutable_scalars(core, self.infer_classes(func, arg_classes),
                                         arg_classes, _resolver(parsed)))

    def return_class(self, func, classes: tuple):
        """The shape class of a user function's result, for inference in its callers."""
        from .transform.reverse import _is_user_function
        if not _is_user_function(func):
            return None
        try:
            _, core, _ = self.front_end(func)
        except TangentError:
            return None  # reported when its gradient is generated
        found = self.infer_classes(func, tuple(zip(_params(core), classes)))
        return found.get(core.body[-1].value.id)

    def output_kind(self, func, arg_classes: tuple, has_aux: bool = False) -> str:
        """What `func` returns, as far as the source and shape inference tell: "scalar",
        "tuple" (a tuple display; for has_aux, one that is not a pair), "pair" (has_aux: a
        pair whose first item is a scalar) or "unknown". The output checks of grad use it
        so that they need not run the function."""
        _, core, _ = self.front_end(func, _dicts(arg_classes))
        ret = core.body[-1]
        if not (isinstance(ret, gast.Return) and isinstance(ret.value, gast.Name)):
            return "unknown"
        name = ret.value.id
        classes = self.infer_classes(func, arg_classes)
        defs = [n.value for n in gast.walk(core) if isinstance(n, gast.Assign) and
                isinstance(n.targets[0], gast.Name) and n.targets[0].id == name]
        if defs and all(isinstance(v, gast.Tuple) for v in defs):
            if not has_aux or any(len(v.elts) != 2 for v in defs):
                return "tuple"
            first = [v.elts[0] for v in defs]
            if all(isinstance(f, gast.Name) and classes.get(f.id) == () for f in first):
                return "pair"
            return "unknown"
        if classes.get(name) == ():
            return "scalar"
        return "unknown"

    def gradient(self, func, wrt: tuple, name: str | None = None,
                 return_value: bool = False, arg_classes: tuple = (),
                 split: bool = False, has_aux: bool = False) -> GeneratedFunction:
        """Generate the gradient of `func`; `split` makes a forward/backward pair instead
        (`f_fwd(args) -> (value, saved)`, `f_bwd(saved, seed) -> gradients`)."""
        key = (func, tuple(wrt), return_value, arg_classes, split, has_aux)
        if key in self.by_key:
            return self.by_key[key]
        parsed, core, namer, wrt_names, classes, name = self._start(key, func, wrt, name,
                                                                    arg_classes, "d")

        def subroutine(callee, active, call_ranks):
            return self.gradient(callee, active, arg_classes=call_ranks, split=True)

        reverse = Reverse(parsed, core, wrt_names, namer, _resolver(parsed), subroutine, name,
                          return_value=return_value or split, classes=classes,
                          trees={p: c for p, c in arg_classes if is_container(c)},
                          has_aux=has_aux, objects={p for p, c in arg_classes if is_object(c)},
                          mutable=self.mutable_scalars(func, arg_classes))
        result = reverse.build()
        user = set(_params(core)) | assigned(parsed.node.body)
        protected = {n for n in _all_names(core) if n in user or (
            re.sub(r"\d+$", "", n) in user)}
        protected |= {reverse.adjoints[v] for v in protected if v in reverse.adjoints}
        protected.add(result.seed)
        if self.run_optimizer:
            optimize(result.node, result.inplace, protected)
        own_accumulators(result.node)
        generated = GeneratedFunction(name, result.node, parsed, result.seed, wrt_names,
                                      nodes=[result.node])
        if split:
            generated.fwd_name = self._function_name(parsed.node.name + "_fwd")
            generated.bwd_name = self._function_name(parsed.node.name + "_bwd")
            generated.nodes = split_function(result.node, result.seed, generated.fwd_name,
                                             generated.bwd_name, namer)
        self.functions.append(generated)
        self.by_key[key] = generated
        self.in_progress.discard(key)
        return generated

    def _start(self, key, func, wrt, name, arg_classes, prefix: str):
        """What both modes do first: front end, wrt check, shape classes, function name."""
        if key in self.in_progress:
            raise self._recursion(func)
        self.in_progress.add(key)
        parsed, core, namer = self.front_end(func, _dicts(arg_classes))
        for used in self.module_names:
            namer.reserve(used)
        self.namers.append(namer)
        # the entries the user's signature could not resolve (a transform of a transform),
        # and the callee's active parameters, are names of the lowered function's parameters
        wrt_names = list(resolve_wrt(wrt, Params.of_definition(core)))
        classes = self.infer_classes(func, arg_classes)
        check_inplace_sites(parsed, core, self.inplace[(func, _dicts(arg_classes))], classes,
                            self.mutable_scalars(func, arg_classes))
        if name is None:
            name = self._function_name(prefix + parsed.node.name)
        else:
            self.module_names.add(name)
        namer.reserve(name)
        return parsed, core, namer, wrt_names, classes, name

    def tangent(self, func, wrt: tuple, name: str | None = None, return_value: bool = False,
                arg_classes: tuple = ()) -> GeneratedFunction:
        """Generate the forward-mode (tangent) function of `func` for the `wrt` arguments."""
        key = ("forward", func, tuple(wrt), return_value, arg_classes)
        if key in self.by_key:
            return self.by_key[key]
        parsed, core, namer, wrt_names, classes, name = self._start(key, func, wrt, name,
                                                                    arg_classes, "jvp_")

        def subroutine(callee, active, call_classes):
            return self.tangent(callee, active, return_value=True, arg_classes=call_classes)

        forward = Forward(parsed, core, wrt_names, namer, _resolver(parsed), subroutine, name,
                          return_value=return_value, classes=classes,
                          trees={p: c for p, c in arg_classes if is_container(c)},
                          objects={p for p, c in arg_classes if is_object(c)},
                          mutable=self.mutable_scalars(func, arg_classes))
        node = forward.build()
        protected = self._protected(parsed, core, forward.tangents)
        protected |= set(forward.tangent_params.values())
        if self.run_optimizer:
            optimize(node, forward.inplace, protected)
        own_accumulators(node)
        generated = GeneratedFunction(name, node, parsed, "", wrt_names, nodes=[node],
                                      tangent_params=forward.tangent_params)
        self.functions.append(generated)
        self.by_key[key] = generated
        self.in_progress.discard(key)
        return generated

    def _protected(self, parsed, core, derivative_names: dict) -> set:
        """User-visible names (and their derivatives' names), which inlining keeps."""
        user = set(_params(core)) | assigned(parsed.node.body)
        protected = {n for n in _all_names(core) if n in user or (
            re.sub(r"\d+$", "", n) in user)}
        return protected | {derivative_names[v] for v in protected if v in derivative_names}

    def _function_name(self, base: str) -> str:
        """A fresh name for a generated function: not one generated before, nor one that
        user code being differentiated can read (`square_fwd` beside a `square`)."""
        user = {n for parsed, core, _ in self.cores.values() for n in parsed.namespace}
        used = set().union(*(n.used for n in self.namers)) if self.namers else set()
        name = Namer(self.module_names | user | used).fresh(base)
        self.module_names.add(name)
        for namer in self.namers:  # locals named later must not shadow it
            namer.reserve(name)
        return name

    # -- output ------------------------------------------------------------------
    def bindings(self) -> dict:
        """name -> Ref (or None: a builtin, a runtime helper) for every free name of the
        generated module. Each generated function reads a name from its own user
        function's scope (closure cells before globals); where two of them read one name
        from different places, the later one's generated code uses a fresh name, so no
        value silently stands in for another. Computed once, after generation."""
        if self._bindings is not None:
            return self._bindings
        defined = {node.name for fn in self.functions for node in fn.nodes}
        taken = {n for fn in self.functions for node in fn.nodes for n in _all_names(node)}
        namer = Namer(taken | defined | set(dir(builtins)) | set(emit.runtime.HELPERS))
        out: dict = {}
        for fn in reversed(self.functions):  # the main function first: it keeps the names
            for name in emit.free_names(fn.nodes):
                if name in defined:
                    continue
                ref = fn.parsed.ref(name)
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

    def source(self, main: GeneratedFunction, standalone: bool = False,
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
            imports.append(emit.NUMBA_HEADER)
        if standalone and helpers:
            chunks.append(emit.runtime_source(helpers))
            if "import numpy as np" not in imports:
                imports.insert(0, "import numpy as np")
        if numba:
            chunks.append(overloads)
            user_functions = sorted(
                name for name in names if name in namespace and
                inspect.isfunction(namespace[name]) and
                (namespace[name].__module__ or "").split(".")[0] not in emit.LIBRARIES)
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


def split_function(node: gast.FunctionDef, seed: str, fwd_name: str, bwd_name: str,
                   namer: Namer) -> list:
    """Cut a joint gradient `(args, seed) -> (value, grads)` at its backward pass into
    `fwd(args) -> (value, saved)` and `bwd(saved, seed) -> grads`; `saved` holds exactly
    the values (and tapes) the backward pass reads."""
    body = node.body
    cut = next((i for i, s in enumerate(body) if _is_section(s, "backward pass")), None)
    ret = body[-1]
    value, grads = ret.value.elts
    backward = body[cut + 1:-1] if cut is not None else []
    forward = [s for s in body[:cut if cut is not None else -1]
               if not _is_section(s, "forward pass")]
    bwd_return = gast.Return(value=grads)
    live = Optimizer(set(), set())._live_block(backward + [bwd_return], set())
    local = {a.id for a in node.args.args + node.args.kwonlyargs} | {
        n.id for s in forward for n in gast.walk(s)
        if isinstance(n, gast.Name) and isinstance(n.ctx, gast.Store)}
    saved = sorted((live & local) - {seed})
    saved_param = namer.fresh("saved")
    saved_tuple = gast.Tuple(elts=[gast.Name(id=n, ctx=gast.Load(), annotation=None,
                                             type_comment=None) for n in saved], ctx=gast.Load())
    fwd_args = copy.deepcopy(node.args)
    _drop_param(fwd_args, seed)
    params = {a.id for a in fwd_args.args + fwd_args.kwonlyargs}
    maybe_unset = [n for n in saved if n not in params and n not in _always_assigned(forward)]
    forward = [gast.Assign(targets=[gast.Name(id=n, ctx=gast.Store(), annotation=None,
                                              type_comment=None)],
                           value=gast.Constant(value=None, kind=None), type_comment=None)
               for n in maybe_unset] + forward
    fwd = gast.FunctionDef(
        name=fwd_name, args=fwd_args, decorator_list=[], returns=None, type_comment=None,
        type_params=[],
        body=forward + [gast.Return(value=gast.Tuple(elts=[value, saved_tuple],
                                                     ctx=gast.Load()))])
    unpack = []
    if saved:
        target = copy.deepcopy(saved_tuple)
        for elt in target.elts:
            elt.ctx = gast.Store()
        target.ctx = gast.Store()
        unpack = [gast.Assign(targets=[target], value=_load(saved_param), type_comment=None)]
    params = [gast.Name(id=saved_param, ctx=gast.Param(), annotation=None, type_comment=None),
              gast.Name(id=seed, ctx=gast.Param(), annotation=None, type_comment=None)]
    bwd_args = gast.arguments(args=params, posonlyargs=[], vararg=None, kwonlyargs=[],
                              kw_defaults=[], kwarg=None, defaults=[])
    bwd = gast.FunctionDef(name=bwd_name, args=bwd_args, body=unpack + backward + [bwd_return],
                           decorator_list=[], returns=None, type_comment=None, type_params=[])
    return [fwd, bwd]


def _always_assigned(stmts) -> set:
    """Names every path through `stmts` assigns (loops may run zero times)."""
    out = set()
    for stmt in stmts:
        if isinstance(stmt, gast.Assign):
            out |= {n.id for n in gast.walk(stmt.targets[0]) if isinstance(n, gast.Name)}
        elif isinstance(stmt, gast.If):
            out |= _always_assigned(stmt.body) & _always_assigned(stmt.orelse)
    return out


def _is_section(stmt, title: str) -> bool:
    return isinstance(stmt, gast.Expr) and isinstance(stmt.value, gast.Constant) and \
        stmt.value.value == ("__line__", title)


def _load(name: str):
    return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)


def _drop_param(args, name: str) -> None:
    for group, defaults in ((args.args, args.defaults), (args.kwonlyargs, args.kw_defaults)):
        for i, arg in enumerate(group):
            if arg.id == name:
                del group[i]
                offset = i - (len(group) + 1 - len(defaults))
                if 0 <= offset < len(defaults):
                    del defaults[offset]
                return


def _dicts(arg_classes: tuple) -> frozenset:
    """(parameter, class) pairs the front end specializes on: dicts, objects, functions."""
    return frozenset((p, c) for p, c in arg_classes if is_binding(c))


def _params(core) -> list[str]:
    return [a.id for a in core.args.posonlyargs + core.args.args + core.args.kwonlyargs]


def _all_names(node) -> set[str]:
    return {n.id for n in gast.walk(node) if isinstance(n, gast.Name)}


def _resolver(parsed: ParsedFunction):
    """Map a function reference in user code (a name or dotted name) to the Python object."""
    def resolve(expr):
        dotted = _dotted(expr)
        if dotted is None:
            return None
        head, *rest = dotted.split(".")
        parsed.resolved.add(head)
        if rest:
            parsed.paths.add(dotted)
        if head in parsed.namespace:
            obj = parsed.namespace[head]
        elif hasattr(builtins, head):
            obj = getattr(builtins, head)
        else:
            raise parsed.error(UnsupportedSyntaxError, expr, f"name '{head}' is not defined",
                               construct="undefined name", hint="define or import it")
        for part in rest:
            try:
                obj = getattr(obj, part)
            except AttributeError:
                raise parsed.error(UnsupportedSyntaxError, expr,
                                   f"'{dotted}' does not exist", construct="undefined name",
                                   hint="check the spelling") from None
        return obj
    return resolve


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
    return Guard(path, value)


def _rename_free(nodes: list, name: str, new: str) -> None:
    """Rename free name `name` to `new` in generated functions (it is never local there)."""
    for node in nodes:
        for sub in gast.walk(node):
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
    return module in emit.LIBRARIES and bool(getattr(value, "__name__", None))
